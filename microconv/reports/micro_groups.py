"""Who is in which group of the micro report (docs/semantics.md 7.6, 7.7), and the rows per
(conversion, segment) and (conversion, cohort period).

A user's segment is the first value of the ``--by`` properties among their events in time
order (the first event that has one: a campaign tag is often on the landing event only); their
cohort is the period of their first event. Both are per user, so a user is in one group only,
and the groups' cells add up to the whole report's.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine.conversions import EventIndex
from ..errors import OptionError, did_you_mean
from .breakdown import label, value_codes
from .micro_cells import Cells
from .micro_model import Fit
from .results import MISSING, OTHER
from .stats import ALPHA, MIN_GROUP, adjust, two_groups, wilson
from .trend import period_ordinals, period_range


def user_segments(index: EventIndex, values: pd.DataFrame) -> tuple[np.ndarray, tuple[tuple[str, ...], ...]]:
    """Per user code: the code of its segment in the returned texts (one text per property), or
    -1 when no event of the user has a value of every property. No sort of the log: the first
    valued event per user is the least (time, row) among its valued rows, two ``minimum.at``."""
    coded = [value_codes(values.iloc[:, k]) for k in range(values.shape[1])]
    key, sizes = coded[0][0].astype(np.int64), [len(coded[0][1])]
    for code, texts in coded[1:]:          # mixed radix: one int64 per combination of codes
        key = np.where((key >= 0) & (code >= 0), key * len(texts) + code, -1)
        sizes.append(len(texts))
    rows = np.flatnonzero(key >= 0)
    users = index.frame["user"].cat.codes.to_numpy()          # (int32: gathered below, not widened)
    first = _first_rows(users[rows], index.ts[rows], len(index.frame["user"].cat.categories))
    done = first >= 0
    combos, which = np.unique(key[rows[first[done]]], return_inverse=True)
    codes = np.full(len(first), -1, dtype=np.int64)
    codes[done] = which.reshape(-1)
    texts = []
    for combo in combos.tolist():
        parts = []
        for size, (_, names) in zip(reversed(sizes), reversed(coded)):
            combo, c = divmod(combo, size)
            parts.append(names[c])
        texts.append(tuple(reversed(parts)))
    return codes, tuple(texts)


def user_cohorts(index: EventIndex, period: str, timezone: str) -> np.ndarray:
    """Per user code: the ordinal of the period of the user's first event."""
    users = index.frame["user"].cat.codes.to_numpy()
    ts = index.ts
    first = np.full(len(index.frame["user"].cat.categories), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, users, ts)
    out = np.zeros(len(first), dtype=np.int64)
    seen = first < np.iinfo(np.int64).max
    out[seen] = period_ordinals(first[seen], period, timezone)
    return out


def _first_rows(users: np.ndarray, ts: np.ndarray, n: int) -> np.ndarray:
    """Per user code (``n``): the position of its least (time, position) entry, -1 for none."""
    never = np.iinfo(np.int64).max
    least = np.full(n, never, dtype=np.int64)
    np.minimum.at(least, users, ts)
    at = np.flatnonzero(ts == least[users])
    first = np.full(n, never, dtype=np.int64)
    np.minimum.at(first, users[at], at)
    return np.where(first == never, -1, first)


def segment_groups(cells: Cells, texts: tuple[tuple[str, ...], ...], top: int,
                   control: str | None) -> tuple[Cells, list[str], int | None]:
    """The segments shown: the ``top`` values with the most users (0: all) and the control, then
    ``(other)`` and ``(missing)`` where they have users. Groups of ``cells``: one per text, then
    the missing. Returns the regrouped cells, the labels, and the control's group."""
    names = [label(t) for t in texts]
    n = len(names)
    users, _ = cells.per_group(n + 1)
    ranked = sorted(range(n), key=lambda g: (-users[g], names[g]))
    chosen = ranked if not top else ranked[:top]
    wanted = None
    if control is not None:
        if control not in names:
            raise OptionError(f"--control {control!r} is not a segment of the micro report",
                              option="control", hint=did_you_mean(control, names, what="segments"))
        wanted = names.index(control)
        if wanted not in chosen:
            chosen = [*chosen, wanted]
    shown = [names[g] for g in chosen]
    mapping = np.full(n + 1, len(chosen), dtype=np.int64)       # everyone else: (other)
    mapping[chosen] = np.arange(len(chosen))
    rest = set(range(n)) - set(chosen)
    mapping[n] = len(chosen) + 1
    labels = [*shown, OTHER, MISSING]
    grouped = cells.regroup(mapping)
    sizes, _ = grouped.per_group(len(labels))
    keep = [g for g in range(len(labels)) if g < len(chosen) or (g == len(chosen) and rest) or sizes[g]]
    renumber = np.full(len(labels), -1, dtype=np.int64)
    renumber[keep] = np.arange(len(keep))
    return (grouped.regroup(renumber), [labels[g] for g in keep],
            None if wanted is None else int(renumber[chosen.index(wanted)]))


