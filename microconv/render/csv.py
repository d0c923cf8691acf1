"""Tidy CSV: one table per output, raw numbers, rates in [0, 1].

A CSV holds one table, chosen by ``report``: the funnel steps (one row per funnel and step), the
micro-conversion report (one row per conversion), time to convert (one row per transition),
the breakdown (one row per segment) or its steps (one row per segment and step), or the trend
(one row per period and step).

Text cells that a spreadsheet would evaluate as a formula (a segment value ``=HYPERLINK(...)``)
start with ``'`` unless ``raw`` (``--csv-raw``); see escape.csv_frame.
"""
from __future__ import annotations

from ..reports import TABLES
from ..reports.results import AnalysisResult
from .escape import csv_text


def render_csv(result: AnalysisResult, report: str = "funnels", *, raw: bool = False) -> str:
    """The table ``report`` (a name of ``reports.TABLES``; the funnel steps for any other) as CSV."""
    table = TABLES.get(report, TABLES["funnels"])
    return csv_text(table.frame(result), raw=raw)
