"""The terminal summary's numbers (reports/summary.py), checked by hand on small results."""
from __future__ import annotations

import math

import pandas as pd

from microconv.reports.results import MICRO_COLUMNS, AnalysisResult, FunnelReports, FunnelResult, MicroReport, StepRow
from microconv.reports.summary import funnel_line, rank_micro, summarize


def _funnel(steps, optional=()) -> FunnelResult:
    rows = tuple(StepRow(i + 1, name, users, users / steps[0][1], float("nan"), dropped, float("nan"), waiting)
                 for i, (name, users, dropped, waiting) in enumerate(steps))
    return FunnelResult("f", "F", 3600.0, rows, pd.Series(dtype=int), optional=optional)


def test_largest_drop_off_is_a_share_of_the_step_before():
    # 100 enter; 60 reach B (30 dropped, 10 still in progress at A); 12 reach C (45 dropped, 3 waiting at B)
    line = funnel_line(_funnel([("A", 100, 0, 10), ("B", 60, 30, 3), ("C", 12, 45, 0)]))
    assert (line.entrants, line.converted, line.rate) == (100, 12, 0.12)
    assert (line.drop_step, line.drop_name, line.dropped) == (3, "C", 45)
    assert line.drop_share == 45 / 60 and line.in_progress == 13


def test_drop_off_after_an_optional_step_is_of_the_required_step_before():
    # step 2 is optional: the 50 lost before C are counted from A's 100, not from B's 20 (4.12)
    line = funnel_line(_funnel([("A", 100, 0, 0), ("B", 20, 0, 0), ("C", 50, 50, 0)], optional=(2,)))
    assert line.drop_step == 3 and line.drop_share == 0.5


def test_nobody_dropped_has_no_drop_off():
    line = funnel_line(_funnel([("A", 3, 0, 1), ("B", 2, 0, 1)]))
    assert line.drop_step is None and line.dropped == 0 and math.isnan(line.drop_share)


def _micro(rows) -> MicroReport:
    frame = pd.DataFrame([{c: None for c in MICRO_COLUMNS} | r for r in rows], columns=MICRO_COLUMNS)
    return MicroReport("buy", 1000, 100, None, frame)


def _row(name, lift, significant, p, too_few=False, implied=False):
    return {"conversion": name, "label": name, "lift": lift, "significant": significant, "p_adjusted": p,
            "too_few": too_few, "implied": implied, "users": 10}


def test_micro_rows_ranked_significant_first_then_by_distance_from_one():
    m = _micro([_row("weak", 1.1, True, 0.01), _row("loud", 3.0, False, 0.2), _row("halves", 0.5, True, 0.001),
                _row("doubles", 2.0, True, 0.03), _row("small", 9.0, False, float("nan"), too_few=True),
                _row("path", float("nan"), False, float("nan"), implied=True)])
    ranked, implied = rank_micro(m)
    # 0.5x and 2x are equally far from 1 (|log| = 0.69): the smaller p first; the not significant 3x after them
    assert ranked["conversion"].tolist() == ["halves", "doubles", "weak", "loud", "small"]
    assert implied == ("path",)


def test_summary_takes_the_top_rows_and_counts_the_ranked():
    m = _micro([_row(f"c{i}", 1 + i / 10, True, 0.01) for i in range(1, 8)])
    s = summarize(AnalysisResult((FunnelReports("f", "F", _funnel([("A", 4, 0, 0), ("B", 1, 3, 0)])),), micro=m),
                  top=5)
    assert s.micro["conversion"].tolist() == ["c7", "c6", "c5", "c4", "c3"] and s.ranked == 7
    assert (s.population, s.converters, s.funnels[0].drop_share) == (1000, 100, 0.75)
