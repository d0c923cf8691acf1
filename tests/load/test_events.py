"""The canonical events frame: aliases across files, cleaning, timestamps, JSON paths, real logs.

Every input is a tiny file written into ``tmp_path``; CSV line numbers count the header as line 1,
so data row i (0-based) is line i + 2.
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from conftest import examples

import microconv
from microconv import DataError
from microconv.engine.matching import match_mask
from microconv.load.events import parse_timestamps
from microconv.load.sources import Source

SHARED = Path(__file__).resolve().parents[2].parent / "shared/data"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not beside the repository")


def write(path: Path, text: str) -> Path:
    """Write dedented ``text`` to ``path`` and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def config(columns: dict | None = None, conversions: dict | None = None):
    """A config with the usual column names and, by default, one conversion on event `a`."""
    return microconv.parse_config({
        "columns": {"user": "user_id", "event": "event_name", "timestamp": "timestamp", **(columns or {})},
        "conversions": conversions or {"a": {"event": "a"}},
    })


def iso(frame: pd.DataFrame) -> list[str]:
    return [t.isoformat() for t in frame["ts"]]


# --- several files whose columns differ -------------------------------------------------------

DAY1 = """\
    user_id,timestamp,event_name,utm_source
    u1,2026-01-01T00:00:00Z,view_item,google
    u2,2026-01-01T00:00:01Z,view_item,
"""
# Day 2: the user column is renamed, the columns are in another order, utm_source is gone.
DAY2 = """\
    clientId,event_name,timestamp
    u3,view_item,2026-01-02T00:00:00Z
    u1,purchase,2026-01-02T00:00:01Z
"""
ALIASED = {"user": ["user_id", "clientId"]}
USES_UTM = {"google": {"event": "view_item", "where": {"utm_source": "google"}}}


def test_user_column_aliases_resolve_per_file(tmp_path):
    day1, day2 = write(tmp_path / "day1.csv", DAY1), write(tmp_path / "day2.csv", DAY2)
    events, report = microconv.load_events([day1, day2], config(ALIASED, USES_UTM))
    frame = events.frame
    assert frame["user"].tolist() == ["u1", "u2", "u3", "u1"]
    assert frame["event"].tolist() == ["view_item", "view_item", "view_item", "purchase"]
    assert iso(frame) == ["2026-01-01T00:00:00+00:00", "2026-01-01T00:00:01+00:00",
                          "2026-01-02T00:00:00+00:00", "2026-01-02T00:00:01+00:00"]
    assert report.rows_read == 4 and report.dropped == {}
    assert events.sources == (str(day1), str(day2))


def test_property_missing_from_one_file_is_empty_there(tmp_path):
    day1, day2 = write(tmp_path / "day1.csv", DAY1), write(tmp_path / "day2.csv", DAY2)
    cfg = config(ALIASED, USES_UTM)
    events, _ = microconv.load_events([day1, day2], cfg)
    utm = events.frame["utm_source"].tolist()
    assert utm[0] == "google"
    assert pd.isna(utm[1]) and pd.isna(utm[2]) and pd.isna(utm[3])
    assert match_mask(events.frame, cfg.conversions["google"]).tolist() == [True, False, False, False]


def test_rows_follow_the_file_order_given(tmp_path):
    day1, day2 = write(tmp_path / "day1.csv", DAY1), write(tmp_path / "day2.csv", DAY2)
    events, _ = microconv.load_events([day2, day1], config(ALIASED, USES_UTM))
    assert events.frame["user"].tolist() == ["u3", "u1", "u1", "u2"]
    assert events.frame["event"].tolist() == ["view_item", "purchase", "view_item", "view_item"]


def test_property_missing_from_every_file_is_a_typo(tmp_path):
    day1, day2 = write(tmp_path / "day1.csv", DAY1), write(tmp_path / "day2.csv", DAY2)
    typo = {"google": {"event": "view_item", "where": {"utm_sorce": "google"}}}
    with pytest.raises(DataError) as info:
        microconv.load_events([day1, day2], config(ALIASED, typo))
    problem = info.value.problems[0]
    assert problem.message == "property 'utm_sorce' is not a column of any input file (looked for 'utm_sorce')"
    assert problem.where == "conversions.google.where.utm_sorce"
    assert problem.hint == "did you mean 'utm_source'?"


