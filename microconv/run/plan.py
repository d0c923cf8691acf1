"""A run planned once, before any replay: which funnels and reports, the end of the data, the
entry range, each funnel's breakdown and contexts, all checked against the config and the events.

Every check that can fail on the caller's options happens here, so that a bad ``by`` or
``trend`` option is reported before minutes of replay; and the reports read one frozen plan instead
of the options, whether the run is one pass or shards merged.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from ..config import Config, Funnel, located_of
from ..config.model import Breakdown, check_attribution_step
from ..config.presets import PRESETS
from ..engine.matching import event_names, unknown_event_names
from ..errors import ConfigError, DataError, OPTION, OptionError, Problem, did_you_mean
from ..load.frame import Events
from ..reports import REPLAYED
from ..reports.breakdown import BreakdownContext
from ..reports.funnel import FunnelContext
from ..reports.micro import MicroContext, macro_goal
from ..reports.trend import PERIODS, TrendContext
from .dates import entry_bound
from .options import Options


@dataclass(frozen=True)
class FunnelRun:
    """One funnel of the run: its contexts, and the reports asked of it (None: not asked)."""

    name: str
    context: FunnelContext
    breakdown: BreakdownContext | None
    trend: TrendContext | None
    time: bool
    steps: bool


@dataclass(frozen=True)
class RunPlan:
    config: Config
    options: Options
    chosen: tuple[str, ...]               # the funnels asked for, in the order given
    funnels: tuple[FunnelRun, ...]        # those replayed (none when only micro is asked for)
    last_ts: int                          # T (4.8): the end of the data, ns
    entry_range: tuple[int | None, int | None]
    micro: MicroContext | None            # the micro report's goal and groups; None: no micro report
    warnings: tuple[Problem, ...]

    @property
    def macro(self) -> str | None:
        return self.micro.macro if self.micro is not None else None


def plan_run(config: Config, events: Events, options: Options) -> RunPlan:
    """The plan of ``analyze`` over ``events`` (already cut at ``as_of``)."""
    chosen = choose_funnels(config, options.funnels)
    frame = events.frame
    warnings = check_event_names(config, frame, options.strict)
    log = events.summary
    last_ts = log.last_ts or 0
    bounds = entry_range_ns(config, log.last_ts, options.since, options.until)
    splits = {name: _breakdown_of(name, config.funnels[name], options, frame) for name in chosen}
    if options.trend is not None and options.trend not in PERIODS:
        raise OptionError(f"{OPTION} {options.trend!r} is not one of day, week, month", option="trend")
    wanted = set(options.reports)
    goal = macro_goal(config, options.macro)
    has_micro = any(c.kind != "macro" for c in config.conversions.values())
    wants_micro = "micro" in wanted and goal and has_micro
    if wants_micro and log.users is None:
        raise ValueError("the micro-conversion report needs the users of every row: load_events(count_users=True)")
    micro = _micro_of(config, goal, options, frame, last_ts) if wants_micro else None
    runs = []
    for name in (chosen if REPLAYED & wanted else []):
        funnel = config.funnels[name]
        ctx = FunnelContext(name, funnel.label or name, tuple(step_names(funnel)), funnel.window.total_seconds())
        split = splits[name]
        runs.append(FunnelRun(
            name, ctx,
            BreakdownContext(ctx, split.by, split.attribution, split.top)
            if split is not None and "breakdown" in wanted else None,
            TrendContext(ctx, options.trend, config.columns.timezone, last_ts)
            if options.trend is not None and "trend" in wanted else None,
            "time" in wanted, "funnels" in wanted))
    return RunPlan(config, options, tuple(chosen), tuple(runs), last_ts, bounds, micro, tuple(warnings))


def _micro_of(config: Config, goal: str, options: Options, frame: pd.DataFrame, last_ts: int) -> MicroContext:
    """The micro report's context: segments by the ``by`` properties, cohorts by ``trend`` (7.6, 7.7)."""
    by = (options.by,) if isinstance(options.by, str) else tuple(options.by or ())
    for prop in by:
        require_property(frame.columns, prop, f"cannot break down by {prop!r}", option="by")
    if options.control is not None and not by:
        raise OptionError(f"{OPTION} needs by: the control is one of its segments", option="control")
    top = Breakdown.model_fields["top"].default if options.top is None else options.top   # as a funnel's (8.2)
    return MicroContext(goal, by, top, options.control, options.trend, config.columns.timezone, last_ts)


