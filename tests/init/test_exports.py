"""`microconv init` on each export it knows by its columns: the mapping it writes is named here,
and `analyze` with that config counts the funnel the test wrote.

Every log has the same story in the export's own names and shape: u1 views, adds to the cart,
checks out and buys (49.5); u2 views and adds to the cart; u3 only views. So the e-commerce
funnel it finds counts 3 / 2 / 1 (/ 1 with a checkout step) and revenue 49.5.
"""
from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import microconv
from helpers import invoke

START = pd.Timestamp("2026-03-01T10:00:00Z")
STORY = {"u1": ["view", "cart", "checkout", "buy"], "u2": ["view", "cart"], "u3": ["view"]}


def story(make_row) -> list[dict]:
    """One row per step of every user, a minute apart, made by the export's ``make_row(user, step, i, when)``."""
    rows = []
    for n, (user, steps) in enumerate(STORY.items()):
        for i, step in enumerate(steps):
            rows.append(make_row(user, step, n * 10 + i, START + pd.Timedelta(hours=n, minutes=i)))
    return rows


def write(tmp_path, rows: list[dict], kind: str):
    path = tmp_path / f"export.{kind}"
    if kind == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif kind == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        pd.DataFrame(rows).to_csv(path, index=False)
    return path


def init_and_analyze(runner, tmp_path, path):
    made = invoke(runner, "init", path.name, "-o", "f.yaml", cwd=tmp_path)
    assert made.exit_code == 0, made.stderr
    ran = invoke(runner, "analyze", path.name, "-c", "f.yaml", "-f", "json", cwd=tmp_path)
    assert ran.exit_code == 0, ran.stderr
    config = microconv.load_config(tmp_path / "f.yaml")
    return config, json.loads(ran.stdout), made.stderr


def users(doc) -> list[int]:
    return [s["users"] for s in doc["funnels"][0]["steps"]]


# --- the exports ------------------------------------------------------------------------------

def ga4_row(user, step, i, when):
    name = {"view": "view_item", "cart": "add_to_cart", "checkout": "begin_checkout", "buy": "purchase"}[step]
    params = [{"key": "ga_session_id", "value": {"string_value": None, "int_value": 100 + int(user[1]),
                                                   "float_value": None, "double_value": None}}]
    return {"event_date": when.strftime("%Y%m%d"), "event_timestamp": int(when.timestamp() * 1_000_000),
            "event_name": name, "event_params": params,
            "user_id": "acct-1" if user == "u1" and step != "view" else None, "user_pseudo_id": f"p.{user}",
            "user_ltv": {"revenue": 500.0, "currency": "EUR"},
            "ecommerce": {"purchase_revenue": 49.5 if step == "buy" else None, "transaction_id": None}}


def mixpanel_row(user, step, i, when):
    name = {"view": "View Product", "cart": "Add To Cart", "checkout": "Begin Checkout", "buy": "Purchase"}[step]
    return {"event": name, "properties": {"distinct_id": user, "time": int(when.timestamp()),
                                          "$insert_id": f"i{i}", **({"revenue": 49.5} if step == "buy" else {})}}


def snowplow_row(user, step, i, when):
    name = {"view": "product_view", "cart": "add_to_cart", "checkout": "checkout_step", "buy": "transaction"}[step]
    return {"app_id": "shop", "collector_tstamp": when.isoformat(), "derived_tstamp": when.isoformat(),
            "event_id": f"e{i:04d}", "event_fingerprint": f"f{i:08x}", "event_name": name,
            "domain_userid": f"d-{user}", "user_id": None, "network_userid": f"n-{user}",
            "domain_sessionid": f"s-{user}", "domain_sessionidx": 1,
            "tr_total": 49.5 if step == "buy" else None}


def posthog_row(user, step, i, when):
    name = {"view": "Product Viewed", "cart": "Product Added", "checkout": "Checkout Started",
            "buy": "Order Completed"}[step]
    return {"uuid": f"0190-{i:04d}", "event": name, "timestamp": when.isoformat(),
            "distinct_id": f"anon-{user}-{i}", "person_id": f"person-{user}",
            "properties": json.dumps({"$session_id": f"s-{user}", **({"revenue": 49.5} if step == "buy" else {})})}


