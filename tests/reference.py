"""A slow, literal reading of docs/semantics.md sections 3 and 4, for checking the vectorised engine.

Nothing here is shared with ``microconv``: every rule is re-derived from the document with
plain loops over one unit's events, so that a disagreement points at one of the two.

The shape of the computation follows the document:

1. split the rows into units (users, or sessions by inactivity: rule 4.6);
2. per unit, one attempt per eligible step-1 event (rules 3.1, 4.5, 4.7);
3. replay each attempt on its own (ordered 3.2-3.5 and 4.3.1, strict 4.1 and 4.3.2, any 4.2);
4. mark attempts discarded by an exclusion (4.4) and open at the end of the data (4.8);
5. per unit, the best clean attempt and the counted attempt (3.6, 3.7, 4.4.2), in progress (4.8.2);
6. the per-step numbers (3.6, 3.8, 4.2.2, 4.2.4, 4.8.3).
"""
from __future__ import annotations

import statistics
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

ORDERS = ("ordered", "strict", "any")
ENTRIES = ("best_attempt", "first")
COUNTS = ("users", "sessions")


@dataclass
class ReferenceResult:
    reached: dict[Hashable, int]            # entrants only: unit -> furthest step of its best clean attempt
    users: list[int]                        # per step: units whose best clean attempt reached it or further
    median_seconds: list[float | None]      # per step (None for step 1 and when nobody reached it)
    step_times: dict[Hashable, list[Any]]   # per entrant: its counted attempt's step times
    in_progress: list[int] = field(default_factory=list)  # per step: in-progress units whose furthest step it is
    excluded: int = 0                       # units that entered but whose every attempt was discarded


@dataclass(frozen=True)
class _Event:
    ts: Any
    index: int
    name: str

    @property
    def order(self) -> tuple[Any, int]:
        """Rule 1.4: timestamp first, input order as the tie-breaker."""
        return (self.ts, self.index)


@dataclass
class _Unit:
    """A user, or one session of a user (rule 4.6.1): its events in the order of rule 1.4."""
    events: list[_Event]
    last_session_of_user: bool = True   # rule 4.8.1 (sessions only)


@dataclass
class _Attempt:
    start: _Event
    done: dict[int, Any]                 # 1-based step -> time it was done (any order: first done)
    matched: list[_Event]                # ordered/strict: the event of each step reached, in step order
    discarded: bool = False              # rule 4.4.1
    open: bool = False                   # rule 4.8.1

    @property
    def reached(self) -> int:
        """Rules 3.2 and 4.2.2: the last step matched, or 1 + the distinct steps 2..k done."""
        return len(self.done)

    @property
    def times(self) -> list[Any]:
        """Rules 3.8 and 4.2.4: the step times in step order, or the first-done times sorted."""
        return sorted(self.done.values())


