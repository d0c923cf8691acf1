"""GitHub-flavoured Markdown tables, for pasting into tickets and chat."""
from __future__ import annotations

from ..reports.results import BUCKETS, AnalysisResult, BreakdownResult, TimeResult, TrendResult
from .escape import markdown as _cell   # a data or config string as one cell's or heading's text
from .format import (BREAKDOWN_CAPTION, BUCKET_LABELS, MICRO_CAPTION, TREND_CAPTION, micro_groups_text,
                     attribution_text, caveats, describe, duration, interval, lift_text, money, odds_text, p_text, pct,
                     segment_p_text, share_text)


def render_markdown(result: AnalysisResult) -> str:
    out = []
    currency = result.meta.currency   # on every money figure (None: plain numbers)
    for f in result.per_funnel:
        out += _funnel(f.steps, currency) if f.steps is not None else [f"### {_cell(f.label)}\n"]
        out += _time(f.time) if f.time is not None and len(f.time.frame) else []
        out += _breakdown(f.breakdown) if f.breakdown is not None else []
        out += _trend(f.trend) if f.trend is not None and len(f.trend.frame) else []
    m = result.micro
    if m is not None:
        out += _micro(m, currency)
        out += _micro_groups(m, "segments") if m.segments is not None else []
        out += _micro_groups(m, "periods") if m.periods is not None else []
    return "\n".join(out)


def _micro(m, currency: str | None = None) -> list[str]:
    out = [f"### Micro-conversions → {_cell(m.macro)} ({m.users:,} users, {m.converters:,} converted)\n"]
    out.append("| conversion | kind | users | share | rate with | without | lift | 95% CI | p adj | adj. OR (95% CI) "
               "| +value |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in m.rows.itertuples(index=False):
        lift, ci = lift_text(row)
        out.append(f"| {_cell(row.label)} | {row.kind} | {row.users:,} | {pct(row.share)} | "
                   f"{pct(row.macro_rate_with)} | {pct(row.macro_rate_without)} | {lift} | {ci} | {p_text(row)} | "
                   f"{odds_text(row)} | {money(row.incremental_value, currency)} |")
    out.append("")
    out.append(f"_{_cell(MICRO_CAPTION.format(macro=m.macro))}_\n")
    if m.model_note:
        out.append(f"_{_cell(m.model_note)}_\n")
    return out


def _micro_groups(m, kind: str) -> list[str]:
    """Segments or periods as rows: observed and expected macro rate, then each conversion's share."""
    head, cells, labels = m.groups(kind)
    segments = kind == "segments"
    what, caption = micro_groups_text(m, kind)
    out = [f"### Micro-conversions {_cell(what)} → {_cell(m.macro)}\n"]
    out.append(f"| {'segment' if segments else _cell(m.period)} | users | {_cell(m.macro)} observed | 95% CI | "
               f"early read | 95% CI | " + " | ".join(_cell(name) for name in labels) + " |")
    out.append("|---|---:|---:|---:|---:|---:|" + "---:|" * len(labels))
    for g, row in enumerate(head.itertuples(index=False)):
        key = _cell(row.segment if segments else row.period) + (" (open)" if not segments and row.open else "")
        shares = " | ".join(_cell(share_text(*cells.iat[g, c])) for c in range(len(labels)))
        out.append(f"| {key} | {row.population:,} | {pct(row.macro_rate)} | "
                   f"{interval(row.macro_rate_low, row.macro_rate_high)} | {pct(row.macro_expected)} | "
                   f"{interval(row.macro_expected_low, row.macro_expected_high)} | {shares} |")
    out.append("")
    out.append(f"_{_cell(caption)}_\n")
    return out


def _funnel(f, currency: str | None = None) -> list[str]:
    waiting, valued = f.in_progress > 0, f.revenue is not None
    out = [f"### {_cell(f.label)} ({', '.join(describe(f))})\n"]
    out.append(f"| step | name | {f.unit} | of start | of previous | dropped | median time |"
               + (" in progress |" if waiting else "") + (" value lost |" if valued else ""))
    out.append("|---:|---|---:|---:|---:|---:|---:|" + ("---:|" if waiting else "") + ("---:|" if valued else ""))
    for s in f.steps:
        name = f"**{_cell(s.name)}** (largest drop)" if s.step == f.largest_drop_step else _cell(s.name)
        name += " (optional)" if s.step in f.optional else ""
        out.append(f"| {s.step} | {name} | {s.users:,} | {pct(s.rate_from_start)} | "
                   f"{pct(s.rate_from_previous) if s.step > 1 else ''} | {s.dropped:,} | "
                   f"{duration(s.median_seconds_from_previous)} |"
                   + (f" {s.in_progress:,} |" if waiting else "")
                   + (f" {money(s.value_lost, currency) if s.step > 1 else ''} |" if valued else ""))
    out.append("")
    out += [f"_{_cell(note)}_\n" for note in caveats(f, currency)]   # (a caveat may name a step: config text)
    return out


def _time(t: TimeResult) -> list[str]:
    shown = [(b, label) for (b, _), label in zip(BUCKETS, BUCKET_LABELS) if t.frame[b].any()]
    out = [f"#### Time to convert ({t.unit})\n",
           "| from → to | " + t.unit + " | p25 | median | p75 | p90 | " + " | ".join(lb for _, lb in shown) + " |",
           "|---|" + "---:|" * (5 + len(shown))]
    for row in t.frame.to_dict("records"):
        out.append(f"| {_cell(row['name'])} | {row['units']:,} | {duration(row['p25_seconds'])} | "
                   f"{duration(row['median_seconds'])} | {duration(row['p75_seconds'])} | "
                   f"{duration(row['p90_seconds'])} | " + " | ".join(f"{row[b]:,}" for b, _ in shown) + " |")
    return out + [""]


def _breakdown(b: BreakdownResult) -> list[str]:
    out = [f"#### By {_cell(b.by)} ({attribution_text(b.attribution)}" + (f", top {b.top}" if b.top else "") + ")\n",
           f"| segment | {b.unit} | share | converted | 95% CI | rest | p adj |", "|---|---:|---:|---:|---:|---:|---:|"]
    for row in b.segments.itertuples(index=False):
        out.append(f"| {_cell(row.segment)} | {row.entrants:,} | {pct(row.share)} | {pct(row.rate)} | "
                   f"{interval(row.rate_low, row.rate_high)} | {pct(row.rate_rest)} | {segment_p_text(row)} |")
    missing = [f"_{pct(b.missing_share)} of entrants had no {_cell(b.by)} value_\n"] if b.missing_share else []
    return out + ["", *missing, f"_{BREAKDOWN_CAPTION}_\n"]


def _trend(t: TrendResult) -> list[str]:
    """One row per cohort: entrants, then each later step's share of them (the last is the conversion)."""
    frame = t.frame
    names = frame.loc[frame["period"] == frame["period"].iloc[0], "name"].tolist()
    out = [f"#### By {t.period} of entry\n",
           f"| {t.period} | {t.unit} | " + "".join(f"{_cell(n)} | " for n in names[1:]) + "in progress | |",
           "|---|---:|" + "---:|" * len(names[1:]) + "---:|---|"]
    for period, rows in frame.groupby("period", sort=False):
        rates = rows.sort_values("step")["rate_from_start"].tolist()
        out.append(f"| {_cell(period)} | {rows['users'].iloc[0]:,} | " + "".join(f"{pct(r)} | " for r in rates[1:])
                   + f"{rows['in_progress'].sum():,} | {'open' if rows['open'].iloc[0] else ''} |")
    return out + ["", f"_{TREND_CAPTION}_\n"]
