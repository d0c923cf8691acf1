"""Hypothesis tests: the vectorised engine against the literal reference on random small logs.

Timestamps are drawn from a narrow integer range so that equal timestamps (rule 3.3), repeated
step names (rule 3.4) and several attempts per user (rules 3.1, 3.6, 3.7) come up all the time;
integer seconds keep the medians exact.

The second half draws the funnel options of section 4 (order, entry, within/after, exclusions,
sessions, date range, mature-only): one test draws a random combination of all of them, and one
test per option varies that option alone, so that a failure names the rule it breaks.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st
from builders import events_of
from conftest import examples

import microconv
import microconv.engine.funnel as funnel_engine
import microconv.engine.replay as replay_engine
from helpers import assert_same, engine_funnel, funnel_config, run_engine, same_median
from microconv.run.replay import replay_funnel
from microconv.engine.funnel import elapsed
from reference import reference_funnel

ALPHABET = "ABCDX"
STEP_NAMES = "ABCD"

Row = tuple[int, int, str]


@st.composite
def logs(draw, alphabet: str = ALPHABET) -> list[Row]:
    """1-6 users with 0-25 events each, interleaved in a random input order; never empty,
    because an input with no usable row is an error before any counting (load_events)."""
    n_users = draw(st.integers(1, 6))
    span = draw(st.integers(0, 30))
    rows: list[Row] = []
    for user in range(n_users):
        events = draw(st.lists(st.tuples(st.integers(0, span), st.sampled_from(alphabet)), max_size=25))
        rows.extend((user, ts, name) for ts, name in events)
    order = draw(st.permutations(range(len(rows))))
    return [rows[i] for i in order]


funnels = st.lists(st.sets(st.sampled_from(STEP_NAMES), min_size=1, max_size=3), min_size=1, max_size=4)
windows = st.integers(0, 40)
nonempty_logs = logs().filter(bool)


@pytest.fixture(autouse=True, scope="module")
def replay_in_parts():
    """Every engine run here that replays one funnel alone cuts its events in two parts (one per
    thread) whenever there are two units or more, and sorts them in two halves, so the reference
    also checks the joined parts."""
    saved = funnel_engine.SPLIT_MIN_EVENTS, replay_engine.SORT_SPLIT_MIN
    funnel_engine.SPLIT_MIN_EVENTS = replay_engine.SORT_SPLIT_MIN = 0
    yield
    funnel_engine.SPLIT_MIN_EVENTS, replay_engine.SORT_SPLIT_MIN = saved


def describe(rows: list[Row], steps: list[set[str]], window: int, options: dict | None = None) -> str:
    """A readable failing case: the funnel, the window, the options that are not the default,
    and each user's events in input order."""
    lines = [f"funnel {[sorted(s) for s in steps]} window {window}s"]
    held = (options or {}).get("held") or [None] * len(rows)
    for key, value in (options or {}).items():
        if key == "exclude":
            value = [f"{sorted(names)} between {lo} and {hi}" for names, lo, hi in value]
        if key != "held":
            lines.append(f"  {key}: {value}")
    for user in sorted({u for u, _, _ in rows}):      # with hold, each event's value after a colon
        lines.append(f"  u{user}: " + " ".join(f"{e}@{t}" + (f":{v}" if "held" in (options or {}) else "")
                                               for (u, t, e), v in zip(rows, held) if u == user))
    return "\n".join(lines)


@settings(max_examples=examples(300), deadline=None)
@given(rows=nonempty_logs, steps=funnels, window=windows)
def test_engine_matches_reference(rows, steps, window):
    note(describe(rows, steps, window))
    expected = reference_funnel(rows, steps, window)
    actual = run_engine(rows, steps, window)
    assert actual.reached == expected.reached
    assert actual.users == expected.users
    for k, (got, want) in enumerate(zip(actual.median_seconds, expected.median_seconds, strict=True)):
        assert same_median(got, want), f"median at step {k + 1}: engine {got}, reference {want}"