def test_property_alias_list_missing_everywhere_points_at_columns_properties(tmp_path):
    day1 = write(tmp_path / "day1.csv", DAY1)
    cfg = config({**ALIASED, "properties": {"channel": ["utm_sorce", "src"]}},
                 {"google": {"event": "view_item", "where": {"channel": "google"}}})
    with pytest.raises(DataError) as info:
        microconv.load_events([day1], cfg)
    problem = info.value.problems[0]
    assert "looked for 'utm_sorce', 'src'" in problem.message
    assert problem.where == "columns.properties.channel"
    assert problem.hint == "did you mean 'utm_source'?"


@pytest.mark.parametrize(("columns", "missing", "hint"), [
    ({"timestamp": "timestmp"}, "timestamp", "did you mean 'timestamp'?"),
    ({"event": "event"}, "event", "did you mean 'event_name'?"),
    ({"user": "user"}, "user", "did you mean 'user_id'?"),
])
def test_required_column_missing_suggests_the_real_one(tmp_path, columns, missing, hint):
    day1 = write(tmp_path / "day1.csv", DAY1)
    with pytest.raises(DataError) as info:
        microconv.load_events([day1], config(columns))
    problem = info.value.problems[0]
    assert problem.message.startswith(f"{day1} has no {missing} column")
    assert problem.where == f"columns.{missing}"
    assert problem.hint.startswith(hint)


def test_default_user_aliases_missing_point_at_the_data_file(tmp_path):
    path = write(tmp_path / "events.csv", "uid,timestamp,event_name\nu1,2026-01-01T00:00:00Z,a\n")
    cfg = microconv.parse_config({"conversions": {"a": {"event": "a"}}})  # default column aliases
    with pytest.raises(DataError) as info:
        microconv.load_events([path], cfg)
    problem = info.value.problems[0]
    assert problem.where == str(path)
    assert problem.message.startswith("no user column; looked for 'user_id', 'userId'")
    assert problem.hint.startswith("did you mean 'uid'?")


# --- only the needed columns are read ----------------------------------------------------------

WIDE = """\
    user_id,session_id,timestamp,device,event_name,page_url,event_data,utm_source
    u1,s1,2026-01-01T00:00:00Z,mobile,page_view,/pricing,,google
    u1,s1,2026-01-01T00:00:09Z,mobile,purchase,/done,"{""revenue"": 20}",google
"""
NEEDS_TWO = {
    "pricing": {"event": "page_view", "where": {"page_url": {"contains": "/pricing"}}},
    "purchase": {"event": "purchase", "value": "revenue"},
}


def test_only_needed_columns_are_read(tmp_path, monkeypatch):
    path = write(tmp_path / "wide.csv", WIDE)
    asked = []
    original = Source.read

    def spy(self, columns, dictionary=(), text=()):
        asked.append(sorted(columns))
        return original(self, columns, dictionary, text)

    monkeypatch.setattr(Source, "read", spy)
    cfg = config({"properties": {"revenue": "event_data.revenue"}}, NEEDS_TWO)
    events, _ = microconv.load_events([path], cfg)
    assert asked == [["event_data", "event_name", "page_url", "timestamp", "user_id"]]
    assert list(events.frame.columns[:3]) == ["user", "ts", "event"]
    assert sorted(events.frame.columns[3:]) == ["page_url", "revenue"]
    assert events.frame["revenue"].tolist()[1] == 20


def test_extra_properties_are_read_too(tmp_path):
    path = write(tmp_path / "wide.csv", WIDE)
    events, _ = microconv.load_events([path], config(), extra_properties=["device"])
    assert list(events.frame.columns) == ["user", "ts", "event", "device"]
    assert events.frame["device"].tolist() == ["mobile", "mobile"]


# --- dropped rows and the data-quality report ---------------------------------------------------

MESSY = """\
    user_id,timestamp,event_name
    u1,2026-01-01T00:00:00Z,a
    ,2026-01-01T00:00:01Z,a
    u2,,a
    u3,not a date,a
    u4,2026-01-01T00:00:04Z,a
    ,,a
    u5,yesterday,a
    u6,2026-01-01T00:00:07Z,
    ,2026-01-01T00:00:08Z,a
    ,2026-01-01T00:00:09Z,a
"""


