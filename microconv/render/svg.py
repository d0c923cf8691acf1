"""Charts as SVG text: pure functions from finalized results to one ``<svg>`` element each.

The HTML report inlines them and ``-f svg`` writes one as a file for slides. A chart is drawn in
a fixed ``viewBox`` of :data:`WIDTH` units and scales to the width it is given (CSS ``width:
100%``), so it never makes a page scroll sideways. Every number a chart shows is printed as text
in it (a mailed or printed report has no hover); ``<title>`` elements only name the chart.

Like the other renderers these only format: the numbers come from the result; the arithmetic
here is geometry (positions on an axis, a nice axis end, ticks). Every string from the data or
the config goes through ``escape.html`` (which also escapes for XML: ``&``, ``<``, ``>``, quotes).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..reports.results import BreakdownResult, FunnelResult, MicroReport, TrendResult
from .escape import html as escape
from .format import count, interval, pct

WIDTH = 420                 # viewBox units: 14-unit text is 12 px at 370 px wide, 17 px at 500
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
INK, MUTED, FAINT, LINE, PANEL = "#1f2933", "#616e7c", "#9aa5b1", "#e4e7eb", "#f5f7fa"
ACCENT, ACCENT_SOFT, DROP, DROP_SOFT, GOOD, BAD = "#2f6fde", "#c9dbf8", "#c9372c", "#f6d5d2", "#1c7c54", "#c9372c"
# One colour per funnel step in a trend (step 2 first; step 1 is 100% by definition).
SERIES = ("#2f6fde", "#e8833a", "#1c7c54", "#8e44ad", "#c9372c", "#4aa3a2", "#7f8c8d", "#b8860b")


def _e(value) -> str:
    return escape(str(value))


def _ok(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def _f(x: float) -> str:
    """A coordinate with at most one decimal (short, and stable between platforms)."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _text_width(text: str, size: float) -> float:
    """About how wide ``text`` is at ``size`` in a sans-serif font: enough to place a label."""
    return len(text) * size * 0.56


def _fit(text: str, size: float, room: float) -> str:
    """``text`` cut with an ellipsis to fit ``room`` units (an SVG text does not wrap; the table
    under the chart has it whole)."""
    if _text_width(text, size) <= room:
        return text
    keep = max(1, int(room / (size * 0.56)) - 1)
    return text[:keep] + "…"


def nice_max(value: float) -> float:
    """The axis end for rates up to ``value``: the first of a few round shares at or above it."""
    for top in (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8):
        if value <= top:
            return top
    return 1.0


def rate_ticks(top: float) -> list[float]:
    """Round rates from 0 to ``top`` (a :func:`nice_max`), at most six: 0, 5, 10 ... 25%."""
    for step in (0.001, 0.002, 0.0025, 0.005, 0.01, 0.02, 0.025, 0.05, 0.1, 0.2, 0.25):
        if top / step <= 5 + 1e-9:
            break
    n = int(round(top / step))
    return [k * step for k in range(n + 1)] if abs(n * step - top) < 1e-9 else [k * step for k in range(n + 1)] + [top]


def _svg(height: float, body: list[str], label: str, title: str | None, cls: str) -> str:
    """The root element: a viewBox that scales, a ``<title>`` naming the chart (no numbers), and in a
    standalone file (``title`` given) a white background and the heading drawn as text."""
    inner = "".join(body)
    box, size, head = f"0 0 {WIDTH} {_f(height)}", "", ""
    if title is not None:               # a file: a margin, a background, the heading
        top, m = 30, 14
        w, h = WIDTH + 2 * m, height + top + 2 * m
        box, size = f"{-m} {-m} {w} {_f(h)}", f' width="{w}" height="{_f(h)}"'
        head = (f'<rect x="{-m}" y="{-m}" width="{w}" height="{_f(h)}" fill="#fff"/>'
                f'<text x="0" y="16" font-size="16" font-weight="600" fill="{INK}">{_e(title)}</text>')
        inner = f'<g transform="translate(0 {top})">{inner}</g>'
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {cls}" viewBox="{box}"{size} role="img" '
            f'font-family="{FONT}" font-size="14" fill="{INK}"><title>{_e(label)}</title>{head}{inner}</svg>')


