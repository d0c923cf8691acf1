"""Breakdowns: a funnel per segment of one property or of a combination of several, each
segment tested against the rest (8.2).

Marketers compare channels with few conversions; most differences are noise, so each segment
carries an interval, a test against the other entrants and a false-discovery correction.

The partial counts per distinct combination of value texts (a tuple, one text per property; and
the missing and not-reached units), before any top-N cut: which values make the top depends on every shard's units, so segments, ``(other)``
and the tests are made in :func:`finalize` only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..engine.attribution import attributed_rows
from ..engine.funnel import Replay
from ..load.frame import map_distinct
from .funnel import FunnelContext, Tally
from .results import MISSING, NOT_REACHED, OTHER, SEGMENT_COLUMNS, SEGMENT_STEP_COLUMNS, BreakdownResult
from .stats import compare_with_rest


@dataclass(frozen=True)
class BreakdownContext:
    funnel: FunnelContext
    by: tuple[str, ...]           # the properties; their combinations are the segments
    attribution: str
    top: int

    @property
    def by_text(self) -> str:
        """The properties as the results name them: one name, or the names joined like a label."""
        return SEPARATOR.join(self.by)


@dataclass(frozen=True, eq=False)
class BreakdownPartial:
    """A :class:`Tally` with one group per combination of value texts (``texts`` order, each a
    tuple with one text per property), then the units whose attributed event lacked a value of
    any of the properties, then those that did not reach the attributed step."""

    unit: str
    texts: tuple[tuple[str, ...], ...]
    tally: Tally


def partial(rep: Replay, values: pd.Series | pd.DataFrame, ctx: BreakdownContext) -> BreakdownPartial:
    """Split the counted units of ``rep`` by ``values`` (per frame row: the property, or a column
    per property of ``ctx.by``). Each property's texts get codes; the combinations of codes that
    occur are numbered with one ``np.unique`` over the stacked codes, never per unit."""
    frame = values.to_frame() if isinstance(values, pd.Series) else values
    present = None
    if ctx.attribution.endswith("_defined"):         # 8.2.1: the first/last event with every value
        present = np.logical_and.reduce([value_codes(frame.iloc[:, k])[0] >= 0 for k in range(frame.shape[1])])
    rows = attributed_rows(rep, ctx.attribution, present)
    found = rows >= 0
    coded = [value_codes(frame.iloc[rows[found], k]) for k in range(frame.shape[1])]
    stacked = np.stack([code for code, _ in coded], axis=1) if coded else np.zeros((0, 0), dtype=np.int64)
    complete = (stacked >= 0).all(axis=1)
    combos, combo_code = np.unique(stacked[complete], axis=0, return_inverse=True)
    texts = tuple(tuple(coded[k][1][c] for k, c in enumerate(combo)) for combo in combos)
    n = len(texts)
    groups = np.full(len(found), n + 1, dtype=np.int64)
    within = np.full(len(stacked), n, dtype=np.int64)
    within[complete] = combo_code.reshape(-1)
    groups[found] = within
    return BreakdownPartial(rep.kind, texts, Tally.of(rep, groups, n + 2))


def merge(a: BreakdownPartial, b: BreakdownPartial) -> BreakdownPartial:
    texts = tuple(dict.fromkeys((*a.texts, *b.texts)))
    n = len(texts)
    where = {t: i for i, t in enumerate(texts)}

    def onto(p: BreakdownPartial) -> Tally:
        return p.tally.regroup(np.array([*(where[t] for t in p.texts), n, n + 1], dtype=np.int64), n + 2)

    return BreakdownPartial(a.unit, texts, onto(a) + onto(b))


def finalize(p: BreakdownPartial, ctx: BreakdownContext) -> BreakdownResult:
    """Segments: the top values by units (ties by text), then (other), (missing), (not reached)
    when they occur; per segment its step rows and a test against the rest."""
    names, new, values = _segments(p, ctx.top)
    tally = p.tally.regroup(new, len(names))
    head = {"funnel": ctx.funnel.name, "by": ctx.by_text, "attribution": ctx.attribution}
    steps = pd.DataFrame(
        [{**head, "segment": name, **vars(row)} for name, rows in zip(names, tally.rows(ctx.funnel.step_names))
         for row in rows],
        columns=SEGMENT_STEP_COLUMNS + ["value_lost"],
    )[SEGMENT_STEP_COLUMNS]
    counts = tally.counts()
    entrants, converted = counts[:, 0], counts[:, -1]
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
    return BreakdownResult(ctx.funnel.name, ctx.funnel.label, ctx.by_text, ctx.attribution, ctx.top, p.unit, segments,
                           steps, ctx.by, values)


def value_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Per value: a code into the distinct texts (-1 when missing); values are compared as text,
    numbers written without a needless ``.0`` (8.2.2). Text is made once per distinct value."""
    return map_distinct(values, _text)


SEPARATOR = " · "


def label(texts: tuple[str, ...]) -> str:
    """A combination's segment name: its texts joined by " · ". A backslash or "·" inside a text
    is written after a backslash, so two different combinations never get the same name
    (("a · b", "c") is ``a \\· b · c``, ("a", "b · c") is ``a · b \\· c``); one property's name
    is its text as it is (the single-property output is unchanged)."""
    if len(texts) == 1:
        return texts[0]
    return SEPARATOR.join(t.replace("\\", "\\\\").replace("·", "\\·") for t in texts)


def _text(value) -> str | None:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    text = str(value)
    return text if text.strip() else None   # blank is missing; the value itself is kept as written


def _segments(p: BreakdownPartial, top: int) -> tuple[list[str], np.ndarray, tuple]:
    """Segment names in listed order, per group of ``p`` its segment, and per segment its texts
    (None for the pooled ones)."""
    n = len(p.texts)
    units = p.tally.at.sum(axis=1)
    ranked = sorted(range(n), key=lambda i: (-units[i], p.texts[i]))
    kept = ranked if top == 0 else ranked[:top]
    special = [(OTHER, len(kept) < n), (MISSING, units[n] > 0), (NOT_REACHED, units[n + 1] > 0)]
    names = [label(p.texts[i]) for i in kept] + [name for name, occurs in special if occurs]
    slot = {name: len(kept) + i for i, name in enumerate(name for name, occurs in special if occurs)}
    new = np.full(n + 2, -1, dtype=np.int64)      # -1: a group without units, in no segment
    new[:n] = slot.get(OTHER, -1)
    new[kept] = np.arange(len(kept))
    new[n], new[n + 1] = slot.get(MISSING, -1), slot.get(NOT_REACHED, -1)
    values = tuple(p.texts[i] for i in kept) + (None,) * (len(names) - len(kept))
    return names, new, values