def test_unusable_rows_are_dropped_and_counted_by_reason(tmp_path):
    path = write(tmp_path / "messy.csv", MESSY)
    events, report = microconv.load_events([path], config())
    assert events.frame["user"].tolist() == ["u1", "u4"]
    assert report.rows_read == 10
    # A row lacking both user and timestamp (line 7) counts once, as "without a user id".
    assert report.dropped == {
        "without a user id": 4,
        "without a timestamp": 1,
        "with an unparseable timestamp": 2,
        "without an event name": 1,
    }
    assert report.rows_dropped == 8
    assert report.examples == {
        "without a user id": [f"{path}:3", f"{path}:7", f"{path}:10"],  # the first three only
        "without a timestamp": [f"{path}:4"],
        "with an unparseable timestamp": [f"{path}:5", f"{path}:8"],
        "without an event name": [f"{path}:9"],
    }
    assert report.messages()[0] == f"dropped 4 of 10 rows without a user id (first: {path}:3, {path}:7, {path}:10)"
    assert report.messages()[2] == f"dropped 2 of 10 rows with an unparseable timestamp (first: {path}:5, {path}:8)"


def test_report_adds_up_over_files(tmp_path):
    one = write(tmp_path / "one.csv", "user_id,timestamp,event_name\n" "u1,2026-01-01T00:00:00Z,a\n,2026-01-01T00:00:01Z,a\n")
    two = write(tmp_path / "two.csv", "user_id,timestamp,event_name\n" ",2026-01-01T00:00:00Z,a\nu2,2026-01-01T00:00:01Z,a\n")
    events, report = microconv.load_events([one, two], config())
    assert events.frame["user"].tolist() == ["u1", "u2"]
    assert report.rows_read == 4
    assert report.dropped == {"without a user id": 2}
    assert report.examples == {"without a user id": [f"{one}:3", f"{two}:2"]}


def test_jsonl_line_numbers_have_no_header(tmp_path):
    path = write(tmp_path / "e.jsonl", """\
        {"user_id": "u1", "timestamp": "2026-01-01T00:00:00Z", "event_name": "a"}
        {"user_id": null, "timestamp": "2026-01-01T00:00:01Z", "event_name": "a"}
        {"user_id": "u2", "timestamp": "2026-01-01T00:00:02Z", "event_name": "a"}
    """)
    _, report = microconv.load_events([path], config())
    assert report.examples == {"without a user id": [f"{path}:2"]}


def test_canonicalize_strips_user_ids_and_numbers_rows_from_1():
    raw = pd.DataFrame({
        "user_id": ["u1", "  ", " u1 ", None, "u2"],
        "timestamp": ["2026-01-01T00:00:00Z"] * 5,
        "event_name": ["a"] * 5,
    })
    events, report = microconv.canonicalize(raw, config(), name="notebook")
    assert events.frame["user"].tolist() == ["u1", "u1", "u2"]
    assert report.dropped == {"without a user id": 2}
    assert report.examples == {"without a user id": ["row 2", "row 4"]}
    assert events.sources == ("notebook",)


def test_whitespace_user_ids_in_a_file_are_stripped_or_dropped(tmp_path):
    path = write(tmp_path / "ws.csv", """\
        user_id,timestamp,event_name
        u1,2026-01-01T00:00:00Z,a
           ,2026-01-01T00:00:01Z,a
         u1 ,2026-01-01T00:00:02Z,a
    """)
    events, report = microconv.load_events([path], config())
    assert events.frame["user"].tolist() == ["u1", "u1"]
    assert report.dropped == {"without a user id": 1}
    assert report.examples == {"without a user id": [f"{path}:3"]}


