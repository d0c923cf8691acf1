"""Time to convert (docs/semantics.md 8.4): percentiles and buckets checkable by hand."""
from __future__ import annotations

import math

import pandas as pd
import pytest

import microconv
from microconv.reports.results import BUCKETS


def run(rows, steps="ABC", window="40d", order="ordered") -> pd.DataFrame:
    """rows: (user, seconds after 2026-01-01, event)."""
    cfg = microconv.parse_config({
        "columns": {"user": "u", "event": "e", "timestamp": "t", "timestamp_unit": "s"},
        "funnels": {"f": {"steps": [{"event": s} for s in steps], "window": window, "order": order}},
    })
    base = int(pd.Timestamp("2026-01-01", tz="UTC").timestamp())
    raw = pd.DataFrame([(u, base + t, e) for u, t, e in rows], columns=["u", "t", "e"])
    events, _ = microconv.canonicalize(raw, cfg)
    return microconv.analyze(cfg, events).times[0].frame.set_index(["from_step", "to_step"])


def test_percentiles_interpolate_linearly_between_ranks():
    # A -> B gaps 10, 20, 30, 100: positions p * 3 -> p25 = 17.5, median 25, p75 = 47.5, p90 = 79
    rows = [(f"u{i}", 0, "A") for i in range(4)] + [(f"u{i}", g, "B") for i, g in enumerate([10, 20, 30, 100])]
    frame = run(rows, steps="AB")
    row = frame.loc[(1, 2)]
    assert [row.p25_seconds, row.median_seconds, row.p75_seconds, row.p90_seconds] == pytest.approx([17.5, 25, 47.5, 79])
    assert row.units == 4 and row["name"] == "A → B"
    assert list(frame.index) == [(1, 2)]                      # two steps: the one transition is the whole funnel


def test_per_step_and_whole_funnel_rows_count_the_units_that_got_there():
    rows = [("u1", 0, "A"), ("u1", 30, "B"), ("u1", 90, "C"),          # 30 s, 60 s; whole 90 s
            ("u2", 0, "A"), ("u2", 7200, "B"),                          # 2 h, then stops
            ("u3", 0, "A")]
    frame = run(rows)
    assert frame.loc[(1, 2), "units"] == 2 and frame.loc[(1, 2), "median_seconds"] == (30 + 7200) / 2
    assert frame.loc[(2, 3), "units"] == 1 and frame.loc[(2, 3), "median_seconds"] == 60
    assert frame.loc[(1, 3), "name"] == "whole funnel" and frame.loc[(1, 3), "p90_seconds"] == 90


def test_buckets_include_their_lower_bound():
    gaps = [0, 59, 60, 299, 300, 3600, 86400, 604799, 2592000]
    rows = [(f"u{i}", 0, "A") for i in range(len(gaps))] + [(f"u{i}", g, "B") for i, g in enumerate(gaps)]
    row = run(rows, steps="AB").loc[(1, 2)]
    counts = {b: int(row[b]) for b, _ in BUCKETS}
    assert counts == {"under_1m": 2, "1m_5m": 2, "5m_15m": 1, "15m_1h": 0, "1h_6h": 1, "6h_1d": 0,
                      "1d_3d": 1, "3d_7d": 1, "7d_14d": 0, "14d_30d": 0, "30d_plus": 1}


def test_any_order_measures_between_consecutive_matched_events():
    rows = [("u1", 0, "A"), ("u1", 50, "C"), ("u1", 80, "B")]
    frame = run(rows, order="any")
    assert frame.loc[(1, 2), "median_seconds"] == 50 and frame.loc[(2, 3), "median_seconds"] == 30


def test_nobody_there_gives_empty_percentiles_and_zero_buckets():
    row = run([("u1", 0, "A")]).loc[(2, 3)]
    assert row.units == 0 and math.isnan(row.median_seconds)
    assert sum(int(row[b]) for b, _ in BUCKETS) == 0


def test_the_median_is_the_funnel_tables_median():
    rows = [("u1", 0, "A"), ("u1", 30, "B"), ("u2", 0, "A"), ("u2", 50, "B"), ("u3", 5, "A"), ("u3", 6, "B")]
    assert run(rows, steps="AB").loc[(1, 2), "median_seconds"] == 30
