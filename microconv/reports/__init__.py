"""The reports, and the one list of them (``REGISTRY``).

Every report is a unit of one shape (``partial`` -> ``merge`` -> ``finalize``, see each module), so
the same code runs in one process or over shards of users. The registry says, for each report,
what the command line may ask for (``analyze --report``), which CSV tables it writes and with what
columns (the ``--output-dir`` files and the manifest follow), and what it needs from loading. No
other list of report names exists: the CLI, the CSV renderer and the report directory read this one.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from . import results as _r


@dataclass(frozen=True)
class Table:
    """One CSV table: ``--report NAME``, ``DIR/NAME.csv``; its columns are stable (README)."""

    name: str
    columns: tuple[str, ...]
    frame: Callable[[_r.AnalysisResult], pd.DataFrame]
    present: Callable[[_r.AnalysisResult], bool]       # the result holds this table (a run may not)


@dataclass(frozen=True)
class Report:
    """One report ``analyze`` computes (``reports=(name, ...)``)."""

    name: str
    tables: tuple[Table, ...]
    counts_users: bool = False     # needs the users of every row, also of rows no conversion matches
    replays: bool = True           # read off each funnel's replay (else: the event index alone)


def _micro_frame(result: _r.AnalysisResult) -> pd.DataFrame:
    return result.micro.to_frame() if result.micro is not None else pd.DataFrame(columns=_r.MICRO_COLUMNS)


REGISTRY: tuple[Report, ...] = (
    Report("funnels", (Table("funnels", tuple(_r.STEP_COLUMNS), _r.AnalysisResult.steps_frame,
                             lambda r: bool(r.funnels)),)),
    Report("micro", (Table("micro", tuple(_r.MICRO_COLUMNS), _micro_frame, lambda r: r.micro is not None),),
           counts_users=True, replays=False),
    Report("time", (Table("time", tuple(_r.TIME_COLUMNS), _r.AnalysisResult.times_frame,
                          lambda r: bool(r.times)),)),
    Report("breakdown", (Table("breakdown", tuple(_r.SEGMENT_COLUMNS), _r.AnalysisResult.segments_frame,
                               lambda r: bool(r.breakdowns)),
                         Table("breakdown_steps", tuple(_r.SEGMENT_STEP_COLUMNS),
                               _r.AnalysisResult.segment_steps_frame, lambda r: bool(r.breakdowns)))),
    Report("trend", (Table("trend", tuple(_r.TREND_COLUMNS), _r.AnalysisResult.trends_frame,
                           lambda r: bool(r.trends)),)),
)

REPORT_NAMES: tuple[str, ...] = tuple(r.name for r in REGISTRY)
REPLAYED: frozenset[str] = frozenset(r.name for r in REGISTRY if r.replays)
TABLES: dict[str, Table] = {t.name: t for r in REGISTRY for t in r.tables}


def report_of(table: str) -> Report:
    """The report that writes ``table`` (``breakdown_steps`` -> ``breakdown``)."""
    return next(r for r in REGISTRY if any(t.name == table for t in r.tables))
