"""Micro-conversions against the macro goal (docs/semantics.md 7).

For each milestone and secondary conversion: how many users did it before their first macro
conversion, how the macro rate of those users compares with everyone else's, whether that
difference is more than noise, and what one such action is worth. The statistics come from
scipy (relative risk with its interval, Fisher's exact test, Benjamini-Hochberg), not from
formulas of our own.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import Config, located_of
from ..engine.conversions import NEVER, EventIndex
from ..engine.sums import exact_sum
from ..errors import ConfigError, did_you_mean
from .results import MICRO_COLUMNS, MicroReport

MIN_GROUP = 30       # users who did / did not do it (breakdowns: units in a segment / the rest)
MIN_EXPECTED = 5     # macro converters the smaller group would have at the overall rate
ALPHA = 0.05


def macro_goal(config: Config, macro: str | None) -> str | None:
    """The macro conversion to measure against: ``macro``, else the first ``kind: macro`` one."""
    macros = [name for name, c in config.conversions.items() if c.kind == "macro"]
    if macro is None:
        return macros[0] if macros else None
    if macro not in macros:
        raise ConfigError(f"{macro!r} is not a macro conversion", where=located_of(config).file,
                          hint=did_you_mean(macro, macros, what="macro conversions"))
    return macro


def micro_report(config: Config, index: EventIndex, macro: str, population: int | None = None) -> MicroReport:
    """Compare each micro-conversion's users with the rest, on their rate of reaching ``macro``.

    ``population``: users in the whole log, when the frame holds only the rows of the events
    the conversions match; the users it lacks did none of them (default: the frame's users)."""
    stats = _scipy_stats()

    in_frame = int(np.count_nonzero(index.users_with()))
    population = in_frame if population is None else population
    if population < in_frame:
        raise ValueError(f"population {population} is smaller than the {in_frame} users of the frame")
    # Per user code. Users without a row here did nothing, like the users the frame lacks: both are
    # counted from the population, not given a slot each.
    goal = index.first_by_user(macro)
    early = index.before(goal)          # events before their user's first macro conversion
    converted = goal < NEVER
    n_converted = int(np.count_nonzero(converted))
    revenue, average = _revenue(index, macro, config.conversions[macro].value)
    rows = []
    for name, conv in config.conversions.items():
        if conv.kind == "macro":
            continue
        did = index.users_with(index.mask(name) & early)     # the same as first_by_user(name) < goal, in half the time
        rows.append(_row(name, conv, did, converted, population, n_converted, revenue, average, macro))
    frame_rows = pd.DataFrame(rows, columns=[c for c in MICRO_COLUMNS if c != "p_adjusted"])
    p = frame_rows["p_value"].to_numpy(dtype=float)
    adjusted = np.full(len(p), np.nan)
    valid = ~np.isnan(p)
    if valid.any():
        adjusted[valid] = stats.false_discovery_control(p[valid], method="bh")
    frame_rows.insert(MICRO_COLUMNS.index("p_adjusted"), "p_adjusted", adjusted)
    frame_rows["significant"] = (frame_rows["p_adjusted"] < ALPHA) & ~frame_rows["too_few"]
    return MicroReport(macro, population, n_converted, average, frame_rows[MICRO_COLUMNS])


def _scipy_stats():
    """scipy.stats, imported here, not at start-up: it costs ~0.5 s of CPU, which here overlaps the
    funnels' numpy work in the other engine thread."""
    from scipy import stats
    return stats


def _row(name, conv, did, converted, population, n_converted, revenue, average, macro) -> dict:
    """One conversion's numbers: ``did`` and ``converted`` per user code; the population's other
    users did neither."""
    from scipy import stats

    n1 = int(np.count_nonzero(did))
    n0 = population - n1
    a = int(np.count_nonzero(did & converted))
    c = n_converted - a
    with_rate = a / n1 if n1 else np.nan
    without = c / n0 if n0 else np.nan
    lift = low = high = p = np.nan
    if n1 and n0:
        p = float(stats.fisher_exact([[a, n1 - a], [c, n0 - c]]).pvalue)
        if c:
            rr = stats.contingency.relative_risk(a, n1, c, n0)
            lift = float(rr.relative_risk)
            if a:
                ci = rr.confidence_interval(0.95)
                low, high = float(ci.low), float(ci.high)
        elif a:
            lift, high = np.inf, np.inf  # every converter did it first: a necessary step, no finite ratio
    return {
        "conversion": name, "kind": conv.kind, "label": conv.label or name, "users": n1,
        "share": n1 / population if population else np.nan, "macro": macro,
        "macro_rate_with": with_rate, "macro_rate_without": without,
        "lift": lift, "lift_low": low, "lift_high": high, "p_value": p, "significant": False,
        "too_few": min(n1, n0) < MIN_GROUP or min(n1, n0) * (a + c) / population < MIN_EXPECTED,
        "value_per_conversion": with_rate * average if average is not None else np.nan,
        "revenue": exact_sum(revenue.amounts[did.take(revenue.payers)]) if revenue is not None else np.nan,
    }


@dataclass(frozen=True)
class _Payers:
    """The users whose macro events carry a value (few among all): their codes and summed value."""

    payers: np.ndarray
    amounts: np.ndarray


def _revenue(index: EventIndex, macro: str, value: str | None) -> tuple[_Payers | None, float | None]:
    """The users' summed ``value`` of their macro events; and the mean value per macro event."""
    if value is None:
        return None, None
    frame = index.frame
    hit = np.flatnonzero(index.mask(macro))
    amounts = index.numbers(value)[hit]
    per_user = np.zeros(len(frame["user"].cat.categories))
    np.add.at(per_user, frame["user"].cat.codes.to_numpy()[hit], np.nan_to_num(amounts))
    average = float(np.nanmean(amounts)) if np.isfinite(amounts).any() else None
    payers = np.flatnonzero(per_user != 0)
    return _Payers(payers, per_user[payers]), average
