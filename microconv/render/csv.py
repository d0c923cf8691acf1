"""Tidy CSV: one row per (funnel, step), raw numbers, rates in [0, 1]."""
from __future__ import annotations

from ..results import AnalysisResult


def render_csv(result: AnalysisResult) -> str:
    return result.steps_frame().to_csv(index=False, lineterminator="\n", float_format="%.10g")
