"""The micro-conversion report: counts by hand, statistics recomputed from textbook formulas
(not scipy), and the effects planted in the example data found (and the null one not)."""
from __future__ import annotations

import io
import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import microconv
from microconv.reports.results import MICRO_COLUMNS
from conftest import ROOT, examples
from microconv.cli import app

EPOCH = pd.Timestamp("2026-01-01", tz="UTC")

CONFIG = {
    "columns": {"user": "user_id", "event": "event_name", "timestamp": "timestamp",
                "properties": {"revenue": "amount"}},
    "conversions": {
        "video": {"kind": "secondary", "event": "video_play"},
        "two_videos": {"kind": "secondary", "event": "video_play", "count": ">= 2"},
        "buy": {"kind": "macro", "event": "purchase", "value": "revenue"},
    },
}


def report_for(rows: list[tuple], config=CONFIG, macro=None):
    cfg = microconv.parse_config(config)
    raw = pd.DataFrame({
        "user_id": [r[0] for r in rows],
        "timestamp": [(EPOCH + pd.Timedelta(seconds=r[1])).isoformat() for r in rows],
        "event_name": [r[2] for r in rows],
        "amount": [r[3] if len(r) > 3 else None for r in rows],
    })
    events, _ = microconv.canonicalize(raw, cfg)
    return microconv.analyze(cfg, events, macro=macro).micro


def _log(with_video: tuple[int, int], without: tuple[int, int], amount: float = 10.0) -> list[tuple]:
    """Users who watched (then maybe bought) and users who did not: (users, buyers) per group."""
    rows = []
    for group, (users, buyers) in (("v", with_video), ("n", without)):
        for i in range(users):
            user = f"{group}{i}"
            rows.append((user, 0, "page_view"))
            if group == "v":
                rows.append((user, 1, "video_play"))
            if i < buyers:
                rows.append((user, 5, "purchase", amount))
    return rows


def fisher_two_sided(a: int, b: int, c: int, d: int) -> float:
    """Sum of the hypergeometric probabilities of tables no more likely than the observed one."""
    row1, col1, n = a + b, a + c, a + b + c + d

    def prob(x: int) -> float:
        return math.comb(col1, x) * math.comb(n - col1, row1 - x) / math.comb(n, row1)

    observed = prob(a)
    lo, hi = max(0, row1 + col1 - n), min(row1, col1)
    return sum(prob(x) for x in range(lo, hi + 1) if prob(x) <= observed * (1 + 1e-7))


def test_rates_lift_interval_and_p_value_match_the_textbook():
    # 100 watchers, 20 buy; 300 others, 30 buy: rates 0.2 and 0.1, lift 2
    micro = report_for(_log((100, 20), (300, 30)))
    row = micro.rows.set_index("conversion").loc["video"]
    assert (micro.users, micro.converters) == (400, 50)
    assert row["users"] == 100 and row["share"] == pytest.approx(0.25)
    assert row["macro_rate_with"] == pytest.approx(0.2) and row["macro_rate_without"] == pytest.approx(0.1)
    assert row["lift"] == pytest.approx(2.0)
    se = math.sqrt(1 / 20 - 1 / 100 + 1 / 30 - 1 / 300)  # Katz log interval of a risk ratio
    assert row["lift_low"] == pytest.approx(2 * math.exp(-1.959964 * se), rel=1e-5)
    assert row["lift_high"] == pytest.approx(2 * math.exp(1.959964 * se), rel=1e-5)
    assert row["p_value"] == pytest.approx(fisher_two_sided(20, 80, 30, 270), rel=1e-6)
    assert not row["too_few"] and row["significant"]


def test_benjamini_hochberg_by_hand():
    micro = report_for(_log((100, 20), (300, 30)))
    p = micro.rows.set_index("conversion")["p_value"]
    # two_videos: nobody watched twice -> no users on one side: no p-value; BH over the one valid p
    assert math.isnan(p["two_videos"])
    assert micro.rows.set_index("conversion").loc["video", "p_adjusted"] == pytest.approx(p["video"])

    micro = report_for(_log((100, 20), (300, 30)) + [("v0", 2, "video_play"), ("v1", 2, "video_play")])
    rows = micro.rows.set_index("conversion")
    ps = sorted([rows.loc["video", "p_value"], rows.loc["two_videos", "p_value"]])
    expected = [min(ps[0] * 2 / 1, ps[1]), ps[1]]   # p_(i) * m / i, made monotone
    assert sorted(rows["p_adjusted"]) == pytest.approx(expected)


def test_only_actions_before_the_first_macro_count():
    rows = _log((100, 20), (300, 30))
    # n0..n9 bought at t=5; ten of them now watch a video afterwards: still "without"
    rows += [(f"n{i}", 9, "video_play") for i in range(10)]
    row = report_for(rows).rows.set_index("conversion").loc["video"]
    assert row["users"] == 100 and row["macro_rate_without"] == pytest.approx(0.1)


