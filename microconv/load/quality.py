"""The data-quality report: rows read, and the unusable rows dropped, counted by reason (rules
1.1-1.3, 1.5), with where the first few of each reason are."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

OUT_OF_RANGE = "with a timestamp outside 1677-09-21..2262-04-11"    # what datetime64[ns] holds (rule 1.5)
DROP_REASONS = ("without a user id", "without a timestamp", "with an unparseable timestamp", OUT_OF_RANGE,
                "without an event name")
EXAMPLES = 3          # dropped rows named per reason


@dataclass
class DataQualityReport:
    """Rows read, rows dropped by reason, and where the first few dropped rows are."""

    rows_read: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)     # paths and columns that found no value (no silent zeros)

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped.values())

    def add(self, reason: str, count: int, examples: Iterable[str] = ()) -> None:
        if count:
            self.dropped[reason] = self.dropped.get(reason, 0) + count
            kept = self.examples.setdefault(reason, [])
            kept.extend(list(examples)[: max(0, EXAMPLES - len(kept))])

    def messages(self) -> list[str]:
        """Every line for stderr: :meth:`problems`, then the notes (rule 1.9's joins)."""
        return self.problems() + self.notes

    def problems(self) -> list[str]:
        """One line per reason, e.g. ``dropped 12 of 50,000 rows without a user id (first: a.csv:17)``:
        then each property whose column or path found no value in any row: what ``--strict``
        refuses (the notes only inform)."""
        out = []
        known = {reason: i for i, reason in enumerate(DROP_REASONS)}
        for reason, count in sorted(self.dropped.items(), key=lambda item: known.get(item[0], len(known))):
            first = ", ".join(self.examples.get(reason, []))
            out.append(f"dropped {count:,} of {self.rows_read:,} rows {reason}" + (f" (first: {first})" if first else ""))
        return out + self.empty


def dropped_rows(masks: Sequence[np.ndarray]) -> dict[str, tuple[int, np.ndarray]]:
    """Per reason, given one row mask per reason in the order of DROP_REASONS (a row under one
    reason at most): its rows and the row numbers of the first EXAMPLES; reasons without a row
    are left out."""
    return {reason: (int(np.count_nonzero(mask)), np.flatnonzero(mask)[:EXAMPLES])
            for reason, mask in zip(DROP_REASONS, masks) if mask.any()}


def value_shares(frame) -> dict[str, float]:
    """Per property column of a canonical frame (the session too): the share of its rows that
    have a value, so that a path that finds values on few rows is seen before it is trusted."""
    rows = len(frame)
    return {col: (float(frame[col].notna().sum()) / rows if rows else float("nan"))
            for col in frame.columns if col not in ("user", "ts", "event")}
