"""Intervals, tests and multiple-comparison correction, shared by the breakdown and micro reports.

Both compare one group of units with the rest on a conversion rate, with few conversions per
group; most differences are noise, so each carries an interval or a test, and the tests of one
report are corrected together (Benjamini-Hochberg). The statistics come from scipy, not from
formulas of our own; scipy is imported where it is used, not at start-up: it costs ~0.5 s of
CPU, which then overlaps the funnels' numpy work in the other engine thread.
"""
from __future__ import annotations

import numpy as np

MIN_GROUP = 30       # users who did / did not do it (breakdowns: units in a segment / the rest)
MIN_EXPECTED = 5     # macro converters the smaller group would have at the overall rate
ALPHA = 0.05
MIN_CELL = 5         # the chi-square test needs at least this many expected units in every cell, else Fisher


def adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values; NaN (not tested) stays NaN and is not counted."""
    from scipy.stats import false_discovery_control

    out = np.full(len(p), np.nan)
    tested = ~np.isnan(p)
    if tested.any():
        out[tested] = false_discovery_control(p[tested], method="bh")
    return out


def compare_with_rest(converted: np.ndarray, entrants: np.ndarray, *, testable: np.ndarray) -> dict[str, np.ndarray]:
    """Per segment: rate with a Wilson interval, the rest's rate, a test against the rest and
    Benjamini-Hochberg over the tested segments (8.2.4, 8.2.5)."""
    total, total_converted = entrants.sum(), converted.sum()
    g = len(entrants)
    out = {k: np.full(g, np.nan) for k in ("rate_rest", "p_value", "p_adjusted")}
    out["rate"], out["rate_low"], out["rate_high"] = wilson(converted, entrants)
    out["test"] = np.full(g, "", dtype=object)
    too_small = np.zeros(g, dtype=bool)
    for i, (c, n) in enumerate(zip(converted.tolist(), entrants.tolist())):
        rest_n, rest_c = total - n, total_converted - c
        if rest_n:
            out["rate_rest"][i] = rest_c / rest_n
        too_small[i] = n < MIN_GROUP or rest_n < MIN_GROUP or n * total_converted / total < MIN_EXPECTED
        if not testable[i] or not n or not rest_n:
            continue
        out["p_value"][i], out["test"][i] = two_groups(c, n, rest_c, rest_n)
    out["p_adjusted"] = adjust(out["p_value"])
    out["significant"] = (out["p_adjusted"] < ALPHA) & ~too_small
    out["too_small"] = too_small & testable
    return out


def two_groups(c1: int, n1: int, c0: int, n0: int) -> tuple[float, str]:
    """p-value of ``c1`` of ``n1`` against ``c0`` of ``n0``: Pearson's chi-square without
    continuity correction when every expected cell holds at least MIN_CELL units, else Fisher's
    exact test; and which test it was."""
    from scipy.stats import chi2_contingency, fisher_exact

    table = np.array([[c1, n1 - c1], [c0, n0 - c0]])
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / (n1 + n0)
    if (expected >= MIN_CELL).all():
        return float(chi2_contingency(table, correction=False).pvalue), "chi2"
    return float(fisher_exact(table).pvalue), "fisher"


def wilson(successes: np.ndarray, trials: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rates and their 95% Wilson intervals, elementwise; NaN where there are no trials."""
    from statsmodels.stats.proportion import proportion_confint

    successes, trials = np.asarray(successes, dtype=float), np.asarray(trials, dtype=float)
    some = trials > 0
    safe = np.where(some, trials, 1.0)
    low, high = proportion_confint(successes, safe, alpha=1 - 0.95, method="wilson")
    nan = np.full(successes.shape, np.nan)
    return (np.where(some, successes / safe, nan), np.where(some, low, nan), np.where(some, high, nan))


def relative_risk(a: int, n1: int, c: int, n0: int) -> tuple[float, float, float, float]:
    """Of ``a`` converters among ``n1`` who did something and ``c`` among ``n0`` who did not:
    Fisher's exact p-value, and the relative risk with its 95% interval (NaN where undefined)."""
    from scipy import stats

    lift = low = high = p = np.nan
    if n1 and n0:
        p = float(stats.fisher_exact([[a, n1 - a], [c, n0 - c]]).pvalue)
        if c:
            rr = stats.contingency.relative_risk(a, n1, c, n0)
            lift = float(rr.relative_risk)
            if a:
                ci = rr.confidence_interval(0.95)
                low, high = float(ci.low), float(ci.high)
        elif a:
            lift, high = np.inf, np.inf  # every converter did it first: a necessary step, no finite ratio
    return p, lift, low, high


def too_few(n1: int, n0: int, converters: int, population: int) -> bool:
    """Too few on one side for the comparison to mean much (micro-conversions, 7)."""
    return min(n1, n0) < MIN_GROUP or min(n1, n0) * converters / population < MIN_EXPECTED