def test_padded_user_id_is_stripped_even_without_its_twin_in_the_file(tmp_path):
    one = write(tmp_path / "one.csv", "user_id,timestamp,event_name\n" " u1 ,2026-01-01T00:00:00Z,a\nu2,2026-01-01T00:00:00Z,a\n")
    two = write(tmp_path / "two.csv", "user_id,timestamp,event_name\nu1,2026-01-01T00:00:01Z,a\n")
    events, _ = microconv.load_events([one, two], config())
    assert events.frame["user"].tolist() == ["u1", "u2", "u1"]
    assert events.frame["user"].nunique() == 2


def test_all_timestamps_unparseable_names_the_first_bad_line(tmp_path):
    path = write(tmp_path / "bad.csv", """\
        user_id,timestamp,event_name
        ,yesterday,a
        u1,tomorrow,a
        u2,soon,a
    """)
    with pytest.raises(DataError) as info:
        microconv.load_events([path], config())
    problem = info.value.problems[0]
    assert problem.where == f"{path}:3"  # line 2 has no user, so it is not the first bad value
    assert problem.message == "no timestamp could be parsed (first value 'tomorrow')"
    assert "columns.timestamp_unit" in problem.hint


def test_no_usable_rows_lists_the_reasons(tmp_path):
    path = write(tmp_path / "e.csv", "user_id,timestamp,event_name\nu1,,a\n,2026-01-01T00:00:00Z,a\n")
    with pytest.raises(DataError, match="no usable rows") as info:
        microconv.load_events([path], config())
    assert info.value.hint == (f"dropped 1 of 2 rows without a user id (first: {path}:3); "
                               f"dropped 1 of 2 rows without a timestamp (first: {path}:2)")


def test_duplicate_rows_are_kept(tmp_path):
    path = write(tmp_path / "dup.csv", """\
        user_id,timestamp,event_name
        u1,2026-01-01T00:00:00Z,a
        u1,2026-01-01T00:00:00Z,a
    """)
    events, report = microconv.load_events([path], config())
    assert len(events) == 2
    assert events.frame["user"].tolist() == ["u1", "u1"]
    assert report.dropped == {}


def test_header_only_file_among_others_adds_nothing(tmp_path):
    empty = write(tmp_path / "empty.csv", "user_id,timestamp,event_name\n")
    day1 = write(tmp_path / "day1.csv", DAY1)
    events, report = microconv.load_events([empty, day1], config())
    assert events.frame["user"].tolist() == ["u1", "u2"]
    assert report.rows_read == 2


# --- timestamps ---------------------------------------------------------------------------------

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


# --- JSON-string property paths -----------------------------------------------------------------

JSON_ROWS = [
    ("u1", '{"revenue": 12.5, "a": {"b": "deep"}}'),
    ("u2", ""),                          # empty cell
    ("u3", "null"),                      # JSON null
    ("u4", '{"currency": "EUR"}'),       # path missing in this object
    ("u5", '{"revenue": 3, "a": {"c": 1}}'),  # a.b missing
    ("u6", '{"revenue": 4, "a": 5}'),    # a is not an object
]
JSON_CONFIG = {
    "columns": {"properties": {"revenue": "event_data.revenue", "deep": "event_data.a.b"}},
    "conversions": {"p": {"event": "purchase", "value": "revenue", "where": {"deep": {"exists": True}}}},
}


def json_csv(path: Path, rows) -> Path:
    quoted = ['"' + data.replace('"', '""') + '"' if data else "" for _, data in rows]
    body = "".join(f"{u},2026-01-01T00:00:0{i}Z,purchase,{q}\n" for i, ((u, _), q) in enumerate(zip(rows, quoted)))
    return write(path, "user_id,timestamp,event_name,event_data\n" + body)


def values(series: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in series]


@pytest.mark.parametrize("broken", [False, True], ids=["all-valid", "with-invalid-json"])
def test_json_paths(tmp_path, broken):
    rows = JSON_ROWS + ([("u7", "{not json")] if broken else [])
    path = json_csv(tmp_path / "e.csv", rows)
    cfg = config(**JSON_CONFIG)
    events, report = microconv.load_events([path], cfg)
    frame = events.frame
    assert len(frame) == len(rows) and report.dropped == {}
    extra = [None] if broken else []
    assert values(frame["revenue"]) == [12.5, None, None, None, 3, 4] + extra
    assert values(frame["deep"]) == ["deep", None, None, None, None, None] + extra
    assert match_mask(frame, cfg.conversions["p"]).tolist() == [True] + [False] * (len(rows) - 1)


