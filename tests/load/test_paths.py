"""Property paths into nested values (docs/semantics.md 1.8): struct fields, list indices,
GA4's key/value lists and maps, in Arrow columns (Parquet, JSON Lines) and in JSON text alike.

The GA4 log here is written the way BigQuery exports it: ``event_params`` is a list of
``{key, value: {string_value, int_value, float_value, double_value}}``, ``event_timestamp`` in
microseconds, the session id inside ``event_params``. Counts are worked out by hand in each test.
"""
from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import microconv
from microconv.load.paths import read_paths
from helpers import invoke

T0 = 1_767_225_600_000_000          # 2026-01-01 UTC in microseconds


def param(key: str, value) -> dict:
    typed = {"string_value": None, "int_value": None, "float_value": None, "double_value": None}
    typed["string_value" if isinstance(value, str) else "int_value" if isinstance(value, int) else "double_value"] = value
    return {"key": key, "value": typed}


def ga4_rows() -> list[dict]:
    """u1: session 1 views /shoes then /cart and purchases; session 2 views /shoes only.
    u2: session 7 views /about, then /shoes, no purchase. u3: a view without params."""
    def row(user, minute, name, **params):
        return {"user_pseudo_id": user, "event_timestamp": T0 + minute * 60_000_000, "event_name": name,
                "event_params": [param(k, v) for k, v in params.items()]}
    return [
        row("u1", 0, "page_view", page_location="https://shop.example/shoes", ga_session_id=1),
        row("u1", 2, "page_view", page_location="https://shop.example/cart", ga_session_id=1, engagement_time_msec=3000),
        row("u1", 3, "purchase", ga_session_id=1, value=59.5),
        row("u1", 600, "page_view", page_location="https://shop.example/shoes", ga_session_id=2),
        row("u2", 1, "page_view", page_location="https://shop.example/about", ga_session_id=7),
        row("u2", 4, "page_view", page_location="https://shop.example/shoes", ga_session_id=7),
        {"user_pseudo_id": "u3", "event_timestamp": T0 + 5 * 60_000_000, "event_name": "page_view",
         "event_params": []},
    ]


CONFIG = """
columns:
  user: user_pseudo_id
  event: event_name
  timestamp: event_timestamp
  timestamp_unit: us
  session: event_params.ga_session_id
  properties:
    page: {from: event_params.page_location, url: path}
    amount: event_params.value
conversions:
  shoes: {kind: milestone, event: page_view, where: {page: /shoes}}
  cart: {kind: milestone, event: page_view, where: {page: /cart}}
  buy: {kind: macro, event: purchase, value: amount}
funnels:
  sale: {steps: [shoes, cart, buy], window: 1h}
  visits: {steps: [shoes, cart], window: 1h, count: sessions}
"""


def write_ga4(tmp_path, kind: str):
    rows = ga4_rows()
    if kind == "parquet":
        path = tmp_path / "ga4.parquet"
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif kind == "jsonl":
        path = tmp_path / "ga4.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:                                   # event_params as JSON text in a CSV
        path = tmp_path / "ga4.csv"
        pd.DataFrame([{**r, "event_params": json.dumps(r["event_params"])} for r in rows]).to_csv(path, index=False)
    (tmp_path / "f.yaml").write_text(CONFIG)
    return path


@pytest.mark.parametrize("kind", ["parquet", "jsonl", "csv"])
def test_ga4_event_params_filter_steps_and_cut_sessions(tmp_path, kind):
    path = write_ga4(tmp_path, kind)
    config = microconv.load_config(tmp_path / "f.yaml")
    events, _ = microconv.load_events([path], config)
    result = microconv.analyze(config, events)
    sale, visits = result.funnels
    # shoes: u1, u2; cart after shoes within 1h: u1 only; purchase: u1 (59.5)
    assert [s.users for s in sale.steps] == [2, 1, 1]
    assert sale.revenue == 59.5
    # sessions with /shoes: (u1, 1), (u1, 2), (u2, 7); /cart after it in the same session: (u1, 1)
    assert [s.users for s in visits.steps] == [3, 1]
    assert sorted(str(u) for u, _ in visits.reached.index) == ["u1", "u1", "u2"]


