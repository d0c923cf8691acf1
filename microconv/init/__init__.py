"""Guess a starter config from an event log (``microconv init``).

Reads a sample of the log (:mod:`.sample`), guesses the user, event, timestamp (and session) columns
(:mod:`.columns`), counts the event names, picks a funnel and micro-conversions from common e-commerce
names (:mod:`.conversions`, :mod:`.revenue`), and renders a commented YAML config that ``microconv
validate`` and ``analyze`` accept (:mod:`.write`). This module only wires those steps together and is
the package's public API. No printing: the command line writes :attr:`Scaffold.yaml` and shows
:meth:`Scaffold.summary`.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ..errors import DataError
from ..load.sources import Source, expand_paths
from .columns import add_header_aliases, guess_columns, merge_guesses, roles_in
from .exports import export_columns
from .conversions import guess_conversions
from .model import ColumnGuess, EventCount, GuessedConversion, Scaffold
from .revenue import guess_revenue
from .sample import SAMPLE_ROWS, count_events, read_sample, read_sample_table, sorted_counts, usable_rows
from .signatures import normalize_event_name
from .write import check_config, render_yaml

__all__ = ["ColumnGuess", "EventCount", "GuessedConversion", "Scaffold", "guess_columns", "guess_conversions",
           "normalize_event_name", "read_sample", "render_yaml", "scaffold", "scaffold_frame"]


def scaffold(paths: Sequence[str | Path], *, input_format: str | None = None, sample_rows: int = SAMPLE_ROWS,
             count_all: bool = True, config_name: str = "funnels.yaml") -> Scaffold:
    """Guess a config from event files (files, directories or globs, as ``analyze`` takes them).

    Columns and conversions are guessed from the first ``sample_rows`` rows; with ``count_all``
    the event names are counted over every row (reading that one column). ``config_name`` is
    the file name the YAML's comments use in the commands to run next.

    Raises:
        DataError: a file is missing, unreadable or empty, or no column looks like a user,
            an event name or a timestamp.
    """
    files = expand_paths(paths)
    sources = [Source.open(p, input_format) for p in files]
    samples: list[tuple[Source, pd.DataFrame]] = []
    tables: list[pa.Table] = []
    left, sampled_all = sample_rows, True
    for src in sources:
        if left <= 0:
            sampled_all = False
            break
        table = read_sample_table(src, left + 1)  # one more row tells whether the file goes on
        if table.num_rows > left:
            table, sampled_all = table.slice(0, left), False
        samples.append((src, table.to_pandas()))
        tables.append(table)
        left -= table.num_rows
    if sum(len(f) for _, f in samples) == 0:
        raise DataError("no rows to guess from", where=", ".join(map(str, files)),
                        hint="the file has a header but no events")
    columns = export_columns(samples, tables)
    if columns is None:
        guesses = [guess_columns(frame, where=str(src.path)) for src, frame in samples if len(frame)]
        columns = merge_guesses(guesses)
    for src in sources[len(samples):]:  # files beyond the sample: by their header only
        add_header_aliases(columns, src.columns)
    usable, frames = usable_rows([(f, roles_in(f, columns)) for _, f in samples if len(f)])
    counts = count_events(sources, columns.event) if count_all else None
    return _build(usable, frames, columns, [str(p) for p in files], sum(len(f) for _, f in samples), counts,
                  sampled_all=sampled_all, config_name=config_name, input_format=input_format)


def scaffold_frame(frame: pd.DataFrame, *, name: str = "<frame>", config_name: str = "funnels.yaml") -> Scaffold:
    """The same as :func:`scaffold` for a DataFrame already in memory (notebooks, tests)."""
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    if frame.empty:
        raise DataError("no rows to guess from", where=name)
    columns = guess_columns(frame, where=name)
    usable, frames = usable_rows([(frame, roles_in(frame, columns))])
    return _build(usable, frames, columns, [name], len(frame), None, config_name=config_name)


def _build(usable: pd.DataFrame, frames: list[pd.DataFrame], columns: ColumnGuess, sources: list[str], sampled: int,
           counts: list[EventCount] | None, *, sampled_all: bool = True,
           config_name: str = "funnels.yaml", input_format: str | None = None) -> Scaffold:
    if usable.empty:
        raise DataError("no usable rows in the sample: every row lacks a user id, an event name or a parseable "
                        f"timestamp (guessed columns: user {' or anonymous '.join(map(repr, columns.user[:1] + columns.anonymous))}, event {columns.event[0]!r}, "
                        f"timestamp {columns.timestamp[0]!r})", where=", ".join(sources),
                        hint="write the config by hand and set columns.user, columns.event and columns.timestamp")
    in_sample = usable["event"].value_counts()
    sample_counts = sorted_counts((str(k), int(v)) for k, v in in_sample.items() if str(k).strip())
    # Conversions only use names the engine will see in the sample's usable rows (so validate finds them),
    # ranked by their count over all rows when those were counted.
    full = {c.name: c.rows for c in counts} if counts is not None else {}
    ranked = [EventCount(c.name, full.get(c.name, c.rows)) for c in sample_counts]
    steps, others, from_frequency = guess_conversions(ranked)
    conversions = steps + [c for c in others if c not in steps]
    macro = next((c for c in conversions if c.kind == "macro"), None)
    if macro is not None and columns.revenue is None:
        columns.revenue = guess_revenue(usable, frames, macro.events, columns)
    result = Scaffold(
        sources=sources, rows_sampled=sampled, columns=columns,
        events=counts if counts is not None else sample_counts, counted_all=counts is not None,
        steps=steps, conversions=conversions, from_frequency=from_frequency, sampled_all=sampled_all,
        config_name=config_name, input_format=input_format,
    )
    result.yaml = render_yaml(result)
    check_config(result.yaml)
    return result
