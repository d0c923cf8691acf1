"""A slow, literal reading of docs/semantics.md section 3, for checking the vectorised engine.

Nothing here is shared with ``microconv``: every rule is re-derived from the document with
plain loops over one user's events, so that a disagreement points at one of the two.
"""
from __future__ import annotations

import statistics
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class ReferenceResult:
    reached: dict[Hashable, int]
    users: list[int]
    median_seconds: list[float | None]
    step_times: dict[Hashable, list[Any]]


@dataclass(frozen=True)
class _Event:
    ts: Any
    index: int
    name: str

    @property
    def order(self) -> tuple[Any, int]:
        """Rule 1.4: timestamp first, input order as the tie-breaker."""
        return (self.ts, self.index)


def reference_funnel(rows: Sequence[tuple[Hashable, Any, str]], steps: Sequence[set[str]],
                     window_seconds: float) -> ReferenceResult:
    """rows: (user, ts, event) in input order (list index is the tie-breaker); ts in seconds.

    steps: step k is matched by an event whose name is in ``steps[k]``.
    Returns reached (entrants only), users per step, median seconds from the previous step per
    step (None for step 1 and when nobody reached it), and each user's counted-attempt times.
    """
    by_user: dict[Hashable, list[_Event]] = {}
    for index, (user, ts, name) in enumerate(rows):
        by_user.setdefault(user, []).append(_Event(ts, index, name))

    reached: dict[Hashable, int] = {}
    step_times: dict[Hashable, list[Any]] = {}
    for user, events in by_user.items():
        counted = _counted_attempt(sorted(events, key=lambda e: e.order), steps, window_seconds)
        if counted:
            reached[user] = len(counted)
            step_times[user] = [e.ts for e in counted]

    users = [sum(1 for r in reached.values() if r >= k + 1) for k in range(len(steps))]
    medians: list[float | None] = [None]
    for k in range(1, len(steps)):
        gaps = [t[k] - t[k - 1] for t in step_times.values() if len(t) > k]
        medians.append(float(statistics.median(gaps)) if gaps else None)
    return ReferenceResult(reached, users, medians, step_times)


def _counted_attempt(events: list[_Event], steps: Sequence[set[str]], window: float) -> list[_Event]:
    """Rules 3.1, 3.6, 3.7: one attempt per step-1 event (in order); keep the first that goes furthest."""
    best: list[_Event] = []
    for start in events:
        if start.name in steps[0]:
            attempt = _replay(start, events, steps, window)
            if len(attempt) > len(best):
                best = attempt
    return best


def _replay(start: _Event, events: list[_Event], steps: Sequence[set[str]], window: float) -> list[_Event]:
    """Rules 3.2-3.5: greedy earliest match, equal timestamps in step order, one event one step,
    inclusive window from step 1. Returns the matched events, one per step reached."""
    matched = [start]
    for names in steps[1:]:
        previous = matched[-1]
        candidates = [e for e in events
                      if e.name in names
                      and e.ts >= previous.ts
                      and e not in matched]
        if not candidates:
            break
        chosen = min(candidates, key=lambda e: e.order)
        if chosen.ts - start.ts > window:
            break
        matched.append(chosen)
    return matched
