"""Run the real engine on the reference's input shape, so the two can be compared directly."""
from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

import microconv


@dataclass
class EngineResult:
    reached: dict[Hashable, int]
    users: list[int]
    median_seconds: list[float | None]


def engine_funnel(rows: Sequence[tuple[Hashable, Any, str]], steps: Sequence[set[str]],
                  window_seconds: int) -> Any:
    """The engine's result for the one funnel ``steps``, built from rows the way a user's file would be."""
    cfg = microconv.parse_config({
        "columns": {"user": "user_id", "event": "event_name", "timestamp": "timestamp", "timestamp_unit": "s"},
        "funnels": {"f": {"steps": [{"event": sorted(s)} for s in steps], "window": f"{window_seconds}s"}},
    })
    raw = pd.DataFrame({
        "user_id": pd.Series([str(u) for u, _, _ in rows], dtype=object),
        "timestamp": pd.Series([ts for _, ts, _ in rows], dtype="int64"),
        "event_name": pd.Series([e for *_, e in rows], dtype=object),
    })
    events, _quality = microconv.canonicalize(raw, cfg)
    return microconv.analyze(cfg, events).funnels[0]


def run_engine(rows: Sequence[tuple[Hashable, Any, str]], steps: Sequence[set[str]],
               window_seconds: int) -> EngineResult:
    """Same arguments as ``reference_funnel``; user ids go through the engine as strings and
    come back as the caller's keys, and NaN medians come back as None."""
    fr = engine_funnel(rows, steps, window_seconds)
    key_of = {str(u): u for u, _, _ in rows}
    reached = {key_of[str(user)]: int(step) for user, step in fr.reached.items()}
    frame = fr.to_frame().sort_values("step")
    users = [int(n) for n in frame["users"]]
    medians = [None if pd.isna(m) else float(m) for m in frame["median_seconds_from_previous"]]
    return EngineResult(reached, users, medians)


def same_median(a: float | None, b: float | None) -> bool:
    """Medians agree when both are absent or both are (nearly) the same number."""
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
