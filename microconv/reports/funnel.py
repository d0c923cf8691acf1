"""The funnel's step table (docs/semantics.md 5): counts, rates, drop-offs, medians, revenue.

Like every report it has three stages, so that disjoint sets of units (shards of users) can be
counted apart and merged into exactly the one-pass result: :func:`partial` keeps sufficient
statistics only (a :class:`Tally` of furthest steps, the step durations as an unsorted multiset,
the completers' values), :func:`merge` adds them, :func:`finalize` makes rates, medians and the
revenue sum. Medians and sums are taken over the whole multiset in :func:`finalize`, so neither
depends on how the units were split or in which order the parts were merged.

:class:`Tally` is also what the breakdown (one group per property value) and the trend (one
group per entry period) count with, so all three tables read the same numbers the same way.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial as bind

import numpy as np
import pandas as pd

from ..engine.funnel import Replay, unit_labels
from ..engine.optional import optional_steps
from ..engine.sums import exact_sum
from .results import FunnelResult, Reached, StepRow


@dataclass(frozen=True)
class FunnelContext:
    """What a funnel's tables need besides the counts: names, labels and the window."""

    name: str
    label: str
    step_names: tuple[str, ...]
    window_seconds: float


@dataclass(frozen=True, eq=False)
class Tally:
    """Per group of units: how many stopped at each step, before any rate (what adds up).

    ``at[g, j]``: units of group g whose furthest step is j (1..k; column 0 unused);
    ``waiting[g, j]``: those of them still in progress (4.8.2); ``gaps[s - 1]``: for step s
    (0-based, from the second), the group code (None: all in group 0) and the seconds from step
    ``previous[s]`` of every unit that did it (None when the table shows no medians); ``did[g, s]``:
    units of group g whose counted attempt did optional step s (4.12.3; 0 for required steps);
    ``previous``: per step, the required step its rate and drop-offs are taken from."""

    at: np.ndarray
    waiting: np.ndarray
    gaps: tuple[tuple[np.ndarray | None, np.ndarray], ...] | None
    did: np.ndarray
    previous: tuple[int, ...]

    @classmethod
    def of(cls, rep: Replay, groups: np.ndarray, n_groups: int, best: np.ndarray | None = None,
           waiting: np.ndarray | None = None, medians: bool = True, did: np.ndarray | None = None) -> Tally:
        """The counted units of ``rep`` (``groups``: a code per unit of ``rep.unit[rep.kept]``);
        ``best``, ``waiting`` and ``did`` (per unit, per step) replace the units' own furthest step,
        in-progress flag and optional steps done."""
        k = len(rep.plan.masks)
        best = rep.best[rep.kept] if best is None else best
        waiting = rep.in_progress[rep.kept] if waiting is None else waiting
        at = np.bincount(groups * (k + 1) + best, minlength=n_groups * (k + 1)).reshape(n_groups, k + 1)
        stopped = np.bincount(groups[waiting] * (k + 1) + best[waiting],
                              minlength=n_groups * (k + 1)).reshape(n_groups, k + 1)
        done = np.zeros((n_groups, k), dtype=np.int64)
        for s in (s for s, skip in enumerate(rep.plan.optional) if skip):
            done[:, s] = np.bincount(groups[rep.did(s) if did is None else did[:, s]], minlength=n_groups)
        gaps = (tuple((None if n_groups == 1 else groups[rep.did(s)], rep.step_seconds(s)) for s in range(1, k))
                if medians else None)
        return cls(at.astype(np.int64), stopped.astype(np.int64), gaps, done, rep.plan.previous)

    @property
    def groups(self) -> int:
        return self.at.shape[0]

    def counts(self) -> np.ndarray:
        """(groups, steps): units that reached each step or a later one; at an optional step, those
        that did it (4.12.3)."""
        counts = self.at[:, ::-1].cumsum(axis=1)[:, ::-1][:, 1:]
        optional = self.optional
        counts[:, optional] = self.did[:, optional]
        return counts

    @property
    def optional(self) -> np.ndarray:
        """Per step: whether it is optional (4.12)."""
        return np.array(optional_steps(self.previous), dtype=bool)

    def in_progress(self) -> np.ndarray:
        """(groups, steps): in-progress units whose furthest step it is."""
        return self.waiting[:, 1:]

    def medians(self) -> np.ndarray:
        """(groups, steps): median seconds from the previous step (NaN for step 1, empty groups,
        or a table without medians): one groupby per step."""
        k = self.at.shape[1] - 1
        out = np.full((self.groups, k), np.nan)
        for s, (codes, seconds) in enumerate(self.gaps or (), start=1):
            if not len(seconds):
                continue
            if self.groups == 1:
                out[0, s] = np.median(seconds)
            else:
                out[:, s] = pd.Series(seconds).groupby(codes).median().reindex(range(self.groups)).to_numpy()
        return out

    def regroup(self, new: np.ndarray, n: int) -> Tally:
        """The same units in ``n`` groups, group g becoming ``new[g]`` (groups fold together;
        -1 only for groups without units)."""
        at = np.zeros((n, self.at.shape[1]), dtype=np.int64)
        waiting = np.zeros_like(at)
        did = np.zeros((n, self.did.shape[1]), dtype=np.int64)
        some = new >= 0
        for total, part in ((at, self.at), (waiting, self.waiting), (did, self.did)):
            np.add.at(total, new[some], part[some])
        gaps = None if self.gaps is None else tuple(
            (np.full(len(seconds), new[0]) if codes is None else new[codes], seconds) for codes, seconds in self.gaps)
        return Tally(at, waiting, gaps, did, self.previous)

    def __add__(self, other: Tally) -> Tally:
        """Two disjoint sets of units in the same groups."""
        gaps = None if self.gaps is None else tuple(
            (None if a is None and c is None else np.concatenate([_codes(a, b), _codes(c, d)]), np.concatenate([b, d]))
            for (a, b), (c, d) in zip(self.gaps, other.gaps))
        return Tally(self.at + other.at, self.waiting + other.waiting, gaps, self.did + other.did, self.previous)

    def rows(self, step_names: Sequence[str]) -> list[tuple[StepRow, ...]]:
        """Each group's step rows (section 5)."""
        counts, waiting, medians = self.counts(), self.in_progress(), self.medians()
        return [step_rows(counts[g], waiting[g], medians[g], step_names, self.previous) for g in range(self.groups)]


