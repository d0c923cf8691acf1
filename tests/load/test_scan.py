"""Loading through ``load_events`` and ``canonicalize``: column aliases across files, reading only the
needed columns, dropped rows and the quality report, JSON paths, user ids, real logs.

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
import pytest

import microconv
from microconv import DataError
from microconv.engine.matching import match_mask
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


def test_numeric_parquet_ids_meet_their_text_in_a_csv_but_not_a_padded_one(tmp_path):
    """Integer ids are coded as numbers (fast), yet a number is its text (rule 1.1): 7 in a Parquet
    file and "7" in a CSV are one user; "007" is another. 2**40 has all its digits."""
    numeric = tmp_path / "a.parquet"
    pq.write_table(pa.table({"user_id": pa.array([7, 2**40, 7, None], pa.int64()), "event_name": ["a"] * 4,
                             "timestamp": pa.array(range(4), pa.timestamp("s", tz="UTC"))}), numeric, row_group_size=2)
    text = write(tmp_path / "b.csv", "user_id,timestamp,event_name\n7,2026-01-01T00:00:00Z,a\n007,2026-01-01T00:00:01Z,a\n")
    events, report = microconv.load_events([numeric, text], config())
    assert events.frame["user"].tolist() == ["7", "1099511627776", "7", "7", "007"]
    assert events.log.users == 3 and report.dropped == {"without a user id": 1}
    alone, _ = microconv.load_events([numeric], config())
    assert alone.frame["user"].tolist() == ["7", "1099511627776", "7"] and alone.log.users == 2



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
