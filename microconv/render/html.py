"""One self-contained HTML page to mail, print and archive: inline CSS, inline SVG charts, no
scripts, no fonts, nothing fetched.

A view of the result like the other renderers: it formats, it never counts. Every string that
comes from the data or the config goes through ``escape.html`` (``html.escape`` after control
characters are shown as ``\\x1b``). Every number is printed as text (a printed or mailed report
has no hover), the charts come from ``render.svg``, and each section opens with a few lines on
how to read it, for a reader who has neither the docs nor the command line. The page reflows:
on a narrow screen each table row becomes a small card of labelled numbers, so nothing scrolls
sideways. The only time on the page that is not the data's is ``meta.generated_at``, so the same
result gives the same bytes (golden tests; ``SOURCE_DATE_EPOCH`` fixes it for a whole run).
"""
from __future__ import annotations

import math
import re

import pandas as pd

from ..reports.results import (BUCKETS, AnalysisResult, BreakdownResult, FunnelReports, FunnelResult, MicroReport,
                               RunMeta, TimeResult, TrendResult)
from .escape import html as escape
from .format import (BUCKET_LABELS, attribution_text, caveats, count, describe, duration, interval, lift_text,
                     micro_groups_text, money, p_value, pct)
from .svg import breakdown_chart, funnel_chart, micro_chart, trend_chart


def _stacking(selector: str, width: int) -> str:
    """CSS that turns each row of ``selector`` tables into a card below ``width`` px: one line per
    cell, its column's name (``data-label``) on the left, the number on the right."""
    return f"""\
@media (max-width: {width}px) {{
  table.{selector}, table.{selector} tbody, table.{selector} tr, table.{selector} td {{ display: block; width: 100%; }}
  table.{selector} thead {{ display: none; }}
  table.{selector} tr {{ padding: 8px 0; border-bottom: 1px solid #cbd2d9; }}
  table.{selector} td {{ display: flex; justify-content: space-between; gap: 12px; padding: 2px 0; border: 0;
    text-align: right; white-space: normal; }}
  table.{selector} td::before {{ content: attr(data-label); color: var(--muted); text-align: left; font-weight: 400; }}
  table.{selector} td:first-child {{ display: block; text-align: left; font-weight: 600; font-size: 15px;
    padding-bottom: 4px; }}
  table.{selector} td:first-child::before {{ content: none; }}
  table.{selector} td:empty {{ display: none; }}
  tr.worst td:first-child {{ box-shadow: none; padding-left: 0; }}
}}
"""