# ---------------------------------------------------------------------------------------------
# A funnel: one bar per step


def funnel_chart(f: FunnelResult, *, title: str | None = None) -> str:
    """Per step its name, a bar as long as its share of the entrants, the part lost since the
    previous step in a lighter shade (the largest drop-off in red), and the count and share."""
    worst = f.largest_drop_step
    row, bar = 50, 22
    body = []
    previous = None
    for i, s in enumerate(f.steps):
        y = i * row
        rate = s.rate_from_start if _ok(s.rate_from_start) else 0.0
        name = f"{s.step}. {s.name}" + (" (optional)" if s.step in f.optional else "")
        lost = f"−{s.dropped:,} dropped" if s.step > 1 and s.dropped else ""   # (a share would hide those in progress)
        name = _fit(name, 14, WIDTH - _text_width(lost, 12) - 12)
        body.append(f'<text x="0" y="{_f(y + 15)}" font-size="14">{_e(name)}</text>')
        if lost:
            colour = DROP if s.step == worst else MUTED
            body.append(f'<text x="{WIDTH}" y="{_f(y + 15)}" text-anchor="end" font-size="12" fill="{colour}">'
                        f"{_e(lost)}</text>")
        by = y + 21
        body.append(f'<rect x="0" y="{_f(by)}" width="{WIDTH}" height="{bar}" rx="3" fill="{PANEL}"/>')
        if previous is not None and previous > rate:
            soft = DROP_SOFT if s.step == worst else ACCENT_SOFT
            body.append(f'<rect x="{_f(rate * WIDTH)}" y="{_f(by)}" width="{_f((previous - rate) * WIDTH)}" '
                        f'height="{bar}" fill="{soft}"/>')
        if rate > 0:
            body.append(f'<rect x="0" y="{_f(by)}" width="{_f(max(rate * WIDTH, 2))}" height="{bar}" rx="3" fill="{ACCENT}"/>')
        label = count(s.users, f.unit[:-1]) + (f" · {pct(s.rate_from_start)}" if _ok(s.rate_from_start) else "")
        inside = _text_width(label, 14) + 16 < rate * WIDTH
        x, colour = (8, "#fff") if inside else (rate * WIDTH + 6, INK)
        body.append(f'<text x="{_f(x)}" y="{_f(by + 16)}" fill="{colour}" font-weight="600">{_e(label)}</text>')
        previous = rate
    height = len(f.steps) * row
    return _svg(height, body, f"{f.label}: {f.unit} reaching each step", title, "funnel")


# ---------------------------------------------------------------------------------------------
# A trend: one line per step over the entry cohorts


