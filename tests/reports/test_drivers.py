"""Drivers (docs/semantics.md 13): a log whose 2×2 tables are checked by hand, PostHog's own
correlation test, the report protocol, the CLI, and the planted effects of the example shop log."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import microconv
from conftest import ROOT
from microconv.engine.conversions import EventIndex
from microconv.errors import ConfigError, UsageError
from microconv.reports import drivers as drv
from microconv.reports.drivers import DRIVERS_COLUMNS, drivers
from microconv.render.drivers import render_drivers_csv, render_drivers_json, render_drivers_markdown, render_drivers_text
from helpers import EXAMPLE_CONFIG, EXAMPLE_CSV, invoke

BASE = int(pd.Timestamp("2026-01-01", tz="UTC").timestamp())


def setup(rows, steps="AB", window="100s", properties=None):
    """rows: (user, seconds after 2026-01-01, event[, p])."""
    columns = {"user": "u", "event": "e", "timestamp": "t", "timestamp_unit": "s"}
    if properties:
        columns["properties"] = properties
    cfg = microconv.parse_config({
        "columns": columns,
        "conversions": {"buy": {"kind": "macro", "event": steps[-1]}},
        "funnels": {"f": {"steps": [{"event": s} for s in steps], "window": window}},
    })
    raw = pd.DataFrame([(r[0], BASE + r[1], r[2], r[3] if len(r) > 3 else None) for r in rows],
                       columns=["u", "t", "e", "p"])
    events, _ = microconv.canonicalize(raw, cfg, extra_properties=["p"])
    return cfg, events


# Funnel A -> B, window 100 s (13.5, worked example W1). X counts only after the unit's A and
# before its B (successes) or within its window (failures):
#   successes u1-u4 did X between A and B; u5 did X only after its B;
#   failure u6 did X in its window; u7 did X before its A; u8 after its window; u9, u10 never.
# So X: success with 4, failure with 1, success without 1, failure without 4.
LOG = [
    ("u1", 0, "A", "p1"), ("u1", 1, "X", "p1"), ("u1", 1.5, "A"), ("u1", 2, "B"),
    ("u2", 0, "A"), ("u2", 1, "X", "p1"), ("u2", 2, "B"),
    ("u3", 0, "A"), ("u3", 1, "X"), ("u3", 2, "B"),
    ("u4", 0, "A"), ("u4", 1, "X"), ("u4", 2, "B"),
    ("u5", 0, "A"), ("u5", 2, "B"), ("u5", 3, "X"),
    ("u6", 0, "A"), ("u6", 1, "X", "p1"),
    ("u7", 0, "X"), ("u7", 1, "A"),
    ("u8", 0, "A"), ("u8", 200, "X"),
    ("u9", 0, "A"), ("u10", 0, "A"),
    ("zz", 1000, "Z"),                    # never enters: the data end at 1000, no window is open
]


def row(result, event):
    rows = result.frame[result.frame["event"] == event]
    assert len(rows) == 1, f"{event}: {len(rows)} rows"
    return rows.iloc[0]


def test_w1_funnel_table_by_hand():
    cfg, events = setup(LOG)
    r = drivers(cfg, events, funnel="f")
    assert (r.mode, r.step, r.goal, r.population, r.successes, r.failures, r.in_progress) == ("funnel", 2, "B", 10, 5, 5, 0)
    x = row(r, "X")
    assert (x.success_with, x.failure_with, x.success_without, x.failure_without) == (4, 1, 1, 4)
    assert x.odds_ratio == pytest.approx(5 * 5 / (2 * 2)) == pytest.approx(6.25)    # PostHog's +1 in each cell
    ci = stats.contingency.odds_ratio([[5, 2], [2, 5]], kind="sample").confidence_interval(0.95)
    assert (x.odds_ratio_low, x.odds_ratio_high) == pytest.approx((ci.low, ci.high))
    assert x.odds_ratio_low == pytest.approx(6.25 * math.exp(-1.96 * math.sqrt(1.4)), rel=1e-3)  # 0.616
    assert x.p_value == pytest.approx(stats.fisher_exact([[4, 1], [1, 4]]).pvalue) == pytest.approx(0.2063, abs=1e-4)
    assert x.p_adjusted == pytest.approx(2 * x.p_value)     # Benjamini-Hochberg over the two rows (X, A)
    assert x.group == "positive" and x["rank"] == 1 and x.too_few and not x.significant and not x.implied
    a = row(r, "A")                        # u1's second A: a step's own event, implied by definition
    assert (a.success_with, a.failure_with, a.group, a.implied, a.significant) == (1, 0, "implied", True, False)
    assert set(r.frame["event"]) == {"X", "A"}     # Z is no counted unit's; B never comes before a B
    assert list(r.frame.columns) == DRIVERS_COLUMNS


def test_w2_macro_counts_everything_before_the_first_macro_event():
    cfg, events = setup(LOG)
    r = drivers(cfg, events)                   # default: the first macro conversion, every user
    assert (r.mode, r.goal, r.population, r.successes) == ("macro", "buy", 11, 5)
    x = row(r, "X")                            # u7's X before its A counts now, u8's late one too; u5's does not
    assert (x.success_with, x.failure_with, x.success_without, x.failure_without) == (4, 3, 1, 3)
    assert x.odds_ratio == pytest.approx(5 * 4 / (4 * 2))
    a = row(r, "A")                            # every buyer did A first: implied by the data
    assert (a.success_with, a.success_without, a.implied, a.group) == (5, 0, True, "implied")


def test_property_values_are_rows_of_their_own():
    cfg, events = setup(LOG, properties={"p": "p"})
    r = drivers(cfg, events, funnel="f", properties=["p"])
    p1 = row(r, "p=p1")                         # u1's A@0 is the entry itself: only X@1 counts; u2's X; u6's X
    assert (p1.kind, p1.property, p1.value, p1.success_with, p1.failure_with) == ("property", "p", "p1", 2, 1)
    assert p1.odds_ratio == pytest.approx(3 * 5 / (2 * 4))


def test_posthog_basic_funnel_correlation_with_events():
    """PostHog's test_basic_funnel_correlation_with_events: odds ratios 11 and 1/11."""
    rows = []
    for i in range(10):
        rows += [(f"s{i}", 0, "signed_up"), (f"s{i}", 86400 * 2, "paid")]
        rows += [(f"s{i}", 86400, "positively_related")] if i % 2 == 0 else []
    for i in range(10):
        rows += [(f"f{i}", 0, "signed_up")] + ([(f"f{i}", 86400, "negatively_related")] if i % 2 == 0 else [])
    rows.append(("zz", 86400 * 60, "Z"))
    cfg, events = setup(rows, steps=["signed_up", "paid"], window="14d")
    r = drivers(cfg, events, funnel="f")
    assert row(r, "positively_related").odds_ratio == pytest.approx(11)
    assert row(r, "negatively_related").odds_ratio == pytest.approx(1 / 11)
    assert list(r.frame["group"]) == ["positive", "negative"]


