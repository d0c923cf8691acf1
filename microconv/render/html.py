"""One self-contained HTML page: inline CSS, CSS-drawn bars, no scripts, no fonts, nothing fetched.

A view of the result like the other renderers: it formats, it never counts. Every string that
comes from the data or the config goes through ``escape.html`` (``html.escape`` after control
characters are shown as ``\\x1b``); the output carries no generation time, so the same result gives
the same bytes (golden tests).
"""
from __future__ import annotations

import math

import pandas as pd

from ..reports.results import (BUCKETS, AnalysisResult, BreakdownResult, FunnelReports, FunnelResult, MicroReport, RunMeta, TimeResult,
                       TrendResult)
from .escape import html as escape
from .format import (BREAKDOWN_CAPTION, BUCKET_LABELS, MICRO_CAPTION, TIME_CAPTION, micro_groups_text,
                     TREND_CAPTION, attribution_text, caveats, count, describe, duration, interval, lift_text, money,
                     odds_text, p_text, pct, segment_p_text, share_text)

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
h1 { font-size: 24px; margin: 0 0 4px; letter-spacing: -0.01em; }
h2 { font-size: 19px; margin: 0; letter-spacing: -0.01em; }
h3 { font-size: 15px; margin: 28px 0 8px; }
.sub { color: var(--muted); margin: 2px 0 0; }
.num, td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
header.run { border-bottom: 1px solid var(--line); padding-bottom: 20px; margin-bottom: 8px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0 0; padding: 0; }
.cards div { background: var(--panel); border-radius: 8px; padding: 10px 14px; min-width: 140px; }
.cards dt { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
.cards dd { margin: 2px 0 0; font-size: 17px; font-weight: 600; font-variant-numeric: tabular-nums; }
.cards dd.small { font-size: 14px; font-weight: 500; overflow-wrap: anywhere; }
.notices { margin: 14px 0 0; padding: 10px 14px 10px 30px; background: #fff8e6; border-radius: 8px;
  color: #6b4e00; font-size: 13px; }
nav.toc { margin: 16px 0 0; font-size: 13px; }
nav.toc ol { margin: 4px 0 0; padding-left: 20px; columns: 2; column-gap: 32px; }
nav.toc a { color: var(--accent); text-decoration: none; }
nav.toc .num { color: var(--muted); }
section { padding: 28px 0 8px; border-bottom: 1px solid var(--line); break-inside: avoid-page; }
section:last-of-type { border-bottom: 0; }
.wide { overflow-x: auto; margin: 12px 0 0; }
table { border-collapse: collapse; width: 100%; }
th { font-size: 12px; font-weight: 600; color: var(--muted); text-align: left; padding: 6px 10px;
  border-bottom: 1px solid #cbd2d9; vertical-align: bottom; white-space: nowrap; }
td { padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: middle; }
th:first-child, td:first-child { padding-left: 0; }
th:last-child, td:last-child { padding-right: 0; }
td.name { overflow-wrap: break-word; }
td.period { font-variant-numeric: tabular-nums; white-space: nowrap; }
.stepno { color: var(--faint); font-variant-numeric: tabular-nums; margin-right: 4px; }
.axis { display: flex; justify-content: space-between; font-weight: 400; color: var(--faint); }
.track { position: relative; height: 22px; background: var(--panel); border-radius: 4px; min-width: 240px; }
.track .fill { position: absolute; left: 0; top: 0; bottom: 0; background: var(--accent); border-radius: 4px; }
.track .lost { position: absolute; top: 0; bottom: 0; background: var(--accent-soft); border-radius: 0 4px 4px 0; }
tr.worst .track .lost { background: var(--drop-soft); }
.track .label { position: absolute; top: 0; line-height: 22px; font-size: 12px; white-space: nowrap;
  font-variant-numeric: tabular-nums; }
.track .label.in { color: #fff; padding-left: 8px; }
.track .label.out { color: var(--ink); padding-left: 6px; }
.track .label b { font-weight: 600; }
tr.worst td { background: #fdf3f2; }
tr.worst td:first-child { box-shadow: inset 3px 0 0 var(--drop); padding-left: 8px; }
.dropmark { color: var(--drop); font-weight: 600; }
.notes { list-style: none; margin: 10px 0 0; padding: 0; color: var(--muted); font-size: 13px; }
.notes li { margin: 3px 0; padding-left: 18px; position: relative; }
.notes li::before { content: "\\2022"; position: absolute; left: 5px; color: var(--faint); }
.notes li.worst { color: var(--drop); }
.notes li.worst::before { content: "\\25BC"; left: 0; font-size: 11px; color: var(--drop); }
.caption { color: var(--muted); font-size: 12px; margin: 8px 0 0; max-width: 900px; }
.hist { display: flex; align-items: flex-end; gap: 2px; height: 26px; width: 176px; }
.hist span { flex: 1; background: var(--accent); border-radius: 1px 1px 0 0; min-height: 0; }
.hist span.zero { background: var(--line); height: 1px; }
.histaxis { display: flex; justify-content: space-between; width: 176px; font-weight: 400; color: var(--faint); }
.ci { position: relative; height: 20px; min-width: 180px; background: var(--panel); border-radius: 3px; }
.ci .fill { position: absolute; left: 0; top: 5px; height: 10px; background: var(--accent-soft);
  border-radius: 0 2px 2px 0; }
.ci .whisker { position: absolute; top: 9px; height: 2px; background: var(--ink); }
.ci .whisker::before, .ci .whisker::after { content: ""; position: absolute; top: -4px; width: 2px; height: 10px;
  background: var(--ink); }
.ci .whisker::before { left: 0; }
.ci .whisker::after { right: 0; }
.ci .dot { position: absolute; top: 6px; width: 8px; height: 8px; margin-left: -4px; border-radius: 50%;
  background: var(--accent); border: 1px solid #fff; }
.ci .ref { position: absolute; top: 0; bottom: 0; border-left: 1px dashed var(--muted); }
tr.sig.up .ci .dot { background: var(--good); }
tr.sig.down .ci .dot { background: var(--bad); }
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
.mini { position: relative; width: 120px; height: 14px; }
.mini span { position: absolute; left: 0; height: 5px; border-radius: 0 2px 2px 0; }
.mini .with { top: 1px; background: var(--accent); }
.mini .without { top: 8px; background: #cbd2d9; }
.legend { color: var(--muted); font-size: 12px; margin: 8px 0 0; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; vertical-align: -1px;
  margin: 0 4px 0 10px; }
.legend i:first-child { margin-left: 0; }
footer { margin-top: 32px; color: var(--faint); font-size: 12px; }
@media print {
  body { padding: 0; font-size: 12px; }
  nav.toc { display: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""

# default-src 'none': the page may load nothing at all (no fonts, images, scripts, frames).
CSP = "default-src 'none'; style-src 'unsafe-inline'"


def render_html(result: AnalysisResult) -> str:
    """The whole result as one HTML document (UTF-8, ends with a newline)."""
    funnels = result.per_funnel   # with --report time (breakdown, trend) a funnel may lack its step table
    body = [_header(result, funnels)]
    for i, reports in enumerate(funnels, 1):
        body.append(_funnel_section(reports, i))
    if result.micro is not None:
        body.append(_micro_section(result.micro))
    if not funnels and result.micro is None:
        body.append('<section><p class="sub">Nothing to show: the result holds no funnel and no '
                    'micro-conversion report.</p></section>')
    body.append('<footer>Made with microconv. Counting rules: docs/semantics.md.</footer>')
    title = "Funnel report" + (f" · {funnels[0].label}" if len(funnels) == 1 else "")
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


# ---------------------------------------------------------------------------------------------
# Small pieces


def _e(value) -> str:
    return escape(str(value))


def _ok(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def _w(rate: float, scale: float = 1.0) -> str:
    """A CSS percentage for ``rate`` on an axis from 0 to ``scale``, clamped to [0, 100]."""
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


def _nice_max(value: float) -> float:
    """The axis end for rates up to ``value``: the first of a few round shares at or above it."""
    for top in (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8):
        if value <= top:
            return top
    return 1.0


def _axis(top: float) -> str:
    return f'<span class="axis"><span>0</span><span>{_e(pct(top).replace(".0%", "%"))}</span></span>'


def _notes(items: list[tuple[str, str]]) -> str:
    if not items:
        return ""
    lines = "".join(f'<li class="{cls}">{_e(text)}</li>' if cls else f"<li>{_e(text)}</li>" for cls, text in items)
    return f'<ul class="notes">{lines}</ul>'


def _table(cls: str, head: list[str], rows: list[str]) -> str:
    """A table in a box that scrolls sideways on narrow screens rather than squeezing the numbers."""
    return (f'<div class="wide"><table class="{cls}"><thead><tr>{"".join(head)}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _caption(text: str) -> str:
    return f'<p class="caption">{_e(text)}</p>'


def _stamp(ts: pd.Timestamp | None) -> str:
    if ts is None:
        return ""
    return ts.strftime("%Y-%m-%d %H:%M") + (f" {ts.tzname()}" if ts.tzinfo is not None else "")


# ---------------------------------------------------------------------------------------------
# The run


def _header(result: AnalysisResult, funnels: tuple[FunnelReports, ...]) -> str:
    meta: RunMeta = result.meta
    cards = [("Events", _n(meta.events), ""), ("Users", _n(meta.users), "")]
    if meta.first_ts is not None and meta.last_ts is not None:
        span = (meta.last_ts - meta.first_ts).total_seconds()
        cards.append(("Time span", f"{_stamp(meta.first_ts)} → {_stamp(meta.last_ts)} ({duration(span) or '0s'})",
                      "small"))
    if meta.sources:
        cards.append(("Source" if len(meta.sources) == 1 else f"Sources ({len(meta.sources)})",
                      ", ".join(meta.sources), "small"))
    dl = "".join(f"<div><dt>{_e(k)}</dt><dd{_cls(c)}>{_e(v)}</dd></div>" for k, v, c in cards)
    parts = ['<header class="run">', "<h1>Funnel report</h1>",
             f'<p class="sub">{_e(_overview(result, funnels))}</p>', f'<dl class="cards">{dl}</dl>']
    notices = [*map(str, result.warnings), *result.quality_notes]
    if notices:
        parts.append('<ul class="notices">' + "".join(f"<li>{_e(n)}</li>" for n in notices) + "</ul>")
    links = []
    for i, reports in enumerate(funnels, 1):
        f = reports.steps
        end = (f' <span class="num">· {_e(pct(f.steps[-1].rate_from_start))} of {_e(_n(f.entrants))} '
               f'{_e(f.unit)} reach the last step</span>') if f is not None and f.steps and f.entrants else ""
        links.append(f'<li><a href="#funnel-{i}">{_e(reports.label)}</a>{end}</li>')
    if result.micro is not None:
        links.append(f'<li><a href="#micro">Micro-conversions → {_e(result.micro.macro)}</a></li>')
    if len(links) > 1:
        parts.append(f'<nav class="toc"><ol>{"".join(links)}</ol></nav>')
    parts.append("</header>")
    return "\n".join(parts)


def _overview(result: AnalysisResult, funnels: tuple[FunnelReports, ...]) -> str:
    bits = [count(len(funnels), "funnel")] if funnels else []
    if result.micro is not None:
        bits.append(f"micro-conversions against {result.micro.macro}")
    return " and ".join(bits) if bits else "no tables"


# ---------------------------------------------------------------------------------------------
# A funnel and the tables under it


def _funnel_section(reports: FunnelReports, index: int) -> str:
    f = reports.steps
    parts = [f'<section class="funnel" id="funnel-{index}">', f"<h2>{_e(reports.label)}</h2>"]
    if f is not None:
        parts.append(f'<p class="sub">{_e(" · ".join(describe(f)))}</p>')
        parts.append(_steps(f))
    parts += [_time(reports.time)] if reports.time is not None and len(reports.time.frame) else []
    parts += [_breakdown(reports.breakdown, f)] if reports.breakdown is not None else []
    parts += [_trend(reports.trend)] if reports.trend is not None and len(reports.trend.frame) else []
    parts.append("</section>")
    return "\n".join(parts)


def _steps(f: FunnelResult) -> str:
    worst = f.largest_drop_step
    waiting, valued = f.in_progress > 0, f.revenue is not None
    head = ['<th>step</th>', f'<th>{_e(f.unit)} · of start</th>', '<th class="num">of previous</th>',
            '<th class="num">dropped</th>', '<th class="num">median time</th>']
    head += ['<th class="num">in progress</th>'] * waiting + ['<th class="num">value lost</th>'] * valued
    rows = []
    previous = None
    for s in f.steps:
        mark = s.step == worst
        bar = _funnel_bar(s.users, s.rate_from_start, previous, f.unit)
        dropped = ""
        if s.step > 1:
            dropped = (f'<td class="num dropmark">{_e(_n(s.dropped))} ▼</td>' if mark
                       else _num(_n(s.dropped)))
        optional = ' <span class="optional">(optional)</span>' if s.step in f.optional else ""
        cells = [f'<td class="name"><span class="stepno">{s.step}.</span>{_e(s.name)}{optional}</td>', f"<td>{bar}</td>",
                 _num(pct(s.rate_from_previous) if s.step > 1 else ""), dropped or _num(""),
                 _num(duration(s.median_seconds_from_previous))]
        if waiting:
            cells.append(_num(_n(s.in_progress) if s.in_progress else ""))
        if valued:
            cells.append(_num(money(s.value_lost) if s.step > 1 else ""))
        rows.append(f'<tr{_cls("worst" if mark else "")}>{"".join(cells)}</tr>')
        previous = s.rate_from_start
    notes = []
    if worst is not None:
        s = f.steps[worst - 1]
        notes.append(("worst", f"largest drop-off: {count(s.dropped, f.unit[:-1])} before {s.name!r}"))
    notes += [("", note) for note in caveats(f)]
    legend = ('<p class="legend"><i style="background:var(--accent)"></i>reached the step (bar length = share of '
              'the entrants)<i style="background:var(--accent-soft)"></i>lost since the previous step'
              '<i style="background:var(--drop-soft)"></i>the largest drop-off</p>')
    return _table("steps", head, rows) + legend + _notes(notes)


def _funnel_bar(users: int, rate: float, previous: float | None, unit: str) -> str:
    """The step's bar (length = share of the entrants), the share lost since the previous step in a
    lighter shade, and the label inside the bar when it fits, else just after it (over the lighter part)."""
    label = f"<b>{_e(_n(users))}</b> · {_e(pct(rate))}"
    lost = ""
    if previous is not None and _ok(previous) and _ok(rate) and previous > rate:
        lost = f'<span class="lost" style="left:{_w(rate)};width:{_w(previous - rate)}"></span>'
    if _ok(rate) and rate >= 0.4:
        where = 'class="label in" style="left:0"'
    else:
        where = f'class="label out" style="left:{_w(rate)}"'
    return (f'<div class="track" title="{_e(_n(users))} {_e(unit)}, {_e(pct(rate))} of the entrants">'
            f'<span class="fill" style="width:{_w(rate)}"></span>{lost}<span {where}>{label}</span></div>')


def _time(t: TimeResult) -> str:
    columns = [b for b, _ in BUCKETS]
    head = ["<th>from → to</th>", f'<th class="num">{_e(t.unit)}</th>',
            *(f'<th class="num">{q}</th>' for q in ("p25", "median", "p75", "p90")),
            f'<th>distribution<span class="histaxis"><span>{_e(BUCKET_LABELS[0])}</span>'
            f'<span>{_e(BUCKET_LABELS[-1])}</span></span></th>']
    rows = []
    last = len(t.frame) - 1
    for i, (row, counts) in enumerate(zip(t.frame.itertuples(index=False), t.frame[columns].to_numpy().tolist())):
        whole = i == last and i > 0 and row.from_step == 1  # the whole funnel follows the transitions
        rows.append(f'<tr{_cls("whole" if whole else "")}><td class="name">{_e(row.name)}</td>{_num(_n(row.units))}'
                    f"{_num(duration(row.p25_seconds))}{_num(duration(row.median_seconds))}"
                    f"{_num(duration(row.p75_seconds))}{_num(duration(row.p90_seconds))}"
                    f"<td>{_histogram(counts)}</td></tr>")
    caption = TIME_CAPTION.replace("one character per bucket", "one bar per bucket") + " (hover a bar for its count)"
    return (f"<h3>Time to convert <span class=\"dim\">· {_e(t.unit)}</span></h3>"
            + _table("time", head, rows) + _caption(caption))


def _histogram(counts: list[int]) -> str:
    top = max(counts, default=0)
    bars = []
    for label, c in zip(BUCKET_LABELS, counts):
        tip = f"{label}: {c:,}"
        if c:
            bars.append(f'<span style="height:{c / top * 100:.1f}%" title="{_e(tip)}"></span>')
        else:
            bars.append(f'<span class="zero" title="{_e(tip)}"></span>')
    described = ", ".join(f"{label} {c:,}" for label, c in zip(BUCKET_LABELS, counts))
    return f'<div class="hist" role="img" aria-label="{_e(described)}">{"".join(bars)}</div>'


def _breakdown(b: BreakdownResult, f: FunnelResult | None) -> str:
    steps = b.steps
    seg = b.segments
    names = steps.loc[steps["segment"] == seg["segment"].iloc[0], "name"].tolist() if len(steps) and len(seg) else []
    overall = f.steps[-1].rate_from_start if f is not None and f.steps else float("nan")
    highs = [x for x in [*seg["rate_high"], *seg["rate"], overall] if _ok(x)]
    top = _nice_max(max(highs, default=1.0))
    head = ["<th>segment</th>", f'<th class="num">{_e(b.unit)}</th>', '<th class="num">share</th>']
    head += [f'<th class="num">{_e(n)}</th>' for n in names[1:-1]]
    head += [f'<th>converted, 95% interval{_axis(top)}</th>', '<th class="num">converted</th>',
             '<th class="num">95% CI</th>', '<th class="num">rest</th>', '<th class="num">p adj</th>', "<th></th>"]
    rows = []
    for row in seg.itertuples(index=False):
        mid = steps.loc[steps["segment"] == row.segment, "rate_from_start"].tolist()[1:-1]
        direction = "up" if row.rate > row.rate_rest else "down"
        cls = ["sig", direction] if row.significant else (["dim"] if row.too_small else [])
        mark = ""
        if row.significant:
            mark = (f'<span class="mark {direction}" title="significantly {"above" if direction == "up" else "below"} '
                    f'the rest of the entrants">{"▲ above" if direction == "up" else "▼ below"}</span>')
        chart = _interval_bar(row.rate, row.rate_low, row.rate_high, overall, top)
        rows.append(f"<tr{_cls(*cls)}>"
                    f'<td class="name">{_e(row.segment)}</td>{_num(_n(row.entrants))}{_num(pct(row.share))}'
                    + "".join(_num(pct(m)) for m in mid)
                    + f"<td>{chart}</td>{_num(pct(row.rate))}{_num(interval(row.rate_low, row.rate_high))}"
                    f"{_num(pct(row.rate_rest))}"
                    f'<td class="num{" mark" if row.significant else ""}">{_e(segment_p_text(row))}</td>'
                    f"<td>{mark}</td></tr>")
    how = " · ".join([attribution_text(b.attribution), *([f"top {b.top}"] if b.top else [])])
    notes = []
    if b.missing_share:
        notes.append(f"{pct(b.missing_share)} of entrants had no {b.by} value")
    if _ok(overall):
        notes.append(f"dashed line: all entrants, {pct(overall)} converted")
    return (f'<h3>By {_e(b.by)} <span class="dim">· {_e(how)}</span></h3>'
            + _table("breakdown", head, rows)
            + _notes([("", n) for n in notes]) + _caption(BREAKDOWN_CAPTION))


def _interval_bar(rate: float, low: float, high: float, overall: float, top: float) -> str:
    parts = [f'<span class="fill" style="width:{_w(rate, top)}"></span>']
    if _ok(low) and _ok(high):
        parts.append(f'<span class="whisker" style="left:{_w(low, top)};width:{_w(high - low, top)}"></span>')
    if _ok(rate):
        parts.append(f'<span class="dot" style="left:{_w(rate, top)}"></span>')
    if _ok(overall):
        parts.append(f'<span class="ref" style="left:{_w(overall, top)}"></span>')
    tip = f"{pct(rate)} converted, 95% interval {interval(low, high)}"
    return f'<div class="ci" title="{_e(tip)}">{"".join(parts)}</div>'


def _trend(t: TrendResult) -> str:
    frame = t.frame
    names = frame.loc[frame["period"] == frame["period"].iloc[0], "name"].tolist()
    head = [f"<th>{_e(t.period)}</th>", f'<th class="num">{_e(t.unit)}</th>']
    head += [f'<th class="num">{_e(n)}</th>' for n in names[1:]]
    head += ["<th>reached the last step</th>" if len(names) > 1 else "<th></th>",
             '<th class="num">in progress</th>', "<th></th>"]
    last_rates = frame.loc[frame["step"] == frame["step"].max(), "rate_from_start"].tolist()
    top = _nice_max(max([r for r in last_rates if _ok(r)], default=1.0)) if len(names) > 1 else 1.0
    rows_html = []
    for period, rows in frame.groupby("period", sort=False):
        rates = rows.sort_values("step")["rate_from_start"].tolist()
        is_open = bool(rows["open"].iloc[0])
        waiting = int(rows["in_progress"].sum())
        bar = ""
        if len(rates) > 1:
            bar = (f'<div class="track" style="min-width:160px"><span class="fill" style="width:{_w(rates[-1], top)}">'
                   f'</span></div>')
        badge = '<span class="badge open">open</span>' if is_open else ""
        rows_html.append(f'<tr{_cls("open" if is_open else "")}><td class="period">{_e(period)}</td>'
                         f"{_num(_n(rows['users'].iloc[0]))}" + "".join(_num(pct(r)) for r in rates[1:])
                         + f"<td>{bar}</td>{_num(_n(waiting) if waiting else '')}<td>{badge}</td></tr>")
    note = (f'<p class="legend">bar: reached the last step, axis 0–{_e(pct(top).replace(".0%", "%"))}</p>'
            if len(names) > 1 else "")
    return (f"<h3>By {_e(t.period)} of entry <span class=\"dim\">· {_e(t.unit)}</span></h3>"
            + _table("trend", head, rows_html)
            + note + _caption(TREND_CAPTION))


# ---------------------------------------------------------------------------------------------
# The micro-conversion report


def _micro_section(m: MicroReport) -> str:
    rate = m.converters / m.users if m.users else float("nan")
    sub = [count(m.users, "user"), f"{m.converters:,} converted ({pct(rate)})"]
    if m.average_value is not None:
        sub.append(f"average value {m.average_value:,.2f}")
    rows_frame = m.rows
    rates = [x for x in [*rows_frame["macro_rate_with"], *rows_frame["macro_rate_without"]] if _ok(x)]
    top = _nice_max(max(rates, default=1.0))
    head = ["<th>conversion</th>", "<th>kind</th>", '<th class="num">users</th>', '<th class="num">share</th>',
            '<th class="num">with</th>', '<th class="num">without</th>', f"<th>with / without{_axis(top)}</th>",
            '<th class="num">lift</th>', '<th class="num">95% CI</th>', '<th class="num">p adj</th>',
            '<th class="num">adj. OR (95% CI)</th>', '<th class="num">+value</th>']
    rows = []
    for row in rows_frame.itertuples(index=False):
        lift, ci = lift_text(row)
        cls = ' class="dim"' if row.too_few else ""
        mini = (f'<div class="mini"><span class="with" style="width:{_w(row.macro_rate_with, top)}"></span>'
                f'<span class="without" style="width:{_w(row.macro_rate_without, top)}"></span></div>')
        rows.append(f"<tr{cls}><td class=\"name\">{_e(row.label)}</td>"
                    f'<td><span class="badge kind">{_e(row.kind)}</span></td>'
                    f"{_num(_n(row.users))}{_num(pct(row.share))}{_num(pct(row.macro_rate_with))}"
                    f"{_num(pct(row.macro_rate_without))}<td>{mini}</td>"
                    f"{_num(lift)}{_num(ci)}"
                    f'<td class="num{" mark" if row.significant else ""}">{_e(p_text(row))}</td>'
                    f'<td class="num{" mark" if row.adjusted_significant else ""}">{_e(odds_text(row))}</td>'
                    f"{_num(money(row.incremental_value))}</tr>")
    legend = ('<p class="legend"><i style="background:var(--accent)"></i>' + _e(m.macro) + ' rate of users who did it'
              '<i style="background:#cbd2d9"></i>of users who did not</p>')
    return "\n".join([
        '<section class="micro" id="micro">',
        f"<h2>Micro-conversions → {_e(m.macro)}</h2>",
        f'<p class="sub">{_e(" · ".join(sub))}</p>',
        _table("micro", head, rows),
        legend + _caption(MICRO_CAPTION.format(macro=m.macro)),
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
    what, caption = micro_groups_text(m, kind)
    th = ['<th>' + _e("segment" if segments else m.period) + '</th>', '<th class="num">users</th>',
          f'<th class="num">{_e(m.macro)} observed</th>', '<th class="num">95% CI</th>',
          '<th class="num">early read</th>', '<th class="num">95% CI</th>',
          *(f'<th class="num">{_e(name)}</th>' for name in labels)]
    rows = []
    for g, row in enumerate(head.itertuples(index=False)):
        key = row.segment if segments else row.period
        badge = '<span class="badge open">open</span>' if not segments and row.open else ""
        shares = "".join(f'<td class="num{" mark" if mark is True else ""}">{_e(share_text(share, mark))}</td>'
                         for share, mark in cells.iloc[g])
        rows.append(f'<tr><td class="{"name" if segments else "period"}">{_e(key)} {badge}</td>{_num(_n(row.population))}{_num(pct(row.macro_rate))}'
                    f"{_num(interval(row.macro_rate_low, row.macro_rate_high))}{_num(pct(row.macro_expected))}"
                    f"{_num(interval(row.macro_expected_low, row.macro_expected_high))}{shares}</tr>")
    return (f"<h3>{_e(what)}" + (' <span class="dim">· ranked by early read</span>' if segments else "") + "</h3>"
            + _table(f"micro-{kind}", th, rows) + _caption(caption))
