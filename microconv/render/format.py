"""Human formatting shared by the table and Markdown renderers."""
from __future__ import annotations

import math

from ..reports.results import FunnelResult


def pct(rate: float) -> str:
    """A rate as a percentage: one decimal from 1% up (``40.6%``), two significant digits below it
    (``0.025%``), so a small rate never reads as ``0.0%``; ``0%`` only for exactly 0."""
    return "" if rate is None or math.isnan(rate) else f"{percent_digits(rate)}%"


def percent_digits(rate: float) -> str:
    """``rate`` × 100 with the digits of :func:`pct`, without the sign."""
    value = rate * 100
    if abs(value) < 1e-10:      # 0, or float noise around it (a Wilson interval's low end at 0 of n: 4e-17)
        return "0"
    if abs(value) < 1 and math.isfinite(value):
        text = f"{value:.{1 - math.floor(math.log10(abs(value)))}f}"
        if abs(float(text)) < 1:          # else it rounded up to 1: shown as from 1% up
            return text
    return f"{value:.1f}"


def duration(seconds: float) -> str:
    """Two most significant units: ``45s``, ``3m 20s``, ``2h 5m``, ``3d 4h``."""
    if seconds is None or math.isnan(seconds):
        return ""
    s = int(round(seconds))
    if s < 60:
        return f"{seconds:.1f}s" if seconds < 10 and seconds != s else f"{s}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= size:
            parts.append(f"{s // size}{unit}")
            s %= size
    return " ".join(parts[:2])


def bar(rate: float, width: int = 20) -> str:
    if rate is None or math.isnan(rate):
        return ""
    full = rate * width
    blocks = int(full)
    return "█" * blocks + ("▌" if full - blocks >= 0.5 else "")


def count(n: int, noun: str) -> str:
    """``1 user``, ``2,400 users``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def describe(f: FunnelResult) -> list[str]:
    """The settings a reader needs to trust the numbers, shortest first."""
    parts = [f"window {duration(f.window_seconds)}", count(f.entrants, {"users": "entrant", "attempts": "attempt"}.get(f.unit, "session"))]
    if f.order != "ordered":
        parts.insert(1, f"order {f.order}")
    return parts


def caveats(f: FunnelResult, currency: str | None = None) -> list[str]:
    """Revenue (in ``currency`` when the config names one), then who is not an ordinary drop-off:
    excluded and in-progress units (semantics 4.4, 4.8)."""
    notes = []
    if f.optional:
        names = ", ".join(f"{s} {f.steps[s - 1].name!r}" for s in f.optional)
        notes.append(f"optional step{'s' if len(f.optional) > 1 else ''} {names}: counted if done on the way; "
                     "the next step's rate and drop-off are from the required step before")
    if f.revenue is not None:
        notes.append(f"revenue at the last step: {money(f.revenue, currency)} ({money(f.revenue_per_entrant, currency)} per entrant); "
                     "value lost = dropped × revenue per completer")
    if f.excluded:
        what = "an exclusion event spoiled it" if f.unit == "attempts" else "an exclusion event spoiled every attempt"
        notes.append(f"{count(f.excluded, f.unit[:-1])} excluded: {what}")   # totals: each attempt is a unit (4.10)
    if f.in_progress:
        notes.append(f"{count(f.in_progress, f.unit[:-1])} in progress: window still open at the end of the data "
                     "(counted at the step reached; --mature-only leaves them out)")
    return notes


MICRO_CAPTION = ("Only actions before a user's first {macro} count. with / without: {macro} rate of users "
                 "who did / did not do it; lift = with / without; adj. OR: odds ratio with every other "
                 "conversion held fixed (one logistic model); +value = (with − without) × average value, "
                 "can be negative; * = significant after Benjamini-Hochberg correction (p < 0.05); "
                 "'too few' = under 30 users on a side or under 5 converters expected; "
                 "implied = every converter did it first (on the way, not a cause: no lift, no test).")
MICRO_GROUPS_CAPTION = ("Each cell: share of the {groups}'s users who did it before any {macro}; * = differs from "
                        "{versus} (Benjamini-Hochberg over the whole table, p < 0.05). early read = {macro} rate "
                        "expected from the {groups}'s micro-conversions (the joint model; docs 7.6), "
                        "beside the observed rate.")


def lift_text(row) -> tuple[str, str]:
    """The lift and its interval as shown to people; rows too small to judge say so instead."""
    if row.implied:
        return "implied", ""
    if row.too_few:
        return "too few", ""
    if row.lift != row.lift:
        return "", ""
    if math.isinf(row.lift):
        return "∞", ""
    ci = f"{row.lift_low:.2f}–{row.lift_high:.2f}" if row.lift_low == row.lift_low else ""
    return f"{row.lift:.2f}×", ci


def p_text(row) -> str:
    """The adjusted p-value, starred when significant (section 7.2)."""
    return "" if row.p_adjusted != row.p_adjusted else p_value(row.p_adjusted) + (" *" if row.significant else "")


P_FLOOR = 0.001


def micro_groups_text(m, kind: str) -> tuple[str, str]:
    """The heading ("by utm_source", "by week of first event") and the caption of the micro
    report's segment or period table, as plain text: each renderer escapes both for its medium."""
    segments = kind == "segments"
    what = f"by {m.by}" if segments else f"by {m.period} of first event"
    versus = f"the {m.control} segment" if m.control else "the other users"
    caption = MICRO_GROUPS_CAPTION.format(groups="segment" if segments else "cohort", macro=m.macro, versus=versus)
    return what, caption + (f" Note: {m.segment_note}." if segments and m.segment_note else "")


