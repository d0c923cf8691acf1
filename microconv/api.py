"""The library entry point: everything the CLI does is reachable from here."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
import pandas as pd

from .reports.breakdown import breakdown
from .config import Config, Funnel, located_of
from .config.model import Breakdown, check_attribution_step
from .run.dates import entry_bound
from .engine.clock import duration_ns
from .engine.conversions import EventIndex
from .engine.funnel import FunnelPlan, Replay, replay, summarize
from .engine.matching import event_names, match_mask, unknown_event_names
from .engine.sums import MAX_AMOUNT
from .errors import ConfigError, DataError, Problem, UsageError, did_you_mean
from .load.events import DataQualityReport, Events
from .reports.micro import macro_goal, micro_report
from .reports import REPORT_NAMES
from .reports.results import AnalysisResult, RunMeta
from .reports.time import time_to_convert
from .reports.trend import PERIODS
from .reports.trend import trend as trend_of

REPORTS = REPORT_NAMES


def analyze(
    config: Config,
    events: Events,
    *,
    quality: DataQualityReport | None = None,
    funnels: Sequence[str] | None = None,
    strict: bool = False,
    since: str | pd.Timestamp | None = None,
    until: str | pd.Timestamp | None = None,
    mature_only: bool = False,
    macro: str | None = None,
    by: str | None = None,
    attribution: str | None = None,
    top: int | None = None,
    trend: str | None = None,
    as_of: str | None = None,
    reports: Sequence[str] = REPORTS,
) -> AnalysisResult:
    """Replay ``events`` through the config's funnels.

    Args:
        config: a validated config (``load_config`` / ``parse_config``).
        events: canonical events (``load_events`` / ``canonicalize``).
        quality: the data-quality report from loading, carried into the result.
        funnels: names of the funnels to compute; all when None.
        strict: treat event names that never occur in the data as errors.
        since, until: bound entry into the funnels (docs/semantics.md 4.7): a date, a date-time,
            or a duration like ``"7d"`` counted back from the end of the data's last day.
        mature_only: leave out units still in progress (4.8).
        macro: the macro conversion the micro-conversion report measures against (default: the
            first ``kind: macro`` conversion).
        by, attribution, top: break every funnel down by this property (docs/semantics.md 8.2),
            overriding the funnels' ``breakdown:``; ``attribution`` and ``top`` alone adjust those.
        trend: "day", "week" or "month": step numbers per entry cohort (8.3).
        as_of: analyse as if the data ended at the end of this date (or at this date-time):
            later events are left out and relative ranges count back from it (4.7).
        reports: which of REPORTS to compute ("breakdown" and "trend" only where asked for).

    Raises:
        DataError: a config event name never occurs in the data and looks like a typo of one
            that does (or any never-occurring name, with ``strict``).
        UsageError: ``since`` or ``until`` is not a date, date-time or duration; ``by`` is not a
            column of ``events``; ``attribution`` names a step a funnel does not have.
    """
    chosen = choose_funnels(config, funnels)
    _check_rows_suffice(config, events, chosen, as_of)
    if as_of is not None:
        events = cut_at(events, as_of, config.columns.timezone)
    frame = events.frame
    warnings = check_event_names(config, frame, strict)
    log = events.summary
    last_ts = log.last_ts or 0
    bounds = entry_range_ns(config, log.last_ts, since, until)
    index = EventIndex(config, frame, last_ts)
    splits = {name: _breakdown_of(name, config.funnels[name], by, attribution, top, frame) for name in chosen}
    if trend is not None and trend not in PERIODS:
        raise UsageError(f"--trend {trend!r} is not one of day, week, month")
    replayed = chosen if {"funnels", "breakdown", "trend", "time"} & set(reports) else []
    goal = macro_goal(config, macro)
    has_micro = any(c.kind != "macro" for c in config.conversions.values())
    wants_micro = "micro" in reports and goal and has_micro
    if wants_micro and log.users is None:
        raise ValueError("the micro-conversion report needs the users of every row: load_events(count_users=True)")
    alone = len(replayed) + bool(wants_micro) == 1      # else the funnels themselves run two at a time

    def one_funnel(name: str) -> tuple:
        funnel = config.funnels[name]
        rep = replay_funnel(config, frame, name, index=index, entry_range=bounds, mature_only=mature_only,
                            share_sort=len(chosen) > 1, threads=2 if alone else 1)
        about = {"funnel": name, "label": funnel.label or name, "step_names": step_names(funnel)}
        split = splits[name]
        return (summarize(rep, name=name, label=about["label"], step_names=about["step_names"],
                          window_seconds=funnel.window.total_seconds()),
                breakdown(rep, frame[split.by], by=split.by, attribution=split.attribution, top=split.top, **about)
                if split is not None and "breakdown" in reports else None,
                trend_of(rep, period=trend, timezone=config.columns.timezone, window_ns=_ns(funnel.window),
                         last_ts=index.last_ts, **about) if trend is not None and "trend" in reports else None,
                time_to_convert(rep, **about) if "time" in reports else None)

    # Longest first, so that the short tasks fill the end of both threads: the micro report, then
    # the funnels by the events they replay.
    schedule = _most_events_first(config, frame, replayed) if len(replayed) > 1 else replayed
    tasks = ([partial(micro_report, config, index, goal, population=log.users)] if wants_micro else []) + [
        partial(one_funnel, name) for name in schedule]
    outcomes = _run_all(tasks, index, [(config.funnels[n].count, config.funnels[n].order) for n in replayed],
                        share_sort=len(chosen) > 1)
    warnings += invalid_value_notes(config, index, [config.funnels[n].steps[-1].ref for n in replayed]
                                    + ([goal] if wants_micro else []))
    micro = outcomes[0] if wants_micro else None
    done = dict(zip(schedule, outcomes[1:] if wants_micro else outcomes))
    per_funnel = [done[name] for name in replayed]
    results = [f[0] for f in per_funnel] if "funnels" in reports else []
    breakdowns, trends, times = ([f[i] for f in per_funnel if f[i] is not None] for i in (1, 2, 3))
    stamp = (lambda ns: None if ns is None else pd.Timestamp(ns, tz="UTC"))
    meta = RunMeta(sources=events.sources, events=log.events, users=log.users,
                   first_ts=stamp(log.first_ts), last_ts=stamp(log.last_ts))
    notes = tuple(quality.messages()) if quality else ()
    return AnalysisResult(tuple(results), meta, micro, tuple(warnings), notes, tuple(breakdowns), tuple(trends),
                          tuple(times))


def _most_events_first(config: Config, frame: pd.DataFrame, names: Sequence[str]) -> list[str]:
    """Funnels ordered by how many events their steps and exclusions name (every event for strict
    order), most first: a funnel's replay costs about in proportion."""
    codes = frame["event"].cat.codes.to_numpy()
    per_name = dict(zip(frame["event"].cat.categories, np.bincount(codes[codes >= 0],
                                                                  minlength=len(frame["event"].cat.categories))))

    def events(name: str) -> int:
        funnel = config.funnels[name]
        if funnel.order == "strict":
            return len(frame)
        named = {n for item in (*funnel.steps, *funnel.exclude)
                 for n in event_names(config.conversions[item.ref] if item.ref else item)}
        return sum(int(per_name.get(n, 0)) for n in named)

    return sorted(names, key=events, reverse=True)


