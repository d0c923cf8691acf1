"""Sessions (semantics 4.6): from a column, or cut at inactivity gaps; which can still grow (4.8)."""
from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from builders import EPOCH as T0, events_of
from conftest import examples

import microconv
from microconv.engine.replay import SortedEvents, sort_by_unit_time
from microconv.engine.units import sessions_from_column, sessions_from_gaps, sessions_of, users

COLUMNS = {"user": "user_id", "event": "event_name", "timestamp": "timestamp"}


def _frame(rows, session=None):
    """The canonical frame of (user, seconds) rows of one event "e", with these session ids if given."""
    columns = COLUMNS if session is None else {**COLUMNS, "session": "sid"}
    cfg = microconv.parse_config({"columns": columns, "conversions": {"e": {"event": "e"}}})
    if session is None:
        return events_of([(u, s, "e") for u, s in rows], cfg).frame
    return events_of([(u, s, "e", sid) for (u, s), sid in zip(rows, session)], cfg, ["sid"]).frame


def _labels(units):
    return [units.labels[c] for c in units.code]


def test_gaps_longer_than_the_timeout_start_a_session_and_equal_gaps_do_not():
    # u1: 0, 10 (gap 10 = timeout: same), 21 (gap 11: new), input out of time order; u2: 5
    frame = _frame([("u1", 21), ("u1", 0), ("u2", 5), ("u1", 10)])
    units = sessions_from_gaps(frame, timeout_ns=10 * 10**9, last_ts=(T0 + pd.Timedelta(seconds=21)).value)
    assert _labels(units) == [("u1", 2), ("u1", 1), ("u2", 1), ("u1", 1)]
    assert units.kind == "sessions"
    # open: the user's last session whose last event + timeout is after the end of the data (21)
    assert dict(zip(units.labels, units.open)) == {("u1", 1): False, ("u1", 2): True, ("u2", 1): False}


def test_sessions_from_a_column_pair_user_and_id_and_pool_missing_ids():
    frame = _frame([("u1", 0), ("u1", 1), ("u2", 2), ("u1", 3), ("u1", 4)], session=["a", "b", "a", None, None])
    units = sessions_from_column(frame, "$session")
    assert _labels(units) == [("u1", "a"), ("u1", "b"), ("u2", "a"), ("u1", ""), ("u1", "")]
    assert units.open.all()


def test_users_are_their_own_units():
    frame = _frame([("u2", 0), ("u1", 1), ("u2", 2)])
    units = users(frame)
    assert _labels(units) == ["u2", "u1", "u2"] and units.kind == "users"


def test_no_events_make_no_sessions():
    frame = _frame([])
    units = sessions_from_gaps(frame, timeout_ns=10 * 10**9, last_ts=T0.value)
    assert len(units.code) == 0 and len(units.labels) == 0 and len(units.open) == 0


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 60)), max_size=30),
       st.integers(0, 70))
def test_sessions_match_a_per_user_walk_and_come_sorted(rows, end):
    """Each user's events in time order (input order on ties), numbered 1, 2, ... at every gap over
    the timeout; a user's last session is open when its last event + timeout passes the end of
    the data. The events sessions_of hands back are sorted by (session, time) as a sort would."""
    frame = _frame(rows)
    timeout, last_ts = 10 * 10**9, (T0 + pd.Timedelta(seconds=end)).value
    units = sessions_from_gaps(frame, timeout_ns=timeout, last_ts=last_ts)
    expected, open_ = {}, {}
    for user in sorted({u for u, _ in rows}):
        mine = sorted((s, i) for i, (u, s) in enumerate(rows) if u == user)
        number = 1
        for k, (s, i) in enumerate(mine):
            if k and s - mine[k - 1][0] > 10:
                number += 1
            expected[i] = (user, number)
        open_.update({(user, n): False for n in range(1, number)})
        open_[(user, number)] = (T0 + pd.Timedelta(seconds=mine[-1][0])).value + timeout > last_ts
    assert _labels(units) == [expected[i] for i in range(len(rows))]
    assert dict(zip(units.labels, units.open)) == open_
    user = frame["user"].cat.codes.to_numpy()
    ts = frame["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
    _, by_session = sessions_of(SortedEvents.build(user, ts, None), frame["user"].cat.categories, timeout, last_ts)
    order, unit, times = sort_by_unit_time(units.code, ts)
    assert (by_session.row.tolist(), by_session.unit.tolist(), by_session.ts.tolist()) == \
        (order.tolist(), unit.tolist(), times.tolist())