def test_partials_merge_to_one_pass():
    cfg, events = setup(LOG)
    frame = events.frame
    index = EventIndex(cfg, frame, int(frame["ts"].max().value))
    whole = drv.macro_partial(cfg, index, "buy")
    parts = []
    for users in (["u1", "u2", "u6", "u7", "zz"], ["u3", "u4", "u5", "u8", "u9", "u10"]):
        shard = frame[frame["user"].isin(users)].copy()
        shard["user"] = shard["user"].cat.remove_unused_categories()
        shard["event"] = shard["event"].cat.remove_unused_categories()
        parts.append(drv.macro_partial(cfg, EventIndex(cfg, shard.reset_index(drop=True), index.last_ts), "buy"))
    merged = drv.merge(*parts)
    ctx = dict(mode="macro", goal="buy", funnel=None, step=None, unit="users", properties=(), top=10)
    one, two = drv.finalize(whole, **ctx).frame, drv.finalize(merged, **ctx).frame
    pd.testing.assert_frame_equal(one, two)


def test_top_cuts_each_direction_and_zero_lists_all():
    rows = [(f"u{i}", 0, "A") for i in range(8)] + [(f"u{i}", 2, "B") for i in range(4)]
    rows += [("u0", 1, "P1"), ("u1", 1, "P2"), ("u4", 1, "N1"), ("u5", 1, "N2"), ("zz", 1000, "Z")]
    cfg, events = setup(rows)
    r = drivers(cfg, events, funnel="f", top=1)
    assert list(r.frame["event"]) == ["P1", "N1"] and r.rows == 4          # ties by name
    assert list(drivers(cfg, events, funnel="f", top=0).frame["event"]) == ["P1", "P2", "N1", "N2"]


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(funnel="f", step=1), UsageError, "steps 2 to 2"),
    (dict(funnel="f", step=3), UsageError, "steps 2 to 2"),
    (dict(step=2), UsageError, "a step is a funnel's"),
    (dict(funnel="f", macro="buy"), UsageError, "not both"),
    (dict(funnel="g"), ConfigError, "unknown funnel 'g'"),
    (dict(macro="nope"), ConfigError, "not a macro conversion"),
    (dict(properties=["nope"]), UsageError, "not read from the events"),
    (dict(top=-1), UsageError, "must be 0 (all) or more"),
])
def test_library_errors(kwargs, error, message):
    cfg, events = setup(LOG)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        drivers(cfg, events, **kwargs)