@pytest.mark.parametrize("run", [run_engine, reference_funnel], ids=["engine", "reference"])
@settings(max_examples=examples(300), deadline=None)
@given(rows=nonempty_logs, steps=funnels, window=windows)
def test_users_never_grow_down_the_funnel(run, rows, steps, window):
    """Rule 3.6: users at step k count everyone whose best attempt reached k *or further*."""
    note(describe(rows, steps, window))
    result = run(rows, steps, window)
    assert all(a >= b for a, b in zip(result.users, result.users[1:])), result.users
    assert result.users == [sum(r >= k for r in result.reached.values()) for k in range(1, len(steps) + 1)]


@pytest.mark.parametrize("run", [run_engine, reference_funnel], ids=["engine", "reference"])
@settings(max_examples=examples(300), deadline=None)
@given(rows=nonempty_logs, steps=funnels, window=windows)
def test_duplicating_every_row_never_lowers_reached(run, rows, steps, window):
    """Rule 1.2: exact duplicates are distinct events, and by rule 3.4 they can only add steps."""
    note(describe(rows, steps, window))
    doubled = [row for row in rows for _ in range(2)]
    before = run(rows, steps, window).reached
    after = run(doubled, steps, window).reached
    lowered = {u: (r, after.get(u, 0)) for u, r in before.items() if after.get(u, 0) < r}
    assert not lowered, f"user: (reached before, after duplicating) {lowered}"


@settings(max_examples=examples(300), deadline=None)
@given(rows=nonempty_logs, steps=funnels, window=windows)
def test_table_columns_follow_from_users(rows, steps, window):
    """Section 5: rates and drops are pure arithmetic on ``users`` and ``in_progress`` (users_{k-1} =
    users_k + dropped_k + in_progress_{k-1}); rates are empty on a 0 denominator."""
    note(describe(rows, steps, window))
    frame = engine_funnel(rows, steps, window).to_frame().sort_values("step")
    users, waiting = list(frame["users"]), list(frame["in_progress"])
    for k, row in enumerate(frame.itertuples(index=False)):
        prev = users[k - 1] if k else None
        assert row.step == k + 1
        assert row.dropped == (prev - users[k] - waiting[k - 1] if k else 0)
        assert row.dropped >= 0
        _assert_rate(row.rate_from_start, users[k], users[0])
        if k:
            _assert_rate(row.rate_from_previous, users[k], prev)
        elif users[0]:
            assert row.rate_from_previous == 1


def _assert_rate(got: float, num: int, den: int) -> None:
    if den == 0:
        assert math.isnan(got), f"{num}/{den} should be empty, got {got}"
    else:
        assert math.isclose(got, num / den), f"{num}/{den} = {num / den}, got {got}"


# ---------------------------------------------------------------------------------------------
# Section 4: funnel options.

OPTION_ALPHABET = "ABCDXR"      # R never matches a step: a pure exclusion (or strict breaker)
ORDERS = ("ordered", "strict", "any")
VARIED = frozenset({"order", "entry", "limits", "exclude", "count", "range", "mature_only", "hold", "counting"})
PRESETS = ("microconv", "posthog", "mixpanel", "amplitude", "clickhouse")
HELD_VALUES = st.sampled_from(["x", "y", None])    # two values and a missing one (4.11)

# mostly 2-4 steps: limits, exclusions and the any-order rows need a second step
option_funnels = st.one_of(*[st.lists(st.sets(st.sampled_from(STEP_NAMES), min_size=1, max_size=3),
                                      min_size=2, max_size=4)] * 3, funnels)
option_windows = st.one_of(st.integers(0, 8), windows)  # short windows often end inside the log
limits = st.one_of(st.none(), st.integers(0, 15))
# (within, after) of one step; the config rejects after > within on a step ("no event could match")
step_limits = st.tuples(limits, limits).map(lambda p: p if None in p or p[1] <= p[0] else (p[1], p[0]))


@st.composite
def exclusions(draw, n_steps: int) -> tuple[set[str], int, int]:
    """One exclusion: 1-2 names (step names too: rule 4.4.1 counts them whatever else they
    match) between two steps FROM < TO."""
    names = draw(st.sets(st.sampled_from(OPTION_ALPHABET), min_size=1, max_size=2))
    lo = draw(st.integers(1, n_steps - 1))
    hi = draw(st.integers(lo + 1, n_steps))
    return names, lo, hi


