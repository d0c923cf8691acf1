"""Run the real engine on the reference's input shape, so the two can be compared directly."""
from __future__ import annotations

import math
import os
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

import microconv
from conftest import ROOT

EPOCH = pd.Timestamp("2026-01-01", tz="UTC")

EXAMPLE_CSV = "examples/shop_events.csv"
EXAMPLE_CONFIG = "funnels.example.yaml"

TINY_CONFIG = """\
columns: {user: user_id, event: event_name, timestamp: timestamp}
funnels:
  abc:
    steps: [{event: A}, {event: B}, {event: C}]
    window: 10s
"""
# docs/semantics.md E12 plus a user without a timestamp: u1 reaches B, u2 A, u3 C, u4 never enters.
TINY_EVENTS = """\
user_id,event_name,timestamp
u1,A,2026-01-01T00:00:00Z
u1,B,2026-01-01T00:00:01Z
u2,A,2026-01-01T00:00:00Z
u3,A,2026-01-01T00:00:00Z
u3,B,2026-01-01T00:00:01Z
u3,C,2026-01-01T00:00:03Z
u4,B,2026-01-01T00:00:00Z
u4,C,2026-01-01T00:00:01Z
u5,A,
"""


def invoke(runner, *args, cwd: Path | None = None):
    old = os.getcwd()
    os.chdir(cwd or ROOT)
    try:
        return runner.invoke(_app(), [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)


def _app():
    from microconv.cli import app
    return app


@dataclass
class EngineResult:
    reached: dict[Hashable, int]
    users: list[int]
    median_seconds: list[float | None]
    in_progress: list[int]
    excluded: int
    dropped: list[int]


def funnel_config(steps: Sequence[set[str]], window_seconds: float, *, order=None, entry=None,
                  within=None, after=None, exclude=(), count=None, session_timeout=1800, hold=False,
                  optional=None, open_windows=None, counting=None) -> dict:
    """The config a user would write for the reference's arguments (see reference_funnel); options
    left None are not written, so that a ``counting`` preset sets them."""
    step_items = []
    for k, names in enumerate(steps):
        item: dict[str, Any] = {"event": sorted(names)}
        for key, limits in (("within", within), ("after", after)):
            if limits is not None and limits[k] is not None:
                item[key] = f"{limits[k]}s"
        if optional is not None and optional[k]:
            item["optional"] = True
        step_items.append(item)
    funnel: dict[str, Any] = {"steps": step_items, "window": f"{window_seconds}s"}
    funnel.update({k: v for k, v in (("order", order), ("entry", entry), ("count", count),
                                     ("open_windows", open_windows), ("counting", counting)) if v is not None})
    if exclude:
        funnel["exclude"] = [{"event": sorted(names), "between": [lo, hi]} for names, lo, hi in exclude]
    if hold:
        funnel["hold"] = ["p"]
    return {
        "columns": {"user": "user_id", "event": "event_name", "timestamp": "timestamp", "timestamp_unit": "s"},
        "funnels": {"f": funnel},
        "session_timeout": f"{session_timeout}s",
    }


def engine_funnel(rows: Sequence[tuple[Hashable, Any, str]], steps: Sequence[set[str]],
                  window_seconds: float, *, since=None, until=None, mature_only=False, held=None, **options) -> Any:
    """The engine's result for the one funnel ``steps``, built from rows the way a user's file would be.
    Timestamps are seconds after EPOCH; ``since``/``until`` are in the same seconds; ``held``: per
    row the value of a property ``p`` the funnel holds constant (None: missing)."""
    cfg = microconv.parse_config(funnel_config(steps, window_seconds, hold=held is not None, **options))
    raw = pd.DataFrame({
        "user_id": pd.Series([str(u) for u, _, _ in rows], dtype=object),
        "timestamp": pd.Series([EPOCH.value // 10**9 + ts for _, ts, _ in rows], dtype="int64"),
        "event_name": pd.Series([e for *_, e in rows], dtype=object),
    })
    if held is not None:
        raw["p"] = pd.Series(list(held), dtype=object)
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
    return EngineResult(reached, users, medians, [int(n) for n in frame["in_progress"]], fr.excluded,
                        [int(n) for n in frame["dropped"]])


def same_median(a: float | None, b: float | None) -> bool:
    """Medians agree when both are absent or both are (nearly) the same number."""
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


# ---------------------------------------------------------------------------------------------
# Section 8: breakdowns, trends and time to convert, in the reference's shapes.

BUCKET_COLUMNS = ["under_1m", "1m_5m", "5m_15m", "15m_1h", "1h_6h", "6h_1d", "1d_3d", "3d_7d", "7d_14d",
                  "14d_30d", "30d_plus"]
PERCENTILE_COLUMNS = {0.25: "p25_seconds", 0.5: "median_seconds", 0.75: "p75_seconds", 0.9: "p90_seconds"}


def engine_analysis(rows: Sequence[tuple[Hashable, Any, str]], values: Sequence[Any] | None,
                    steps: Sequence[set[str]], window_seconds: float, *, since=None, until=None,
                    mature_only=False, by=None, attribution=None, top=None, trend=None, **options) -> Any:
    """``microconv.analyze`` on the frame ``engine_funnel`` builds plus a property column ``seg``
    holding ``values`` (None: missing). by/attribution/top/trend are passed only when given."""
    cfg = microconv.parse_config(funnel_config(steps, window_seconds, **options))
    raw = pd.DataFrame({
        "user_id": pd.Series([str(u) for u, _, _ in rows], dtype=object),
        "timestamp": pd.Series([EPOCH.value // 10**9 + ts for _, ts, _ in rows], dtype="int64"),
        "event_name": pd.Series([e for *_, e in rows], dtype=object),
        "seg": pd.Series(list(values) if values is not None else [None] * len(rows), dtype=object),
    })
    events, _quality = microconv.canonicalize(raw, cfg, extra_properties=["seg"])
    bound = {k: None if v is None else EPOCH + pd.Timedelta(seconds=v) for k, v in (("since", since), ("until", until))}
    extra = {k: v for k, v in (("by", by), ("attribution", attribution), ("top", top), ("trend", trend))
             if v is not None}
    return microconv.analyze(cfg, events, mature_only=mature_only, **bound, **extra)


def _none_if_nan(x) -> float | None:
    return None if pd.isna(x) else float(x)


@dataclass
class EngineSegment:
    users: list[int]
    in_progress: list[int]
    median_seconds: list[float | None]


@dataclass
class EngineBreakdown:
    segments: dict[str, EngineSegment]   # in the order of bd.segments
    steps_order: list[str]               # segment labels in the order bd.steps first lists them
    frame: pd.DataFrame                  # bd.segments as the engine gives it
    funnel_users: list[int]              # the funnel's own users per step (result.funnels[0])

    @property
    def users(self) -> dict[str, list[int]]:
        return {label: seg.users for label, seg in self.segments.items()}


def run_engine_breakdown(rows, values, steps, window_seconds, *, attribution="first_touch", top=10,
                         **options) -> EngineBreakdown:
    """The engine's breakdown of the one funnel by ``seg``; same arguments as ``reference_segments``."""
    result = engine_analysis(rows, values, steps, window_seconds, by="seg", attribution=attribution, top=top,
                             **options)
    bd = result.breakdowns[0]
    labels = [str(s) for s in bd.segments["segment"]]
    by_segment: dict[str, EngineSegment] = {}
    steps_frame = bd.steps
    for label in labels:
        part = steps_frame[steps_frame["segment"].astype(str) == label].sort_values("step")
        by_segment[label] = EngineSegment([int(n) for n in part["users"]], [int(n) for n in part["in_progress"]],
                                          [_none_if_nan(m) for m in part["median_seconds_from_previous"]])
    steps_order = list(dict.fromkeys(str(s) for s in steps_frame["segment"]))
    funnel = result.funnels[0].to_frame().sort_values("step")
    return EngineBreakdown(by_segment, steps_order, bd.segments, [int(n) for n in funnel["users"]])


@dataclass
class EngineCohort:
    start: int                           # seconds after EPOCH
    open: bool
    users: list[int]
    in_progress: list[int]
    median_seconds: list[float | None]   # None when the frame has no such column


def run_engine_trend(rows, steps, window_seconds, *, period="day", **options) -> list[EngineCohort]:
    """The engine's trend of the one funnel as cohorts in the frame's order (``reference_trend``'s shape)."""
    result = engine_analysis(rows, None, steps, window_seconds, trend=period, **options)
    frame = result.trends[0].frame
    cohorts = []
    for period_text in dict.fromkeys(frame["period"]):
        part = frame[frame["period"] == period_text].sort_values("step")
        start = pd.Timestamp(str(period_text), tz="UTC")
        opens = set(bool(o) for o in part["open"])
        if len(opens) != 1:
            raise AssertionError(f"period {period_text}: 'open' differs between its steps: {list(part['open'])}")
        medians = ([_none_if_nan(m) for m in part["median_seconds_from_previous"]]
                   if "median_seconds_from_previous" in part else [None] * len(part))
        cohorts.append(EngineCohort(int((start - EPOCH).total_seconds()), opens.pop(),
                                    [int(n) for n in part["users"]], [int(n) for n in part["in_progress"]], medians))
    return cohorts


@dataclass
class EngineTransition:
    from_step: int
    to_step: int
    units: int
    percentiles: dict[float, float | None]
    buckets: list[int]


def run_engine_times(rows, steps, window_seconds, **options) -> list[EngineTransition]:
    """The engine's time-to-convert rows of the one funnel, in the frame's order."""
    result = engine_analysis(rows, None, steps, window_seconds, **options)
    frame = result.times[0].frame
    return [EngineTransition(int(r["from_step"]), int(r["to_step"]), int(r["units"]),
                             {p: _none_if_nan(r[c]) for p, c in PERCENTILE_COLUMNS.items()},
                             [int(r[c]) for c in BUCKET_COLUMNS])
            for _, r in frame.iterrows()]


def assert_same(actual, expected) -> None:
    """Every number the two implementations give, one labelled assertion each."""
    assert actual.reached == expected.reached, "reached (unit: furthest step): engine, reference"
    assert actual.users == expected.users, "users per step: engine, reference"
    for k, (got, want) in enumerate(zip(actual.median_seconds, expected.median_seconds, strict=True)):
        assert same_median(got, want), f"median at step {k + 1}: engine {got}, reference {want}"
    assert actual.in_progress == expected.in_progress, "in_progress per step: engine, reference"
    assert actual.dropped == expected.dropped, "dropped per step: engine, reference"
    assert actual.excluded == expected.excluded, "excluded: engine, reference"