def _run_all(tasks: Sequence[Callable[[], object]], index: EventIndex, funnels: Sequence[tuple[str, str]],
             share_sort: bool) -> list:
    """Run the funnels' and the micro report's computations, two at a time when there are several:
    they only read the shared index, and numpy releases the GIL for the long array work. What the
    index caches lazily (units, the run's sort) is built first, so no two threads build it."""
    if len(tasks) < 2:
        return [task() for task in tasks]
    for kind, order in dict.fromkeys(funnels):           # (funnel count, funnel order)
        units = index.units(kind)
        if order == "strict" or (share_sort and units.nests):
            index.sorted_for(units)
    with ThreadPoolExecutor(2, thread_name_prefix="microconv-engine") as pool:
        return list(pool.map(lambda task: task(), tasks))


def needed_events(config: Config, funnels: Sequence[str] | None = None) -> frozenset[str] | None:
    """The event names whose rows ``analyze`` reads for these funnels and every conversion, for
    ``load_events(only_events=...)``; None when it needs every row: strict order (the next event
    of any name), sessions cut by inactivity, session thresholds, ``per_user`` properties."""
    cols = config.columns
    if any(p.per_user for p in cols.properties.values()):
        return None
    for name in choose_funnels(config, funnels):
        funnel = config.funnels[name]
        if funnel.order == "strict" or (funnel.count == "sessions" and not cols.session):
            return None
    for conv in config.conversions.values():
        if conv.session is not None and (conv.session.duration is not None or not cols.session):
            return None
    return frozenset(name for _, match in config.matchers() for name in event_names(match))