@st.composite
def scenarios(draw, vary: frozenset[str] = VARIED, orders: tuple[str, ...] = ORDERS, min_exclusions: int = 0,
              **fixed):
    """(rows, steps, window, options): the options in ``vary`` are drawn, ``fixed`` ones are set,
    the rest keep their defaults. within/after only outside order any, step 1 always None, and
    never after > within on one step; exclusions only with 2+ steps (FROM < TO), as the config."""
    rows = draw(logs(OPTION_ALPHABET).filter(bool))
    steps = draw(option_funnels)
    window = draw(option_windows)
    n = len(steps)
    options: dict = dict(fixed)
    if "order" in vary:
        options["order"] = draw(st.sampled_from(orders))
    if "entry" in vary:
        options["entry"] = draw(st.sampled_from(["best_attempt", "first"]))
    if "limits" in vary and options.get("order", "ordered") != "any" and n > 1:
        pairs = draw(st.lists(step_limits, min_size=n - 1, max_size=n - 1))
        options["within"] = [None, *(w for w, _ in pairs)]
        options["after"] = [None, *(a for _, a in pairs)]
    if "exclude" in vary and n > 1:
        options["exclude"] = draw(st.lists(exclusions(n), min_size=min_exclusions, max_size=2))
    if "count" in vary:
        options["count"] = draw(st.sampled_from(["users", "sessions", "totals"]))
    if options.get("count") == "sessions":
        options["session_timeout"] = draw(st.integers(0, 10))
    if "range" in vary:
        since = draw(st.one_of(st.none(), st.integers(0, 30)))
        length = draw(st.one_of(st.none(), st.integers(0, 30)))     # 0: an empty range
        options["since"] = since
        options["until"] = None if length is None else (since or 0) + length
    if "mature_only" in vary:
        options["mature_only"] = draw(st.booleans())
    if "hold" in vary and draw(st.booleans()):
        options["held"] = draw(st.lists(HELD_VALUES, min_size=len(rows), max_size=len(rows)))
    if "counting" in vary and draw(st.booleans()):
        options["counting"] = draw(st.sampled_from(PRESETS))
        if options["counting"] == "posthog" and options.get("order") == "any":
            options.pop("exclude", None)                  # its any order is unordered (4.9.5)
        if draw(st.booleans()):
            options["open_windows"] = draw(st.sampled_from(["in_progress", "dropped"]))
    return rows, steps, window, options


def check_against_reference(scenario) -> None:
    rows, steps, window, options = scenario
    note(describe(rows, steps, window, options))
    expected = reference_funnel(rows, steps, window, **options)
    note(f"reference: reached {expected.reached} users {expected.users} in_progress {expected.in_progress} "
         f"excluded {expected.excluded}")
    assert_same(run_engine(rows, steps, window, **options), expected)


@settings(max_examples=examples(300), deadline=None)
@given(scenario=scenarios())
def test_engine_matches_reference_with_any_options(scenario):
    check_against_reference(scenario)


@settings(max_examples=examples(300), deadline=None)
@given(scenario=scenarios(vary=frozenset(), order="strict"))
def test_engine_matches_reference_strict(scenario):
    """Rule 4.1 alone."""
    check_against_reference(scenario)


@settings(max_examples=examples(300), deadline=None)
@given(scenario=scenarios(vary=frozenset(), order="any"))
def test_engine_matches_reference_any_order(scenario):
    """Rule 4.2 alone."""
    check_against_reference(scenario)


@settings(max_examples=examples(300), deadline=None)
@given(scenario=scenarios(vary=frozenset({"order", "limits"}), orders=("ordered", "strict")))
def test_engine_matches_reference_within_after(scenario):
    """Rule 4.3: random within/after, ordered or strict."""
    check_against_reference(scenario)


@settings(max_examples=examples(600), deadline=None)      # the bounds of 4.4.1 need exact ties: more examples
@given(scenario=scenarios(vary=frozenset({"order", "exclude"}), min_exclusions=1))
def test_engine_matches_reference_exclusions(scenario):
    """Rule 4.4: 1-2 random exclusions with random between, in every order."""
    check_against_reference(scenario)