def segment_rows(cells: Cells, labels: list[str], control: int | None, fit: Fit | None) -> dict[str, np.ndarray]:
    """Columns of the (conversion, segment) rows, conversion-major, segments by early read."""
    g = len(labels)
    n, conv = cells.per_group(g)
    did, both = cells.per_conversion(g)
    expected = fit.expected(cells, g) if fit is not None else tuple(np.full(g, np.nan) for _ in range(3))
    rank = np.array(sorted(range(g), key=lambda i: (labels[i] in (OTHER, MISSING), labels[i] == MISSING,
                                                      -np.nan_to_num(expected[0][i], nan=-1.0), labels[i])))
    m = cells.m
    k_of = np.repeat(np.arange(m), g)
    g_of = np.tile(rank, m)
    col = _group_columns(n, conv, did, both, expected, k_of, g_of)
    col["segment"] = np.array(labels, dtype=object)[g_of]
    if control is None:
        rest_n, rest_did = n.sum() - n[g_of], did.sum(axis=0)[k_of] - did[g_of, k_of]
    else:
        rest_n, rest_did = np.full(len(g_of), n[control]), did[control, k_of]
    with np.errstate(invalid="ignore", divide="ignore"):
        col["share_rest"] = np.where(rest_n > 0, rest_did / np.maximum(rest_n, 1), np.nan)
    tested = (n[g_of] > 0) & (rest_n > 0) & (g_of != (-1 if control is None else control))
    p = np.full(len(g_of), np.nan)
    for i in np.flatnonzero(tested).tolist():      # one test per table row: conversions x segments
        p[i] = two_groups(int(did[g_of[i], k_of[i]]), int(n[g_of[i]]), int(rest_did[i]), int(rest_n[i]))[0]
    col["p_segment"] = p
    col["p_segment_adjusted"] = adjust(p)
    small = (n[g_of] < MIN_GROUP) | (rest_n < MIN_GROUP)
    col["segment_significant"] = (col["p_segment_adjusted"] < ALPHA) & ~small
    return col


def period_rows(cells: Cells, ordinals: np.ndarray, fit: Fit | None, period: str, timezone: str,
                last_ts: int) -> dict[str, np.ndarray]:
    """Columns of the (conversion, period) rows: every period from the first cohort to the last,
    empty ones too; ``open`` while the period had not ended at T."""
    first = int(ordinals[0])
    span = int(ordinals[-1]) - first + 1
    cells = cells.regroup((ordinals - first).astype(np.int64))
    starts, ended = period_range(first, span, period, timezone, last_ts)
    n, conv = cells.per_group(span)
    did, both = cells.per_conversion(span)
    expected = fit.expected(cells, span) if fit is not None else tuple(np.full(span, np.nan) for _ in range(3))
    k_of = np.repeat(np.arange(cells.m), span)
    g_of = np.tile(np.arange(span), cells.m)
    col = _group_columns(n, conv, did, both, expected, k_of, g_of)
    col["period"] = np.array(starts, dtype=object)[g_of]
    col["open"] = ~ended[g_of]
    return col


def _group_columns(n, conv, did, both, expected, k_of, g_of) -> dict[str, np.ndarray]:
    """The columns every group row has: its users, the conversion's share of them (Wilson), the
    macro rate with and without it inside the group, the group's macro rate observed and expected."""
    share, share_low, share_high = wilson(did[g_of, k_of], n[g_of])
    macro, macro_low, macro_high = wilson(conv[g_of], n[g_of])
    with_rate = wilson(both[g_of, k_of], did[g_of, k_of])[0]
    without = wilson(conv[g_of] - both[g_of, k_of], n[g_of] - did[g_of, k_of])[0]
    return {
        "k": k_of, "population": n[g_of], "users": did[g_of, k_of], "share": share, "share_low": share_low,
        "share_high": share_high, "macro_rate_with": with_rate, "macro_rate_without": without,
        "macro_rate": macro, "macro_rate_low": macro_low, "macro_rate_high": macro_high,
        "macro_expected": expected[0][g_of], "macro_expected_low": expected[1][g_of],
        "macro_expected_high": expected[2][g_of],
    }
