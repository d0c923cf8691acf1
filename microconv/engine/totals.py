"""``count: totals``: which attempts of a unit are counted, one after another (docs/semantics.md 4.10).

A unit's attempts overlap whenever a step-1 event falls inside an earlier attempt, so "every
attempt" needs a rule saying which ones: the first attempt counts, and the next counted one is
the first whose step-1 event comes after the previous counted attempt ended (completed, or its
window closed). That is a chain per unit, ``next[i]`` the attempt after attempt ``i``; its
members are found by pointer doubling (each round doubles the stretch of the chain that is
marked), so the cost is about log2 of the longest chain in passes over the attempts, whatever
the number of units or of attempts per unit.
"""
from __future__ import annotations

import numpy as np

from collections.abc import Sequence

from .clock import NS_MAX, plus_ns
from .replay import Attempts, SortedEvents, Stop


def attempt_ends(events: SortedEvents, att: Attempts, steps: int, window: int,
                 within: Sequence[int | None], next_step: Sequence[int]) -> np.ndarray:
    """Per attempt, the time after which it could go no further (4.10.1): its last step's event when
    it did every step (in any order: the latest of its steps; a skipped optional step has none);
    just before a strict break's event (which may start the next attempt); the end of the next
    step's ``within`` when that ran out (``next_step[r]``: the step after r steps done, past
    optional ones); else the end of its window. (Read before any exclusion marks the attempt's
    stop; an excluded attempt ends sooner, at the event that spoiled it, which the caller takes
    from ``apply_exclusions``.)"""
    ends = plus_ns(events.ts[att.anchor], window)
    complete = np.flatnonzero(att.reached >= steps)
    done = att.pos[complete]
    ends[complete] = np.where(done >= 0, events.ts.take(np.maximum(done, 0)), np.iinfo(np.int64).min).max(axis=1)
    broke = np.flatnonzero(np.isin(att.stop, (Stop.STRICT_BREAK, Stop.TOO_SOON, Stop.HELD)))
    ends[broke] = events.ts.take(att.stop_pos[broke]) - 1
    late = np.flatnonzero(att.stop == Stop.WITHIN)
    if len(late):                   # the step after the last one done: its within, saturating
        limits = np.array([min(w or 0, NS_MAX) for w in (*within, None)], dtype=np.int64)
        limit = limits[np.asarray(next_step)[att.reached[late]]]
        last = events.ts.take(att.pos[late, att.reached[late] - 1])
        ends[late] = np.minimum(ends[late], np.minimum(last, NS_MAX - limit) + limit)
    return ends


def one_after_another(chain: np.ndarray, starts_at: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the counted attempts: per ``chain`` (the unit, or with ``hold`` the
    unit and its held values, 4.11.3) its first attempt, then again and again the first attempt
    whose step-1 event (``starts_at``) is later than the end of the one counted before it."""
    n = len(chain)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ordered = bool((chain[1:] >= chain[:-1]).all())            # by unit (and time) already: no sort
    order = np.arange(n) if ordered else np.lexsort((starts_at, chain))
    chain, starts_at, ends = chain[order], starts_at[order], ends[order]
    first = np.ones(n, dtype=bool)
    np.not_equal(chain[1:], chain[:-1], out=first[1:])
    times, rank = np.unique(np.concatenate([starts_at, ends]), return_inverse=True)   # one order for both
    rank = rank.reshape(-1)
    base = (np.cumsum(first) - 1).astype(np.int64) * (len(times) + 1)
    after = np.searchsorted(base + rank[:n], base + rank[n:], side="right")   # first start > the end,
    np.maximum(after, np.arange(1, n + 1), out=after)      # and after the attempt itself: an end just before
                                                          # a break at the step-1 time must not point back
    mine = after < n
    mine[mine] = chain[after[mine]] == chain[mine]
    jump = np.where(mine, after, n).astype(np.int64)
    jump = np.append(jump, n)                                            # n: past the chain's end
    marked = np.zeros(n + 1, dtype=bool)
    marked[np.flatnonzero(first)] = True
    while True:            # marked: the first 2**r attempts of each chain; jump: 2**r attempts on
        at = np.flatnonzero(marked[:n])
        further = jump[at]
        if (further == n).all():
            return np.sort(order[at])
        marked[further] = True
        jump = jump[jump]
