"""Config matchers to per-event boolean masks (docs/semantics.md section 2)."""
from __future__ import annotations

import difflib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..config import Condition, Config, located_of
from ..config.model import EventMatch
from ..errors import Problem
from ..load.frame import category_in


def match_mask(frame: pd.DataFrame, match: EventMatch) -> np.ndarray:
    """True for events whose name is one of ``match.event`` and where every condition holds."""
    mask = category_in(frame["event"], event_names(match))
    for prop, cond in match.where.items():
        if not mask.any():
            break
        mask &= condition_mask(frame[prop], cond)
    return mask


def event_names(match: EventMatch) -> list[str]:
    """The event names a matcher reads (a session threshold without ``event`` reads page views)."""
    return getattr(match, "events", None) or match.event


def condition_mask(values: pd.Series, cond: Condition) -> np.ndarray:
    """Every operator in ``cond`` must hold; a missing value fails all but ``exists: false``."""
    present = values.notna().to_numpy()
    mask = np.ones(len(values), dtype=bool)
    for op in cond.model_fields_set:
        arg = getattr(cond, op)
        if op == "exists":
            mask &= present if arg else ~present
            continue
        mask &= present
        if op in ("eq", "ne", "in_", "not_in"):
            hit = _isin(values, [arg] if op in ("eq", "ne") else arg)
            mask &= hit if op in ("eq", "in_") else ~hit
        elif op == "contains":
            mask &= values.astype("string").str.contains(arg, regex=False, na=False).to_numpy(dtype=bool)
        elif op == "regex":
            mask &= regex_mask(values, arg)
        else:
            numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            with np.errstate(invalid="ignore"):
                mask &= {"gt": np.greater, "gte": np.greater_equal,
                         "lt": np.less, "lte": np.less_equal}[op](numbers, arg)
    return mask


def regex_mask(values: pd.Series, pattern: str) -> np.ndarray:
    """Where ``pattern`` matches anywhere in the value's text, by RE2, which runs in time linear in
    the text (Python's ``re``, which pandas falls back to for some patterns, backtracks: ``(a+)+$``
    takes hours on 40 characters). The config checked that RE2 compiles it. A categorical column
    is matched once per category."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        hit = _re2_search(pd.Series(values.cat.categories).astype("string"), pattern)
        return np.append(hit, False).take(values.cat.codes.to_numpy())
    return _re2_search(values.astype("string"), pattern)


def _re2_search(text: pd.Series, pattern: str) -> np.ndarray:
    found = pc.match_substring_regex(pa.array(text, type=pa.large_string(), from_pandas=True), pattern)
    return found.fill_null(False).to_numpy(zero_copy_only=False)


def _isin(values: pd.Series, wanted: list) -> np.ndarray:
    """Equality that treats 3, 3.0 and "3.0" alike and YAML true like JSON true (section 2)."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.isin([w for w in wanted if isinstance(w, bool)]).to_numpy(dtype=bool)
    numbers = [n for n in (_as_number(w) for w in wanted) if n is not None]
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.isin(numbers).to_numpy(dtype=bool)
    text = values.astype("string")
    hit = text.isin([_text(w) for w in wanted if not isinstance(w, bool)]).to_numpy(dtype=bool, na_value=False)
    flags = [str(w).lower() for w in wanted if isinstance(w, bool)]
    if flags:
        hit = hit | text.str.lower().isin(flags).to_numpy(dtype=bool, na_value=False)
    if numbers:
        hit = hit | pd.to_numeric(values, errors="coerce").isin(numbers).to_numpy(dtype=bool)
    return hit


def _as_number(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text(value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def unknown_event_names(config: Config, seen: pd.Index) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) for matchers none of whose event names occur in the data.

    A name that never occurs but closely resembles one that does is almost surely a typo and
    is an error; one with no look-alike may just be absent from this export and is a warning.
    Names listed as alternatives beside one that occurs are fine.
    """
    located = located_of(config)
    known = [str(c) for c in seen]
    errors, warnings = [], []
    for path, match in config.matchers():
        loc = (*path, "event")
        names = event_names(match)
        if any(name in seen for name in names):
            continue
        for i, name in enumerate(names):
            where = located.where(*loc, *([i] if located.has(*loc, i) else []), value=True)
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.75)
            implicit = match.event is None  # a session threshold counting page_view by default
            if close:
                errors.append(Problem(f"event {name!r} never occurs in the data", where,
                                      "did you mean " + " or ".join(map(repr, close)) + "?"
                                      + (" Name the page event with 'event:'" if implicit else "")))
            else:
                warnings.append(Problem(f"event {name!r} never occurs in the data", where,
                                        "a session threshold counts page_view events; name yours with 'event:'"
                                        if implicit else None))
    return errors, warnings