@settings(max_examples=examples(100), deadline=None)
@given(scenario=scenarios(vary=frozenset({"order", "exclude"}), min_exclusions=1))
def test_engine_matches_reference_with_more_than_64_masks(scenario):
    """The replay packs each event's step and exclusion matches into the bits of one integer; past
    64 of them, into several: the same exclusions repeated up to 70 masks give the same result."""
    rows, steps, window, options = scenario
    assume(options.get("exclude"))                    # a one-step funnel has no exclusions
    options = {**options, "exclude": options["exclude"] * (70 // len(options["exclude"]))}
    check_against_reference((rows, steps, window, options))


@settings(max_examples=examples(300), deadline=None)
@given(scenario=scenarios(vary=frozenset({"order"}), entry="first"))
def test_engine_matches_reference_entry_first(scenario):
    """Rule 4.5, in every order."""
    check_against_reference(scenario)


@settings(max_examples=examples(300), deadline=None)
@given(scenario=scenarios(vary=frozenset(), count="sessions"))
def test_engine_matches_reference_sessions(scenario):
    """Rule 4.6: inactivity sessions with a 0-10 s timeout."""
    check_against_reference(scenario)


@settings(max_examples=examples(300), deadline=None)
@given(scenario=scenarios(vary=frozenset({"range"})))
def test_engine_matches_reference_date_range(scenario):
    """Rule 4.7: random since/until (possibly empty)."""
    check_against_reference(scenario)


@settings(max_examples=examples(300), deadline=None)
@given(scenario=scenarios(vary=frozenset(), mature_only=True))
def test_engine_matches_reference_mature_only(scenario):
    """Rule 4.8.3 (in_progress itself is compared in every test above)."""
    check_against_reference(scenario)


@settings(max_examples=examples(300), deadline=None)
@given(scenario=scenarios())
def test_users_never_grow_down_the_funnel_in_any_mode(scenario):
    """Rules 3.6, 4.2.2, 4.8.2 on the reference: users fall (or stay) step by step and follow from
    reached; in-progress units sit at their furthest step, never at the last, and are among those
    that stopped there; mature-only leaves none."""
    rows, steps, window, options = scenario
    note(describe(rows, steps, window, options))
    result = reference_funnel(rows, steps, window, **options)
    users = result.users
    assert all(a >= b for a, b in zip(users, users[1:])), users
    assert users == [sum(r >= k for r in result.reached.values()) for k in range(1, len(steps) + 1)]
    stopped = [a - b for a, b in zip(users, [*users[1:], 0])]
    assert all(p <= s for p, s in zip(result.in_progress, stopped)), (result.in_progress, stopped)
    assert result.in_progress[-1] == 0
    if options.get("mature_only"):
        assert not any(result.in_progress)


@settings(max_examples=examples(300), deadline=None)
@given(scenario=scenarios(vary=VARIED - {"mature_only"}))
def test_mature_only_leaves_out_exactly_the_in_progress_units(scenario):
    """Rule 4.8.3 on the reference: the same units and steps, less the in-progress ones."""
    rows, steps, window, options = scenario
    note(describe(rows, steps, window, options))
    everyone = reference_funnel(rows, steps, window, **options)
    mature = reference_funnel(rows, steps, window, **options, mature_only=True)
    assert mature.reached.items() <= everyone.reached.items()
    left_out = [everyone.reached[u] for u in everyone.reached.keys() - mature.reached.keys()]
    assert [left_out.count(k) for k in range(1, len(steps) + 1)] == everyone.in_progress
    assert mature.excluded == everyone.excluded
    assert mature.dropped == everyone.dropped, "rule 5: in-progress units never count as dropped"


@settings(max_examples=examples(300), deadline=None)
@given(scenario=scenarios(vary=VARIED - {"exclude", "mature_only", "entry"}))
def test_entry_first_never_goes_further_than_the_best_attempt(scenario):
    """Rule 4.5 on the reference, without exclusions: the same entrants, each reaching at most as
    far as with every attempt tried (the first attempt is one of them). (Totals count attempts:
    with entry first, one per user; rule 4.10 has its own tests.)"""
    rows, steps, window, options = scenario
    assume(options.get("count") != "totals")
    note(describe(rows, steps, window, options))
    best = reference_funnel(rows, steps, window, **options).reached
    first = reference_funnel(rows, steps, window, **options, entry="first").reached
    assert first.keys() == best.keys()
    assert all(first[u] <= best[u] for u in first), {u: (first[u], best[u]) for u in first if first[u] > best[u]}


@settings(max_examples=examples(300), deadline=None)
@given(scenario=scenarios(vary=frozenset({"order", "entry", "limits", "exclude", "range", "mature_only"}),
                          count="totals"))
def test_engine_matches_reference_totals(scenario):
    """Rule 4.10 in every order, with the other options drawn at random: strict breaks, within
    limits and exclusions are where the end of one counted attempt is decided."""
    check_against_reference(scenario)


def with_optional_steps(scenario, data):
    """The scenario with random middle steps made optional (rule 4.12), dropping what the config
    would reject there: limits on an optional step and exclusions that name one."""
    rows, steps, window, options = scenario
    n = len(steps)
    optional = [False, *data.draw(st.lists(st.booleans(), min_size=n - 2, max_size=n - 2), label="optional"), False]
    options = {**options, "optional": optional}
    for key in ("within", "after"):
        if key in options:
            options[key] = [None if o else x for o, x in zip(optional, options[key])]
    if "exclude" in options:
        options["exclude"] = [x for x in options["exclude"] if not (optional[x[1] - 1] or optional[x[2] - 1])]
    return rows, steps, window, options


@settings(max_examples=examples(300), deadline=None)
@given(scenario=scenarios(vary=frozenset(), order="ordered").filter(lambda s: len(s[1]) >= 3), data=st.data())
def test_engine_matches_reference_optional(scenario, data):
    """Rule 4.12 alone: middle steps of 3-4 step funnels optional at random."""
    check_against_reference(with_optional_steps(scenario, data))


@settings(max_examples=examples(300), deadline=None)
@given(scenario=scenarios(vary=VARIED - {"order"}, order="ordered").filter(lambda s: len(s[1]) >= 3),
       data=st.data())
def test_engine_matches_reference_optional_with_any_options(scenario, data):
    """Rule 4.12 with entry, limits, exclusions, sessions, totals, date range, mature-only and hold
    drawn at random."""
    check_against_reference(with_optional_steps(scenario, data))


def _replay(scenario, threads: int, share_sort: bool = False):
    rows, steps, window, options = scenario
    held = options.get("held")
    options = {k: v for k, v in options.items() if k not in ("since", "until", "mature_only", "held")}
    cfg = microconv.parse_config(funnel_config(steps, window, hold=held is not None, **options))
    rows = rows if held is None else [(*row, value) for row, value in zip(rows, held)]
    frame = events_of(rows, cfg, ["p"] if held is not None else []).frame
    return replay_funnel(cfg, frame, "f", threads=threads, share_sort=share_sort)


@settings(max_examples=examples(300), deadline=None)
@given(scenario=scenarios(vary=frozenset({"order", "entry", "exclude", "count", "limits"}),
                          orders=("ordered", "strict", "any", "unordered")), data=st.data())
def test_engine_matches_reference_hold(scenario, data):
    """Rule 4.11 in every order (its own replay order for all but strict), with entry, exclusions,
    sessions, totals and limits drawn at random; values x, y and missing."""
    rows, steps, window, options = scenario
    options = dict(options)
    if options.get("order") == "unordered":         # 4.9.5: no exclusions or limits there
        for key in ("exclude", "within", "after"):
            options.pop(key, None)
    options["held"] = data.draw(st.lists(HELD_VALUES, min_size=len(rows), max_size=len(rows)), label="held")
    check_against_reference((rows, steps, window, options))


@settings(max_examples=examples(300), deadline=None)
@given(scenario=scenarios(vary=frozenset({"order", "entry", "limits", "exclude", "count", "hold"})))
def test_a_replay_in_two_parts_is_the_replay_in_one(scenario):
    """Not only the counts: every attempt, stop reason and culprit that explain shows."""
    one, two = _replay(scenario, 1), _replay(scenario, 2)
    for name in ("unit", "pos", "reached", "stop", "stop_pos"):
        assert getattr(one.attempts, name).tolist() == getattr(two.attempts, name).tolist(), name
    for name in ("spoiled", "open", "unit", "best", "counted", "in_progress", "kept"):
        assert getattr(one, name).tolist() == getattr(two, name).tolist(), name
    for rep in (one, two):      # each run's thread times its own units' steps; joined, they are the whole's
        for step in range(1, len(rep.plan.masks)):
            units = np.flatnonzero(rep.best[rep.kept] > step)
            assert rep.step_seconds(step).tolist() == (elapsed(rep, units, step - 1, step) / 1e9).tolist(), step


@settings(max_examples=examples(300), deadline=None)
@given(scenario=scenarios(vary=frozenset({"order", "entry", "limits", "exclude", "count", "hold"})))
def test_a_replay_from_the_runs_shared_sort_is_the_replay_from_its_own(scenario):
    """Several funnels take their events and masks from one sort of every event (api.replay_funnel's
    share_sort): the same attempts, positions and counts as a funnel sorting its own events."""
    own, shared = _replay(scenario, 1), _replay(scenario, 1, share_sort=True)
    assert own.events.row.tolist() == shared.events.row.tolist()
    for name in ("unit", "pos", "reached", "stop", "stop_pos"):
        assert getattr(own.attempts, name).tolist() == getattr(shared.attempts, name).tolist(), name
    for name in ("spoiled", "open", "unit", "best", "counted", "in_progress", "kept"):
        assert getattr(own, name).tolist() == getattr(shared, name).tolist(), name


# ---------------------------------------------------------------------------------------------
# Rule 4.9: order: unordered (no exclusions, no within/after: a config error there). Steps are
# drawn as sets of names, so events matching several steps (the matching of 4.9.2) come up often.

UNORDERED_OPTIONS = frozenset({"entry", "count", "range", "mature_only"})


@settings(max_examples=examples(300), deadline=None)
@given(scenario=scenarios(vary=frozenset(), order="unordered"))
def test_engine_matches_reference_unordered(scenario):
    check_against_reference(scenario)


@settings(max_examples=examples(300), deadline=None)
@given(scenario=scenarios(vary=UNORDERED_OPTIONS, order="unordered"))
def test_engine_matches_reference_unordered_with_options(scenario):
    """Entry, count, date range and mature-only drawn at random with order: unordered."""
    check_against_reference(scenario)


@settings(max_examples=examples(200), deadline=None)
@given(scenario=scenarios(vary=frozenset({"entry", "count"}), order="unordered"))
def test_an_unordered_replay_in_two_parts_or_from_a_shared_sort_is_the_same(scenario):
    one, two, shared = _replay(scenario, 1), _replay(scenario, 2), _replay(scenario, 1, share_sort=True)
    for other in (two, shared):
        for name in ("unit", "pos", "reached", "stop"):
            assert getattr(one.attempts, name).tolist() == getattr(other.attempts, name).tolist(), name
        for name in ("best", "counted", "in_progress", "kept"):
            assert getattr(one, name).tolist() == getattr(other, name).tolist(), name
    for step in range(1, len(one.plan.masks)):
        units = np.flatnonzero(one.best[one.kept] > step)
        assert one.step_seconds(step).tolist() == (elapsed(one, units, step - 1, step) / 1e9).tolist(), step


@pytest.mark.parametrize("options, message", [
    ({"exclude": [({"R"}, 1, 2)]}, "has exclusions, which order: unordered does not support"),
    ({"within": [None, 5]}, "'within' needs a previous step, which order: unordered does not have"),
    ({"after": [None, 5]}, "'after' needs a previous step, which order: unordered does not have"),
])
def test_unordered_rejects_exclusions_and_step_limits(options, message):
    """Rule 4.9.5: a config error, not a silent meaning."""
    with pytest.raises(microconv.ConfigError, match=message):
        microconv.parse_config(funnel_config([{"A"}, {"B"}], 10, order="unordered", **options))
