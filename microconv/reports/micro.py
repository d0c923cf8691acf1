"""Micro-conversions against the macro goal (docs/semantics.md 7).

For each milestone and secondary conversion: how many users did it before their first macro
conversion, how the macro rate of those users compares with everyone else's, whether that
difference is more than noise, what it adds to the macro's value, and what it means with the
others held fixed (the joint model); per segment and per cohort period, the conversions' rates
and the macro rate expected from them (the early read). The partial holds users per cell of
conversions done (micro_cells.py) and the payers' values: tests, corrections, the model and the
sums are made once, in :func:`finalize`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import Config, located_of
from ..engine.conversions import NEVER, EventIndex
from ..engine.sums import exact_sum
from ..errors import ConfigError, did_you_mean
from ..engine.distinct import distinct
from .breakdown import SEPARATOR
from .micro_cells import Cells
from .micro_groups import period_rows, segment_groups, segment_rows, user_cohorts, user_segments
from .micro_model import Fit, fit
from .results import MICRO_COLUMNS, MicroReport
from .stats import ALPHA, adjust, relative_risk, too_few, wilson


def macro_goal(config: Config, macro: str | None) -> str | None:
    """The macro conversion to measure against: ``macro``, else the first ``kind: macro`` one."""
    macros = [name for name, c in config.conversions.items() if c.kind == "macro"]
    if macro is None:
        return macros[0] if macros else None
    if macro not in macros:
        raise ConfigError(f"{macro!r} is not a macro conversion", where=located_of(config).file,
                          hint=did_you_mean(macro, macros, what="macro conversions"))
    return macro


@dataclass(frozen=True)
class MicroContext:
    """What the micro report is asked for: the goal, and optionally segments (``by``, the ``top``
    values, tested against ``control`` or the rest) and cohort periods (``period`` in
    ``timezone``, open until they end at ``last_ts``)."""

    macro: str
    by: tuple[str, ...] = ()
    top: int = 10
    control: str | None = None
    period: str | None = None
    timezone: str = "UTC"
    last_ts: int = 0


@dataclass(frozen=True, eq=False)
class MicroPartial:
    """Users per (group, conversions done before their first macro conversion), as cells
    (micro_cells.py): ``cells`` over everyone, ``segments`` per segment text (``texts``; then the
    missing), ``periods`` per cohort (``ordinals``); the summed macro value of each paying user
    who did each conversion (``paid``, summed exactly in finalize); every macro event's value."""

    macro: str
    names: tuple[str, ...]
    cells: Cells
    paid: tuple[np.ndarray, ...] | None
    population: int
    values: np.ndarray | None
    segments: Cells | None = None
    texts: tuple[tuple[str, ...], ...] = ()
    periods: Cells | None = None
    ordinals: np.ndarray | None = None

    @property
    def converters(self) -> int:
        return int(self.cells.converters.sum())


def partial(config: Config, index: EventIndex, ctx: MicroContext | str, population: int | None = None) -> MicroPartial:
    """Each user's micro-conversions before their first macro conversion, and whether they converted.

    ``population``: users in the whole log, when the frame holds only the rows of the events
    the conversions match; the users it lacks did none of them (default: the frame's users).
    Segments and periods need every row (each user's first value, first event)."""
    ctx = MicroContext(ctx) if isinstance(ctx, str) else ctx
    macro = ctx.macro
    present = index.users_with()
    in_frame = int(np.count_nonzero(present))
    population = in_frame if population is None else population
    if population < in_frame:
        raise ValueError(f"population {population} is smaller than the {in_frame} users of the frame")
    if population > in_frame and (ctx.by or ctx.period):
        raise ValueError("micro-conversion segments and periods need every row of the log")
    # Per user code. Users without a row here did nothing, like the users the frame lacks: both are
    # counted from the population, not given a slot each.
    goal = index.first_by_user(macro)
    converted = goal < NEVER
    payers, values = _revenue(index, macro, config.conversions[macro].value)
    names = [name for name, conv in config.conversions.items() if conv.kind != "macro"]
    done = index.done_before(names, goal)      # the same as first_by_user(name) < goal, in half the time
    did = [users[present] for users in done]
    paid = [payers.amounts[users.take(payers.payers)] for users in done] if payers is not None else []
    converted = converted[present]
    cells = Cells.of(did, converted, absent=population - in_frame)
    segments = periods = ordinals = None
    texts: tuple = ()
    if ctx.by:
        codes, texts = user_segments(index, index.frame[list(ctx.by)])
        codes = codes[present]
        segments = Cells.of(did, converted, np.where(codes < 0, len(texts), codes))
    if ctx.period:
        cohort = user_cohorts(index, ctx.period, ctx.timezone)[present]
        ordinals = distinct(cohort)
        periods = Cells.of(did, converted, np.searchsorted(ordinals, cohort))
    return MicroPartial(macro, tuple(names), cells, tuple(paid) if payers is not None else None, population,
                        values, segments, texts, periods, ordinals)


