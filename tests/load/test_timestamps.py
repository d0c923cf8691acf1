"""Timestamps (rule 1.3) through loading: ISO text and offsets, naive times in the config's time
zone, epoch units by magnitude, typed Parquet times, and what is unparseable."""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import microconv
from microconv.load.timestamps import parse_timestamps

COLUMNS = {"user": "user_id", "event": "event_name", "timestamp": "timestamp"}


def config(columns: dict | None = None):
    """The usual column names (and ``columns``), one conversion on event `a`."""
    return microconv.parse_config({"columns": COLUMNS | (columns or {}), "conversions": {"a": {"event": "a"}}})


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def iso(frame: pd.DataFrame) -> list[str]:
    return [t.isoformat() for t in frame["ts"]]


def load_ts(tmp_path: Path, values: list[str], **columns) -> list[str]:
    """Timestamps of a one-column CSV of ``values`` after loading, as ISO strings."""
    body = "".join(f"u1,{v},a\n" for v in values)
    path = write(tmp_path / "ts.csv", "user_id,timestamp,event_name\n" + body)
    events, _ = microconv.load_events([path], config(columns))
    return iso(events.frame)


@pytest.mark.parametrize(("values", "expected"), [
    (["2026-07-01T12:00:00Z"], ["2026-07-01T12:00:00+00:00"]),
    (["2026-07-01T14:00:00+02:00", "2026-07-01T07:00:00-05:00"], ["2026-07-01T12:00:00+00:00"] * 2),
    (["2026-07-01T12:00:00Z", "2026-07-01T14:00:00+02:00"], ["2026-07-01T12:00:00+00:00"] * 2),
    (["2026-07-01 12:00:00", "2026-07-01 12:00:01.250"],
     ["2026-07-01T12:00:00+00:00", "2026-07-01T12:00:01.250000+00:00"]),  # naive: taken as UTC
])
def test_iso_timestamps_become_utc(tmp_path, values, expected):
    assert load_ts(tmp_path, values) == expected


@pytest.mark.parametrize(("values", "expected"), [
    # naive values are Berlin local time: CEST (+2) in July, CET (+1) in January
    (["2026-07-01 14:00:00", "2026-01-01 13:00:00"], ["2026-07-01T12:00:00+00:00", "2026-01-01T12:00:00+00:00"]),
    # values with an offset keep it
    (["2026-07-01T12:00:00Z", "2026-07-01T14:00:00+02:00"], ["2026-07-01T12:00:00+00:00"] * 2),
    # a mix: only the naive one is read as Berlin time
    (["2026-07-01T12:00:00.5Z", "2026-07-01 14:00:00"],
     ["2026-07-01T12:00:00.500000+00:00", "2026-07-01T12:00:00+00:00"]),
])
def test_timezone_applies_to_naive_timestamps_only(tmp_path, values, expected):
    assert load_ts(tmp_path, values, timezone="Europe/Berlin") == expected


# 2026-01-01T00:00:00Z is 1,767,225,600 seconds after the epoch.
@pytest.mark.parametrize("value", ["1767225600", "1767225600000", "1767225600000000", "1767225600000000000"],
                         ids=["s", "ms", "us", "ns"])
def test_epoch_unit_is_detected_from_magnitude(tmp_path, value):
    assert load_ts(tmp_path, [value]) == ["2026-01-01T00:00:00+00:00"]


@pytest.mark.parametrize(("value", "expected"), [
    ("1767225600.5", "2026-01-01T00:00:00.500000+00:00"),
    ("1767225600250", "2026-01-01T00:00:00.250000+00:00"),
    ("1767225600000250", "2026-01-01T00:00:00.000250+00:00"),
])
def test_epoch_fractions_are_kept(tmp_path, value, expected):
    assert load_ts(tmp_path, [value]) == [expected]


def test_epoch_nanoseconds_keep_full_precision(tmp_path):
    assert load_ts(tmp_path, ["1767225600123456789"]) == ["2026-01-01T00:00:00.123456789+00:00"]


def test_timestamp_unit_overrides_detection(tmp_path):
    # 1,767,225,600 ms = 20 days 10:53:45.600 after the epoch.
    assert load_ts(tmp_path, ["1767225600"], timestamp_unit="ms") == ["1970-01-21T10:53:45.600000+00:00"]
    assert load_ts(tmp_path, ["1767225600"], timestamp_unit="s") == ["2026-01-01T00:00:00+00:00"]


def test_epochs_ignore_the_timezone(tmp_path):
    assert load_ts(tmp_path, ["1767225600"], timezone="Europe/Berlin") == ["2026-01-01T00:00:00+00:00"]


def test_mixed_format_strings_in_one_column(tmp_path):
    values = ["2026-01-01T00:00:00Z", "2026-01-01 00:00:01", "2026-01-01T00:00:02.500+00:00",
              '"Thu, 01 Jan 2026 00:00:03 GMT"', "2026-01-01T01:00:04+01:00", "2026/01/01 00:00:05"]
    assert load_ts(tmp_path, values) == [
        "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:01+00:00", "2026-01-01T00:00:02.500000+00:00",
        "2026-01-01T00:00:03+00:00", "2026-01-01T00:00:04+00:00", "2026-01-01T00:00:05+00:00",
    ]


