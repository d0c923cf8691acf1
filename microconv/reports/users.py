"""Unit lists (docs/semantics.md 11): who, by id, is behind one number of a funnel's table, for a
retargeting or e-mail list.

A list is read off the funnel's own :class:`~microconv.engine.funnel.Replay`, with the selection
the table counts with, so its length is the table's number by construction:

- ``reached=N``: the units counted in ``users`` at step N: their counted attempt reached step N
  or further, or, at an optional step (4.12.3), did it (``Replay.did``);
- ``dropped_after=N``: the units counted in ``dropped`` at the next required step after N (step
  N+1 without optional steps, 5.1): furthest step N and not in progress;
- ``converted``: those counted at the last step.

One boolean mask over the counted units, then the labels and times of the selected ones: no
Python loop over units.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import Config
from ..engine.funnel import Replay
from ..engine.optional import next_required, previous_required
from ..errors import OPTION, OptionError, UsageError
from ..load.frame import Events
from ..run.plan import check_event_names, choose_funnels, entry_range_ns, last_timestamp, step_names
from ..run.replay import replay_funnel

SELECTIONS = ("reached", "dropped_after", "converted")
TIME_COLUMNS = ("entered_at", "last_step_at")


@dataclass(frozen=True, eq=False)
class UsersResult:
    """The units of one selection of one funnel. ``frame`` has one row per unit, in unit order
    (user id, then session or attempt number): ``user``, then ``session`` (``count: sessions``)
    or ``attempt`` (``count: totals``), ``reached`` (furthest step, 1-based), ``reached_name``,
    ``entered_at`` (the counted attempt's step-1 time), ``last_step_at`` (the time of its last
    step done) and ``in_progress`` (4.8.2); times are UTC ``Timestamp``s.

    ``selection`` is ``reached``, ``dropped_after`` or ``converted``; ``step`` its N (for
    ``converted``, the last step); ``table_step`` the table's row whose number the list is:
    ``users`` at ``step`` for ``reached`` and ``converted``, ``dropped`` at ``table_step`` for
    ``dropped_after``."""

    funnel: str
    label: str
    unit: str                        # users | sessions | attempts
    order: str
    step_names: tuple[str, ...]
    selection: str
    step: int
    table_step: int
    frame: pd.DataFrame
    warnings: tuple = ()

    def to_frame(self) -> pd.DataFrame:
        return self.frame

    @property
    def count(self) -> int:
        return len(self.frame)


def funnel_units(config: Config, events: Events, funnel: str, *, reached: int | None = None,
                 dropped_after: int | None = None, converted: bool = False, since=None, until=None,
                 mature_only: bool = False, strict: bool = False) -> UsersResult:
    """The units of ``funnel`` behind one number of its table: those at step ``reached``, those
    dropped after step ``dropped_after``, or those ``converted`` (exactly one of the three).

    Args:
        config, events: as for :func:`microconv.analyze`.
        funnel: the funnel's name.
        reached: N (1..steps): the table's ``users`` at step N.
        dropped_after: N (1..steps-1, a required step): the table's ``dropped`` at the next
            required step (N+1 when it is required).
        converted: the table's ``users`` at the last step.
        since, until, mature_only: as for :func:`microconv.analyze` (4.7, 4.8).
        strict: event names that never occur in the data are errors.

    Raises:
        ConfigError: no funnel of that name (with did-you-mean).
        DataError: a config event name never occurs and looks like a typo (any, with ``strict``).
        UsageError: not exactly one selection; a step out of range (the message gives the
            funnel's step count); ``dropped_after`` an optional or the last step; a bad date.
    """
    name = choose_funnels(config, [funnel])[0]
    spec = config.funnels[name]
    names = tuple(step_names(spec))
    selection, step = choose_selection(len(names), reached, dropped_after, converted,
                                       tuple(s.optional for s in spec.steps))
    warnings = check_event_names(config, events.frame, strict)
    last_ts = last_timestamp(events)
    bounds = entry_range_ns(config, last_ts if len(events) else None, since, until)
    args = (config, name, selection, step, names, bounds, mature_only)
    if isinstance(events, Events):
        units, kind, order, table_step = users_partial(events, last_ts, *args)
    else:                                   # read on a Dask cluster: each partition's units (run/dask.py)
        units, kind, order, table_step = events.partials(users_partial, _both_units, *args)
        units = units.sort_values(_keys(units), kind="stable", ignore_index=True)
    return UsersResult(name, spec.label or name, kind, order, names, selection, step, table_step, units,
                       tuple(warnings))


def users_partial(events: Events, last_ts: int, config: Config, name: str, selection: str, step: int,
                  names: tuple[str, ...], bounds, mature_only: bool) -> tuple[pd.DataFrame, str, str, int]:
    """The selected units of ``events`` (sorted by id), the unit kind, the order and the table's step."""
    rep = replay_funnel(config, events.frame, name, last_ts=last_ts, entry_range=bounds, mature_only=mature_only)
    table_step = next_required(rep.plan.optional)[step] + 1 if selection == "dropped_after" else step
    return unit_frame(rep, selected(rep, selection, step), names), rep.kind, rep.plan.order, table_step


def _both_units(a: tuple, b: tuple) -> tuple:
    """Two disjoint sets of users' units; sorted once, at the end."""
    return (pd.concat([a[0], b[0]], ignore_index=True), *a[1:])


def _keys(frame: pd.DataFrame) -> list[str]:
    return list(frame.columns[:2]) if frame.columns[1] in ("session", "attempt") else ["user"]


def choose_selection(steps: int, reached: int | None, dropped_after: int | None, converted: bool,
                     optional: tuple[bool, ...]) -> tuple[str, int]:
    """(selection, N) from the three options, checked against a funnel of ``steps`` steps."""
    given = [s for s, on in zip(SELECTIONS, (reached is not None, dropped_after is not None, bool(converted))) if on]
    if len(given) != 1:
        raise UsageError("give exactly one of --reached N, --dropped-after N, --converted"
                         + (f" (got {', '.join('--' + g.replace('_', '-') for g in given)})" if given else ""))
    selection = given[0]
    if selection == "converted":
        return selection, steps
    n = reached if selection == "reached" else dropped_after
    top = steps if selection == "reached" else steps - 1
    if not 1 <= n <= top:
        what = f"1 to {top}" if top >= 1 else "none: nobody drops after the only step"
        raise OptionError(f"{OPTION} {n}: the funnel has {steps} step{'s' * (steps != 1)}, so N is {what}",
                          option=selection)
    if selection == "dropped_after" and optional[n - 1]:
        before = previous_required(optional)[n - 1] + 1
        raise OptionError(f"{OPTION} {n}: step {n} is optional, and nobody drops at or after an optional step "
                          "alone (semantics 4.12.3)",
                          hint=f"{OPTION} {before} lists who dropped after the required step before it", option=selection)
    return selection, n


def selected(rep: Replay, selection: str, step: int) -> np.ndarray:
    """Per counted unit (``rep.unit[rep.kept]`` order): whether it is in the table's number."""
    if selection in ("reached", "converted"):
        return rep.did(step - 1)            # reached step N or further; at an optional step: did it
    # The table's dropped at the next required step b after N: its previous step is N, and a
    # unit's furthest step is always a required one, so "counted at N, not at b" is best == N.
    return (rep.best[rep.kept] == step) & ~rep.in_progress[rep.kept]


def unit_frame(rep: Replay, mask: np.ndarray, names: tuple[str, ...]) -> pd.DataFrame:
    """The selected counted units as rows (see :class:`UsersResult`)."""
    which = np.flatnonzero(rep.kept)[mask]
    labels = rep.labels(which)
    if isinstance(labels, pd.MultiIndex):     # (user, session) or (user, attempt number)
        second = labels.get_level_values(1)
        columns = {"user": _text(labels.get_level_values(0)),
                   "attempt" if rep.plan.totals else "session": second.to_numpy(np.int64) if pd.api.types.is_integer_dtype(second) else _text(second)}
    else:
        columns = {"user": _text(labels)}
    pos = rep.counted_pos[mask]
    ts = rep.events.ts
    best = rep.best[which]
    columns.update({
        "reached": best.astype(np.int64),
        "reached_name": np.asarray(names, dtype=object)[best - 1],
        "entered_at": _utc(ts[pos[:, 0]]),
        "last_step_at": _utc(ts[pos.max(axis=1)]),     # positions keep (unit, time) order: the latest
        "in_progress": rep.in_progress[which].astype(bool),
    })
    frame = pd.DataFrame(columns)
    return frame.sort_values(_keys(frame), kind="stable", ignore_index=True)   # by id: unit codes follow the input


def _text(values) -> np.ndarray:
    return np.asarray(pd.Index(values).astype(str), dtype=object)


def _utc(ns: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ns.astype("datetime64[ns]")).tz_localize("UTC")
