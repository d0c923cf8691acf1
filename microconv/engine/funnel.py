"""Ordered funnels, vectorised over attempts (docs/semantics.md section 3).

Events that match no step are dropped, the rest are sorted once by (user, time, input order),
and each step is one ``searchsorted`` of every live attempt into that step's sorted positions.
The only Python loops are over steps (and, for the no-reuse rule 3.4, over earlier steps).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..results import FunnelResult, StepRow


@dataclass(frozen=True)
class Attempts:
    """Every attempt's furthest step and matched event positions, in sorted order."""

    user: np.ndarray          # user code per attempt (sorted ascending)
    reached: np.ndarray       # steps reached per attempt (>= 1)
    times: list[np.ndarray]   # per step: ns timestamp of the matched event (valid where reached > k)


def sort_events(user: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Positions ordering events by (user, time, input order): rule 1.4."""
    return np.lexsort((ts, user))


def replay_ordered(user: np.ndarray, ts: np.ndarray, step_masks: Sequence[np.ndarray], window_ns: int) -> Attempts:
    """Replay every attempt of an ordered funnel. Inputs must already be in sorted order."""
    n = len(user)
    index = np.arange(n)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (user[1:] != user[:-1]) | (ts[1:] != ts[:-1])
    tie_start = np.maximum.accumulate(np.where(new_group, index, 0)) if n else index

    cur = np.flatnonzero(step_masks[0])
    start_ts = ts[cur]
    attempt_user = user[cur]
    reached = np.ones(len(cur), dtype=np.int64)
    alive = np.ones(len(cur), dtype=bool)
    used = [cur]
    times = [start_ts]
    for mask in step_masks[1:]:
        positions = np.flatnonzero(mask)
        j = np.searchsorted(positions, tie_start[cur], side="left")
        for _ in range(len(used) + 1):
            cand = positions[np.minimum(j, len(positions) - 1)] if len(positions) else j
            clash = (j < len(positions)) & np.logical_or.reduce([cand == u for u in used])
            if not clash.any():
                break
            j = j + clash
        ok = alive & (j < len(positions))
        cand = positions[np.minimum(j, len(positions) - 1)] if len(positions) else np.zeros_like(j)
        ok[ok] = (user[cand[ok]] == attempt_user[ok]) & (ts[cand[ok]] - start_ts[ok] <= window_ns)
        reached += ok
        alive = ok
        cur = np.where(ok, cand, cur)
        used.append(np.where(ok, cand, -1))
        times.append(np.where(ok, ts[cand] if len(positions) else 0, 0))
    return Attempts(attempt_user, reached, times)


def best_attempts(att: Attempts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per entrant: user code, furthest step (rule 3.6) and the counted attempt's index (rule 3.7)."""
    if len(att.user) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    starts = np.flatnonzero(np.r_[True, att.user[1:] != att.user[:-1]])
    best = np.maximum.reduceat(att.reached, starts)
    best_per_attempt = np.repeat(best, np.diff(np.r_[starts, len(att.user)]))
    hits = np.flatnonzero(att.reached == best_per_attempt)
    first = hits[np.r_[True, att.user[hits][1:] != att.user[hits][:-1]]]
    return att.user[starts], best, first


def compute_funnel(
    frame: pd.DataFrame,
    step_masks: Sequence[np.ndarray],
    *,
    name: str,
    label: str,
    step_names: Sequence[str],
    window_seconds: float,
) -> FunnelResult:
    """Count an ordered funnel over canonical events (one boolean mask per step)."""
    relevant = np.logical_or.reduce(step_masks)
    rows = np.flatnonzero(relevant)
    user_codes = frame["user"].cat.codes.to_numpy()[rows]
    ts = frame["ts"].to_numpy(dtype="datetime64[ns]").view("int64")[rows]
    order = sort_events(user_codes, ts)
    att = replay_ordered(user_codes[order], ts[order], [m[rows][order] for m in step_masks],
                         int(round(window_seconds * 1e9)))
    users, best, counted = best_attempts(att)
    k = len(step_masks)
    counts = np.array([(best >= s).sum() for s in range(1, k + 1)], dtype=np.int64)
    medians = [np.nan] + [
        float(np.median((att.times[s][counted[best > s]] - att.times[s - 1][counted[best > s]]) / 1e9))
        if (best > s).any() else np.nan
        for s in range(1, k)
    ]
    steps = tuple(
        StepRow(
            step=s + 1,
            name=step_names[s],
            users=int(counts[s]),
            rate_from_start=_rate(counts[s], counts[0]),
            rate_from_previous=1.0 if s == 0 and counts[0] else _rate(counts[s], counts[s - 1] if s else 0),
            dropped=int(counts[s - 1] - counts[s]) if s else 0,
            median_seconds_from_previous=medians[s],
        )
        for s in range(k)
    )
    reached = pd.Series(best, index=frame["user"].cat.categories[users], name="reached", dtype="int64")
    return FunnelResult(name, label, window_seconds, steps, reached)


def _rate(num: int, den: int) -> float:
    return float(num) / float(den) if den else float("nan")