def choose_funnels(config: Config, names: Sequence[str] | None) -> list[str]:
    """The funnels asked for (all when none), or a ConfigError with did-you-mean."""
    if not names:
        return list(config.funnels)
    unknown = [n for n in names if n not in config.funnels]
    if unknown:
        raise ConfigError(f"unknown funnel {unknown[0]!r}", where=located_of(config).file,
                          hint=did_you_mean(unknown[0], config.funnels, what="funnels"))
    return list(names)


def needed_events(config: Config, funnels: Sequence[str] | None = None, *,
                  micro_groups: bool = False, micro: bool = True) -> frozenset[str] | None:
    """The event names whose rows ``analyze`` reads for these funnels and every conversion (only
    the funnels' own steps and exclusions without the ``micro`` report, when no engagement level
    counts events), for ``load_events(only_events=...)``; None when it needs every row: strict
    order (the next event of any name), sessions cut by inactivity, session thresholds,
    ``per_user`` properties, and micro-conversion segments or periods (``micro_groups``: each
    user's first value and first event)."""
    cols = config.columns
    if micro_groups:
        return None
    if any(p.per_user for p in cols.properties.values()):
        return None
    for name in choose_funnels(config, funnels):
        funnel = config.funnels[name]
        if funnel.order == "strict" or (funnel.count == "sessions" and not cols.session):
            return None
    for conv in config.conversions.values():
        if conv.session is not None and (conv.session.duration is not None or not cols.session):
            return None
    if not micro and not any(p.engagement for p in cols.properties.values()):
        return frozenset(name for funnel in choose_funnels(config, funnels) for name in funnel_events(config, funnel))
    return frozenset(name for _, match in config.matchers() for name in event_names(match))


def funnel_events(config: Config, name: str) -> set[str]:
    """The event names funnel ``name``'s steps and exclusions read."""
    funnel = config.funnels[name]
    return {n for item in (*funnel.steps, *funnel.exclude)
            for n in event_names(config.conversions[item.ref] if item.ref else item)}


def check_rows_suffice(config: Config, events: Events, options: Options) -> None:
    """A frame of only some events' rows must hold every row this run (``options``) reads."""
    if events.only_events is None:
        return
    needed = needed_events(config, choose_funnels(config, options.funnels), micro_groups=options.micro_groups,
                           micro="micro" in options.reports)
    if needed is None or not needed <= events.only_events or options.as_of is not None:
        raise ValueError("these events were loaded with only_events: this run needs "
                         + ("every row" if needed is None or options.as_of is not None else
                            f"the rows of {sorted(needed - events.only_events)} too"))


