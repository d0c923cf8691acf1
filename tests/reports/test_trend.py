"""Trends by entry cohort (docs/semantics.md 8.3), on logs whose periods can be read off by hand."""
from __future__ import annotations

import pandas as pd
import pytest

import microconv


def run(rows, period, *, window="1d", timezone="UTC", **options) -> pd.DataFrame:
    """rows: (user, ISO time, event) for the funnel [A, B]; the trend frame."""
    cfg = microconv.parse_config({
        "columns": {"user": "u", "event": "e", "timestamp": "t", "timezone": timezone},
        "funnels": {"f": {"steps": [{"event": "A"}, {"event": "B"}], "window": window}},
    })
    events, _ = microconv.canonicalize(pd.DataFrame(rows, columns=["u", "t", "e"]), cfg)
    return microconv.analyze(cfg, events, trend=period, **options).trends[0].frame


def users(frame: pd.DataFrame, step: int) -> dict[str, int]:
    return dict(zip(frame.loc[frame["step"] == step, "period"], frame.loc[frame["step"] == step, "users"]))


ROWS = [
    ("u1", "2026-03-02T10:00:00Z", "A"), ("u1", "2026-03-02T11:00:00Z", "B"),   # Monday
    ("u2", "2026-03-03T23:30:00Z", "A"),                                         # Tuesday
    ("u3", "2026-03-05T12:00:00Z", "A"), ("u3", "2026-03-06T01:00:00Z", "B"),   # Thursday, done next day
    ("u4", "2026-03-10T09:00:00Z", "A"),                                         # next Tuesday
    ("u5", "2026-03-10T09:00:00Z", "X"),                                         # T = 2026-03-10T09:00
]


def test_days_with_gaps_filled_and_the_cohort_is_the_step_1_day():
    frame = run(ROWS, "day")
    assert list(users(frame, 1)) == [f"2026-03-{d:02d}" for d in range(2, 11)]
    assert users(frame, 1)["2026-03-05"] == 1 and users(frame, 2)["2026-03-05"] == 1   # B on the 6th counts on the 5th
    assert users(frame, 1)["2026-03-07"] == 0
    assert sum(users(frame, 1).values()) == 4 and sum(users(frame, 2).values()) == 2


def test_weeks_start_on_monday():
    frame = run(ROWS, "week")
    assert users(frame, 1) == {"2026-03-02": 3, "2026-03-09": 1}
    assert users(frame, 2) == {"2026-03-02": 2, "2026-03-09": 0}


def test_months():
    rows = [("u1", "2026-01-31T23:00:00Z", "A"), ("u2", "2026-03-01T00:00:00Z", "A")]
    assert users(run(rows, "month"), 1) == {"2026-01-01": 1, "2026-02-01": 0, "2026-03-01": 1}


def test_periods_are_in_the_configured_timezone():
    # 23:30 UTC on 3 March is 00:30 on 4 March in Berlin (UTC+1)
    frame = run(ROWS, "day", timezone="Europe/Berlin")
    assert users(frame, 1)["2026-03-04"] == 1 and users(frame, 1)["2026-03-03"] == 0


def test_open_while_the_period_has_not_ended_or_one_of_its_attempts_is_open():
    # T = 2026-03-10T09:00, window 1 day. 8 and 9 March: ended before T, and nobody entered (an
    # empty day cannot change); 10 March: not over at T (u4 entered at 09:00, its window is open).
    frame = run(ROWS, "day").drop_duplicates("period").set_index("period")["open"]
    assert not frame["2026-03-08"] and not frame["2026-03-09"] and frame["2026-03-10"]
    assert not frame["2026-03-03"]          # u2's A at 03-03 23:30: its window closed 03-04 23:30 < T
    weekly = run(ROWS, "week").drop_duplicates("period").set_index("period")["open"]
    assert not weekly["2026-03-02"] and weekly["2026-03-09"]


def by_period(frame: pd.DataFrame, column: str) -> dict[str, list]:
    return {p: rows.sort_values("step")[column].tolist() for p, rows in frame.groupby("period")}


