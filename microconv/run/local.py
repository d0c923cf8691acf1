"""A planned run in this process: every report's partial over the events, then finalized.

The funnels and the micro report run two at a time (:func:`_run_all`): they only read the shared
:class:`EventIndex`, and numpy releases the GIL for the long array work. What the index caches
lazily (units, the run's one sort) is built before the threads start, so no two build it.

:func:`partials` over disjoint sets of users, :func:`merge` and :func:`finalize` give exactly
the one pass (``tests/reports/test_merge.py``): that is the shape a cluster run takes.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..engine.conversions import EventIndex
from ..engine.sums import MAX_AMOUNT
from ..errors import Problem
from ..load.frame import Events
from ..reports import breakdown, funnel as steps, micro, time, trend
from .plan import FunnelRun, RunPlan, funnel_events
from .replay import replay_funnel


@dataclass(frozen=True, eq=False)
class FunnelPartials:
    """One funnel's partials, None for the reports not asked of it."""

    steps: steps.FunnelPartial | None
    time: time.TimePartial | None
    breakdown: breakdown.BreakdownPartial | None
    trend: trend.TrendPartial | None


@dataclass(frozen=True, eq=False)
class Partials:
    funnels: tuple[FunnelPartials, ...]      # plan.funnels order
    micro: micro.MicroPartial | None


@dataclass(frozen=True, eq=False)
class Finalized:
    """Per funnel (plan order): its (steps, time, breakdown, trend) results, None where not asked."""

    funnels: tuple[tuple, ...]
    micro: object                            # MicroReport | None


def partials(plan: RunPlan, events: Events, index: EventIndex | None = None, population: int | None = None) -> Partials:
    """Every report's partial over the units of ``events`` (with the plan's T and entry range)."""
    funnels, micro_partial = _compute(plan, events, index, population, _as_partials)
    return Partials(funnels, micro_partial)


def one_pass(plan: RunPlan, events: Events, index: EventIndex, population: int | None = None) -> Finalized:
    """:func:`finalize` of :func:`partials`, each report finalized by the thread that computed its
    partial as soon as it is complete (one pass has nothing to merge): the tests and intervals
    then overlap the other thread's replay."""
    funnels, micro_result = _compute(plan, events, index, population, _finalized)
    return Finalized(funnels, micro_result)


def _as_partials(plan: RunPlan, run: FunnelRun | None, p):
    return p


def _finalized(plan: RunPlan, run: FunnelRun | None, p):
    return _finalize_micro(plan, p) if run is None else _finalize_funnel(run, p)


def _compute(plan: RunPlan, events: Events, index: EventIndex | None, population: int | None, then) -> tuple:
    """The funnels' and the micro report's partials, passed through ``then`` in their thread."""
    config, frame = plan.config, events.frame
    index = index or EventIndex(config, frame, plan.last_ts)
    runs = plan.funnels
    alone = len(runs) + (plan.macro is not None) == 1     # else the funnels themselves run two at a time

    def one_funnel(run: FunnelRun):
        rep = replay_funnel(config, frame, run.name, index=index, entry_range=plan.entry_range,
                            mature_only=plan.options.mature_only, share_sort=len(plan.chosen) > 1,
                            threads=2 if alone else 1)
        return then(plan, run, FunnelPartials(
            steps.partial(rep, run.context) if run.steps else None,
            time.partial(rep, run.context) if run.time else None,
            breakdown.partial(rep, frame[list(run.breakdown.by)], run.breakdown) if run.breakdown else None,
            trend.partial(rep, run.trend) if run.trend else None))

    # Longest first, so that the short tasks fill the end of both threads: the micro report, then
    # the funnels by the events they replay.
    schedule = _most_events_first(plan, frame) if len(runs) > 1 else list(runs)
    tasks: list[Callable[[], object]] = [lambda run=run: one_funnel(run) for run in schedule]
    if plan.macro is not None:
        tasks.insert(0, lambda: then(plan, None, micro.partial(config, index, plan.micro, population=population)))
    outcomes = _run_all(tasks, index, [(config.funnels[r.name].count, config.funnels[r.name].order) for r in runs],
                        share_sort=len(plan.chosen) > 1)
    done = dict(zip((r.name for r in schedule), outcomes[1:] if plan.macro is not None else outcomes))
    return tuple(done[r.name] for r in runs), outcomes[0] if plan.macro is not None else None


