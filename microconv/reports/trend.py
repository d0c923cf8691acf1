"""Conversion by entry cohort (docs/semantics.md 8.3): is the funnel getting better or worse?

A cohort's numbers come from the attempts that started in its period only, so once every window
of those attempts has closed nothing after the end of the data can change them: a later attempt
of the same unit counts in its own, later cohort instead of moving the unit out of this one.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..engine.funnel import Replay, reach_tables, step_rows
from ..engine.clock import NS_MAX
from ..load.events import localize
from .results import TREND_COLUMNS, TrendResult

PERIODS = {"day": "D", "week": "W-SUN", "month": "M"}  # W-SUN: weeks ending Sunday, so starting Monday
_LAST_LOCAL = pd.Timestamp("2262-04-13")      # past the last ns timestamp in every zone, inside Python's datetime


def trend(rep: Replay, *, funnel: str, label: str, period: str, timezone: str, window_ns: int, last_ts: int,
          step_names: Sequence[str]) -> TrendResult:
    """Step numbers per period of the step-1 event, in ``timezone``: each unit once in every period
    in which one of its attempts started, at the furthest step of its clean attempts there (8.3.1)."""
    att = rep.attempts
    k = len(rep.plan.masks)
    if not len(att.unit):
        return TrendResult(funnel, label, period, rep.units.kind, pd.DataFrame(columns=TREND_COLUMNS))
    t1 = rep.events.ts[att.pos[:, 0]]
    local = pd.DatetimeIndex(pd.to_datetime(t1, utc=True)).as_unit("us").tz_convert(timezone).tz_localize(None)  # (1.5)
    ordinal = local.to_period(PERIODS[period]).asi8
    # Attempts come by unit, then step-1 time: a (unit, period) pair is a run of them.
    starts = np.flatnonzero(np.r_[True, (att.unit[1:] != att.unit[:-1]) | (ordinal[1:] != ordinal[:-1])])
    best = np.maximum.reduceat(np.where(rep.spoiled, 0, att.reached), starts)
    waiting = np.logical_or.reduceat(rep.open, starts) & (best < k) & (best > 0)
    kept = (best > 0) & ~(waiting & rep.plan.mature_only)
    cohort = ordinal[starts][kept]
    if not len(cohort):
        return TrendResult(funnel, label, period, rep.units.kind, pd.DataFrame(columns=TREND_COLUMNS))
    first = int(cohort.min())
    n = int(cohort.max()) - first + 1
    counts, stopped = reach_tables(best[kept], waiting[kept], (cohort - first).astype(np.int64), n, k)
    periods = pd.period_range(start=pd.Period(ordinal=first, freq=PERIODS[period]), periods=n)
    ends = _utc_ns((periods + 1).to_timestamp(), timezone)
    # 8.3.2: open while the period has not ended at T, or one of the attempts that started in it
    # (counted or not: left out by --mature-only, or not clean) still has an open window.
    runs = ordinal[starts] - first
    inside = (runs >= 0) & (runs < n)
    still_open = np.logical_or.reduceat(rep.open, starts)[inside]
    is_open = (ends > int(last_ts)) | (np.bincount(runs[inside], weights=still_open, minlength=n) > 0)
    no_medians = np.full(k, np.nan)
    rows = [
        {"funnel": funnel, "period": p.start_time.strftime("%Y-%m-%d"), "open": bool(is_open[g]), **vars(row)}
        for g, p in enumerate(periods)
        for row in step_rows(counts[g], stopped[g], no_medians, step_names)
    ]
    return TrendResult(funnel, label, period, rep.units.kind, pd.DataFrame(rows)[TREND_COLUMNS])


def _utc_ns(local_midnights: pd.DatetimeIndex, timezone: str) -> np.ndarray:
    """Local wall times as UTC nanoseconds, read like naive timestamps in the data (rule 1.3); a
    period ending past 2262-04-11 ends at the last nanosecond there is (rule 1.5)."""
    local = pd.Series(local_midnights.as_unit("us"))
    ints = localize(local.clip(upper=_LAST_LOCAL), timezone).array.asi8      # (us: no overflow)
    return np.where(ints > NS_MAX // 1000, NS_MAX, ints * 1000)