def amplitude_row(user, step, i, when):
    name = {"view": "View Item", "cart": "Add to Cart", "checkout": "Start Checkout", "buy": "Purchase"}[step]
    return {"amplitude_id": 9000 + int(user[1]), "event_type": name,
            "event_time": when.strftime("%Y-%m-%d %H:%M:%S.%f"), "user_id": None, "device_id": f"dev-{user}",
            "session_id": int(when.timestamp() * 1000) - i * 60_000,
            "event_properties": json.dumps({"revenue": 49.5} if step == "buy" else {})}


def segment_row(user, step, i, when):
    name = {"view": "Product Viewed", "cart": "Product Added", "checkout": "Checkout Started",
            "buy": "Order Completed"}[step]
    return {"id": f"m{i}", "anonymous_id": f"anon-{user}", "user_id": "acct-1" if user == "u1" and step == "buy" else None,
            "event": name, "event_text": name, "timestamp": when.isoformat(), "revenue": 49.5 if step == "buy" else None}


def rudder_row(user, step, i, when):
    return {**segment_row(user, step, i, when), "context_source_id": "src1", "context_destination_id": "dst1"}


def rees46_row(user, step, i, when):
    name = {"view": "view", "cart": "cart", "checkout": "cart", "buy": "purchase"}[step]
    return {"event_time": when.strftime("%Y-%m-%d %H:%M:%S UTC"), "event_type": name, "product_id": 1005,
            "category_id": 2053, "category_code": "electronics.smartphone", "brand": "apple", "price": 49.5,
            "user_id": 500 + int(user[1]), "user_session": f"sess-{user}"}


EXPORTS = [
    # (id, row maker, file kind, export name init says, user line, expected funnel users)
    ("ga4", ga4_row, "parquet", "GA4 (BigQuery export)", {"known": ["user_id"], "anonymous": ["user_pseudo_id"]}, [3, 2, 1, 1]),
    ("mixpanel", mixpanel_row, "jsonl", "Mixpanel (raw export)", ["properties.distinct_id"], [3, 2, 1, 1]),
    ("snowplow", snowplow_row, "csv", "Snowplow", {"known": ["user_id"], "anonymous": ["domain_userid", "network_userid"]}, [3, 2, 1]),
    ("posthog", posthog_row, "csv", "PostHog", ["person_id"], [3, 2, 1, 1]),
    ("amplitude", amplitude_row, "csv", "Amplitude", {"known": ["user_id"], "anonymous": ["device_id"]}, [3, 2, 1, 1]),
    ("segment", segment_row, "csv", "Segment (warehouse tracks)", {"known": ["user_id"], "anonymous": ["anonymous_id"]}, [3, 2, 1, 1]),
    ("rudderstack", rudder_row, "csv", "RudderStack", {"known": ["user_id"], "anonymous": ["anonymous_id"]}, [3, 2, 1, 1]),
    ("rees46", rees46_row, "csv", "REES46 e-commerce log", ["user_id"], [3, 2, 1]),
]


@pytest.mark.parametrize("name, make_row, kind, export, user, expected", EXPORTS, ids=[e[0] for e in EXPORTS])
def test_init_recognises_the_export_and_analyze_counts_its_funnel(runner, tmp_path, name, make_row, kind, export,
                                                                   user, expected):
    path = write(tmp_path, story(make_row), kind)
    config, doc, said = init_and_analyze(runner, tmp_path, path)
    assert f"recognised {export} by its columns" in said
    written = config.columns.user
    got = ({"known": list(written.known), "anonymous": list(written.anonymous)} if hasattr(written, "known")
           else list(written))
    assert got == user
    assert users(doc) == expected


def test_ga4_mapping_session_unit_and_revenue_not_the_lifetime_value(runner, tmp_path):
    path = write(tmp_path, story(ga4_row), "parquet")
    config, doc, _ = init_and_analyze(runner, tmp_path, path)
    cols = config.columns
    assert cols.session == ["event_params.ga_session_id"]
    assert cols.timestamp_unit == "us"
    assert cols.properties["revenue"].columns == ["ecommerce.purchase_revenue"]      # never user_ltv.revenue
    assert doc["funnels"][0]["revenue"] == 49.5


