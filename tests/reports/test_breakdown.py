"""Breakdowns (docs/semantics.md 8.2): attribution on hand-made logs, the statistics by hand,
and the planted channel effects of the example data."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT

import microconv
from microconv.reports.stats import compare_with_rest

EPOCH = pd.Timestamp("2026-01-01", tz="UTC")


def run(rows, steps, window="10s", order="ordered", **options):
    """rows: (user, second, event, ch); returns {segment: users per step} in the listed order."""
    cfg = microconv.parse_config({
        "columns": {"user": "u", "event": "e", "timestamp": "t"},
        "funnels": {"f": {"steps": [{"event": s} for s in steps], "window": window, "order": order}},
    })
    raw = pd.DataFrame(rows, columns=["u", "t", "e", "ch"])
    raw["t"] = [(EPOCH + pd.Timedelta(seconds=s)).isoformat() for s in raw["t"]]
    events, _ = microconv.canonicalize(raw, cfg, extra_properties=["ch"])
    result = microconv.analyze(cfg, events, by="ch", **options)
    steps_frame = result.breakdowns[0].steps
    return {seg: rows["users"].tolist() for seg, rows in steps_frame.groupby("segment", sort=False)}


B1 = [("u1", 0, "A", "x"), ("u1", 1, "B", "y"), ("u1", 2, "C", "z"),
      ("u2", 0, "A", "y"), ("u2", 1, "B", "x"),
      ("u3", 0, "A", None)]


def test_b1_first_touch_takes_the_step_1_event():
    assert run(B1, "ABC") == {"x": [1, 1, 1], "y": [1, 1, 0], "(missing)": [1, 0, 0]}


def test_b2_last_touch_takes_the_furthest_step_reached():
    assert run(B1, "ABC", attribution="last_touch") == {"z": [1, 1, 1], "x": [1, 1, 0], "(missing)": [1, 0, 0]}


def test_b3_step_n_takes_that_step_and_pools_those_who_did_not_reach_it():
    assert run(B1, "ABC", attribution="step:2") == {"y": [1, 1, 1], "x": [1, 1, 0], "(not reached)": [1, 0, 0]}


def test_b4_the_counted_attempt_decides_not_the_first_event():
    rows = [("u1", 0, "A", "x"), ("u1", 5, "A", "y"), ("u1", 12, "B", None)]
    assert run(rows, "AB") == {"y": [1, 1]}


def test_last_touch_on_equal_timestamps_takes_the_later_row():
    rows = [("u1", 0, "A", "x"), ("u1", 3, "B", "first row"), ("u1", 3, "C", "second row")]
    assert run(rows, "ABC", attribution="last_touch") == {"second row": [1, 1, 1]}


def test_any_order_last_touch_is_the_latest_matched_event():
    rows = [("u1", 0, "A", "a"), ("u1", 2, "C", "c"), ("u1", 4, "B", "b")]
    assert run(rows, "ABC", order="any", attribution="last_touch") == {"b": [1, 1, 1]}
    assert run(rows, "ABC", order="any", attribution="step:3") == {"c": [1, 1, 1]}


def test_top_pools_the_rest_into_other_with_ties_in_text_order():
    rows = [(f"u{i}", 0, "A", ch) for i, ch in enumerate(["b", "b", "a", "a", "c", "d"])] + [("u0", 1, "B", None)]
    assert run(rows, "AB", top=2) == {"a": [2, 0], "b": [2, 1], "(other)": [2, 0]}
    assert list(run(rows, "AB", top=0)) == ["a", "b", "c", "d"]


def test_numbers_are_one_segment_whatever_their_spelling():
    rows = [("u1", 0, "A", 3), ("u2", 0, "A", 3.0), ("u3", 0, "A", 2.5)]
    assert run(rows, "A") == {"3": [2], "2.5": [1]}
    flags = [("u1", 0, "A", True), ("u2", 0, "A", False), ("u3", 0, "A", True)]
    assert run(flags, "A") == {"true": [2], "false": [1]}


def test_segments_add_up_to_the_funnel_at_every_step():
    rng = np.random.default_rng(7)
    rows = [(f"u{rng.integers(40)}", int(rng.integers(0, 60)), str(rng.choice(list("ABCX"))),
             rng.choice(["p", "q", "r", None])) for _ in range(600)]
    for attribution in ("first_touch", "last_touch", "step:2", "step:3"):
        seg = run(rows, "ABC", window="20s", attribution=attribution, top=2)
        total = np.sum(list(seg.values()), axis=0)
        plain = run(rows, "ABC", window="20s", attribution=attribution, top=0)
        assert total.tolist() == np.sum(list(plain.values()), axis=0).tolist()
        assert total[0] == len({u for u, _, e, _ in rows if e == "A"})


# --- the statistics, by hand -------------------------------------------------------------------

def wilson(c: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = c / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_large_segments_use_the_two_proportion_test_and_a_wilson_interval():
    # segment 30/100 converted, rest 60/400: pooled p = 90/500 = 0.18
    out = compare_with_rest(np.array([30, 60]), np.array([100, 400]), testable=np.array([True, True]))
    z = (0.30 - 0.15) / math.sqrt(0.18 * 0.82 * (1 / 100 + 1 / 400))     # = 3.4922
    p = math.erfc(z / math.sqrt(2))                                        # two-sided normal tail
    assert out["test"][0] == "chi2"
    assert out["p_value"][0] == pytest.approx(p, rel=1e-9)
    assert out["p_value"][1] == pytest.approx(p, rel=1e-9)                 # the rest of the rest is the segment
    assert (out["rate_low"][0], out["rate_high"][0]) == pytest.approx(wilson(30, 100), rel=1e-9)
    assert out["rate_rest"][0] == pytest.approx(0.15)
    assert out["p_adjusted"].tolist() == pytest.approx([p, p])            # BH: both ranks give p
    assert out["significant"].tolist() == [True, True]


def test_small_counts_use_fishers_exact_test_and_are_too_small():
    # segment 3/5 converted, rest 2/40: expected conversions in the segment 5 * 5/45 < 5
    out = compare_with_rest(np.array([3, 2]), np.array([5, 40]), testable=np.array([True, True]))
    # P(X >= 3) for X ~ Hypergeom(45 units, 5 converted, 5 drawn); the two-sided p adds the
    # tables at most as likely as the observed one, which here are only the upper tail
    total = math.comb(45, 5)
    upper = sum(math.comb(5, k) * math.comb(40, 5 - k) for k in range(3, 6)) / total
    assert out["test"].tolist() == ["fisher", "fisher"]
    assert out["p_value"][0] == pytest.approx(upper, rel=1e-9)
    assert out["too_small"].tolist() == [True, True]
    assert out["significant"].tolist() == [False, False]


def test_benjamini_hochberg_over_the_tested_segments_only():
    entrants = np.array([1000, 1000, 1000, 500])
    converted = np.array([150, 100, 95, 0])
    out = compare_with_rest(converted, entrants, testable=np.array([True, True, True, False]))
    p = out["p_value"][:3]
    order = np.argsort(p)
    by_rank = p[order] * 3 / np.arange(1, 4)
    adjusted = np.minimum.accumulate(by_rank[::-1])[::-1]
    assert math.isnan(out["p_value"][3]) and out["test"][3] == ""
    assert out["p_adjusted"][:3][order] == pytest.approx(adjusted)


# --- planted effects of the example data (examples/generate_examples.py) --------------------------

@pytest.fixture(scope="module")
def example():
    cfg = microconv.load_config(ROOT / "funnels.example.yaml")
    events, _ = microconv.load_events([ROOT / "examples" / "shop_events.csv"], cfg,
                                      extra_properties=["channel", "device"])
    return cfg, events


def test_planted_email_effect_is_significant_and_facebook_vs_tiktok_is_not(example):
    cfg, events = example
    seg = microconv.analyze(cfg, events, funnels=["checkout"], by="channel").breakdowns[0].segments.set_index("segment")
    assert seg.loc["email", "significant"] and seg.loc["email", "rate"] > 1.8 * seg.loc["email", "rate_rest"]
    assert not seg.loc["facebook", "significant"] and not seg.loc["tiktok", "significant"]
    assert abs(seg.loc["facebook", "rate"] - seg.loc["tiktok", "rate"]) < 0.01
    assert seg["entrants"].sum() == 2400
    assert seg.loc["email", ["entrants", "converted"]].tolist() == [384, 76]


def test_planted_device_effect_shows_at_checkout_completion(example):
    cfg, events = example
    result = microconv.analyze(cfg, events, funnels=["checkout"], by="device")
    seg = result.breakdowns[0].segments.set_index("segment")
    assert seg.loc["desktop", "significant"] and seg.loc["mobile", "significant"]
    assert not seg.loc["tablet", "significant"]
    steps = result.breakdowns[0].steps.set_index(["segment", "step"])
    completion = {d: steps.loc[(d, 4), "users"] / steps.loc[(d, 3), "users"] for d in ("desktop", "mobile", "tablet")}
    assert completion["desktop"] == pytest.approx(0.65, abs=0.03)
    assert completion["mobile"] == pytest.approx(0.45, abs=0.03)


def test_user_level_first_source_from_the_url_finds_the_same_email_effect(example):
    cfg, events = example
    result = microconv.analyze(cfg, events, funnels=["checkout"])           # breakdown: first_source in the config
    seg = result.breakdowns[0].segments.set_index("segment")
    assert result.breakdowns[0].by == "first_source"
    assert seg.loc["email", "significant"] and not seg.loc["facebook", "significant"]
    assert "(missing)" not in seg.index                                     # every session opens with a utm URL


# --- several properties: segments are value combinations (8.2.6) ----------------------------------

def run2(rows, steps, window="10s", **options):
    """rows: (user, second, event, ch, dev); the breakdown by ch and dev: {segment: users per step}."""
    cfg = microconv.parse_config({
        "columns": {"user": "u", "event": "e", "timestamp": "t"},
        "funnels": {"f": {"steps": [{"event": s} for s in steps], "window": window}},
    })
    raw = pd.DataFrame(rows, columns=["u", "t", "e", "ch", "dev"])
    raw["t"] = [(EPOCH + pd.Timedelta(seconds=s)).isoformat() for s in raw["t"]]
    events, _ = microconv.canonicalize(raw, cfg, extra_properties=["ch", "dev"])
    result = microconv.analyze(cfg, events, by=("ch", "dev"), **options)
    assert result.breakdowns[0].by == "ch · dev"
    steps_frame = result.breakdowns[0].steps
    return {seg: rows["users"].tolist() for seg, rows in steps_frame.groupby("segment", sort=False)}


# docs/semantics.md B5: u1 and u2 enter on ads/mobile, u1 converts; u3 enters on ads/desktop and
# converts; u4 has no device on its step-1 event (its B carries one: first touch does not look
# there); u5 enters on mail/desktop; u6 has neither value.
B5 = [("u1", 0, "A", "ads", "mobile"), ("u1", 1, "B", "mail", "desktop"),
      ("u2", 0, "A", "ads", "mobile"),
      ("u3", 0, "A", "ads", "desktop"), ("u3", 2, "B", None, None),
      ("u4", 0, "A", "mail", None), ("u4", 1, "B", "mail", "mobile"),
      ("u5", 0, "A", "mail", "desktop"),
      ("u6", 0, "A", None, None)]


def test_b7_two_properties_segment_by_their_combination_and_any_missing_value_is_missing():
    assert run2(B5, "AB") == {"ads · mobile": [2, 1], "ads · desktop": [1, 1], "mail · desktop": [1, 0],
                              "(missing)": [2, 1]}


def test_b7_top_ranks_combinations_by_units_and_pools_the_rest():
    assert run2(B5, "AB", top=1) == {"ads · mobile": [2, 1], "(other)": [2, 1], "(missing)": [2, 1]}


def test_b7_last_touch_takes_both_values_from_the_same_event():
    assert run2(B5, "AB", attribution="last_touch") == {
        "mail · desktop": [2, 1], "(missing)": [2, 1], "ads · mobile": [1, 0], "mail · mobile": [1, 1]}


def test_a_separator_inside_a_value_cannot_make_two_combinations_alike():
    rows = [("u1", 0, "A", "a · b", "c"), ("u2", 0, "A", "a", "b · c"), ("u3", 0, "A", "a\\", "· c")]
    assert set(run2(rows, "A")) == {"a \\· b · c", "a · b \\· c", "a\\\\ · \\· c"}


def test_combinations_are_tested_and_corrected_together(example):
    cfg, events = example
    seg = microconv.analyze(cfg, events, funnels=["checkout"], by=["channel", "device"], top=0).breakdowns[0].segments
    assert seg["entrants"].sum() == 2400
    tested = seg[seg["test"] != ""]
    p = tested["p_value"].to_numpy()
    order = np.argsort(p)
    adjusted = np.minimum(1, np.minimum.accumulate((p[order] * len(p) / np.arange(1, len(p) + 1))[::-1])[::-1])
    assert tested["p_adjusted"].to_numpy()[order] == pytest.approx(adjusted)
    by_channel = microconv.analyze(cfg, events, funnels=["checkout"], by="channel", top=0).breakdowns[0].segments
    email = seg[seg["segment"].str.startswith("email · ")]
    assert email["entrants"].sum() == by_channel.set_index("segment").loc["email", "entrants"]   # no device missing
