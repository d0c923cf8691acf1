"""Rich tables for the terminal. Builders return renderables; they do no I/O."""
from __future__ import annotations

import io

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..results import AnalysisResult, FunnelResult
from .format import bar, caveats, describe, duration, pct


def funnel_table(f: FunnelResult) -> Table:
    title = "  ·  ".join([f.label, *describe(f)])
    worst = f.largest_drop_step
    notes = []
    if worst is not None:
        s = f.steps[worst - 1]
        notes.append(f"▼ largest drop-off: {s.dropped:,} {f.unit} before {s.name!r}")
    notes += caveats(f)
    caption = "\n".join(notes) or None
    table = Table(title=title, caption=caption, title_justify="left", caption_justify="left",
                  title_style="bold", header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("step", overflow="fold", min_width=15, max_width=36)
    table.add_column(f.unit, justify="right", no_wrap=True)
    table.add_column("of start", justify="right", no_wrap=True)
    table.add_column("", width=8, no_wrap=True)
    table.add_column("of prev", justify="right", no_wrap=True)
    table.add_column("dropped", justify="right", no_wrap=True)
    table.add_column("median", justify="right", no_wrap=True)
    waiting = f.in_progress > 0
    if waiting:
        table.add_column("in\nprogress", justify="right", no_wrap=True)
    for s in f.steps:
        mark = s.step == worst
        table.add_row(
            f"{s.step}. {s.name}",
            f"{s.users:,}",
            pct(s.rate_from_start),
            Text(bar(s.rate_from_start, 8), style="cyan"),
            pct(s.rate_from_previous) if s.step > 1 else "",
            (Text(f"{s.dropped:,} ▼", style="bold red") if mark else Text(f"{s.dropped:,}  ")) if s.step > 1 else "",
            duration(s.median_seconds_from_previous),
            *([f"{s.in_progress:,}" if s.in_progress else ""] if waiting else []),
        )
    return table


def result_renderable(result: AnalysisResult) -> Group:
    items = []
    for i, f in enumerate(result.funnels):
        if i:
            items.append(Text(""))
        items.append(funnel_table(f))
    return Group(*items)


def render_table_text(result: AnalysisResult, *, width: int = 100) -> str:
    """The table without colour, at a fixed width: for files and golden tests."""
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, force_terminal=False, legacy_windows=False).print(
        result_renderable(result)
    )
    return buf.getvalue()