CSS = """\
:root {
  --ink: #1f2933; --muted: #616e7c; --faint: #9aa5b1; --line: #e4e7eb; --panel: #f5f7fa;
  --accent: #2f6fde; --accent-soft: #c9dbf8; --drop: #c9372c; --drop-soft: #f6d5d2;
  --good: #1c7c54; --bad: #c9372c;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; padding: 32px 40px 48px; background: #fff; color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
main { max-width: 1120px; margin: 0 auto; }
h1 { font-size: 26px; margin: 0 0 4px; letter-spacing: -0.01em; overflow-wrap: anywhere; }
h2 { font-size: 20px; margin: 0; letter-spacing: -0.01em; overflow-wrap: anywhere; }
h3 { font-size: 16px; margin: 30px 0 6px; overflow-wrap: anywhere; }
.kicker { color: var(--accent); font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: 0.06em;
  margin: 0 0 4px; }
.sub { color: var(--muted); margin: 2px 0 0; overflow-wrap: anywhere; }
.dates { font-size: 16px; margin: 4px 0 0; overflow-wrap: anywhere; }
.num, td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th.num, td.num.wrap { white-space: normal; }
table.micro-segments, table.micro-periods, table.micro { font-size: 13px; }
table.micro-segments th, table.micro-periods th { overflow-wrap: anywhere; }
.differs { color: var(--accent); font-weight: 600; }
header.run { border-bottom: 1px solid var(--line); padding-bottom: 20px; margin-bottom: 8px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0 0; padding: 0; }
.cards div { background: var(--panel); border-radius: 8px; padding: 10px 14px; min-width: 130px; max-width: 100%; }
.cards dt { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
.cards dd { margin: 2px 0 0; font-size: 17px; font-weight: 600; font-variant-numeric: tabular-nums; }
.cards dd.small { font-size: 14px; font-weight: 500; overflow-wrap: anywhere; }
.notices { margin: 14px 0 0; padding: 10px 14px 10px 30px; background: #fff8e6; border-radius: 8px;
  color: #6b4e00; font-size: 13px; overflow-wrap: anywhere; }
.glance { margin: 18px 0 0; }
.glance h2 { font-size: 15px; }
.glance ol { margin: 6px 0 0; padding-left: 20px; }
.glance li { margin: 4px 0; }
.glance a { color: var(--accent); text-decoration: none; font-weight: 600; }
.glance .num { white-space: normal; text-align: left; }
section { padding: 28px 0 12px; border-bottom: 1px solid var(--line); }
section:last-of-type { border-bottom: 0; }
.howto { margin: 10px 0 0; padding: 10px 14px; background: var(--panel); border-radius: 8px; max-width: 760px;
  font-size: 13px; }
.howto b { font-weight: 600; }
svg.chart { display: block; width: 100%; height: auto; max-width: 500px; margin: 16px 0 4px; }
.wide { margin: 12px 0 0; }
table { border-collapse: collapse; width: 100%; }
th { font-size: 12px; font-weight: 600; color: var(--muted); text-align: left; padding: 6px 8px;
  border-bottom: 1px solid #cbd2d9; vertical-align: bottom; }
td { padding: 7px 8px; border-bottom: 1px solid var(--line); vertical-align: middle; }
th:first-child, td:first-child { padding-left: 0; }
th:last-child, td:last-child { padding-right: 0; }
td.name { overflow-wrap: anywhere; }
td.period { font-variant-numeric: tabular-nums; white-space: nowrap; }
.stepno { color: var(--faint); font-variant-numeric: tabular-nums; margin-right: 4px; }
.track { position: relative; height: 22px; background: var(--panel); border-radius: 4px; min-width: 160px; }
.track .fill { position: absolute; left: 0; top: 0; bottom: 0; background: var(--accent); border-radius: 4px; }
.track .label { position: absolute; top: 0; line-height: 22px; font-size: 12px; white-space: nowrap;
  font-variant-numeric: tabular-nums; }
.track .label.out { color: var(--ink); padding-left: 6px; }
tr.worst td { background: #fdf3f2; }
tr.worst td:first-child { box-shadow: inset 3px 0 0 var(--drop); padding-left: 8px; }
.dropmark { color: var(--drop); font-weight: 600; }
.notes { list-style: none; margin: 10px 0 0; padding: 0; color: var(--muted); font-size: 13px; }
.notes li { margin: 3px 0; padding-left: 18px; position: relative; overflow-wrap: anywhere; }
.notes li::before { content: "\\2022"; position: absolute; left: 5px; color: var(--faint); }
.notes li.worst { color: var(--drop); }
.notes li.worst::before { content: "\\25BC"; left: 0; font-size: 11px; color: var(--drop); }
.caption { color: var(--muted); font-size: 12px; margin: 8px 0 0; max-width: 900px; }
table.dist { width: auto; min-width: 50%; max-width: 100%; font-size: 12px; }
table.dist th { white-space: normal; overflow-wrap: anywhere; text-align: right; max-width: 140px; }
table.dist th:first-child { text-align: left; }
table.dist td { padding: 3px 8px; }
table.dist td.num { background-repeat: no-repeat; background-position: right center; }
table.dist td.zero { color: var(--faint); }
.sigword { display: inline-block; font-size: 11px; line-height: 16px; padding: 0 5px; border-radius: 8px;
  background: #e3f1ea; color: var(--good); font-weight: 600; margin-left: 4px; }
.mark { font-weight: 600; white-space: nowrap; }
.mark.up { color: var(--good); }
.mark.down { color: var(--bad); }
.dim, tr.dim td { color: var(--faint); }
.badge { display: inline-block; font-size: 11px; line-height: 16px; padding: 0 6px; border-radius: 8px;
  background: var(--panel); color: var(--muted); font-weight: 600; }
.badge.open { background: #fff1d6; color: #8a5a00; }
.badge.kind { font-weight: 500; }
tr.open td { color: var(--muted); }
tr.whole td { font-weight: 600; border-top: 1px solid #cbd2d9; }
.legend { color: var(--muted); font-size: 12px; margin: 8px 0 0; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; vertical-align: -1px;
  margin: 0 4px 0 10px; }
.legend i:first-child { margin-left: 0; }
footer { margin-top: 32px; color: var(--faint); font-size: 12px; overflow-wrap: anywhere; }
@media (max-width: 640px) {
  body { padding: 16px 14px 32px; }
  h1 { font-size: 22px; }
  .cards { gap: 8px; }
  .cards div { flex: 1 1 130px; }
}
""" + _stacking("stack", 600) + _stacking("stack-wide", 1000) + """\
@media print {
  body { padding: 0; font-size: 11pt; }
  main { max-width: none; }
  .glance a { color: var(--ink); }
  .howto { background: none; border-left: 3px solid var(--line); border-radius: 0; }
  h2, h3 { break-after: avoid; }
  svg.chart, tr, .howto { break-inside: avoid; }
  section.funnel, section.micro { break-before: page; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""

# default-src 'none': the page may load nothing at all (no fonts, images, scripts, frames).
CSP = "default-src 'none'; style-src 'unsafe-inline'"

SIGNIFICANT = ("significant = unlikely to be chance: the p-value (adjusted for the many comparisons on the page, "
               "Benjamini-Hochberg) is below 0.05.")


def render_html(result: AnalysisResult) -> str:
    """The whole result as one HTML document (UTF-8, ends with a newline)."""
    funnels = result.per_funnel   # with --report time (breakdown, trend) a funnel may lack its step table
    currency = result.meta.currency
    body = [_header(result, funnels)]
    for i, reports in enumerate(funnels, 1):
        body.append(_funnel_section(reports, i, currency))
    if result.micro is not None:
        body.append(_micro_section(result.micro, currency))
    if not funnels and result.micro is None:
        body.append('<section><p class="sub">Nothing to show: the result holds no funnel and no '
                    'micro-conversion report.</p></section>')
    body.append(footer(result.meta))
    return document(_page_title(result.meta, funnels), body)


def document(title: str, body: list[str]) -> str:
    """The page around ``body`` (HTML fragments): the policy that loads nothing, the CSS, ``title``
    (plain text, escaped here) for the browser tab and a printed page's header. Every report's
    page (analyze, drivers) is one of these, so they look and print alike."""
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="microconv">',
        f"<title>{escape(title)}</title>",
        f"<style>\n{CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        *body,
        "</main>",
        "</body>",
        "</html>",
    ]) + "\n"


def _page_title(meta: RunMeta, funnels: tuple[FunnelReports, ...]) -> str:
    """What a browser tab, a saved file and a printed page header show: the title and the dates."""
    title = meta.title or ("Funnel report" + (f" · {funnels[0].label}" if len(funnels) == 1 else ""))
    dates = _date_range(meta)
    return f"{title} · {dates}" if dates else title


# ---------------------------------------------------------------------------------------------
# Small pieces


def _e(value) -> str:
    return escape(str(value))


def _ok(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def _w(rate: float, scale: float = 1.0) -> str:
    """A CSS percentage for ``rate`` on an axis from 0 to ``scale``, clamped to [0, 100] (the pages
    report's exit-rate bars)."""
    if not _ok(rate) or not scale:
        return "0%"
    return f"{max(0.0, min(100.0, rate / scale * 100)):.2f}%"


def _n(n) -> str:
    return f"{int(n):,}"


def _cls(*names: str) -> str:
    """A class attribute for the non-empty ``names``, or nothing."""
    names = [n for n in names if n]
    return f' class="{" ".join(names)}"' if names else ""


def _num(text: str) -> str:
    """A right-aligned cell of tabular figures."""
    return f'<td class="num">{_e(text)}</td>'


def _notes(items: list[tuple[str, str]]) -> str:
    if not items:
        return ""
    lines = "".join(f'<li class="{cls}">{_e(text)}</li>' if cls else f"<li>{_e(text)}</li>" for cls, text in items)
    return f'<ul class="notes">{lines}</ul>'


_TAG = re.compile(r"<[^>]+>")
_TD = re.compile(r"<td(?=[ >])")


def _table(cls: str, head: list[str], rows: list[str], stack: str | None = None) -> str:
    """A table whose rows become labelled cards on a narrow screen (``stack``: below 600 px,
    ``stack-wide``: below 1000 px for tables of many columns; None: never, for a matrix). Each cell
    gets its column's name as ``data-label`` (the column heads are escaped text already)."""
    if stack:
        labels = [" ".join(_TAG.sub(" ", th).split()) for th in head]
        rows = [_labelled(row, labels) for row in rows]
    classes = f"{cls} {stack}" if stack else cls
    return (f'<div class="wide"><table class="{classes}"><thead><tr>{"".join(head)}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _labelled(row: str, labels: list[str]) -> str:
    """``row`` with ``data-label`` on its i-th ``<td`` (data text is escaped, so a ``<td`` is a cell)."""
    index = iter(range(len(labels) + 1000))

    def label(match: re.Match) -> str:
        i = next(index)
        return f'<td data-label="{labels[i]}"' if i < len(labels) and labels[i] else "<td"
    return _TD.sub(label, row)


def _caption(text: str) -> str:
    return f'<p class="caption">{_e(text)}</p>'


def _howto(text: str) -> str:
    """The few lines a reader without the docs needs before the numbers (``text`` is fixed prose
    with data strings already escaped)."""
    return f'<p class="howto"><b>How to read this:</b> {text}</p>'


def _stamp(ts: pd.Timestamp | None) -> str:
    if ts is None:
        return ""
    return ts.strftime("%Y-%m-%d %H:%M") + (f" {ts.tzname()}" if ts.tzinfo is not None else "")


def _date_range(meta: RunMeta) -> str:
    """``2026-10-01 – 2026-10-31``: the days of the first and the last event."""
    if meta.first_ts is None or meta.last_ts is None:
        return ""
    first, last = meta.first_ts.strftime("%Y-%m-%d"), meta.last_ts.strftime("%Y-%m-%d")
    return first if first == last else f"{first} – {last}"


def _value_word(currency: str | None) -> str:
    """The unit of money columns: the currency code, or "value" when the config names none."""
    return currency or "value"


def _p_cell(p: float, significant: bool, *, too_small: bool = False) -> str:
    """The adjusted p-value as people read it (``< 0.001``, ``0.043``), with the word
    "significant" beside it when it is; an empty cell when there is no test."""
    if too_small:
        return '<td class="num dim">too few to judge</td>'
    if not _ok(p):
        return '<td class="num"></td>'
    word = '<span class="sigword">significant</span>' if significant else ""
    return f'<td class="num{" wrap" if significant else ""}">{_e(p_value(p))}{word}</td>'


# The pieces other reports' pages (render.drivers, render.pages) are built of, under public names.
table, num_cell, howto, caption, p_cell, date_range, bar_width = _table, _num, _howto, _caption, _p_cell, _date_range, _w


# ---------------------------------------------------------------------------------------------
# The run


def _header(result: AnalysisResult, funnels: tuple[FunnelReports, ...]) -> str:
    parts = ['<header class="run">', masthead(result.meta, "Funnel report", _overview(result, funnels))]
    notes = [*map(str, result.warnings), *result.quality_notes]
    if notes:
        parts.append(notices(notes))
    links = []
    for i, reports in enumerate(funnels, 1):
        f = reports.steps
        end = ""
        if f is not None and f.steps and f.entrants:
            end = (f' <span class="num">· {_e(pct(f.steps[-1].rate_from_start))} of {_e(_n(f.entrants))} '
                   f'{_e(f.unit)} reach the last step')
            worst = f.largest_drop_step
            if worst is not None:
                end += f"; most are lost before {_e(repr(f.steps[worst - 1].name))}"
            end += "</span>"
        links.append(f'<li><a href="#funnel-{i}">{_e(reports.label)}</a>{end}</li>')
    if result.micro is not None:
        m = result.micro
        best = _best_micro(m)
        end = f' <span class="num">· {_e(best)}</span>' if best else ""
        links.append(f'<li><a href="#micro">Micro-conversions → {_e(m.macro)}</a>{end}</li>')
    if links:
        parts.append(f'<nav class="glance"><h2>At a glance</h2><ol>{"".join(links)}</ol></nav>')
    parts.append("</header>")
    return "\n".join(parts)


def masthead(meta: RunMeta, kind: str, overview: str) -> str:
    """The top of a report's page: its title (the config's, else ``kind``; with a title, ``kind``
    above it as a kicker), the data's dates before ``overview`` (plain text), when it was made, and
    cards of the users, events, time span and sources. Inside ``<header class="run">``."""
    title = meta.title or kind
    cards = [("Users", _n(meta.users), "") if meta.users is not None else None, ("Events", _n(meta.events), "")]
    cards = [c for c in cards if c]
    if meta.first_ts is not None and meta.last_ts is not None:
        span = (meta.last_ts - meta.first_ts).total_seconds()
        cards.append(("Data from", f"{_stamp(meta.first_ts)} to {_stamp(meta.last_ts)} ({duration(span) or '0s'})",
                      "small"))
    if meta.sources:
        cards.append(("Source" if len(meta.sources) == 1 else f"Sources ({len(meta.sources)})",
                      ", ".join(meta.sources), "small"))
    dl = "".join(f"<div><dt>{_e(k)}</dt><dd{_cls(c)}>{_e(v)}</dd></div>" for k, v, c in cards)
    dates = f"<b>{_e(_date_range(meta))}</b> · " if _date_range(meta) else ""
    made = f'<p class="sub">generated {_e(_stamp(meta.generated_at))}</p>' if meta.generated_at is not None else ""
    kicker = [f'<p class="kicker">{_e(kind)}</p>'] if meta.title else []
    return "\n".join([*kicker, f"<h1>{_e(title)}</h1>", f'<p class="dates">{dates}{_e(overview)}</p>', made,
                      f'<dl class="cards">{dl}</dl>'])


def notices(items: list[str]) -> str:
    """Warnings and data-quality notes in a box under the header (plain text, escaped here)."""
    return '<ul class="notices">' + "".join(f"<li>{_e(n)}</li>" for n in items) + "</ul>"


def _best_micro(m: MicroReport) -> str:
    """The significant micro-conversion with the largest lift, as a line for the summary."""
    rows = m.rows[m.rows["significant"].astype(bool) & ~m.rows["implied"].astype(bool)
                  & ~m.rows["too_few"].astype(bool)]
    rows = rows[rows["lift"] > 1]
    if not len(rows):
        return ""
    top = rows.loc[rows["lift"].idxmax()]
    return f"users who did {top['label']} bought {top['lift']:.2f}× as often" if m.macro == "purchase" else (
        f"users who did {top['label']} reached {m.macro} {top['lift']:.2f}× as often")


def _overview(result: AnalysisResult, funnels: tuple[FunnelReports, ...]) -> str:
    bits = [count(len(funnels), "funnel")] if funnels else []
    if result.micro is not None:
        bits.append(f"micro-conversions against {result.micro.macro}")
    return " and ".join(bits) if bits else "no tables"


FUNNEL_FOOTER = ("Funnel rates count each entrant once, in the window the funnel allows; 95% intervals show how "
                 "far a rate could move by chance.")


def footer(meta: RunMeta, note: str = FUNNEL_FOOTER) -> str:
    """What made the page, when, from which data; then ``note`` (plain text) on how to trust it."""
    when = f" on {_stamp(meta.generated_at)}" if meta.generated_at is not None else ""
    data = f" from {', '.join(meta.sources)}" if meta.sources else ""
    return f"<footer>Made with microconv{_e(when)}{_e(data)}. {_e(note)}</footer>"


# ---------------------------------------------------------------------------------------------
# A funnel and the tables under it


def _funnel_section(reports: FunnelReports, index: int, currency: str | None) -> str:
    f = reports.steps
    parts = [f'<section class="funnel" id="funnel-{index}">', f"<h2>{_e(reports.label)}</h2>"]
    if f is not None:
        parts.append(f'<p class="sub">{_e(" · ".join(describe(f)))}</p>')
        parts.append(_steps(f, currency))
    parts += [_time(reports.time)] if reports.time is not None and len(reports.time.frame) else []
    parts += [_breakdown(reports.breakdown, f)] if reports.breakdown is not None else []
    parts += [_trend(reports.trend)] if reports.trend is not None and len(reports.trend.frame) else []
    parts.append("</section>")
    return "\n".join(parts)


def _steps(f: FunnelResult, currency: str | None) -> str:
    worst = f.largest_drop_step
    waiting, valued = f.in_progress > 0, f.revenue is not None
    unit = _e(f.unit)
    howto = (f"each bar is the share of the {unit} who started (step 1) that got as far as the step; the pale part "
             "is who got to the step before but not (yet) to this one, in red where the most dropped out. "
             "Start with the red step.")
    if waiting:
        howto += (f" {unit.capitalize()} still inside their window at the end of the data are "
                  "<i>in progress</i>: not lost yet.")
    head = ["<th>step</th>", f'<th class="num">{unit}</th>', '<th class="num">of start</th>',
            '<th class="num">of previous</th>', '<th class="num">dropped</th>', '<th class="num">median time</th>']
    head += ['<th class="num">in progress</th>'] * waiting
    head += [f'<th class="num">value lost ({_e(_value_word(currency))})</th>'] * valued
    rows = []
    for s in f.steps:
        mark = s.step == worst
        dropped = ""
        if s.step > 1:
            dropped = (f'<td class="num dropmark">{_e(_n(s.dropped))} ▼</td>' if mark else _num(_n(s.dropped)))
        optional = ' <span class="dim">(optional)</span>' if s.step in f.optional else ""
        cells = [f'<td class="name"><span class="stepno">{s.step}.</span>{_e(s.name)}{optional}</td>',
                 _num(_n(s.users)), _num(pct(s.rate_from_start)),
                 _num(pct(s.rate_from_previous) if s.step > 1 else ""), dropped or '<td class="num"></td>',
                 _num(duration(s.median_seconds_from_previous))]
        if waiting:
            cells.append(_num(_n(s.in_progress) if s.in_progress else ""))
        if valued:
            cells.append(_num(money(s.value_lost, currency) if s.step > 1 else ""))
        rows.append(f'<tr{_cls("worst" if mark else "")}>{"".join(cells)}</tr>')
    notes = []
    if worst is not None:
        s = f.steps[worst - 1]
        notes.append(("worst", f"largest drop-off: {count(s.dropped, f.unit[:-1])} before {s.name!r}"))
    notes += [("", note) for note in caveats(f, currency)]
    if valued and not currency:
        notes.append(("", "value: in the units of the data's value column (the config sets no currency)"))
    return _howto(howto) + funnel_chart(f) + _table("steps", head, rows, stack="stack") + _notes(notes)


def _time(t: TimeResult) -> str:
    unit = _e(t.unit)
    head = ["<th>from → to</th>", f'<th class="num">{unit}</th>',
            *(f'<th class="num">{q}</th>' for q in ("p25", "median", "p75", "p90"))]
    rows = []
    last = len(t.frame) - 1
    frame = t.frame
    for i, row in enumerate(frame.itertuples(index=False)):
        whole = i == last and i > 0 and row.from_step == 1  # the whole funnel follows the transitions
        rows.append(f'<tr{_cls("whole" if whole else "")}><td class="name">{_e(row.name)}</td>{_num(_n(row.units))}'
                    f"{_num(duration(row.p25_seconds))}{_num(duration(row.median_seconds))}"
                    f"{_num(duration(row.p75_seconds))}{_num(duration(row.p90_seconds))}</tr>")
    howto = (f"how long {unit} took from one step to the next. The median is the typical time: half were faster; "
             "p90: nine in ten were faster. The second table counts them by how long they took: a second bump "
             "(days rather than minutes) is people who came back later.")
    return (f'<h3>Time to convert <span class="dim">· {unit}</span></h3>' + _howto(howto)
            + _table("time", head, rows, stack="stack") + _distribution(t))


def _distribution(t: TimeResult) -> str:
    """Buckets as rows, transitions as columns: every count printed, shaded by its share of the
    column's largest bucket (a histogram read downwards), which fits a narrow screen."""
    frame = t.frame
    columns = [b for b, _ in BUCKETS]
    counts = frame[columns].to_numpy()
    shown = [j for j in range(len(columns)) if counts[:, j].any()]
    if not shown:
        return ""
    shown = list(range(shown[0], shown[-1] + 1))       # empty buckets between kept: the gap is the finding
    tops = counts.max(axis=1)
    head = ["<th>took</th>", *(f'<th class="num">{_e(name)}</th>' for name in frame["name"])]
    rows = []
    for j in shown:
        cells = []
        for i in range(len(frame)):
            c = int(counts[i, j])
            if not c:
                cells.append('<td class="num zero">0</td>')
                continue
            share = c / tops[i] * 100 if tops[i] else 0
            cells.append(f'<td class="num" style="background-image:linear-gradient(90deg,#c9dbf8,#c9dbf8);'
                         f'background-size:{share:.0f}% 70%">{_e(_n(c))}</td>')
        rows.append(f"<tr><td>{_e(BUCKET_LABELS[j])}</td>{''.join(cells)}</tr>")
    return (_table("dist", head, rows)
            + _caption(f"{t.unit} per time bucket (m = minutes, h = hours, d = days); the shading is the share of the "
                       "column's largest bucket"))


def _breakdown(b: BreakdownResult, f: FunnelResult | None) -> str:
    steps = b.steps
    seg = b.segments
    names = steps.loc[steps["segment"] == seg["segment"].iloc[0], "name"].tolist() if len(steps) and len(seg) else []
    overall = f.steps[-1].rate_from_start if f is not None and f.steps else float("nan")
    unit = _e(b.unit)
    head = ["<th>segment</th>", f'<th class="num">{unit}</th>', '<th class="num">share</th>']
    head += [f'<th class="num">{_e(n)}</th>' for n in names[1:-1]]
    head += ['<th class="num">converted</th>', '<th class="num">95% interval</th>', '<th class="num">the rest</th>',
             '<th class="num">p adj</th>', "<th>verdict</th>"]
    rows = []
    for row in seg.itertuples(index=False):
        mid = steps.loc[steps["segment"] == row.segment, "rate_from_start"].tolist()[1:-1]
        direction = "up" if row.rate > row.rate_rest else "down"
        cls = ["sig", direction] if row.significant else (["dim"] if row.too_small else [])
        verdict = ""
        if row.significant:
            verdict = f'<span class="mark {direction}">{"▲ above" if direction == "up" else "▼ below"} the rest</span>'
        rows.append(f"<tr{_cls(*cls)}>"
                    f'<td class="name">{_e(row.segment)}</td>{_num(_n(row.entrants))}{_num(pct(row.share))}'
                    + "".join(_num(pct(m)) for m in mid)
                    + f"{_num(pct(row.rate))}{_num(interval(row.rate_low, row.rate_high))}{_num(pct(row.rate_rest))}"
                    + _p_cell(row.p_adjusted, bool(row.significant), too_small=bool(row.too_small))
                    + f"<td>{verdict}</td></tr>")
    how = " · ".join([attribution_text(b.attribution), *([f"top {b.top}"] if b.top else [])])
    notes = []
    if b.missing_share:
        notes.append(f"{pct(b.missing_share)} of entrants had no {b.by} value")
    howto = (f"each line is one value of {_e(b.by)}: the dot is the share of its {unit} that reached the last "
             "step, the whisker the range the true rate likely lies in (95%). Where the whisker crosses the dashed "
             "line (everyone's rate), the difference may be chance; green and red segments differ from the rest "
             "for real. Wide whiskers mean few people: wait for more data before acting.")
    chart = breakdown_chart(b, overall if _ok(overall) else None)
    caption = ("converted = reached the last step; each segment is tested against the rest of the entrants "
               "(chi-square, or Fisher's exact test for small counts); " + SIGNIFICANT
               + " 'too few to judge' = under 30 in the segment or the rest, or under 5 conversions expected.")
    return (f'<h3>By {_e(b.by)} <span class="dim">· {_e(how)}</span></h3>' + _howto(howto) + chart
            + _table("breakdown", head, rows, stack="stack-wide") + _notes([("", n) for n in notes])
            + _caption(caption))


def _trend(t: TrendResult) -> str:
    frame = t.frame
    names = frame.loc[frame["period"] == frame["period"].iloc[0], "name"].tolist()
    head = [f"<th>{_e(t.period)} of entry</th>", f'<th class="num">{_e(t.unit)}</th>']
    head += [f'<th class="num">{_e(n)}</th>' for n in names[1:]]
    head += ['<th class="num">in progress</th>', "<th></th>"]
    rows_html = []
    for period, rows in frame.groupby("period", sort=False):
        rates = rows.sort_values("step")["rate_from_start"].tolist()
        is_open = bool(rows["open"].iloc[0])
        waiting = int(rows["in_progress"].sum())
        badge = '<span class="badge open">open</span>' if is_open else ""
        rows_html.append(f'<tr{_cls("open" if is_open else "")}><td class="period">{_e(period)}</td>'
                         f"{_num(_n(rows['users'].iloc[0]))}" + "".join(_num(pct(r)) for r in rates[1:])
                         + f"{_num(_n(waiting) if waiting else '')}<td>{badge}</td></tr>")
    period = _e(t.period)
    howto = (f"the {_e(t.unit)} who entered in each {period}, and the share of them that reached each later step. "
             f"A falling line is a step getting worse. An <i>open</i> {period} (hollow dot, dashed line) is too "
             "recent: some of its people still have time to convert, so its numbers will still rise.")
    chart = trend_chart(t) if len(names) > 1 else ""
    return (f'<h3>By {period} of entry <span class="dim">· {_e(t.unit)}</span></h3>' + _howto(howto) + chart
            + _table("trend", head, rows_html, stack="stack-wide")
            + _caption(f"cohort = the attempts whose first step is in the {t.period} (someone who came back is in "
                       f"each of their {t.period}s); open = the {t.period} ended less than a funnel window before "
                       "the end of the data"))


# ---------------------------------------------------------------------------------------------
# The micro-conversion report


def _micro_section(m: MicroReport, currency: str | None) -> str:
    rate = m.converters / m.users if m.users else float("nan")
    sub = [count(m.users, "user"), f"{m.converters:,} converted ({pct(rate)})"]
    if m.average_value is not None:
        sub.append(f"average {m.macro} {money(m.average_value, currency)}" if currency
                   else f"average value {money(m.average_value)}")
    macro = _e(m.macro)
    head = ["<th>conversion</th>", "<th>kind</th>", '<th class="num">users</th>', '<th class="num">share</th>',
            f'<th class="num">{macro} rate with</th>', '<th class="num">without</th>',
            '<th class="num">lift</th>', '<th class="num">95% interval</th>', '<th class="num">p adj</th>',
            '<th class="num">adj. odds ratio (95%)</th>',
            f'<th class="num">+{_e(_value_word(currency))} per user</th>']
    rows = []
    for row in m.rows.itertuples(index=False):
        lift, ci = lift_text(row)
        cls = ' class="dim"' if row.too_few else ""
        p = ('<td class="num"></td>' if row.implied or row.too_few
             else _p_cell(row.p_adjusted, bool(row.significant)))
        odds = ""
        if _ok(row.adjusted_odds_ratio):
            odds = (f"{_e(f'{row.adjusted_odds_ratio:.2f} ({row.adjusted_low:.2f}–{row.adjusted_high:.2f})')}"
                    + ('<span class="sigword">significant</span>' if row.adjusted_significant else ""))
        rows.append(f"<tr{cls}><td class=\"name\">{_e(row.label)}</td>"
                    f'<td><span class="badge kind">{_e(row.kind)}</span></td>'
                    f"{_num(_n(row.users))}{_num(pct(row.share))}{_num(pct(row.macro_rate_with))}"
                    f"{_num(pct(row.macro_rate_without))}{_num(lift)}{_num(ci)}{p}"
                    f'<td class="num{" wrap" if row.adjusted_significant else ""}">{odds}</td>'
                    f"{_num(money(row.incremental_value, currency))}</tr>")
    howto = (f"does doing a small action (a micro-conversion) go with more {macro}s? Each line compares users "
             f"who did it with those who did not, before their first {macro}: a lift of 2× means twice the {macro} "
             "rate. Right of the dashed 1× line: more likely; left: less. Green and red ones are "
             "clear of chance. <i>Implied</i> ones (everyone who converted did them, such as the funnel's own "
             "steps) are listed under the chart: they are on the way, not a cause. A lift is an association: "
             f"it tells you who {macro}s, not what makes them.")
    value = (f"+{_value_word(currency)} per user = (rate with − rate without) × average {m.macro} value, "
             "can be negative; " if m.average_value is not None else "")
    caption = (f"Only actions before a user's first {m.macro} count. share = of all users; adj. odds ratio: with "
               "every other conversion held fixed (one model), above 1 = more likely; " + value + SIGNIFICANT
               + " 'too few' = under 30 users on a side or under 5 converters expected.")
    return "\n".join([
        '<section class="micro" id="micro">',
        f"<h2>Micro-conversions → {macro}</h2>",
        f'<p class="sub">{_e(" · ".join(sub))}</p>',
        _howto(howto),
        micro_chart(m),
        _table("micro", head, rows, stack="stack-wide"),
        _caption(caption),
        _caption(m.model_note) if m.model_note else "",
        _micro_groups(m, "segments") if m.segments is not None else "",
        _micro_groups(m, "periods") if m.periods is not None else "",
        "</section>",
    ])


def _micro_groups(m: MicroReport, kind: str) -> str:
    """Segments (ranked by early read) or cohorts: observed and expected macro rate, each
    conversion's share; a significant difference is marked."""
    head, cells, labels = m.groups(kind)
    segments = kind == "segments"
    what, _ = micro_groups_text(m, kind)
    macro = _e(m.macro)
    th = ['<th>' + _e("segment" if segments else m.period) + '</th>', '<th class="num">users</th>',
          f'<th class="num">{macro} observed</th>', '<th class="num">95% interval</th>',
          '<th class="num">early read</th>', '<th class="num">95% interval</th>',
          *(f'<th class="num">{_e(name)}</th>' for name in labels)]
    rows = []
    for g, row in enumerate(head.itertuples(index=False)):
        key = row.segment if segments else row.period
        badge = ' <span class="badge open">open</span>' if not segments and row.open else ""
        shares = "".join(f'<td class="num">{_e(pct(share))}'
                         + ('<span class="differs"> ◆</span>' if mark is True else "") + "</td>"
                         for share, mark in cells.iloc[g])
        rows.append(f'<tr><td class="{"name" if segments else "period"}">{_e(key)}{badge}</td>'
                    f"{_num(_n(row.population))}{_num(pct(row.macro_rate))}"
                    f"{_num(interval(row.macro_rate_low, row.macro_rate_high))}{_num(pct(row.macro_expected))}"
                    f"{_num(interval(row.macro_expected_low, row.macro_expected_high))}{shares}</tr>")
    group = "segment" if segments else m.period
    versus = f"the {m.control} segment" if m.control else "the other users"
    howto = (f"per {_e(group)}: its observed {macro} rate, and its <i>early read</i>, the rate its users' small "
             f"actions predict. The early read is steadier (narrower interval), so it ranks {_e(group)}s before "
             f"enough {macro}s have happened. An observed rate far outside the early read means those users "
             f"{macro} for a reason the tracked actions do not show. The other columns: the share of its users "
             f"who did each action; ◆ marks a share clearly unlike that of {_e(versus)}.")
    caption = (f"Each share: of the {group}'s users, who did it before any {m.macro}; ◆ = differs significantly from "
               f"{versus} (Benjamini-Hochberg over the whole table, p < 0.05). early read = the {m.macro} rate "
               f"expected from the {group}'s micro-conversions (one model over everyone)."
               + (f" Note: {m.segment_note}." if segments and m.segment_note else ""))
    return (f"<h3>Micro-conversions {_e(what)}" + (' <span class="dim">· ranked by early read</span>' if segments
                                                   else "") + "</h3>"
            + _howto(howto) + _table(f"micro-{kind}", th, rows, stack="stack-wide") + _caption(caption))
