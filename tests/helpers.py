"""Run the real engine on the reference's input shape, so the two can be compared directly."""
from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

import microconv

EPOCH = pd.Timestamp("2026-01-01", tz="UTC")


@dataclass
class EngineResult:
    reached: dict[Hashable, int]
    users: list[int]
    median_seconds: list[float | None]
    in_progress: list[int]
    excluded: int


def funnel_config(steps: Sequence[set[str]], window_seconds: float, *, order="ordered", entry="best_attempt",
                  within=None, after=None, exclude=(), count="users", session_timeout=1800) -> dict:
    """The config a user would write for the reference's arguments (see reference_funnel)."""
    step_items = []
    for k, names in enumerate(steps):
        item: dict[str, Any] = {"event": sorted(names)}
        for key, limits in (("within", within), ("after", after)):
            if limits is not None and limits[k] is not None:
                item[key] = f"{limits[k]}s"
        step_items.append(item)
    funnel: dict[str, Any] = {"steps": step_items, "window": f"{window_seconds}s", "order": order,
                              "entry": entry, "count": count}
    if exclude:
        funnel["exclude"] = [{"event": sorted(names), "between": [lo, hi]} for names, lo, hi in exclude]
    return {
        "columns": {"user": "user_id", "event": "event_name", "timestamp": "timestamp", "timestamp_unit": "s"},
        "funnels": {"f": funnel},
        "session_timeout": f"{session_timeout}s",
    }


def engine_funnel(rows: Sequence[tuple[Hashable, Any, str]], steps: Sequence[set[str]],
                  window_seconds: float, *, since=None, until=None, mature_only=False, **options) -> Any:
    """The engine's result for the one funnel ``steps``, built from rows the way a user's file would be.
    Timestamps are seconds after EPOCH; ``since``/``until`` are in the same seconds."""
    cfg = microconv.parse_config(funnel_config(steps, window_seconds, **options))
    raw = pd.DataFrame({
        "user_id": pd.Series([str(u) for u, _, _ in rows], dtype=object),
        "timestamp": pd.Series([EPOCH.value // 10**9 + ts for _, ts, _ in rows], dtype="int64"),
        "event_name": pd.Series([e for *_, e in rows], dtype=object),
    })
    events, _quality = microconv.canonicalize(raw, cfg)
    bound = {k: None if v is None else EPOCH + pd.Timedelta(seconds=v) for k, v in (("since", since), ("until", until))}
    return microconv.analyze(cfg, events, mature_only=mature_only, **bound).funnels[0]


def run_engine(rows: Sequence[tuple[Hashable, Any, str]], steps: Sequence[set[str]],
               window_seconds: float, **options) -> EngineResult:
    """Same arguments as ``reference_funnel``; user ids go through the engine as strings and
    come back as the caller's keys ((user, session number) when counting sessions), and NaN
    medians come back as None."""
    fr = engine_funnel(rows, steps, window_seconds, **options)
    key_of = {str(u): u for u, _, _ in rows}
    reached = {(key_of[str(unit[0])], int(unit[1])) if isinstance(unit, tuple) else key_of[str(unit)]: int(step)
               for unit, step in fr.reached.items()}
    frame = fr.to_frame().sort_values("step")
    users = [int(n) for n in frame["users"]]
    medians = [None if pd.isna(m) else float(m) for m in frame["median_seconds_from_previous"]]
    return EngineResult(reached, users, medians, [int(n) for n in frame["in_progress"]], fr.excluded)


def same_median(a: float | None, b: float | None) -> bool:
    """Medians agree when both are absent or both are (nearly) the same number."""
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