def trend_chart(t: TrendResult, *, title: str | None = None) -> str:
    """Per step after the first, its share of the cohort's entrants over the periods; the points
    of open periods (numbers that can still change) hollow, the line into them dashed; each
    line's last value printed at its end, the legend naming the steps."""
    frame = t.frame
    periods = list(dict.fromkeys(frame["period"]))
    opened = {p: bool(o) for p, o in zip(frame["period"], frame["open"])}
    steps = sorted(s for s in dict.fromkeys(frame["step"]) if s > 1)
    names = {int(s): n for s, n in zip(frame["step"], frame["name"])}
    rates = {(p, int(s)): r for p, s, r in zip(frame["period"], frame["step"], frame["rate_from_start"])}
    values = [r for (_, s), r in rates.items() if s > 1 and _ok(r)]
    top = nice_max(max(values, default=1.0))
    left, right, plot_top, plot_h = 44, 56, 8, 190
    plot_w = WIDTH - left - right
    body = []

    def x_of(i: int) -> float:
        return left + (plot_w / 2 if len(periods) == 1 else i * plot_w / (len(periods) - 1))

    def y_of(rate: float) -> float:
        return plot_top + plot_h - max(0.0, min(1.0, rate / top)) * plot_h

    for v in rate_ticks(top):                # gridlines at round rates, labelled
        y = y_of(v)
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{_f(y)}" y2="{_f(y)}" stroke="{LINE}"/>')
        body.append(f'<text x="{left - 6}" y="{_f(y + 4)}" text-anchor="end" font-size="12" fill="{MUTED}">'
                    f"{_e(_axis_pct(v))}</text>")
    every = max(1, math.ceil(len(periods) * 66 / plot_w))     # a label per ~66 units: no overlap
    for i, p in enumerate(periods):
        if i % every == 0 or i == len(periods) - 1 and (len(periods) - 1) % every >= every / 2:
            body.append(f'<text x="{_f(x_of(i))}" y="{plot_top + plot_h + 18}" text-anchor="middle" font-size="12" '
                        f'fill="{MUTED}">{_e(_short_period(p, t.period))}</text>')
    ends = []
    for n, s in enumerate(steps):
        colour = SERIES[n % len(SERIES)]
        points = [(i, rates.get((p, s))) for i, p in enumerate(periods)]
        points = [(i, r) for i, r in points if _ok(r)]
        for (i0, r0), (i1, r1) in zip(points, points[1:]):
            dash = ' stroke-dasharray="4 3"' if opened[periods[i1]] else ""
            body.append(f'<line x1="{_f(x_of(i0))}" y1="{_f(y_of(r0))}" x2="{_f(x_of(i1))}" y2="{_f(y_of(r1))}" '
                        f'stroke="{colour}" stroke-width="2"{dash}/>')
        for i, r in points:
            fill = "#fff" if opened[periods[i]] else colour
            body.append(f'<circle cx="{_f(x_of(i))}" cy="{_f(y_of(r))}" r="3.5" fill="{fill}" stroke="{colour}" '
                        f'stroke-width="1.5"/>')
        if points:
            ends.append([y_of(points[-1][1]), points[-1][1], colour])
    for k in range(1, len(ends)):             # end labels pushed apart so they do not overlap
        ends.sort(key=lambda e: e[0])
        if ends[k][0] - ends[k - 1][0] < 15:
            ends[k][0] = ends[k - 1][0] + 15
    for y, r, colour in ends:
        body.append(f'<text x="{left + plot_w + 8}" y="{_f(y + 4)}" font-size="12" font-weight="600" '
                    f'fill="{colour}">{_e(pct(r))}</text>')
    y = plot_top + plot_h + 40
    legend_x = 0.0
    for n, s in enumerate(steps):             # the legend wraps onto a new line when full
        label = names[s]
        w = 22 + _text_width(label, 12) + 14
        if legend_x + w > WIDTH and legend_x > 0:
            legend_x, y = 0.0, y + 19
        colour = SERIES[n % len(SERIES)]
        body.append(f'<line x1="{_f(legend_x)}" x2="{_f(legend_x + 16)}" y1="{_f(y - 4)}" y2="{_f(y - 4)}" '
                    f'stroke="{colour}" stroke-width="2"/>'
                    f'<text x="{_f(legend_x + 22)}" y="{_f(y)}" font-size="12">{_e(label)}</text>')
        legend_x += w
    if any(opened.values()):
        y += 19
        body.append(f'<circle cx="8" cy="{_f(y - 4)}" r="3.5" fill="#fff" stroke="{MUTED}" stroke-width="1.5"/>'
                    f'<text x="22" y="{_f(y)}" font-size="12" fill="{MUTED}">open {_e(t.period)}: '
                    f"can still change (dashed line)</text>")
    label = f"{t.label}: share of each {t.period}'s entrants reaching each step"
    return _svg(y + 6, body, label, title, "trend")


def _axis_pct(rate: float) -> str:
    return pct(rate).replace(".0%", "%")


def _short_period(period: str, kind: str) -> str:
    """``2026-10-05`` as ``Oct 5`` (days and weeks) or ``2026-10`` as ``Oct 2026``: fits under a point."""
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    parts = str(period).split("-")
    try:
        if kind == "month" and len(parts) >= 2:
            return f"{months[int(parts[1]) - 1]} {parts[0]}"
        if len(parts) == 3:
            return f"{months[int(parts[1]) - 1]} {int(parts[2])}"
    except (ValueError, IndexError):
        pass
    return str(period)


# ---------------------------------------------------------------------------------------------
# Intervals: segments around the overall rate, micro-conversions' lift (a forest plot)