def reference_funnel(rows: Sequence[tuple[Hashable, Any, str]], steps: Sequence[set[str]],
                     window_seconds: float, *, order: str = "ordered", entry: str = "best_attempt",
                     within: Sequence[float | None] | None = None, after: Sequence[float | None] | None = None,
                     exclude: Sequence[tuple[set[str], int, int]] = (), count: str = "users",
                     session_timeout: float = 1800, since: float | None = None, until: float | None = None,
                     mature_only: bool = False) -> ReferenceResult:
    """rows: (user, ts, event) in input order (list index is the tie-breaker); ts in seconds.

    steps: step k is matched by an event whose name is in ``steps[k]``.
    within / after: None, or one limit per step (seconds; entry 0 and "no limit" are None), rule 4.3.
    exclude: (event names, from step, to step), steps numbered from 1, rule 4.4.
    count: "users", or "sessions" by an inactivity gap of more than ``session_timeout`` (rule 4.6);
    a session is keyed (user, n) with n = 1, 2, ... in time order over all of the user's events.
    since / until: entry bounds ``since <= t_1 < until`` (rule 4.7).
    mature_only: leave in-progress units out (rule 4.8.3). T is the largest ts of all rows.

    Returns reached (entrants only), users per step, median seconds from the previous step per
    step, each entrant's counted-attempt times, in-progress units per step and the excluded count.
    """
    n = len(steps)
    within = list(within) if within is not None else [None] * n
    after = list(after) if after is not None else [None] * n
    _check(n, order, entry, within, after, exclude, count)
    last_ts = max((ts for _, ts, _ in rows), default=None)   # T of rule 4.8.1

    reached: dict[Hashable, int] = {}
    step_times: dict[Hashable, list[Any]] = {}
    in_progress = [0] * n
    excluded = 0
    for key, unit in _units(rows, count, session_timeout).items():
        attempts = []
        for start in _entries(unit.events, steps[0], entry, since, until):
            if order == "strict":
                attempt = _replay_strict(start, unit.events, steps, window_seconds, within, after)
            elif order == "any":
                attempt = _replay_any(start, unit.events, steps, window_seconds)
            else:
                attempt = _replay_ordered(start, unit.events, steps, window_seconds, within, after)
            attempt.discarded = _discarded(attempt, unit.events, exclude, window_seconds)
            attempt.open = _is_open(attempt, unit, n, window_seconds, within, order, count, session_timeout,
                                    last_ts)
            attempts.append(attempt)
        if not attempts:
            continue                                        # never entered (E10, R1's A@0)
        clean = [a for a in attempts if not a.discarded]
        if not clean:
            excluded += 1                                   # rule 4.4.2
            continue
        best = max(a.reached for a in clean)                # rule 3.6 over clean attempts
        counted = next(a for a in clean if a.reached == best)   # rule 3.7: the earliest such attempt
        unit_in_progress = best < n and any(a.open for a in clean)   # rule 4.8.2
        if unit_in_progress and mature_only:
            continue                                        # rule 4.8.3
        reached[key] = best
        step_times[key] = counted.times
        if unit_in_progress:
            in_progress[best - 1] += 1

    users = [sum(1 for r in reached.values() if r >= k + 1) for k in range(n)]
    medians: list[float | None] = [None]
    for k in range(1, n):
        gaps = [t[k] - t[k - 1] for t in step_times.values() if len(t) > k]
        medians.append(float(statistics.median(gaps)) if gaps else None)
    return ReferenceResult(reached, users, medians[:n], step_times, in_progress, excluded)


def _check(n, order, entry, within, after, exclude, count) -> None:
    """The argument combinations the config rejects (rule 4.2.5) or that make no sense."""
    if n < 1:
        raise ValueError("a funnel has at least one step")
    if order not in ORDERS or entry not in ENTRIES or count not in COUNTS:
        raise ValueError(f"unknown option: order={order!r} entry={entry!r} count={count!r}")
    if len(within) != n or len(after) != n:
        raise ValueError("within/after need one entry per step")
    if within[0] is not None or after[0] is not None:
        raise ValueError("step 1 has no previous step: within/after must be None there")
    if order == "any" and any(x is not None for x in within + after):
        raise ValueError("within/after are a config error in order any (rule 4.2.5)")
    for _names, lo, hi in exclude:
        if not 1 <= lo <= hi <= n:
            raise ValueError(f"exclusion between steps {lo} and {hi} of a {n}-step funnel")


def _units(rows, count: str, session_timeout: float) -> dict[Hashable, _Unit]:
    """Rules 1.4 and 4.6.2: each user's events sorted by (timestamp, input order); with sessions, a
    new session starts where the gap from the previous event of the user exceeds the timeout (an
    equal gap stays). Every event of the user counts for the gaps, not only step events."""
    by_user: dict[Hashable, list[_Event]] = {}
    for index, (user, ts, name) in enumerate(rows):
        by_user.setdefault(user, []).append(_Event(ts, index, name))
    units: dict[Hashable, _Unit] = {}
    for user, events in by_user.items():
        events = sorted(events, key=lambda e: e.order)
        if count == "users":
            units[user] = _Unit(events)
            continue
        sessions: list[list[_Event]] = []
        for event in events:
            if not sessions or event.ts - sessions[-1][-1].ts > session_timeout:
                sessions.append([])
            sessions[-1].append(event)
        for number, session in enumerate(sessions, start=1):
            units[(user, number)] = _Unit(session, last_session_of_user=number == len(sessions))
    return units


def _entries(events: list[_Event], names: set[str], entry: str, since, until) -> list[_Event]:
    """Rules 3.1, 4.7.1 and 4.5: every step-1 event with ``since <= t_1 < until`` starts an attempt,
    in the order of rule 1.4; with ``entry: first`` only the first of them (per unit, 4.6.1)."""
    starts = [e for e in events
              if e.name in names
              and (since is None or since <= e.ts)
              and (until is None or e.ts < until)]
    return starts[:1] if entry == "first" else starts