def test_json_path_in_jsonl_string_field(tmp_path):
    data = json.dumps({"revenue": 5, "a": {"b": "x"}})
    path = write(tmp_path / "e.jsonl",
                 json.dumps({"user_id": "u1", "timestamp": "2026-01-01T00:00:00Z", "event_name": "purchase",
                             "event_data": data}) + "\n")
    events, _ = microconv.load_events([path], config(**JSON_CONFIG))
    assert events.frame["revenue"].tolist() == [5]
    assert events.frame["deep"].tolist() == ["x"]


def test_json_path_in_jsonl_nested_object(tmp_path):
    path = write(tmp_path / "e.jsonl",
                 json.dumps({"user_id": "u1", "timestamp": "2026-01-01T00:00:00Z", "event_name": "purchase",
                             "event_data": {"revenue": 5, "a": {"b": "x"}}}) + "\n")
    events, _ = microconv.load_events([path], config(**JSON_CONFIG))
    assert events.frame["revenue"].tolist() == [5]
    assert events.frame["deep"].tolist() == ["x"]


def test_a_column_named_like_a_path_wins_over_the_path(tmp_path):
    path = write(tmp_path / "e.csv", """\
        user_id,timestamp,event_name,event_data,event_data.revenue
        u1,2026-01-01T00:00:00Z,purchase,"{""revenue"": 1}",99
    """)
    events, _ = microconv.load_events([path], config(**JSON_CONFIG | {"conversions": {
        "p": {"event": "purchase", "value": "revenue"}}}))
    assert events.frame["revenue"].tolist() == [99]


# --- user ids of other types --------------------------------------------------------------------

def test_numeric_user_ids_become_text(tmp_path):
    path = write(tmp_path / "e.csv", "user_id,timestamp,event_name\n" "219483890,2026-01-01T00:00:00Z,a\n007,2026-01-01T00:00:01Z,a\n")
    events, _ = microconv.load_events([path], config())
    assert events.frame["user"].tolist() == ["219483890", "007"]


def test_parquet_nullable_integer_user_ids(tmp_path):
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({"user_id": pa.array([219483890, None], pa.int64()),
                             "timestamp": ["2026-01-01T00:00:00Z"] * 2, "event_name": ["a", "a"]}), path)
    events, report = microconv.load_events([path], config())
    assert events.frame["user"].tolist() == ["219483890"]
    assert report.dropped == {"without a user id": 1}


# --- property values across files ---------------------------------------------------------------

def test_equality_still_works_when_a_file_lacks_the_property(tmp_path):
    one = write(tmp_path / "one.csv", """\
        user_id,timestamp,event_name,price,member
        u1,2026-01-01T00:00:00Z,a,3,true
        u2,2026-01-01T00:00:01Z,a,,false
    """)
    two = write(tmp_path / "two.csv", "user_id,timestamp,event_name\nu3,2026-01-01T00:00:02Z,a\n")
    cfg = config(conversions={"price3": {"event": "a", "where": {"price": 3}},
                              "member": {"event": "a", "where": {"member": True}}})
    alone, _ = microconv.load_events([one], cfg)
    assert match_mask(alone.frame, cfg.conversions["price3"]).tolist() == [True, False]
    both, _ = microconv.load_events([one, two], cfg)
    assert match_mask(both.frame, cfg.conversions["price3"]).tolist() == [True, False, False]
    assert match_mask(both.frame, cfg.conversions["member"]).tolist() == [True, False, False]


# --- real logs in ../shared/data (read in place) ------------------------------------------------