def merge(a: MicroPartial, b: MicroPartial) -> MicroPartial:
    segments, texts = a.segments, a.texts
    if a.segments is not None:
        texts = tuple(dict.fromkeys((*a.texts, *b.texts)))
        where = {t: i for i, t in enumerate(texts)}

        def onto(p: MicroPartial) -> Cells:
            return p.segments.regroup(np.array([*(where[t] for t in p.texts), len(texts)], dtype=np.int64))

        segments = onto(a) + onto(b)
    periods, ordinals = a.periods, a.ordinals
    if a.periods is not None:
        ordinals = np.union1d(a.ordinals, b.ordinals)
        periods = (a.periods.regroup(np.searchsorted(ordinals, a.ordinals))
                   + b.periods.regroup(np.searchsorted(ordinals, b.ordinals)))
    return MicroPartial(a.macro, a.names, a.cells + b.cells,
                        None if a.paid is None else tuple(np.concatenate([x, y]) for x, y in zip(a.paid, b.paid)),
                        a.population + b.population,
                        None if a.values is None else np.concatenate([a.values, b.values]),
                        segments, texts, periods, ordinals)


def finalize(p: MicroPartial, config: Config, ctx: MicroContext | None = None) -> MicroReport:
    """Compare each micro-conversion's users with the rest on their macro rate (7.1-7.3), fit
    the joint model (7.5), and make the segment and period rows (7.6, 7.7)."""
    ctx = ctx or MicroContext(p.macro)
    values = p.values
    # Summed exactly: the values of a merge come in partition order, and a float sum in another
    # order can differ in its last digit (engine/sums.py).
    average = (exact_sum(values) / int(np.count_nonzero(~np.isnan(values)))
               if values is not None and np.isfinite(values).any() else None)
    did, both = (x[0] for x in p.cells.per_conversion(1))
    converters = p.converters
    implied = (both == converters) & (converters > 0)
    rows = [_row(name, config.conversions[name], int(n1), int(a), bool(imp), p, average,
                 exact_sum(p.paid[i]) if p.paid is not None else np.nan)
            for i, (name, n1, a, imp) in enumerate(zip(p.names, did, both, implied))]
    frame = pd.DataFrame(rows)
    frame["share"], frame["share_low"], frame["share_high"] = wilson(did, np.full(len(did), p.population))
    for column, values_ in zip(("macro_rate", "macro_rate_low", "macro_rate_high"),
                               wilson(np.array([converters]), np.array([p.population]))):
        frame[column] = float(values_[0])          # the population's, the same on every overall row
    frame["p_adjusted"] = adjust(frame["p_value"].to_numpy(dtype=float))
    frame["significant"] = (frame["p_adjusted"] < ALPHA) & ~frame["too_few"] & ~frame["implied"]
    candidates = ~implied & (both > 0) & (both < did)
    model = fit(p.cells, candidates)
    if model is not None:
        for column, values_ in model.odds_ratios(len(p.names)).items():
            frame[column] = values_
        frame["adjusted_significant"] = (adjust(frame["adjusted_p"].to_numpy(dtype=float)) < ALPHA) & ~frame["too_few"]
    else:
        for column in ("adjusted_odds_ratio", "adjusted_low", "adjusted_high", "adjusted_p"):
            frame[column] = np.nan
        frame["adjusted_significant"] = False
    note = _model_note(p.names, implied, did, both, candidates, model)
    base = frame[["conversion", "kind", "label", "macro", "implied"]]
    segments = periods = None
    control_label = ctx.control
    segment_note = None
    if p.segments is not None:
        early, segment_note = _segment_model(p, candidates, model)
        cells, labels, control = segment_groups(p.segments, p.texts, ctx.top, ctx.control)
        segments = _rows_of(base, segment_rows(cells, labels, control, early))
    if p.periods is not None and p.ordinals is not None and len(p.ordinals):
        periods = _rows_of(base, period_rows(p.periods, p.ordinals, model, ctx.period, ctx.timezone, ctx.last_ts))
    return MicroReport(p.macro, p.population, converters, average, _complete(frame), segments, periods,
                       SEPARATOR.join(ctx.by) if ctx.by else None, control_label, ctx.period, note, segment_note)