def _replay_ordered(start: _Event, events: list[_Event], steps: Sequence[set[str]], window: float,
                    within: list, after: list) -> _Attempt:
    """Rules 3.2-3.5 and 4.3.1: greedy earliest match, equal timestamps in step order (so an event at
    the previous step's time is a candidate even if it is earlier in the file), one event one step,
    inclusive window from step 1. With ``after`` the search starts at ``t_{k-1} + after``; the
    earliest candidate is chosen first and then checked against the window and ``within`` (so a
    failing check stops the attempt; nothing later or earlier is tried: L3)."""
    matched = [start]
    for k in range(1, len(steps)):
        previous = matched[-1]
        earliest = previous.ts + (after[k] or 0)
        candidates = [e for e in events
                      if e.name in steps[k]
                      and e.ts >= earliest
                      and e not in matched]
        if not candidates:
            break
        chosen = min(candidates, key=lambda e: e.order)
        if chosen.ts - start.ts > window:
            break
        if within[k] is not None and chosen.ts - previous.ts > within[k]:
            break
        matched.append(chosen)
    return _Attempt(start, {k + 1: e.ts for k, e in enumerate(matched)}, matched)


def _replay_strict(start: _Event, events: list[_Event], steps: Sequence[set[str]], window: float,
                   within: list, after: list) -> _Attempt:
    """Rules 4.1 and 4.3.2: step k+1 must be the very next event of the unit (any event, in the order
    of rule 1.4, no re-ordering of equal timestamps) and must be inside the window and both limits."""
    matched = [start]
    position = events.index(start)
    for k in range(1, len(steps)):
        position += 1
        if position >= len(events):
            break
        event, previous = events[position], matched[-1]
        if event.name not in steps[k]:
            break
        if event.ts - start.ts > window:
            break
        if within[k] is not None and event.ts - previous.ts > within[k]:
            break
        if after[k] is not None and event.ts - previous.ts < after[k]:
            break
        matched.append(event)
    return _Attempt(start, {k + 1: e.ts for k, e in enumerate(matched)}, matched)


def _replay_any(start: _Event, events: list[_Event], steps: Sequence[set[str]], window: float) -> _Attempt:
    """Rule 4.2: step 1 is the attempt's own event; each of steps 2..k is done, on its own (4.2.3),
    when an event other than the step-1 event matches it with ``t_1 <= t <= t_1 + w``; its time is
    the earliest such event's (4.2.4)."""
    done = {1: start.ts}
    for k in range(1, len(steps)):
        times = [e.ts for e in events
                 if e.index != start.index
                 and e.name in steps[k]
                 and start.ts <= e.ts <= start.ts + window]
        if times:
            done[k + 1] = min(times)
    return _Attempt(start, done, [])


def _discarded(attempt: _Attempt, events: list[_Event], exclude, window: float) -> bool:
    """Rule 4.4.1: an attempt that reached step FROM is discarded by an exclusion event with
    ``t_from < t < t_to`` when it reached step TO, else with ``t_from < t <= t_1 + w``. Any event of
    the unit with an exclusion name counts, whatever else it matches. In any order a step is
    "reached" when it was done, at its first-done time (4.4.3)."""
    t_1 = attempt.done[1]
    for names, lo, hi in exclude:
        if lo not in attempt.done:
            continue
        t_from = attempt.done[lo]
        for e in events:
            if e.name not in names:
                continue
            if hi in attempt.done:
                if t_from < e.ts < attempt.done[hi]:
                    return True
            elif t_from < e.ts <= t_1 + window:
                return True
    return False


def _is_open(attempt: _Attempt, unit: _Unit, n: int, window: float, within: list, order: str, count: str,
             session_timeout: float, last_ts) -> bool:
    """Rule 4.8.1, condition by condition: not at the last step; ``t_1 + w > T``; the next step's
    ``within`` ends after T; strict: no event of the unit follows the last step's event; sessions:
    the unit is the user's last session and its last event + the timeout is after T."""
    k = attempt.reached
    if k >= n:
        return False
    if not attempt.done[1] + window > last_ts:
        return False
    if within[k] is not None and not attempt.done[k] + within[k] > last_ts:
        return False
    if order == "strict" and unit.events.index(attempt.matched[-1]) < len(unit.events) - 1:
        return False
    if count == "sessions":
        if not unit.last_session_of_user:
            return False
        if not unit.events[-1].ts + session_timeout > last_ts:
            return False
    return True