@needs_shared
def test_shared_ecom_synthetic():
    path = SHARED / "retentioneering_ecom_synthetic" / "ecom.csv.gz"
    cfg = config({"user": "user_id", "event": "event", "timestamp": "timestamp"},
                 {"purchase": {"event": "purchase"}})
    events, report = microconv.load_events([path], cfg)
    frame = events.frame
    assert len(frame) == 31_106
    assert frame["user"].nunique() == 600
    assert report.rows_read == 31_106 and report.dropped == {}
    assert int(frame.duplicated().sum()) == 30  # the README's 30 exact duplicates are kept
    assert frame["ts"].min().isoformat() == "2024-01-04T11:45:38+00:00"
    assert frame["ts"].max().isoformat() == "2024-06-29T22:02:40+00:00"
    counts = frame["event"].value_counts()
    assert (counts["product_view"], counts["purchase"], counts["checkout_bug"]) == (6_851, 470, 44)
    assert frame.loc[frame["event"] == "purchase", "user"].nunique() == 328

    again, _ = microconv.canonicalize(pd.read_csv(path), cfg)
    assert len(again) == 31_106 and again.frame["user"].nunique() == 600


@needs_shared
def test_shared_simple_shop():
    path = SHARED / "retentioneering_simple_shop" / "simple-onlineshop.csv"
    cfg = config({"user": "user_id", "event": "event", "timestamp": "timestamp"},
                 {"done": {"event": "payment_done"}})
    events, report = microconv.load_events([path], cfg)
    frame = events.frame
    assert len(frame) == 32_283
    assert frame["user"].nunique() == 3_751
    assert report.dropped == {}
    assert frame["user"].iloc[0] == "219483890"
    assert frame["ts"].min().isoformat() == "2019-11-01T17:59:13.273932+00:00"
    assert frame["ts"].max().isoformat() == "2020-04-29T12:48:06.595390+00:00"
    counts = frame["event"].value_counts()
    assert (counts["catalog"], counts["payment_done"]) == (14_518, 706)

    again, _ = microconv.canonicalize(pd.read_csv(path), cfg)
    assert len(again) == 32_283 and again.frame["user"].nunique() == 3_751
    assert again.frame["user"].iloc[0] == "219483890"


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


def test_ids_of_unicode_whitespace_are_blank_and_non_ascii_ids_are_kept(tmp_path):
    path = tmp_path / "e.parquet"
    ids = ["\u3000", "\u00a0\u2003", "\u00e9mile", "\u3000x", "\x1f", "", " ", None, "u1"]
    pq.write_table(pa.table({"user_id": ids, "event_name": ["a"] * len(ids),
                             "timestamp": ["2026-01-01T00:00:00Z"] * len(ids)}), path)
    events, report = microconv.load_events([path], config())
    assert events.frame["user"].tolist() == ["\u00e9mile", "x", "u1"]   # ids are trimmed (rule 1.1)
    assert report.dropped == {"without a user id": 6}


def test_one_code_per_distinct_id_across_row_groups_and_files(tmp_path):
    ids = ["u1", "u22", "abc", " u1 ", "zz", "u22", "", "abc"]
    one = tmp_path / "one.parquet"
    pq.write_table(pa.table({"user_id": ids, "event_name": ["a"] * 8,
                             "timestamp": pa.array(range(8), pa.timestamp("s", tz="UTC"))}), one, row_group_size=3)
    two = write(tmp_path / "two.csv", "user_id,timestamp,event_name\nnew,2026-01-01T00:00:00Z,a\nu1 ,2026-01-01T00:00:01Z,a\n")
    events, report = microconv.load_events([one, two], config())
    users = events.frame["user"]
    assert users.astype(str).tolist() == ["u1", "u22", "abc", "u1", "zz", "u22", "abc", "new", "u1"]
    codes = users.cat.codes.tolist()
    assert codes[0] == codes[3] == codes[8] and codes[1] == codes[5] and codes[2] == codes[6]
    assert sorted(users.cat.categories) == ["abc", "new", "u1", "u22", "zz"]
    assert events.summary.users == 5
    assert report.dropped == {"without a user id": 1}


def test_piece_ids_code_each_chunk_after_the_ones_before():
    """A CSV piece can hold several chunks, each with its own dictionary: codes point into the
    names of all chunks side by side; blank and missing ids are -1 (rule 1.1)."""
    from microconv.load.events import _piece_ids
    clean = pa.DictionaryArray.from_arrays(pa.array([1, 0, 1], pa.int32()), pa.array(["u1", "u2"]))
    messy = pa.DictionaryArray.from_arrays(pa.array([0, None, 2, 1], pa.int32()), pa.array([" u2 ", "  ", "u3"]))
    codes, names = _piece_ids(pa.chunked_array([clean, messy]))
    assert codes.tolist() == [1, 0, 1, 2, -1, 4, -1]
    assert names.to_pylist() == ["u1", "u2", "u2", "", "u3"]


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.lists(st.sampled_from(["", "u1", "u2", "u10", "a@b.co", "é", "x" * 40, "2", "20", "02"]),
                         max_size=12), max_size=5), st.booleans())
