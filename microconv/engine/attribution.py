"""Which event of a unit's counted attempt speaks for it in a breakdown (docs/semantics.md 8.2.1)."""
from __future__ import annotations

import numpy as np

from .funnel import Replay


def attributed_rows(rep: Replay, attribution: str, present: np.ndarray | None = None) -> np.ndarray:
    """Per counted unit (``rep.unit[rep.kept]`` order): the frame row of its attributed event, or -1
    when the attempt did not reach the attributed step. ``first_defined``/``last_defined`` need
    ``present`` (per frame row: whether it has a value): the attempt's first/latest event that has
    one, else its step-1 event (whose value is then missing).

    Events are sorted by (unit, time, input row), so the largest matched position is the latest event.
    """
    pos = rep.counted_pos
    if attribution == "first_touch":
        at = pos[:, 0]
    elif attribution == "last_touch":
        at = pos.max(axis=1)
    elif attribution in ("first_defined", "last_defined"):
        rows = rep.events.row[np.maximum(pos, 0)]
        valued = (pos >= 0) & present[rows]
        if attribution == "first_defined":
            at = np.where(valued, pos, np.iinfo(pos.dtype).max).min(axis=1)
        else:
            at = np.where(valued, pos, -1).max(axis=1)
        at = np.where(valued.any(axis=1), at, pos[:, 0])
    else:
        at = pos[:, int(attribution.removeprefix("step:")) - 1]
    return np.where(at >= 0, rep.events.row[np.maximum(at, 0)], -1)
