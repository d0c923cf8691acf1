"""The one-screen summary that ``analyze`` leads with in the terminal: per funnel its entrants,
conversion, largest drop-off and units in progress; the micro-conversions most associated with
the macro goal.

Derived from finalized results only (nothing here replays or counts events): the summary is a
view that needs a few numbers no single result carries (the drop-off's share of the step before,
a ranking of the micro rows), and renderers do not compute (house rule 2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .results import AnalysisResult, FunnelResult, MicroReport

TOP_MICRO = 5


@dataclass(frozen=True)
class FunnelLine:
    """One funnel in a line. ``drop_step`` is the step with the most units lost before it (None
    when nobody dropped), ``drop_share`` those lost as a share of the units that reached the
    required step before it (where they were when they stopped)."""

    name: str
    label: str
    unit: str
    entrants: int
    converted: int
    rate: float
    drop_step: int | None
    drop_name: str | None
    dropped: int
    drop_share: float
    in_progress: int
    excluded: int


@dataclass(frozen=True)
class Summary:
    """``micro`` holds the top rows of the micro report's ``rows`` (MICRO_COLUMNS) in rank order;
    ``implied`` the labels of the implied conversions, which are not ranked (every converter did
    them on the way: no lift, no test); ``ranked`` how many rows could be ranked in all."""

    funnels: tuple[FunnelLine, ...]
    events: int = 0
    users: int | None = None      # None: not counted
    macro: str | None = None
    population: int = 0
    converters: int = 0
    micro: pd.DataFrame | None = None
    implied: tuple[str, ...] = ()
    ranked: int = 0


def summarize(result: AnalysisResult, top: int = TOP_MICRO) -> Summary:
    """The summary of ``result``: a line per funnel with a step table, the ``top`` micro rows."""
    lines = tuple(funnel_line(f) for f in result.funnels)
    log = (result.meta.events, result.meta.users)
    m = result.micro
    if m is None:
        return Summary(lines, *log)
    ranked, implied = rank_micro(m)
    return Summary(lines, *log, m.macro, m.users, m.converters, ranked.head(top), implied, len(ranked))


def funnel_line(f: FunnelResult) -> FunnelLine:
    """Entrants, conversion and the largest drop-off of one funnel (docs/semantics.md 4.8: units in
    progress are not dropped, so the share lost is of those who reached the step before)."""
    last = f.steps[-1] if f.steps else None
    worst = f.largest_drop_step
    name, dropped, share = None, 0, float("nan")
    if worst is not None:
        step = f.steps[worst - 1]
        before = max((s for s in f.steps[:worst - 1] if s.step not in f.optional), key=lambda s: s.step,
                     default=f.steps[0])
        name, dropped = step.name, step.dropped
        share = step.dropped / before.users if before.users else float("nan")
    return FunnelLine(f.name, f.label, f.unit, f.entrants, last.users if last else 0,
                      last.rate_from_start if last else float("nan"), worst, name, dropped, share,
                      f.in_progress, f.excluded)


def rank_micro(m: MicroReport) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The micro rows that were tested, strongest association first: the significant ones
    before the rest, then by how far the lift is from 1 either way (``|log lift|``: a 0.5× is as
    strong as a 2×), then by adjusted p. Rows too few to judge follow, unranked; implied ones
    are left out and returned by label."""
    rows = m.rows
    implied = rows["implied"].astype(bool)
    shown = rows[~implied]
    with np.errstate(divide="ignore", invalid="ignore"):
        strength = np.abs(np.log(shown["lift"].astype(float).to_numpy()))
    key = pd.DataFrame({
        "judged": ~shown["too_few"].astype(bool).to_numpy(),
        "significant": shown["significant"].fillna(False).astype(bool).to_numpy(),
        "strength": np.nan_to_num(strength, nan=-1.0),
        "p": shown["p_adjusted"].astype(float).fillna(2.0).to_numpy(),
        "order": np.arange(len(shown)),
    })
    order = key.sort_values(["judged", "significant", "strength", "p", "order"],
                            ascending=[False, False, False, True, True]).index
    return shown.iloc[order].reset_index(drop=True), tuple(rows.loc[implied, "label"])
