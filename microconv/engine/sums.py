"""Sums that do not depend on the order of their terms, so a figure is the same however users
were hashed or events sorted (a float sum in another order can differ in its last digit); and
the amounts they may sum (docs/semantics.md 7.3), bounded so that no sum can overflow."""
from __future__ import annotations

import math

import numpy as np

# No value beyond this counts as an amount: 10^18 of them (more rows than any log holds) still
# sum below the largest float (1.8e308), so a sum, a mean or value lost is always finite.
MAX_AMOUNT = 1e290


def amounts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values`` as amounts to sum: missing (NaN) where not finite or beyond ±MAX_AMOUNT; and where
    those invalid values were (missing values are not invalid: they are simply missing)."""
    values = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        invalid = np.abs(values) > MAX_AMOUNT          # inf too; NaN compares False
    return (np.where(invalid, np.nan, values) if invalid.any() else values), invalid


def exact_sum(values: np.ndarray) -> float:
    """The correctly rounded sum of the valid amounts among ``values`` (missing and invalid ones,
    see :func:`amounts`, are skipped, as by ``np.nansum``): finite, whatever the values."""
    values, _ = amounts(values)
    values = values[(values != 0) & ~np.isnan(values)]
    return math.fsum(values.tolist())
