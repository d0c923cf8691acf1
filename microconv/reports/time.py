"""How long conversion takes, per step and for the whole funnel (docs/semantics.md 8.4).

A median alone hides the long tail that decides how long a window should be, so the result
also has quartiles, p90 and a fixed set of buckets. The partial keeps every duration (an
unsorted multiset per transition): exact percentiles need them all, and they merge by joining.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..engine.funnel import Replay, elapsed
from .funnel import FunnelContext
from .results import BUCKETS, TIME_COLUMNS, TimeResult

EDGES = np.array([lower for _, lower in BUCKETS], dtype=float)
QUANTILES = (25, 50, 75, 90)


@dataclass(frozen=True, eq=False)
class TimePartial:
    """Per transition (``pairs``, 1-based steps): the seconds of every unit that made it."""

    unit: str
    pairs: tuple[tuple[int, int], ...]
    seconds: tuple[np.ndarray, ...]


def partial(rep: Replay, ctx: FunnelContext | None = None) -> TimePartial:
    """Transitions k-1 -> k (the units that reached k; from the required step before k, past an
    optional one: 4.12.4), then step 1 -> last (the completers)."""
    k = len(rep.plan.masks)
    best = rep.best[rep.kept]
    previous = rep.plan.previous
    steps = [(previous[s] + 1, s + 1) for s in range(1, k)]
    whole = [(1, k)] if k > 2 and (1, k) not in steps else []      # (step 1 -> last may be a step's own)
    pairs = tuple(steps + whole)
    seconds = tuple(rep.step_seconds(s) for s in range(1, k)) + tuple(
        elapsed(rep, np.flatnonzero(best >= k), 0, k - 1) / 1e9 for _ in whole)
    return TimePartial(rep.kind, pairs, seconds)


def merge(a: TimePartial, b: TimePartial) -> TimePartial:
    return TimePartial(a.unit, a.pairs, tuple(np.concatenate([x, y]) for x, y in zip(a.seconds, b.seconds)))


def finalize(p: TimePartial, ctx: FunnelContext) -> TimeResult:
    """Quartiles, p90 and buckets per transition."""
    k = len(ctx.step_names)
    rows = []
    for (lo, hi), seconds in zip(p.pairs, p.seconds):
        name = "whole funnel" if (lo, hi) == (1, k) and k > 2 else f"{ctx.step_names[lo - 1]} → {ctx.step_names[hi - 1]}"
        quantiles = np.percentile(seconds, QUANTILES) if len(seconds) else np.full(len(QUANTILES), np.nan)
        buckets = np.bincount(np.searchsorted(EDGES, seconds, side="right") - 1, minlength=len(EDGES))
        rows.append({"funnel": ctx.name, "from_step": lo, "to_step": hi, "name": name, "units": len(seconds),
                     **dict(zip(("p25_seconds", "median_seconds", "p75_seconds", "p90_seconds"), quantiles)),
                     **{b: int(c) for (b, _), c in zip(BUCKETS, buckets)}})
    return TimeResult(ctx.name, ctx.label, p.unit, pd.DataFrame(rows, columns=TIME_COLUMNS))
