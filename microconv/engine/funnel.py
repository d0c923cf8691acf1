"""One funnel over canonical events: choose the events, replay attempts, pick each unit's count.

The data flows one way: masks over the frame -> events sorted by (unit, time) -> attempts
(``replay``) -> per unit best and counted attempt (:class:`Replay`), which every report reads
(``microconv.reports``): ``explain`` reads the same :class:`Replay`, so a trace always agrees
with the counts.
"""
from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from functools import cached_property

import numpy as np
import pandas as pd

from .clock import elapsed_ns
from .replay import (Attempts, SortedEvents, apply_exclusions, open_attempts, replay_any, replay_ordered,
                     replay_strict, replay_unordered)
from .hold import Held, to_real
from .optional import next_required, previous_required, replay_with_optional
from .totals import attempt_ends, one_after_another
from .units import Units


@dataclass(frozen=True)
class FunnelPlan:
    """A funnel reduced to masks and nanoseconds: what the engine needs, nothing of the config."""

    masks: Sequence[np.ndarray]                                 # per step, over frame rows
    window: int                                                 # ns
    order: str = "ordered"
    entry: str = "best_attempt"
    within: Sequence[int | None] = ()                           # ns per step (step 1: None)
    after: Sequence[int | None] = ()
    exclusions: Sequence[tuple[np.ndarray, int, int]] = ()      # (mask over frame rows, from, to), 0-based
    entry_range: tuple[int | None, int | None] = (None, None)   # since <= t1 < until, ns
    mature_only: bool = False
    value: np.ndarray | None = None                             # per frame row: the last step's value
    totals: bool = False                                        # count: totals (4.10): count attempts
    hold: np.ndarray | None = None                              # per frame row: held values' code (4.11)
    optional: Sequence[bool] = ()                               # per step: optional (4.12)
    open_windows: str = "in_progress"                           # or "dropped": no unit is in progress (4.13)

    def __post_init__(self) -> None:
        k = len(self.masks)
        object.__setattr__(self, "within", tuple(self.within) or (None,) * k)
        object.__setattr__(self, "after", tuple(self.after) or (None,) * k)
        object.__setattr__(self, "optional", tuple(self.optional) or (False,) * k)

    @cached_property
    def previous(self) -> tuple[int, ...]:
        """Per step, the required step its numbers are taken from (4.12): the one before it, or
        the nearest required one before an optional step."""
        return previous_required(self.optional)


@dataclass(frozen=True, eq=False)
class Replay:
    """Every attempt of one funnel, and per unit that entered: its best and counted attempt. With
    ``count: totals`` the per-unit fields are per counted attempt instead (``unit`` then repeats a
    unit once for each of its counted attempts): every report counts those as its units."""

    plan: FunnelPlan
    units: Units
    events: SortedEvents
    attempts: Attempts
    spoiled: np.ndarray       # per attempt: discarded by an exclusion
    open: np.ndarray          # per attempt: could still go further (clean attempts only)
    unit: np.ndarray          # per unit with an attempt: unit code
    best: np.ndarray          # furthest step of a clean attempt (0: every attempt spoiled)
    counted: np.ndarray       # index of the counted attempt (-1 when excluded; totals: the attempt, spoiled or not)
    in_progress: np.ndarray
    kept: np.ndarray = field(repr=False)  # counted in the numbers (entered, and mature if asked)
    _step_seconds: dict[int, np.ndarray] = field(default_factory=dict, init=False, repr=False)  # by replay()

    @property
    def kind(self) -> str:
        """What the numbers count: "users", "sessions" or "attempts"."""
        return "attempts" if self.plan.totals else self.units.kind

    def labels(self, which: np.ndarray) -> pd.Index:
        """The labels of the counted units at indices ``which`` of ``unit``: the unit's own, or with
        totals (unit label, n), the unit's n-th counted attempt (1, 2, ... in time order)."""
        return unit_labels(self.units.labels, self.unit, self.plan.totals, which)

    @cached_property
    def counted_kept(self) -> np.ndarray:
        """Per counted unit (``unit[kept]`` order): the index of its counted attempt."""
        return self.counted[self.kept]

    @cached_property
    def counted_pos(self) -> np.ndarray:
        """Per counted unit (``unit[kept]`` order): its counted attempt's sorted position per step, -1 if not reached."""
        return self.attempts.pos[self.counted_kept]

    def step_seconds(self, step: int) -> np.ndarray:
        """Seconds from step ``plan.previous[step]`` (the one before, but for optional steps, 4.12)
        to step ``step`` (0-based) of the counted units that did ``step`` (:meth:`did`), in
        ``unit[kept]`` order: the same as :func:`elapsed` of those units, computed by the replay
        threads (see :func:`_step_seconds`), since the table's medians and time to convert read
        them all."""
        return self._step_seconds[step]

    def did(self, step: int) -> np.ndarray:
        """Per counted unit (``unit[kept]`` order): whether its counted attempt did step ``step``
        (0-based): got that far, or, for an optional step, did it on the way (4.12.3)."""
        if any(self.plan.optional):
            return self.counted_pos[:, step] >= 0
        return self.best[self.kept] > step

    def attempts_of(self, unit_code: int) -> np.ndarray:
        """Indices of one unit's attempts, in order of their step-1 events."""
        lo, hi = np.searchsorted(self.attempts.unit, [unit_code, unit_code + 1])
        return np.arange(lo, hi)


