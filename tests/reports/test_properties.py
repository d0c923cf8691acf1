"""Hypothesis tests for section 8: breakdowns, trends and time to convert, engine against reference.

Each event carries a segment value (``seg``: x, y, z or missing) next to the (user, ts, event)
rows of tests/test_properties.py. The reference (tests/reference.py) reads the segment, the cohort
and the step gaps off its own counted attempts; the engine runs through ``microconv.analyze`` with
``by="seg"`` / ``trend=...`` (tests/helpers.py).

Timestamps are small integers times a scale drawn per example: scale 1 keeps the ties of
section 3 frequent; larger scales (a minute, hours, a day) spread the gaps over the time-to-convert
buckets and the events over several days, weeks and months for the trends. Every time-like option
(window, within/after, session timeout, since/until) is scaled with them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from conftest import examples

from helpers import run_engine_breakdown, run_engine_times, run_engine_trend
from reference import (
    MISSING, NOT_REACHED, OTHER, reference_funnel, reference_segment_stats, reference_segments,
    reference_time_to_convert, reference_trend,
)

ALPHABET = "ABCDXR"             # X and R never match a step: strict breakers, exclusion events
STEP_NAMES = "ABCD"
SEG_VALUES = ("x", "y", "z", None)
ORDERS = ("ordered", "strict", "any")
ATTRIBUTIONS = ("first_touch", "last_touch", "first_defined", "last_defined", "step")   # "step": step:N, N drawn
SPECIAL = (OTHER, MISSING, NOT_REACHED)

funnels = st.lists(st.sets(st.sampled_from(STEP_NAMES), min_size=1, max_size=3), min_size=1, max_size=4)
multi_step_funnels = st.lists(st.sets(st.sampled_from(STEP_NAMES), min_size=1, max_size=3), min_size=2, max_size=4)
some_funnels = st.one_of(multi_step_funnels, multi_step_funnels, funnels)
small_windows = st.one_of(st.integers(0, 8), st.integers(0, 40))


@dataclass
class Scenario:
    rows: list[tuple[int, int, str]]
    values: list[str | None]
    steps: list[set[str]]
    window: int
    options: dict = field(default_factory=dict)
    scale: int = 1

    def describe(self, extra: dict | None = None) -> str:
        """A readable failing case: funnel, window, options, then each user's events in input order
        as ``name@t{value}`` (no braces: the value is missing)."""
        lines = [f"funnel {[sorted(s) for s in self.steps]} window {self.window}s (time scale {self.scale}s, "
                 f"T = {max(t for _, t, _ in self.rows)})"]
        for key, value in {**self.options, **(extra or {})}.items():
            if key == "exclude":
                value = [f"{sorted(names)} between {lo} and {hi}" for names, lo, hi in value]
            lines.append(f"  {key}: {value}")
        for user in sorted({u for u, _, _ in self.rows}):
            lines.append(f"  u{user}: " + " ".join(
                f"{e}@{t}" + ("" if v is None else f"{{{v}}}")
                for (u, t, e), v in zip(self.rows, self.values) if u == user))
        return "\n".join(lines)


@st.composite
def scenarios(draw, *, order: str | None = None, vary: frozenset[str] = frozenset(),
              scales: tuple[int, ...] = (1,), max_span: int = 30, min_users: int = 1, max_users: int = 6,
              max_events: int = 20,
              per_user_values: bool = False, funnel_strategy=some_funnels, window_strategy=small_windows,
              shift_days: int = 0, jitter: bool = False) -> Scenario:
    """A random log with a segment value per event, a random funnel and options.

    vary: which of entry, limits, exclude, count, range, mature_only are drawn (the rest default).
    per_user_values: every event of a user has the user's one value (rule 8.2.1's last sentence).
    shift_days: move every timestamp back by up to that many days (trends across a month/year).
    window_strategy: the window in units of the drawn time scale.
    jitter: maybe (drawn per example) add 0..scale-1 seconds to each timestamp, so gaps and entry
    times also fall between the multiples of the scale.
    """
    scale = draw(st.sampled_from(scales))
    jittered = jitter and scale > 1 and draw(st.booleans())
    shift = -draw(st.integers(0, shift_days)) * 86400 if shift_days else 0
    n_users = draw(st.integers(min_users, max_users))
    span = draw(st.integers(0, max_span))
    rows, values = [], []
    for user in range(n_users):
        events = draw(st.lists(st.tuples(st.integers(0, span), st.sampled_from(ALPHABET), st.sampled_from(SEG_VALUES)),
                               min_size=1 if user == 0 else 0, max_size=max_events))
        user_value = draw(st.sampled_from(SEG_VALUES))
        for ts, name, value in events:
            offset = draw(st.integers(0, scale - 1)) if jittered else 0
            rows.append((user, ts * scale + offset + shift, name))
            values.append(user_value if per_user_values else value)
    permutation = draw(st.permutations(range(len(rows))))
    rows, values = [rows[i] for i in permutation], [values[i] for i in permutation]
    steps = draw(funnel_strategy)
    n = len(steps)
    window = draw(window_strategy) * scale
    options: dict = {"order": order or draw(st.sampled_from(ORDERS))}
    if "entry" in vary:
        options["entry"] = draw(st.sampled_from(["best_attempt", "first"]))
    if "limits" in vary and options["order"] != "any" and n > 1:
        within, after = [None], [None]
        for _ in range(n - 1):
            w, a = draw(st.one_of(st.none(), st.integers(0, 15))), draw(st.one_of(st.none(), st.integers(0, 15)))
            if w is not None and a is not None and a > w:
                w, a = a, w                  # the config rejects after > within on one step
            within.append(None if w is None else w * scale)
            after.append(None if a is None else a * scale)
        options["within"], options["after"] = within, after
    if "exclude" in vary and n > 1:
        exclusions = []
        for _ in range(draw(st.integers(0, 2))):
            lo = draw(st.integers(1, n - 1))
            exclusions.append((draw(st.sets(st.sampled_from(ALPHABET), min_size=1, max_size=2)), lo,
                               draw(st.integers(lo + 1, n))))
        options["exclude"] = exclusions
    if "count" in vary:
        options["count"] = draw(st.sampled_from(["users", "sessions", "totals"]))
        if options["count"] == "sessions":
            options["session_timeout"] = draw(st.integers(0, 10)) * scale
    if "range" in vary:
        since = draw(st.one_of(st.none(), st.integers(0, max_span)))
        length = draw(st.one_of(st.none(), st.integers(0, max_span)))
        options["since"] = None if since is None else since * scale + shift
        options["until"] = None if length is None else ((since or 0) + length) * scale + shift
    if "mature_only" in vary:
        options["mature_only"] = draw(st.booleans())
        options["open_windows"] = draw(st.sampled_from(["in_progress", "dropped"]))   # (4.13, with 4.8.3)
    return Scenario(rows, values, steps, window, options, scale)


def attribution_for(draw_or_data, kind: str, n_steps: int) -> str:
    return f"step:{draw_or_data.draw(st.integers(1, n_steps), label='N of step:N')}" if kind == "step" else kind


def draw_attribution(data, n_steps: int) -> str:
    """Any attribution, ``step:N`` with N drawn among the funnel's steps."""
    return attribution_for(data, data.draw(st.sampled_from(ATTRIBUTIONS), label="attribution"), n_steps)