@dataclass(frozen=True)
class _Interval:
    label: str
    estimate: float
    low: float
    high: float
    text: str          # the numbers, printed beside the label
    tone: str = ""     # "up" / "down" (significant), "dim" (too few to judge), "head" (a group's heading)


def _interval_chart(rows: list[_Interval], lo: float, hi: float, ref: float | None, ref_label: str,
                    label: str, title: str | None, cls: str, *, log: bool = False, ticks: list[float] = (),
                    tick_text=None, footer: list[str] = ()) -> str:
    """One row per item: its label and numbers on a line, under it the interval as a whisker with a
    dot at the estimate, on a shared axis from ``lo`` to ``hi`` (log-scaled for ratios), with a
    dashed reference line at ``ref`` (the overall rate, or a lift of 1)."""
    pad = 6
    span = WIDTH - 2 * pad

    def x_of(v: float) -> float:
        if log:
            v, a, b = math.log(max(v, 1e-12)), math.log(lo), math.log(hi)
        else:
            a, b = lo, hi
        return pad + max(0.0, min(1.0, (v - a) / (b - a) if b > a else 0.5)) * span

    row, head = 44, 28                   # a heading row (tone "head") names the group under it
    heights = [head if r.tone == "head" else row for r in rows]
    body = []
    axis_y = 16
    for v in ticks:                      # the end labels inside the chart, not cut by its edge
        x = x_of(v)
        anchor = "start" if x - pad < 12 else "end" if WIDTH - pad - x < 12 else "middle"
        body.append(f'<text x="{_f(x)}" y="12" text-anchor="{anchor}" font-size="12" fill="{MUTED}">'
                    f"{_e(tick_text(v))}</text>")
    top = axis_y + 6
    height = top + sum(heights)
    for v in ticks:
        body.append(f'<line x1="{_f(x_of(v))}" x2="{_f(x_of(v))}" y1="{axis_y}" y2="{_f(height)}" stroke="{LINE}"/>')
    if ref is not None and _ok(ref):
        body.append(f'<line x1="{_f(x_of(ref))}" x2="{_f(x_of(ref))}" y1="{axis_y}" y2="{_f(height)}" '
                    f'stroke="{MUTED}" stroke-dasharray="4 3"/>')
    y = top - row
    for r, h in zip(rows, [row, *heights]):     # each row starts where the one before it ended
        y += h
        if r.tone == "head":
            body.append(f'<rect x="0" y="{_f(y)}" width="{WIDTH}" height="{head}" fill="#fff"/>'
                        f'<text x="0" y="{_f(y + 19)}" font-size="13" font-weight="600" fill="{MUTED}">{_e(r.label)}</text>')
            continue
        colour = {"up": GOOD, "down": BAD, "dim": FAINT}.get(r.tone, ACCENT)
        ink = FAINT if r.tone == "dim" else INK
        weight = ' font-weight="600"' if r.tone in ("up", "down") else ""
        name = _fit(r.label, 14, WIDTH - _text_width(r.text, 13) - 12)
        body.append(f'<text x="0" y="{_f(y + 15)}" font-size="14" fill="{ink}">{_e(name)}</text>'
                    f'<text x="{WIDTH}" y="{_f(y + 15)}" text-anchor="end" font-size="13" fill="{ink}"{weight}>'
                    f"{_e(r.text)}</text>")
        cy = y + 30
        if _ok(r.low) and _ok(r.high):
            x0, x1 = x_of(r.low), x_of(r.high)
            body.append(f'<line x1="{_f(x0)}" x2="{_f(x1)}" y1="{_f(cy)}" y2="{_f(cy)}" stroke="{colour}" stroke-width="2"/>'
                        f'<line x1="{_f(x0)}" x2="{_f(x0)}" y1="{_f(cy - 5)}" y2="{_f(cy + 5)}" stroke="{colour}" stroke-width="2"/>'
                        f'<line x1="{_f(x1)}" x2="{_f(x1)}" y1="{_f(cy - 5)}" y2="{_f(cy + 5)}" stroke="{colour}" stroke-width="2"/>')
        if _ok(r.estimate) and not math.isinf(r.estimate):
            body.append(f'<circle cx="{_f(x_of(r.estimate))}" cy="{_f(cy)}" r="4.5" fill="{colour}" stroke="#fff"/>')
    y = height + 18
    if ref is not None and _ok(ref):
        body.append(f'<line x1="0" x2="16" y1="{_f(y - 4)}" y2="{_f(y - 4)}" stroke="{MUTED}" stroke-dasharray="4 3"/>'
                    f'<text x="22" y="{_f(y)}" font-size="12" fill="{MUTED}">{_e(ref_label)}</text>')
        y += 18
    for line in footer:
        body.append(f'<text x="0" y="{_f(y)}" font-size="12" fill="{MUTED}">{_e(line)}</text>')
        y += 17
    return _svg(y - 6, body, label, title, cls)


