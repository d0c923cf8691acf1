"""Time arithmetic on int64 nanoseconds that cannot overflow (docs/semantics.md 1.5).

Timestamps span the whole datetime64[ns] range (1677-09-21 .. 2262-04-11), so the difference
of two of them needs 64 bits unsigned, and a timestamp plus a window can pass the int64 end.
Differences are therefore taken as uint64 (exact for a later minus an earlier time), bounds
are compared as Python ints (numpy compares those exactly, whatever their size), and durations are clamped to the longest span there
is, 2**64 - 1 ns: a span longer than the window simply never fits in it.
"""
from __future__ import annotations

from datetime import timedelta

import numpy as np

NS_MIN = int(np.iinfo(np.int64).min) + 1     # pandas' Timestamp.min (int64 min itself is NaT)
NS_MAX = int(np.iinfo(np.int64).max)
SPAN_MAX = 2**64 - 1                         # the longest span between two timestamps fits in uint64


def duration_ns(duration: timedelta | None) -> int | None:
    """A config duration in nanoseconds, at most the uint64 maximum (longer than any two timestamps
    are apart, so "unbounded in effect"). Computed from the timedelta's integer parts: exact."""
    if duration is None:
        return None
    ns = ((duration.days * 86_400 + duration.seconds) * 1_000_000 + duration.microseconds) * 1_000
    return min(max(ns, 0), SPAN_MAX)


def elapsed_ns(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """``later - earlier`` as uint64: exact wherever ``later >= earlier`` (any two timestamps are
    less than 2**64 ns apart); meaningless elsewhere, so callers mask those positions out."""
    return np.subtract(later.view(np.uint64), earlier.view(np.uint64))


def plus_ns(ts: np.ndarray, span: int) -> np.ndarray:
    """``ts + span`` (``span`` >= 0), saturating at the int64 maximum: a bound past the end of time
    is the end of time, since no timestamp lies beyond it."""
    span = min(int(span), NS_MAX)
    return np.minimum(ts, NS_MAX - span) + span