def _codes(codes: np.ndarray | None, seconds: np.ndarray) -> np.ndarray:
    return np.zeros(len(seconds), dtype=np.int64) if codes is None else codes


@dataclass(frozen=True, eq=False)
class FunnelPartial:
    """The step table's sufficient statistics over one set of units."""

    order: str
    unit: str
    tally: Tally                       # one group: every counted unit
    excluded: int                      # units whose every attempt an exclusion spoiled
    values: np.ndarray | None          # the completers' last-step values, to be summed (None: no value)
    reached: Reached | None            # per counted unit: its furthest step (None: left on the workers)
    optional: tuple[int, ...] = ()     # the optional steps, 1-based


def partial(rep: Replay, ctx: FunnelContext | None = None) -> FunnelPartial:
    """The table's statistics of the units of ``rep``."""
    kept = int(rep.kept.sum())
    best = rep.best[rep.kept]
    reached = Reached(((best, bind(unit_labels, rep.units.labels, rep.unit, rep.plan.totals,
                                    np.flatnonzero(rep.kept))),))
    return FunnelPartial(rep.plan.order, rep.kind, Tally.of(rep, np.zeros(kept, dtype=np.int64), 1),
                         int((rep.best == 0).sum()), _values(rep), reached,
                         tuple(s + 1 for s, skip in enumerate(rep.plan.optional) if skip))


def merge(a: FunnelPartial, b: FunnelPartial) -> FunnelPartial:
    return FunnelPartial(a.order, a.unit, a.tally + b.tally, a.excluded + b.excluded,
                         None if a.values is None else np.concatenate([a.values, b.values]),
                         None if a.reached is None else a.reached + b.reached, a.optional)


def finalize(p: FunnelPartial, ctx: FunnelContext) -> FunnelResult:
    """Counts, rates and medians (section 5); value lost per drop-off from the revenue (7.3)."""
    steps = p.tally.rows(ctx.step_names)[0]
    revenue = None if p.values is None else exact_sum(p.values)
    if revenue is not None:
        completers = p.tally.counts()[0, -1]
        per_completer = revenue / completers if completers else np.nan
        steps = tuple(replace(s, value_lost=s.dropped * per_completer if s.step > 1 else 0.0) for s in steps)
    return FunnelResult(ctx.name, ctx.label, ctx.window_seconds, steps, p.reached, order=p.order, unit=p.unit,
                        excluded=p.excluded, revenue=revenue, optional=p.optional)


def step_rows(counts: np.ndarray, in_progress: np.ndarray, medians: np.ndarray,
              step_names: Sequence[str], previous: Sequence[int] | None = None) -> tuple[StepRow, ...]:
    """One group's step rows (section 5) from its counts per step. ``dropped`` at step k counts the
    units that stopped at step k-1 and are not in progress (5.1): those whose window is still open
    have not dropped, so users_{k-1} = users_k + dropped_k + in_progress_{k-1}. With optional steps
    (4.12.3) "k-1" is ``previous[k]``, the required step before k, and nobody drops at an optional
    step (skipping it is allowed)."""
    previous = tuple(range(-1, len(counts) - 1)) if previous is None else previous
    optional = optional_steps(previous)
    return tuple(
        StepRow(
            step=s + 1,
            name=step_names[s],
            users=int(counts[s]),
            rate_from_start=_rate(counts[s], counts[0]),
            rate_from_previous=1.0 if s == 0 and counts[0] else _rate(counts[s], counts[p] if s else 0),
            dropped=int(counts[p] - counts[s] - in_progress[p]) if s and not optional[s] else 0,
            median_seconds_from_previous=float(medians[s]),
            in_progress=int(in_progress[s]),
        )
        for s, p in enumerate(previous)
    )


def _values(rep: Replay) -> np.ndarray | None:
    """The last step's value of the completers' counted attempts (semantics 7.3)."""
    if rep.plan.value is None:
        return None
    k = len(rep.plan.masks)
    completed = rep.counted_kept[rep.best[rep.kept] == k]
    return rep.plan.value[rep.events.row[rep.attempts.pos[completed, k - 1]]]


def _rate(num: int, den: int) -> float:
    return float(num) / float(den) if den else float("nan")