def _check_rows_suffice(config: Config, events: Events, chosen: Sequence[str], as_of: str | None) -> None:
    """A frame of only some events' rows must hold every row this run reads."""
    if events.only_events is None:
        return
    needed = needed_events(config, chosen)
    if needed is None or not needed <= events.only_events or as_of is not None:
        raise ValueError("these events were loaded with only_events: this run needs "
                         + ("every row" if needed is None or as_of is not None else
                            f"the rows of {sorted(needed - events.only_events)} too"))


def _breakdown_of(name: str, funnel: Funnel, by: str | None, attribution: str | None, top: int | None,
                  frame: pd.DataFrame) -> Breakdown | None:
    """The funnel's breakdown with the command line's overrides; None when neither asks for one."""
    if by is None and funnel.breakdown is None:
        return None
    base = funnel.breakdown or Breakdown(by=by)
    try:
        split = Breakdown(by=by or base.by, attribution=attribution or base.attribution,
                          top=base.top if top is None else top)
        check_attribution_step(split.attribution, len(funnel.steps))
    except ValueError as exc:
        errors = exc.errors() if hasattr(exc, "errors") else [{"msg": str(exc)}]
        message = errors[0]["msg"].removeprefix("Value error, ")
        raise UsageError(f"funnel {name!r}: {message}" if "step" in message else message,
                         hint="pick funnels with enough steps with --funnel" if "step" in message else None) from None
    require_property(frame.columns, split.by, f"cannot break down by {split.by!r}", option="--by")
    return split


def require_property(columns: Sequence[str], name: str, what: str, *, option: str) -> None:
    """A UsageError unless ``name`` is among the events' ``columns`` (properties are read with
    ``extra_properties``), with did-you-mean among them."""
    if name in columns:
        return
    columns = [c for c in columns if c not in ("user", "ts") and not c.startswith("$")]
    raise UsageError(f"{what}: it was not read from the events",
                     hint=did_you_mean(name, columns, what="properties") or
                     f"load the events with extra_properties=[...] (the CLI does this for {option})")


def check_event_names(config: Config, frame: pd.DataFrame, strict: bool) -> list:
    """Warnings for config event names that never occur; a DataError for likely typos (for all, if strict)."""
    errors, warnings = unknown_event_names(config, frame["event"].cat.categories)
    if strict:
        errors, warnings = errors + warnings, []
    if errors:
        raise DataError(errors)
    return warnings