def cut_at(events: Events, as_of: str, timezone: str) -> Events:
    """Events before the end of ``as_of`` (a date means the end of that day in ``timezone``)."""
    ts = events.frame["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
    last = pd.Timestamp(int(ts.max()), tz="UTC") if len(ts) else None
    end = entry_bound(as_of, last_ts=last, tz=timezone, until=True, option="as_of")
    keep = ts < end.value
    if not keep.any():
        if not len(ts):
            raise DataError("no events")
        raise OptionError(f"no events before {OPTION} {as_of} (the data starts at "
                          f"{pd.Timestamp(int(ts.min()), tz='UTC')})", option="as_of", exit_code=DataError.exit_code)
    if keep.all():
        return events
    return Events(events.frame.loc[keep].reset_index(drop=True), events.sources)


def check_event_names(config: Config, frame: pd.DataFrame, strict: bool) -> list:
    """Warnings for config event names that never occur; a DataError for likely typos (for all, if strict)."""
    errors, warnings = unknown_event_names(config, frame["event"].cat.categories)
    if strict:
        errors, warnings = errors + warnings, []
    if errors:
        raise DataError(errors)
    return warnings


def require_property(columns: Sequence[str], name: str, what: str, *, option: str) -> None:
    """An OptionError unless ``name`` is among the events' ``columns`` (properties are read with
    ``extra_properties``), with did-you-mean among them. ``what`` may name the option as ``errors.OPTION``."""
    if name in columns:
        return
    columns = [c for c in columns if c not in ("user", "ts") and not c.startswith("$")]
    raise OptionError(f"{what}: it was not read from the events", option=option,
                      hint=did_you_mean(name, columns, what="properties") or
                      f"load the events with extra_properties=[...] (the CLI does this for {OPTION})")


def entry_range_ns(config: Config, last_ts: int | None, since, until) -> tuple[int | None, int | None]:
    """``since``/``until`` as UTC nanoseconds; relative values count back from the day of ``last_ts``."""
    last = None if last_ts is None else pd.Timestamp(last_ts, tz="UTC")
    tz = config.columns.timezone
    bounds = (entry_bound(since, last_ts=last, tz=tz, until=False, option="since"),
              entry_bound(until, last_ts=last, tz=tz, until=True, option="until"))
    return tuple(None if b is None else int(b.value) for b in bounds)  # type: ignore[return-value]


def last_timestamp(events: Events) -> int:
    """The end of the data in UTC nanoseconds: ``T`` of docs/semantics.md 4.8 (of every row, also
    when the frame keeps only some)."""
    return events.summary.last_ts or 0


def step_names(funnel: Funnel) -> list[str]:
    """Row names: the steps; for order: any "any k of n steps" after the entry step (semantics 4.2);
    for order: unordered "any k of n steps" from k = 1, since any step enters (4.9.3)."""
    names = [s.name for s in funnel.steps]
    if funnel.order not in ("any", "unordered") or len(names) == 1:
        return names
    n = len(names)
    head = [names[0]] if funnel.order == "any" else []
    return head + [f"all {n} steps" if k == n else f"any {k} of {n} steps" for k in range(len(head) + 1, n + 1)]


def _breakdown_of(name: str, funnel: Funnel, options: Options, frame: pd.DataFrame) -> Breakdown | None:
    """The funnel's breakdown with the options' overrides; None when neither asks for one."""
    by, attribution, top = options.by, options.attribution, options.top
    by = (by,) if isinstance(by, str) else tuple(by or ())       # several: their combinations
    if not by and funnel.breakdown is None:
        return None
    try:
        base = funnel.breakdown or Breakdown(by=by, attribution=PRESETS[funnel.counting or "microconv"].attribution)
        split = Breakdown(by=by or base.by, attribution=attribution or base.attribution,
                          top=base.top if top is None else top)
        check_attribution_step(split.attribution, len(funnel.steps))
    except ValueError as exc:
        errors = exc.errors() if hasattr(exc, "errors") else [{"msg": str(exc)}]
        message = errors[0]["msg"].removeprefix("Value error, ")
        if "step" in message:
            raise OptionError(f"funnel {name!r}: {message}", option="funnels",
                              hint=f"pick funnels with enough steps with {OPTION}") from None
        raise OptionError(message, option="by") from None
    if split.attribution.startswith("step:"):
        k = int(split.attribution.removeprefix("step:"))
        if funnel.steps[k - 1].optional:
            raise OptionError(f"funnel {name!r}: attribution {split.attribution} names an optional step (4.12), "
                              "which a unit may have skipped", option="attribution",
                              hint="attribute to a required step, or use first_touch / last_touch")
    for prop in split.by:
        require_property(frame.columns, prop, f"cannot break down by {prop!r}", option="by")
    return split
