"""Hypothesis tests: the vectorised engine against the literal reference on random small logs.

Timestamps are drawn from a narrow integer range so that equal timestamps (rule 3.3), repeated
step names (rule 3.4) and several attempts per user (rules 3.1, 3.6, 3.7) come up all the time;
integer seconds keep the medians exact.
"""
from __future__ import annotations

import math

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from helpers import engine_funnel, run_engine, same_median
from reference import reference_funnel

ALPHABET = "ABCDX"
STEP_NAMES = "ABCD"

Row = tuple[int, int, str]


@st.composite
def logs(draw) -> list[Row]:
    """1-6 users with 0-25 events each, interleaved in a random input order; never empty,
    because an input with no usable row is an error before any counting (load_events)."""
    n_users = draw(st.integers(1, 6))
    span = draw(st.integers(0, 30))
    rows: list[Row] = []
    for user in range(n_users):
        events = draw(st.lists(st.tuples(st.integers(0, span), st.sampled_from(ALPHABET)), max_size=25))
        rows.extend((user, ts, name) for ts, name in events)
    order = draw(st.permutations(range(len(rows))))
    return [rows[i] for i in order]


funnels = st.lists(st.sets(st.sampled_from(STEP_NAMES), min_size=1, max_size=3), min_size=1, max_size=4)
windows = st.integers(0, 40)
nonempty_logs = logs().filter(bool)


def describe(rows: list[Row], steps: list[set[str]], window: int) -> str:
    """A readable failing case: the funnel, the window, and each user's events in input order."""
    lines = [f"funnel {[sorted(s) for s in steps]} window {window}s"]
    for user in sorted({u for u, _, _ in rows}):
        lines.append(f"  u{user}: " + " ".join(f"{e}@{t}" for u, t, e in rows if u == user))
    return "\n".join(lines)


@settings(max_examples=300, deadline=None)
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
@settings(max_examples=300, deadline=None)
@given(rows=nonempty_logs, steps=funnels, window=windows)
def test_users_never_grow_down_the_funnel(run, rows, steps, window):
    """Rule 3.6: users at step k count everyone whose best attempt reached k *or further*."""
    note(describe(rows, steps, window))
    result = run(rows, steps, window)
    assert all(a >= b for a, b in zip(result.users, result.users[1:])), result.users
    assert result.users == [sum(r >= k for r in result.reached.values()) for k in range(1, len(steps) + 1)]


@pytest.mark.parametrize("run", [run_engine, reference_funnel], ids=["engine", "reference"])
@settings(max_examples=300, deadline=None)
@given(rows=nonempty_logs, steps=funnels, window=windows)
def test_duplicating_every_row_never_lowers_reached(run, rows, steps, window):
    """Rule 1.2: exact duplicates are distinct events, and by rule 3.4 they can only add steps."""
    note(describe(rows, steps, window))
    doubled = [row for row in rows for _ in range(2)]
    before = run(rows, steps, window).reached
    after = run(doubled, steps, window).reached
    lowered = {u: (r, after.get(u, 0)) for u, r in before.items() if after.get(u, 0) < r}
    assert not lowered, f"user: (reached before, after duplicating) {lowered}"


@settings(max_examples=300, deadline=None)
@given(rows=nonempty_logs, steps=funnels, window=windows)
def test_table_columns_follow_from_users(rows, steps, window):
    """Section 4: rates and drops are pure arithmetic on ``users``; rates are empty on a 0 denominator."""
    note(describe(rows, steps, window))
    frame = engine_funnel(rows, steps, window).to_frame().sort_values("step")
    users = list(frame["users"])
    for k, row in enumerate(frame.itertuples(index=False)):
        prev = users[k - 1] if k else None
        assert row.step == k + 1
        assert row.dropped == (prev - users[k] if k else 0)
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