def test_value_per_user_with_incremental_value_and_revenue():
    rows = _log((100, 20), (300, 30), amount=10.0) + [("v0", 6, "purchase", 40.0)]
    row = report_for(rows).rows.set_index("conversion").loc["video"]
    average = (50 * 10 + 40) / 51           # mean value per purchase event
    assert row["value_per_user_with"] == pytest.approx(0.2 * average)
    assert row["incremental_value"] == pytest.approx((0.2 - 0.1) * average)   # (with - without) x average
    assert row["revenue"] == pytest.approx(20 * 10 + 40)   # every purchase by a watcher


def test_small_groups_are_flagged_not_judged():
    micro = report_for(_log((10, 5), (300, 30)))
    row = micro.rows.set_index("conversion").loc["video"]
    assert row["too_few"] and not row["significant"]


def test_every_converter_did_it_is_implied_with_no_lift_no_star():
    row = report_for(_log((100, 20), (300, 0))).rows.set_index("conversion").loc["video"]
    assert row["implied"] and row["macro_rate_without"] == 0 and row["macro_rate_with"] == pytest.approx(0.2)
    assert math.isnan(row["lift"]) and math.isnan(row["p_value"]) and not row["significant"]
    assert math.isnan(row["incremental_value"]) and math.isnan(row["adjusted_odds_ratio"])


def test_a_negative_association_has_a_negative_incremental_value():
    """Watchers buy less (10 of 100) than the others (60 of 300): each watcher 'costs' 0.1 x 10."""
    row = report_for(_log((100, 10), (300, 60), amount=10.0)).rows.set_index("conversion").loc["video"]
    assert row["incremental_value"] == pytest.approx((0.1 - 0.2) * 10.0)
    assert row["value_per_user_with"] == pytest.approx(0.1 * 10.0) and not row["implied"]


def test_unknown_macro_is_a_config_error():
    with pytest.raises(microconv.ConfigError) as err:
        report_for(_log((1, 1), (1, 0)), macro="by")
    assert "did you mean 'buy'?" in str(err.value)


@pytest.fixture(scope="module")
def example():
    cfg = microconv.load_config(ROOT / "funnels.example.yaml")
    events, _ = microconv.load_events([ROOT / "examples" / "shop_events.csv"], cfg)
    return microconv.analyze(cfg, events, reports=("micro",)).micro.rows.set_index("conversion")


def test_planted_video_effect_is_found(example):
    """examples/generate_examples.py: watchers buy at exactly twice the rate (96/800 vs 188/3,200)."""
    row = example.loc["video_play"]
    assert (row["users"], row["macro_rate_with"], row["macro_rate_without"]) == (800, 96 / 800, 188 / 3200)
    assert row["lift_low"] < 2.0 < row["lift_high"]
    assert row["significant"]


def test_planted_null_effect_is_not_flagged(example):
    """Newsletter sign-ups are drawn independently of buying: 43/600 vs 241/3,400."""
    row = example.loc["newsletter"]
    assert (row["users"], row["macro_rate_with"]) == (600, 43 / 600)
    assert row["lift_low"] < 1.0 < row["lift_high"]
    assert not row["significant"]


def test_cli_micro_csv_has_the_stable_columns():
    result = CliRunner().invoke(app, ["analyze", str(ROOT / "examples" / "shop_events.csv"), "-c",
                                      str(ROOT / "funnels.example.yaml"), "-f", "csv", "--report", "micro", "-q"])
    assert result.exit_code == 0, result.stderr
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert list(frame.columns) == list(MICRO_COLUMNS)
    assert {"p_adjusted", "value_per_user_with", "incremental_value", "implied", "adjusted_odds_ratio"} <= set(frame.columns)
    assert frame["segment"].isna().all() and frame["period"].isna().all()   # no --by, no --trend: overall rows only
    assert frame.set_index("conversion").loc["video_play", "users"] == 800


def test_funnel_revenue_and_value_lost_by_hand():
    """u1 buys for 30; u2 for 10 (the counted attempt's purchase; a later 50 is not in it); u3 never buys."""
    config = {**CONFIG, "funnels": {"f": {"steps": [{"event": "page_view"}, "buy"], "window": "10s"}}}
    cfg = microconv.parse_config(config)
    rows = [("u1", 0, "page_view"), ("u1", 2, "purchase", 30.0), ("u2", 0, "page_view"), ("u2", 1, "purchase", 10.0),
            ("u2", 3, "purchase", 50.0), ("u3", 0, "page_view"), ("u3", 99, "video_play")]
    raw = pd.DataFrame({"user_id": [r[0] for r in rows],
                        "timestamp": [(EPOCH + pd.Timedelta(seconds=r[1])).isoformat() for r in rows],
                        "event_name": [r[2] for r in rows], "amount": [r[3] if len(r) > 3 else None for r in rows]})
    events, _ = microconv.canonicalize(raw, cfg)
    f = microconv.analyze(cfg, events).funnel("f")
    assert f.revenue == pytest.approx(40.0)
    assert f.revenue_per_entrant == pytest.approx(40 / 3)
    assert [s.value_lost for s in f.steps] == [0.0, pytest.approx(1 * 40 / 2)]
    frame = f.to_frame()
    assert frame["value_lost"].tolist() == [0.0, pytest.approx(20.0)]