def test_ga4_through_the_cli(tmp_path, runner):
    write_ga4(tmp_path, "parquet")
    result = invoke(runner, "analyze", "ga4.parquet", "-c", "f.yaml", "-f", "csv", "--funnel", "sale", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert [line.split(",")[3] for line in result.stdout.splitlines()[1:]] == ["2", "1", "1"]


def test_a_list_where_a_value_belongs_is_a_data_error_not_a_crash(tmp_path, runner):
    write_ga4(tmp_path, "parquet")
    result = invoke(runner, "analyze", "ga4.parquet", "-c", "f.yaml", "--by", "event_params", cwd=tmp_path)
    assert result.exit_code == 4
    assert "'event_params', which holds list<" in result.stderr
    assert "event_params.KEY" in result.stderr


def test_paths_on_arrow_values_by_hand():
    rows = pa.array([
        {"ctx": [{"revenue": 3.5}], "m": [("k", "v1")], "s": {"a": {"b": 1}}},
        {"ctx": [{"revenue": 2.0}, {"revenue": 9.0}], "m": [("j", "x")], "s": {"a": None}},
        {"ctx": None, "m": None, "s": None},
    ], type=pa.struct([("ctx", pa.list_(pa.struct([("revenue", pa.float64())]))),
                       ("m", pa.map_(pa.string(), pa.string())), ("s", pa.struct([("a", pa.struct([("b", pa.int64())]))]))]))
    first, second, key, deep, beyond = read_paths(
        rows, [("ctx", "0", "revenue"), ("ctx", "1", "revenue"), ("m", "k"), ("s", "a", "b"), ("ctx", "5", "revenue")])
    assert first.tolist()[:2] == [3.5, 2.0] and pd.isna(first[2])
    assert pd.isna(second[0]) and second[1] == 9.0
    assert key[0] == "v1" and pd.isna(key[1])
    assert deep[0] == 1 and pd.isna(deep[1])
    assert beyond.isna().all()


def test_paths_on_json_text_and_on_text_that_is_not_json():
    text = pa.array(['[{"revenue": 3.5}]', '{"a": {"b": [1, 2, 3]}}', "not json", None,
                     json.dumps([param("page_location", "/x"), param("ga_session_id", 5)])])
    revenue, third, page, session = read_paths(text, [("0", "revenue"), ("a", "b", "2"), ("page_location",),
                                                      ("ga_session_id",)])
    assert revenue[0] == 3.5 and revenue[1:].isna().all()
    assert third[1] == 3
    assert page[4] == "/x" and session[4] == 5


def test_a_key_value_list_takes_the_first_element_of_a_key():
    rows = pa.array([[param("k", "first"), param("k", "second")]])
    assert read_paths(rows, [("k",)])[0].tolist() == ["first"]


# --- no silent zeros -----------------------------------------------------------------------------

TYPO = CONFIG.replace("event_params.page_location", "event_params.page_locaton")


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_a_path_that_finds_nothing_is_a_warning_saying_what_is_there(tmp_path, runner, kind):
    write_ga4(tmp_path, kind)
    (tmp_path / "f.yaml").write_text(TYPO)
    result = invoke(runner, "analyze", f"ga4.{kind}", "-c", "f.yaml", "-f", "csv", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert ("microconv: warning: property 'page': 'event_params.page_locaton' has no value in any row "
            "(found there: keys 'page_location', 'ga_session_id', 'engagement_time_msec', 'value')") in result.stderr
    strict = invoke(runner, "analyze", f"ga4.{kind}", "-c", "f.yaml", "--strict", cwd=tmp_path)
    assert strict.exit_code == 4
    assert "'event_params.page_locaton' has no value in any row" in strict.stderr


def test_a_struct_path_that_finds_nothing_names_the_fields(tmp_path):
    rows = pa.table({"user_id": ["u1"], "event_name": ["view"], "timestamp": ["2026-01-01T00:00:00Z"],
                     "ctx": [{"campaign": "spring", "source": "mail"}]})
    pq.write_table(rows, tmp_path / "e.parquet")
    config = microconv.parse_config({"columns": {"properties": {"c": "ctx.campaing"}},
                                     "funnels": {"f": {"steps": [{"event": "view"}]}}})
    _, quality = microconv.load_events([tmp_path / "e.parquet"], config, extra_properties=["c"])
    assert quality.empty == ["property 'c': 'ctx.campaing' has no value in any row (found there: fields 'campaign', 'source')"]
    assert quality.problems() == quality.empty


def test_a_path_with_values_in_one_file_only_is_not_empty(tmp_path):
    a = tmp_path / "a.jsonl"
    a.write_text('{"user_id": "u1", "event_name": "view", "timestamp": "2026-01-01T00:00:00Z", "p": {"x": 1}}\n')
    b = tmp_path / "b.jsonl"
    b.write_text('{"user_id": "u2", "event_name": "view", "timestamp": "2026-01-01T00:00:00Z", "p": {"y": 1}}\n')
    config = microconv.parse_config({"columns": {"properties": {"x": "p.x"}}, "funnels": {"f": {"steps": [{"event": "view"}]}}})
    _, quality = microconv.load_events([a, b], config, extra_properties=["x"])
    assert quality.empty == []


def test_validate_shows_each_property_share_and_refuses_an_empty_path(tmp_path, runner):
    write_ga4(tmp_path, "parquet")
    ok = invoke(runner, "validate", "-c", "f.yaml", "ga4.parquet", cwd=tmp_path)
    assert ok.exit_code == 0, ok.stderr
    # 7 rows: page_location on the 5 page views with params (not the purchase, not u3's empty
    # params), value on the purchase, ga_session_id on all but u3's
    assert "  property 'page': a value on 71.4% of rows" in ok.stdout
    assert "  property 'amount': a value on 14.3% of rows" in ok.stdout
    assert "  the session: a value on 85.7% of rows" in ok.stdout
    (tmp_path / "f.yaml").write_text(TYPO)
    bad = invoke(runner, "validate", "-c", "f.yaml", "ga4.parquet", cwd=tmp_path)
    assert bad.exit_code == 4
    assert "'event_params.page_locaton' has no value in any row" in bad.stderr
