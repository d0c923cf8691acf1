"""A slow, literal reading of docs/semantics.md sections 3 and 4, for checking the vectorised engine.

Nothing here is shared with ``microconv``: every rule is re-derived from the document with
plain loops over one unit's events, so that a disagreement points at one of the two.

The shape of the computation follows the document:

1. split the rows into units (users, or sessions by inactivity: rule 4.6);
2. per unit, one attempt per eligible step-1 event (rules 3.1, 4.5, 4.7);
3. replay each attempt on its own (ordered 3.2-3.5 and 4.3.1, strict 4.1 and 4.3.2, any 4.2,
   unordered 4.9, where every event of any step starts an attempt);
4. mark attempts discarded by an exclusion (4.4) and open at the end of the data (4.8);
5. per unit, the best clean attempt and the counted attempt (3.6, 3.7, 4.4.2), in progress (4.8.2);
6. the per-step numbers (3.6, 3.8, 4.2.2, 4.2.4, 4.8.3).

Section 8 (breakdowns, trends, time to convert) is read off the counted attempts recorded in
step 5: which events they matched (``matched_rows``), their step times and the in-progress units.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

ORDERS = ("ordered", "strict", "any", "unordered")
# Rule 6.1, transcribed from the table in docs/semantics.md: per preset, its entry mode, what
# order "any" means and whether open windows count as dropped (the attribution default is 8.2.1's).
PRESET_RULES = {
    "microconv": {"entry": "best_attempt", "any": "any", "open_windows": "in_progress", "attribution": "first_touch"},
    "posthog": {"entry": "best_attempt", "any": "unordered", "open_windows": "dropped", "attribution": "first_defined"},
    "mixpanel": {"entry": "first", "any": "any", "open_windows": "dropped", "attribution": "first_defined"},
    "amplitude": {"entry": "best_attempt", "any": "any", "open_windows": "dropped", "attribution": "first_touch"},
    "clickhouse": {"entry": "best_attempt", "any": "any", "open_windows": "dropped", "attribution": "first_touch"},
}
ENTRIES = ("best_attempt", "first")
COUNTS = ("users", "sessions", "totals")


@dataclass
class ReferenceResult:
    reached: dict[Hashable, int]            # entrants only: unit -> furthest step of its best clean attempt
    users: list[int]                        # per step: units whose best clean attempt reached it or further
    median_seconds: list[float | None]      # per step (None for step 1 and when nobody reached it)
    step_times: dict[Hashable, list[Any]]   # per entrant: its counted attempt's step times
    in_progress: list[int] = field(default_factory=list)  # per step: in-progress units whose furthest step it is
    excluded: int = 0                       # units that entered but whose every attempt was discarded
    # per entrant: its counted attempt's events as row indices into ``rows``, keyed by 1-based step
    # (ordered/strict: the event of each step reached; any order: the first-done event of each step done)
    matched_rows: dict[Hashable, dict[int, int]] = field(default_factory=dict)
    in_progress_units: set[Hashable] = field(default_factory=set)   # the entrants counted in in_progress
    # per unit that entered (excluded and, with mature_only, left-out units too): all its attempts
    # (count: totals: its counted attempts only, rule 4.10.1)
    attempts: dict[Hashable, list[_Attempt]] = field(default_factory=dict)
    # per step (0-based): the step its rate, drop-offs and median are taken from (rule 4.12.3)
    previous: list[int] = field(default_factory=list)

    @property
    def dropped(self) -> list[int]:
        """Rule 5.1 per step: units that stopped at the step before (the required one before, 4.12.3)
        and are not in progress; 0 at step 1 and at an optional step."""
        previous = self.previous or list(range(-1, len(self.users) - 1))
        optional = [0 < k < len(previous) - 1 and k not in previous for k in range(len(previous))]
        return [0 if k == 0 or optional[k] else
                sum(1 for key, r in self.reached.items() if r == p + 1 and key not in self.in_progress_units)
                for k, p in enumerate(previous)]


@dataclass(frozen=True)
class _Event:
    ts: Any
    index: int
    name: str
    value: Any = None           # the held property's value (rule 4.11); None: missing

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
    events_by_step: dict[int, _Event] = field(default_factory=dict)   # any order: first-done event per step
    gave_up: Any = None                  # rule 4.10.1: when a strict break or a within limit ended it early
    spoiled_at: Any = None               # rule 4.10.1: the earliest exclusion event that discarded it

    @property
    def step_events(self) -> dict[int, _Event]:
        """1-based step -> the event that matched it (ordered/strict) or first did it (any order)."""
        if self.events_by_step:
            return self.events_by_step
        return {k + 1: e for k, e in enumerate(self.matched)}

    furthest: int | None = None          # rule 4.12.2: the furthest required step done (steps around optional ones)
    n_steps: int = 0                     # rule 4.12.4: the funnel's steps (with optional steps: times per step)

    @property
    def reached(self) -> int:
        """Rules 3.2 and 4.2.2: the last step matched, or 1 + the distinct steps 2..k done; with
        optional steps (4.12.2) the furthest required step done."""
        return len(self.done) if self.furthest is None else self.furthest

    @property
    def times(self) -> list[Any]:
        """Rules 3.8 and 4.2.4: the step times in step order, or the first-done times sorted; with
        optional steps (4.12.4) one per step, None where a step was not done."""
        if self.furthest is not None:
            return [self.events_by_step[k].ts if k in self.events_by_step else None
                    for k in range(1, self.n_steps + 1)]
        return sorted(self.done.values())


def reference_funnel(rows: Sequence[tuple[Hashable, Any, str]], steps: Sequence[set[str]],
                     window_seconds: float, *, order: str = "ordered", entry: str | None = None,
                     within: Sequence[float | None] | None = None, after: Sequence[float | None] | None = None,
                     exclude: Sequence[tuple[set[str], int, int]] = (), count: str = "users",
                     session_timeout: float = 1800, since: float | None = None, until: float | None = None,
                     mature_only: bool = False, held: Sequence[Any] | None = None,
                     optional: Sequence[bool] | None = None, open_windows: str | None = None,
                     counting: str = "microconv") -> ReferenceResult:
    """rows: (user, ts, event) in input order (list index is the tie-breaker); ts in seconds.

    steps: step k is matched by an event whose name is in ``steps[k]``.
    within / after: None, or one limit per step (seconds; entry 0 and "no limit" are None), rule 4.3.
    exclude: (event names, from step, to step), steps numbered from 1, rule 4.4.
    count: "users", or "sessions" by an inactivity gap of more than ``session_timeout`` (rule 4.6);
    a session is keyed (user, n) with n = 1, 2, ... in time order over all of the user's events.
    since / until: entry bounds ``since <= t_1 < until`` (rule 4.7).
    mature_only: leave in-progress units out (rule 4.8.3). T is the largest ts of all rows.
    held: None, or per row the value of the one held property (None: missing), rule 4.11.
    optional: None, or per step whether it is optional (rule 4.12; order ordered only).
    open_windows: "in_progress", or "dropped": nobody is in progress (rule 4.13).
    counting: a preset (rule 6.1) giving entry, open_windows and what order "any" means where the
    caller leaves them (None).

    Returns reached (entrants only), users per step, median seconds from the previous step per
    step, each entrant's counted-attempt times, in-progress units per step and the excluded count.
    """
    n = len(steps)
    preset = PRESET_RULES[counting]
    entry = preset["entry"] if entry is None else entry
    open_windows = preset["open_windows"] if open_windows is None else open_windows
    order = preset["any"] if order == "any" else order
    within = list(within) if within is not None else [None] * n
    after = list(after) if after is not None else [None] * n
    optional = list(optional) if optional is not None else [False] * n
    _check(n, order, entry, within, after, exclude, count, optional)
    previous = [max((j for j in range(k) if not optional[j]), default=-1) for k in range(n)]
    last_ts = max((ts for _, ts, _ in rows), default=None)   # T of rule 4.8.1

    reached: dict[Hashable, int] = {}
    step_times: dict[Hashable, list[Any]] = {}
    matched_rows: dict[Hashable, dict[int, int]] = {}
    in_progress_units: set[Hashable] = set()
    all_attempts: dict[Hashable, list[_Attempt]] = {}
    in_progress = [0] * n
    excluded = 0
    for key, unit in _units(rows, count, session_timeout, held).items():
        attempts = []
        entry_names = set().union(*steps) if order == "unordered" else steps[0]   # rule 4.9.1
        for start in _entries(unit.events, entry_names, entry, since, until):
            pool = unit.events if held is None else _same_values(start, unit.events)
            if any(optional):
                attempt = _replay_optional(start, pool, steps, window_seconds, within, after, optional)
            elif order == "strict":
                attempt = _replay_strict(start, unit.events, steps, window_seconds, within, after, held is not None)
            elif order == "any":
                attempt = _replay_any(start, pool, steps, window_seconds)
            elif order == "unordered":
                attempt = _replay_unordered(start, pool, steps, window_seconds)
            else:
                attempt = _replay_ordered(start, pool, steps, window_seconds, within, after)
            attempt.discarded = _discarded(attempt, unit.events, exclude, window_seconds)
            attempt.open = _is_open(attempt, unit, n, window_seconds, within, order, count, session_timeout,
                                    last_ts, optional)
            attempts.append(attempt)
        if not attempts:
            continue                                        # never entered (E10, R1's A@0)
        if count == "totals":                               # rule 4.10: each counted attempt a unit
            attempts = _one_after_another(attempts, n, window_seconds, held is not None)
        all_attempts[key] = attempts
        groups = {(key, i): [a] for i, a in enumerate(attempts, start=1)} if count == "totals" else {key: attempts}
        for key, attempts in groups.items():
            clean = [a for a in attempts if not a.discarded]
            if not clean:
                excluded += 1                                   # rule 4.4.2
                continue
            best = max(a.reached for a in clean)                # rule 3.6 over clean attempts
            counted = next(a for a in clean if a.reached == best)   # rule 3.7: the earliest such attempt
            unit_in_progress = best < n and any(a.open for a in clean) and open_windows == "in_progress"  # 4.8.2, 4.13
            if unit_in_progress and mature_only:
                continue                                        # rule 4.8.3
            reached[key] = best
            step_times[key] = counted.times
            matched_rows[key] = {k: e.index for k, e in counted.step_events.items()}
            if unit_in_progress:
                in_progress[best - 1] += 1
                in_progress_units.add(key)

    users = [sum(1 for key, r in reached.items() if (k + 1 in matched_rows[key] if optional[k] else r >= k + 1))
             for k in range(n)]                              # 4.12.3: an optional step, who did it
    return ReferenceResult(reached, users, _medians(step_times, previous), step_times, in_progress, excluded,
                           matched_rows, in_progress_units, all_attempts, previous)


def _medians(step_times: dict[Hashable, list[Any]], previous: list[int]) -> list[float | None]:
    """Rules 3.8, 4.2.4 and 4.12.4: per step from the second, the median of its time minus the time of
    ``previous[k]`` over the units whose counted attempt did it (a time list holds None for an
    optional step not done)."""
    medians: list[float | None] = [None]
    for k in range(1, len(previous)):
        gaps = [t[k] - t[previous[k]] for t in step_times.values() if len(t) > k and t[k] is not None]
        medians.append(float(statistics.median(gaps)) if gaps else None)
    return medians


def _check(n, order, entry, within, after, exclude, count, optional) -> None:
    """The argument combinations the config rejects (rules 4.2.5, 4.9.5, 4.12.1) or that make no sense."""
    if any(optional) and (order != "ordered" or optional[0] or optional[-1]
                          or any(o and (w is not None or a is not None) for o, w, a in zip(optional, within, after))
                          or any(optional[lo - 1] or optional[hi - 1] for _names, lo, hi in exclude)):
        raise ValueError("optional steps: order ordered, not first or last, no limits, not in 'between' (rule 4.12.1)")
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
    if order == "unordered" and (exclude or any(x is not None for x in within + after)):
        raise ValueError("exclusions and within/after are a config error in order unordered (rule 4.9.5)")
    for _names, lo, hi in exclude:
        if not 1 <= lo <= hi <= n:
            raise ValueError(f"exclusion between steps {lo} and {hi} of a {n}-step funnel")


def _units(rows, count: str, session_timeout: float, held: Sequence[Any] | None = None) -> dict[Hashable, _Unit]:
    """Rules 1.4 and 4.6.2: each user's events sorted by (timestamp, input order); with sessions, a
    new session starts where the gap from the previous event of the user exceeds the timeout (an
    equal gap stays). Every event of the user counts for the gaps, not only step events."""
    by_user: dict[Hashable, list[_Event]] = {}
    for index, (user, ts, name) in enumerate(rows):
        by_user.setdefault(user, []).append(_Event(ts, index, name, None if held is None else held[index]))
    units: dict[Hashable, _Unit] = {}
    for user, events in by_user.items():
        events = sorted(events, key=lambda e: e.order)
        if count in ("users", "totals"):
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
            return _Attempt(start, {k + 1: e.ts for k, e in enumerate(matched)}, matched,
                            gave_up=min(previous.ts + within[k], start.ts + window))
        matched.append(chosen)
    return _Attempt(start, {k + 1: e.ts for k, e in enumerate(matched)}, matched)


def _same_values(start: _Event, events: list[_Event]) -> list[_Event]:
    """Rule 4.11.1: the events an attempt from ``start`` may use: those with its held value (a
    missing value equals nothing), and ``start`` itself."""
    return [e for e in events if e is start or (start.value is not None and e.value == start.value)]


def _replay_strict(start: _Event, events: list[_Event], steps: Sequence[set[str]], window: float,
                   within: list, after: list, hold: bool = False) -> _Attempt:
    """Rules 4.1 and 4.3.2: step k+1 must be the very next event of the unit (any event, in the order
    of rule 1.4, no re-ordering of equal timestamps) and must be inside the window and both limits;
    with ``hold`` (4.11.1) it must also have step 1's value, else it breaks the attempt."""
    matched = [start]
    position = events.index(start)
    for k in range(1, len(steps)):
        position += 1
        if position >= len(events):
            break
        event, previous = events[position], matched[-1]
        gave_up = None
        if event.name not in steps[k] or (hold and (start.value is None or event.value != start.value)):
            gave_up = event.ts - 1e-9                   # 4.10.1: just before the breaking event
        elif event.ts - start.ts > window:
            break
        elif after[k] is not None and event.ts - previous.ts < after[k]:
            gave_up = event.ts - 1e-9
        elif within[k] is not None and event.ts - previous.ts > within[k]:
            gave_up = min(previous.ts + within[k], start.ts + window)
        if gave_up is not None:
            return _Attempt(start, {k + 1: e.ts for k, e in enumerate(matched)}, matched, gave_up=gave_up)
        matched.append(event)
    return _Attempt(start, {k + 1: e.ts for k, e in enumerate(matched)}, matched)


