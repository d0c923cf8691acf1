"""Rich tables for the terminal. Builders return renderables; they do no I/O."""
from __future__ import annotations

import io

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..results import AnalysisResult, FunnelResult, MicroReport
from .format import MICRO_CAPTION, bar, caveats, count, describe, duration, lift_text, money, p_text, pct


def funnel_table(f: FunnelResult) -> Table:
    title = "  ·  ".join([f.label, *describe(f)])
    worst = f.largest_drop_step
    notes = []
    if worst is not None:
        s = f.steps[worst - 1]
        notes.append(f"▼ largest drop-off: {count(s.dropped, f.unit[:-1])} before {s.name!r}")
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
    valued = f.revenue is not None
    if valued:
        table.add_column("value\nlost", justify="right", no_wrap=True)
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
            *([money(s.value_lost) if s.step > 1 else ""] if valued else []),
        )
    return table


def micro_table(m: MicroReport) -> Table:
    rate = m.converters / m.users if m.users else float("nan")
    title = (f"Micro-conversions → {m.macro}  ·  {m.users:,} users  ·  {m.converters:,} converted ({pct(rate)})"
             + (f"  ·  average value {m.average_value:,.2f}" if m.average_value is not None else ""))
    table = Table(title=title, caption=MICRO_CAPTION.format(macro=m.macro), title_justify="left",
                  caption_justify="left", title_style="bold", header_style="bold", box=box.SIMPLE_HEAD,
                  pad_edge=False, collapse_padding=True)
    table.add_column("conversion", overflow="fold", min_width=14, max_width=28)
    table.add_column("kind", no_wrap=True)
    for header in ("users", "share", "with", "without", "lift", "95% CI", "p adj", "value"):
        table.add_column(header, justify="right", no_wrap=True)
    for row in m.rows.itertuples(index=False):
        lift, ci = lift_text(row)
        p = p_text(row)
        table.add_row(row.label, row.kind, f"{row.users:,}", pct(row.share), pct(row.macro_rate_with),
                      pct(row.macro_rate_without), Text(lift, style="dim" if row.too_few else ""), ci, p,
                      money(row.value_per_conversion))
    return table


def result_renderable(result: AnalysisResult) -> Group:
    items = [funnel_table(f) for f in result.funnels]
    if result.micro is not None:
        items.append(micro_table(result.micro))
    spaced = []
    for i, item in enumerate(items):
        spaced += [Text("")] * bool(i) + [item]
    return Group(*spaced)


def render_table_text(result: AnalysisResult, *, width: int = 100) -> str:
    """The table without colour, at a fixed width: for files and golden tests."""
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, force_terminal=False, legacy_windows=False).print(
        result_renderable(result)
    )
    return buf.getvalue()