def same_number(got, want, what: str) -> None:
    if got is None or want is None or (isinstance(got, float) and math.isnan(got)):
        got = None if got is None or (isinstance(got, float) and math.isnan(got)) else got
        assert got is None and want is None, f"{what}: engine {got}, reference {want}"
        return
    assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9), f"{what}: engine {got}, reference {want}"


# ---------------------------------------------------------------------------------------------
# 8.2 Breakdowns


def check_breakdown(scenario: Scenario, attribution: str, top: int) -> None:
    note(scenario.describe({"attribution": attribution, "top": top}))
    expected = reference_segments(scenario.rows, scenario.values, scenario.steps, scenario.window,
                                  attribution=attribution, top=top, **scenario.options)
    note("reference: " + "; ".join(f"{label} {seg.users} in progress {seg.in_progress} units {sorted(seg.reached)}"
                                   for label, seg in expected.items()))
    actual = run_engine_breakdown(scenario.rows, scenario.values, scenario.steps, scenario.window,
                                  attribution=attribution, top=top, **scenario.options)
    note(f"engine: {actual.users}")
    assert list(actual.segments) == list(expected), "segment order (rule 8.2.2): engine, reference"
    assert actual.steps_order == list(expected), "segment order in bd.steps: engine, reference"
    for label, seg in expected.items():
        got = actual.segments[label]
        assert got.users == seg.users, f"users of {label}: engine {got.users}, reference {seg.users}"
        assert got.in_progress == seg.in_progress, f"in_progress of {label}: engine {got.in_progress}, reference {seg.in_progress}"
        for k, (g, w) in enumerate(zip(got.median_seconds, seg.median_seconds, strict=True)):
            same_number(g, w, f"median seconds of {label} at step {k + 1}")


