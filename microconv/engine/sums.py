"""Sums that do not depend on the order of their terms, so a figure is the same however users
were hashed or events sorted (a float sum in another order can differ in its last digit)."""
from __future__ import annotations

import math

import numpy as np


def exact_sum(values: np.ndarray) -> float:
    """The correctly rounded sum of the non-missing values (missing ones are skipped, as by ``np.nansum``)."""
    values = np.asarray(values, dtype=float)
    values = values[(values != 0) & ~np.isnan(values)]
    if not np.isfinite(values).all():
        with np.errstate(invalid="ignore"):
            return float(values.sum())
    return math.fsum(values.tolist())
