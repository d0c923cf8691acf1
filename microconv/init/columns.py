"""Which columns are the user, the event, the timestamp, the session and the breakdown candidates.

By name first (the export signatures of :mod:`.signatures`), then by content: the timestamp is the
column whose values parse as plausible dates or epoch numbers, the event the low-cardinality text
column with the most spread-out repeated values, the user the id-like column with the most distinct
values that is not nested inside a coarser one (a session id is). Names beat content because
content heuristics can be fooled by a lookalike column; names rarely are.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError
from ..load.timestamps import parse_timestamps
from .model import ColumnGuess

SAMPLE_USER = "$user"     # in a sample frame: the known id, else the anonymous one (semantics 1.9)
from .signatures import (DATE_NAMES, EVENT_NAMES, SEGMENT_WORDS, SESSION_NAMES, TIMESTAMP_NAMES, USER_NAMES,
                         normalize_event_name, squash)


@dataclass
class _Column:
    name: str
    values: pd.Series          # non-null values, as read
    rows: int
    text: bool                 # values are strings
    numeric: pd.Series | None  # the values as numbers, when (nearly) all are numbers
    distinct: int

    @property
    def present(self) -> float:
        return len(self.values) / self.rows if self.rows else 0.0


def _profile(frame: pd.DataFrame) -> list[_Column]:
    out = []
    for name in frame.columns:
        series = frame[name]
        values = series.dropna()
        if len(values) and isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype("object")
        if len(values) == 0:
            continue
        if values.dtype == object and not values.iloc[:2000].map(lambda v: isinstance(v, (str, int, float))).all():
            continue  # nested (JSON objects, lists): not a candidate for any role
        if pd.api.types.is_bool_dtype(values.dtype):
            continue
        text = not (pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_datetime64_any_dtype(values.dtype))
        numeric = None
        if not text:
            numeric = values if pd.api.types.is_numeric_dtype(values.dtype) else None
        else:
            values = values.astype(str).str.strip()
            values = values[values != ""]
            if len(values) == 0:
                continue
            head = values.iloc[:2000]
            if head.str.fullmatch(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?").mean() >= 0.95:
                numeric = pd.to_numeric(values, errors="coerce")
        out.append(_Column(str(name), values, len(series), text, numeric, int(values.nunique())))
    return out


def _timestamp_share(col: _Column) -> float:
    """The share of a head sample that parses as a timestamp between 1990 and 2100."""

    head = col.values.iloc[:2000]
    if col.text and col.numeric is None:
        dated = head.str.contains(r"(?:19|20)\d\d|\d{1,2}[/.-]\d{1,2}[/.-]\d{2}", regex=True).mean()
        if dated < 0.9:  # a date must be there: "12:30:00" alone would parse as today
            return 0.0
    elif col.numeric is not None:
        head = col.numeric.iloc[:2000].dropna()
        if len(head) == 0 or (head < 0).any():
            return 0.0
    try:
        ts, _ = parse_timestamps(head.reset_index(drop=True), None, "UTC")
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        return 0.0
    ok = ts.notna() & (ts.dt.year >= 1990) & (ts.dt.year <= 2100)
    return float(ok.mean()) if len(ts) else 0.0


def _looks_structured(col: _Column) -> bool:
    """URLs, JSON objects and long free text are never an event name or a user id."""
    if not col.text:
        return False
    head = col.values.iloc[:500]
    return bool(head.str.match(r"^(?:\{|\[|[a-z][a-z0-9+.-]*://)").mean() > 0.5 or head.str.len().median() > 80)


def _by_name(cols: list[_Column], names: Sequence[str], accept) -> _Column | None:
    ranked = sorted((c for c in cols if squash(c.name) in names), key=lambda c: names.index(squash(c.name)))
    good = [c for c in ranked if accept(c)]
    if good:
        return good[0]
    return None


def guess_columns(frame: pd.DataFrame, *, where: str = "<frame>") -> ColumnGuess:
    """The user, event, timestamp and session columns of one sample (and revenue, breakdown candidates).

    Raises:
        DataError: no column looks like a timestamp, an event name or a user id.
    """
    cols = _profile(frame)
    how: dict[str, str] = {}

    strong = [n for n in TIMESTAMP_NAMES if n not in DATE_NAMES]
    ts = _by_name(cols, strong, lambda c: c.present >= 0.5 and _timestamp_share(c) >= 0.9)
    how["timestamp"] = "name"
    if ts is None:  # a column of dates only wins by its name unless another column has finer times
        dated = [c for c in cols if c.present >= 0.5 and _timestamp_share(c) >= 0.9]
        ts = max(dated, key=lambda c: (c.distinct, squash(c.name) in DATE_NAMES), default=None)
        how["timestamp"] = "name" if ts is not None and squash(ts.name) in DATE_NAMES else "content"
    if ts is None:
        raise DataError(f"no column looks like a timestamp (columns: {', '.join(map(str, frame.columns))})",
                        where=where, hint="expected ISO-8601 date-times or epoch numbers; write the config by hand "
                                          "and set columns.timestamp (see funnels.example.yaml)")
    rest = [c for c in cols if c is not ts]

    event = _by_name(rest, EVENT_NAMES, lambda c: c.text and c.present >= 0.5 and not _looks_structured(c))
    how["event"] = "name"
    if event is None:
        event = _event_by_content(rest)
        how["event"] = "content"
    if event is None:
        raise DataError(f"no column looks like an event name (columns: {', '.join(map(str, frame.columns))})",
                        where=where, hint="expected a text column with a few names repeated often; write the config "
                                          "by hand and set columns.event (see funnels.example.yaml)")
    rest = [c for c in rest if c is not event]

    session = _by_name(rest, SESSION_NAMES, lambda c: c.present >= 0.5 and not _looks_structured(c))
    user_pool = [c for c in rest if c is not session]
    rejected: list[str] = []
    while True:                 # the best candidate, unless it identifies events or counts visits
        user = _by_name(user_pool, USER_NAMES, lambda c: c.present >= 0.5 and _id_like(c))
        how["user"] = "name"
        if user is None:
            user = _user_by_content(user_pool)
            how["user"] = "content"
        why = not_a_user(user) if user is not None else None
        if why is None:
            break
        rejected.append(f"{user.name!r} {why}")
        user_pool = [c for c in user_pool if c is not user]
    if user is None:
        raise DataError(f"no column looks like a user id (columns: {', '.join(map(str, frame.columns))})"
                        + "".join(f"; not {why}" for why in rejected),
                        where=where, hint="write the config by hand and set columns.user (see funnels.example.yaml)")
    rest = [c for c in rest if c is not user and c is not session]
    return ColumnGuess(
        user=[user.name], event=[event.name], timestamp=[ts.name], session=[session.name] if session else [],
        revenue=None, segments=_segments(rest), how=how, rejected=rejected,
    )


def segments_of(frame: pd.DataFrame, roles: Iterable[str]) -> list[str]:
    """Breakdown candidates among the columns that play no role (for an export's mapping)."""
    taken = set(roles)
    return _segments([c for c in _profile(frame) if c.name not in taken and "." not in c.name])


def not_a_user(col: _Column) -> str | None:
    """Why a column that could pass for ids is no user id: it identifies events (nearly one value
    per row: Snowplow's event_fingerprint), or it counts visits (small integers, the lowest the
    most common: Snowplow's domain_sessionidx). None when it may be one."""
    if len(col.values) >= 50 and col.distinct >= 0.95 * len(col.values):
        return f"identifies events: {col.distinct:,} distinct values in {len(col.values):,} rows"
    nums = col.numeric.dropna() if col.numeric is not None else None
    if nums is not None and len(nums) >= 20 and (nums == np.floor(nums)).all() and nums.min() >= 0:
        counts = nums.value_counts()
        if nums.max() <= 1000 and counts.index[0] == nums.min() and counts.iloc[0] >= 0.2 * len(nums):
            return (f"counts visits: small whole numbers ({int(nums.min())}..{int(nums.max())}), "
                    f"{int(nums.min())} the most common")
    return None


def _id_like(col: _Column) -> bool:
    """Whole numbers, or short text without spaces (``u0042``, GA4's ``1234.1700000000``); not dates."""
    if not col.text:
        nums = col.numeric.dropna() if col.numeric is not None else None
        return nums is not None and len(nums) > 0 and bool((nums == np.floor(nums)).all())
    if _looks_structured(col) or _day_numbers(col):
        return False
    head = col.values.iloc[:2000]
    return bool(head.str.contains(r"\s").mean() < 0.05 and head.str.len().max() <= 100)


def _day_numbers(col: _Column) -> bool:
    """Days written as numbers (GA4's event_date ``20240131``): not an id, and not a timestamp the engine
    can read (it would take them for epoch seconds)."""
    head = col.values.iloc[:2000].astype(str)
    return bool(head.str.fullmatch(r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])").mean() >= 0.9)


def _entropy(values: pd.Series) -> float:
    p = values.value_counts(normalize=True).to_numpy()
    return float(-(p * np.log(p)).sum())


def _event_by_content(cols: list[_Column]) -> _Column | None:
    """The text column of repeated names: 2..1000 distinct values, each seen 5 times on average,
    with the most spread-out counts (highest entropy: an event column has more names than a device)."""
    candidates = [c for c in cols if c.text and c.numeric is None and c.present >= 0.9 and not _looks_structured(c)
                  and 2 <= c.distinct <= 1000 and c.distinct * 5 <= len(c.values) and _timestamp_share(c) < 0.5]
    if not candidates:
        return None
    return max(candidates, key=lambda c: _entropy(c.values))


def _user_by_content(cols: list[_Column]) -> _Column | None:
    """The id-like column with the most distinct values that repeat (users have several events) and
    that is not nested inside a coarser id column (every session belongs to one user)."""
    candidates = [c for c in cols if c.present >= 0.9 and _id_like(c) and not _day_numbers(c)
                  and _timestamp_share(c) < 0.5 and 2 <= c.distinct < len(c.values)]
    candidates = [c for c in candidates if c.distinct > 20 or c.distinct * 2 <= len(c.values)]
    candidates.sort(key=lambda c: -c.distinct)
    for i, col in enumerate(candidates):
        coarser = [d for d in candidates[i + 1:] if d.distinct >= max(2, col.distinct // 50)]
        if not any(_nested(col, d) for d in coarser):
            return col
    return None


def _nested(fine: _Column, coarse: _Column) -> bool:
    both = pd.DataFrame({"f": fine.values, "c": coarse.values}).dropna()
    return len(both) > 0 and bool(both.groupby("f")["c"].nunique().max() == 1) and coarse.distinct < fine.distinct


def _segments(cols: list[_Column]) -> list[str]:
    """Low-cardinality text columns worth a breakdown, the ones named like a channel or device first."""
    found = [c for c in cols if c.text and c.numeric is None and 2 <= c.distinct <= 50 and c.present >= 0.5
             and not _looks_structured(c) and c.distinct * 5 <= len(c.values)]

    def rank(c: _Column):
        words = re.split(r"[^0-9a-z]+", normalize_event_name(c.name))
        named = next((i for i, w in enumerate(SEGMENT_WORDS) if w in words), len(SEGMENT_WORDS))
        return (named, c.distinct)
    return [c.name for c in sorted(found, key=rank)][:3]


def merge_guesses(guesses: list[ColumnGuess]) -> ColumnGuess:
    def union(lists: Iterable[list[str]]) -> list[str]:
        return list(dict.fromkeys(n for names in lists for n in names))
    first = guesses[0]
    return ColumnGuess(
        user=union(g.user for g in guesses), event=union(g.event for g in guesses),
        timestamp=union(g.timestamp for g in guesses), session=union(g.session for g in guesses),
        revenue=None, segments=first.segments, how=first.how,
    )


def add_header_aliases(columns: ColumnGuess, header: Sequence[str]) -> None:
    """A file outside the sample that names a role differently: add its name by the name lists."""
    for role, names in (("user", USER_NAMES), ("event", EVENT_NAMES), ("timestamp", TIMESTAMP_NAMES),
                        ("session", SESSION_NAMES)):
        aliases = getattr(columns, role)
        if (role == "session" and not aliases) or any(a in header for a in aliases):
            continue
        ranked = sorted((h for h in header if squash(h) in names), key=lambda h: names.index(squash(h)))
        if ranked:
            aliases.append(ranked[0])


def roles_in(frame: pd.DataFrame, columns: ColumnGuess) -> dict[str, str | None]:
    """The sample frame's column per role; with anonymous ids, the user is their join (init.exports)."""
    present = set(frame.columns)
    roles = {role: next((a for a in getattr(columns, role) if a in present), None)
             for role in ("user", "event", "timestamp")}
    if columns.anonymous and SAMPLE_USER in present:
        roles["user"] = SAMPLE_USER
    return roles