def _valued_funnel(rows, window="10s"):
    config = {**CONFIG, "funnels": {"f": {"steps": [{"event": "page_view"}, "buy"], "window": window}}}
    cfg = microconv.parse_config(config)
    raw = pd.DataFrame({"user_id": [r[0] for r in rows],
                        "timestamp": [(EPOCH + pd.Timedelta(seconds=r[1])).isoformat() for r in rows],
                        "event_name": [r[2] for r in rows], "amount": [r[3] if len(r) > 3 else None for r in rows]})
    events, _ = microconv.canonicalize(raw, cfg)
    return microconv.analyze(cfg, events)


def test_value_lost_counts_only_units_whose_window_closed():
    # The probe: value lost multiplied a `dropped` that held units still inside their window. u1 buys
    # for 30; u2 stopped at page_view and its window closed (0 + 10 <= T = 12); u3 and u4 entered at 5
    # and 12 and are in progress (5 + 10 > 12): 1 dropped, 2 in progress, value lost 1 × 30.
    rows = [("u1", 0, "page_view"), ("u1", 2, "purchase", 30.0), ("u2", 0, "page_view"),
            ("u3", 5, "page_view"), ("u4", 12, "page_view")]
    f = _valued_funnel(rows).funnel("f")
    assert [(s.users, s.dropped, s.in_progress) for s in f.steps] == [(4, 0, 2), (1, 1, 0)]
    assert f.steps[1].value_lost == 30.0
    # nobody's window has closed: nothing is lost yet (before: 3 dropped, 90 lost)
    rows = [("u1", 10, "page_view"), ("u1", 11, "purchase", 30.0), ("u2", 10, "page_view"),
            ("u3", 11, "page_view"), ("u4", 12, "page_view")]
    f = _valued_funnel(rows).funnel("f")
    assert [(s.users, s.dropped, s.in_progress) for s in f.steps] == [(4, 0, 3), (1, 0, 0)]
    assert f.steps[1].value_lost == 0.0


def test_revenue_of_values_that_would_overflow():
    # The probe: 1e308 + 1e308 is beyond the largest float. Such values (and inf) are not amounts:
    # revenue leaves them out, with a note, and every number stays finite.
    rows = [("u1", 0, "page_view"), ("u1", 1, "purchase", 1e308), ("u2", 0, "page_view"),
            ("u2", 1, "purchase", 1e308), ("u3", 0, "page_view"), ("u3", 1, "purchase", 25.0),
            ("u4", 0, "page_view"), ("u4", 1, "purchase", "inf"), ("u5", 0, "page_view"), ("u5", 99, "video_play")]
    result = _valued_funnel(rows)
    f = result.funnel("f")
    assert f.revenue == 25.0 and f.revenue_per_entrant == 5.0
    assert f.steps[1].value_lost == pytest.approx(1 * 25.0 / 4)      # u5 dropped; 4 completers
    assert [str(w) for w in result.warnings] == [
        "3 'revenue' values of 'buy' events are infinite or beyond ±1e+290: left out of revenue, like missing values"]
    micro = result.micro.rows.set_index("conversion")
    assert result.micro.average_value == 25.0
    assert micro.loc["video", "revenue"] == 0.0 and micro.loc["video", "value_per_user_with"] == 0.0  # u5: no buy


def test_funnel_without_a_valued_last_step_has_no_revenue():
    config = {**CONFIG, "funnels": {"f": {"steps": [{"event": "page_view"}, "video"]}}}
    cfg = microconv.parse_config(config)
    raw = pd.DataFrame({"user_id": ["u1"], "timestamp": [EPOCH.isoformat()], "event_name": ["page_view"],
                        "amount": [None]})
    events, _ = microconv.canonicalize(raw, cfg)
    f = microconv.analyze(cfg, events).funnel("f")
    assert f.revenue is None and math.isnan(f.steps[1].value_lost)


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["u1", "u2", "u3", "u4", "u5"]), st.integers(0, 20),
                          st.sampled_from(["video_play", "purchase", "page_view"])), min_size=1, max_size=40))
def test_counts_are_the_users_who_acted_before_their_first_macro(rows):
    """Per conversion, by hand: a user "did" it when one of their matching events (a second video
    for two_videos) came strictly before their first purchase, or at any time if they never bought."""
    report = report_for(rows)
    users = sorted({u for u, _, _ in rows})
    buy = {u: min((t for v, t, e in rows if v == u and e == "purchase"), default=math.inf) for u in users}

    def did(user, nth):
        times = sorted(t for v, t, e in rows if v == user and e == "video_play")
        return len(times) >= nth and times[nth - 1] < buy[user]

    by_name = report.rows.set_index("conversion")
    for name, nth in (("video", 1), ("two_videos", 2)):
        doers = [u for u in users if did(u, nth)]
        assert by_name.loc[name, "users"] == len(doers), name
        converted = sum(buy[u] < math.inf for u in doers)
        rate = by_name.loc[name, "macro_rate_with"]
        assert (math.isnan(rate) if not doers else rate == converted / len(doers)), name