SPLIT_MIN_EVENTS = 200_000   # below this, a second thread costs more than it saves


def replay(frame: pd.DataFrame, plan: FunnelPlan, units: Units, last_ts: int,
           every: SortedEvents | None = None, threads: int = 1) -> Replay:
    """Replay a funnel over ``frame`` (canonical events); ``last_ts`` is the end of the data (4.8).
    ``every`` may give every event sorted by (unit, time): strict order then needs no sort of its
    own, and the others take their events from it (a filter instead of a sort). With ``threads``
    2, the events are cut in two at a unit boundary and each run replayed by its own thread:
    units never share an attempt, so the two halves are exactly the one replay."""
    ts_all = frame["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
    bits = _match_bits(plan)
    threads = threads if len(frame) >= SPLIT_MIN_EVENTS else 1
    if every is not None:
        events, flags = every, bits.take(every.row, axis=0)
        if plan.order != "strict":
            at = np.flatnonzero(_any_bit(flags))
            events, flags = every.subset(at), flags.take(at, axis=0)
    else:
        wanted = None if plan.order == "strict" else _any_bit(bits)
        rows = None if wanted is None or wanted.all() else np.flatnonzero(wanted)
        events = (SortedEvents.build(units.code, ts_all, None, threads=threads) if rows is None else
                  SortedEvents.build(units.code[rows], ts_all[rows], rows, threads=threads))
        flags = bits.take(events.row, axis=0)
    k = len(plan.masks)
    first = _bit(flags, 0) if plan.order != "unordered" else _any_bit(flags)   # 4.9: any step enters
    anchors = _anchors(events, first, plan)
    cuts = _cuts(events.unit[anchors], threads)
    bounds = [0, *(int(np.searchsorted(events.unit, events.unit[anchors[c]])) for c in cuts[1:-1]), len(events)]
    att = Attempts.empty(len(anchors), len(plan.masks), events)
    codes = None if plan.hold is None else plan.hold.take(events.row)
    held = Held.of(events, flags, codes) if codes is not None and plan.order != "strict" else None

    def part(i: int) -> tuple[_Part, list[np.ndarray]]:
        """Run i: its attempts over its units' events alone (a slice), so that each thread's work
        over every event of a step (its positions, their running count) covers its own events.
        (A run of whole units has the same bounds in the held order: see ``hold``.)"""
        lo, hi = bounds[i], bounds[i + 1]
        mine, mine_flags = events.slice(lo, hi), flags[lo:hi]
        exclusions = [(_bit(mine_flags, k + x), a, b) for x, (_, a, b) in enumerate(plan.exclusions)]
        starts = anchors[cuts[i]:cuts[i + 1]] - lo
        on = mine if held is None else held.events.slice(lo, hi)
        on_flags = mine_flags if held is None else held.flags[lo:hi]
        if held is not None:
            starts = np.sort(held.held[starts + lo]) - lo
        masks = [_bit(on_flags, 0) if plan.order == "unordered" or held is not None else first[lo:hi],
                 *(_bit(on_flags, s) for s in range(1, k))]
        out = att.rows(cuts[i], cuts[i + 1])
        _replay_attempts(on, starts, out, masks, plan, None if codes is None else codes[lo:hi])
        if held is not None:
            to_real(out, held.real[lo:hi] - lo, mine)
        done = _replay_part(mine, out, exclusions, plan, last_ts, units.open)
        seconds = _step_seconds(mine, out, done, plan.order, plan.previous)
        out.shift(lo)
        return done, seconds

    if len(cuts) == 2:
        done = [part(0)]
    else:
        with ThreadPoolExecutor(len(cuts) - 1, thread_name_prefix="microconv-replay") as pool:
            done = list(pool.map(part, range(len(cuts) - 1)))
    joined = _join([d for d, _ in done], cuts[:-1])
    rep = Replay(plan, units, events, att, *(getattr(joined, f.name) for f in fields(_Part)))
    rep._step_seconds.update({step: np.concatenate(parts) if len(parts) > 1 else parts[0]
                              for step, parts in enumerate(zip(*(s for _, s in done)), start=1)})
    return rep


def unit_labels(labels: pd.Index, unit: np.ndarray, totals: bool, which: np.ndarray) -> pd.Index:
    """:meth:`Replay.labels` from the units' labels and ``unit`` (per counted unit or attempt)."""
    if not totals:
        return labels[unit[which]]
    first = np.searchsorted(unit, unit)                       # each unit's first counted attempt
    number = (np.arange(len(unit)) - first)[which]            # 0-based; totals count users' attempts
    return pd.MultiIndex(levels=[labels, np.arange(1, number.max(initial=-1) + 2)],
                         codes=[unit[which], number], names=[labels.name, "attempt"],
                         verify_integrity=False)               # (from codes: no factorizing of the ids)


def _match_bits(plan: FunnelPlan) -> np.ndarray:
    """Per frame row, bit s set where it matches step s, then one bit per exclusion: the events in
    sorted order gather these once, instead of each mask on its own (a random gather each). One
    unsigned integer per row (of 8 to 64 bits), or a row of 64-bit words beyond 64 masks."""
    masks = [*plan.masks, *(m for m, _, _ in plan.exclusions)]
    width = next((w for w in (8, 16, 32, 64) if len(masks) <= w), None)
    if width is None:
        bits = np.zeros((len(masks[0]), (len(masks) + 63) // 64), dtype=np.uint64)
        for s, mask in enumerate(masks):
            bits[:, s // 64] |= mask.astype(np.uint64) << np.uint64(s % 64)
        return bits
    kind = np.dtype(f"uint{width}")
    bits = np.zeros(len(masks[0]), dtype=kind)
    for s, mask in enumerate(masks):
        bits |= mask.astype(kind) << kind.type(s)
    return bits


def _bit(flags: np.ndarray, s: int) -> np.ndarray:
    """Per event: whether bit ``s`` of its flags is set."""
    if flags.ndim == 2:
        return (flags[:, s // 64] & np.uint64(1 << (s % 64))) != 0
    return (flags & flags.dtype.type(1 << s)) != 0


def _any_bit(flags: np.ndarray) -> np.ndarray:
    return flags.any(axis=1) if flags.ndim == 2 else flags != 0


def _step_seconds(events: SortedEvents, att: Attempts, done: _Part, order: str,
                  previous: tuple[int, ...]) -> list[np.ndarray]:
    """Per step from the second, :meth:`Replay.step_seconds` of one run of units, computed by the
    run's own thread: the table's medians need them all, and the runs' lists join in unit order.
    A step's seconds are from the required step before it (4.12.4), for the units that did it."""
    optional = previous != tuple(range(-1, len(previous) - 1))
    who = np.flatnonzero(done.kept if optional else done.kept & (done.best > 1))   # (an optional step 2: any)
    best = done.best[who]
    attempt = done.counted[who]
    if order == "any":
        times = _step_times(events.ts, att.pos[attempt])
        times.sort(axis=1)
    out = []
    for step in range(1, att.pos.shape[1]):
        if optional:                    # who did the step, not who got past it (4.12.3)
            reached = np.flatnonzero(att.pos[attempt, step] >= 0)
        else:
            reached = slice(None) if step == 1 else np.flatnonzero(best > step)
        if order == "any":
            out.append(elapsed_ns(times[reached, step], times[reached, step - 1]) / 1e9)
        else:                           # only the two steps' columns are gathered
            rows = attempt[reached]
            out.append(elapsed_ns(events.ts.take(att.pos[rows, step]),
                                  events.ts.take(att.pos[rows, previous[step]])) / 1e9)
    return out


def _step_times(ts: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The times of attempts' step positions (a row per attempt), int64 max where a step was not
    done: in step order, which order any sorts to count its steps in the order they were done."""
    times = ts.take(np.maximum(pos, 0).reshape(-1)).reshape(pos.shape)
    np.putmask(times, pos < 0, np.iinfo(np.int64).max)
    return times


def _cuts(unit: np.ndarray, parts: int) -> list[int]:
    """Indices cutting ``unit`` (ascending) into ``parts`` runs of whole units, about equal in size."""
    cuts = [0]
    for k in range(1, parts):
        at = int(np.searchsorted(unit, unit[len(unit) * k // parts])) if len(unit) else 0
        if at > cuts[-1]:
            cuts.append(at)
    return cuts + [len(unit)]


@dataclass(frozen=True)
class _Part:
    """What :class:`Replay` holds per attempt and per unit, for one run of whole units' attempts
    (its fields are Replay's last ones, in the same order)."""

    spoiled: np.ndarray
    open: np.ndarray
    unit: np.ndarray
    best: np.ndarray
    counted: np.ndarray      # attempt index within the run
    in_progress: np.ndarray
    kept: np.ndarray


def _replay_attempts(events: SortedEvents, anchors: np.ndarray, out: Attempts, masks: list[np.ndarray],
                     plan: FunnelPlan, codes: np.ndarray | None) -> None:
    """The attempts from ``anchors``, written into ``out``, by the replay of the funnel's order."""
    if any(plan.optional):
        replay_with_optional(events, anchors, masks, plan.window, plan.within, plan.after, plan.optional, out)
    elif plan.order == "strict":
        replay_strict(events, anchors, masks, plan.window, plan.within, plan.after, out=out, held=codes)
    elif plan.order == "any":
        replay_any(events, anchors, masks, plan.window, out=out)
    elif plan.order == "unordered":
        replay_unordered(events, anchors, masks, plan.window, out=out)
    else:
        replay_ordered(events, anchors, masks, plan.window, plan.within, plan.after, out=out)


def _replay_part(events: SortedEvents, att: Attempts, exclusions: list, plan: FunnelPlan, last_ts: int,
                 unit_open: np.ndarray) -> _Part:
    """Exclusions, open attempts and the counted attempt per unit, over one run's replayed attempts."""
    steps = len(plan.masks)
    ends = (attempt_ends(events, att, steps, plan.window, plan.within, next_required(plan.optional))
            if plan.totals else None)
    spoiled, spoiled_at = apply_exclusions(events, att, exclusions, plan.window)
    is_open = open_attempts(events, att, steps, plan.window, plan.within, plan.order, last_ts, unit_open,
                            plan.previous) & ~spoiled

    starts = np.flatnonzero(np.r_[True, att.unit[1:] != att.unit[:-1]]) if len(att.unit) else np.zeros(0, np.int64)
    clean = np.where(spoiled, 0, att.reached)
    if plan.totals:                 # 4.10: each counted attempt is a unit of its own
        counted = one_after_another(_chains(att, events, plan), events.ts[att.anchor], np.minimum(ends, spoiled_at))
        best, unit, any_open = clean[counted], att.unit[counted], is_open[counted]
    else:
        best, counted = best_attempts(clean, starts)
        unit = att.unit[starts]
        any_open = np.logical_or.reduceat(is_open, starts) if len(starts) else np.zeros(0, bool)
    in_progress = any_open & (best < steps) & (best > 0)
    if plan.open_windows == "dropped":          # 4.13: the other tools' drop-off, open windows and all
        in_progress[:] = False
    kept = (best > 0) & ~(in_progress & plan.mature_only)
    return _Part(spoiled, is_open, unit, best, counted, in_progress, kept)


def _chains(att: Attempts, events: SortedEvents, plan: FunnelPlan) -> np.ndarray:
    """Per attempt, what its counted totals chain by (4.10.1, 4.11.3): the unit, or with ``hold``
    the unit and its step-1 event's held values (a missing value: a chain of its own)."""
    chain = att.unit.astype(np.int64)
    if plan.hold is None:
        return chain
    code = plan.hold.take(events.row[att.anchor]).astype(np.int64)
    missing = code < 0
    code = np.where(missing, code.max(initial=-1) + np.cumsum(missing), code)
    return chain * (int(code.max(initial=0)) + 1) + code


def best_attempts(clean: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per unit (its attempts from ``starts``): the most steps a clean attempt reached (rule 3.6),
    and the first attempt that reached them (3.7; -1 when none reached a step). One maximum per
    unit of (steps << 32 | attempts after this one): the larger steps win, then the earlier attempt.
    (A thread's share of attempts is far below 2**32: each takes tens of bytes.)"""
    n = len(clean)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    score = clean.astype(np.int64)
    score <<= 32
    score |= np.arange(n - 1, -1, -1, dtype=np.int64)
    top = np.maximum.reduceat(score, starts)
    best = top >> 32
    return best, np.where(best > 0, (n - 1) - (top & 0xFFFFFFFF), -1)


def _join(parts: Sequence[_Part], first_attempt: Sequence[int]) -> _Part:
    """The runs as one; counted attempts shifted to the whole."""
    if len(parts) == 1:
        return parts[0]
    shifted = [replace(p, counted=np.where(p.counted >= 0, p.counted + at, -1)) for p, at in zip(parts, first_attempt)]
    return _Part(*(np.concatenate([getattr(p, f.name) for p in shifted]) for f in fields(_Part)))


def _anchors(events: SortedEvents, first_step: np.ndarray, plan: FunnelPlan) -> np.ndarray:
    """Step-1 events that may start an attempt: in the date range (4.7), and the first per unit with entry: first (4.5)."""
    anchors = np.flatnonzero(first_step)
    since, until = plan.entry_range
    if since is not None:
        anchors = anchors[events.ts[anchors] >= since]
    if until is not None:
        anchors = anchors[events.ts[anchors] < until]
    if plan.entry == "first" and len(anchors):
        unit = events.unit[anchors]
        anchors = anchors[np.r_[True, unit[1:] != unit[:-1]]]
    return anchors


def elapsed(rep: Replay, units: np.ndarray, start: int, end: int) -> np.ndarray:
    """Nanoseconds (uint64: a span can pass 292 years) from step ``start`` to step ``end`` (0-based) of
    the given counted units (indices into ``rep.unit[rep.kept]``), which reached step ``end``. Read
    from their positions; order any
    counts its steps in the order they were done, so there the units' step times are sorted (only
    theirs: time to convert asks for the completers alone, and from first to last needs no sort)."""
    pos, ts = rep.attempts.pos, rep.events.ts
    if rep.plan.order == "any":
        times = _step_times(ts, pos[rep.counted_kept.take(units)])
        if start == 0 and end == times.shape[1] - 1:    # they did every step
            return elapsed_ns(times.max(axis=1), times.min(axis=1))
        times.sort(axis=1)
        return elapsed_ns(times[:, end], times[:, start])
    at = rep.counted_kept.take(units) * pos.shape[1]         # row starts in the flat (attempts, steps) positions
    flat = pos.reshape(-1)
    return elapsed_ns(ts.take(flat.take(at + end)), ts.take(flat.take(at + start)))