def _replay_any(start: _Event, events: list[_Event], steps: Sequence[set[str]], window: float) -> _Attempt:
    """Rule 4.2: step 1 is the attempt's own event; each of steps 2..k is done, on its own (4.2.3),
    when an event other than the step-1 event matches it with ``t_1 <= t <= t_1 + w``; its time is
    the earliest such event's (4.2.4)."""
    done = {1: start.ts}
    first_done = {1: start}
    for k in range(1, len(steps)):
        candidates = [e for e in events
                      if e.index != start.index
                      and e.name in steps[k]
                      and start.ts <= e.ts <= start.ts + window]
        if candidates:
            first = min(candidates, key=lambda e: e.order)   # earliest; on a tie the first in input order
            done[k + 1] = first.ts
            first_done[k + 1] = first
    return _Attempt(start, done, [], events_by_step=first_done)


def _discarded(attempt: _Attempt, events: list[_Event], exclude, window: float) -> bool:
    """Rule 4.4.1 (see ``_spoiling_times``); records the earliest spoiling event's time for rule 4.10.1."""
    times = _spoiling_times(attempt, events, exclude, window)
    attempt.spoiled_at = min(times, default=None)
    return bool(times)


def _spoiling_times(attempt: _Attempt, events: list[_Event], exclude, window: float) -> list[Any]:
    """Rule 4.4.1: an attempt that reached step FROM is discarded by an exclusion event with
    ``t_from < t < t_to`` when it reached step TO, else with ``t_from < t <= t_1 + w``. Any event of
    the unit with an exclusion name counts, whatever else it matches. In any order a step is
    "reached" when it was done, at its first-done time (4.4.3)."""
    t_1 = attempt.done[1]
    times = []
    for names, lo, hi in exclude:
        if lo not in attempt.done:
            continue
        t_from = attempt.done[lo]
        for e in events:
            if e.name not in names:
                continue
            if hi in attempt.done:
                if t_from < e.ts < attempt.done[hi]:
                    times.append(e.ts)
            elif t_from < e.ts <= t_1 + window:
                times.append(e.ts)
    return times


