"""analyze's own choices: the order its two engine threads take the funnels in."""
from __future__ import annotations

import pandas as pd

import microconv
from microconv.run.local import _most_events_first
from microconv.run.options import Options
from microconv.run.plan import plan_run

CONFIG = """
columns: {user: user_id, event: event_name, timestamp: timestamp, timestamp_unit: s}
conversions:
  cart: {kind: milestone, event: add_to_cart}
  buy: {kind: macro, event: purchase}
funnels:
  small: {steps: [{event: view}, buy], window: 1d}
  big: {steps: [{event: view}, cart, buy], window: 1d, exclude: [{event: refund}]}
  strict: {steps: [cart, buy], window: 1d, order: strict}
  medium: {steps: [buy, cart], window: 1d}
"""
# 5 view, 3 add_to_cart, 1 purchase, 2 refund, 1 other: 12 events.
EVENTS = ["view"] * 5 + ["add_to_cart"] * 3 + ["purchase", "refund", "refund", "search"]


def test_funnels_are_scheduled_by_the_events_they_replay_most_first(tmp_path):
    (tmp_path / "f.yaml").write_text(CONFIG)
    config = microconv.load_config(tmp_path / "f.yaml")
    raw = pd.DataFrame({"user_id": ["u1"] * len(EVENTS), "timestamp": range(len(EVENTS)), "event_name": EVENTS})
    events, _ = microconv.canonicalize(raw, config)
    # strict replays all 12; big 5 + 3 + 1 + 2 = 11; small 5 + 1 = 6; medium 3 + 1 = 4
    plan = plan_run(config, events, Options(funnels=("small", "big", "strict", "medium")))
    assert [run.name for run in _most_events_first(plan, events.frame)] == ["strict", "big", "small", "medium"]


def test_results_keep_the_config_order_whatever_the_schedule(tmp_path):
    (tmp_path / "f.yaml").write_text(CONFIG)
    config = microconv.load_config(tmp_path / "f.yaml")
    raw = pd.DataFrame({"user_id": ["u1"] * len(EVENTS), "timestamp": range(len(EVENTS)), "event_name": EVENTS})
    events, _ = microconv.canonicalize(raw, config)
    result = microconv.analyze(config, events)
    assert [f.name for f in result.funnels] == ["small", "big", "strict", "medium"]
    # u1: view at 0-4, add_to_cart at 5-7, purchase at 8: every funnel is completed but medium,
    # which wants an add_to_cart after the purchase
    assert [f.steps[-1].users for f in result.funnels] == [1, 1, 1, 0]
