"""Breakdowns: a funnel per segment of a property, each segment tested against the rest (8.2).

Marketers compare channels with few conversions; most differences are noise, so each segment
carries an interval, a test against the other entrants and a false-discovery correction.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..engine.attribution import attributed_rows
from ..engine.funnel import Replay, group_numbers, step_rows
from ..load.events import map_distinct
from .micro import ALPHA, MIN_EXPECTED, MIN_GROUP
from .results import MISSING, NOT_REACHED, OTHER, SEGMENT_COLUMNS, SEGMENT_STEP_COLUMNS, BreakdownResult

MIN_CELL = 5   # the chi-square test needs at least this many expected units in every cell, else Fisher


def breakdown(rep: Replay, values: pd.Series, *, funnel: str, label: str, by: str, attribution: str, top: int,
              step_names: Sequence[str]) -> BreakdownResult:
    """Split the counted units of ``rep`` by ``values`` (the property, per frame row)."""
    rows = attributed_rows(rep, attribution)
    found = rows >= 0
    text_code, texts = value_codes(values.iloc[rows[found]])
    names, codes = _segments(text_code, texts, found, top)
    numbers = group_numbers(rep, codes, len(names))
    head = {"funnel": funnel, "by": by, "attribution": attribution}
    steps = pd.DataFrame(
        [{**head, "segment": name, **vars(row)}
         for g, name in enumerate(names)
         for row in step_rows(numbers.counts[g], numbers.in_progress[g], numbers.medians[g], step_names)],
        columns=SEGMENT_STEP_COLUMNS + ["value_lost"],
    )[SEGMENT_STEP_COLUMNS]
    entrants, converted = numbers.counts[:, 0], numbers.counts[:, -1]
    tests = compare_with_rest(converted, entrants, testable=np.array([n != NOT_REACHED for n in names], dtype=bool))
    total = entrants.sum()
    segments = pd.DataFrame({
        **{k: [v] * len(names) for k, v in head.items()},
        "segment": names,
        "entrants": entrants,
        "share": entrants / total if total else np.nan,
        "converted": converted,
        **tests,
    })[SEGMENT_COLUMNS]
    return BreakdownResult(funnel, label, by, attribution, top, rep.units.kind, segments, steps)


def value_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Per value: a code into the distinct texts (-1 when missing); values are compared as text,
    numbers written without a needless ``.0`` (8.2.2). Text is made once per distinct value."""
    return map_distinct(values, _text)


def _text(value) -> str | None:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    text = str(value)
    return text if text.strip() else None   # blank is missing; the value itself is kept as written


def _segments(text_code: np.ndarray, texts: list[str], found: np.ndarray, top: int) -> tuple[list[str], np.ndarray]:
    """Segment names in listed order and a code per unit: the top values by units (ties by name),
    then (other), (missing), (not reached) when they occur."""
    counts = np.bincount(text_code[text_code >= 0], minlength=len(texts))
    ranked = sorted(range(len(texts)), key=lambda i: (-counts[i], texts[i]))
    kept = ranked if top == 0 else ranked[:top]
    missing = (text_code < 0).any()
    special = [(OTHER, len(kept) < len(ranked)), (MISSING, missing), (NOT_REACHED, not found.all())]
    names = [texts[i] for i in kept] + [name for name, occurs in special if occurs]
    index = {name: i for i, name in enumerate(names)}
    of_text = np.full(len(texts) + 1, index.get(MISSING, -1), dtype=np.int64)   # the extra slot: missing
    of_text[:len(texts)] = index.get(OTHER, -1)
    of_text[kept] = np.arange(len(kept))
    codes = np.full(len(found), index.get(NOT_REACHED, -1), dtype=np.int64)
    codes[found] = of_text[text_code]
    return names, codes


def compare_with_rest(converted: np.ndarray, entrants: np.ndarray, *, testable: np.ndarray) -> dict[str, np.ndarray]:
    """Per segment: rate with a Wilson interval, the rest's rate, a test against the rest and
    Benjamini-Hochberg over the tested segments (8.2.4, 8.2.5)."""
    from scipy.stats import binomtest, chi2_contingency, false_discovery_control, fisher_exact

    total, total_converted = entrants.sum(), converted.sum()
    g = len(entrants)
    out = {k: np.full(g, np.nan) for k in ("rate", "rate_low", "rate_high", "rate_rest", "p_value", "p_adjusted")}
    out["test"] = np.full(g, "", dtype=object)
    too_small = np.zeros(g, dtype=bool)
    for i, (c, n) in enumerate(zip(converted.tolist(), entrants.tolist())):
        rest_n, rest_c = total - n, total_converted - c
        if n:
            out["rate"][i] = c / n
            ci = binomtest(c, n).proportion_ci(confidence_level=0.95, method="wilson")
            out["rate_low"][i], out["rate_high"][i] = ci.low, ci.high
        if rest_n:
            out["rate_rest"][i] = rest_c / rest_n
        too_small[i] = n < MIN_GROUP or rest_n < MIN_GROUP or n * total_converted / total < MIN_EXPECTED
        if not testable[i] or not n or not rest_n:
            continue
        table = np.array([[c, n - c], [rest_c, rest_n - rest_c]])
        expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
        if (expected >= MIN_CELL).all():
            out["p_value"][i], out["test"][i] = chi2_contingency(table, correction=False).pvalue, "chi2"
        else:
            out["p_value"][i], out["test"][i] = fisher_exact(table).pvalue, "fisher"
    tested = ~np.isnan(out["p_value"])
    if tested.any():
        out["p_adjusted"][tested] = false_discovery_control(out["p_value"][tested])
    out["significant"] = (out["p_adjusted"] < ALPHA) & ~too_small
    out["too_small"] = too_small & testable
    return out
