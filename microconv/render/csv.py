"""Tidy CSV: one table per output, raw numbers, rates in [0, 1].

A CSV holds one table: the funnel steps (one row per funnel and step) or the micro-conversion
report (one row per conversion), chosen by ``report``.
"""
from __future__ import annotations

import pandas as pd

from ..results import MICRO_COLUMNS, AnalysisResult


def render_csv(result: AnalysisResult, report: str = "funnels") -> str:
    if report == "micro":
        frame = result.micro.to_frame() if result.micro is not None else pd.DataFrame(columns=MICRO_COLUMNS)
    else:
        frame = result.steps_frame()
    return frame.to_csv(index=False, lineterminator="\n", float_format="%.10g")
