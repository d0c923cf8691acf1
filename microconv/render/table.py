"""Rich tables for the terminal. Builders return renderables; they do no I/O."""
from __future__ import annotations

import io

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..reports.results import BUCKETS, AnalysisResult, BreakdownResult, FunnelResult, MicroReport, TimeResult, TrendResult
from ..reports.summary import Summary, summarize
from .escape import terminal, text
from .format import (BREAKDOWN_CAPTION, MICRO_CAPTION, TIME_CAPTION, TREND_CAPTION, micro_groups_text,
                     attribution_text, bar, caveats, count, describe, duration, interval, lift_text, money,
                     p_text, pct, segment_p_text, share_text, sparkline)


def _table(title: str, caption: str | None) -> Table:
    """A table whose title and caption are plain text: the data strings in them went through
    ``terminal`` and rich never reads them as markup."""
    return Table(title=Text(title, style="bold"), caption=Text(caption, style="table.caption") if caption else None,
                 title_justify="left", caption_justify="left", title_style="bold",
                 header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)


def funnel_table(f: FunnelResult, currency: str | None = None) -> Table:
    """The steps; money (value lost, revenue) in ``currency``, the config's ISO code, when it names one."""
    title = "  ·  ".join([terminal(f.label), *describe(f)])
    worst = f.largest_drop_step
    notes = []
    if worst is not None:
        s = f.steps[worst - 1]
        notes.append(f"▼ largest drop-off: {count(s.dropped, f.unit[:-1])} before {terminal(repr(s.name))}")
    notes += caveats(f, currency)
    caption = "\n".join(notes) or None
    table = _table(title, caption)
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
        table.add_column(f"value lost\n({currency})" if currency else "value\nlost", justify="right", no_wrap=True)
    for s in f.steps:
        mark = s.step == worst
        table.add_row(
            text(f"{s.step}. {s.name}" + (" (optional)" if s.step in f.optional else "")),
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


def micro_table(m: MicroReport, currency: str | None = None) -> Table:
    """The conversions; the average value and +value in ``currency`` when the config names one."""
    rate = m.converters / m.users if m.users else float("nan")
    title = (f"Micro-conversions → {terminal(m.macro)}  ·  {m.users:,} users  ·  {m.converters:,} converted ({pct(rate)})"
             + (f"  ·  average value {money(m.average_value, currency)}" if m.average_value is not None else ""))
    caption = MICRO_CAPTION.format(macro=terminal(m.macro))
    table = _table(title, caption + (f"\n{terminal(m.model_note)}" if m.model_note else ""))
    table.add_column("conversion", overflow="fold", min_width=12, max_width=24)
    # 100 columns hold these; the kind and the adjusted odds ratio's interval are in CSV, JSON, HTML.
    for header in ("users", "share", "with", "without", "lift", "95% CI", "p adj", "adj. OR",
                   f"+value\n({currency})" if currency else "+value"):
        table.add_column(header, justify="right", no_wrap=True)
    for row in m.rows.itertuples(index=False):
        lift, ci = lift_text(row)
        odds = "" if row.adjusted_odds_ratio != row.adjusted_odds_ratio else (
            f"{row.adjusted_odds_ratio:.2f}" + (" *" if row.adjusted_significant else ""))
        table.add_row(text(row.label), f"{row.users:,}", pct(row.share), pct(row.macro_rate_with),
                      pct(row.macro_rate_without), Text(lift, style="dim" if row.too_few or row.implied else ""), ci,
                      p_text(row), odds, money(row.incremental_value))
    return table


GROUPS_PER_TABLE = 8     # share columns per table: a label and 8 columns fit 100 characters


def micro_groups_table(m: MicroReport, kind: str) -> Group:
    """Segments (ranked by early read) or cohort periods: one row each with the observed and the
    expected macro rate; then each conversion's share per group, groups as columns, 8 at a time
    (so that any number of conversions and groups fits the width)."""
    head, cells, labels = m.groups(kind)
    segments = kind == "segments"
    what, caption = (terminal(t) for t in micro_groups_text(m, kind))
    summary = _table(f"Micro-conversions {what} → {terminal(m.macro)}" + ("  ·  ranked by early read" if segments else ""),
                     None)
    summary.add_column("segment" if segments else m.period, overflow="fold", min_width=10, max_width=30)
    summary.add_column("users", justify="right", no_wrap=True)
    summary.add_column(f"{terminal(m.macro)} observed (95% CI)", justify="right", no_wrap=True)
    summary.add_column("early read (95% CI)", justify="right", no_wrap=True)
    if not segments:
        summary.add_column("", no_wrap=True)
    keys = [row.segment if segments else row.period for row in head.itertuples(index=False)]
    for key, row in zip(keys, head.itertuples(index=False)):
        observed = f"{pct(row.macro_rate)} ({interval(row.macro_rate_low, row.macro_rate_high)})"
        early = (f"{pct(row.macro_expected)} ({interval(row.macro_expected_low, row.macro_expected_high)})"
                 if row.macro_expected == row.macro_expected else "")
        summary.add_row(text(key), f"{row.population:,}", observed, early,
                        *([] if segments else ["◔ open" if row.open else ""]))
    parts = [summary]
    for start in range(0, len(keys), GROUPS_PER_TABLE):
        chunk = range(start, min(start + GROUPS_PER_TABLE, len(keys)))
        last = chunk.stop == len(keys)
        shares = _table("", caption if last else None)
        shares.add_column("share who did it", overflow="fold", min_width=12, max_width=24)
        for g in chunk:
            shares.add_column(text(keys[g]), justify="right", overflow="fold", max_width=12)
        for c, name in enumerate(labels):
            shares.add_row(text(name), *(share_text(*cells.iat[g, c]) for g in chunk))
        parts.append(shares)
    return Group(*parts)


def time_table(t: TimeResult) -> Table:
    table = _table(f"{terminal(t.label)}: time to convert  ·  {t.unit}", TIME_CAPTION)
    table.add_column("from → to", overflow="fold", min_width=15, max_width=44)
    for header in (t.unit, "p25", "median", "p75", "p90"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("distribution", no_wrap=True, min_width=len(BUCKETS))
    buckets = t.frame[[b for b, _ in BUCKETS]].to_numpy()
    for row, counts in zip(t.frame.itertuples(index=False), buckets):
        table.add_row(text(row.name), f"{row.units:,}", duration(row.p25_seconds), duration(row.median_seconds),
                      duration(row.p75_seconds), duration(row.p90_seconds),
                      Text(sparkline(counts.tolist()), style="cyan"))
    return table


def breakdown_table(b: BreakdownResult) -> Table:
    title = f"{terminal(b.label)} by {terminal(b.by)}  ·  {attribution_text(b.attribution)}" + (f"  ·  top {b.top}" if b.top else "")
    missing = f"{pct(b.missing_share)} of entrants had no {terminal(b.by)} value" if b.missing_share else None
    table = _table(title, "\n".join(filter(None, [missing, BREAKDOWN_CAPTION])))
    steps = b.steps
    names = steps.loc[steps["segment"] == b.segments["segment"].iloc[0], "name"].tolist() if len(steps) else []
    table.add_column("segment", overflow="fold", min_width=10, max_width=28)
    table.add_column(b.unit, justify="right", no_wrap=True)
    table.add_column("share", justify="right", no_wrap=True)
    for name in names[1:-1]:
        table.add_column(text(name), justify="right", overflow="fold", max_width=16)
    for header in ("converted", "95% CI", "rest", "p adj"):
        table.add_column(header, justify="right", no_wrap=True)
    for row in b.segments.itertuples(index=False):
        mid = steps.loc[steps["segment"] == row.segment, "rate_from_start"].tolist()[1:-1]
        table.add_row(text(row.segment), f"{row.entrants:,}", pct(row.share), *map(pct, mid), pct(row.rate),
                      interval(row.rate_low, row.rate_high), pct(row.rate_rest),
                      Text(segment_p_text(row), style="bold" if row.significant else ("dim" if row.too_small else "")))
    return table


def trend_table(t: TrendResult) -> Table:
    table = _table(f"{terminal(t.label)} by {t.period} of entry", TREND_CAPTION)
    frame = t.frame
    names = frame.loc[frame["period"] == frame["period"].iloc[0], "name"].tolist() if len(frame) else []
    table.add_column(t.period, no_wrap=True)
    table.add_column(t.unit, justify="right", no_wrap=True)
    for name in names[1:]:
        table.add_column(text(name), justify="right", overflow="fold", max_width=16)
    table.add_column("", width=8, no_wrap=True)
    table.add_column("in\nprogress", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    for period, rows in frame.groupby("period", sort=False):
        rates = rows["rate_from_start"].tolist()
        table.add_row(text(period), f"{rows['users'].iloc[0]:,}", *map(pct, rates[1:]),
                      Text(bar(rates[-1] if len(rates) > 1 else float("nan"), 8), style="cyan"),
                      f"{rows['in_progress'].sum():,}" if rows["in_progress"].sum() else "",
                      "◔ open" if rows["open"].iloc[0] else "")
    return table


SUMMARY_CAPTION = ("converted = share of the entrants who reached the last step; lost = dropped before that step (not in progress), as a "
                   "share of those at the step before; in progress = window still open at the end of the data")
SUMMARY_MICRO_CAPTION = ("share = users who did it before any {macro}; with / without: {macro} rate of those who "
                         "did / did not; ranked by how far the lift is from 1 (significant first); "
                         "* = significant after Benjamini-Hochberg (p < 0.05)")
PARTS = ("funnels", "time", "breakdown", "trend", "micro", "micro_groups")
"""What ``result_renderable`` can draw after the summary: the tables of REGISTRY's reports, and
the micro report's segment and period tables apart from its main one."""


def summary_renderable(s: Summary, *, more: str | None = None) -> Group:
    """The one-screen summary: a line per funnel, then the top micro-conversions. ``more`` (a
    sentence saying how to see the rest) closes the micro table's caption."""
    parts = []
    if s.funnels:
        data = [count(s.users, "user")] if s.users is not None else []
        units = [f"{terminal(f.label)} counts {f.unit}" for f in s.funnels if f.unit != "users"]
        table = _table("  ·  ".join(["Summary", count(len(s.funnels), "funnel"), *data, count(s.events, "event")]),
                       "\n".join([SUMMARY_CAPTION, *units]))
        table.add_column("funnel", overflow="fold", min_width=12, max_width=36)
        for header in ("entrants", "converted"):      # the count converted is in the step table below
            table.add_column(header, justify="right", no_wrap=True)
        table.add_column("largest drop-off\nbefore step", overflow="fold", min_width=12, max_width=28)
        for header in ("lost", "", "in\nprogress"):
            table.add_column(header, justify="right", no_wrap=True)
        for f in s.funnels:
            table.add_row(text(f.label), f"{f.entrants:,}", pct(f.rate),
                          text(f"{f.drop_step}. {f.drop_name}") if f.drop_step else "",
                          Text(f"{f.dropped:,}", style="bold red") if f.drop_step else "",
                          pct(f.drop_share), f"{f.in_progress:,}" if f.in_progress else "")
        parts.append(table)
    if s.micro is not None and (len(s.micro) or s.implied):
        macro = terminal(s.macro)
        rate = s.converters / s.population if s.population else float("nan")
        notes = [SUMMARY_MICRO_CAPTION.format(macro=macro)]
        if len(s.micro) < s.ranked:
            notes.append(f"the top {len(s.micro)} of {s.ranked} shown")
        if s.implied:
            notes.append("implied (every converter did it first; on the way, not ranked): "
                         + ", ".join(terminal(label) for label in s.implied))
        if more:
            notes.append(more)
        table = _table(f"Top micro-conversions → {macro}  ·  {pct(rate)} of {s.population:,} users converted",
                       "\n".join(notes))
        table.add_column("conversion", overflow="fold", min_width=12, max_width=28)
        for header in ("users", "share", "with", "without", "lift", "95% CI", "p adj"):
            table.add_column(header, justify="right", no_wrap=True)
        for row in s.micro.itertuples(index=False):
            lift, ci = lift_text(row)
            table.add_row(text(row.label), f"{row.users:,}", pct(row.share), pct(row.macro_rate_with),
                          pct(row.macro_rate_without), Text(lift, style="dim" if row.too_few else ""), ci, p_text(row))
        parts.append(table)
    return Group(*_spaced(parts))


def result_renderable(result: AnalysisResult, *, summary: bool = False, parts=PARTS, more: str | None = None) -> Group:
    """The result's tables in reading order: with ``summary``, the summary first (see
    :func:`summary_renderable` for ``more``); then of ``parts`` (names in PARTS) those the result
    holds, each funnel's together, the micro report last."""
    items = [summary_renderable(summarize(result), more=more)] if summary else []
    for f in result.per_funnel:
        items += [funnel_table(f.steps, result.meta.currency)] if "funnels" in parts and f.steps is not None else []
        items += [time_table(f.time)] if "time" in parts and f.time is not None and len(f.time.frame) else []
        items += [breakdown_table(f.breakdown)] if "breakdown" in parts and f.breakdown is not None else []
        items += [trend_table(f.trend)] if "trend" in parts and f.trend is not None and len(f.trend.frame) else []
    if result.micro is not None:
        items += [micro_table(result.micro, result.meta.currency)] if "micro" in parts else []
        if "micro" in parts or "micro_groups" in parts:
            items += [micro_groups_table(result.micro, "segments")] if result.micro.segments is not None else []
            items += [micro_groups_table(result.micro, "periods")] if result.micro.periods is not None else []
    return Group(*_spaced(items))


def _spaced(items: list) -> list:
    """``items`` with an empty line between each two."""
    spaced = []
    for i, item in enumerate(items):
        spaced += [Text("")] * bool(i) + [item]
    return spaced


def plain_text(renderable, width: int = 100) -> str:
    """A renderable without colour, at a fixed width: what every command writes to a file or a pipe,
    and what the golden tests compare."""
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, force_terminal=False, legacy_windows=False).print(renderable)
    return strip_padding(buf.getvalue())


def strip_padding(text: str) -> str:
    """``text`` without the spaces rich pads each line of a table with (to the table's width)."""
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


def render_table_text(result: AnalysisResult, *, width: int = 100) -> str:
    """The table without colour, at a fixed width: for files and golden tests."""
    return plain_text(result_renderable(result), width)