def _is_open(attempt: _Attempt, unit: _Unit, n: int, window: float, within: list, order: str, count: str,
             session_timeout: float, last_ts, optional: list) -> bool:
    """Rule 4.8.1, condition by condition: not at the last step; ``t_1 + w > T``; the next step's
    ``within`` ends after T; strict: no event of the unit follows the last step's event; sessions:
    the unit is the user's last session and its last event + the timeout is after T."""
    k = attempt.reached
    if k >= n:
        return False
    if not attempt.done[1] + window > last_ts:
        return False
    following = next(j for j in range(k, n) if not optional[j])     # the next required step (4.12)
    if within[following] is not None and not attempt.done[k] + within[following] > last_ts:
        return False
    if order == "strict" and unit.events.index(attempt.matched[-1]) < len(unit.events) - 1:
        return False
    if count == "sessions":
        if not unit.last_session_of_user:
            return False
        if not unit.events[-1].ts + session_timeout > last_ts:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Section 8: breakdowns (8.2), trends (8.3) and time to convert (8.4), read off the counted
# attempts that reference_funnel records (matched_rows, step_times, in_progress_units).

OTHER, MISSING, NOT_REACHED = "(other)", "(missing)", "(not reached)"
DAY = 86400
# Timestamps are seconds after 2026-01-01T00:00:00Z, a Thursday (the same origin as tests/helpers.py).
EPOCH_DATE = datetime(2026, 1, 1)
# 8.4.3: the lower edge of each bucket, in seconds; the last bucket has no upper edge.
BUCKET_EDGES = (0, 60, 300, 900, 3600, 21600, 86400, 259200, 604800, 1209600, 2592000)
BUCKET_NAMES = ("under_1m", "1m_5m", "5m_15m", "15m_1h", "1h_6h", "6h_1d", "1d_3d", "3d_7d", "7d_14d",
                "14d_30d", "30d_plus")
