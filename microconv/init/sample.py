"""Reading what ``init`` guesses from: the first rows of each file (cheap even on huge logs), the
sample rows the engine would keep, and the event-name counts over every row (one column read).

CSV columns are read as text so that the column guesser, not the reader, decides what is a number
or a timestamp.
"""
from __future__ import annotations

import io
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from ..errors import DataError
from ..load.timestamps import parse_timestamps
from ..load.sources import Source, check_json_lines, csv_convert_options, growing_blocks
from .model import EventCount

SAMPLE_ROWS = 200_000


def read_sample(src: Source, limit: int = SAMPLE_ROWS) -> pd.DataFrame:
    """The first ``limit`` rows of a file; CSV columns as text (numbers are recognised later)."""
    return read_sample_table(src, limit).to_pandas()


def read_sample_table(src: Source, limit: int = SAMPLE_ROWS) -> pa.Table:
    """:func:`read_sample` as Arrow: nested columns as they are, for paths into them."""
    try:
        if src.format == "csv":
            names = src.columns

            def first(block_size: int) -> pa.Table:
                reader = pa_csv.open_csv(
                    src.path,
                    read_options=pa_csv.ReadOptions(block_size=block_size),
                    parse_options=src.csv_parse_options(),
                    convert_options=csv_convert_options({n: pa.string() for n in names}),
                )
                return _first_rows(reader, limit, reader.schema)

            table = growing_blocks(first)      # a parse block holds whole rows
        elif src.format == "parquet":
            pfile = pq.ParquetFile(src.path)
            table = _first_rows(pfile.iter_batches(batch_size=min(limit, 65_536)), limit, pfile.schema_arrow)
        else:
            table = _jsonl_head(src, limit)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise src._error(exc) from None
    return table


def _first_rows(batches: Iterable[pa.RecordBatch], limit: int, schema: pa.Schema) -> pa.Table:
    kept, n = [], 0
    for batch in batches:
        kept.append(batch)
        n += batch.num_rows
        if n >= limit:
            break
    return pa.Table.from_batches(kept, schema=schema).slice(0, limit)


def _jsonl_head(src: Source, limit: int) -> pa.Table:
    lines = []
    with pa.input_stream(src.path, compression="detect") as stream:
        for line in io.TextIOWrapper(stream, encoding="utf-8"):
            if line.strip():
                lines.append(line if line.endswith("\n") else line + "\n")
                if len(lines) >= limit:
                    break
    if not lines:
        raise DataError("the file is empty", where=str(src.path))
    data = "".join(lines).encode()
    return pa_json.read_json(io.BytesIO(data), read_options=pa_json.ReadOptions(block_size=check_json_lines(
        data, str(src.path))), parse_options=pa_json.ParseOptions(unexpected_field_behavior="infer"))


# ---------------------------------------------------------------------------------------------
# Columns


def usable_rows(parts: list[tuple[pd.DataFrame, dict[str, str | None]]]
                 ) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Sample rows as the engine will see them (rule 1.1): user, ts, event, and where each came from
    (``frame``: its index in the returned raw frames, ``row``: its position there)."""

    kept, raw = [], []
    for frame, roles in parts:
        if None in roles.values():
            continue
        frame = frame.reset_index(drop=True)
        user = frame[roles["user"]].astype("string").str.strip().replace("", pd.NA)
        ts, _ = parse_timestamps(frame[roles["timestamp"]], None, "UTC")
        event = frame[roles["event"]].astype("string")
        part = pd.DataFrame({"user": user, "ts": ts.set_axis(frame.index), "event": event})
        part["frame"] = len(raw)
        part["row"] = np.arange(len(part))
        kept.append(part.loc[part["user"].notna() & part["ts"].notna() & part["event"].notna()])
        raw.append(frame)
    out = (pd.concat(kept, ignore_index=True) if kept
           else pd.DataFrame(columns=["user", "ts", "event", "frame", "row"]))
    return out, raw


def count_events(sources: list[Source], aliases: list[str]) -> list[EventCount] | None:
    """Rows per event name over every file (only the event column is read)."""
    total: dict[str, int] = {}
    for src in sources:
        col = next((a for a in aliases if a in src.columns), None)
        if col is None:
            continue
        table = src.read([col], dictionary=[col] if src.format != "parquet" else [])
        counts = table.column(col).to_pandas().value_counts()
        for name, n in counts.items():
            total[str(name)] = total.get(str(name), 0) + int(n)
    return sorted_counts(total.items())


def sorted_counts(pairs: Iterable[tuple[str, int]]) -> list[EventCount]:
    return [EventCount(n, c) for n, c in sorted(pairs, key=lambda p: (-p[1], p[0]))]


# ---------------------------------------------------------------------------------------------
# Conversions and funnel
