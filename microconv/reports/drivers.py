"""Drivers: which events (and property values) go with reaching the goal (docs/semantics.md 13).

PostHog's funnel correlation, with its definitions: the population is a funnel's counted units
(or every user, against a macro conversion), success is reaching the goal, and an event counts
for a unit when it happened after the unit entered and before it succeeded (or, failing, before
its window closed). Each event name is one 2×2 table (did it / not × success / not), ranked by
the odds ratio with PostHog's +1 prior in every cell; beside it, what PostHog leaves out: an
interval, Fisher's exact p-value, Benjamini-Hochberg over every row, and an ``implied`` flag for
what every success did on the way (the funnel's own steps), which is no finding.

Counting is one pass: each kept event becomes a (unit slot, name code) key, the distinct keys
are the units that did each name, and two bincounts over the name codes give every table at
once. The only loop is over the ``--property`` names.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import Config
from ..engine.clock import duration_ns, plus_ns
from ..engine.conversions import NEVER, EventIndex
from ..engine.distinct import distinct
from ..errors import OPTION, OptionError, Problem
from ..engine.engagement import with_engagement
from ..load.frame import Events
from ..run.plan import (check_event_names, choose_funnels, entry_range_ns, last_timestamp, require_property,
                        step_names)
from ..run.replay import replay_funnel
from .breakdown import value_codes
from .micro import macro_goal
from .stats import ALPHA, adjust, too_few

PRIOR = 1            # PostHog's PRIOR_COUNT: added to each of the four cells of the odds ratio
Z95 = 1.959963984540054
DRIVERS_COLUMNS = ["group", "rank", "event", "kind", "property", "value", "success_with", "failure_with",
                   "success_without", "failure_without", "odds_ratio", "odds_ratio_low", "odds_ratio_high",
                   "p_value", "p_adjusted", "significant", "implied", "too_few"]
GROUPS = ("positive", "negative", "implied")
_CORE = ("user", "ts", "event")


@dataclass(frozen=True, eq=False)
class DriversResult:
    """Every event name (and ``P=value``) against one goal: ``frame`` (DRIVERS_COLUMNS) lists the
    ``top`` rows of each direction and every implied row; ``rows`` is how many were ranked."""

    mode: str                        # "funnel" | "macro"
    goal: str                        # the macro conversion, or the funnel's step-N name
    funnel: str | None
    step: int | None                 # 1-based step N of the funnel
    unit: str                        # users | sessions
    population: int                  # units in the comparison
    successes: int
    in_progress: int                 # failures whose window is still open (funnel mode)
    properties: tuple[str, ...]
    top: int
    rows: int
    frame: pd.DataFrame
    warnings: tuple[Problem, ...] = ()

    @property
    def failures(self) -> int:
        return self.population - self.successes

    @property
    def comparable(self) -> bool:
        """Both sides have someone: else every row compares with an empty group."""
        return self.successes > 0 and self.failures > 0

    def to_frame(self) -> pd.DataFrame:
        return self.frame


@dataclass(frozen=True, eq=False)
class DriversPartial:
    """Per row key (kind, property, value): units that did it among successes and failures; the
    population and its successes. Rows add across disjoint sets of units."""

    counts: pd.DataFrame             # kind, property, value, success_with, failure_with
    population: int
    successes: int
    in_progress: int
    steps: frozenset[str]            # event names of the goal's own steps: implied by definition


def drivers(config: Config, events: Events, *, funnel: str | None = None, step: int | None = None,
            macro: str | None = None, properties: tuple[str, ...] | list[str] = (), top: int = 10,
            since=None, until=None, mature_only: bool = False, strict: bool = False) -> DriversResult:
    """Every event name, and every value of ``properties``, ranked by its association with the goal.

    Args:
        config, events: as for :func:`microconv.analyze`; load every event (no ``only_events``) and
            the ``properties`` (``extra_properties``).
        funnel, step: the goal is reaching step ``step`` (1-based, default the last, at least 2)
            of ``funnel``, among the funnel's counted units (13.1).
        macro: without ``funnel``, the goal is this macro conversion (default the config's first),
            among every user.
        properties: also a row per value of each, named ``P=value``.
        top: rows listed per direction; 0 lists every row.
        since, until, mature_only: the funnel's entry range and in-progress rule (4.7, 4.8).
        strict: event names of the config that never occur are errors.

    Raises:
        ConfigError: no funnel of that name, or no such macro conversion.
        UsageError: ``step`` out of range, ``top`` negative, ``macro`` with ``funnel``, a property
            that was not read, a ``count: totals`` funnel.
    """
    last_ts = last_timestamp(events)
    cluster = None if isinstance(events, Events) else events     # read on a Dask cluster (run/dask.py)
    events, index = with_engagement(config, cluster.empty if cluster else events, last_ts)  # a property like any (8.5)
    frame = events.frame
    if top < 0:
        raise OptionError(f"{OPTION} {top}: must be 0 (all) or more", option="top")
    warnings = check_event_names(config, frame, strict)
    props = tuple(dict.fromkeys(properties))
    for prop in props:
        if prop in _CORE or prop not in frame.columns:
            require_property([c for c in frame.columns if c not in _CORE], prop, f"{OPTION} {prop!r}",
                             option="property")
    if funnel is not None:
        if macro is not None:
            raise OptionError(f"{OPTION} {macro!r}: give a funnel or a macro conversion, not both", option="macro")
        name = choose_funnels(config, [funnel])[0]
        step = _check_step(config, name, step)
        bounds = entry_range_ns(config, last_ts if events.summary.events else None, since, until)
        p = cluster.partials(drivers_partial, merge, config, name, step, props, bounds, mature_only) if cluster else \
            funnel_partial(config, index, name, step, props, entry_range=bounds, mature_only=mature_only)
        unit, goal = config.funnels[name].count, step_names(config.funnels[name])[step - 1]
    else:
        if step is not None:
            raise OptionError(f"{OPTION} {step}: a step is a funnel's; name the funnel too", option="step")
        for option, value in (("since", since), ("until", until), ("mature_only", mature_only or None)):
            if value is not None:       # they bound a funnel's entries; macro mode has none (13.2)
                raise OptionError(f"{OPTION} bounds a funnel's entries: against the macro every user counts; "
                                  "name a --funnel", option=option)
        goal = macro_goal(config, macro)
        if goal is None:
            raise OptionError("the config has no kind: macro conversion: name a funnel (and a step) instead",
                              option="macro")
        p = cluster.partials(drivers_partial, merge, config, goal, None, props, None, False) if cluster else \
            macro_partial(config, index, goal, props)
        unit, name = "users", None
    return finalize(p, mode="macro" if name is None else "funnel", goal=goal, funnel=name, step=step, unit=unit,
                    properties=props, top=top, warnings=tuple(warnings))


def drivers_partial(events: Events, last_ts: int, config: Config, name: str, step: int | None,
                    properties: tuple[str, ...], bounds, mature_only: bool) -> DriversPartial:
    """One set of users' partial (a cluster's partition), against the whole log's end: funnel
    ``name``'s step ``step``, or, with ``step`` None, the macro conversion ``name``."""
    events, index = with_engagement(config, events, last_ts)
    if step is None:
        return macro_partial(config, index, name, properties)
    return funnel_partial(config, index, name, step, properties, entry_range=bounds, mature_only=mature_only)