@pytest.mark.parametrize("attribution_kind", ATTRIBUTIONS)
@pytest.mark.parametrize("order", ORDERS)
@settings(max_examples=examples(40), deadline=None)
@given(data=st.data())
def test_breakdown_matches_reference(order, attribution_kind, data):
    """Rules 8.2.1-8.2.3 per order and attribution: segment order, users, in progress and median times."""
    scenario = data.draw(scenarios(order=order), label="scenario")
    attribution = attribution_for(data, attribution_kind, len(scenario.steps))
    top = data.draw(st.sampled_from([1, 2, 3, 10, 0]), label="top")
    check_breakdown(scenario, attribution, top)


@settings(max_examples=examples(100), deadline=None)
@given(data=st.data())
def test_breakdown_matches_reference_with_options(data):
    """The same with mature-only, since/until, entry first, limits, exclusions and sessions drawn."""
    scenario = data.draw(scenarios(vary=frozenset({"entry", "limits", "exclude", "count", "range", "mature_only"})),
                         label="scenario")
    attribution = draw_attribution(data, len(scenario.steps))
    check_breakdown(scenario, attribution, data.draw(st.sampled_from([1, 2, 3, 0]), label="top"))


@settings(max_examples=examples(50), deadline=None)
@given(data=st.data())
def test_breakdown_matches_reference_date_range_and_mature_only(data):
    """Rules 4.7 and 4.8.3 under a breakdown: only entrants in range, in-progress units left out."""
    scenario = data.draw(scenarios(vary=frozenset({"range", "mature_only"})), label="scenario")
    attribution = draw_attribution(data, len(scenario.steps))
    check_breakdown(scenario, attribution, data.draw(st.sampled_from([1, 2, 3]), label="top"))


@settings(max_examples=examples(50), deadline=None)
@given(data=st.data())
def test_segments_add_up_to_the_funnel(data):
    """Rule 8.2.3: the segments' users add up to the funnel's at every step (engine and reference),
    and the segments table's entrants, share, converted and rate follow from them."""
    scenario = data.draw(scenarios(vary=frozenset({"entry", "exclude", "count", "range", "mature_only"})),
                         label="scenario")
    attribution = draw_attribution(data, len(scenario.steps))
    top = data.draw(st.sampled_from([1, 2, 3, 0]), label="top")
    note(scenario.describe({"attribution": attribution, "top": top}))
    funnel = reference_funnel(scenario.rows, scenario.steps, scenario.window, **scenario.options)
    expected = reference_segments(scenario.rows, scenario.values, scenario.steps, scenario.window,
                                  attribution=attribution, top=top, **scenario.options)
    n = len(scenario.steps)
    assert [sum(s.users[k] for s in expected.values()) for k in range(n)] == funnel.users, "reference"
    actual = run_engine_breakdown(scenario.rows, scenario.values, scenario.steps, scenario.window,
                                  attribution=attribution, top=top, **scenario.options)
    assert actual.funnel_users == funnel.users, "the funnel's own users: engine, reference"
    assert [sum(s.users[k] for s in actual.segments.values()) for k in range(n)] == actual.funnel_users, \
        f"engine segments {actual.users} against the engine funnel {actual.funnel_users}"
    labels = list(actual.segments)
    assert len(set(labels)) == len(labels), f"a segment listed twice: {labels}"
    named = [x for x in labels if x not in SPECIAL]
    assert top == 0 or len(named) <= top, f"more than top={top} value segments: {labels}"
    assert labels == named + [x for x in SPECIAL if x in labels], f"special segments out of place: {labels}"
    total = sum(s.users[0] for s in actual.segments.values())
    for row in actual.frame.itertuples(index=False):
        seg = actual.segments[str(row.segment)]
        assert row.entrants == seg.users[0]
        assert row.converted == seg.users[-1]
        same_number(row.share, seg.users[0] / total, f"share of {row.segment}")
        same_number(row.rate, seg.users[-1] / seg.users[0], f"rate of {row.segment}")


