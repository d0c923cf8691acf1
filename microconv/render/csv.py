"""Tidy CSV: one table per output, raw numbers, rates in [0, 1].

A CSV holds one table, chosen by ``report``: the funnel steps (one row per funnel and step), the
micro-conversion report (one row per conversion), time to convert (one row per transition),
the breakdown (one row per segment) or its steps (one row per segment and step), or the trend
(one row per period and step).

Text cells that a spreadsheet would evaluate as a formula (a segment value ``=HYPERLINK(...)``)
start with ``'`` unless ``raw`` (``--csv-raw``); see escape.csv_frame.
"""
from __future__ import annotations

import pandas as pd

from ..reports.results import MICRO_COLUMNS, AnalysisResult
from .escape import csv_text


def render_csv(result: AnalysisResult, report: str = "funnels", *, raw: bool = False) -> str:
    if report == "micro":
        frame = result.micro.to_frame() if result.micro is not None else pd.DataFrame(columns=MICRO_COLUMNS)
    else:
        frame = {"time": result.times_frame, "breakdown": result.segments_frame,
                 "breakdown_steps": result.segment_steps_frame, "trend": result.trends_frame,
                 }.get(report, result.steps_frame)()
    return csv_text(frame, raw=raw)