def breakdown_chart(b: BreakdownResult, overall: float | None = None, *, title: str | None = None) -> str:
    """Each segment's conversion with its 95% interval, around the rate of all entrants (dashed);
    segments significantly above or below the rest in green or red, too small ones grey."""
    seg = b.segments
    rows = []
    for r in seg.itertuples(index=False):
        tone = ("up" if r.rate > r.rate_rest else "down") if r.significant else ("dim" if r.too_small else "")
        mark = {"up": " ▲", "down": " ▼"}.get(tone, "")
        text = f"{pct(r.rate)} ({interval(r.rate_low, r.rate_high)}){mark}"
        rows.append(_Interval(f"{r.segment} · {count(int(r.entrants), b.unit[:-1])}", r.rate, r.rate_low, r.rate_high,
                              text, tone))
    highs = [x for x in [*seg["rate_high"], *seg["rate"], overall if overall is not None else float("nan")] if _ok(x)]
    top = nice_max(max(highs, default=1.0))
    ticks = rate_ticks(top)
    ref_label = f"all entrants: {pct(overall)} converted" if overall is not None and _ok(overall) else ""
    return _interval_chart(rows, 0.0, top, overall, ref_label, f"{b.label} by {b.by}: conversion per segment",
                           title, "breakdown", ticks=ticks, tick_text=_axis_pct)


def micro_chart(m: MicroReport, *, title: str | None = None) -> str:
    """A forest plot: each conversion's lift (macro rate with it / without it) and its 95%
    interval on a log axis around 1 (no difference); significant ones green (above) or red
    (below), too few grey; the implied ones (every converter did them) have no lift and are
    listed under the chart."""
    rows, implied, bounds = [], [], []
    for r in m.rows.itertuples(index=False):
        if r.implied:
            implied.append(str(r.label))
            continue
        if r.too_few or not _ok(r.lift) or math.isinf(r.lift):
            text = "too few to judge" if r.too_few else "no lift"
            rows.append(_Interval(str(r.label), float("nan"), float("nan"), float("nan"), text, "dim"))
            continue
        tone = ("up" if r.lift > 1 else "down") if r.significant else ""
        mark = {"up": " ▲", "down": " ▼"}.get(tone, "")
        ci = f" ({r.lift_low:.2f}–{r.lift_high:.2f})" if _ok(r.lift_low) else ""
        rows.append(_Interval(str(r.label), r.lift, r.lift_low, r.lift_high, f"{r.lift:.2f}×{ci}{mark}", tone))
        bounds += [x for x in (r.lift, r.lift_low, r.lift_high) if _ok(x) and 0 < x < math.inf]
    lo, hi = _ratio_axis(bounds)
    ticks = _ratio_ticks(lo, hi)
    footer = []
    if implied:
        footer = _wrap(f"implied, on the way to {m.macro} (no lift): " + ", ".join(implied), 12)
    return _interval_chart(rows, lo, hi, 1.0, f"1× = the same {m.macro} rate with and without",
                           f"Micro-conversions: lift of the {m.macro} rate", title, "micro", log=True,
                           ticks=ticks, tick_text=lambda v: f"{v:g}×", footer=footer)