def check_segment_stats(scenario: Scenario, attribution: str, top: int) -> None:
    note(scenario.describe({"attribution": attribution, "top": top}))
    segments = reference_segments(scenario.rows, scenario.values, scenario.steps, scenario.window,
                                  attribution=attribution, top=top, **scenario.options)
    expected = reference_segment_stats(segments)
    note("reference: " + "; ".join(f"{k} {v}" for k, v in expected.items()))
    actual = run_engine_breakdown(scenario.rows, scenario.values, scenario.steps, scenario.window,
                                  attribution=attribution, top=top, **scenario.options)
    assert list(actual.segments) == list(expected), "segment order: engine, reference"
    for row in actual.frame.itertuples(index=False):
        label = str(row.segment)
        want = expected[label]
        assert row.entrants == want.entrants and row.converted == want.converted, label
        for column in ("share", "rate", "rate_low", "rate_high", "rate_rest"):
            same_number(getattr(row, column), getattr(want, column), f"{column} of {label}")
        assert bool(row.too_small) == want.too_small or label == NOT_REACHED, f"too_small of {label}"
        assert bool(row.significant) == want.significant, f"significant of {label}"
        if want.test is None:
            assert row.p_value is None or math.isnan(row.p_value), f"{label} is not tested (8.2.5)"
            assert not row.test or (isinstance(row.test, float) and math.isnan(row.test)), f"test of {label}"
            continue
        assert str(row.test) == want.test, f"test of {label}: engine {row.test}, reference {want.test}"
        same_number(row.p_value, want.p_value, f"p_value of {label}")
        same_number(row.p_adjusted, want.p_adjusted, f"p_adjusted of {label}")


@settings(max_examples=examples(50), deadline=None)
@given(data=st.data())
def test_segment_statistics_on_small_logs(data):
    """Rules 8.2.4-8.2.5 on the usual small logs: Wilson interval, rest rate, Fisher's test, BH."""
    scenario = data.draw(scenarios(vary=frozenset({"count", "mature_only"})), label="scenario")
    attribution = draw_attribution(data, len(scenario.steps))
    check_segment_stats(scenario, attribution, data.draw(st.sampled_from([1, 2, 3, 0]), label="top"))


@st.composite
def segment_tables(draw) -> Scenario:
    """A funnel A -> B whose segments are arbitrary 2x2 tables: per value (x, y, z, missing) 0-70
    users entering with ``A@0``, of whom a drawn number convert with ``B@1`` (its value drawn
    separately, so last touch and step:2 move converters between segments). Big and lopsided
    enough for segments of 30+ units, the chi-square test and significant segments."""
    rows, values, user = [], [], 0
    for value in SEG_VALUES:
        size = draw(st.integers(0, 70), label=f"users with {value}")
        converters = draw(st.integers(0, size), label=f"converters with {value}")
        for i in range(size):
            rows.append((user, 0, "A"))
            values.append(value)
            if i < converters:
                rows.append((user, 1, "B"))
                values.append(draw(st.sampled_from(SEG_VALUES)) if draw(st.booleans()) else value)
            user += 1
    if not rows:
        rows, values = [(0, 0, "A")], ["x"]
    return Scenario(rows, values, [{"A"}, {"B"}], 10, {"order": "ordered"})