def test_snowplow_never_takes_the_event_hash_or_the_visit_counter_for_the_user(runner, tmp_path):
    """Without the export's signature (no event_id / collector_tstamp), the guesser alone must not
    pick event_fingerprint (one per event: 97 of 100 rows distinct, the rest duplicated events) or
    domain_sessionidx (a visit counter, 1 on most rows) as the user; the visitor's id is in a column
    no name list knows (``visitor_cookie``), so the choice is by values alone."""
    rows = []
    for i in range(100):
        user = f"u{i % 7}"
        rows.append({k: v for k, v in snowplow_row(user, ["view", "cart", "buy"][i % 3], i,
                                                     START + pd.Timedelta(minutes=i)).items()
                     if k not in ("event_id", "collector_tstamp", "network_userid", "user_id")})
        rows[-1].update(event_fingerprint=f"f{min(i, 96):08x}", domain_sessionidx=1 + (i % 10 == 0),
                        visitor_cookie=rows[-1].pop("domain_userid"))
    path = write(tmp_path, rows, "csv")
    made = invoke(runner, "init", path.name, "-o", "f.yaml", cwd=tmp_path)
    assert made.exit_code == 0, made.stderr
    assert list(microconv.load_config(tmp_path / "f.yaml").columns.user) == ["visitor_cookie"]
    # without the visitor's column there is no user id at all: init says so, and why not those two
    pd.read_csv(path).drop(columns="visitor_cookie").to_csv(path, index=False)
    failed = invoke(runner, "init", path.name, "-o", "g.yaml", cwd=tmp_path)
    assert failed.exit_code == 4
    assert "not 'event_fingerprint' identifies events: 97 distinct values in 100 rows" in failed.stderr
    assert "not 'domain_sessionidx' counts visits: small whole numbers (1..2), 1 the most common" in failed.stderr


def test_segment_pages_and_tracks_read_together(runner, tmp_path):
    """The pages table has no event column: init writes event: [event, {constant: page_view}], and
    the same config reads the tracks table beside it. a1 views a page, then (tracks) buys; a2 only
    views: page_view 2, then Order Completed 1."""
    pages = [{"id": "p1", "anonymous_id": "a1", "user_id": None, "path": "/shoes", "url": "https://s.example/shoes",
              "timestamp": "2026-03-01T10:00:00Z"},
             {"id": "p2", "anonymous_id": "a2", "user_id": None, "path": "/", "url": "https://s.example/",
              "timestamp": "2026-03-01T10:05:00Z"}]
    pd.DataFrame(pages).to_csv(tmp_path / "pages.csv", index=False)
    pd.DataFrame([{"id": "t1", "anonymous_id": "a1", "user_id": "k1", "event": "Order Completed",
                   "timestamp": "2026-03-01T10:02:00Z"}]).to_csv(tmp_path / "tracks.csv", index=False)
    made = invoke(runner, "init", "pages.csv", "-o", "f.yaml", cwd=tmp_path)
    assert made.exit_code == 0, made.stderr
    assert "recognised Segment (warehouse pages) by its columns" in made.stderr
    columns = microconv.load_config(tmp_path / "f.yaml").columns
    assert [str(e) for e in columns.event] == ["event", "{constant: page_view}"]
    (tmp_path / "g.yaml").write_text((tmp_path / "f.yaml").read_text().split("\nconversions:")[0] + """
conversions: {buy: {kind: macro, event: Order Completed}}
funnels: {f: {steps: [{event: page_view}, buy], window: 1h}}
""")
    ran = invoke(runner, "analyze", "pages.csv", "tracks.csv", "-c", "g.yaml", "-f", "json", cwd=tmp_path)
    assert ran.exit_code == 0, ran.stderr
    assert users(json.loads(ran.stdout)) == [2, 1]


def test_the_revenue_guess_never_takes_a_lifetime_value(runner, tmp_path):
    """Not recognised as GA4 (no event_params): the purchase rows carry user_ltv (a lifetime value,
    500 on every row) and ecommerce.purchase_revenue; only the second is an order's value."""
    rows = [{k: v for k, v in r.items() if k not in ("event_params", "user_pseudo_id")} | {"user_pseudo_id2": "x"}
            for r in story(ga4_row)]
    for r, user in zip(rows, [u for u, steps in STORY.items() for _ in steps]):
        r["visitor"] = user
    path = write(tmp_path, rows, "jsonl")
    made = invoke(runner, "init", path.name, "-o", "f.yaml", cwd=tmp_path)
    assert made.exit_code == 0, made.stderr
    revenue = microconv.load_config(tmp_path / "f.yaml").columns.properties["revenue"].columns
    assert revenue == ["ecommerce.purchase_revenue"]
