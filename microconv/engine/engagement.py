"""Engagement levels (docs/semantics.md 8.5): per user, how many of some conversions they did
before their first ``before`` conversion, as a property every report can break down by.

A level is computed after loading (and after an ``as_of`` cut), from the conversions' own masks,
so that a threshold conversion (``count:``, ``session:``) counts from the event it is reached at,
exactly as a funnel step or the micro-conversion report sees it; and "before" is the micro
report's rule: a strictly earlier timestamp than the user's first ``before`` conversion.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ..config import Config
from ..load.frame import Events
from .conversions import EventIndex


def engagement_names(config: Config) -> list[str]:
    """The config's engagement properties, in the order written."""
    return [name for name, spec in config.columns.properties.items() if spec.engagement]


def add_engagement(config: Config, events: Events, last_ts: int | None = None) -> Events:
    """``events`` with one column per engagement property of the config: every row holds its
    user's level as text (``"0"``, ``"1"``, ..., ``"N+"``), an ordered categorical. Events
    without such a property are returned as they are.

    Args:
        last_ts: the end of the data (ns; semantics 4.8), where sessions by inactivity end; by
            default that of ``events``.
    """
    return with_engagement(config, events, events.summary.last_ts or 0 if last_ts is None else last_ts)[0]


def with_engagement(config: Config, events: Events, last_ts: int) -> tuple[Events, EventIndex]:
    """:func:`add_engagement`, and the run's :class:`EventIndex` over the result: the levels are
    made from the index's conversion masks, which the run's reports then use again instead of
    matching the same conversions a second time."""
    index = EventIndex(config, events.frame, last_ts)
    names = engagement_names(config)
    if not names:
        return events, index
    frame = events.frame
    users = frame["user"].cat.codes.to_numpy()
    columns = {name: _levels(config.columns.properties[name], index).take(users) for name in names}
    labelled = {name: pd.Categorical.from_codes(codes, dtype=_dtype(config, name)) for name, codes in columns.items()}
    levelled = replace(events, frame=frame.assign(**labelled))
    return levelled, index.over(levelled.frame)


def _levels(spec, index: EventIndex) -> np.ndarray:
    """Per user code: the level's code, the number of distinct conversions of ``count_of`` done
    strictly before the first ``before`` (ever, without one or for users who never did it), capped at N."""
    deadline = index.first_by_user(spec.before) if spec.before else None
    done = np.sum(index.done_before(spec.count_of, deadline), axis=0, dtype=np.int64)   # distinct: each 0 or 1
    return np.minimum(done, spec.top).astype(np.int8 if spec.top < 127 else np.int64)


def _dtype(config: Config, name: str) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(pd.Index(config.columns.properties[name].labels, dtype="string"), ordered=True)