@settings(max_examples=examples(40), deadline=None)
@given(data=st.data())
def test_segment_statistics_on_large_tables(data):
    """Rules 8.2.4-8.2.5 with up to 280 users: chi-square and Fisher, too_small both ways, BH,
    significant segments."""
    scenario = data.draw(segment_tables(), label="scenario")
    attribution = data.draw(st.sampled_from(["first_touch", "last_touch", "step:2"]), label="attribution")
    check_segment_stats(scenario, attribution, data.draw(st.sampled_from([1, 2, 0]), label="top"))


def _segment_users(run, scenario: Scenario, attribution: str) -> dict[str, list[int]]:
    got = run(scenario.rows, scenario.values, scenario.steps, scenario.window, attribution=attribution, top=0,
              **scenario.options)
    return got.users if hasattr(got, "users") else {label: seg.users for label, seg in got.items()}


@pytest.mark.parametrize("order", ORDERS)
@settings(max_examples=examples(15), deadline=None)
@given(data=st.data())
def test_per_user_values_make_attribution_irrelevant(order, data):
    """Rule 8.2.1's last sentence: with one value per user, first and last touch give the same
    segments, and step:n (the last step) puts every completer in the same segment as first touch
    (engine and reference). In any order step:n can also hold units that did step n but not all
    steps, so only the completers are compared."""
    scenario = data.draw(scenarios(order=order, per_user_values=True), label="scenario")
    n = len(scenario.steps)
    note(scenario.describe())
    for run in (reference_segments, run_engine_breakdown):
        first = _segment_users(run, scenario, "first_touch")
        assert _segment_users(run, scenario, "last_touch") == first, f"{run.__name__}: last_touch, first_touch"
        last_step = _segment_users(run, scenario, f"step:{n}")
        assert last_step.get(NOT_REACHED, [0] * n)[n - 1] == 0, f"{run.__name__}: a completer in {NOT_REACHED}"
        completers = {label: u[n - 1] for label, u in last_step.items() if u[n - 1]}
        assert completers == {label: u[n - 1] for label, u in first.items() if u[n - 1]}, \
            f"{run.__name__}: completers per segment, step:{n} against first_touch"


# ---------------------------------------------------------------------------------------------
# 8.4 Time to convert

TIME_SCALES = (1, 7, 60, 299, 300, 900, 3600, 21600, 86400, 3 * 86400, 7 * 86400, 10 * 86400)


def check_times(scenario: Scenario) -> None:
    note(scenario.describe())
    expected = reference_time_to_convert(scenario.rows, scenario.steps, scenario.window, **scenario.options)
    note("reference: " + "; ".join(f"{t.from_step}->{t.to_step} gaps {t.gaps} buckets {t.buckets}" for t in expected))
    actual = run_engine_times(scenario.rows, scenario.steps, scenario.window, **scenario.options)
    assert [(t.from_step, t.to_step) for t in actual] == [(t.from_step, t.to_step) for t in expected], \
        "transitions (from_step, to_step): engine, reference"
    for got, want in zip(actual, expected):
        what = f"{want.from_step}->{want.to_step}"
        assert got.units == want.units, f"units of {what}: engine {got.units}, reference {want.units}"
        assert got.buckets == want.buckets, f"buckets of {what}: engine {got.buckets}, reference {want.buckets}"
        for p, value in want.percentiles.items():
            same_number(got.percentiles[p], value, f"p{round(p * 100)} of {what}")


@pytest.mark.parametrize("order", ORDERS)
@settings(max_examples=examples(60), deadline=None)
@given(data=st.data())
def test_time_to_convert_matches_reference(order, data):
    """Rule 8.4 per order: step-to-step and whole-funnel gaps, their percentiles and buckets."""
    check_times(data.draw(scenarios(order=order, scales=TIME_SCALES, jitter=True), label="scenario"))


@settings(max_examples=examples(100), deadline=None)
@given(data=st.data())
def test_time_to_convert_matches_reference_with_options(data):
    check_times(data.draw(scenarios(scales=TIME_SCALES, jitter=True, vary=frozenset(
        {"entry", "limits", "exclude", "count", "range", "mature_only"})), label="scenario"))


# ---------------------------------------------------------------------------------------------
# 8.3 Trends

