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


def test_open_when_the_period_ends_less_than_a_window_before_the_end_of_data():
    # T = 2026-03-10T09:00; window 1 day: a day is open when it ends after 2026-03-09T09:00
    frame = run(ROWS, "day").drop_duplicates("period").set_index("period")["open"]
    assert frame["2026-03-08"] is False or not frame["2026-03-08"]          # ends 03-09T00:00 + 1d <= T
    assert frame["2026-03-09"] and frame["2026-03-10"]                       # ends 03-10T00:00 + 1d > T
    weekly = run(ROWS, "week").drop_duplicates("period").set_index("period")["open"]
    assert not weekly["2026-03-02"] and weekly["2026-03-09"]


def test_an_old_cohort_is_open_while_one_of_its_units_is_in_progress():
    # u1 entered on 1 March and reached nothing; a later attempt on 10 March is still open,
    # so u1 is in progress, counted in its counted attempt's cohort (1 March, the earliest)
    rows = [("u1", "2026-03-01T10:00:00Z", "A"), ("u1", "2026-03-10T08:00:00Z", "A"),
            ("u9", "2026-03-10T09:00:00Z", "X")]
    frame = run(rows, "day")
    first = frame[frame["period"] == "2026-03-01"]
    assert first["open"].all() and first["in_progress"].tolist() == [1, 0]
    mature = run(rows, "day", mature_only=True)
    assert mature.empty


@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_cohorts_add_up_to_the_funnel(period):
    frame = run(ROWS, period)
    assert sum(users(frame, 1).values()) == 4 and sum(users(frame, 2).values()) == 2
