"""The micro report per segment and per period (docs/semantics.md 7.6, 7.7) against the one-user-
at-a-time reference (tests/reference.py), on random logs."""
from __future__ import annotations

import pandas as pd
from hypothesis import given, settings, strategies as st

import microconv
from conftest import examples
from reference import DAY, MISSING, period_start, reference_micro_groups

EPOCH = pd.Timestamp("2026-01-01T00:00:00Z")     # the reference's origin: times are seconds after it
CONFIG = {
    "columns": {"user": "user_id", "timestamp": "timestamp", "event": "event_name"},
    "conversions": {"A": {"kind": "secondary", "event": "a"}, "B": {"kind": "milestone", "event": "b"},
                    "P": {"kind": "macro", "event": "p"}},
    "funnels": {"f": {"steps": ["B", "P"]}},
}


@st.composite
def logs(draw):
    rows, values = [], []
    for user in range(draw(st.integers(1, 15))):
        for _ in range(draw(st.integers(1, 8))):
            rows.append((f"u{user}", draw(st.integers(0, 5 * DAY)), draw(st.sampled_from("abpx"))))
            values.append(draw(st.sampled_from([None, "", " ", "x", "y", "z"])))
    return rows, values


@settings(max_examples=examples(150), deadline=None)
@given(log=logs(), period=st.sampled_from(["day", "week"]))
def test_segments_and_periods_match_the_reference(log, period):
    rows, values = log
    cfg = microconv.parse_config(CONFIG)
    raw = pd.DataFrame({"user_id": [r[0] for r in rows],
                        "timestamp": [(EPOCH + pd.Timedelta(seconds=r[1])).isoformat() for r in rows],
                        "event_name": [r[2] for r in rows], "seg": pd.Series(values, dtype=object)})
    events, _ = microconv.canonicalize(raw, cfg, extra_properties=["seg"])
    micro = microconv.analyze(cfg, events, reports=("micro",), by="seg", trend=period, top=0).micro
    conversions, macro = {"A": {"a"}, "B": {"b"}}, {"p"}
    expected = reference_micro_groups(rows, values, conversions, macro)
    seg = micro.segments
    got = {s: group_numbers(seg, "segment", s) for s in seg["segment"].unique()}
    assert set(got) == set(expected)
    for key, group in expected.items():
        assert got[key] == (group.population, group.did, group.converters), key
    by_period = reference_micro_groups(rows, values, conversions, macro, period=period)
    per = micro.periods
    for start, group in by_period.items():
        label = (EPOCH + pd.Timedelta(seconds=start)).strftime("%Y-%m-%d")
        assert group_numbers(per, "period", label) == (group.population, group.did, group.converters), label
    listed = set(per["period"])           # every period from the first to the last, empty ones too
    first, last = min(by_period), max(by_period)
    assert len(listed) == len({period_start(t, period) for t in range(first, last + 1, DAY)})
    assert MISSING not in listed


def group_numbers(frame: pd.DataFrame, key: str, value: str) -> tuple:
    """A group's (population, did per conversion, converters) read off the report's rows."""
    rows = frame[frame[key] == value].set_index("conversion")
    population = int(rows["population"].iloc[0])
    converters = round(float(rows["macro_rate"].iloc[0]) * population) if population else 0
    return population, {c: int(rows.loc[c, "users"]) for c in ("A", "B")}, converters