CLI_CONFIG = """\
columns: {user: user_id, event: event_name, timestamp: timestamp}
conversions:
  buy: {kind: macro, event: B}
funnels:
  ab:
    steps: [{event: A}, {event: B}]
    window: 100s
"""


@pytest.fixture
def small(tmp_path):
    lines = ["user_id,event_name,timestamp"] + [f"{u},{e},{pd.Timestamp(BASE + t, unit='s', tz='UTC').isoformat()}"
                                                for u, t, e, *_ in LOG]
    (tmp_path / "f.yaml").write_text(CLI_CONFIG)
    (tmp_path / "e.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_cli_formats(runner, small):
    result = invoke(runner, "drivers", "e.csv", "-c", "f.yaml", "--funnel", "ab", "-f", "csv", cwd=small)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == ",".join(DRIVERS_COLUMNS)
    assert lines[1].startswith("positive,1,X,event,,X,4,1,1,4,6.25,") and lines[1].endswith(",False,False,True")
    doc = json.loads(invoke(runner, "drivers", "e.csv", "-c", "f.yaml", "--funnel", "ab", "-f", "json",
                            cwd=small).stdout)
    assert (doc["mode"], doc["step"], doc["population"], doc["successes"], doc["rows"]) == ("funnel", 2, 10, 5, 2)
    assert doc["positive"][0]["event"] == "X" and doc["implied"][0]["event"] == "A" and doc["negative"] == []
    md = invoke(runner, "drivers", "e.csv", "-c", "f.yaml", "-f", "markdown", cwd=small).stdout
    assert "| 1 | X | 4 | 3 | 2.5 |" in md and "Drivers of buy ·" in md
    table = invoke(runner, "drivers", "e.csv", "-c", "f.yaml", "--funnel", "ab", cwd=small)
    assert table.exit_code == 0 and "More likely to reach B" in table.stdout and "too few" in table.stdout


def test_cli_output_and_quiet(runner, small):
    result = invoke(runner, "drivers", "e.csv", "-c", "f.yaml", "-f", "csv", "-o", "out.csv", "-q", cwd=small)
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""
    assert (small / "out.csv").read_text().startswith(",".join(DRIVERS_COLUMNS) + "\n")
    table = invoke(runner, "drivers", "e.csv", "-c", "f.yaml", "--funnel", "ab", "-o", "out.txt", cwd=small)
    assert table.exit_code == 0 and table.stdout == ""
    assert (small / "out.txt").read_text().startswith("Drivers of funnel ab: reached step 2 (B)  ·  10 users, 5 succeeded")


@pytest.mark.parametrize("args, code, message", [
    (["--funnel", "abd"], 3, "unknown funnel 'abd' (did you mean 'ab'?)"),
    (["--funnel", "ab", "--step", "5"], 2, "--step 5: funnel 'ab' has steps 2 to 2"),
    (["--step", "2"], 2, "--step 2: a step is a funnel's; name the funnel too"),
    (["--macro", "nope"], 3, "'nope' is not a macro conversion"),
    (["--property", "nope"], 4, "'nope'"),
    (["-f", "svg"], 2, "--format 'svg' is not one of"),
    (["--top", "-1"], 2, "--top"),
])
def test_cli_errors(runner, small, args, code, message):
    result = invoke(runner, "drivers", "e.csv", "-c", "f.yaml", *args, cwd=small)
    assert result.exit_code == code, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def shop():
    cfg = microconv.load_config(ROOT / EXAMPLE_CONFIG)
    events, _ = microconv.load_events([ROOT / EXAMPLE_CSV], cfg, extra_properties=["signup_method"])
    return cfg, events


def test_example_planted_effects_against_purchase(shop):
    """examples/generate_examples.py: video watchers buy 2x as often (12.00% vs 5.88%), the
    newsletter has no effect (7.17% vs 7.09%), and every purchase passes the milestones."""
    cfg, events = shop
    r = drivers(*shop, properties=["signup_method"])
    assert (r.goal, r.population, r.successes) == ("purchase", 4000, 284)
    video = row(r, "video_play")
    assert (video.success_with, video.failure_with) == (96, 704)
    assert 1.7 < video.odds_ratio < 2.7 and video.odds_ratio_low > 1 and video.significant
    newsletter = row(r, "signup_method=newsletter")
    assert (newsletter.success_with, newsletter.failure_with) == (43, 557)
    assert not newsletter.significant and newsletter.p_adjusted > 0.5 and newsletter.odds_ratio_low < 1
    assert row(r, "signup_method=account").significant           # the planted account sign-ups: real
    for milestone in ("view_item", "add_to_cart", "begin_checkout"):
        m = row(r, milestone)
        assert m.implied and not m.significant and m.success_without == 0
    assert not r.frame.loc[r.frame["implied"], "significant"].any()


def test_example_funnel_steps_are_implied(shop):
    cfg, events = shop
    r = drivers(cfg, events, funnel="checkout", top=0, mature_only=True)
    steps = microconv.analyze(cfg, events, funnels=["checkout"], reports=["funnels"], mature_only=True).funnels[0].steps
    assert (r.population, r.successes, r.in_progress) == (steps[0].users, steps[-1].users, 0)   # the table's units
    implied = set(r.frame.loc[r.frame["implied"], "event"])
    assert {"view_item", "add_to_cart", "begin_checkout", "purchase"} <= implied
    assert not r.frame.loc[r.frame["implied"], "significant"].any()
    for render in (render_drivers_csv, render_drivers_json, render_drivers_markdown, render_drivers_text):
        assert "add_to_cart" in render(r)


@pytest.mark.parametrize("funnel", ["cart_to_purchase", "pricing_to_purchase", "engagement_any_order"])
def test_example_population_is_the_funnel_tables(shop, funnel):
    """Sessions, inline steps, order any: the comparison's units are the table's step 1 and last step."""
    cfg, events = shop
    r = drivers(cfg, events, funnel=funnel, mature_only=True)
    table = microconv.analyze(cfg, events, funnels=[funnel], reports=["funnels"], mature_only=True).funnels[0]
    steps = table.steps
    assert (r.unit, r.population, r.successes) == (table.unit, steps[0].users, steps[-1].users)
    assert r.goal == steps[-1].name and r.comparable == (0 < steps[-1].users < steps[0].users)


def test_w1_w2_numbers_as_semantics_13_works_them():
    """The numbers the worked examples W1 and W2 of semantics 13 give, to the digits shown there."""
    cfg, events = setup(LOG)
    x = row(drivers(cfg, events, funnel="f"), "X")
    assert (round(x.odds_ratio_low, 3), round(x.odds_ratio_high, 1)) == (0.615, 63.5)
    assert (round(x.p_value, 4), round(x.p_adjusted, 4)) == (0.2063, 0.4127)
    assert row(drivers(cfg, events, funnel="f"), "A").p_value == pytest.approx(1.0)
    z = row(drivers(cfg, events), "Z")             # macro mode: zz's Z, a failure's event
    assert (z.success_with, z.failure_with, z.success_without, z.failure_without) == (0, 1, 5, 5)
    assert z.odds_ratio == pytest.approx(1 * 6 / (2 * 6)) and z.group == "negative"


def test_w4_events_at_the_entry_or_goal_time_do_not_count_and_in_progress_units_fail():
    """Semantics 13, W4: u1 A@0 Y@0 W@3 Z@5 B@5 (input order), u2 A@0 W@1, data end at 50 s with a
    100 s window: Y (the entry's time) and Z (B's time) are no rows; u2, in progress, is a failure."""
    rows = [("u1", 0, "A"), ("u1", 0, "Y"), ("u1", 3, "W"), ("u1", 5, "Z"), ("u1", 5, "B"),
            ("u2", 0, "A"), ("u2", 1, "W"), ("zz", 50, "Q")]      # zz enters nothing: the data end at 50
    cfg, events = setup(rows)
    r = drivers(cfg, events, funnel="f", top=0)
    assert (r.population, r.successes, r.failures, r.in_progress) == (2, 1, 1, 1)
    w = row(r, "W")
    assert (w.success_with, w.failure_with, w.success_without, w.failure_without) == (1, 1, 0, 0)
    assert w.implied and w.group == "implied"      # the one success did it (c = 0)
    assert set(r.frame["event"]) == {"W"}          # no Y, Z, B; zz's Q is no counted unit's
    mature = drivers(cfg, events, funnel="f", mature_only=True)
    assert (mature.population, mature.successes, mature.in_progress) == (1, 1, 0)


def test_macro_mode_refuses_funnel_bounds(runner, small):
    """--since, --until and --mature-only bound a funnel's entries (13.1); against the macro every
    user counts (13.2), so they were silently ignored there: now an option error."""
    for extra in (["--since", "2026-01-01"], ["--until", "2026-01-02"], ["--mature-only"]):
        result = invoke(runner, "drivers", "e.csv", "-c", "f.yaml", *extra, cwd=small)
        assert result.exit_code == 2 and "name a --funnel" in result.stderr, (extra, result.stderr)
    assert invoke(runner, "drivers", "e.csv", "-c", "f.yaml", "--funnel", "ab", "--mature-only", cwd=small).exit_code == 0
