"""The joint model of the micro report (docs/semantics.md 7.5): a logistic regression of the
macro conversion on every micro-conversion at once, fitted on cells (micro_cells.py).

Why a joint model: each conversion compared alone with everyone else takes credit for what it
goes with (people who watch two videos also watch one); the adjusted odds ratio holds the other
conversions fixed. Why on cells: the likelihood of a binomial GLM depends on users only through
the (bits, users, converters) cells, so millions of users fit as a few thousand weighted rows,
exactly. statsmodels does the fitting and the covariance; nothing here is our own estimator.

The same fit gives the **early read** of a segment (7.6): the mean of the model's predicted
macro probability over the segment's users, with a delta-method interval on the logit scale.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .micro_cells import Cells

Z95 = 1.959963984540054
MAX_COEFFICIENT = 15.0     # |log odds ratio| beyond this: (quasi-)separation, not an estimate


@dataclass(frozen=True, eq=False)
class Fit:
    """Coefficients over ``terms`` (conversion indices; the intercept first in ``params``)."""

    terms: tuple[int, ...]
    params: np.ndarray
    cov: np.ndarray
    pvalues: np.ndarray
    note: str | None = None

    def odds_ratios(self, m: int) -> dict[str, np.ndarray]:
        """Per conversion (m of them): adjusted odds ratio, its 95% interval and Wald p; NaN
        for a conversion not in the model."""
        out = {k: np.full(m, np.nan) for k in ("adjusted_odds_ratio", "adjusted_low", "adjusted_high", "adjusted_p")}
        se = np.sqrt(np.diag(self.cov))[1:]
        b = self.params[1:]
        at = list(self.terms)
        out["adjusted_odds_ratio"][at] = np.exp(b)
        out["adjusted_low"][at] = np.exp(b - Z95 * se)
        out["adjusted_high"][at] = np.exp(b + Z95 * se)
        out["adjusted_p"][at] = self.pvalues[1:]
        return out

    def expected(self, cells: Cells, groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per group: the mean predicted macro rate over its users, and a 95% interval (delta
        method on the logit of the mean, so it stays inside (0, 1))."""
        x = _design(cells.done(), self.terms)
        p = 1.0 / (1.0 + np.exp(-(x @ self.params)))
        w = cells.users.astype(float)
        n = np.bincount(cells.group, w, minlength=groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.bincount(cells.group, w * p, minlength=groups) / n
            # gradient of the mean with respect to the coefficients, per group: sum w p (1-p) x / n
            grad = np.stack([np.bincount(cells.group, w * p * (1 - p) * x[:, j], minlength=groups)
                             for j in range(x.shape[1])], axis=1) / n[:, None]
            var = np.einsum("gi,ij,gj->g", grad, self.cov, grad)
            logit = np.log(mean / (1 - mean))
            half = Z95 * np.sqrt(var) / (mean * (1 - mean))
        low, high = 1 / (1 + np.exp(-(logit - half))), 1 / (1 + np.exp(-(logit + half)))
        return mean, np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)


def fit(cells: Cells, candidates: np.ndarray) -> Fit | None:
    """The macro on the ``candidates`` conversions (bool per conversion) that can be estimated:
    a conversion done by nobody, by everyone, or identical to (a combination of) ones before it
    is left out; None when nothing is left or the fit fails (the note is then the caller's)."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    cells = cells.pooled()
    done = cells.done()
    terms = _estimable(done, np.flatnonzero(candidates))
    if not terms or cells.converters.sum() in (0, cells.users.sum()):
        return None
    x = _design(done, terms)
    y = np.stack([cells.converters, cells.users - cells.converters], axis=1).astype(float)
    with warnings.catch_warnings():
        # statsmodels warns of "perfect prediction" whenever the model fits the cells exactly (a
        # saturated design, common on cells): real separation shows as a diverging coefficient,
        # checked below. The scale of a saturated binomial model (0/0) is not used either.
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            result = sm.GLM(y, x, family=sm.families.Binomial()).fit()
        except (np.linalg.LinAlgError, ValueError):
            return None
    params = np.asarray(result.params)
    if (not result.converged or not np.isfinite(params).all()
            or (np.abs(params[1:]) > MAX_COEFFICIENT).any()):
        return None
    return Fit(tuple(terms), params, np.asarray(result.cov_params()), np.asarray(result.pvalues))


def _design(done: np.ndarray, terms) -> np.ndarray:
    return np.column_stack([np.ones(len(done)), done[:, list(terms)].astype(float)])


def _estimable(done: np.ndarray, candidates: np.ndarray) -> list[int]:
    """Candidates in order, each kept when it adds a dimension to the design (rank grows): drops
    constant columns and exact duplicates or combinations (two conversions with one meaning)."""
    kept: list[int] = []
    rank = 1
    for k in candidates.tolist():
        trial = _design(done, [*kept, k])
        r = np.linalg.matrix_rank(trial)
        if r > rank:
            kept.append(k)
            rank = r
    return kept