PERCENTILES = (0.25, 0.5, 0.75, 0.9)


def _restrict(result: ReferenceResult, keys, n: int) -> ReferenceResult:
    """Section 5's step numbers over some of the entrants only (a segment or a cohort)."""
    keys = [k for k in result.reached if k in set(keys)]
    reached = {k: result.reached[k] for k in keys}
    step_times = {k: result.step_times[k] for k in keys}
    previous = result.previous or list(range(-1, n - 1))
    optional = [0 < k < n - 1 and k not in previous for k in range(n)]
    users = [sum(1 for key, r in reached.items() if (k + 1 in result.matched_rows[key] if optional[k] else r >= k + 1))
             for k in range(n)]
    in_progress = [0] * n
    for k in keys:
        if k in result.in_progress_units:
            in_progress[reached[k] - 1] += 1
    return ReferenceResult(reached, users, _medians(step_times, previous), step_times, in_progress, 0,
                           {k: result.matched_rows[k] for k in keys},
                           {k for k in keys if k in result.in_progress_units}, previous=previous)


def attributed_row(matched: dict[int, int], rows: Sequence[tuple[Hashable, Any, str]], attribution: str,
                   order: str = "ordered", values: Sequence[Any] | None = None) -> int | None:
    """Rule 8.2.1: the row whose value a unit takes, from its counted attempt's events (step -> row).

    first_touch: the step-1 event. last_touch: the latest of the attempt's events by (timestamp,
    input order), so on equal timestamps the later row. In ordered and strict funnels that is the
    furthest step's event except where rule 3.3 let a step take an event that is earlier in the file
    at the previous step's timestamp: then the later row wins (the document's "on equal timestamps
    the later row"). step:N: the event that matched (any order: first did) step N, or None when the
    attempt did not get there. ``order`` is accepted for symmetry; the rule is the same in each.
    first_defined / last_defined: of the attempt's events by (timestamp, input order), the first /
    the last whose value (``values``) is not None; the step-1 event when none has one.
    """
    if attribution in ("first_defined", "last_defined"):
        valued = sorted((i for i in matched.values() if values[i] is not None), key=lambda i: (rows[i][1], i))
        return (valued[0] if attribution == "first_defined" else valued[-1]) if valued else matched[1]
    if attribution == "first_touch":
        return matched[1]
    if attribution == "last_touch":
        return max(matched.values(), key=lambda i: (rows[i][1], i))
    if attribution.startswith("step:"):
        return matched.get(int(attribution.split(":", 1)[1]))
    raise ValueError(f"unknown attribution {attribution!r}")


