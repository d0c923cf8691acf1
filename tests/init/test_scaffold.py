"""`microconv init`: guessing columns, event names and a funnel; the YAML it writes is a valid config."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT
from helpers import invoke

import microconv
from microconv.errors import DataError
from microconv.init import (EventCount, guess_columns, guess_conversions, normalize_event_name, scaffold,
                                scaffold_frame)

SHARED = ROOT.parent / "shared"
EXAMPLE = ROOT / "examples" / "shop_events.csv"


def shop_rows(user="user_id", event="event_name", ts="timestamp", names=None, epoch=False,
              session=None) -> pd.DataFrame:
    """Six users walking view -> cart -> checkout -> purchase, fewer at each step, plus page views."""
    names = names or {"view": "view_item", "cart": "add_to_cart", "checkout": "begin_checkout", "buy": "purchase"}
    rows = []
    start = pd.Timestamp("2026-03-01T10:00:00Z")
    path = ["view", "cart", "checkout", "buy"]
    for u in range(6):
        t = start + pd.Timedelta(hours=u)
        seq = ["page", "page"] + path[: 4 - u % 4]
        for k, step in enumerate(seq):
            when = t + pd.Timedelta(minutes=k)
            rows.append({
                user: f"u{u:03d}",
                event: "page_view" if step == "page" else names[step],
                ts: int(when.timestamp() * 1000) if epoch else when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                **({session: f"s{u:03d}-{k // 3}"} if session else {}),
            })
    return pd.DataFrame(rows)


def funnel_events(cfg) -> list[list[str]]:
    """Each step's event names, in order, of the config's one funnel."""
    (funnel,) = cfg.funnels.values()
    return [cfg.conversions[s.ref].event if s.ref else s.event for s in funnel.steps]


def write_and_check(runner, tmp_path: Path, *events: Path | str, name="funnels.yaml"):
    """init, then validate and analyze the config it wrote: all exit 0 without warnings. Returns the config."""
    out = tmp_path / name
    made = invoke(runner, "init", *events, "-o", out, cwd=tmp_path)
    assert made.exit_code == 0, made.stderr
    checked = invoke(runner, "validate", "-c", out, *events, cwd=tmp_path)
    assert checked.exit_code == 0, checked.stderr
    assert "every column and event name occurs" in checked.stdout
    ran = invoke(runner, "analyze", *events, "-c", out, "-f", "json", cwd=tmp_path)
    assert ran.exit_code == 0, ran.stderr
    assert "warning" not in ran.stderr and "never occurs" not in ran.stderr
    return microconv.load_config(out), made


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw,norm", [("Product Viewed", "product_viewed"), ("product-view", "product_view"),
                                      ("addToCart", "add_to_cart"), ("  Order  Completed ", "order_completed"),
                                      ("ViewItem", "view_item")])
def test_event_names_are_normalised(raw, norm):
    assert normalize_event_name(raw) == norm


def test_ecommerce_steps_in_order_with_messy_names():
    counts = [("Page Viewed", 900), ("Order Completed", 40), ("Product Viewed", 500), ("Added To Cart", 200),
              ("checkout-started", 100), ("Payment Info Entered", 60), ("Newsletter Signup", 30),
              ("Video Played", 25), ("search_error", 10), ("Remove From Wishlist", 5)]
    steps, others, from_frequency = guess_conversions(counts)
    assert not from_frequency
    assert [s.events for s in steps] == [("Product Viewed",), ("Added To Cart",), ("checkout-started",),
                                         ("Payment Info Entered",), ("Order Completed",)]
    assert [s.kind for s in steps] == ["milestone"] * 4 + ["macro"]
    assert {c.events[0]: c.kind for c in others} == {"Newsletter Signup": "secondary", "Video Played": "secondary"}


def test_a_stage_takes_every_event_of_its_best_tier():
    steps, others, _ = guess_conversions([("catalog", 90), ("product1", 30), ("product2", 40), ("cart", 20),
                                          ("add_to_cart", 25), ("payment_done", 5)])
    assert [s.events for s in steps] == [("product2", "product1"), ("add_to_cart",), ("payment_done",)]
    assert not any("cart" in c.events for c in steps + others)  # the cart page: a weaker tier than add_to_cart


def test_no_ecommerce_names_gives_the_most_frequent_events():
    steps, others, from_frequency = guess_conversions([EventCount("login", 50), EventCount("page_view", 300),
                                                       EventCount("click", 120), EventCount("logout", 10)])
    assert from_frequency
    assert [s.events[0] for s in steps] == ["page_view", "click", "login"]
    assert all(s.kind == "milestone" for s in steps) and others == []


def test_a_single_stage_is_not_a_funnel():
    steps, others, from_frequency = guess_conversions([("home", 50), ("about", 40), ("purchase", 3)])
    assert from_frequency and [s.events[0] for s in steps] == ["home", "about", "purchase"]
    assert steps[-1].kind == "macro"  # the purchase keeps its kind inside the frequency funnel


# --- columns ----------------------------------------------------------------------------------


def test_renamed_columns_by_name():
    frame = shop_rows(user="clientId", event="event_type", ts="event_time", session="ga_session_id")
    guess = guess_columns(frame)
    assert (guess.user, guess.event, guess.timestamp, guess.session) == (
        ["clientId"], ["event_type"], ["event_time"], ["ga_session_id"])
    assert guess.how == {"user": "name", "event": "name", "timestamp": "name"}


def test_columns_by_content_with_epoch_milliseconds_and_a_nested_session():
    frame = shop_rows(user="who", event="what", ts="when", epoch=True, session="visit")
    frame["device"] = [("mobile", "desktop")[i % 2] for i in range(len(frame))]
    guess = guess_columns(frame)
    assert (guess.user, guess.event, guess.timestamp) == (["who"], ["what"], ["when"])
    assert guess.how == {"user": "content", "event": "content", "timestamp": "content"}
    assert guess.session == []  # 'visit' is not a session name: it is not mistaken for the user either
    result = scaffold_frame(frame)
    assert [s.events for s in result.steps] == [("view_item",), ("add_to_cart",), ("begin_checkout",), ("purchase",)]


def test_an_anonymous_id_beats_a_mostly_empty_user_id():
    frame = shop_rows(user="anonymous_id")
    frame["user_id"] = [None] * (len(frame) - 2) + ["a", "b"]
    assert guess_columns(frame).user == ["anonymous_id"]


def test_a_day_column_does_not_beat_finer_times():
    frame = shop_rows(ts="when")
    when = pd.to_datetime(frame["when"])
    frame["when"] = when  # a datetime column, as Parquet gives it
    frame["date"] = when.dt.strftime("%Y-%m-%d")
    frame["time"] = when.dt.strftime("%H:%M:%S")  # no date: never a timestamp
    assert guess_columns(frame).timestamp == ["when"]
    assert guess_columns(frame.drop(columns="when")).timestamp == ["date"]


def test_no_timestamp_column_is_a_data_error():
    frame = shop_rows().drop(columns="timestamp")
    with pytest.raises(DataError, match="no column looks like a timestamp") as err:
        guess_columns(frame)
    assert "columns.timestamp" in err.value.hint


def test_session_and_revenue_columns(tmp_path):
    frame = shop_rows(session="session_id")
    frame["order_value"] = [42.5 if e == "purchase" else None for e in frame["event_name"]]
    frame.to_csv(tmp_path / "e.csv", index=False)
    result = scaffold([tmp_path / "e.csv"])
    assert result.columns.session == ["session_id"] and result.columns.revenue == "order_value"
    cfg = microconv.parse_config(__import__("yaml").safe_load(result.yaml))
    assert cfg.columns.session == ["session_id"]
    assert cfg.conversions["purchase"].value == "revenue"
    assert cfg.columns.properties["revenue"].columns == ["order_value"]
    assert str(cfg.funnels["checkout"].window) == "7 days, 0:00:00" and cfg.columns.timezone == "UTC"


def test_odd_event_names_survive_the_yaml(runner, tmp_path):
    odd = {"view": "yes", "cart": "Add to cart: 1#", "checkout": "123", "buy": 'Purchase "done"'}
    frame = shop_rows(names=odd)
    frame.to_csv(tmp_path / "e.csv", index=False)
    cfg, _ = write_and_check(runner, tmp_path, "e.csv")
    steps = funnel_events(cfg)
    assert steps == [["page_view"], ["yes"], ["Add to cart: 1#"]]  # none is a known step name: the most frequent
    assert cfg.conversions["purchase"].event == ['Purchase "done"'] and cfg.conversions["purchase"].kind == "macro"
    assert "#   123 " in (tmp_path / "funnels.yaml").read_text()  # every name listed with its count



def test_hostile_event_names_reach_the_yaml_escaped_and_read_back_the_same(runner, tmp_path):
    """``init -o -`` prints the config on a terminal: escape sequences, C1 controls and bidi
    overrides in event names are written as YAML escapes, and the config still names the events."""
    odd = {"view": "view\x1b]0;pwned\x07", "cart": "cart\u202eevil", "checkout": "check\x9b31m", "buy": "purchase"}
    frame = shop_rows(names=odd)
    frame.to_csv(tmp_path / "e.csv", index=False)
    cfg, _ = write_and_check(runner, tmp_path, "e.csv")
    text = (tmp_path / "funnels.yaml").read_text()
    assert not any(ch in text for ch in "\x1b\x07\u202e\x9b")
    assert "view\\u001b]0;pwned\\u0007" in text and "#   view\\x1b]0;pwned\\x07" in text
    named = {e for c in cfg.conversions.values() for e in (c.event or [])}
    assert {"view\x1b]0;pwned\x07", "cart\u202eevil"} <= named    # the funnel's steps, as in the data
    assert "#   check\\x9b31m" in text                              # listed with its count

def test_sample_limits_guessing_but_every_row_is_counted(tmp_path):
    frame = shop_rows()
    late = pd.DataFrame({"user_id": ["z1"], "event_name": ["share"], "timestamp": ["2026-03-09T00:00:00Z"]})
    pd.concat([frame, late]).to_csv(tmp_path / "e.csv", index=False)
    result = scaffold([tmp_path / "e.csv"], sample_rows=len(frame))
    assert not result.sampled_all and result.rows_sampled == len(frame)
    assert EventCount("share", 1) in result.events
    assert all("share" not in c.events for c in result.conversions)  # not seen in the sample
    assert f"the first {len(frame)} rows" in result.yaml


def test_files_that_name_the_user_differently_give_aliases(runner, tmp_path):
    (tmp_path / "logs").mkdir()
    shop_rows().iloc[:10].to_csv(tmp_path / "logs" / "a.csv", index=False)
    shop_rows(user="clientId").iloc[10:].to_csv(tmp_path / "logs" / "b.csv.gz", index=False)
    cfg, _ = write_and_check(runner, tmp_path, "logs")
    assert cfg.columns.user == ["user_id", "clientId"]


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_parquet_and_jsonl(runner, tmp_path, fmt):
    frame = shop_rows(epoch=True, session="sessionId")
    path = tmp_path / f"e.{fmt}"
    frame.to_parquet(path) if fmt == "parquet" else frame.to_json(path, orient="records", lines=True)
    cfg, _ = write_and_check(runner, tmp_path, path)
    assert funnel_events(cfg) == [["view_item"], ["add_to_cart"], ["begin_checkout"], ["purchase"]]
    assert cfg.columns.session == ["sessionId"]


def test_ga4_like_export(runner, tmp_path):
    """Dotted numeric user ids, a day column as numbers, microsecond epochs, revenue inside a struct."""
    frame = shop_rows(user="user_pseudo_id", epoch=True)
    frame["event_timestamp"] = frame.pop("timestamp") * 1000
    frame["event_date"] = pd.to_datetime(frame["event_timestamp"], unit="us").dt.strftime("%Y%m%d")
    frame["user_pseudo_id"] = [f"{int(u[1:]) + 100}.1700000000" for u in frame["user_pseudo_id"]]
    frame["ecommerce"] = [{"purchase_revenue": 12.5 if e == "purchase" else None} for e in frame["event_name"]]
    frame.to_parquet(tmp_path / "ga4.parquet")
    cfg, made = write_and_check(runner, tmp_path, "ga4.parquet")
    assert (cfg.columns.user, cfg.columns.timestamp) == (["user_pseudo_id"], ["event_timestamp"])
    assert cfg.columns.properties["revenue"].columns == ["ecommerce.purchase_revenue"]
    assert funnel_events(cfg) == [["view_item"], ["add_to_cart"], ["begin_checkout"], ["purchase"]]
    frame.drop(columns="user_pseudo_id").assign(who=frame["user_pseudo_id"]).to_parquet(tmp_path / "ga4.parquet")
    assert guess_columns(pd.read_parquet(tmp_path / "ga4.parquet")).user == ["who"]  # by content, not the day


# --- command line -----------------------------------------------------------------------------


def test_init_refuses_to_overwrite_without_force(runner, tmp_path):
    shop_rows().to_csv(tmp_path / "e.csv", index=False)
    (tmp_path / "funnels.yaml").write_text("mine\n")
    refused = invoke(runner, "init", "e.csv", cwd=tmp_path)
    assert refused.exit_code == 2
    assert "microconv: error: funnels.yaml already exists (pass --force" in refused.stderr
    assert (tmp_path / "funnels.yaml").read_text() == "mine\n"
    forced = invoke(runner, "init", "e.csv", "--force", cwd=tmp_path)
    assert forced.exit_code == 0 and forced.stdout == ""
    assert "microconv: wrote funnels.yaml" in forced.stderr
    assert "funnel (e-commerce): view_item -> add_to_cart -> begin_checkout -> purchase (macro)" in forced.stderr
    assert "user=user_id, event=event_name, timestamp=timestamp" in forced.stderr
    assert microconv.load_config(tmp_path / "funnels.yaml").funnels
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.csv", "funnels.yaml"]  # no temporary file left


def test_init_to_stdout_and_quiet(runner, tmp_path):
    shop_rows().to_csv(tmp_path / "e.csv", index=False)
    printed = invoke(runner, "init", "e.csv", "-o", "-", cwd=tmp_path)
    assert printed.exit_code == 0
    assert printed.stdout.startswith("# microconv config written by `microconv init`")
    assert "columns:\n  user: user_id" in printed.stdout
    assert "wrote" not in printed.stderr and "funnel (e-commerce)" in printed.stderr
    assert not (tmp_path / "funnels.yaml").exists()
    quiet = invoke(runner, "init", "e.csv", "-q", "-o", "f.yaml", cwd=tmp_path)
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == ""
    assert (tmp_path / "f.yaml").read_text() == printed.stdout.replace("-c funnels.yaml", "-c f.yaml")


def test_init_without_ecommerce_events_says_so(runner, tmp_path):
    names = {"view": "open_app", "cart": "tap", "checkout": "scroll", "buy": "close_app"}
    shop_rows(names=names).to_csv(tmp_path / "e.csv", index=False)
    cfg, made = write_and_check(runner, tmp_path, "e.csv")
    assert list(cfg.funnels) == ["top_events"]
    assert funnel_events(cfg) == [["page_view"], ["open_app"], ["tap"]]
    assert "this\n# funnel is simply the 3 most frequent events" in (tmp_path / "funnels.yaml").read_text()
    assert "no common e-commerce names found" in made.stderr


@pytest.mark.parametrize("what,files,code,message", [
    ("missing file", {}, 4, "microconv: error: nope.csv: file not found"),
    ("not a parquet file", {"nope.parquet": "not parquet"}, 4, "nope.parquet: cannot read PARQUET"),
    ("empty file", {"nope.csv": ""}, 4, "nope.csv: the file is empty"),
    ("header only", {"nope.csv": "user_id,event,timestamp\n"}, 4, "no rows to guess from"),
    ("no timestamp", {"nope.csv": "user_id,event\nu1,a\nu2,b\n"}, 4, "no column looks like a timestamp"),
])
def test_bad_input_is_one_line_error(runner, tmp_path, what, files, code, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    name = next(iter(files), "nope.csv")
    result = invoke(runner, "init", name, cwd=tmp_path)
    assert result.exit_code == code
    assert message in result.stderr and "Traceback" not in result.stderr
    assert all(line.startswith("microconv: error: ") for line in result.stderr.splitlines())
    assert not (tmp_path / "funnels.yaml").exists()


# --- end to end on real logs ------------------------------------------------------------------


def test_example_log(runner, tmp_path):
    cfg, made = write_and_check(runner, tmp_path, EXAMPLE)
    assert funnel_events(cfg) == [["view_item"], ["add_to_cart"], ["begin_checkout"], ["purchase"]]
    assert cfg.columns.session == ["session_id"]
    assert cfg.columns.properties["revenue"].columns == ["event_data.revenue"]
    assert {n for n, c in cfg.conversions.items() if c.kind == "secondary"} == {
        "file_download", "share", "video_play", "sign_up"}


SHARED_LOGS = [
    ("retentioneering_simple_shop/simple-onlineshop.csv",
     [["product2", "product1"], ["cart"], ["delivery_choice"], ["payment_choice"], ["payment_done"]], None, None),
    ("retentioneering_simple_shop/ab_test_demo.csv",
     [["product"], ["cart"], ["delivery_choice"], ["payment_choice"], ["payment_done"]], None, "transaction_value"),
    ("retentioneering_ecom_synthetic/ecom.csv.gz",
     [["product_view"], ["add_to_cart"], ["shipping_details"], ["payment_details"], ["purchase"]], "session_id", None),
]


@pytest.mark.parametrize("log,steps,session,revenue", SHARED_LOGS, ids=[s[0].split("/")[-1] for s in SHARED_LOGS])
def test_shared_logs(runner, tmp_path, log, steps, session, revenue):
    path = SHARED / "data" / log
    if not path.is_file():
        pytest.skip(f"{path} is not there (../shared beside the repository)")
    cfg, made = write_and_check(runner, tmp_path, path)
    assert funnel_events(cfg) == steps
    assert (cfg.columns.user, cfg.columns.event, cfg.columns.timestamp) == (["user_id"], ["event"], ["timestamp"])
    assert cfg.columns.session == ([session] if session else None)
    props = {k: v.columns for k, v in cfg.columns.properties.items()}
    assert props == ({"revenue": [revenue]} if revenue else {})
    assert next(iter(cfg.funnels.values())).steps[-1].ref == "purchase"
    assert cfg.conversions["purchase"].kind == "macro"
