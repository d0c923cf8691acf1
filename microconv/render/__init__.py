"""Renderers: views of result frames. They format; they never count."""
from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:   # the results (and pandas) load with the renderers, not with render.escape
    from ..reports.results import AnalysisResult


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"
    html = "html"
    svg = "svg"     # one funnel's (or trend's) chart, for slides


def render_text(result: AnalysisResult, fmt: Format, *, width: int = 100, report: str = "funnels",
                csv_raw: bool = False) -> str:
    """The whole result as text in ``fmt`` (the table is rendered without colour); a CSV holds
    the one table named by ``report`` ("funnels" or "micro"), its formula-like text cells
    neutralised unless ``csv_raw``; an SVG the one funnel's chart (``report`` "trend": its trend)."""
    if fmt is Format.csv:
        from .csv import render_csv
        return render_csv(result, report, raw=csv_raw)
    if fmt is Format.json:
        from .json import render_json
        return render_json(result)
    if fmt is Format.markdown:
        from .markdown import render_markdown
        return render_markdown(result)
    if fmt is Format.html:
        from .html import render_html
        return render_html(result)
    if fmt is Format.svg:
        from .svg import render_svg
        return render_svg(result, report)
    from .table import render_table_text
    return render_table_text(result, width=width)