def _check_step(config: Config, name: str, step: int | None) -> int:
    spec = config.funnels[name]
    n = len(spec.steps)
    if spec.count == "totals":
        raise OptionError(f"{OPTION}: funnel {name!r} counts attempts (count: totals); drivers compares units: "
                          "use a copy of it with count: users or sessions", option="funnel")
    if step is None:
        step = n
    if not 2 <= step <= n:
        raise OptionError(f"{OPTION} {step}: funnel {name!r} has steps 2 to {n} to reach "
                          "(everyone counted reached step 1)", option="step")
    return step


def funnel_partial(config: Config, index: EventIndex, name: str, step: int, properties: tuple[str, ...] = (), *,
                   entry_range=(None, None), mature_only: bool = False) -> DriversPartial:
    """Rows of 13.1: the funnel's counted units, success = reached ``step``; a unit's events
    after its counted attempt's first event and before it reached ``step`` (successes) or
    within its window (failures)."""
    frame = index.frame
    spec = config.funnels[name]
    rep = replay_funnel(config, frame, name, index=index, entry_range=entry_range, mature_only=mature_only)
    pos = rep.counted_pos
    times = np.where(pos >= 0, rep.events.ts[np.maximum(pos, 0)], NEVER)
    entry = times.min(axis=1)
    success = rep.did(step - 1)
    if rep.plan.order in ("any", "unordered"):    # step N = the N-th step done, in time order (8.4.1)
        reached = np.sort(times, axis=1)[:, step - 1]
    else:                                         # its own event (a later one when step N was skipped: 4.12)
        reached = times[:, step - 1:].min(axis=1)
    last = np.where(success, reached - 1, plus_ns(entry, duration_ns(spec.window)))
    units = rep.units
    slot_of = np.full(len(units.labels), -1, dtype=np.int64)
    slot_of[rep.unit[rep.kept]] = np.arange(len(entry))
    slot = slot_of[units.code]
    ts = index.frame["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
    mine = slot >= 0
    at = np.where(mine, slot, 0)
    keep = mine & (ts > entry[at]) & (ts <= last[at])
    steps = frozenset(e for s in spec.steps[:step] for e in (config.conversions[s.ref].events if s.ref else s.event))
    waiting = int((rep.in_progress[rep.kept] & ~success).sum())
    return _partial(frame, np.where(keep, slot, -1), success, properties, steps, waiting)


def macro_partial(config: Config, index: EventIndex, macro: str, properties: tuple[str, ...] = ()) -> DriversPartial:
    """Rows of 13.2: every user, success = did ``macro``; a user's events strictly before the
    time of their first macro event (7.2.2), all of them for users who never converted."""
    frame = index.frame
    goal = index.first_by_user(macro)
    present = index.users_with()
    user = frame["user"].cat.codes.to_numpy().astype(np.int64)
    slot = np.where(index.before(goal), user, -1)
    success = goal < NEVER
    p = _partial(frame, slot, success, properties, frozenset(config.conversions[macro].events), 0)
    return DriversPartial(p.counts, int(np.count_nonzero(present)), int(np.count_nonzero(success & present)),
                          0, p.steps)


def _partial(frame: pd.DataFrame, slot: np.ndarray, success: np.ndarray, properties: tuple[str, ...],
             steps: frozenset[str], waiting: int) -> DriversPartial:
    """``slot``: per frame row, the unit it counts for (-1: not counted); ``success`` per slot."""
    names = np.asarray(frame["event"].cat.categories.astype(str), dtype=object)
    blocks = [_did(slot, frame["event"].cat.codes.to_numpy().astype(np.int64), names, success, "event", "")]
    for prop in properties:
        codes, texts = value_codes(frame[prop])
        blocks.append(_did(slot, codes.astype(np.int64), np.asarray(texts, dtype=object), success, "property", prop))
    counts = pd.concat(blocks, ignore_index=True)
    return DriversPartial(counts, len(success), int(np.count_nonzero(success)), waiting, steps)


def _did(slot: np.ndarray, code: np.ndarray, texts: np.ndarray, success: np.ndarray, kind: str,
         prop: str) -> pd.DataFrame:
    """Per text: the distinct units among successes and failures with a kept row of that code."""
    n = len(texts)
    sel = np.flatnonzero((slot >= 0) & (code >= 0))
    pairs = distinct(slot[sel] * max(n, 1) + code[sel])        # one per (unit, code)
    which = pairs % max(n, 1)
    did = np.bincount(which, minlength=n)
    wins = np.bincount(which, weights=success[pairs // max(n, 1)], minlength=n).astype(np.int64)
    seen = np.flatnonzero(did)
    return pd.DataFrame({"kind": kind, "property": prop, "value": texts[seen],
                         "success_with": wins[seen], "failure_with": did[seen] - wins[seen]})


def merge(a: DriversPartial, b: DriversPartial) -> DriversPartial:
    keys = ["kind", "property", "value"]
    counts = pd.concat([a.counts, b.counts], ignore_index=True).groupby(keys, sort=False, as_index=False).sum()
    return DriversPartial(counts, a.population + b.population, a.successes + b.successes,
                          a.in_progress + b.in_progress, a.steps | b.steps)


def finalize(p: DriversPartial, *, mode: str, goal: str, funnel: str | None, step: int | None, unit: str,
             properties: tuple[str, ...], top: int, warnings: tuple = ()) -> DriversResult:
    """The four cells, odds ratio, interval, tests and flags of every row; the top of each direction."""
    rows = table(p.counts, p.population, p.successes, p.steps)
    listed = _listed(rows, top)
    return DriversResult(mode, goal, funnel, step, unit, p.population, p.successes, p.in_progress, properties,
                         top, len(rows), listed, warnings)


def table(counts: pd.DataFrame, population: int, successes: int, steps: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Every row's 2×2 table and statistics (13.3), in no particular order."""
    a = counts["success_with"].to_numpy(dtype=np.int64)
    b = counts["failure_with"].to_numpy(dtype=np.int64)
    c, d = successes - a, (population - successes) - b
    ratio, low, high = odds_ratio(a, b, c, d)
    pvalue = fisher(a, b, c, d)
    kind, prop, value = (counts[k].to_numpy(dtype=object) for k in ("kind", "property", "value"))
    event = np.where(kind == "event", value, prop + "=" + value.astype(str))
    few = np.array([too_few(int(n1), population - int(n1), successes, population) for n1 in (a + b).tolist()],
                   dtype=bool)
    implied = (successes > 0) & (c == 0) | ((kind == "event") & np.isin(value, list(steps)))
    adjusted = adjust(pvalue)
    out = pd.DataFrame({
        "event": event, "kind": kind, "property": prop, "value": value,
        "success_with": a, "failure_with": b, "success_without": c, "failure_without": d,
        "odds_ratio": ratio, "odds_ratio_low": low, "odds_ratio_high": high,
        "p_value": pvalue, "p_adjusted": adjusted,
        "significant": (adjusted < ALPHA) & ~few & ~implied, "implied": implied, "too_few": few,
    })
    out["group"] = np.where(implied, "implied", np.where(ratio > 1, "positive", "negative"))
    return out


def odds_ratio(a, b, c, d) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PostHog's odds ratio, (a+1)(d+1) / ((b+1)(c+1)) with a = successes that did it, b = failures
    that did, c = successes that did not, d = failures that did not; and the 95% interval of that
    same table's log odds ratio, ± 1.96 · sqrt(Σ 1/(cell+1)) (Woolf's, as
    ``scipy.stats.contingency.odds_ratio(table + 1, kind="sample")`` gives it), so the estimate
    is always inside its interval and no cell is ever 0."""
    a, b, c, d = (np.asarray(x, dtype=float) + PRIOR for x in (a, b, c, d))
    log = np.log(a) + np.log(d) - np.log(b) - np.log(c)
    se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return np.exp(log), np.exp(log - Z95 * se), np.exp(log + Z95 * se)


def fisher(a, b, c, d) -> np.ndarray:
    """Fisher's exact two-sided p-value of each unsmoothed table (scipy; one call per row: rows
    are distinct names, not events)."""
    from scipy.stats import fisher_exact

    return np.array([fisher_exact([[w, x], [y, z]]).pvalue
                     for w, x, y, z in zip(np.asarray(a).tolist(), np.asarray(b).tolist(),
                                           np.asarray(c).tolist(), np.asarray(d).tolist())], dtype=float)


def _listed(rows: pd.DataFrame, top: int) -> pd.DataFrame:
    """Positive rows by odds ratio (largest first), negative ones (smallest first), each with the
    rows that have enough units before those that are ``too_few``, cut to ``top``; then every
    implied row by odds ratio. Ties by event text."""
    blocks = []
    for group in GROUPS:
        part = rows[rows["group"] == group]
        key = part["odds_ratio"] if group == "negative" else -part["odds_ratio"]
        part = part.assign(_few=part["too_few"] & (group != "implied"), _key=key)
        part = part.sort_values(["_few", "_key", "event"], kind="stable", ignore_index=True)
        if top and group != "implied":
            part = part.iloc[:top]
        blocks.append(part.assign(rank=np.arange(1, len(part) + 1)))
    out = pd.concat(blocks, ignore_index=True)[DRIVERS_COLUMNS]
    return out.astype({"rank": "int64", "success_with": "int64", "failure_with": "int64",
                       "success_without": "int64", "failure_without": "int64", "significant": bool,
                       "implied": bool, "too_few": bool})
