"""``hold: [property, ...]``: an attempt's steps all carry its first step's values (docs/semantics.md 4.11).

Holding values constant is replaying each (unit, held values) group as if it were a unit of its
own: its events are the only ones an attempt from it can match. So the events are sorted once
more, by (unit, held values, time), each group numbered as a unit, and the ordinary replay runs
on that order (any order but strict, whose "next event" is the unit's next event of any value:
there the values are compared instead, see ``replay_strict``). The attempts are then translated
back to the (unit, time) order, where exclusions, the in-progress rule, totals and every report
read them as usual. An event with a missing value is a group of its own: it may start an
attempt (which then reaches step 1 only) but never joins one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .replay import Attempts, SortedEvents, position_dtype

MISSING = -1    # the code of a missing held value


@dataclass(frozen=True)
class Held:
    """The events of a replay in (unit, held values, time) order, with unit codes replaced by
    group codes; ``real[p]``: the (unit, time) position of held position p, ``held`` the inverse."""

    events: SortedEvents
    flags: np.ndarray
    real: np.ndarray
    held: np.ndarray

    @classmethod
    def of(cls, events: SortedEvents, flags: np.ndarray, code: np.ndarray) -> Held:
        """``code``: per position of ``events`` (sorted by unit, time), the code of its held values
        (``MISSING`` when one is missing). A stable sort by (unit, code) keeps each group in time
        order; a missing code starts a group at every event."""
        n = len(events)
        key = events.unit.astype(np.int64) << 32
        key |= code.astype(np.int64) + 1                   # codes below 2**32 - 1: one per event at most
        order = np.argsort(key, kind="stable").astype(position_dtype(n))
        key = key[order]
        new = np.ones(n, dtype=bool)
        np.not_equal(key[1:], key[:-1], out=new[1:])
        new |= (key & 0xFFFFFFFF) == 0                     # missing: a group of its own
        group = np.cumsum(new, dtype=np.int64) - 1
        back = np.empty(n, dtype=order.dtype)
        back[order] = np.arange(n, dtype=order.dtype)
        return cls(SortedEvents(group.astype(position_dtype(max(n, 1))), events.ts[order], events.row[order]),
                   flags[order], order, back)


def to_real(att: Attempts, real: np.ndarray, events: SortedEvents) -> None:
    """Attempts replayed on held positions, in place: positions become (unit, time) positions via
    ``real`` (both local to the same run of units), units the real ones, and the rows re-ordered
    by step-1 event, as every replay's attempts are (rules 3.6 and 3.7 take the earliest first)."""
    for positions in (att.pos, att.stop_pos):
        found = positions >= 0
        positions[found] = real[positions[found]]
    order = np.argsort(att.pos[:, 0], kind="stable")
    for name in ("pos", "reached", "stop", "stop_pos"):
        values = getattr(att, name)
        values[:] = values[order]
    att.unit[:] = events.unit[att.pos[:, 0]]
