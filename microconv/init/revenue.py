"""The purchase's value: a numeric column, or a key inside JSON-object strings, set on most rows of
the macro conversion's events. Looked at only on those rows, because a ``price`` column is often
filled on product views too.
"""
from __future__ import annotations

import re

import pandas as pd

from ..load.paths import json_or_none
from .model import ColumnGuess
from .signatures import REVENUE_NAMES, squash


def guess_revenue(usable: pd.DataFrame, frames: list[pd.DataFrame], events: tuple[str, ...],
                   columns: ColumnGuess) -> str | None:
    """A numeric column (or a key inside JSON-object strings) set on most purchase rows."""
    rows = usable.loc[usable["event"].isin(events), ["frame", "row"]]
    if rows.empty:
        return None
    roles = set(columns.user + columns.anonymous + columns.event + columns.timestamp + columns.session)
    found: list[tuple[int, int, str]] = []  # (rank of the name, plain column before JSON key, path)
    for i, frame in enumerate(frames):
        picked = frame.iloc[rows.loc[rows["frame"] == i, "row"].to_numpy()[:2000]]
        if picked.empty:
            continue
        for col in picked.columns:
            if col in roles or _lifetime(col):
                continue
            if squash(col) in REVENUE_NAMES and _mostly_positive_numbers(picked[col]):
                found.append((REVENUE_NAMES.index(squash(col)), 0, str(col)))
            elif _json_objects(picked[col]):
                records = [v if isinstance(v, dict) else json_or_none(str(v)) for v in picked[col].dropna()]
                keys = {k for r in records if isinstance(r, dict) for k in r}
                for key in keys:
                    if squash(key) not in REVENUE_NAMES or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                        continue
                    values = pd.Series([r.get(key) if isinstance(r, dict) else None for r in records], dtype="object")
                    if _mostly_positive_numbers(values, len(picked)):
                        found.append((REVENUE_NAMES.index(squash(key)), 1, f"{col}.{key}"))
        if found:
            break
    return min(found)[2] if found else None


def _lifetime(name: object) -> bool:
    """A lifetime value (GA4's ``user_ltv``, ``lifetime_revenue``) sums a user's past orders: never
    the value of one purchase."""
    squashed = squash(name)
    return "ltv" in squashed or "lifetime" in squashed


def _mostly_positive_numbers(values: pd.Series, rows: int | None = None) -> bool:
    nums = pd.to_numeric(values.astype("object").where(values.notna(), None), errors="coerce")
    rows = rows or len(values)
    return rows > 0 and nums.notna().sum() >= 0.5 * rows and bool((nums.dropna() > 0).any())


def _json_objects(values: pd.Series) -> bool:
    """Mostly JSON-object strings (or objects already parsed, as Parquet structs and JSON Lines give them)."""
    present = values.dropna()
    if len(present) == 0 or present.dtype != object and not pd.api.types.is_string_dtype(present.dtype):
        return False
    return bool(present.map(lambda v: isinstance(v, dict) or str(v).lstrip().startswith("{")).mean() >= 0.5)