def micro_report(config: Config, index: EventIndex, macro: str | MicroContext, population: int | None = None) -> MicroReport:
    """One pass: :func:`finalize` of :func:`partial`."""
    ctx = MicroContext(macro) if isinstance(macro, str) else macro
    return finalize(partial(config, index, ctx, population), config, ctx)


def _row(name, conv, n1: int, a: int, implied: bool, p: MicroPartial, average: float | None, revenue: float) -> dict:
    """One conversion's numbers over everyone; the population's other users did neither. An
    implied conversion (every converter did it) has no lift and no test: it is on the way."""
    population = p.population
    n0 = population - n1
    c = p.converters - a
    with_rate = a / n1 if n1 else np.nan
    without = c / n0 if n0 else np.nan
    pvalue, lift, low, high = (np.nan,) * 4 if implied else relative_risk(a, n1, c, n0)
    return {
        "conversion": name, "kind": conv.kind, "label": conv.label or name, "population": population,
        "users": n1, "macro": p.macro,
        "macro_rate_with": with_rate, "macro_rate_without": without,
        "lift": lift, "lift_low": low, "lift_high": high, "p_value": pvalue,
        "too_few": too_few(n1, n0, a + c, population), "implied": implied,
        "incremental_value": (with_rate - without) * average if average is not None and not implied else np.nan,
        "value_per_user_with": with_rate * average if average is not None else np.nan,
        "revenue": revenue,
    }


def _rows_of(base: pd.DataFrame, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Group rows with their conversion's name, kind, label, macro and implied flag."""
    k = columns.pop("k")
    frame = base.iloc[k].reset_index(drop=True)
    return _complete(pd.concat([frame, pd.DataFrame(columns)], axis=1))


def _complete(frame: pd.DataFrame) -> pd.DataFrame:
    """Every MICRO_COLUMNS column, in order; those a kind of row lacks are empty (None / NaN)."""
    for column in MICRO_COLUMNS:
        if column not in frame:
            frame[column] = None if column in ("segment", "period", "open") else np.nan
    return frame[MICRO_COLUMNS]


def _segment_model(p: MicroPartial, candidates: np.ndarray, model: Fit | None) -> tuple[Fit | None, str | None]:
    """The model of the early read by segment (7.6.6): without the conversions that stand for the
    segment -- in every segment all of its users did it, or none did (a conversion defined by the
    ``by`` property itself, like "came from a paid channel" on a split by source). Kept, such a
    conversion carries the segment's own observed rate into its "prediction"."""
    groups = len(p.texts) + 1
    users, _ = p.segments.per_group(groups)
    did, _ = p.segments.per_conversion(groups)
    seen = users > 0
    determined = ((did[seen] == 0) | (did[seen] == users[seen][:, None])).all(axis=0) & (did.sum(axis=0) > 0)
    determined &= seen.sum() > 1
    if not (determined & candidates).any():
        return model, None
    names = ", ".join(n for n, d in zip(p.names, determined & candidates) if d)
    return (fit(p.cells, candidates & ~determined),
            f"the early read leaves out {names}: in each segment all of its users did it or none did")


def _model_note(names, implied, did, both, candidates, model: Fit | None) -> str | None:
    """Which conversions the joint model leaves out, by reason; or why it has no estimate."""
    reasons: dict[str, list[str]] = {}
    for k, (name, imp, n, a, cand) in enumerate(zip(names, implied, did, both, candidates)):
        why = ("implied" if imp else "nobody did it" if not n else "no converter did it" if not a
               else "everyone who did it converted" if a == n
               else "the same users as conversions before it" if cand and model is not None and k not in model.terms
               else None)
        if why:
            reasons.setdefault(why, []).append(name)
    if model is None and candidates.any():
        return "the joint model has no estimate (it did not converge, or a conversion separates converters perfectly)"
    return ("not in the joint model: " + "; ".join(f"{', '.join(n)} ({why})" for why, n in reasons.items())
            if reasons else None)


@dataclass(frozen=True)
class _Payers:
    """The users whose macro events carry a value (few among all): their codes and summed value."""

    payers: np.ndarray
    amounts: np.ndarray


def _revenue(index: EventIndex, macro: str, value: str | None) -> tuple[_Payers | None, np.ndarray | None]:
    """The users' summed ``value`` of their macro events; and the value of every macro event."""
    if value is None:
        return None, None
    frame = index.frame
    hit = np.flatnonzero(index.mask(macro))
    amounts = index.numbers(value)[hit]
    per_user = np.zeros(len(frame["user"].cat.categories))
    np.add.at(per_user, frame["user"].cat.codes.to_numpy()[hit], np.nan_to_num(amounts))
    payers = np.flatnonzero(per_user != 0)
    return _Payers(payers, per_user[payers]), amounts
