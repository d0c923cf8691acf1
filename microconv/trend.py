"""Conversion by entry cohort (docs/semantics.md 8.3): is the funnel getting better or worse?"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .engine.funnel import Replay, group_numbers, step_rows
from .events import localize
from .results import TREND_COLUMNS, TrendResult

PERIODS = {"day": "D", "week": "W-SUN", "month": "M"}  # W-SUN: weeks ending Sunday, so starting Monday


def trend(rep: Replay, *, funnel: str, label: str, period: str, timezone: str, window_ns: int, last_ts: int,
          step_names: Sequence[str]) -> TrendResult:
    """Step numbers per period of the counted attempt's step-1 event, in ``timezone``."""
    t1 = rep.events.ts[rep.counted_pos[:, 0]]
    if not len(t1):
        return TrendResult(funnel, label, period, rep.units.kind, pd.DataFrame(columns=TREND_COLUMNS))
    local = pd.DatetimeIndex(pd.to_datetime(t1, utc=True)).tz_convert(timezone).tz_localize(None)
    ordinal = local.to_period(PERIODS[period]).asi8
    first = int(ordinal.min())
    n = int(ordinal.max()) - first + 1
    numbers = group_numbers(rep, (ordinal - first).astype(np.int64), n)
    periods = pd.period_range(start=pd.Period(ordinal=first, freq=PERIODS[period]), periods=n)
    ends = _utc_ns((periods + 1).to_timestamp(), timezone)
    is_open = (ends + window_ns > last_ts) | (numbers.in_progress.sum(axis=1) > 0)
    rows = [
        {"funnel": funnel, "period": p.start_time.strftime("%Y-%m-%d"), "open": bool(is_open[g]), **vars(row)}
        for g, p in enumerate(periods)
        for row in step_rows(numbers.counts[g], numbers.in_progress[g], numbers.medians[g], step_names)
    ]
    return TrendResult(funnel, label, period, rep.units.kind, pd.DataFrame(rows)[TREND_COLUMNS])


def _utc_ns(local_midnights: pd.DatetimeIndex, timezone: str) -> np.ndarray:
    """Local wall times as UTC nanoseconds, read like naive timestamps in the data (rule 1.3)."""
    return localize(pd.Series(local_midnights), timezone).to_numpy(dtype="datetime64[ns]").view("int64")