def drivers_chart(result, *, title: str | None = None) -> str:
    """The drivers ranked as the table ranks them: under "more likely" the positive rows (largest
    odds ratio first), under "less likely" the negative ones (smallest first), each its odds ratio
    and 95% interval on a log axis around 1 (no difference); significant ones green (above) or red
    (below), too few grey. Implied rows (the goal's own steps) are listed under the chart: on the
    way to the goal, no finding. ``result``: a ``reports.drivers.DriversResult``."""
    from .drivers import GROUP_TITLES, ratio_text

    frame = result.frame
    rows, bounds = [], []
    for group in ("positive", "negative"):
        part = frame[frame["group"] == group]
        if len(part):
            rows.append(_Interval(GROUP_TITLES[group].format(goal=result.goal), math.nan, math.nan, math.nan, "",
                                  "head"))
        for r in part.itertuples(index=False):
            tone = ("up" if group == "positive" else "down") if r.significant else ("dim" if r.too_few else "")
            mark = {"up": " ▲", "down": " ▼"}.get(tone, "")
            text = f"{ratio_text(r.odds_ratio)} ({ratio_text(r.odds_ratio_low)}–{ratio_text(r.odds_ratio_high)}){mark}"
            rows.append(_Interval(f"{r.rank}. {r.event}", r.odds_ratio, r.odds_ratio_low, r.odds_ratio_high, text, tone))
            bounds += [x for x in (r.odds_ratio, r.odds_ratio_low, r.odds_ratio_high) if _ok(x) and 0 < x < math.inf]
    lo, hi = _ratio_axis(bounds)
    implied = frame.loc[frame["group"] == "implied", "event"].astype(str).tolist()
    footer = _wrap(f"implied, on the way to {result.goal} (no finding): " + ", ".join(implied), 12) if implied else []
    return _interval_chart(rows, lo, hi, 1.0, "1 = as likely with it as without it", f"Drivers of {result.goal}: "
                           "odds ratio of reaching it, with and without each", title, "drivers", log=True,
                           ticks=_ratio_ticks(lo, hi), tick_text=lambda v: f"{v:g}", footer=footer)


def _ratio_ticks(lo: float, hi: float) -> list[float]:
    """Round ratios between ``lo`` and ``hi`` on a log axis, at most about seven: 0.25, 0.5, 1, 2, 4
    near 1 (lifts); beyond 0.1 or 20 (odds ratios of rare events), 1, 2 and 5 times powers of ten,
    or powers of ten alone when those crowd."""
    ticks = [v for v in (0.1, 0.2, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 10, 20) if lo <= v <= hi]
    if len(ticks) > 6:
        ticks = [v for v in ticks if v in (0.1, 0.25, 0.5, 1, 2, 4, 10, 20)]
    if lo < 0.1 or hi > 20:
        wide = [(m, k) for k in range(-3, 4) for m in (1, 2, 5) if lo <= m * 10.0 ** k <= hi]
        ticks = [m * 10.0 ** k for m, k in (wide if len(wide) <= 7 else [(m, k) for m, k in wide if m == 1])]
    return ticks


def _ratio_axis(values: list[float]) -> tuple[float, float]:
    """A log axis holding every value and 1, symmetric enough that 1 is not at an edge."""
    lo = min([*values, 1.0]) / 1.15
    hi = max([*values, 1.0]) * 1.15
    return max(lo, 1e-3), min(hi, 1e3)


def _wrap(text: str, size: float) -> list[str]:
    """``text`` cut into lines that fit the chart's width at ``size``."""
    lines, line = [], ""
    for word in text.split(" "):
        candidate = f"{line} {word}".strip()
        if line and _text_width(candidate, size) > WIDTH:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line] if line else lines


# ---------------------------------------------------------------------------------------------
# One chart as a file (-f svg)


def render_svg(result, report: str = "funnels") -> str:
    """The one funnel of ``result`` as a standalone SVG file (``report`` "trend": its trend), with
    its label as the heading, for a slide. The command line asks for one funnel; a result of several
    is an error here, not a silent choice."""
    funnels = [f for f in result.per_funnel if (f.trend if report == "trend" else f.steps) is not None]
    if len(funnels) != 1:
        names = ", ".join(f.name for f in result.per_funnel) or "none"
        raise ValueError(f"an SVG draws one funnel, the result holds {len(funnels)} ({names})")
    f = funnels[0]
    if report == "trend":
        return trend_chart(f.trend, title=f"{f.label} · by {f.trend.period} of entry") + "\n"
    steps = f.steps
    return funnel_chart(steps, title=f"{f.label} · {count(steps.entrants, steps.unit[:-1])}") + "\n"
