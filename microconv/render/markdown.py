"""GitHub-flavoured Markdown tables, for pasting into tickets and chat."""
from __future__ import annotations

from ..results import AnalysisResult
from .format import MICRO_CAPTION, caveats, describe, duration, lift_text, money, p_text, pct


def render_markdown(result: AnalysisResult) -> str:
    out = []
    for f in result.funnels:
        waiting, valued = f.in_progress > 0, f.revenue is not None
        out.append(f"### {f.label} ({', '.join(describe(f))})\n")
        out.append(f"| step | name | {f.unit} | of start | of previous | dropped | median time |"
                   + (" in progress |" if waiting else "") + (" value lost |" if valued else ""))
        out.append("|---:|---|---:|---:|---:|---:|---:|" + ("---:|" if waiting else "") + ("---:|" if valued else ""))
        for s in f.steps:
            name = f"**{s.name}** (largest drop)" if s.step == f.largest_drop_step else s.name
            out.append(f"| {s.step} | {name} | {s.users:,} | {pct(s.rate_from_start)} | "
                       f"{pct(s.rate_from_previous) if s.step > 1 else ''} | {s.dropped:,} | "
                       f"{duration(s.median_seconds_from_previous)} |"
                       + (f" {s.in_progress:,} |" if waiting else "")
                       + (f" {money(s.value_lost) if s.step > 1 else ''} |" if valued else ""))
        out.append("")
        out += [f"_{note}_\n" for note in caveats(f)]
    m = result.micro
    if m is not None:
        out.append(f"### Micro-conversions → {m.macro} ({m.users:,} users, {m.converters:,} converted)\n")
        out.append("| conversion | kind | users | share | rate with | without | lift | 95% CI | p adj | value each |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for row in m.rows.itertuples(index=False):
            lift, ci = lift_text(row)
            p = p_text(row)
            out.append(f"| {row.label} | {row.kind} | {row.users:,} | {pct(row.share)} | {pct(row.macro_rate_with)} | "
                       f"{pct(row.macro_rate_without)} | {lift} | {ci} | {p} | {money(row.value_per_conversion)} |")
        out.append("")
        out.append(f"_{MICRO_CAPTION.format(macro=m.macro)}_\n")
    return "\n".join(out)