def reference_segments(rows: Sequence[tuple[Hashable, Any, str]], values: Sequence[Any],
                       steps: Sequence[set[str]], window_seconds: float, *, attribution: str = "first_touch",
                       top: int = 10, **funnel_options) -> dict[str, ReferenceResult]:
    """Rules 8.2.1-8.2.3: segment label -> the funnel's numbers over the segment's units, in the
    listed order (dict order): the top values by entrants (most first, ties by text ascending),
    then (other), (missing), (not reached), each only when it has a unit.

    values[i] is the property of rows[i] (None: missing); values are compared as their text.
    """
    if len(values) != len(rows):
        raise ValueError("one value per row")
    if attribution.startswith("step:") and not 1 <= int(attribution.split(":", 1)[1]) <= len(steps):
        raise ValueError(f"{attribution} of a {len(steps)}-step funnel")
    result = reference_funnel(rows, steps, window_seconds, **funnel_options)
    order = funnel_options.get("order", "ordered")
    label_of: dict[Hashable, str] = {}
    for key in result.reached:
        row = attributed_row(result.matched_rows[key], rows, attribution, order, values)
        if row is None:
            label_of[key] = NOT_REACHED
        elif values[row] is None:
            label_of[key] = MISSING
        else:
            label_of[key] = str(values[row])
    entrants: dict[str, int] = {}
    for label in label_of.values():
        if label not in (MISSING, NOT_REACHED):
            entrants[label] = entrants.get(label, 0) + 1
    ranked = sorted(entrants, key=lambda v: (-entrants[v], v))
    kept = ranked if top == 0 else ranked[:top]
    for key, label in label_of.items():
        if label in entrants and label not in kept:
            label_of[key] = OTHER
    listed = [*kept, OTHER, MISSING, NOT_REACHED]
    n = len(steps)
    return {label: _restrict(result, [k for k, lab in label_of.items() if lab == label], n)
            for label in listed if label in label_of.values()}


def reference_breakdown(rows: Sequence[tuple[Hashable, Any, str]], values: Sequence[Any],
                        steps: Sequence[set[str]], window_seconds: float, *, attribution: str = "first_touch",
                        top: int = 10, **funnel_options) -> dict[str, list[int]]:
    """Segment label -> users per step, in the listed order of rule 8.2.2 (dict order)."""
    return {label: seg.users for label, seg in
            reference_segments(rows, values, steps, window_seconds, attribution=attribution, top=top,
                               **funnel_options).items()}


