"""Optional steps (``optional: true``, docs/semantics.md 4.12): PostHog's most requested funnel rule.

The required steps alone make an ordered funnel, replayed as any other: skipping an optional step
never stops anyone. An optional step is then only looked up, per attempt: did an event of it come
after the required step before it and before the required step after it (or inside the window,
when the attempt got no further)? So a unit's reach, and which attempt is counted, are exactly
those of the funnel without its optional steps, and the optional step's row counts who did it
on the way.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .clock import elapsed_ns
from .replay import Attempts, SortedEvents, count_before, replay_ordered


def previous_required(optional: Sequence[bool]) -> tuple[int, ...]:
    """Per step (0-based), the index of the nearest required step before it (step 0: -1)."""
    out, last = [], -1
    for k, skip in enumerate(optional):
        out.append(last)
        if not skip:
            last = k
    return tuple(out)


def optional_steps(previous: Sequence[int]) -> list[bool]:
    """The inverse of :func:`previous_required`: per step, whether it is optional, which is whether
    no later step takes its numbers from it (the first and last steps are always required)."""
    n = len(previous)
    later = set(previous)
    return [0 < k < n - 1 and k not in later for k in range(n)]


def next_required(optional: Sequence[bool]) -> tuple[int, ...]:
    """Per number of steps reached r (0..n, with r the 1-based index of the furthest required step
    done), the 0-based index of the required step to do next (n when none is left)."""
    n = len(optional)
    return tuple(next((k for k in range(r, n) if not optional[k]), n) for r in range(n + 1))


def replay_with_optional(events: SortedEvents, anchors: np.ndarray, masks: Sequence[np.ndarray], window: int,
                         within: Sequence[int | None], after: Sequence[int | None], optional: Sequence[bool],
                         out: Attempts) -> Attempts:
    """Rule 4.12 for ordered funnels: the required steps replayed by rules 3 and 4.3 (written into
    their columns of ``out``; ``reached`` is the 1-based index of the furthest required step done),
    then each optional step's event, where the attempt did it (4.12.2)."""
    required = [k for k, skip in enumerate(optional) if not skip]
    sub = replay_ordered(events, anchors, [masks[k] for k in required], window,
                         [within[k] for k in required], [after[k] for k in required])
    out.unit[:] = sub.unit
    out.pos.fill(-1)
    out.pos[:, required] = sub.pos
    out.reached[:] = np.asarray(required, dtype=np.int64)[sub.reached - 1] + 1
    out.stop[:] = sub.stop
    out.stop_pos[:] = sub.stop_pos
    t1 = events.ts[anchors]
    before = previous_required(optional)
    taken = list(required)                    # one event, one step: the steps before take theirs first
    for k in (k for k, skip in enumerate(optional) if skip):
        a, b = before[k], next(j for j in range(k + 1, len(optional)) if not optional[j])
        out.pos[:, k] = _done_between(events, out, masks[k], a, b, taken, t1, window)
        taken.append(k)
    return out


def _done_between(events: SortedEvents, att: Attempts, mask: np.ndarray, a: int, b: int, required: list[int],
                  t1: np.ndarray, window: int) -> np.ndarray:
    """Per attempt, the first event of ``mask`` from the step-a event's timestamp on (ties: in step
    order, the optional step comes after a and before b) that none of the steps ``required`` (the
    required ones and the optional ones before) used, and that is not later than the step-b event
    (when the attempt did b) or than the window's end; -1 if none."""
    done = np.full(len(att.unit), -1, dtype=att.pos.dtype)
    live = np.flatnonzero(att.pos[:, a] >= 0)
    positions = np.flatnonzero(mask)
    if not len(positions) or not len(live):
        return done
    last = len(positions) - 1
    j = count_before(mask).take(events.tie_start(att.pos[live, a]))
    used = att.pos[np.ix_(live, required)]
    for _ in range(len(required)):                   # one event, one step: skip the required steps' events
        clash = (j <= last) & (positions[np.minimum(j, last)][:, None] == used).any(axis=1)
        if not clash.any():
            break
        j = j + clash
    cand = positions.take(np.minimum(j, last))
    ok = (j <= last) & (events.unit.take(cand) == att.unit[live])
    end = att.pos[live, b]
    t = events.ts.take(cand)
    ok &= np.where(end >= 0, t <= events.ts.take(np.maximum(end, 0)), elapsed_ns(t, t1[live]) <= window)
    done[live[ok]] = cand[ok]
    return done
