"""SortedEvents' tie bounds and the packed sort, against the definitions written out by hand."""
from unittest.mock import patch

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from conftest import examples

from microconv.engine.replay import SortedEvents, unit_time_order

events = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4)), max_size=40).map(sorted)


def test_tie_bounds_by_hand():
    # positions:         0  1  2  3  4  5  6
    unit = np.array([0, 0, 0, 0, 1, 1, 2])
    ts = np.array([5, 7, 7, 7, 7, 7, 1])
    ev = SortedEvents(unit, ts, np.arange(7))
    assert ev.tie_start(np.arange(7)).tolist() == [0, 1, 1, 1, 4, 4, 6]
    assert ev.tie_end(np.arange(7)).tolist() == [1, 4, 4, 4, 6, 6, 7]


@settings(max_examples=examples(300), deadline=None)
@given(events)
def test_tie_bounds_are_the_group_of_equal_unit_and_time(rows):
    unit = np.array([u for u, _ in rows], dtype=np.int64)
    ts = np.array([t for _, t in rows], dtype=np.int64)
    ev = SortedEvents(unit, ts, np.arange(len(rows)))
    same = [[j for j in range(len(rows)) if rows[j] == rows[i]] for i in range(len(rows))]
    assert ev.tie_start(np.arange(len(rows))).tolist() == [s[0] for s in same]
    assert ev.tie_end(np.arange(len(rows))).tolist() == [s[-1] + 1 for s in same]


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(-3, 3).map(lambda k: k * 1_000_000_000)), max_size=40))
def test_packed_order_is_unit_then_time_then_input_order(rows):
    unit = np.array([u for u, _ in rows], dtype=np.int64)
    ts = np.array([t for _, t in rows], dtype=np.int64)
    expected = sorted(range(len(rows)), key=lambda i: (rows[i][0], rows[i][1], i))
    assert unit_time_order(unit, ts).tolist() == expected


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 4)), max_size=60))
def test_sorting_in_two_threads_gives_the_one_thread_order(rows):
    from microconv.engine import replay
    unit = np.array([u for u, _ in rows], dtype=np.int64)
    ts = np.array([t for _, t in rows], dtype=np.int64) * 1_000_000_000
    one = SortedEvents.build(unit, ts, np.arange(len(rows)))
    with patch.object(replay, "SORT_SPLIT_MIN", 0):       # every sort in two halves of the units
        two = SortedEvents.build(unit, ts, np.arange(len(rows)), threads=2)
    expected = sorted(range(len(rows)), key=lambda i: (rows[i][0], rows[i][1], i))
    assert two.row.tolist() == one.row.tolist() == expected
    assert two.unit.tolist() == one.unit.tolist() and two.ts.tolist() == one.ts.tolist()


def _spy_argsort(monkeypatch) -> list[list[int]]:
    """The units handed to the stable argsort, per call."""
    from microconv.engine import replay
    calls, real = [], replay._unit_time_argsort
    monkeypatch.setattr(replay, "_unit_time_argsort", lambda u, t: calls.append(u.tolist()) or real(u, t))
    return calls


def test_a_log_in_time_order_is_sorted_without_an_argsort(monkeypatch):
    calls = _spy_argsort(monkeypatch)
    unit = np.array([2, 0, 1, 0, 2, 0])
    ts = np.array([1, 1, 2, 3, 3, 9]) * 1_000_000_000
    assert unit_time_order(unit, ts).tolist() == [1, 3, 5, 2, 0, 4]
    assert calls == []


def test_only_the_units_whose_times_go_back_are_sorted_again(monkeypatch):
    calls = _spy_argsort(monkeypatch)
    unit = np.array([0, 1, 1, 2, 1, 0])
    ts = np.array([5, 4, 6, 1, 5, 7]) * 1_000_000_000   # unit 1 goes back from 6 to 5; 0 and 2 do not
    assert unit_time_order(unit, ts).tolist() == [0, 5, 1, 4, 2, 3]
    assert calls == [[1, 1, 1]]


def test_unit_codes_too_wide_to_pack_with_positions_still_sort():
    unit = np.array([2**62, 0, 2**62, 0])
    ts = np.array([3, 2, 1, 2])
    assert unit_time_order(unit, ts).tolist() == [1, 3, 2, 0]


def test_sparse_unit_codes_and_a_span_of_centuries_still_sort():
    unit = np.array([2**40, 2**40, 5])
    assert unit_time_order(unit, np.array([2, 1, 9])).tolist() == [2, 1, 0]
    ts = np.array([7 * 10**18, -8 * 10**18 + 1, 0])
    assert unit_time_order(np.zeros(3, dtype=np.int64), ts).tolist() == [1, 2, 0]


def test_attempts_keep_unit_codes_too_wide_for_int32():
    """Positions fit in int32 for a few events, but unit codes need not (sessions of a huge log):
    the attempts keep the events' unit type."""
    from microconv.engine.replay import replay_ordered
    code = 2**31 + 5
    events = SortedEvents(np.array([code, code], dtype=np.int64), np.array([0, 1], dtype=np.int64), np.arange(2))
    att = replay_ordered(events, np.array([0]), [np.array([True, False]), np.array([False, True])], window=10,
                         within=(None, None), after=(None, None))
    assert att.unit.tolist() == [code]
    assert att.reached.tolist() == [2] and att.pos.tolist() == [[0, 1]]
