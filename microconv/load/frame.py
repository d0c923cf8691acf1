"""The canonical events frame: what the engine reads, and the few accessors it reads it with.

Columns: ``user`` (category), ``ts`` (datetime64[ns, UTC]), ``event`` (category), then one
column per property the config uses, named by its property name. Row order is input order
(files in the order given, rows in file order), which is the tie-breaker of
docs/semantics.md rule 1.4.

This is the only module of ``load`` the engine imports: the frame's definition, not how it is
read, so the engine never sees a raw export.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

CORE = ("user", "event", "timestamp")
SESSION = "$session"  # canonical column of `columns.session`, read like a property


@dataclass(frozen=True)
class LogSummary:
    """What is known of every usable row, also when ``Events.frame`` keeps only some events' rows:
    the run's metadata, the micro-conversion population and the end of the data (semantics 4.8)."""

    events: int                # usable rows (a user, a timestamp and an event name)
    users: int | None          # distinct users among them; None when not counted
    first_ts: int | None       # UTC ns
    last_ts: int | None

    @classmethod
    def of(cls, frame: pd.DataFrame, users: int | None = None) -> LogSummary:
        """The frame's rows, times and (unless ``users`` is given) distinct users."""
        ts = frame["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
        return cls(len(frame), int(frame["user"].nunique()) if users is None else users,
                   int(ts.min()) if len(ts) else None, int(ts.max()) if len(ts) else None)


@dataclass(frozen=True)
class Events:
    """Canonical events: see the module docstring for the columns.

    ``only_events``: the frame holds only the rows of these event names (None: every usable row);
    ``log`` then describes all rows. Without ``log``, the frame is the whole log."""

    frame: pd.DataFrame
    sources: tuple[str, ...] = ()
    only_events: frozenset[str] | None = None
    log: LogSummary | None = None

    def __len__(self) -> int:
        return len(self.frame)

    @cached_property
    def summary(self) -> LogSummary:
        return self.log or LogSummary.of(self.frame)


def category_in(values: pd.Series, names: Iterable[str]) -> np.ndarray:
    """Per row of a categorical: is its value one of ``names``? (One lookup per category; missing: False.)"""
    return codes_in(values.cat.codes.to_numpy(), values.cat.categories, names)


def codes_in(codes: np.ndarray, categories: Sequence[str], names: Iterable[str]) -> np.ndarray:
    """Per code (into ``categories``, -1 for missing): is its category one of ``names``? A few names
    are compared for (a step's one event: 0.2 ms over 3.2M codes, where a lookup takes 6 ms)."""
    hit = pd.Index(categories).isin(list(names))
    found = np.flatnonzero(hit)
    if len(found) > 4:
        return np.append(hit, False).take(codes)
    if len(found) == 0:
        return np.zeros(len(codes), dtype=bool)
    mask = codes == int(found[0])
    for code in found[1:]:
        mask |= codes == int(code)
    return mask


def map_distinct(values: pd.Series, fn) -> tuple[np.ndarray, list]:
    """``fn`` applied once per distinct value (a log has millions of rows but few distinct values):
    per value a code into the distinct results, -1 where the value is missing or ``fn`` gives None."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    result_codes, results = pd.factorize(pd.Series([fn(v) for v in uniques], dtype=object), use_na_sentinel=True)
    return np.append(result_codes, -1)[codes], list(results)
