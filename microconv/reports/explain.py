"""Why one user was counted the way they were: the engine's own attempts, read back per user.

``explain_user`` replays each funnel over the user's events with the engine itself (and the end
of the *whole* data for rule 4.8), so the verdict it prints is by construction the one counted.
Only this user's few attempts are turned into Python objects. Over shards of users, the partial
of the shard that holds the user carries the trace; the others carry only near ids for the
did-you-mean.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..run.plan import choose_funnels, entry_range_ns, last_timestamp, step_names
from ..run.replay import replay_funnel
from ..config import Config
from ..engine.clock import elapsed_ns
from ..engine.distinct import distinct
from ..engine.funnel import Replay
from ..engine.replay import Stop
from ..errors import DataError, did_you_mean
from ..load.frame import Events


@dataclass(frozen=True)
class AttemptTrace:
    """One attempt: the frame row used for each step reached, and why it stopped."""

    rows: tuple[int, ...]          # frame rows (of the user's events) per step reached, step order
    steps: tuple[int, ...]         # 1-based step of each of those rows
    reached: int
    stop: Stop
    stop_row: int | None
    spoiled: bool
    open: bool
    counted: bool
    held_row: int | None = None    # hold (4.11): the next step's event that had other held values


@dataclass(frozen=True)
class UnitTrace:
    """One counted unit (the user, or one of their sessions) in one funnel."""

    unit: str                      # for display: "u1", or "u1 session 2"
    key: object                    # as in FunnelResult.reached's index: user id, or (user, session)
    reached: int                   # 0: excluded (every attempt spoiled) or never entered
    entered: bool
    in_progress: bool
    left_out: bool                 # in progress and --mature-only
    attempts: tuple[AttemptTrace, ...]


@dataclass(frozen=True)
class FunnelTrace:
    name: str
    label: str
    order: str
    window_seconds: float
    step_names: tuple[str, ...]
    within: tuple[float | None, ...]
    after: tuple[float | None, ...]
    units: tuple[UnitTrace, ...]
    count: str = "users"           # users | sessions | totals
    hold: tuple[str, ...] = ()     # held properties (4.11)
    optional: tuple[bool, ...] = ()  # per step: optional (4.12)
    open_windows: str = "in_progress"  # or dropped (4.13)


@dataclass(frozen=True)
class Explanation:
    user: str
    events: pd.DataFrame           # the user's events in time order (index: frame row)
    last_ts: pd.Timestamp          # end of the whole data (rule 4.8)
    funnels: tuple[FunnelTrace, ...]


@dataclass(frozen=True)
class ExplainContext:
    user: str
    funnels: tuple[str, ...]
    last_ts: int                                   # T of the whole data (4.8), ns
    entry_range: tuple[int | None, int | None]
    mature_only: bool


@dataclass(frozen=True, eq=False)
class ExplainPartial:
    """The user's events and traces, when this set of units holds them (a user's events are never
    split between sets, so one set does); else the ids of this set that could be a typo of it."""

    events: pd.DataFrame | None
    traces: tuple[FunnelTrace, ...] | None
    near: tuple[str, ...]


def explain_user(config: Config, events: Events, user: str, *, funnels: Sequence[str] | None = None,
                 since=None, until=None, mature_only: bool = False) -> Explanation:
    """Trace ``user`` through the chosen funnels (all by default).

    Raises:
        DataError: no event has that user id (with did-you-mean against the ids present).
    """
    last_ts = last_timestamp(events)
    bounds = entry_range_ns(config, last_ts if len(events.frame) else None, since, until)
    ctx = ExplainContext(user, tuple(choose_funnels(config, funnels)), last_ts, bounds, mature_only)
    return finalize(partial(config, events, ctx), ctx)


def partial(config: Config, events: Events, ctx: ExplainContext) -> ExplainPartial:
    frame = events.frame
    present = frame["user"].cat.categories
    if ctx.user not in present:
        return ExplainPartial(None, None, tuple(_near(present, ctx.user)))
    mine = frame[(frame["user"] == ctx.user).to_numpy()]
    if not len(mine):
        return ExplainPartial(None, None, ())
    traces = []
    for name in ctx.funnels:
        funnel = config.funnels[name]
        rep = replay_funnel(config, mine, name, last_ts=ctx.last_ts, entry_range=ctx.entry_range,
                            mature_only=ctx.mature_only)
        traces.append(FunnelTrace(
            name, funnel.label or name, funnel.order, funnel.window.total_seconds(), tuple(step_names(funnel)),
            tuple(s.within.total_seconds() if s.within else None for s in funnel.steps),
            tuple(s.after.total_seconds() if s.after else None for s in funnel.steps),
            _units(rep, mine), funnel.count, funnel.hold, tuple(s.optional for s in funnel.steps),
            funnel.open_windows,
        ))
    return ExplainPartial(mine.sort_values("ts", kind="stable"), tuple(traces), ())


def merge(a: ExplainPartial, b: ExplainPartial) -> ExplainPartial:
    return a if a.events is not None else b if b.events is not None else ExplainPartial(None, None, a.near + b.near)


def finalize(p: ExplainPartial, ctx: ExplainContext) -> Explanation:
    if p.events is None:
        raise DataError(f"no events for user {ctx.user!r}", hint=did_you_mean(ctx.user, p.near, what="users"))
    return Explanation(ctx.user, p.events, pd.Timestamp(ctx.last_ts, tz="UTC"), p.traces)


def _units(rep: Replay, mine: pd.DataFrame) -> tuple[UnitTrace, ...]:
    """Every unit of the user: those with attempts from the replay, the rest as never entered. With
    ``count: totals`` each counted attempt is a unit, shown with the attempts that started inside
    it (4.10.1: counted for nothing)."""
    traced: dict[int, list[UnitTrace]] = {}
    keys = rep.labels(np.arange(len(rep.unit)))
    for i, code in enumerate(rep.unit):
        attempts = rep.attempts_of(int(code))
        if rep.plan.totals:
            later = rep.counted[i + 1] if i + 1 < len(rep.unit) and rep.unit[i + 1] == code else attempts[-1] + 1
            attempts = np.arange(rep.counted[i], later)
        traces = tuple(_attempt(rep, a, a == rep.counted[i], mine.index) for a in attempts)
        traced.setdefault(int(code), []).append(UnitTrace(
            _label(keys[i], rep.kind), keys[i], int(rep.best[i]), True, bool(rep.in_progress[i]),
            bool(rep.in_progress[i] and not rep.kept[i]), traces))
    return tuple(unit for c in distinct(rep.units.code) for unit in traced.get(int(c)) or [
        UnitTrace(_label(rep.units.labels[c], rep.units.kind), rep.units.labels[c], 0, False, False, False, ())])


def _attempt(rep: Replay, a: int, counted: bool, index: pd.Index) -> AttemptTrace:
    """``index`` turns the replayed frame's positions back into the caller's row labels."""
    att = rep.attempts
    pos = att.pos[a]
    steps = tuple(int(k) + 1 for k in np.flatnonzero(pos >= 0))
    rows = tuple(int(index[rep.events.row[p]]) for p in pos[pos >= 0])
    stop_row = int(index[rep.events.row[att.stop_pos[a]]]) if att.stop_pos[a] >= 0 else None
    held = _held_change(rep, a)
    return AttemptTrace(rows, steps, int(att.reached[a]), Stop(int(att.stop[a])), stop_row,
                        bool(rep.spoiled[a]), bool(rep.open[a]), bool(counted),
                        stop_row if att.stop[a] == Stop.HELD else None if held is None else int(index[held]))


def _held_change(rep: Replay, a: int) -> int | None:
    """Ordered with ``hold``: the frame row of the first event of the step the attempt did not reach,
    inside its window and not before its last step, that has other held values than its step-1
    event (the one it would have taken without the hold); None when there is none."""
    att, plan = rep.attempts, rep.plan
    k = int(att.reached[a])
    if plan.hold is None or plan.order != "ordered" or k >= len(plan.masks) or att.stop[a] == Stop.EXCLUDED:
        return None
    rows, ts, first = rep.events.row, rep.events.ts, att.pos[a, 0]
    t1, t_last = ts[first], ts[att.pos[a, k - 1]]
    inside = (ts >= t_last) & (elapsed_ns(ts, np.full(len(ts), t1)) <= plan.window)
    other = plan.masks[k][rows] & ((plan.hold[rows] != plan.hold[rows[first]]) | (plan.hold[rows] < 0))
    at = np.flatnonzero(inside & other & (rep.events.unit == rep.events.unit[first]))
    at = at[~np.isin(at, att.pos[a, :k])]                      # one event, one step
    return int(rows[at[0]]) if len(at) else None


def _label(label, kind: str) -> str:
    if not isinstance(label, tuple):
        return str(label)
    return f"{label[0]} {'attempt' if kind == 'attempts' else 'session'} {label[1]}"


def _near(ids: pd.Index, user: str) -> list[str]:
    """Ids that could be a typo of ``user``: same length give or take two (all ids can be millions)."""
    text = pd.Index(ids.astype(str))
    lengths = text.str.len()
    return list(text[(lengths >= len(user) - 2) & (lengths <= len(user) + 2)][:100_000])