TREND_SCALES = (5 * 3600, 17 * 3600, 86400, 2 * 86400)
MONTH_SCALES = (86400, 3 * 86400, 7 * 86400)
trend_windows = st.one_of(st.integers(0, 3), st.integers(0, 40))     # in units of the time scale


def check_trend(scenario: Scenario, period: str) -> None:
    note(scenario.describe({"trend": period}))
    expected = reference_trend(scenario.rows, scenario.steps, scenario.window, period=period, **scenario.options)
    note("reference: " + "; ".join(f"{c.start}s open={c.open} users {c.users} in progress {c.in_progress}"
                                   for c in expected))
    actual = run_engine_trend(scenario.rows, scenario.steps, scenario.window, period=period, **scenario.options)
    note("engine: " + "; ".join(f"{c.start}s open={c.open} users {c.users}" for c in actual))
    assert [c.start for c in actual] == [c.start for c in expected], "cohort starts (seconds): engine, reference"
    for got, want in zip(actual, expected):
        assert got.open == want.open, f"open of cohort {want.start}: engine {got.open}, reference {want.open}"
        assert got.users == want.users, f"users of cohort {want.start}: engine {got.users}, reference {want.users}"
        assert got.in_progress == want.in_progress, \
            f"in_progress of cohort {want.start}: engine {got.in_progress}, reference {want.in_progress}"


@pytest.mark.parametrize("period", ["day", "week", "month"])
@settings(max_examples=examples(45), deadline=None)
@given(data=st.data())
def test_trend_matches_reference(period, data):
    """Rules 8.3.1-8.3.2: cohorts by the counted attempt's step-1 event, gaps filled, open flag."""
    monthly = period == "month"
    scenario = data.draw(scenarios(scales=MONTH_SCALES if monthly else TREND_SCALES, max_span=40,
                                   window_strategy=trend_windows, jitter=True, shift_days=45 if monthly else 3),
                         label="scenario")
    check_trend(scenario, period)


@settings(max_examples=examples(80), deadline=None)
@given(data=st.data())
def test_trend_matches_reference_with_options(data):
    period = data.draw(st.sampled_from(["day", "week"]), label="period")
    scenario = data.draw(scenarios(scales=TREND_SCALES, max_span=40, window_strategy=trend_windows, jitter=True, vary=frozenset(
        {"entry", "limits", "exclude", "count", "range", "mature_only"})), label="scenario")
    check_trend(scenario, period)


@settings(max_examples=examples(100), deadline=None)
@given(data=st.data())
def test_reference_cohorts_add_up_and_only_open_ones_hold_in_progress(data):
    """Rules 8.3.1-8.3.2 on the reference: every counted unit is in some cohort at its furthest step,
    so the cohorts hold at least the funnel's numbers, and exactly them with entry: first (one
    attempt per unit); cohorts holding an in-progress unit are open."""
    period = data.draw(st.sampled_from(["day", "week", "month"]), label="period")
    scenario = data.draw(scenarios(scales=TREND_SCALES, max_span=40, window_strategy=trend_windows, jitter=True, vary=frozenset(
        {"entry", "limits", "exclude", "count", "range", "mature_only"})), label="scenario")
    note(scenario.describe({"trend": period}))
    funnel = reference_funnel(scenario.rows, scenario.steps, scenario.window, **scenario.options)
    cohorts = reference_trend(scenario.rows, scenario.steps, scenario.window, period=period, **scenario.options)
    n = len(scenario.steps)
    summed = [sum(c.users[k] for c in cohorts) for k in range(n)]
    assert all(s >= f for s, f in zip(summed, funnel.users)), (summed, funnel.users)
    if scenario.options.get("entry") == "first":
        assert summed == funnel.users
        assert [sum(c.in_progress[k] for c in cohorts) for k in range(n)] == funnel.in_progress
    assert all(c.open for c in cohorts if any(c.in_progress))
    assert all(a.start < b.start for a, b in zip(cohorts, cohorts[1:]))
    if cohorts:
        assert cohorts[0].users[0] and cohorts[-1].users[0], "the first and last cohorts have entrants"