def test_an_old_cohort_closes_although_its_unit_has_a_later_open_attempt():
    # u1 entered on 1 March and reached nothing; a later attempt on 10 March is still open (T is
    # 10 March 09:00, window 1 day). Each attempt counts in its own day (8.3.1): the later one cannot
    # change 1 March, which is closed; u1 is in progress on 10 March only.
    rows = [("u1", "2026-03-01T10:00:00Z", "A"), ("u1", "2026-03-10T08:00:00Z", "A"),
            ("u9", "2026-03-10T09:00:00Z", "X")]
    frame = run(rows, "day")
    first = frame[frame["period"] == "2026-03-01"]
    assert not first["open"].any() and first["users"].tolist() == [1, 0] and first["in_progress"].tolist() == [0, 0]
    last = frame[frame["period"] == "2026-03-10"]
    assert last["open"].all() and last["users"].tolist() == [1, 0] and last["in_progress"].tolist() == [1, 0]
    # --mature-only leaves out u1 where it is in progress (10 March), not where it is settled
    mature = run(rows, "day", mature_only=True)
    assert by_period(mature, "users") == {"2026-03-01": [1, 0]}


def test_weeks_of_a_month_long_log_close_a_window_after_they_end():
    # The probe: a user who comes back every week kept every week of a month "open". Window 7 days,
    # T = Tuesday 31 March 12:00. Only the week of 30 March is open (not over at T; u1's attempt of
    # the 31st is open). The week of 23 March ended on the 30th and its one attempt (23 March 12:00)
    # closed on 30 March 12:00 <= T: nothing can change it.
    rows = [("u1", f"2026-03-{d:02d}T12:00:00Z", "A") for d in (2, 9, 16, 23, 31)]
    rows += [("u2", "2026-03-03T12:00:00Z", "A"), ("u2", "2026-03-04T12:00:00Z", "B")]
    frame = run(rows, "week", window="7d")
    assert by_period(frame, "open") == {"2026-03-02": [False] * 2, "2026-03-09": [False] * 2,
                                        "2026-03-16": [False] * 2, "2026-03-23": [False] * 2, "2026-03-30": [True] * 2}
    assert by_period(frame, "users") == {"2026-03-02": [2, 1], "2026-03-09": [1, 0], "2026-03-16": [1, 0],
                                         "2026-03-23": [1, 0], "2026-03-30": [1, 0]}
    # u1 is in progress only in the week of its open attempts (23 March: 23 + 7 > 31 is false; 31 March: open)
    assert by_period(frame, "in_progress") == {"2026-03-02": [0, 0], "2026-03-09": [0, 0], "2026-03-16": [0, 0],
                                               "2026-03-23": [0, 0], "2026-03-30": [1, 0]}


def test_a_unit_that_entered_in_two_periods_counts_in_both():
    # u1 tried on Monday 2 March and failed, came back on 10 March and bought: the week of 2 March
    # keeps its failed try, the week of 9 March its purchase; the funnel counts u1 once, at step 2.
    rows = [("u1", "2026-03-02T10:00:00Z", "A"), ("u1", "2026-03-10T10:00:00Z", "A"),
            ("u1", "2026-03-10T11:00:00Z", "B"), ("u9", "2026-03-20T00:00:00Z", "X")]
    frame = run(rows, "week")
    assert by_period(frame, "users") == {"2026-03-02": [1, 0], "2026-03-09": [1, 1]}
    cfg = microconv.parse_config({"columns": {"user": "u", "event": "e", "timestamp": "t"},
                                  "funnels": {"f": {"steps": [{"event": "A"}, {"event": "B"}], "window": "1d"}}})
    events, _ = microconv.canonicalize(pd.DataFrame(rows, columns=["u", "t", "e"]), cfg)
    assert [s.users for s in microconv.analyze(cfg, events).funnels[0].steps] == [1, 1]


@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_cohorts_add_up_to_the_funnel(period):
    frame = run(ROWS, period)
    assert sum(users(frame, 1).values()) == 4 and sum(users(frame, 2).values()) == 2
