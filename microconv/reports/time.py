"""How long conversion takes, per step and for the whole funnel (docs/semantics.md 8.4).

A median alone hides the long tail that decides how long a window should be, so the result
also has quartiles, p90 and a fixed set of buckets.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..engine.funnel import Replay, elapsed
from .results import BUCKETS, TIME_COLUMNS, TimeResult

EDGES = np.array([lower for _, lower in BUCKETS], dtype=float)
QUANTILES = (25, 50, 75, 90)


def time_to_convert(rep: Replay, *, funnel: str, label: str, step_names: Sequence[str]) -> TimeResult:
    """One row per transition k-1 -> k (units that reached k), then step 1 -> last (completers)."""
    k = len(rep.plan.masks)
    best = rep.best[rep.kept]
    pairs = [(s, s + 1) for s in range(1, k)] + ([(1, k)] if k > 2 else [])
    rows = []
    for lo, hi in pairs:
        done = best >= hi
        seconds = (rep.step_seconds(lo) if hi == lo + 1 else
                   elapsed(rep, np.flatnonzero(done), lo - 1, hi - 1) / 1e9)
        name = "whole funnel" if (lo, hi) == (1, k) and k > 2 else f"{step_names[lo - 1]} → {step_names[hi - 1]}"
        quantiles = np.percentile(seconds, QUANTILES) if len(seconds) else np.full(len(QUANTILES), np.nan)
        buckets = np.bincount(np.searchsorted(EDGES, seconds, side="right") - 1, minlength=len(EDGES))
        rows.append({"funnel": funnel, "from_step": lo, "to_step": hi, "name": name, "units": int(done.sum()),
                     **dict(zip(("p25_seconds", "median_seconds", "p75_seconds", "p90_seconds"), quantiles)),
                     **{b: int(c) for (b, _), c in zip(BUCKETS, buckets)}})
    return TimeResult(funnel, label, rep.units.kind, pd.DataFrame(rows, columns=TIME_COLUMNS))