@pytest.mark.parametrize(("tz", "expected"), [
    ("UTC", ["2026-01-01T00:00:00.250000+00:00"]),
    ("Europe/Berlin", ["2026-01-01T00:00:00.250000+00:00"]),  # an aware column ignores the timezone
])
def test_parquet_timestamp_ms_utc(tmp_path, tz, expected):
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({
        "user_id": ["u1"], "event_name": ["a"],
        "timestamp": pa.array([1767225600250], pa.timestamp("ms", tz="UTC")),
    }), path)
    events, _ = microconv.load_events([path], config({"timezone": tz}))
    assert iso(events.frame) == expected


def test_parquet_naive_timestamp_uses_the_timezone(tmp_path):
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({
        "user_id": ["u1"], "event_name": ["a"],
        "timestamp": pa.array([1767225600250], pa.timestamp("ms")),  # 2026-01-01 00:00:00.250, no zone
    }), path)
    events, _ = microconv.load_events([path], config({"timezone": "Europe/Berlin"}))
    assert iso(events.frame) == ["2025-12-31T23:00:00.250000+00:00"]


def test_parquet_epoch_integers(tmp_path):
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({"user_id": ["u1", "u2"], "event_name": ["a", "a"],
                             "timestamp": pa.array([1767225600000, 1767225601000], pa.int64())}), path)
    events, _ = microconv.load_events([path], config())
    assert iso(events.frame) == ["2026-01-01T00:00:00+00:00", "2026-01-01T00:00:01+00:00"]


def test_parse_timestamps_reports_unparseable_but_not_empty():
    ts, bad = parse_timestamps(pd.Series(["2026-01-01T00:00:00Z", "", None, "garbage", "  "], dtype=object),
                               None, "UTC")
    assert ts.iloc[0].isoformat() == "2026-01-01T00:00:00+00:00"
    assert ts.iloc[1:].isna().all()
    assert bad.tolist() == [False, False, False, True, False]


def test_jsonl_offsets_win_over_the_timezone(tmp_path):
    path = write(tmp_path / "e.jsonl", """\
        {"user_id": "u1", "timestamp": "2026-07-01T12:00:00Z", "event_name": "a"}
        {"user_id": "u1", "timestamp": "2026-07-01T14:00:00+02:00", "event_name": "a"}
    """)
    events, _ = microconv.load_events([path], config({"timezone": "Europe/Berlin"}))
    assert iso(events.frame) == ["2026-07-01T12:00:00+00:00"] * 2


def test_timestamps_with_a_zone_name_and_a_timezone(tmp_path):
    assert load_ts(tmp_path, ["2026-07-01 12:00:00 UTC"], timezone="Europe/Berlin") == ["2026-07-01T12:00:00+00:00"]


def test_one_bad_value_in_an_epoch_column_drops_one_row(tmp_path):
    path = write(tmp_path / "e.csv", "user_id,timestamp,event_name\nu1,1767225600,a\nu2,1767225601,a\nu3,unknown,a\n")
    events, report = microconv.load_events([path], config())
    assert iso(events.frame) == ["2026-01-01T00:00:00+00:00", "2026-01-01T00:00:01+00:00"]
    assert report.dropped == {"with an unparseable timestamp": 1}


def test_bad_value_with_timestamp_unit_is_unparseable(tmp_path):
    path = write(tmp_path / "e.csv", "user_id,timestamp,event_name\nu1,1767225600,a\nu3,unknown,a\n")
    _, report = microconv.load_events([path], config({"timestamp_unit": "s"}))
    assert report.dropped == {"with an unparseable timestamp": 1}



def test_parquet_null_and_naive_utc_timestamps_on_the_typed_path(tmp_path):
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({
        "user_id": ["u1", "u2", "u3"], "event_name": ["a", "a", "a"],
        "timestamp": pa.array([1767225600, None, 1767225601], pa.timestamp("s")),
    }), path)
    events, report = microconv.load_events([path], config())
    assert iso(events.frame) == ["2026-01-01T00:00:00+00:00", "2026-01-01T00:00:01+00:00"]
    assert report.dropped == {"without a timestamp": 1}
    assert report.examples == {"without a timestamp": [f"{path}: row 2"]}
    assert events.summary.first_ts == 1767225600 * 10**9


def test_uint64_epochs_beyond_int64_are_out_of_range_not_1969():
    """2**63 + 5 seconds would wrap to a negative int64 (a time before 1970) if cast blindly."""
    import microconv

    cfg = microconv.parse_config({"columns": {"user": "u", "event": "e", "timestamp": "t", "timestamp_unit": "s"},
                                  "funnels": {"f": {"steps": [{"event": "a"}]}}})
    raw = pd.DataFrame({"u": ["1", "2", "3"], "e": ["a", "a", "a"],
                        "t": np.array([1_767_225_600, 2**63 + 5, 2**64 - 1], dtype=np.uint64)})
    events, quality = microconv.canonicalize(raw, cfg)
    assert list(events.frame["ts"]) == [pd.Timestamp("2026-01-01", tz="UTC")]
    assert quality.messages() == ["dropped 2 of 3 rows with a timestamp outside 1677-09-21..2262-04-11 (first: row 2, row 3)"]
