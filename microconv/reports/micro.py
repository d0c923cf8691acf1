"""Micro-conversions against the macro goal (docs/semantics.md 7).

For each milestone and secondary conversion: how many users did it before their first macro
conversion, how the macro rate of those users compares with everyone else's, whether that
difference is more than noise, and what one such action is worth (the statistics: stats.py).
The partial holds counts per conversion and the payers' values: the tests, the correction over
every conversion and the sums are made once, in :func:`finalize`.
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
from .stats import ALPHA, adjust, relative_risk, too_few


def macro_goal(config: Config, macro: str | None) -> str | None:
    """The macro conversion to measure against: ``macro``, else the first ``kind: macro`` one."""
    macros = [name for name, c in config.conversions.items() if c.kind == "macro"]
    if macro is None:
        return macros[0] if macros else None
    if macro not in macros:
        raise ConfigError(f"{macro!r} is not a macro conversion", where=located_of(config).file,
                          hint=did_you_mean(macro, macros, what="macro conversions"))
    return macro


@dataclass(frozen=True, eq=False)
class MicroPartial:
    """Per conversion (config order, ``names``): users who did it before their first macro
    conversion (``did``), those of them who converted (``both``), and the summed macro value of
    each of those users who paid (``paid``, summed exactly in finalize); the population, its
    converters, and every macro event's value (for the mean order value)."""

    macro: str
    names: tuple[str, ...]
    did: np.ndarray
    both: np.ndarray
    paid: tuple[np.ndarray, ...] | None
    population: int
    converters: int
    values: np.ndarray | None


def partial(config: Config, index: EventIndex, macro: str, population: int | None = None) -> MicroPartial:
    """Each micro-conversion's users and their macro conversions.

    ``population``: users in the whole log, when the frame holds only the rows of the events
    the conversions match; the users it lacks did none of them (default: the frame's users)."""
    in_frame = int(np.count_nonzero(index.users_with()))
    population = in_frame if population is None else population
    if population < in_frame:
        raise ValueError(f"population {population} is smaller than the {in_frame} users of the frame")
    # Per user code. Users without a row here did nothing, like the users the frame lacks: both are
    # counted from the population, not given a slot each.
    goal = index.first_by_user(macro)
    early = index.before(goal)          # events before their user's first macro conversion
    converted = goal < NEVER
    payers, values = _revenue(index, macro, config.conversions[macro].value)
    names, did, both, paid = [], [], [], []
    for name, conv in config.conversions.items():
        if conv.kind == "macro":
            continue
        users = index.users_with(index.mask(name) & early)     # the same as first_by_user(name) < goal, in half the time
        names.append(name)
        did.append(int(np.count_nonzero(users)))
        both.append(int(np.count_nonzero(users & converted)))
        if payers is not None:
            paid.append(payers.amounts[users.take(payers.payers)])
    return MicroPartial(macro, tuple(names), np.array(did, dtype=np.int64), np.array(both, dtype=np.int64),
                        tuple(paid) if payers is not None else None, population,
                        int(np.count_nonzero(converted)), values)


def merge(a: MicroPartial, b: MicroPartial) -> MicroPartial:
    return MicroPartial(a.macro, a.names, a.did + b.did, a.both + b.both,
                        None if a.paid is None else tuple(np.concatenate([x, y]) for x, y in zip(a.paid, b.paid)),
                        a.population + b.population, a.converters + b.converters,
                        None if a.values is None else np.concatenate([a.values, b.values]))


def finalize(p: MicroPartial, config: Config) -> MicroReport:
    """Compare each micro-conversion's users with the rest, on their rate of reaching the macro."""
    values = p.values
    average = float(np.nanmean(values)) if values is not None and np.isfinite(values).any() else None
    rows = [_row(name, config.conversions[name], int(n1), int(a), p, average,
                 exact_sum(p.paid[i]) if p.paid is not None else np.nan)
            for i, (name, n1, a) in enumerate(zip(p.names, p.did, p.both))]
    frame_rows = pd.DataFrame(rows, columns=[c for c in MICRO_COLUMNS if c != "p_adjusted"])
    adjusted = adjust(frame_rows["p_value"].to_numpy(dtype=float))
    frame_rows.insert(MICRO_COLUMNS.index("p_adjusted"), "p_adjusted", adjusted)
    frame_rows["significant"] = (frame_rows["p_adjusted"] < ALPHA) & ~frame_rows["too_few"]
    return MicroReport(p.macro, p.population, p.converters, average, frame_rows[MICRO_COLUMNS])


def micro_report(config: Config, index: EventIndex, macro: str, population: int | None = None) -> MicroReport:
    """One pass: :func:`finalize` of :func:`partial`."""
    return finalize(partial(config, index, macro, population), config)


def _row(name, conv, n1: int, a: int, p: MicroPartial, average: float | None, revenue: float) -> dict:
    """One conversion's numbers; the population's other users did neither."""
    population = p.population
    n0 = population - n1
    c = p.converters - a
    with_rate = a / n1 if n1 else np.nan
    without = c / n0 if n0 else np.nan
    pvalue, lift, low, high = relative_risk(a, n1, c, n0)
    return {
        "conversion": name, "kind": conv.kind, "label": conv.label or name, "users": n1,
        "share": n1 / population if population else np.nan, "macro": p.macro,
        "macro_rate_with": with_rate, "macro_rate_without": without,
        "lift": lift, "lift_low": low, "lift_high": high, "p_value": pvalue, "significant": False,
        "too_few": too_few(n1, n0, a + c, population),
        "value_per_conversion": with_rate * average if average is not None else np.nan,
        "revenue": revenue,
    }


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
