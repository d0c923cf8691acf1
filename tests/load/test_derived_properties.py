"""Derived properties (docs/semantics.md 8.1): URL query parameters, URL paths and hosts, JSON
fields, and one value per user; each checked by hand on a log of a few rows, in memory
(``canonicalize``) and in files (``load_events``), then used in ``where`` and as ``by``.
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import microconv
from microconv import ConfigError, DataError

COLUMNS = {"user": "user_id", "event": "event_name", "timestamp": "timestamp"}


def config(properties: dict, *, conversions: dict | None = None, funnels: dict | None = None):
    """A config with the usual column names, these derived ``properties`` and a one-step funnel."""
    return microconv.parse_config({
        "columns": {**COLUMNS, "properties": properties},
        "conversions": conversions or {},
        "funnels": funnels or {"f": {"steps": [{"event": "view"}]}},
    })


def values(series: pd.Series) -> list:
    """A column as a plain list, every kind of missing (None, NaN, pd.NA) as None."""
    return [None if pd.isna(v) else v for v in series.astype(object)]


def derive(spec: dict, urls: list) -> list:
    """The property ``p`` = ``spec`` over one event per value of ``urls`` (user u0, u1, ...)."""
    cfg = config({"p": spec})
    raw = pd.DataFrame({
        "user_id": [f"u{i}" for i in range(len(urls))],
        "event_name": "view",
        "timestamp": "2026-01-01T00:00:00Z",
        "url": pd.Series(urls, dtype=object),
    })
    events, _ = microconv.canonicalize(raw, cfg, extra_properties=["p"])
    return values(events.frame["p"])


def one(spec: dict, url) -> object:
    return derive(spec, [url])[0]


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


# --- query: NAME ------------------------------------------------------------------------------

QUERY = {"from": "url", "query": "utm_source"}


@pytest.mark.parametrize("url,expected", [
    ("https://a.com/p?utm_source=google", "google"),
    ("https://a.com/p?x=1&utm_source=google&y=2", "google"),
    # the first parameter of that name wins
    ("https://a.com/p?utm_source=first&utm_source=second", "first"),
    # a parameter whose name merely ends in the name is another parameter
    ("https://a.com/p?my_utm_source=no&utm_source=yes", "yes"),
    # names are case-sensitive
    ("https://a.com/p?UTM_SOURCE=upper", None),
    # %-decoding, and '+' is a space
    ("https://a.com/p?utm_source=spring%20sale+2026", "spring sale 2026"),
    ("https://a.com/p?utm_source=caf%C3%A9", "café"),
    ("https://a.com/p?utm_source=a%26b%3Dc", "a&b=c"),
    # an empty value is missing, also when a later parameter of that name has one
    ("https://a.com/p?utm_source=&x=1", None),
    ("https://a.com/p?utm_source=&utm_source=late", None),
    ("https://a.com/p?utm_source", None),
    # no query at all
    ("https://a.com/p", None),
    ("https://a.com/p?", None),
    # the fragment is not part of the query
    ("https://a.com/p?utm_source=mail#section", "mail"),
    ("https://a.com/p?utm_source=mail#utm_source=frag", "mail"),
    ("https://a.com/p?x=1#utm_source=frag", None),
    # relative URLs and surrounding spaces
    ("/landing?utm_source=ads", "ads"),
    ("?utm_source=bare", "bare"),
    ("  https://a.com/?utm_source=padded  ", "padded"),
])
def test_query_parameter(url, expected):
    assert one(QUERY, url) == expected


def test_query_marker_inside_the_fragment_is_not_a_query():
    # RFC 3986: the fragment starts at the first '#'; this URL has no query.
    assert one(QUERY, "https://a.com/p#top?utm_source=frag") is None


def test_query_of_missing_and_blank_values_is_missing():
    assert derive(QUERY, [None, np.nan, "", "   ", "https://a.com/?utm_source=x"]) == [None, None, None, None, "x"]


def test_query_of_a_numeric_column_is_missing():
    cfg = config({"p": QUERY})
    raw = pd.DataFrame({"user_id": ["u1", "u2"], "event_name": "view",
                        "timestamp": "2026-01-01T00:00:00Z", "url": [17, 18]})
    events, _ = microconv.canonicalize(raw, cfg, extra_properties=["p"])
    assert values(events.frame["p"]) == [None, None]


def test_query_from_a_jsonl_file_with_non_string_and_absent_values(tmp_path):
    # One file per kind: Arrow's JSON reader wants one type per column within a file.
    texts = write_jsonl(tmp_path / "a_text.jsonl", [
        {"user_id": "u1", "event_name": "view", "timestamp": "2026-01-01T00:00:00Z",
         "url": "https://a.com/?utm_source=news%20letter"},
        {"user_id": "u2", "event_name": "view", "timestamp": "2026-01-01T00:00:01Z", "url": None},
        {"user_id": "u3", "event_name": "view", "timestamp": "2026-01-01T00:00:02Z"},
    ])
    numbers = write_jsonl(tmp_path / "b_numbers.jsonl", [
        {"user_id": "u4", "event_name": "view", "timestamp": "2026-01-01T00:00:03Z", "url": 42},
    ])
    cfg = config({"p": QUERY})
    events, _ = microconv.load_events([texts, numbers], cfg, extra_properties=["p"])
    assert events.frame["user"].tolist() == ["u1", "u2", "u3", "u4"]
    assert values(events.frame["p"]) == ["news letter", None, None, None]


def test_query_of_a_jsonl_object_value_is_missing(tmp_path):
    objects = write_jsonl(tmp_path / "objects.jsonl", [
        {"user_id": "u1", "event_name": "view", "timestamp": "2026-01-01T00:00:00Z", "url": {"utm_source": "x"}},
    ])
    events, _ = microconv.load_events([objects], config({"p": QUERY}), extra_properties=["p"])
    assert values(events.frame["p"]) == [None]


def test_query_from_a_csv_file(tmp_path):
    path = write(tmp_path / "e.csv", """\
        user_id,event_name,timestamp,page_url
        u1,view,2026-01-01T00:00:00Z,https://a.com/p?utm_source=spring+sale&utm_source=no
        u2,view,2026-01-01T00:00:01Z,https://a.com/p?utm_source=
        u3,view,2026-01-01T00:00:02Z,
        u4,view,2026-01-01T00:00:03Z,"https://a.com/p?a=1,2&utm_source=x%2Cy"
        """)
    cfg = config({"src": {"from": "page_url", "query": "utm_source"}})
    events, _ = microconv.load_events([path], cfg, extra_properties=["src"])
    assert values(events.frame["src"]) == ["spring sale", None, None, "x,y"]


# --- url: path / url: host --------------------------------------------------------------------

PATH = {"from": "url", "url": "path"}
HOST = {"from": "url", "url": "host"}


@pytest.mark.parametrize("url,expected", [
    ("https://a.com/p/x?q=1", "/p/x"),                  # the docs' example
    ("https://a.com/p/x#frag", "/p/x"),
    ("https://a.com/p/x?q=1#frag", "/p/x"),
    ("https://a.com/p/x/", "/p/x/"),
    ("https://a.com", "/"),                             # no path gives '/'
    ("https://a.com?q=1", "/"),
    ("https://a.com#frag", "/"),
    ("https://a.com/", "/"),
    ("https://user:pw@a.com:8080/deep/er?q=1", "/deep/er"),
    ("/relative/path?q=1#f", "/relative/path"),         # relative URLs keep their path
    ("relative/page.html?q=1", "relative/page.html"),
    ("//cdn.a.com/img.png?v=2", "/img.png"),            # scheme-relative
])
def test_url_path(url, expected):
    assert one(PATH, url) == expected


@pytest.mark.parametrize("url,expected", [
    ("https://WWW.Example.COM/x", "www.example.com"),  # lower-cased
    ("https://shop.example.com:8443/x", "shop.example.com"),  # port stripped
    ("https://user:secret@Shop.Example.com:8443/x?q=1", "shop.example.com"),  # user-info stripped
    ("http://a.com", "a.com"),
    ("http://a.com?next=u@b.com", "a.com"),            # an '@' in the query is not user-info
    ("http://a.com#x@y", "a.com"),
    ("//CDN.a.com/x", "cdn.a.com"),
    ("/relative/path", None),                          # no host
    ("relative/page.html", None),
])
def test_url_host(url, expected):
    assert one(HOST, url) == expected


def test_url_host_of_an_ipv6_literal():
    assert one(HOST, "http://[::1]:8080/x") in ("[::1]", "::1")


def test_path_and_host_of_missing_values_are_missing():
    urls = [None, np.nan, "", "  ", "https://A.com/x"]
    assert derive(PATH, urls) == [None, None, None, None, "/x"]
    assert derive(HOST, urls) == [None, None, None, None, "a.com"]


# --- json: FIELD is the dotted form -----------------------------------------------------------

def test_json_field_equals_the_dotted_form_on_a_csv(tmp_path):
    path = write(tmp_path / "e.csv", """\
        user_id,event_name,timestamp,event_data
        u1,view,2026-01-01T00:00:00Z,"{""method"": ""card"", ""a"": {""b"": ""deep""}}"
        u1,view,2026-01-01T00:00:01Z,"{""method"": ""cash""}"
        u2,view,2026-01-01T00:00:02Z,
        u2,view,2026-01-01T00:00:03Z,"{""other"": 1}"
        """)
    cfg = config({
        "m_json": {"from": "event_data", "json": "method"},
        "m_dotted": "event_data.method",
        "d_json": {"from": "event_data", "json": "a.b"},
        "d_dotted": "event_data.a.b",
    })
    events, _ = microconv.load_events([path], cfg, extra_properties=["m_json", "m_dotted", "d_json", "d_dotted"])
    frame = events.frame
    assert values(frame["m_json"]) == ["card", "cash", None, None]
    assert values(frame["m_json"]) == values(frame["m_dotted"])
    assert values(frame["d_json"]) == ["deep", None, None, None]
    assert values(frame["d_json"]) == values(frame["d_dotted"])


def test_json_field_equals_the_dotted_form_on_nested_jsonl_objects(tmp_path):
    path = write_jsonl(tmp_path / "e.jsonl", [
        {"user_id": "u1", "event_name": "view", "timestamp": "2026-01-01T00:00:00Z",
         "data": {"method": "card", "a": {"b": "deep"}}},
        {"user_id": "u1", "event_name": "view", "timestamp": "2026-01-01T00:00:01Z", "data": {"method": "cash"}},
        {"user_id": "u2", "event_name": "view", "timestamp": "2026-01-01T00:00:02Z"},
    ])
    cfg = config({"m_json": {"from": "data", "json": "method"}, "m_dotted": "data.method",
                  "d_json": {"from": "data", "json": "a.b"}, "d_dotted": "data.a.b"})
    events, _ = microconv.load_events([path], cfg, extra_properties=["m_json", "m_dotted", "d_json", "d_dotted"])
    frame = events.frame
    assert values(frame["m_json"]) == values(frame["m_dotted"]) == ["card", "cash", None]
    assert values(frame["d_json"]) == values(frame["d_dotted"]) == ["deep", None, None]


def test_json_spec_reads_the_dotted_column():
    assert config({"m": {"from": ["event_data", "data"], "json": "method"}}).columns.properties["m"].columns == [
        "event_data.method", "data.method"]


# --- per_user: first / last -------------------------------------------------------------------

PER_USER = {
    "first_src": {"from": "url", "query": "src", "per_user": "first"},
    "last_src": {"from": "url", "query": "src", "per_user": "last"},
    "src": {"from": "url", "query": "src"},
}


def per_user_frame(rows: list[tuple]) -> pd.DataFrame:
    """rows of (user, second, event, url) through canonicalize, with first_src / last_src / src."""
    raw = pd.DataFrame(
        [(u, pd.Timestamp("2026-01-01T00:00:00Z") + pd.Timedelta(seconds=s), e, url) for u, s, e, url in rows],
        columns=["user_id", "timestamp", "event_name", "url"],
    )
    raw["url"] = raw["url"].astype(object)
    events, _ = microconv.canonicalize(raw, config(PER_USER), extra_properties=list(PER_USER))
    return events.frame


def test_per_user_first_and_last_follow_time_not_file_order():
    frame = per_user_frame([
        ("u1", 50, "view", "https://a.com/?src=late"),    # file order: late, early, none, middle
        ("u1", 10, "view", "https://a.com/?src=early"),
        ("u1", 30, "view", "https://a.com/"),
        ("u1", 40, "view", "https://a.com/?src=middle"),
    ])
    assert values(frame["src"]) == ["late", "early", None, "middle"]
    assert values(frame["first_src"]) == ["early"] * 4
    assert values(frame["last_src"]) == ["late"] * 4


def test_per_user_equal_timestamps_are_broken_by_input_order():
    frame = per_user_frame([
        ("u1", 5, "view", "https://a.com/?src=later"),    # the latest time, but not the last row
        ("u1", 0, "view", "https://a.com/?src=row2"),
        ("u1", 0, "view", "https://a.com/?src=row3"),
        ("u2", 0, "view", "https://a.com/?src=b1"),
        ("u2", 0, "view", "https://a.com/?src=b2"),
    ])
    assert values(frame["first_src"]) == ["row2", "row2", "row2", "b1", "b1"]
    assert values(frame["last_src"]) == ["later", "later", "later", "b2", "b2"]


def test_per_user_skips_missing_values_and_a_user_without_any_has_none():
    frame = per_user_frame([
        ("u1", 0, "view", None),                            # u1's first and last events have no value
        ("u1", 1, "view", "https://a.com/?src="),
        ("u1", 2, "view", "https://a.com/?src=one"),
        ("u1", 3, "view", "https://a.com/?src=two"),
        ("u1", 4, "view", "https://a.com/?other=1"),
        ("u2", 0, "view", "https://a.com/"),               # u2 never has a value
        ("u2", 9, "view", None),
        ("u3", 0, "view", "https://a.com/?src=solo"),      # u3 has one value, on its first event
        ("u3", 1, "view", None),
    ])
    assert frame["user"].tolist() == ["u1"] * 5 + ["u2"] * 2 + ["u3"] * 2
    assert values(frame["first_src"]) == ["one"] * 5 + [None] * 2 + ["solo"] * 2
    assert values(frame["last_src"]) == ["two"] * 5 + [None] * 2 + ["solo"] * 2


def test_per_user_on_a_plain_column_and_on_a_json_field():
    cfg = config({"plan": {"from": "plan", "per_user": "last"},
                  "method": {"from": "data", "json": "method", "per_user": "first"}})
    raw = pd.DataFrame({
        "user_id": ["u1", "u1", "u1", "u2"],
        "timestamp": ["2026-01-01T00:00:02Z", "2026-01-01T00:00:01Z", "2026-01-01T00:00:03Z",
                      "2026-01-01T00:00:00Z"],
        "event_name": "view",
        "plan": ["pro", "free", None, None],
        "data": ['{"method": "card"}', '{"method": "cash"}', None, '{"x": 1}'],
    })
    events, _ = microconv.canonicalize(raw, cfg, extra_properties=["plan", "method"])
    assert values(events.frame["plan"]) == ["pro", "pro", "pro", None]
    assert values(events.frame["method"]) == ["cash", "cash", "cash", None]


def test_per_user_is_spread_across_files_with_the_user_in_both(tmp_path):
    day1 = write(tmp_path / "day1.csv", """\
        user_id,event_name,timestamp,url
        u1,view,2026-01-02T00:00:00Z,https://a.com/?src=file1_late
        u2,view,2026-01-01T00:00:00Z,https://a.com/?src=only
        u1,view,2026-01-01T00:00:05Z,https://a.com/?src=tie_file1
        """)
    day2 = write(tmp_path / "day2.csv", """\
        user_id,event_name,timestamp,url
        u1,view,2026-01-01T00:00:00Z,https://a.com/?src=file2_early
        u1,buy,2026-01-03T00:00:00Z,https://a.com/done
        u3,view,2026-01-01T00:00:00Z,https://a.com/
        u1,view,2026-01-01T00:00:05Z,https://a.com/?src=tie_file2
        """)
    # a third file without the url column at all: its rows take the user's value too
    day3 = write_jsonl(tmp_path / "day3.jsonl", [
        {"user_id": "u2", "event_name": "buy", "timestamp": "2026-01-05T00:00:00Z"},
        {"user_id": "u1", "event_name": "buy", "timestamp": "2026-01-04T00:00:00Z"},
    ])
    cfg = config(PER_USER)
    events, _ = microconv.load_events([day1, day2, day3], cfg, extra_properties=list(PER_USER))
    frame = events.frame
    assert frame["user"].tolist() == ["u1", "u2", "u1", "u1", "u1", "u3", "u1", "u2", "u1"]
    assert values(frame["src"]) == ["file1_late", "only", "tie_file1", "file2_early", None, None, "tie_file2",
                                    None, None]
    # u1 in time order: file2_early@0, tie_file1@5 (day1), tie_file2@5 (day2), file1_late@day 2
    first = {"u1": "file2_early", "u2": "only", "u3": None}
    last = {"u1": "file1_late", "u2": "only", "u3": None}
    assert values(frame["first_src"]) == [first[u] for u in frame["user"]]
    assert values(frame["last_src"]) == [last[u] for u in frame["user"]]


def test_per_user_equal_timestamps_across_files_follow_the_file_order(tmp_path):
    a = write(tmp_path / "a.csv", "user_id,event_name,timestamp,url\nu1,view,2026-01-01T00:00:00Z,/?src=from_a\n")
    b = write(tmp_path / "b.csv", "user_id,event_name,timestamp,url\nu1,view,2026-01-01T00:00:00Z,/?src=from_b\n")
    cfg = config(PER_USER)
    for files, first, last in (([a, b], "from_a", "from_b"), ([b, a], "from_b", "from_a")):
        events, _ = microconv.load_events(files, cfg, extra_properties=list(PER_USER))
        assert values(events.frame["first_src"]) == [first, first]
        assert values(events.frame["last_src"]) == [last, last]


# --- used in where, value and by --------------------------------------------------------------

DERIVED = {
    "campaign": {"from": "url", "query": "utm_campaign"},
    "page": {"from": "url", "url": "path"},
    "host": {"from": "url", "url": "host"},
    "first_source": {"from": "url", "query": "utm_source", "per_user": "first"},
    "price": {"from": "url", "query": "price"},
}
# u1 enters on the spring campaign (spelled with '+') and buys for 12.5;
# u2 enters on the spring campaign (spelled with %20) and does not buy;
# u3 is on the winter campaign and buys: not an entrant of the spring funnel;
# u4 has a spring view on a host in capitals, and buys twice: only the first purchase counts.
WHERE_ROWS = [
    ("u1", 0, "view", "https://shop.a.com/p/shoes?utm_campaign=spring+sale&utm_source=ads"),
    ("u1", 20, "buy", "https://shop.a.com/checkout/done?price=12.5"),
    ("u2", 0, "view", "https://shop.a.com/p/hats?utm_campaign=spring%20sale"),
    ("u2", 5, "view", "https://shop.a.com/p/hats?utm_source=mail"),
    ("u3", 0, "view", "https://shop.a.com/p/shoes?utm_campaign=winter&utm_source=ads"),
    ("u3", 9, "buy", "https://shop.a.com/checkout/done?price=99"),
    ("u4", 0, "view", "https://SHOP.A.COM/p/shoes?utm_campaign=spring+sale&utm_source=mail"),
    ("u4", 30, "buy", "https://shop.a.com/checkout/done?price=7"),
    ("u4", 40, "buy", "https://shop.a.com/checkout/done?price=1000"),
]


def where_events(cfg):
    raw = pd.DataFrame(
        [(u, pd.Timestamp("2026-01-01T00:00:00Z") + pd.Timedelta(seconds=s), e, url) for u, s, e, url in WHERE_ROWS],
        columns=["user_id", "timestamp", "event_name", "url"],
    )
    events, _ = microconv.canonicalize(raw, cfg, extra_properties=["page", "host", "first_source"])
    return events


def where_config(**funnel):
    return config(DERIVED, conversions={
        "spring_view": {"event": "view", "where": {"campaign": "spring sale"}},
        "shoe_view": {"event": "view", "where": {"page": {"regex": "^/p/shoes$"}, "host": "shop.a.com"}},
        "purchase": {"event": "buy", "where": {"page": "/checkout/done"}, "value": "price", "kind": "macro"},
    }, funnels={
        "spring": {"steps": ["spring_view", "purchase"], "window": "1h", **funnel},
        "shoes": {"steps": ["shoe_view", "purchase"], "window": "1h"},
    })


def test_derived_properties_in_where_and_value():
    cfg = where_config()
    result = microconv.analyze(cfg, where_events(cfg), reports=["funnels"])
    spring, shoes = result.funnel("spring"), result.funnel("shoes")
    assert [s.users for s in spring.steps] == [3, 2]          # u1, u2, u4; u1 and u4 buy
    assert spring.revenue == pytest.approx(12.5 + 7)          # the counted purchase, not u4's second one
    assert [s.users for s in shoes.steps] == [3, 3]           # u1, u3, u4 (host lower-cased)
    assert shoes.revenue == pytest.approx(12.5 + 99 + 7)


@pytest.mark.parametrize("by,expected", [
    # first_touch: the step-1 event's value
    ("page", [("/p/shoes", 2, 2), ("/p/hats", 1, 0)]),
    ("campaign", [("spring sale", 3, 2)]),
    ("host", [("shop.a.com", 3, 2)]),
    # per user: u1 ads (on the entry), u2 mail (on a later event), u4 mail
    ("first_source", [("mail", 2, 1), ("ads", 1, 1)]),
])
def test_derived_property_as_by(by, expected):
    cfg = where_config()
    result = microconv.analyze(cfg, where_events(cfg), funnels=["spring"], by=by, reports=["breakdown"])
    segments = result.breakdowns[0].segments
    assert list(zip(segments["segment"], segments["entrants"], segments["converted"])) == expected
    assert set(segments["by"]) == {by}


def test_per_user_property_makes_attribution_irrelevant():
    cfg = where_config()
    events = where_events(cfg)
    got = {}
    for attribution in ("first_touch", "last_touch", "step:2"):
        result = microconv.analyze(cfg, events, funnels=["spring"], by="first_source", attribution=attribution,
                                   reports=["breakdown"])
        seg = result.breakdowns[0].segments
        got[attribution] = list(zip(seg["segment"], seg["entrants"], seg["converted"]))
    # step:2 puts u2 (no purchase) into (not reached); the other units keep their user-level value
    assert got["first_touch"] == got["last_touch"] == [("mail", 2, 1), ("ads", 1, 1)]
    assert got["step:2"] == [("ads", 1, 1), ("mail", 1, 1), ("(not reached)", 1, 0)]


def test_page_by_last_touch_is_the_purchase_page():
    cfg = where_config()
    result = microconv.analyze(cfg, where_events(cfg), funnels=["spring"], by="page", attribution="last_touch",
                               reports=["breakdown"])
    seg = result.breakdowns[0].segments
    assert list(zip(seg["segment"], seg["entrants"], seg["converted"])) == [
        ("/checkout/done", 2, 2), ("/p/hats", 1, 0)]


@pytest.mark.parametrize("name", ["event", "user", "ts"])
def test_a_property_named_like_a_canonical_column_is_refused(name):
    with pytest.raises(microconv.MicroconvError, match=f"'{name}' is the name of a canonical column"):
        config({name: {"from": "url", "url": "path"}},
               funnels={"f": {"steps": [{"event": "view"}, {"event": "buy"}]}})
    with pytest.raises(microconv.MicroconvError, match=f"'{name}' is the name of a canonical column"):
        config({}, funnels={"f": {"steps": [{"event": "view", "where": {name: "/p"}}, {"event": "buy"}]}})


def test_a_column_called_event_is_read_under_another_name():
    cfg = config({"page": {"from": "event", "url": "path"}},
                 funnels={"f": {"steps": [{"event": "view", "where": {"page": "/p"}}, {"event": "buy"}]}})
    raw = pd.DataFrame({"user_id": ["u1", "u1"], "event_name": ["view", "buy"],
                        "timestamp": ["2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"],
                        "event": ["https://a.com/p", "https://a.com/q"]})
    events, _ = microconv.canonicalize(raw, cfg)
    assert [s.users for s in microconv.analyze(cfg, events, reports=["funnels"]).funnel("f").steps] == [1, 1]


def test_per_user_first_covers_the_whole_log_not_only_the_date_range():
    cfg = config({"first_source": {"from": "url", "query": "utm_source", "per_user": "first"}},
                 funnels={"f": {"steps": [{"event": "view"}, {"event": "buy"}], "window": "1d"}})
    raw = pd.DataFrame([
        ("u1", "2026-01-01T00:00:00Z", "view", "https://a.com/?utm_source=before_range"),
        ("u1", "2026-01-10T00:00:00Z", "view", "https://a.com/?utm_source=in_range"),
        ("u1", "2026-01-10T00:00:05Z", "buy", "https://a.com/"),
        ("u2", "2026-01-10T00:00:00Z", "view", "https://a.com/?utm_source=in_range"),
    ], columns=["user_id", "timestamp", "event_name", "url"])
    events, _ = microconv.canonicalize(raw, cfg, extra_properties=["first_source"])
    result = microconv.analyze(cfg, events, since="2026-01-05", by="first_source", reports=["funnels", "breakdown"])
    assert [s.users for s in result.funnel("f").steps] == [2, 1]
    seg = result.breakdowns[0].segments
    assert list(zip(seg["segment"], seg["entrants"], seg["converted"])) == [
        ("before_range", 1, 1), ("in_range", 1, 0)]


# --- config errors ----------------------------------------------------------------------------

def load_text(tmp_path, text: str):
    path = tmp_path / "f.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return microconv.load_config(path)


def errors_of(tmp_path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_text(tmp_path, text)
    prefix = str(tmp_path / "f.yaml")
    return [str(p).replace(prefix, "f.yaml") for p in info.value.problems]


def test_derived_property_errors_are_reported_at_their_yaml_lines(tmp_path):
    assert errors_of(tmp_path, """\
        columns:
          properties:
            ok: {from: page_url, query: utm_source}
            both: {from: page_url, query: utm_source, url: path}
            three: {from: page_url, query: q, url: host, json: x}
            part: {from: page_url, url: domain}
            typo: {from: page_url, qurey: utm_source}
            who: {from: page_url, per_user: middle}
            nofrom: {query: q}
        funnels:
          f: {steps: [{event: a}]}
        """) == [
        "f.yaml:4:5: use one of query, url and json, not query and url",
        "f.yaml:5:5: use one of query, url and json, not query and url and json",
        "f.yaml:6:28: url must be one of 'path', 'host', got 'domain' (known values: host, path)",
        "f.yaml:7:28: unknown key 'qurey' (did you mean 'query'?)",
        "f.yaml:8:27: per_user must be one of 'first', 'last', got 'middle' (known values: first, last)",
        "f.yaml:9:5: missing required key 'from'",
    ]


@pytest.mark.parametrize("spec,message", [
    ({"from": "u", "json": "m", "query": "q"},
     "columns.properties.p: use one of query, url and json, not query and json"),
    ({"from": "u", "url": "json", "json": "m"},
     "columns.properties.p.url: url must be one of 'path', 'host', got 'json'"),
    ({"from": "u", "url": "Path"}, "columns.properties.p.url: url must be one of 'path', 'host', got 'Path'"),
    ({"from": "u", "per_user": "first", "user": "x"}, "columns.properties.p.user: unknown key 'user'"),
])
def test_derived_property_errors_without_a_file(spec, message):
    with pytest.raises(ConfigError) as info:
        config({"p": spec})
    assert len(info.value.problems) == 1
    assert str(info.value.problems[0]).startswith(message)


def test_derived_shorthand_is_a_plain_column_with_aliases():
    cfg = config({"campaign": ["utm_campaign", "campaign"], "method": "event_data.method"})
    assert cfg.columns.properties["campaign"].columns == ["utm_campaign", "campaign"]
    assert cfg.columns.properties["campaign"].query is None
    assert cfg.columns.properties["method"].columns == ["event_data.method"]


def test_from_column_missing_from_every_file_is_a_data_error_with_did_you_mean(tmp_path):
    day1 = write(tmp_path / "day1.csv", """\
        user_id,event_name,timestamp,page_url,event_data
        u1,view,2026-01-01T00:00:00Z,https://a.com/?utm_campaign=x,"{""method"": ""card""}"
        """)
    day2 = write(tmp_path / "day2.csv", """\
        user_id,event_name,timestamp
        u2,view,2026-01-01T00:00:00Z
        """)
    cfg = load_text(tmp_path, """\
        columns:
          user: user_id
          event: event_name
          timestamp: timestamp
          properties:
            campaign: {from: page_ur, query: utm_campaign}
            fine: {from: page_url, url: path}
            method: {from: event_dta, json: method}
        funnels:
          f:
            steps:
              - {event: view, where: {campaign: x}}
              - {event: buy, where: {method: card, fine: /}}
        """)
    with pytest.raises(DataError) as info:
        microconv.load_events([day1, day2], cfg)
    problems = info.value.problems
    yaml = str(tmp_path / "f.yaml")
    assert [(p.message, p.where, p.hint) for p in problems] == [
        ("property 'campaign' is not a column of any input file (looked for 'page_ur')", f"{yaml}:6:5",
         "did you mean 'page_url'?"),
        ("property 'method' is not a column of any input file (looked for 'event_dta.method')", f"{yaml}:8:5",
         "did you mean 'event_name' or 'event_data'?"),
    ]
    assert info.value.exit_code == 4


def test_from_column_in_one_file_only_is_missing_in_the_others(tmp_path):
    day1 = write(tmp_path / "day1.csv", "user_id,event_name,timestamp,page_url\n"
                                        "u1,view,2026-01-01T00:00:00Z,https://a.com/x?utm_campaign=c\n")
    day2 = write(tmp_path / "day2.csv", "user_id,event_name,timestamp\nu2,view,2026-01-01T00:00:01Z\n")
    cfg = config({"campaign": {"from": "page_url", "query": "utm_campaign"},
                  "page": {"from": "page_url", "url": "path"}})
    events, _ = microconv.load_events([day1, day2], cfg, extra_properties=["campaign", "page"])
    assert values(events.frame["campaign"]) == ["c", None]
    assert values(events.frame["page"]) == ["/x", None]
