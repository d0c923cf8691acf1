"""GitHub-flavoured Markdown tables, for pasting into tickets and chat."""
from __future__ import annotations

from ..results import AnalysisResult
from .format import duration, pct


def render_markdown(result: AnalysisResult) -> str:
    out = []
    for f in result.funnels:
        out.append(f"### {f.label} (window {duration(f.window_seconds)}, {f.entrants:,} entrants)\n")
        out.append("| step | name | users | of start | of previous | dropped | median time |")
        out.append("|---:|---|---:|---:|---:|---:|---:|")
        for s in f.steps:
            name = f"**{s.name}** (largest drop)" if s.step == f.largest_drop_step else s.name
            out.append(f"| {s.step} | {name} | {s.users:,} | {pct(s.rate_from_start)} | "
                       f"{pct(s.rate_from_previous) if s.step > 1 else ''} | {s.dropped:,} | "
                       f"{duration(s.median_seconds_from_previous)} |")
        out.append("")
    return "\n".join(out)