def merge(a: Partials, b: Partials) -> Partials:
    """The partials of two disjoint sets of units as one."""
    def both(module, x, y):
        return None if x is None else module.merge(x, y)

    funnels = tuple(FunnelPartials(both(steps, x.steps, y.steps), both(time, x.time, y.time),
                                   both(breakdown, x.breakdown, y.breakdown), both(trend, x.trend, y.trend))
                    for x, y in zip(a.funnels, b.funnels))
    return Partials(funnels, both(micro, a.micro, b.micro))


def finalize(plan: RunPlan, p: Partials) -> Finalized:
    """Rates, intervals, tests and top-N of every report, from the merged partials."""
    return Finalized(tuple(_finalize_funnel(run, f) for run, f in zip(plan.funnels, p.funnels)),
                     _finalize_micro(plan, p.micro))


def _finalize_funnel(run: FunnelRun, f: FunnelPartials) -> tuple:
    return (steps.finalize(f.steps, run.context) if f.steps is not None else None,
            time.finalize(f.time, run.context) if f.time is not None else None,
            breakdown.finalize(f.breakdown, run.breakdown) if f.breakdown is not None else None,
            trend.finalize(f.trend, run.trend) if f.trend is not None else None)


def _finalize_micro(plan: RunPlan, p):
    return micro.finalize(p, plan.config, plan.micro) if p is not None else None


def invalid_value_notes(plan: RunPlan, index: EventIndex | None = None, refused: dict[str, int] | None = None,
                        ) -> list[Problem]:
    """One note per summed ``value:`` whose events held numbers refused as amounts (inf, or beyond
    ``sums.MAX_AMOUNT``): revenue leaves them out, like missing values (semantics 7.3). ``refused``:
    :func:`refused_values` added over partitions, instead of ``index``."""
    config = plan.config
    notes = []
    for name, count in (refused if refused is not None else refused_values(plan, index)).items():
        prop = config.conversions[name].value
        if count:
            notes.append(Problem(f"{count:,} {prop!r} value{'s' if count > 1 else ''} of {name!r} events "
                                 f"{'are' if count > 1 else 'is'} infinite or beyond ±{MAX_AMOUNT:g}: "
                                 "left out of revenue, like missing values"))
    return notes


def refused_values(plan: RunPlan, index: EventIndex) -> dict[str, int]:
    """Per valued conversion of the run (in the order of the notes): its events' refused values."""
    config = plan.config
    conversions = [config.funnels[r.name].steps[-1].ref for r in plan.funnels] + [plan.macro]
    return {name: int(np.count_nonzero(index.invalid_numbers(config.conversions[name].value) & index.mask(name)))
            for name in dict.fromkeys(c for c in conversions if c and config.conversions[c].value)}


def _most_events_first(plan: RunPlan, frame: pd.DataFrame) -> list[FunnelRun]:
    """Funnels ordered by how many events their steps and exclusions name (every event for strict
    order), most first: a funnel's replay costs about in proportion."""
    config = plan.config
    codes = frame["event"].cat.codes.to_numpy()
    per_name = dict(zip(frame["event"].cat.categories, np.bincount(codes[codes >= 0],
                                                                  minlength=len(frame["event"].cat.categories))))

    def events(run: FunnelRun) -> int:
        if config.funnels[run.name].order == "strict":
            return len(frame)
        return sum(int(per_name.get(n, 0)) for n in funnel_events(config, run.name))

    return sorted(plan.funnels, key=events, reverse=True)


def _run_all(tasks: Sequence[Callable[[], object]], index: EventIndex, funnels: Sequence[tuple[str, str]],
             share_sort: bool) -> list:
    """Run the tasks, two at a time when there are several (see the module's docstring)."""
    if len(tasks) < 2:
        return [task() for task in tasks]
    for kind, order in dict.fromkeys(funnels):           # (funnel count, funnel order)
        units = index.units(kind)
        if order == "strict" or (share_sort and units.nests):
            index.sorted_for(units)
    with ThreadPoolExecutor(2, thread_name_prefix="microconv-engine") as pool:
        return list(pool.map(lambda task: task(), tasks))