def test_ids_hashed_in_parts_name_each_row_its_own_id(pieces, counted):
    """However ids fall into pieces and parts, each kept row gets back its own id, and equal ids one code."""
    from microconv.load.events import _categorical_ids, _Ids
    ids = []
    for rows in pieces:
        names = pa.array(["never used", *dict.fromkeys(rows)])      # in order of first appearance
        codes = np.array([names.to_pylist().index(r) for r in rows], dtype=np.int32)
        keep = codes[::2]                                      # every other row is kept
        ids.append(_Ids.of(keep, names, codes if counted else None))
    users, distinct = _categorical_ids(ids, every_name_kept=not counted)
    assert users.astype(object).tolist() == [r for rows in pieces for r in rows[::2]]
    assert len(users.cat.categories) == len(set(users.cat.categories))
    assert set(users.cat.categories) == {r for rows in pieces for r in rows[::2]}
    assert distinct == (len({r for rows in pieces for r in rows}) if counted else len(users.cat.categories))


def test_the_part_of_an_id_depends_only_on_its_bytes():
    from microconv.load.events import _part_of
    ids = pa.array(["", "abc", "u1", "", "abc", "é", "u1"])
    whole = _part_of(ids)
    assert whole[0] == whole[3] and whole[1] == whole[4] and whole[2] == whole[6]
    assert _part_of(ids.slice(3)).tolist() == whole[3:].tolist()
    assert _part_of(pa.array(["", ""])).tolist() == [0, 0]


def test_event_codes_skip_missing_names_in_the_dictionary_and_across_chunks():
    from microconv.load.events import _event_codes
    first = pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 2], pa.int32()), pa.array(["view", None, "buy"]))
    second = pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int32()), pa.array(["cart", "view"]))
    codes, names = _event_codes(pa.chunked_array([first, second]))
    assert [names[c] if c >= 0 else None for c in codes] == ["view", None, None, "buy", "cart", "view"]
    assert sorted(names) == ["buy", "cart", "view"]
    codes, names = _event_codes(pa.chunked_array([pa.array([3, None, 3, 7])]))      # numbers: their digits
    assert [names[c] if c >= 0 else None for c in codes] == ["3", None, "3", "7"]


def test_event_names_of_other_types_read_as_pandas_writes_them():
    from microconv.load.events import _event_codes
    codes, names = _event_codes(pa.chunked_array([pa.array([3.0, None, 2.5])]))
    assert [names[c] if c >= 0 else None for c in codes] == ["3.0", None, "2.5"]
    codes, names = _event_codes(pa.chunked_array([pa.array([True, False])]))
    assert [names[c] for c in codes] == ["True", "False"]


def _part_by_hand(text: str) -> int:
    """The part of one id, as _part_of's docstring defines it, in Python integers (mod 2**32)."""
    b = text.encode()
    n = len(b)
    last, before, middle = (b[-1] if n else 0), (b[-2] if n > 1 else 0), (b[n // 2] if n else 0)
    ends = ((last | before << 8 | middle << 16 | n << 24) * 0x9E3779B1) & 0xFFFFFFFF
    mixed = ((ends ^ (sum(b) * 0x85EBCA6B) & 0xFFFFFFFF) * 0xC2B2AE35) & 0xFFFFFFFF
    return mixed >> 26


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.text(max_size=6), max_size=30), st.integers(0, 3))
def test_id_parts_are_the_defined_hash(ids, cut):
    """Empty ids anywhere (also last), multi-byte text, and a slice of a longer array."""
    from microconv.load.events import _part_of

    arr = pa.array(["pad"] * cut + ids + ["pad"] * cut, pa.string()).slice(cut, len(ids))
    assert _part_of(arr).tolist() == [_part_by_hand(t) for t in ids]
