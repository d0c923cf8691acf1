"""Where each conversion happens: a mask over events, thresholds included (docs/semantics.md 7).

A plain conversion happens at every event it matches. A threshold conversion happens at the
events where its level has been reached: from the user's N-th matching event on (``count``),
or, within a session, from the event that brings its page count or duration to the level
(``session``). So a threshold conversion can be a funnel step like any other, and its first
event per user is when the user first reached it.
"""
from __future__ import annotations

import copy
from functools import cached_property

import numpy as np
import pandas as pd

from ..config import Config, Conversion
from ..load.frame import SESSION
from . import units as unit_kinds
from .clock import duration_ns, elapsed_ns
from .matching import match_mask
from .replay import SortedEvents, sort_by_unit_time
from .sums import amounts

NEVER = np.iinfo(np.int64).max


class EventIndex:
    """One run's shared, lazily built views of the events: units, masks, first times."""

    def __init__(self, config: Config, frame: pd.DataFrame, last_ts: int):
        self.config, self.frame, self.last_ts = config, frame, last_ts
        self._masks: dict[str, np.ndarray] = {}
        self._numbers: dict[str, np.ndarray] = {}
        self._invalid: dict[str, np.ndarray] = {}
        self._sorted: dict[str, SortedEvents] = {}

    def units(self, kind: str) -> unit_kinds.Units:
        return self.sessions if kind == "sessions" else self.users

    def order_for(self, units: unit_kinds.Units) -> np.ndarray:
        """Every event in (unit, time, input order) order; the shared sort when the units nest in it."""
        return self.sorted_for(units).row

    def sorted_for(self, units: unit_kinds.Units) -> SortedEvents:
        """Every event sorted by (unit, time, input order), with units and times in that order: built
        once per kind of unit and run; funnels take their events from it by a filter, not a sort."""
        if units.kind not in self._sorted:              # (gap sessions put theirs when they are cut)
            order, unit, ts = sort_by_unit_time(units.code, self._ts, threads=2)
            self._sorted[units.kind] = SortedEvents(unit, ts, order)
        return self._sorted[units.kind]

    @property
    def order(self) -> np.ndarray:
        """Every event in (user, time, input order): the one full sort a run shares."""
        return self.sorted_for(self.users).row

    @cached_property
    def users(self) -> unit_kinds.Units:
        return unit_kinds.users(self.frame)

    @cached_property
    def sessions(self) -> unit_kinds.Units:
        """Sessions from ``columns.session``, else from inactivity gaps (4.6); built once per run."""
        if self.config.columns.session:
            return unit_kinds.sessions_from_column(self.frame, SESSION)
        timeout = duration_ns(self.config.session_timeout)
        units, self._sorted["sessions"] = unit_kinds.sessions_of(self.sorted_for(self.users), self.users.labels,
                                                                 timeout, self.last_ts)
        return units

    @cached_property
    def _ts(self) -> np.ndarray:
        return self.frame["ts"].to_numpy(dtype="datetime64[ns]").view("int64")

    @property
    def ts(self) -> np.ndarray:
        """Every event's time, UTC nanoseconds (made once per run)."""
        return self._ts

    def mask(self, name: str) -> np.ndarray:
        """Events at which conversion ``name`` has happened (cached per run)."""
        if name not in self._masks:
            self._masks[name] = self._mask(self.config.conversions[name])
        return self._masks[name]

    def _mask(self, conv: Conversion) -> np.ndarray:
        if conv.session is not None:
            return self._session_mask(conv)
        hits = match_mask(self.frame, conv)
        if conv.count is None:
            return hits
        return _reached_at(self.users.code, self._ts, hits, conv.count)

    def _session_mask(self, conv: Conversion) -> np.ndarray:
        sessions = self.sessions.code
        reached = np.ones(len(self.frame), dtype=bool)
        threshold = conv.session
        if threshold.pages is not None:
            pages = match_mask(self.frame, conv)  # reads conv.events: page_view unless 'event' says
            reached &= _reached_at(sessions, self._ts, pages, threshold.pages)
        if threshold.duration is not None:
            elapsed = elapsed_ns(self._ts, _group_min(sessions, self._ts)) / 1e9
            reached &= _reached(elapsed, threshold.duration)
        return reached

    def numbers(self, prop: str) -> np.ndarray:
        """Property ``prop`` as an amount per event (NaN where missing, not a number, or not a valid
        amount: infinite or beyond ``sums.MAX_AMOUNT``, semantics 7.3), cached per run."""
        if prop not in self._numbers:
            raw = pd.to_numeric(self.frame[prop], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            self._numbers[prop], self._invalid[prop] = amounts(raw)
        return self._numbers[prop]

    def invalid_numbers(self, prop: str) -> np.ndarray:
        """Per event: whether ``prop`` held a number that :meth:`numbers` refused as an amount."""
        self.numbers(prop)
        return self._invalid[prop]

    def first_by_user(self, name: str) -> np.ndarray:
        """Per user code: the first time (ns) conversion ``name`` happened, NEVER if it did not."""
        hit = np.flatnonzero(self.mask(name))
        first = np.full(len(self.frame["user"].cat.categories), NEVER, dtype=np.int64)
        np.minimum.at(first, self.frame["user"].cat.codes.to_numpy()[hit], self._ts[hit])
        return first

    def before(self, deadline: np.ndarray) -> np.ndarray:
        """Per event: whether it happened before its user's ``deadline`` (ns per user code)."""
        return self._ts < deadline.take(self.frame["user"].cat.codes.to_numpy())

    def done_before(self, names, deadline: np.ndarray | None) -> list[np.ndarray]:
        """Per conversion of ``names``, per user code: whether the user did it strictly before their
        ``deadline`` (ns per user code, e.g. their first macro conversion: 7.2.2); ever when None."""
        early = None if deadline is None else self.before(deadline)        # one comparison for them all
        return [self.users_with(self.mask(name) if early is None else self.mask(name) & early) for name in names]

    def over(self, frame: pd.DataFrame) -> EventIndex:
        """This index over ``frame``: the same rows in the same order, with columns added (an
        engagement level, 8.5), so that every mask, sort and unit already made still holds."""
        other = copy.copy(self)
        other.frame = frame
        return other

    def users_with(self, flags: np.ndarray | None = None) -> np.ndarray:
        """Per user code: whether any of the flagged events (None: any event) is the user's. (Marked
        in a boolean array: a bincount costs twice as much.)"""
        codes = self.frame["user"].cat.codes.to_numpy()
        out = np.zeros(len(self.frame["user"].cat.categories), dtype=bool)
        out[codes if flags is None else codes[np.flatnonzero(flags)]] = True
        return out

    def first_times(self, name: str) -> pd.Series:
        """Per user id: the first time conversion ``name`` happened; users who never did are absent."""
        first = self.first_by_user(name)
        done = first < NEVER
        return pd.Series(first[done], index=self.frame["user"].cat.categories[done])


def _reached(level: np.ndarray, threshold: tuple[str, float]) -> np.ndarray:
    op, amount = threshold
    return level >= amount if op == ">=" else level > amount


def _reached_at(group: np.ndarray, ts: np.ndarray, flags: np.ndarray, threshold: tuple[str, float]) -> np.ndarray:
    """Flagged events at which their group's running count of flagged events (in rule 1.4's order)
    has reached ``threshold``. Only the flagged events are sorted: the count of an event is its
    place among its group's flagged events, plus one."""
    rows = np.flatnonzero(flags)
    order, unit, _ = sort_by_unit_time(group[rows], ts[rows])
    starts = np.flatnonzero(np.r_[True, unit[1:] != unit[:-1]]) if len(unit) else np.zeros(0, dtype=np.int64)
    count = np.arange(1, len(unit) + 1) - np.repeat(starts, np.diff(np.r_[starts, len(unit)]))
    out = np.zeros(len(flags), dtype=bool)
    out[rows[order]] = _reached(count, threshold)
    return out


def _group_min(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per event: the smallest value in its group (group codes are small non-negative integers)."""
    least = np.full(int(group.max(initial=-1)) + 1, NEVER, dtype=np.int64)
    np.minimum.at(least, group, values)
    return least[group]
