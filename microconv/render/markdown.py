"""GitHub-flavoured Markdown tables, for pasting into tickets and chat."""
from __future__ import annotations

from ..results import AnalysisResult
from .format import caveats, describe, duration, pct


def render_markdown(result: AnalysisResult) -> str:
    out = []
    for f in result.funnels:
        waiting = f.in_progress > 0
        out.append(f"### {f.label} ({', '.join(describe(f))})\n")
        out.append(f"| step | name | {f.unit} | of start | of previous | dropped | median time |"
                   + (" in progress |" if waiting else ""))
        out.append("|---:|---|---:|---:|---:|---:|---:|" + ("---:|" if waiting else ""))
        for s in f.steps:
            name = f"**{s.name}** (largest drop)" if s.step == f.largest_drop_step else s.name
            out.append(f"| {s.step} | {name} | {s.users:,} | {pct(s.rate_from_start)} | "
                       f"{pct(s.rate_from_previous) if s.step > 1 else ''} | {s.dropped:,} | "
                       f"{duration(s.median_seconds_from_previous)} |"
                       + (f" {s.in_progress:,} |" if waiting else ""))
        out.append("")
        out += [f"_{note}_\n" for note in caveats(f)]
    return "\n".join(out)