def cut_at(events: Events, as_of: str, timezone: str) -> Events:
    """Events before the end of ``as_of`` (a date means the end of that day in ``timezone``)."""
    ts = events.frame["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
    last = pd.Timestamp(int(ts.max()), tz="UTC") if len(ts) else None
    end = entry_bound(as_of, last_ts=last, tz=timezone, until=True, option="--as-of")
    keep = ts < end.value
    if not keep.any():
        raise DataError(f"no events before --as-of {as_of} (the data starts at {pd.Timestamp(int(ts.min()), tz='UTC')})"
                        if len(ts) else "no events")
    if keep.all():
        return events
    return Events(events.frame.loc[keep].reset_index(drop=True), events.sources)


def choose_funnels(config: Config, names: Sequence[str] | None) -> list[str]:
    """The funnels asked for (all when none), or a ConfigError with did-you-mean."""
    if not names:
        return list(config.funnels)
    unknown = [n for n in names if n not in config.funnels]
    if unknown:
        raise ConfigError(f"unknown funnel {unknown[0]!r}", where=located_of(config).file,
                          hint=did_you_mean(unknown[0], config.funnels, what="funnels"))
    return list(names)


def replay_funnel(config: Config, frame: pd.DataFrame, name: str, *, index: EventIndex | None = None,
                  last_ts: int | None = None, entry_range: tuple[int | None, int | None] = (None, None),
                  mature_only: bool = False, share_sort: bool = False, threads: int = 1) -> Replay:
    """Every attempt of one funnel (what ``explain`` shows); ``last_ts`` defaults to the frame's last event.
    ``share_sort``: take the funnel's events from the index's one sort of every event (worth it when
    several funnels are replayed) rather than sorting them on their own. ``threads``: replay in
    that many threads, each over a run of whole units."""
    funnel = config.funnels[name]
    if last_ts is None:
        last_ts = int(frame["ts"].to_numpy(dtype="datetime64[ns]").view("int64").max()) if len(frame) else 0
    index = index or EventIndex(config, frame, last_ts)

    def mask(item) -> np.ndarray:
        return index.mask(item.ref) if item.ref else match_mask(frame, item)

    plan = FunnelPlan(
        masks=[mask(s) for s in funnel.steps],
        window=_ns(funnel.window),
        order=funnel.order,
        entry=funnel.entry,
        within=[_ns(s.within) for s in funnel.steps],
        after=[_ns(s.after) for s in funnel.steps],
        exclusions=[(mask(x), *funnel.exclusion_bounds(x)) for x in funnel.exclude],
        entry_range=entry_range,
        mature_only=mature_only,
        value=_values(config, index, funnel),
    )
    units = index.units(funnel.count)
    shared = funnel.order == "strict" or (share_sort and units.nests)
    return replay(frame, plan, units, index.last_ts, index.sorted_for(units) if shared else None, threads=threads)


def step_names(funnel: Funnel) -> list[str]:
    """Row names: the steps, or for order: any "any k of n steps" after the entry step (semantics 4.2)."""
    names = [s.name for s in funnel.steps]
    if funnel.order != "any":
        return names
    n = len(names)
    return [names[0]] + [f"all {n} steps" if k == n else f"any {k} of {n} steps" for k in range(2, n + 1)]


def _values(config: Config, index: EventIndex, funnel: Funnel) -> np.ndarray | None:
    """The last step's ``value:`` property as numbers per event, when its conversion has one."""
    last = funnel.steps[-1]
    value = config.conversions[last.ref].value if last.ref else None
    return None if value is None else index.numbers(value)


def invalid_value_notes(config: Config, index: EventIndex, conversions: Sequence[str | None]) -> list[Problem]:
    """One note per summed ``value:`` whose events held numbers refused as amounts (inf, or beyond
    ``sums.MAX_AMOUNT``): revenue leaves them out, like missing values (semantics 7.3)."""
    notes = []
    for name in dict.fromkeys(c for c in conversions if c and config.conversions[c].value):
        prop = config.conversions[name].value
        refused = int(np.count_nonzero(index.invalid_numbers(prop) & index.mask(name)))
        if refused:
            notes.append(Problem(f"{refused:,} {prop!r} value{'s' if refused > 1 else ''} of {name!r} events "
                                 f"{'are' if refused > 1 else 'is'} infinite or beyond ±{MAX_AMOUNT:g}: "
                                 "left out of revenue, like missing values"))
    return notes


def entry_range_ns(config: Config, last_ts: int | None, since, until) -> tuple[int | None, int | None]:
    """``--since``/``--until`` as UTC nanoseconds; relative values count back from the day of ``last_ts``."""
    last = None if last_ts is None else pd.Timestamp(last_ts, tz="UTC")
    tz = config.columns.timezone
    bounds = (entry_bound(since, last_ts=last, tz=tz, until=False, option="--since"),
              entry_bound(until, last_ts=last, tz=tz, until=True, option="--until"))
    return tuple(None if b is None else int(b.value) for b in bounds)  # type: ignore[return-value]


def last_timestamp(events: Events) -> int:
    """The end of the data in UTC nanoseconds: ``T`` of docs/semantics.md 4.8 (of every row, also
    when the frame keeps only some)."""
    return events.summary.last_ts or 0


def _ns(duration) -> int | None:
    """A config duration in ns, clamped (engine.clock.duration_ns): longer than any span of timestamps."""
    return duration_ns(duration)