def odds_text(row) -> str:
    """The adjusted odds ratio with its interval, starred when significant; empty when the joint
    model left the conversion out."""
    if row.adjusted_odds_ratio != row.adjusted_odds_ratio:
        return ""
    star = " *" if row.adjusted_significant else ""
    return f"{row.adjusted_odds_ratio:.2f} ({row.adjusted_low:.2f}–{row.adjusted_high:.2f}){star}"


def share_text(share: float, significant) -> str:
    """A conversion's share of a group's users, starred when it differs significantly."""
    return pct(share) + ("*" if significant is True else "")


def p_value(p: float) -> str:
    """``< 0.001`` below 0.001 (more digits claim a precision the test does not have, and a
    p-value that underflowed to 0 is not 0), else 3 significant digits: ``0.0351``, ``0.93``."""
    return f"< {P_FLOOR:g}" if p < P_FLOOR else f"{p:.3g}"


def money(value: float, currency: str | None = None) -> str:
    """``1,234.50``, or ``1,234.50 EUR`` with the config's currency code."""
    if value is None or value != value:
        return ""
    return f"{value:,.2f}" + (f" {currency}" if currency else "")


BUCKET_LABELS = ("<1m", "1–5m", "5–15m", "15m–1h", "1–6h", "6–24h", "1–3d", "3–7d", "7–14d", "14–30d", "30d+")
TIME_CAPTION = ("distribution: one character per bucket, " + ", ".join(BUCKET_LABELS)
                + "; height = share of the row's largest bucket")
BREAKDOWN_CAPTION = ("converted = reached the last step, 95% Wilson interval; each segment is tested against "
                     "the rest of the entrants (chi-square, or Fisher's exact test for small counts), "
                     "p adj = Benjamini-Hochberg, * = significant (p adj < 0.05); "
                     "'too small' = under 30 in the segment or the rest, or under 5 conversions expected")
TREND_CAPTION = ("cohort = the attempts whose step-1 event is in the period (a unit that came back is in each of "
                 "its periods); open = the period ended less than a window before the end of the data, so its "
                 "numbers can still change (--mature-only leaves out entrants still in progress)")
_LEVELS = "▁▂▃▄▅▆▇█"


def sparkline(counts) -> str:
    """One character per bucket, scaled to the largest; empty buckets are blank."""
    top = max(counts, default=0)
    if not top:
        return ""
    return "".join(" " if not c else _LEVELS[min(len(_LEVELS) - 1, int(c / top * len(_LEVELS)))] for c in counts)


def attribution_text(attribution: str) -> str:
    return attribution.replace("step:", "step ").replace("_", " ")


def segment_p_text(row) -> str:
    """The adjusted p-value of a segment against the rest, or why there is none."""
    if row.too_small:
        return "too small"
    return p_text(row)


def interval(low: float, high: float) -> str:
    """A 95% interval of a rate, each end as :func:`pct` writes it: ``0.021–0.029%``."""
    return "" if low != low else f"{percent_digits(low)}–{percent_digits(high)}%"
