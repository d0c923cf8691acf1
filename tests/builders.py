"""Event rows written by hand in a test, turned into what the library reads: the frame a user's
export would be, and the canonical ``Events`` that ``microconv.canonicalize`` makes of it.

One place for it, so that every test's input goes through the loader the way a user's data does
(column names from the config, timestamps as an export has them) instead of each test building
frames its own way. A row is ``(user, time, event, *extra)``: ``time`` is seconds after EPOCH (or
anything ``pd.Timestamp`` reads, None for a missing one); ``extra`` names the further fields.
"""
from __future__ import annotations

import io
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

import microconv

EPOCH = pd.Timestamp("2026-01-01", tz="UTC")


def export_frame(rows: Iterable[Sequence[Any]], config: microconv.Config, extra: Sequence[str] = ()) -> pd.DataFrame:
    """``rows`` as an export's frame, under the first column name the config reads for each
    (``columns.user`` etc.); field 4 on are the columns ``extra`` names, None where a row is short."""
    rows = list(rows)
    names = config.columns
    frame = pd.DataFrame({
        names.user[0]: pd.Series([str(r[0]) for r in rows], dtype=object),
        names.timestamp[0]: pd.Series([_time(r[1]) for r in rows], dtype="datetime64[ns, UTC]"),
        names.event[0]: pd.Series([r[2] for r in rows], dtype=object),
    })
    for k, column in enumerate(extra, start=3):
        frame[column] = pd.Series([r[k] if len(r) > k else None for r in rows])   # typed as pandas infers
    return frame


def _time(value: Any) -> pd.Timestamp:
    if value is None:
        return pd.NaT
    if isinstance(value, numbers.Real):
        return EPOCH + pd.Timedelta(seconds=value)
    return pd.Timestamp(value)


def load_rows(rows: Iterable[Sequence[Any]], config: microconv.Config, extra: Sequence[str] = (),
              **options) -> tuple[microconv.Events, microconv.DataQualityReport]:
    """``canonicalize`` of ``export_frame``: the ``extra`` columns other than the config's session
    column are read as properties; ``options`` go to canonicalize (``only_events``, ``name``)."""
    session = config.columns.session or []
    properties = [c for c in extra if c not in session]
    return microconv.canonicalize(export_frame(rows, config, extra), config, extra_properties=properties, **options)


def events_of(rows: Iterable[Sequence[Any]], config: microconv.Config, extra: Sequence[str] = (),
              **options) -> microconv.Events:
    """The canonical events of ``rows`` (see load_rows), without the data-quality report."""
    return load_rows(rows, config, extra, **options)[0]


def load_csv(text: str, config: microconv.Config, **options) -> tuple[microconv.Events, microconv.DataQualityReport]:
    """``canonicalize`` of CSV text as pandas reads it (for tests whose events are also a file)."""
    return microconv.canonicalize(pd.read_csv(io.StringIO(text)), config, **options)
