"""What a funnel counts: users, or sessions (docs/semantics.md 4.6).

A unit code is an integer per event such that sorting by (unit, time) also sorts by
(user, time); the engine then never needs to know which of the two it is counting.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .clock import elapsed_ns
from .replay import SortedEvents, position_dtype


@dataclass(frozen=True)
class Units:
    """Per-event unit codes, and per unit: its label and whether it can still grow (4.8)."""

    code: np.ndarray          # per frame row (int32 for users and gap sessions when they fit)
    labels: pd.Index          # label per unit code (user id, or (user, session))
    open: np.ndarray          # bool per unit code: more events could still join the unit
    kind: str                 # "users" | "sessions"
    nests: bool = True        # sorting by (user, time) also sorts by (unit, time): users, gap sessions


def users(frame: pd.DataFrame) -> Units:
    categories = frame["user"].cat.categories
    code = frame["user"].cat.codes.to_numpy().astype(position_dtype(len(categories)))
    return Units(code, pd.Index(categories, name="user"), np.ones(len(categories), dtype=bool), "users")


def sessions_from_column(frame: pd.DataFrame, column: str) -> Units:
    """A session is a (user, session id) pair; rows without an id share their user's one "no id" session."""
    session = frame[column].astype("string").fillna("")
    pairs = pd.MultiIndex.from_arrays([frame["user"], session], names=["user", "session"])
    code, labels = pd.factorize(pairs, sort=True)
    return Units(code.astype(np.int64), labels, np.ones(len(labels), dtype=bool), "sessions", nests=False)


def sessions_from_gaps(frame: pd.DataFrame, timeout_ns: int, last_ts: int) -> Units:
    """A new session starts when a user's next event is more than ``timeout_ns`` after the previous one."""
    user = frame["user"].cat.codes.to_numpy()
    by_user = SortedEvents.build(user, frame["ts"].to_numpy(dtype="datetime64[ns]").view("int64"), None)
    return sessions_of(by_user, frame["user"].cat.categories, timeout_ns, last_ts)[0]


def sessions_of(by_user: SortedEvents, user_ids: pd.Index, timeout_ns: int, last_ts: int,
                ) -> tuple[Units, SortedEvents]:
    """:func:`sessions_from_gaps` from every event sorted by (user, time) (``by_user``, with user
    codes into ``user_ids``); also the same events with their session codes, which sort them by
    (session, time) as they stand. Everything is read in that order: no gather of the frame's
    columns, and few arrays of the events' length (at 30M events each costs its page faults)."""
    u, t, order = by_user.unit, by_user.ts, by_user.row
    n = len(u)
    new_user = np.ones(n, dtype=bool)
    np.not_equal(u[1:], u[:-1], out=new_user[1:])
    sorted_code = np.empty(n, dtype=position_dtype(n))
    gap = elapsed_ns(t[1:], t[:-1])          # (uint64: exact within a user, the only place it counts)
    new = new_user.copy()
    new[1:] |= gap > timeout_ns
    del gap
    np.cumsum(new, dtype=sorted_code.dtype, out=sorted_code)
    sorted_code -= 1
    code = np.empty(n, dtype=sorted_code.dtype)
    code[order] = sorted_code
    starts = np.flatnonzero(new)
    del new
    first_of_user = new_user[starts]                        # per session: its user's first
    number = np.arange(len(starts), dtype=position_dtype(len(starts)))    # 0, 1, ... within each user:
    first = np.where(first_of_user, number, 0)                                # its index less that of
    np.maximum.accumulate(first, out=first)                                   # its user's first session
    number -= first
    del first
    ends_user = np.ones(len(starts), dtype=bool)
    ends_user[:-1] = first_of_user[1:]
    last = np.flatnonzero(ends_user)                                          # each user's last session
    last_event = np.append(starts[1:], n)[last] - 1
    is_open = np.zeros(len(starts), dtype=bool)
    is_open[last] = t[last_event] > int(last_ts) - timeout_ns        # (Python ints: no overflow)
    labels = pd.MultiIndex(levels=[user_ids, np.arange(1, number.max(initial=-1) + 2)],
                           codes=[u[starts], number], names=["user", "session"], verify_integrity=False)
    return Units(code, labels, is_open, "sessions"), SortedEvents(sorted_code, t, order)
