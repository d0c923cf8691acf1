"""Users per (group, set of micro-conversions done): the micro report's sufficient statistic.

Every number of the micro report -- each conversion's users and converters, per segment or
cohort period, and the joint logistic model of the macro on all conversions -- is a sum over
users that depends on a user only through three things: their group (segment, period, or the
one overall group), which conversions they did before the macro (a bit per conversion), and
whether they converted. So a partial keeps, per distinct (group, bits) cell, its users and
converters: a few thousand rows for millions of users, that add across shards (pandas'
groupby-by-codes idea, applied once), and from which the model is fitted on cells, not users.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WORD = 64


@dataclass(frozen=True, eq=False)
class Cells:
    """Distinct (``group``, ``bits``) rows with their ``users`` and ``converters``. ``bits`` is
    (rows, words) uint64: bit k of the row says the users did conversion k (``words`` = ceil(m/64))."""

    group: np.ndarray       # int64 per row
    bits: np.ndarray        # uint64, (rows, words)
    users: np.ndarray       # int64 per row
    converters: np.ndarray  # int64 per row
    m: int                  # conversions

    @classmethod
    def of(cls, did: list[np.ndarray], converted: np.ndarray, group: np.ndarray | None = None,
           absent: int = 0) -> Cells:
        """From per-user arrays: ``did[k]`` (bool per user) for each conversion, ``converted``,
        and ``group`` (int64 per user; None: one group 0). ``absent`` users more, in group 0,
        did nothing and did not convert (the users of rows the frame does not hold)."""
        n, m = len(converted), len(did)
        bits = np.zeros((n, max(1, -(-m // WORD))), dtype=np.uint64)
        for k, flags in enumerate(did):
            bits[:, k // WORD] |= flags.astype(np.uint64) << np.uint64(k % WORD)
        group = np.zeros(n, dtype=np.int64) if group is None else group.astype(np.int64, copy=False)
        users = np.ones(n, dtype=np.int64)
        conv = converted.astype(np.int64)
        if absent:
            group, bits = np.r_[group, 0], np.vstack([bits, np.zeros((1, bits.shape[1]), dtype=np.uint64)])
            users, conv = np.r_[users, absent], np.r_[conv, 0]
        return _aggregate(group, bits, users, conv, m)

    def __add__(self, other: Cells) -> Cells:
        return _aggregate(np.r_[self.group, other.group], np.vstack([self.bits, other.bits]),
                          np.r_[self.users, other.users], np.r_[self.converters, other.converters], self.m)

    def regroup(self, mapping: np.ndarray) -> Cells:
        """The same users with group ``mapping[group]`` (groups pooled, renumbered or all made 0)."""
        return _aggregate(mapping[self.group], self.bits, self.users, self.converters, self.m)

    def pooled(self) -> Cells:
        """One group (0) of everyone."""
        return self.regroup(np.zeros(int(self.group.max(initial=0)) + 1, dtype=np.int64))

    def done(self) -> np.ndarray:
        """(rows, m) bool: which conversions each row's users did."""
        k = np.arange(self.m)
        return ((self.bits[:, k // WORD] >> (k % WORD).astype(np.uint64)) & np.uint64(1)).astype(bool)

    def per_group(self, groups: int) -> tuple[np.ndarray, np.ndarray]:
        """Users and converters per group."""
        return (np.bincount(self.group, self.users, minlength=groups).astype(np.int64),
                np.bincount(self.group, self.converters, minlength=groups).astype(np.int64))

    def per_conversion(self, groups: int) -> tuple[np.ndarray, np.ndarray]:
        """(groups, m) users who did each conversion, and the converters among them."""
        done = self.done()
        did = np.zeros((groups, self.m), dtype=np.int64)
        both = np.zeros((groups, self.m), dtype=np.int64)
        for k in range(self.m):                       # a loop over conversions, over the few cells
            rows = done[:, k]
            did[:, k] = np.bincount(self.group[rows], self.users[rows], minlength=groups)
            both[:, k] = np.bincount(self.group[rows], self.converters[rows], minlength=groups)
        return did, both


def _aggregate(group: np.ndarray, bits: np.ndarray, users: np.ndarray, converters: np.ndarray, m: int) -> Cells:
    """Rows with equal (group, bits) summed into one, sorted by (group, bits): by a bincount over
    the key (group, bits) when its range is small (a few conversions, few groups), else a sort."""
    if not len(group):
        return Cells(group, bits, users, converters, m)
    span = (int(group.max()) + 1) << m if bits.shape[1] == 1 and m < 40 else None
    if span is not None and span <= max(4 * len(group), 1 << 20):
        key = (group << np.int64(m)) | bits[:, 0].astype(np.int64)
        counts = np.bincount(key, users, minlength=span)
        hit = np.flatnonzero(counts)
        conv = np.bincount(key, converters, minlength=span)[hit]
        return Cells(hit >> m, (hit & ((1 << m) - 1)).astype(np.uint64).reshape(-1, 1),
                     counts[hit].astype(np.int64), conv.astype(np.int64), m)
    order = np.lexsort([*(bits[:, w] for w in reversed(range(bits.shape[1]))), group])
    g, b = group[order], bits[order]
    change = np.r_[True, (g[1:] != g[:-1]) | (b[1:] != b[:-1]).any(axis=1)]
    starts = np.flatnonzero(change)
    return Cells(g[starts], b[starts], np.add.reduceat(users[order], starts),
                 np.add.reduceat(converters[order], starts), m)
