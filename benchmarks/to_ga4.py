"""Turn a log from generate_log.py into GA4's BigQuery shape, and the same data flat.

Why: reading nested exports must not cost much more than reading the flat columns an analyst
would otherwise have to extract with SQL first. This writes both from one log, so a run of
``ga4.yaml`` over each measures only the difference.

    python benchmarks/to_ga4.py IN.parquet NESTED.parquet FLAT.parquet

NESTED has user_pseudo_id, event_timestamp (int64 microseconds), event_name and event_params:
list<struct<key, value: struct<string_value, int_value, float_value, double_value>>> with
ga_session_id (int: the user's day of the event), page_location (a URL per event name and
utm_source) and engagement_time_msec, plus value (double) on purchases, as GA4 writes them.
FLAT has the same values as plain columns.
"""
from __future__ import annotations

import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

VALUE_TYPE = pa.struct([("string_value", pa.string()), ("int_value", pa.int64()),
                        ("float_value", pa.float64()), ("double_value", pa.float64())])


def convert(table: pa.Table) -> tuple[pa.Table, pa.Table]:
    n = table.num_rows
    us = table.column("timestamp").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).combine_chunks()
    session = pc.divide(us, 86_400_000_000)                                       # one session per user-day
    page = pc.binary_join_element_wise("https://shop.example/", table.column("event_name").cast(pa.string()),
                                       "?utm_source=", table.column("utm_source").cast(pa.string()), "")
    engagement = pa.array(np.arange(n, dtype=np.int64) % 9000 + 100)
    revenue = table.column("revenue").combine_chunks()
    paid = np.asarray(revenue.is_valid())

    # three parameters per event, a fourth (value) on purchases: offsets, then the elements in order
    per_row = 3 + paid.astype(np.int64)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(per_row, out=offsets[1:])
    total = int(offsets[-1])
    slot = np.arange(total) - np.repeat(offsets[:-1], per_row)          # 0, 1, 2 (, 3) within each row
    row = np.repeat(np.arange(n), per_row)
    keys = np.array(["ga_session_id", "page_location", "engagement_time_msec", "value"], dtype=object)[slot]
    ints = np.where(slot == 0, np.asarray(session)[row], np.where(slot == 2, np.asarray(engagement)[row], 0))
    int_valid = (slot == 0) | (slot == 2)
    page_text = page.combine_chunks().take(pa.array(row))
    string_value = pc.if_else(pa.array(slot == 1), page_text, pa.nulls(total, pa.string()))
    doubles = np.asarray(revenue.fill_null(0.0))[row]
    values = pa.StructArray.from_arrays(
        [string_value, pa.array(ints, mask=~int_valid), pa.nulls(total, pa.float64()),
         pa.array(doubles, mask=slot != 3)], fields=list(VALUE_TYPE))
    params = pa.ListArray.from_arrays(pa.array(offsets), pa.StructArray.from_arrays(
        [pa.array(keys, pa.string()), values], names=["key", "value"]))
    nested = pa.table({"user_pseudo_id": table.column("user_id"), "event_timestamp": us,
                       "event_name": table.column("event_name"), "event_params": params})
    flat = pa.table({"user_pseudo_id": table.column("user_id"), "event_timestamp": us,
                     "event_name": table.column("event_name"), "ga_session_id": session, "page_location": page,
                     "engagement_time_msec": engagement, "value": revenue})
    return nested, flat


def main(argv: list[str]) -> None:
    src, nested_out, flat_out = argv
    start = time.perf_counter()
    pfile = pq.ParquetFile(src)
    nested_writer = flat_writer = None
    for i in range(pfile.num_row_groups):
        nested, flat = convert(pfile.read_row_group(i))
        nested_writer = nested_writer or pq.ParquetWriter(nested_out, nested.schema)
        flat_writer = flat_writer or pq.ParquetWriter(flat_out, flat.schema)
        nested_writer.write_table(nested)
        flat_writer.write_table(flat)
    for writer in (nested_writer, flat_writer):
        writer.close()
    print(f"wrote {nested_out} and {flat_out} in {time.perf_counter() - start:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
