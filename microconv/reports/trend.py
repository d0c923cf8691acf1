"""Conversion by entry cohort (docs/semantics.md 8.3): is the funnel getting better or worse?

A cohort's numbers come from the attempts that started in its period only, so once every window
of those attempts has closed nothing after the end of the data can change them: a later attempt
of the same unit counts in its own, later cohort instead of moving the unit out of this one.

The partial counts per period (its ordinal) that occurs, and remembers the periods with an
attempt still open; the range of periods listed and which are open at T are made in
:func:`finalize`, from every shard's periods.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..engine.clock import NS_MAX
from ..engine.distinct import distinct
from ..engine.funnel import Replay, best_attempts
from ..load.timestamps import localize
from .funnel import FunnelContext, Tally
from .results import TREND_COLUMNS, TrendResult

PERIODS = {"day": "D", "week": "W-SUN", "month": "M"}  # W-SUN: weeks ending Sunday, so starting Monday
_LAST_LOCAL = pd.Timestamp("2262-04-13")      # past the last ns timestamp in every zone, inside Python's datetime


@dataclass(frozen=True)
class TrendContext:
    funnel: FunnelContext
    period: str          # a key of PERIODS
    timezone: str
    last_ts: int         # T (4.8), ns


@dataclass(frozen=True, eq=False)
class TrendPartial:
    """A :class:`Tally` with one group per cohort period (``ordinals``, ascending, pandas period
    ordinals), and the ordinals of the periods in which an attempt is still open (8.3.2)."""

    unit: str
    steps: int
    ordinals: np.ndarray
    tally: Tally
    open: np.ndarray


def partial(rep: Replay, ctx: TrendContext) -> TrendPartial:
    """Each unit once in every period in which one of its attempts started, at the furthest step
    of its clean attempts there (8.3.1)."""
    att = rep.attempts
    k = len(rep.plan.masks)
    ordinal = period_ordinals(rep.events.ts[att.pos[:, 0]], ctx.period, ctx.timezone)
    clean = np.where(rep.spoiled, 0, att.reached)
    if rep.plan.totals:             # 4.10: each counted attempt in the period of its step-1 event
        starts = counted = rep.counted
        best, still_open = clean[starts], rep.open[starts]
    else:                           # attempts come by unit, then step-1 time: a (unit, period) pair is a run
        starts = (np.flatnonzero(np.r_[True, (att.unit[1:] != att.unit[:-1]) | (ordinal[1:] != ordinal[:-1])])
                  if len(att.unit) else np.zeros(0, dtype=np.int64))
        best, counted = best_attempts(clean, starts)
        still_open = np.logical_or.reduceat(rep.open, starts) if len(starts) else rep.open[:0]
    waiting = still_open & (best < k) & (best > 0) & (rep.plan.open_windows != "dropped")     # (4.13)
    kept = (best > 0) & ~(waiting & rep.plan.mature_only)
    ordinals, cohort = np.unique(ordinal[starts][kept], return_inverse=True)
    did = att.pos[counted[kept]] >= 0 if any(rep.plan.optional) else None     # 4.12.3: per (unit, period)
    tally = Tally.of(rep, cohort.astype(np.int64).reshape(-1), len(ordinals), best=best[kept],
                     waiting=waiting[kept], medians=False, did=did)
    return TrendPartial(rep.kind, k, ordinals, tally, distinct(ordinal[starts][still_open]))


def merge(a: TrendPartial, b: TrendPartial) -> TrendPartial:
    ordinals = np.union1d(a.ordinals, b.ordinals)
    tally = (a.tally.regroup(np.searchsorted(ordinals, a.ordinals), len(ordinals))
             + b.tally.regroup(np.searchsorted(ordinals, b.ordinals), len(ordinals)))
    return TrendPartial(a.unit, a.steps, ordinals, tally, np.union1d(a.open, b.open))


def finalize(p: TrendPartial, ctx: TrendContext) -> TrendResult:
    """Every period from the first cohort to the last (empty ones too), each open while the
    period has not ended at T or an attempt that started in it (counted or not: left out by
    mature_only, or not clean) still has an open window (8.3.2)."""
    f = ctx.funnel
    if not len(p.ordinals):
        return TrendResult(f.name, f.label, ctx.period, p.unit, pd.DataFrame(columns=TREND_COLUMNS))
    first = int(p.ordinals[0])
    n = int(p.ordinals[-1]) - first + 1
    tally = p.tally.regroup(p.ordinals - first, n)
    starts, ended = period_range(first, n, ctx.period, ctx.timezone, ctx.last_ts)
    runs = p.open - first
    inside = runs[(runs >= 0) & (runs < n)]
    is_open = ~ended | (np.bincount(inside, minlength=n) > 0)
    rows = [
        {"funnel": f.name, "period": start, "open": bool(is_open[g]), **vars(row)}
        for g, (start, steps) in enumerate(zip(starts, tally.rows(f.step_names)))
        for row in steps
    ]
    return TrendResult(f.name, f.label, ctx.period, p.unit, pd.DataFrame(rows)[TREND_COLUMNS])


def period_ordinals(ts_ns: np.ndarray, period: str, timezone: str) -> np.ndarray:
    """Per UTC timestamp (ns): the pandas ordinal of its local ``period`` (1.5)."""
    local = pd.DatetimeIndex(pd.to_datetime(ts_ns, utc=True)).as_unit("us").tz_convert(timezone).tz_localize(None)
    return local.to_period(PERIODS[period]).asi8


def period_range(first: int, n: int, period: str, timezone: str, last_ts: int) -> tuple[list[str], np.ndarray]:
    """The ``n`` periods from ordinal ``first``: each one's first day (YYYY-MM-DD), and whether it
    had ended at T (``last_ts``, ns), in local time."""
    periods = pd.period_range(start=pd.Period(ordinal=first, freq=PERIODS[period]), periods=n)
    ends = _utc_ns((periods + 1).to_timestamp(), timezone)
    return [p.start_time.strftime("%Y-%m-%d") for p in periods], ends <= int(last_ts)


def _utc_ns(local_midnights: pd.DatetimeIndex, timezone: str) -> np.ndarray:
    """Local wall times as UTC nanoseconds, read like naive timestamps in the data (rule 1.3); a
    period ending past 2262-04-11 ends at the last nanosecond there is (rule 1.5)."""
    local = pd.Series(local_midnights.as_unit("us"))
    ints = localize(local.clip(upper=_LAST_LOCAL), timezone).array.asi8      # (us: no overflow)
    return np.where(ints > NS_MAX // 1000, NS_MAX, ints * 1000)
