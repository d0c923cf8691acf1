"""Sorted distinct values of an array, by a sort.

``np.unique`` without ``return_inverse`` is several times slower than sorting the same array
(it takes a hash-table path in numpy 2.4, measured in benchmarks/README.md), and the engine asks
for the distinct values of arrays as long as the log; a sort and one comparison give the same
sorted result.
"""
from __future__ import annotations

import numpy as np


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of a 1-d array (``np.unique(values)``)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]
