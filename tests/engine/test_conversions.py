"""Threshold conversions (semantics 7): the events at which a level is reached, checked by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from builders import EPOCH, events_of
from conftest import examples

import microconv
from microconv.engine.conversions import EventIndex


def index_for(conversions: dict, lines: str, **config) -> tuple[EventIndex, pd.DataFrame]:
    rows = [(user, int(t), *rest) for user, t, *rest in (line.split() for line in lines.strip().splitlines())]
    sessions = any(len(r) > 3 for r in rows)
    cfg = microconv.parse_config({
        "columns": {"user": "user_id", "event": "event_name", "timestamp": "timestamp",
                    **({"session": "sid"} if sessions else {})},
        "conversions": conversions, **config})
    frame = events_of(rows, cfg, ["sid"] if sessions else []).frame
    return EventIndex(cfg, frame, int(frame["ts"].max().value)), frame


def hits(index: EventIndex, name: str) -> list[int]:
    return np.flatnonzero(index.mask(name)).tolist()


def test_count_is_reached_at_the_nth_event_in_time_order():
    # u1's video_plays at t=5, 1, 9 (input order): the 2nd in time is t=5 (row 0); from then on it holds
    index, _ = index_for({"two_videos": {"event": "video_play", "count": ">= 2"}},
                         "u1 5 video_play\nu1 1 video_play\nu1 9 video_play\nu2 3 video_play\nu1 7 page_view")
    assert hits(index, "two_videos") == [0, 2]
    assert index.first_times("two_videos").to_dict() == {"u1": (EPOCH + pd.Timedelta(seconds=5)).value}


def test_first_time_per_user_is_the_earliest_hit_whatever_the_input_order():
    # u2's signups at t=8, 4 (input order) and u1's at 6, 9; u3 never signs up
    index, _ = index_for({"signup": {"event": "signup"}},
                         "u2 8 signup\nu1 6 signup\nu2 4 signup\nu3 1 page_view\nu1 9 signup")
    assert index.first_times("signup").to_dict() == {"u1": (EPOCH + pd.Timedelta(seconds=6)).value,
                                                     "u2": (EPOCH + pd.Timedelta(seconds=4)).value}


def test_users_with_flagged_events_or_with_any():
    index, frame = index_for({"signup": {"event": "signup"}},
                             "u2 8 signup\nu1 6 page_view\nu3 1 page_view\nu2 9 page_view")
    users = list(frame["user"].cat.categories)

    def named(flags):
        return sorted(u for u, hit in zip(users, flags) if hit)

    assert named(index.users_with(index.mask("signup"))) == ["u2"]
    assert named(index.users_with(frame["event"].to_numpy() == "page_view")) == ["u1", "u2", "u3"]
    assert named(index.users_with(np.zeros(len(frame), dtype=bool))) == []
    assert named(index.users_with()) == ["u1", "u2", "u3"]


def test_count_strictly_greater():
    index, _ = index_for({"many": {"event": "v", "count": "> 2"}}, "u1 1 v\nu1 2 v\nu1 3 v\nu2 1 v\nu2 2 v")
    assert hits(index, "many") == [2]


def test_pages_per_session_from_inactivity_gaps():
    # u1: pages at 0, 10, 20 (session 1, 3rd page at row 2), then 5000 (new session, 1 page)
    # u2: pages at 0, 60 then 4000 and 4010: never 3 in one session
    index, _ = index_for({"three_pages": {"session": {"pages": ">= 3"}}},
                         "u1 0 page_view\nu1 10 page_view\nu1 15 scroll\nu1 20 page_view\nu1 5000 page_view\n"
                         "u2 0 page_view\nu2 60 page_view\nu2 4000 page_view\nu2 4010 page_view",
                         session_timeout="30m")
    assert hits(index, "three_pages") == [3]
    assert list(index.first_times("three_pages").index) == ["u1"]


def test_pages_count_the_configured_events_in_a_session_column():
    index, _ = index_for({"two_screens": {"event": "screen_view", "session": {"pages": 2}}},
                         "u1 0 screen_view a\nu1 1 screen_view b\nu1 2 screen_view b\nu2 0 screen_view a\n"
                         "u2 1 screen_view a")
    assert hits(index, "two_screens") == [2, 4]


def test_session_duration_is_reached_at_the_first_event_that_far_from_the_session_start():
    # u1: session from 0: events at 0, 100, 130 -> 130 s >= 2m at row 2; u2: 0 and 119 -> never
    index, _ = index_for({"long_visit": {"session": {"duration": ">= 2m"}}},
                         "u1 0 page_view\nu1 100 scroll\nu1 130 scroll\nu2 0 page_view\nu2 119 scroll")
    assert hits(index, "long_visit") == [2]


def test_pages_and_duration_together_must_both_hold():
    index, _ = index_for({"engaged": {"session": {"pages": ">= 2", "duration": ">= 60s"}}},
                         "u1 0 page_view\nu1 30 page_view\nu1 70 scroll\nu1 80 page_view")
    assert hits(index, "engaged") == [3]  # row 1 has 2 pages but 30 s; row 2 has 70 s but is no page


@pytest.mark.parametrize("bad,message", [
    ({"event": "v", "count": "<= 2"}, "is not a threshold"),
    ({"event": "v", "count": "lots"}, "is not a threshold"),
    ({"session": {}}, "needs 'pages' and/or 'duration'"),
    ({"kind": "secondary"}, "needs 'event'"),
    ({"event": "v", "count": 2, "session": {"pages": 3}}, "not both"),
])
def test_bad_thresholds_are_config_errors(bad, message):
    with pytest.raises(microconv.ConfigError) as err:
        microconv.parse_config({"conversions": {"c": bad}})
    assert message in str(err.value)


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5), st.booleans()), max_size=40), st.integers(1, 3))
def test_threshold_holds_from_the_nth_flagged_event_of_the_group(rows, n):
    """``_reached_at`` against its definition: a flagged event's count is how many flagged events of
    its group come at or before it in (time, input order)."""
    from microconv.engine.conversions import _reached_at
    group = np.array([g for g, _, _ in rows], dtype=np.int64)
    ts = np.array([t for _, t, _ in rows], dtype=np.int64) * 1_000_000_000
    flags = np.array([f for _, _, f in rows], dtype=bool)
    expected = [f and sum(1 for j, (h, u, e) in enumerate(rows) if e and h == g and (u, j) <= (t, i)) >= n
                for i, (g, t, f) in enumerate(rows)]
    assert _reached_at(group, ts, flags, (">=", n)).tolist() == expected
