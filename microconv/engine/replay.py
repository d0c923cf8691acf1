"""Replaying attempts over events sorted by (unit, time): one function per ``order``.

Every array here is indexed either by sorted event position or by attempt. Each step is one
``searchsorted`` (or one shifted comparison, for strict order) over all live attempts at once;
the only Python loops are over steps and exclusions (docs/semantics.md sections 3 and 4).
"""
from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property

import numpy as np

from .clock import NS_MAX, elapsed_ns, plus_ns
from .distinct import distinct


class Stop(IntEnum):
    """Why an attempt went no further (shown by ``explain``)."""

    COMPLETE = 0
    NO_MATCH = 1      # no event for the next step after the last one matched
    WINDOW = 2        # the next step's event came after the funnel window
    WITHIN = 3        # ... after the step's ``within`` limit
    TOO_SOON = 4      # strict: the next event came before the step's ``after`` limit
    STRICT_BREAK = 5  # strict: the next event was not the next step
    EXCLUDED = 6      # an exclusion event fell inside the attempt
    HELD = 7          # strict with hold: the next event was the next step with other held values


def position_dtype(n: int) -> type:
    """int32 for positions, rows and codes among ``n``, when they fit: half the memory traffic."""
    return np.int32 if n < 2**31 else np.int64


def unit_time_order(unit: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Positions sorted by (unit, time, position): rule 1.4's order."""
    return sort_by_unit_time(unit, ts)[0]


def sort_by_unit_time(unit: np.ndarray, ts: np.ndarray, threads: int = 1
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`unit_time_order`, with ``unit`` and ``ts`` in that order (read off the sort, not gathered again).

    Exports are mostly in time order, at least per user, so the events are first sorted by
    (unit, position), packed into one int64: a plain ``np.sort``, several times faster than any
    argsort. That is already (unit, time, position) except in units whose times go back somewhere
    in input order; only those units' events are sorted again, by (unit, time) stably. With
    ``threads`` 2, the units below and from the middle code are sorted each by its own thread
    into its own end of the result: no unit is in both, so side by side they are the whole order."""
    n = len(unit)
    row_bits = max(int(n - 1).bit_length(), 1)
    if n == 0 or unit.min() < 0 or int(unit.max()).bit_length() + row_bits > 63:
        order = _unit_time_argsort(unit, ts)
        return order, unit[order], ts[order]
    out = (np.empty(n, dtype=position_dtype(n)), np.empty(n, dtype=unit.dtype), np.empty(n, dtype=ts.dtype))
    if threads < 2 or n < SORT_SPLIT_MIN:
        _sort_rows(unit, ts, None, row_bits, *out)
        return out
    low = unit < (int(unit.max()) + 1) // 2           # codes are hashed or in time order: the halves are alike
    cut = int(np.count_nonzero(low))

    def half(first: bool) -> None:
        rows = np.flatnonzero(low if first else ~low)
        where = slice(0, cut) if first else slice(cut, n)
        _sort_rows(unit, ts, rows, row_bits, *(a[where] for a in out))

    with ThreadPoolExecutor(2, thread_name_prefix="microconv-sort") as pool:
        list(pool.map(half, (True, False)))
    return out


SORT_SPLIT_MIN = 200_000   # events below which a second sorting thread costs more than it saves


def _sort_rows(unit: np.ndarray, ts: np.ndarray, rows: np.ndarray | None, row_bits: int,
               order: np.ndarray, sorted_unit: np.ndarray, sorted_ts: np.ndarray) -> None:
    """``rows`` (None: every row) of ``unit`` and ``ts`` in (unit, time, row) order, written into the
    last three arrays."""
    key = (unit if rows is None else unit.take(rows)).astype(np.int64)      # a copy, packed in place
    key <<= row_bits
    key |= np.arange(len(unit), dtype=np.int64) if rows is None else rows
    key.sort()
    order[:] = key & ((1 << row_bits) - 1)
    key >>= row_bits
    sorted_unit[:] = key
    ts.take(order, out=sorted_ts)
    back = (sorted_unit[1:] == sorted_unit[:-1]) & (sorted_ts[1:] < sorted_ts[:-1])
    if back.any():
        run = np.cumsum(np.r_[False, sorted_unit[1:] != sorted_unit[:-1]])     # per position, its unit's run
        unsorted = np.zeros(int(run[-1]) + 1, dtype=bool)
        unsorted[run[1:][back]] = True
        again = np.flatnonzero(unsorted[run])               # whole units, so their slots stay theirs
        within = _unit_time_argsort(sorted_unit[again], sorted_ts[again])
        order[again], sorted_ts[again] = order[again][within], sorted_ts[again][within]


def _unit_time_argsort(unit: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """(unit, time, position) order by one stable argsort.

    Unit and time are packed into one int64 (time counted from the earliest, in its coarsest
    whole unit: s, ms, us or ns), about twice as fast as ``np.lexsort`` of the two keys; when
    they do not fit in 63 bits, lexsort it is."""
    if len(unit) == 0:
        return np.zeros(0, dtype=np.int64)
    if int(ts.max()) - int(ts.min()) > np.iinfo(np.int64).max:      # a span of over 292 years
        return np.lexsort((ts, unit))
    t = ts - ts.min()
    for step in (1_000_000_000, 1_000_000, 1_000):
        if not (t % step).any():
            t = t // step
            break
    time_bits = int(t.max()).bit_length()
    if int(unit.max()).bit_length() + time_bits > 63 or unit.min() < 0:
        return np.lexsort((ts, unit))
    key = (unit.astype(np.int64) << time_bits) | t
    return np.argsort(key, kind="stable")


@dataclass(frozen=True)
class SortedEvents:
    """Events in (unit, time, input order) order, with the bounds of equal-time groups."""

    unit: np.ndarray   # unit code (int32 when they fit), ascending
    ts: np.ndarray     # int64 ns
    row: np.ndarray    # the frame row of each position

    @classmethod
    def build(cls, unit: np.ndarray, ts: np.ndarray, rows: np.ndarray | None, threads: int = 1) -> SortedEvents:
        """``unit`` and ``ts`` of the frame's ``rows`` (None: of every row, in frame order), sorted."""
        order, unit, ts = sort_by_unit_time(unit, ts, threads)
        return cls(unit, ts, order if rows is None else rows[order])

    def subset(self, at: np.ndarray) -> SortedEvents:
        """The events at positions ``at`` (ascending), still in order. (Taken by index: numpy's
        boolean indexing is several times slower on a mask without runs.)"""
        return SortedEvents(self.unit[at], self.ts[at], self.row[at])

    def slice(self, lo: int, hi: int) -> SortedEvents:
        """Positions lo..hi-1 as views (a run of whole units, when cut at unit boundaries)."""
        return SortedEvents(self.unit[lo:hi], self.ts[lo:hi], self.row[lo:hi])

    def __len__(self) -> int:
        return len(self.unit)

    @cached_property
    def _ties(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Ties without a pass that numbers every group: a flag per position (and one past the end)
        for "same unit and time as the one before", which is rare; the flagged positions; the run
        of consecutive flagged positions each is in; per run, its group's first and past-the-end position."""
        n = len(self.unit)
        tied = np.zeros(n + 1, dtype=bool)
        tied[1:n] = (self.unit[1:] == self.unit[:-1]) & (self.ts[1:] == self.ts[:-1])
        where = np.flatnonzero(tied)
        new_run = np.diff(where, prepend=-2) != 1
        last = np.append(new_run[1:], True)[:len(where)]
        return tied, where, np.cumsum(new_run) - 1, np.stack([where[new_run] - 1, where[last] + 1])

    def tie_start(self, positions: np.ndarray) -> np.ndarray:
        """Per position: the first position with the same unit and timestamp (rule 3.3: ties are
        taken in step order)."""
        tied, where, run, bounds = self._ties
        out = positions.copy()
        inside = np.flatnonzero(tied[positions])
        out[inside] = bounds[0, run[np.searchsorted(where, positions[inside])]]
        return out

    def tie_end(self, positions: np.ndarray) -> np.ndarray:
        """Per position: the first position after its group of the same unit and timestamp."""
        tied, where, run, bounds = self._ties
        out = positions + 1
        inside = np.flatnonzero(tied[out])
        out[inside] = bounds[1, run[np.searchsorted(where, out[inside])]]
        return out

    @cached_property
    def _key(self) -> tuple[np.ndarray, np.ndarray]:
        """A scalar that orders like (unit, time): unit * (#distinct times + 1) + rank of the time."""
        times, rank = np.unique(self.ts, return_inverse=True)     # (return_inverse: a sort, several times
        return self.unit.astype(np.int64) * (len(times) + 1) + rank.reshape(-1), times   # faster than without)

    def first_at_or_after(self, positions: np.ndarray, unit: np.ndarray, t: np.ndarray, plus: int = 0) -> np.ndarray:
        """Index into ``positions`` of the first event with (unit, time) >= (``unit``, ``t + plus``),
        also where ``t + plus`` lies past the last representable time (then: past the unit's events)."""
        key, times = self._key
        rank = np.searchsorted(times, plus_ns(t, plus))
        rank[t > NS_MAX - plus] = len(times)
        return np.searchsorted(key[positions], unit.astype(np.int64) * (len(times) + 1) + rank)


@dataclass(frozen=True)
class Attempts:
    """One row per attempt (ordered by unit, then step-1 event)."""

    unit: np.ndarray      # unit code
    pos: np.ndarray       # (attempts, steps): sorted position of the event used for each step, -1 if none
    reached: np.ndarray   # steps reached (distinct steps done, for order: any)
    stop: np.ndarray      # Stop code
    stop_pos: np.ndarray  # the event that stopped it (too late, wrong, excluding), -1 if none

    @property
    def anchor(self) -> np.ndarray:
        return self.pos[:, 0]

    @classmethod
    def empty(cls, attempts: int, steps: int, events: SortedEvents) -> Attempts:
        """Room for ``attempts`` over ``events``: positions in int32 when they fit, units as the events'."""
        at = position_dtype(len(events))
        return cls(np.empty(attempts, dtype=events.unit.dtype), np.empty((attempts, steps), dtype=at),
                   np.empty(attempts, dtype=np.int64), np.empty(attempts, dtype=np.int8),
                   np.empty(attempts, dtype=at))

    def rows(self, lo: int, hi: int) -> Attempts:
        """Attempts lo..hi-1, as views: a thread filling them fills these."""
        return Attempts(self.unit[lo:hi], self.pos[lo:hi], self.reached[lo:hi], self.stop[lo:hi],
                        self.stop_pos[lo:hi])

    def shift(self, offset: int) -> None:
        """Positions (not -1) moved by ``offset``: from a slice of the events to the whole."""
        if offset:
            for positions in (self.pos, self.stop_pos):
                np.add(positions, offset, out=positions, where=positions >= 0)


def _start(events: SortedEvents, anchors: np.ndarray, steps: int, out: Attempts | None) -> Attempts:
    """Attempts from ``anchors``, written into ``out`` when given (views of a larger whole)."""
    out = Attempts.empty(len(anchors), steps, events) if out is None else out
    out.unit[:] = events.unit[anchors]
    out.pos.fill(-1)
    out.pos[:, 0] = anchors
    out.reached.fill(1)
    out.stop.fill(Stop.COMPLETE)
    out.stop_pos.fill(-1)
    return out


def _advance(k, live, ok, failed, code, cand, seen, pos, reached, stop, stop_pos) -> tuple[np.ndarray, np.ndarray]:
    """Record step k for the live attempts (indices ``live``) where ``ok`` (event ``cand``), and for the
    ``failed`` ones (indices into ``live``) why they stopped (``code``, and ``cand`` as the culprit
    where ``seen``). Returns the attempts still live and their step-k events, so that each step only
    looks at the attempts that reached the one before, starting from where they got to."""
    stop[_pick(live, failed)] = code
    culprit = failed[seen.take(failed)]
    stop_pos[_pick(live, culprit)] = cand.take(culprit)
    ok = np.flatnonzero(ok)                 # indices, not masks: numpy's boolean indexing is slower
    won, moved_to = _pick(live, ok), cand.take(ok)
    pos[won, k] = moved_to
    reached[won] = k + 1                    # steps are matched one after another
    return won, moved_to


EVERY = slice(None)   # ``live`` before the first step narrows it: every attempt, indexed as views


def _pick(live: np.ndarray | slice, at: np.ndarray) -> np.ndarray:
    """The attempts at indices ``at`` of ``live``."""
    return at if isinstance(live, slice) else live[at]


def count_before(mask: np.ndarray) -> np.ndarray:
    """Per sorted position, and one past the end: how many positions before it ``mask`` holds. The
    same as ``np.searchsorted(np.flatnonzero(mask), position)`` for every position, by one cumsum
    instead of a binary search per attempt."""
    out = np.zeros(len(mask) + 1, dtype=np.int32 if len(mask) < 2**31 else np.int64)
    np.cumsum(mask, out=out[1:])
    return out


def replay_ordered(events: SortedEvents, anchors: np.ndarray, masks: Sequence[np.ndarray], window: int,
                   within: Sequence[int | None], after: Sequence[int | None], out: Attempts | None = None) -> Attempts:
    """Rules 3.2-3.5 and 4.3: greedy earliest match per step, ties in step order, no reuse."""
    att = _start(events, anchors, len(masks), out)
    pos, reached, stop, stop_pos, unit = att.pos, att.reached, att.stop, att.stop_pos, att.unit
    t1 = events.ts[anchors]
    at, live = anchors, EVERY
    for k in range(1, len(masks)):
        positions = np.flatnonzero(masks[k])
        if len(positions) == 0:
            stop[live] = Stop.NO_MATCH
            break
        last = len(positions) - 1
        who = unit[live]
        if after[k]:
            j = events.first_at_or_after(positions, who, events.ts[at], after[k])
        else:
            j = count_before(masks[k]).take(events.tie_start(at))
        shared = np.logical_or.reduce(masks[:k]) & masks[k]
        for _ in range(k if shared.any() else 0):      # an event can serve one step only (3.4)
            clash = (j <= last) & (positions[np.minimum(j, last)][:, None] == pos[live, :k]).any(axis=1)
            if not clash.any():
                break
            j = j + clash
        cand = positions.take(np.minimum(j, last))
        found = (j <= last) & (events.unit.take(cand) == who)
        t = events.ts.take(cand)
        in_window = elapsed_ns(t, t1[live]) <= window       # (uint64: exact where found)
        ok = found & in_window
        if within[k] is not None:
            ok &= elapsed_ns(t, events.ts.take(at)) <= within[k]
        failed = np.flatnonzero(~ok)
        code = np.where(found.take(failed), np.where(in_window.take(failed), Stop.WITHIN, Stop.WINDOW), Stop.NO_MATCH)
        live, at = _advance(k, live, ok, failed, code, cand, found, pos, reached, stop, stop_pos)
        if not len(live):
            break
    return att


def replay_strict(events: SortedEvents, anchors: np.ndarray, masks: Sequence[np.ndarray], window: int,
                  within: Sequence[int | None], after: Sequence[int | None], out: Attempts | None = None,
                  held: np.ndarray | None = None) -> Attempts:
    """Rule 4.1: step k+1 must be the unit's very next event. ``events`` holds every event. With
    ``held`` (per position, the code of its held values, 4.11) that event must also carry the
    step-1 event's code (a missing one never does): a next event of the step with another code
    breaks the attempt as any other event would (``Stop.HELD``)."""
    att = _start(events, anchors, len(masks), out)
    pos, reached, stop, stop_pos, unit = att.pos, att.reached, att.stop, att.stop_pos, att.unit
    t1 = events.ts[anchors]
    code1 = None if held is None else np.where(held[anchors] >= 0, held[anchors], -2)   # -2: matches no code
    at, live = anchors, EVERY
    n = len(events)
    for k in range(1, len(masks)):
        nxt = np.minimum(at + 1, n - 1)
        exists = (at + 1 < n) & (events.unit.take(nxt) == unit[live])
        matches = masks[k].take(nxt)
        if code1 is not None:
            other = matches & (held.take(nxt) != code1[live])
            matches = matches & ~other
        delta = elapsed_ns(events.ts.take(nxt), events.ts.take(at))      # (uint64: exact where exists)
        in_window = elapsed_ns(events.ts.take(nxt), t1[live]) <= window
        in_limit = True if within[k] is None else delta <= within[k]
        soon = delta < after[k] if after[k] else np.zeros(len(at), dtype=bool)
        ok = exists & matches & in_window & in_limit & ~soon
        failed = np.flatnonzero(~ok)
        code = np.select([~exists.take(failed), ~matches.take(failed), ~in_window.take(failed), soon.take(failed)],
                         [Stop.NO_MATCH, Stop.STRICT_BREAK, Stop.WINDOW, Stop.TOO_SOON], Stop.WITHIN)
        if code1 is not None:
            code[other.take(failed) & exists.take(failed)] = Stop.HELD
        live, at = _advance(k, live, ok, failed, code, nxt, exists, pos, reached, stop, stop_pos)
        if not len(live):
            break
    return att


def replay_any(events: SortedEvents, anchors: np.ndarray, masks: Sequence[np.ndarray], window: int,
               out: Attempts | None = None) -> Attempts:
    """Rule 4.2: after the step-1 event, each other step is checked on its own inside the window."""
    att = _start(events, anchors, len(masks), out)
    pos, reached, stop, unit = att.pos, att.reached, att.stop, att.unit
    t1 = events.ts[anchors]
    late = np.zeros(len(anchors), dtype=bool)
    for k in range(1, len(masks)):
        positions = np.flatnonzero(masks[k])
        if len(positions) == 0:
            continue
        last = len(positions) - 1
        j = count_before(masks[k]).take(events.tie_start(anchors))
        j += (j <= last) & (positions.take(np.minimum(j, last)) == anchors)     # not the anchor itself (3.4)
        cand = positions.take(np.minimum(j, last))
        found = (j <= last) & (events.unit.take(cand) == unit)
        ok = found & (elapsed_ns(events.ts.take(cand), t1) <= window)
        late |= found & ~ok
        hit = np.flatnonzero(ok)
        pos[hit, k] = cand.take(hit)
        reached += ok
    done = reached == len(masks)
    stop[~done] = np.where(late[~done], Stop.WINDOW, Stop.NO_MATCH)
    return att


def replay_unordered(events: SortedEvents, anchors: np.ndarray, masks: Sequence[np.ndarray], window: int,
                     out: Attempts | None = None) -> Attempts:
    """Rule 4.9: an attempt's steps are filled by its events in ``[t_a, t_a + w]`` (from the anchor's
    equal-time group on), one event one step, in any order; it reaches the most steps any such
    assignment fills (a maximum matching) and ``pos[:, j]`` is the event by which j + 1 steps were first
    fillable (row order, not step order: the rows are "any j of n").

    Events with the same set of matching steps (a *pattern* p) are interchangeable, so only the first
    |p| of each pattern in the window can matter: those are the candidates (a loop over patterns). When
    no event matches two steps each candidate fills its own step, and row j's event is the j-th
    candidate in (time, input) order. Otherwise the matching of each time prefix is Hall's
    ``min over step sets S of (n - |S| + #candidates whose pattern meets S)``: exact, and costs a
    running count per step set (2**n of them), paid only by funnels whose steps share events."""
    att = _start(events, anchors, len(masks), out)
    n = len(masks)
    pattern = np.zeros(len(events), dtype=np.int64)
    for s, mask in enumerate(masks):
        pattern |= mask.astype(np.int64) << s
    start = events.tie_start(anchors)
    t1 = events.ts[anchors]
    cand_pos, cand_pat = [], []
    for p in distinct(pattern[pattern != 0]).tolist():
        of_p = pattern == p
        positions = np.flatnonzero(of_p)
        last = len(positions) - 1
        j = count_before(of_p).take(start)
        for i in range(bin(p).count("1")):
            cand = positions.take(np.minimum(j + i, last))
            ok = (j + i <= last) & (events.unit.take(cand) == att.unit) & (elapsed_ns(events.ts.take(cand), t1) <= window)
            ok &= events.ts.take(cand) >= t1        # (elapsed_ns is unsigned: an earlier event is far)
            cand_pos.append(np.where(ok, cand, -1))
            cand_pat.append(p)
    if not cand_pos:
        return att
    cpos = np.stack(cand_pos, axis=1)                                   # (attempts, candidates)
    by_time = np.argsort(np.where(cpos >= 0, cpos, np.iinfo(cpos.dtype).max), axis=1)   # positions: (time, input)
    cpos = np.take_along_axis(cpos, by_time, axis=1)
    pats = np.asarray(cand_pat, dtype=np.int64)[by_time]
    if all(bin(p).count("1") == 1 for p in cand_pat):
        filled = np.cumsum(cpos >= 0, axis=1)                           # each candidate its own step
    else:
        valid = cpos >= 0
        filled = np.full(cpos.shape, n, dtype=np.int64)
        for subset in range(1, 1 << n):         # per step set S, over every prefix at once
            meets = np.cumsum(((pats & subset) != 0) & valid, axis=1)
            np.minimum(filled, meets + (n - bin(subset).count("1")), out=filled)
    reached = filled[:, -1]
    att.reached[:] = reached
    for j in range(1, n):                       # row j's event: the first candidate with j + 1 filled
        first = np.argmax(filled >= j + 1, axis=1)
        has = reached >= j + 1
        att.pos[:, j] = np.where(has, np.take_along_axis(cpos, first[:, None], axis=1)[:, 0], -1)
    att.stop[reached < n] = Stop.NO_MATCH
    return att


def apply_exclusions(events: SortedEvents, att: Attempts, exclusions: Sequence[tuple[np.ndarray, int, int]],
                     window: int) -> tuple[np.ndarray, np.ndarray]:
    """Rule 4.4: mark (in ``att.stop``/``att.stop_pos``) and return attempts spoiled by an exclusion,
    and per attempt the time of the earliest event that spoiled it (``NS_MAX`` when none did:
    where a counted total ends, 4.10.1).

    ``exclusions`` holds (mask over sorted positions, from step, to step), steps 0-based.
    The first exclusion event after the from-step's timestamp is the only one that can fall
    inside the bound, since both bounds are upper limits in time.
    """
    spoiled = np.zeros(len(att.unit), dtype=bool)
    spoiled_at = np.full(len(att.unit), NS_MAX, dtype=np.int64)
    t1 = events.ts[att.anchor] if exclusions else None
    for mask, lo, hi in exclusions:
        positions = np.flatnonzero(mask)
        if len(positions) == 0:
            continue
        last = len(positions) - 1
        start = att.pos[:, lo]
        j = count_before(mask)[events.tie_end(np.maximum(start, 0))]
        cand = positions[np.minimum(j, last)]
        inside = (start >= 0) & (j <= last) & (events.unit[cand] == att.unit)
        end = att.pos[:, hi]
        before_end = np.where(end >= 0, events.ts[cand] < events.ts[np.maximum(end, 0)],
                              elapsed_ns(events.ts[cand], t1) <= window)
        spoils = inside & before_end
        np.minimum(spoiled_at, np.where(spoils, events.ts[cand], NS_MAX), out=spoiled_at)
        hit = spoils & ~spoiled
        att.stop[hit] = Stop.EXCLUDED
        att.stop_pos[hit] = cand[hit]
        spoiled |= hit
    return spoiled, spoiled_at


def open_attempts(events: SortedEvents, att: Attempts, steps: int, window: int, within: Sequence[int | None],
                  order: str, last_ts: int, unit_open: np.ndarray, previous: Sequence[int]) -> np.ndarray:
    """Rule 4.8: attempts that events after ``last_ts`` could still take further. ``previous``: per
    step, the step its ``within`` runs from (the one before it, but past optional steps, 4.12)."""
    is_open = (att.reached < steps) & (events.ts[att.anchor] > int(last_ts) - window)   # (Python ints: no overflow)
    if not unit_open.all():
        is_open &= unit_open[att.unit]
    if order in ("any", "unordered"):
        return is_open
    if order == "strict":
        is_open &= att.stop == Stop.NO_MATCH
    for k, limit in enumerate(within):
        if limit is not None:                               # waiting for step k: its limit runs from
            waiting = np.flatnonzero(att.reached == previous[k] + 1)      # the required step before it
            is_open[waiting] &= events.ts[att.pos[waiting, previous[k]]] > int(last_ts) - limit
    return is_open
