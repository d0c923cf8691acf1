"""What a funnel counts: users, or sessions (docs/semantics.md 4.6).

A unit code is an integer per event such that sorting by (unit, time) also sorts by
(user, time); the engine then never needs to know which of the two it is counting.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .replay import position_dtype, unit_time_order


@dataclass(frozen=True)
class Units:
    """Per-event unit codes, and per unit: its label and whether it can still grow (4.8)."""

    code: np.ndarray          # per frame row (int32 for users when they fit)
    labels: pd.Index          # label per unit code (user id, or (user, session))
    open: np.ndarray          # bool per unit code: more events could still join the unit
    kind: str                 # "users" | "sessions"
    nests: bool = True        # sorting by (user, time) also sorts by (unit, time): users, gap sessions


def time_order(frame: pd.DataFrame) -> np.ndarray:
    """Frame rows sorted by (user, time, input order): rule 1.4. Sessions nest in it too."""
    user = frame["user"].cat.codes.to_numpy()
    return unit_time_order(user, frame["ts"].to_numpy(dtype="datetime64[ns]").view("int64"))


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


def sessions_from_gaps(frame: pd.DataFrame, timeout_ns: int, last_ts: int, order: np.ndarray | None = None) -> Units:
    """A new session starts when a user's next event is more than ``timeout_ns`` after the previous one.
    ``order`` is :func:`time_order` of the frame, when the caller already has it."""
    user = frame["user"].cat.codes.to_numpy().astype(np.int64)
    ts = frame["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
    order = time_order(frame) if order is None else order
    u, t = user[order], ts[order]
    new_user = np.r_[True, u[1:] != u[:-1]][:len(u)]          # (no events: no sessions)
    new = new_user | np.r_[True, np.diff(t) > timeout_ns][:len(u)]
    sorted_code = np.cumsum(new) - 1
    code = np.empty(len(order), dtype=np.int64)
    code[order] = sorted_code
    starts = np.flatnonzero(new)
    first_of_user = np.maximum.accumulate(np.where(new_user[starts], np.arange(len(starts)), 0))
    number = np.arange(len(starts)) - first_of_user + 1
    ends = np.r_[starts[1:], len(order)][:len(starts)] - 1
    last_of_user = np.r_[u[starts][1:] != u[starts][:-1], True][:len(starts)]
    is_open = last_of_user & (t[ends] + timeout_ns > last_ts)
    labels = pd.MultiIndex(levels=[frame["user"].cat.categories, np.arange(1, number.max(initial=0) + 1)],
                           codes=[u[starts], number - 1], names=["user", "session"], verify_integrity=False)
    return Units(code, labels, is_open, "sessions")