def period_start(ts: float, period: str) -> int:
    """Rule 8.3.1 in UTC: the first second of the day, ISO week (from Monday) or calendar month
    holding ``ts`` (seconds after 2026-01-01T00:00:00Z, a Thursday)."""
    day = int(ts // DAY)                                   # floor, also before the origin
    if period == "day":
        return day * DAY
    if period == "week":
        weekday = (day + 3) % 7                            # day 0 is a Thursday: weekday 3 (Monday 0)
        return (day - weekday) * DAY
    if period == "month":
        date = EPOCH_DATE + timedelta(days=day)
        first = datetime(date.year, date.month, 1)
        return (first - EPOCH_DATE).days * DAY
    raise ValueError(f"unknown period {period!r}")


def period_after(start: int, period: str) -> int:
    """The first second of the period that follows the one starting at ``start``."""
    if period == "day":
        return start + DAY
    if period == "week":
        return start + 7 * DAY
    if period == "month":
        date = EPOCH_DATE + timedelta(days=start // DAY)
        following = datetime(date.year + date.month // 12, date.month % 12 + 1, 1)
        return (following - EPOCH_DATE).days * DAY
    raise ValueError(f"unknown period {period!r}")


@dataclass
class ReferenceCohort:
    start: int                     # seconds after the origin: the period's first second
    open: bool                     # rule 8.3.2: the period ends after T, or an attempt of it is open
    users: list[int]
    in_progress: list[int]
    median_seconds: list[float | None]   # not in the trend's output: always None here


def reference_trend(rows: Sequence[tuple[Hashable, Any, str]], steps: Sequence[set[str]], window_seconds: float,
                    *, period: str = "day", mature_only: bool = False, **funnel_options) -> list[ReferenceCohort]:
    """Rules 8.3.1-8.3.2: one cohort per period from the first to the last period holding a counted
    unit, every period in between included (with zeros when nobody entered). A unit is counted once
    in each period in which one of its attempts started: at the furthest step of its clean attempts
    that started there (none clean: not counted there), in progress there when that is not the last
    step and one of those clean attempts is open (4.8.1); ``mature_only`` leaves out exactly those."""
    result = reference_funnel(rows, steps, window_seconds, **funnel_options)
    last_ts = max((ts for _, ts, _ in rows), default=None)
    n = len(steps)
    totals = funnel_options.get("count") == "totals"
    open_rule = (funnel_options.get("open_windows")
                 or PRESET_RULES[funnel_options.get("counting", "microconv")]["open_windows"])   # 4.13
    members: dict[int, list[tuple[int, bool]]] = {}       # cohort start -> (furthest step, in progress)
    still_open: set[int] = set()                           # cohorts with an open clean attempt, counted or not
    for attempts in result.attempts.values():
        by_period: dict[int, list[_Attempt]] = {}
        for attempt in attempts:
            by_period.setdefault(period_start(attempt.start.ts, period), []).append(attempt)
        for start, own in by_period.items():
            if any(a.open and not a.discarded for a in own):    # a discarded attempt stays discarded
                still_open.add(start)
            for group in ([a] for a in own) if totals else [own]:   # 4.10.2: totals, each attempt alone
                clean = [a for a in group if not a.discarded]
                if not clean:
                    continue
                best = max(a.reached for a in clean)
                waiting = best < n and any(a.open for a in clean) and open_rule == "in_progress"
                if waiting and mature_only:
                    continue
                members.setdefault(start, []).append((best, waiting))
    if not members:
        return []
    cohorts = []
    start, last = min(members), max(members)
    while start <= last:
        end = period_after(start, period)
        units = members.get(start, [])
        users = [sum(1 for best, _ in units if best >= k) for k in range(1, n + 1)]
        in_progress = [sum(1 for best, waiting in units if waiting and best == k) for k in range(1, n + 1)]
        # 8.3.2: open while the period has not ended at T or an attempt that started in it is open
        cohorts.append(ReferenceCohort(start, end > last_ts or start in still_open, users, in_progress, [None] * n))
        start = end
    return cohorts


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Rule 8.4.2, numpy's default ("linear"): position p(n-1) in the sorted values, interpolated
    between the two values around it. None when there are no values."""
    n = len(sorted_values)
    if n == 0:
        return None
    position = p * (n - 1)
    below = int(position)                                  # floor: position >= 0
    above = min(below + 1, n - 1)
    fraction = position - below
    low, high = sorted_values[below], sorted_values[above]
    return low + (high - low) * fraction


def bucket_counts(gaps: Sequence[float]) -> list[int]:
    """Rule 8.4.3: how many gaps fall in each bucket; a bucket holds its lower edge."""
    counts = [0] * len(BUCKET_EDGES)
    for gap in gaps:
        slot = max(i for i, edge in enumerate(BUCKET_EDGES) if gap >= edge)
        counts[slot] += 1
    return counts


@dataclass
class ReferenceTransition:
    from_step: int
    to_step: int
    gaps: list[float]                          # sorted, seconds
    percentiles: dict[float, float | None]     # 0.25, 0.5, 0.75, 0.9 -> seconds (None without gaps)
    buckets: list[int]                         # per BUCKET_NAMES

    @property
    def units(self) -> int:
        return len(self.gaps)


def reference_time_to_convert(rows: Sequence[tuple[Hashable, Any, str]], steps: Sequence[set[str]],
                              window_seconds: float, **funnel_options) -> list[ReferenceTransition]:
    """Rule 8.4: for k = 2..n the gaps from step k-1 to step k over the counted attempts that reached
    k (any order: the (k-1)-th to the k-th of the sorted first-done times), then the whole funnel
    (step 1 to step n) over the completers, except in a two-step funnel where it is the same row;
    each with its percentiles and bucket counts. A one-step funnel has no transition at all (the
    document does not say; a zero "gap" from step 1 to itself would say nothing)."""
    result = reference_funnel(rows, steps, window_seconds, **funnel_options)
    n = len(steps)
    pairs: list[tuple[int, int, list[float]]] = []
    for k in range(2, n + 1):
        pairs.append((k - 1, k, [t[k - 1] - t[k - 2] for t in result.step_times.values() if len(t) >= k]))
    if n > 2:        # 8.4.1: in two steps the one transition is listed once; one step has no transition
        pairs.append((1, n, [t[n - 1] - t[0] for t in result.step_times.values() if len(t) == n]))
    out = []
    for lo, hi, gaps in pairs:
        gaps = sorted(gaps)
        out.append(ReferenceTransition(lo, hi, gaps, {p: percentile(gaps, p) for p in PERCENTILES},
                                       bucket_counts(gaps)))
    return out


# Rules 8.2.3-8.2.5: the per-segment conversion, its interval and the test against the rest.

Z_95 = 1.959963984540054        # the 0.975 quantile of the standard normal distribution


@dataclass
class ReferenceSegmentStats:
    entrants: int
    share: float
    converted: int
    rate: float
    rate_low: float               # Wilson score interval, 95%
    rate_high: float
    rate_rest: float | None       # None when there is no rest
    test: str | None              # "chi2" or "fisher"; None when not tested ((not reached), no rest)
    p_value: float | None
    p_adjusted: float | None
    too_small: bool
    significant: bool


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson's score interval for successes/n (n > 0), from its textbook formula."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def fisher_two_sided(a: int, b: int, c: int, d: int) -> float:
    """Fisher's exact test on [[a, b], [c, d]]: the total probability, under fixed margins, of the
    tables no more likely than the one observed (exact fractions, so ties are exact)."""
    row1, col1, total = a + b, a + c, a + b + c + d

    def probability(x: int) -> Fraction:
        return Fraction(math.comb(col1, x) * math.comb(total - col1, row1 - x), math.comb(total, row1))

    observed = probability(a)
    low, high = max(0, row1 - (total - col1)), min(row1, col1)
    p = sum((q for q in (probability(x) for x in range(low, high + 1)) if q <= observed), Fraction(0))
    return min(1.0, float(p))


def chi_square_p(a: int, b: int, c: int, d: int) -> float:
    """Pearson's chi-square on [[a, b], [c, d]] without continuity correction, one degree of freedom:
    p = P(chi2_1 > x) = erfc(sqrt(x / 2)). Every margin must be positive."""
    n = a + b + c + d
    statistic = n * (a * d - b * c) ** 2 / ((a + b) * (c + d) * (a + c) * (b + d))
    return math.erfc(math.sqrt(statistic / 2))


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """BH-adjusted p-values in the input order: p_(i) m / i, made monotone from the largest down, at most 1."""
    m = len(p_values)
    ranked = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = ranked[rank - 1]
        running = min(running, p_values[i] * m / rank)
        adjusted[i] = running
    return adjusted


def reference_segment_stats(segments: dict[str, ReferenceResult]) -> dict[str, ReferenceSegmentStats]:
    """Rules 8.2.3-8.2.5 over ``reference_segments``' output: each segment against the rest of the
    entrants (every other segment pooled, (not reached) included); (not reached) is not tested, nor
    is a segment without a rest (it is every entrant: there is nothing to compare it with)."""
    n_steps = len(next(iter(segments.values())).users) if segments else 0
    all_entrants = sum(s.users[0] for s in segments.values())
    all_converted = sum(s.users[n_steps - 1] for s in segments.values())
    out: dict[str, ReferenceSegmentStats] = {}
    tested: list[str] = []
    for label, seg in segments.items():
        entrants, converted = seg.users[0], seg.users[n_steps - 1]
        rest_entrants, rest_converted = all_entrants - entrants, all_converted - converted
        low, high = wilson(converted, entrants)
        rate_rest = rest_converted / rest_entrants if rest_entrants else None
        expected_in_segment = entrants * all_converted / all_entrants
        too_small = entrants < 30 or rest_entrants < 30 or expected_in_segment < 5
        test = p = None
        if label != NOT_REACHED and rest_entrants:
            a, b = converted, entrants - converted
            c, d = rest_converted, rest_entrants - rest_converted
            rows_, cols = (a + b, c + d), (a + c, b + d)
            expected = [r * k / all_entrants for r in rows_ for k in cols]
            if all(e >= 5 for e in expected):
                test, p = "chi2", chi_square_p(a, b, c, d)
            else:
                test, p = "fisher", fisher_two_sided(a, b, c, d)
            tested.append(label)
        out[label] = ReferenceSegmentStats(entrants, entrants / all_entrants, converted, converted / entrants,
                                           low, high, rate_rest, test, p, None, too_small, False)
    for label, adjusted in zip(tested, benjamini_hochberg([out[t].p_value for t in tested])):
        out[label].p_adjusted = adjusted
        out[label].significant = adjusted < 0.05 and not out[label].too_small
    return out


# ---------------------------------------------------------------------------------------------
# Rule 4.9: order: unordered, appended here (it reuses the helpers above).

def _filled(events: list[_Event], steps: Sequence[set[str]]) -> int:
    """The most steps that ``events`` can fill with one event per step and one step per event: a
    maximum bipartite matching, by plain augmenting paths (Kuhn's algorithm)."""
    step_of: dict[int, int] = {}                 # event number -> the step it fills

    def place(step: int, seen: set[int]) -> bool:
        for i, e in enumerate(events):
            if e.name in steps[step] and i not in seen:
                seen.add(i)
                if i not in step_of or place(step_of[i], seen):
                    step_of[i] = step
                    return True
        return False

    return sum(place(step, set()) for step in range(len(steps)))


def _replay_unordered(start: _Event, events: list[_Event], steps: Sequence[set[str]], window: float) -> _Attempt:
    """Rule 4.9.2: the attempt's events are the unit's events with ``t_1 <= t <= t_1 + w`` (an event at
    the start's timestamp counts even if earlier in the file); it reaches the most steps they fill,
    one event one step. Row j's time (4.9.4) is the earliest time t at which the events up to t
    fill j steps; its event, the one that first makes j steps fillable, taking the events in the
    order of rule 1.4."""
    inside = [e for e in events if start.ts <= e.ts <= start.ts + window]
    done, by_row = {1: start.ts}, {1: start}
    for e in inside:
        upto = [x for x in inside if x.order <= e.order]
        for j in range(len(done) + 1, _filled(upto, steps) + 1):
            done[j] = e.ts
            by_row[j] = e
    return _Attempt(start, done, [], events_by_step=by_row)


# ---------------------------------------------------------------------------------------------
# Rule 4.10: count: totals.

def _one_after_another(attempts: list[_Attempt], n: int, window: float, hold: bool = False) -> list[_Attempt]:
    """Rule 4.10.1: the unit's first attempt counts; then, again and again, the first attempt whose
    step-1 event is later than the end of the last counted one: the time it did its last step
    when it did all n (any order: the latest of its step times); when a strict break or a
    ``within`` limit ended it, that time (just before the breaking event, or the limit's end);
    else the end of its window; and an attempt an exclusion discarded ends at the earliest event
    that did. With ``hold`` (4.11.3) each held value's attempts follow one another on their own
    (a missing value's attempt alone), in the order of their step-1 events."""
    chains: dict[Any, list[_Attempt]] = {}
    for i, attempt in enumerate(attempts):
        key = (attempt.start.value if attempt.start.value is not None else ("missing", i)) if hold else None
        chains.setdefault(key, []).append(attempt)
    counted: list[_Attempt] = []
    for chain in chains.values():
        last = None
        for attempt in chain:
            if last is not None:
                end = (max(last.done.values()) if last.reached == n else
                       last.gave_up if last.gave_up is not None else last.start.ts + window)
                if last.spoiled_at is not None:
                    end = min(end, last.spoiled_at)
                if not attempt.start.ts > end:
                    continue
            counted.append(attempt)
            last = attempt
    return sorted(counted, key=lambda a: a.start.order)


# ---------------------------------------------------------------------------------------------
# Rule 4.12: optional steps (ordered funnels).

def _replay_optional(start: _Event, events: list[_Event], steps: Sequence[set[str]], window: float,
                     within: list, after: list, optional: list) -> _Attempt:
    """Rule 4.12.2: the required steps replayed alone as an ordered funnel (3.2-3.5, 4.3); then each
    optional step k between required steps a and b, in step order, is done by its earliest event
    that no required step and no earlier optional step used, with ``t_a <= t`` and ``t <= t_b`` when the attempt did b, else ``t <= t_1 + w``
    (ties: in step order, k after a and before b)."""
    n = len(steps)
    required = [k for k in range(n) if not optional[k]]
    sub = _replay_ordered(start, events, [steps[k] for k in required], window,
                          [within[k] for k in required], [after[k] for k in required])
    by_step = {required[i] + 1: e for i, e in enumerate(sub.matched)}
    done = {step: e.ts for step, e in by_step.items()}
    extra = {}
    for k in (k for k in range(n) if optional[k]):
        a = max(j for j in required if j < k) + 1
        b = min(j for j in required if j > k) + 1
        if a not in by_step:
            continue
        candidates = [e for e in events if e.name in steps[k] and e not in sub.matched
                      and e not in extra.values()           # one event, one step: an earlier optional step's too
                      and e.ts >= by_step[a].ts
                      and (e.ts <= by_step[b].ts if b in by_step else e.ts <= start.ts + window)]
        if candidates:
            extra[k + 1] = min(candidates, key=lambda e: e.order)
    return _Attempt(start, done, sub.matched, events_by_step={**by_step, **extra}, gave_up=sub.gave_up,
                    furthest=max(by_step), n_steps=n)


@dataclass
class ReferenceMicroGroup:
    population: int
    did: dict[str, int]            # conversion -> users of the group who did it before their first macro
    converters: int


def reference_micro_groups(rows: Sequence[tuple[Hashable, Any, str]], values: Sequence[Any],
                           conversions: dict[str, set[str]], macro: set[str],
                           period: str | None = None) -> dict[Any, ReferenceMicroGroup]:
    """Rules 7.2.2, 7.6.1 and 7.7, one user at a time: group -> its users, who did each conversion
    (an event of it strictly before the user's first macro event) and who converted. The group is
    the value (as text) of the user's first event in (time, input order) that has one, else
    (missing); with ``period``, the start of the period of the user's first event instead."""
    by_user: dict[Hashable, list[int]] = {}
    for i, (user, _, _) in enumerate(rows):
        by_user.setdefault(user, []).append(i)
    groups: dict[Any, ReferenceMicroGroup] = {}
    for user, idx in by_user.items():
        idx.sort(key=lambda i: (rows[i][1], i))
        if period is not None:
            key: Any = period_start(rows[idx[0]][1], period)
        else:
            valued = [i for i in idx if values[i] is not None and str(values[i]).strip()]
            key = str(values[valued[0]]) if valued else MISSING
        goal = min((rows[i][1] for i in idx if rows[i][2] in macro), default=None)
        group = groups.setdefault(key, ReferenceMicroGroup(0, {name: 0 for name in conversions}, 0))
        group.population += 1
        group.converters += goal is not None
        for name, events in conversions.items():
            group.did[name] += any(rows[i][2] in events and (goal is None or rows[i][1] < goal) for i in idx)
    return groups
