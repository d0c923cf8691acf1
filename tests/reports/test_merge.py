"""The report protocol's promise: partials over disjoint shards of users, merged, finalize to
exactly the one pass over all users (counts exactly, floats to 1e-12).

A random log (users, events, a segment value, a device value, an order value) goes through a
config with a macro conversion carrying a value, two micro-conversions, and one funnel whose
order, count, window and exclusions are drawn, broken down by the segment (or by the
combinations of segment and device) and trended by day. Its users are
split into k random shards; each shard's frame keeps the whole log's categories, and every
shard is planned with the whole log's T (the plan is made once, from all events), as a cluster
run would do. Merging happens in a random tree (left fold of a random permutation).
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from conftest import examples

import microconv
from microconv.load.frame import Events
from microconv.reports import explain, paths as paths_report
from microconv.reports.funnel import FunnelContext
from microconv.run import local
from microconv.run.options import Options
from microconv.run.plan import plan_run, step_names
from microconv.run.replay import replay_funnel
from microconv.engine.conversions import EventIndex

EPOCH = 1_767_225_600            # 2026-01-01 UTC, seconds
NAMES = "ABCDP"                  # P: the purchase (macro), A/B: micro-conversions
SEGMENTS = ("x", "y", "z", None)
DEVICES = ("m", "d · x", None)   # "·" inside a value: the combination labels must stay apart


def config(order: str, count: str, window: int, exclude: bool, steps: list[str],
           by: tuple[str, ...] = ("seg",), rule: str | None = None) -> microconv.Config:
    """``rule``: one more counting rule, "optional" (step 2 of an ordered funnel of 3+ steps),
    "hold" (the device), or "dropped" (open windows count as dropped)."""
    items = [s if s in ("view", "buy") else {"event": s} for s in steps]
    if rule == "optional" and order == "ordered" and len(steps) >= 3:
        items[1] = {"conversion": items[1]} if isinstance(items[1], str) else {**items[1]}
        items[1]["optional"] = True
    funnel = {"steps": items, "window": f"{window}s",
              "order": order, "count": count, "breakdown": {"by": by[0] if len(by) == 1 else list(by), "top": 2}}
    if rule == "hold":
        funnel["hold"] = ["dev"]
    if rule == "dropped":
        funnel["open_windows"] = "dropped"
    if exclude and len(steps) > 1:
        funnel["exclude"] = [{"event": "D", "between": [1, len(steps)]}]
    return microconv.parse_config({
        "columns": {"user": "user_id", "event": "event_name", "timestamp": "timestamp", "timestamp_unit": "s",
                    "properties": {"seg": "seg", "dev": "dev", "amount": "amount"}},
        "conversions": {"view": {"kind": "milestone", "event": "A"},
                        "newsletter": {"kind": "secondary", "event": "B"},
                        "buy": {"kind": "macro", "event": "P", "value": "amount"}},
        "funnels": {"f": funnel},
        "session_timeout": "3h",
    })


@st.composite
def logs(draw):
    n_users = draw(st.integers(1, 12))
    rows = []
    for user in range(n_users):
        for _ in range(draw(st.integers(0, 12))):
            rows.append((f"u{user}", draw(st.integers(0, 6 * 86400 // 3600)) * 3600 + draw(st.integers(0, 3599)),
                         draw(st.sampled_from(NAMES)), draw(st.sampled_from(SEGMENTS)),
                         draw(st.one_of(st.none(), st.floats(0, 500, allow_nan=False))),
                         draw(st.sampled_from(DEVICES))))
    return [rows[i] for i in draw(st.permutations(range(len(rows))))]


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame({
        "user_id": pd.Series([r[0] for r in rows], dtype=object),
        "timestamp": pd.Series([EPOCH + r[1] for r in rows], dtype="int64"),
        "event_name": pd.Series([r[2] for r in rows], dtype=object),
        "seg": pd.Series([r[3] for r in rows], dtype=object),
        "amount": pd.Series([r[4] for r in rows], dtype="float64"),
        "dev": pd.Series([r[5] if len(r) > 5 else None for r in rows], dtype=object),
    })


def _shards(events: Events, k: int, seed: int, keep_rows: bool = False) -> list[Events]:
    """The users of ``events`` in ``k`` random disjoint shards (some may be empty: dropped);
    ``keep_rows``: each shard's frame keeps the whole frame's row labels."""
    frame = events.frame
    users = frame["user"].cat.categories
    shard_of = np.random.default_rng(seed).integers(0, k, len(users))
    codes = frame["user"].cat.codes.to_numpy()
    parts = [frame.loc[shard_of[codes] == s] for s in range(k)]
    parts = parts if keep_rows else [p.reset_index(drop=True) for p in parts]
    return [Events(p, events.sources) for p in parts if len(p)]


def _same(a: pd.DataFrame, b: pd.DataFrame, what: str) -> None:
    """Same columns and rows; counts exactly, floats to 1e-12 (sums merged in another order)."""
    assert list(a.columns) == list(b.columns), what
    assert len(a) == len(b), what
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if a[col].dtype.kind == "f":
            assert np.allclose(x.astype(float), y.astype(float), rtol=1e-12, atol=1e-12, equal_nan=True), (what, col)
        else:       # object columns: NaN and None are both "empty"
            assert [None if pd.isna(v) else v for v in x] == [None if pd.isna(v) else v for v in y], (what, col)


scenario = st.fixed_dictionaries({
    "rows": logs(),
    "order": st.sampled_from(["ordered", "strict", "any"]),
    "count": st.sampled_from(["users", "users", "sessions", "totals"]),
    "window": st.sampled_from([0, 1800, 86400, 3 * 86400]),
    "exclude": st.booleans(),
    "steps": st.sampled_from([["view", "buy"], ["view", "C", "buy"], ["A", "B", "C", "buy"], ["view"]]),
    "k": st.integers(2, 4),
    "seed": st.integers(0, 2**16),
    "mature_only": st.booleans(),
    "by": st.sampled_from([("seg",), ("seg", "dev"), ("dev", "seg")]),
    "rule": st.sampled_from([None, None, "optional", "hold", "dropped"]),
})


@settings(max_examples=examples(200), deadline=None)
@given(s=scenario)
def test_shards_merged_give_the_one_pass(s):
    rows = s["rows"]
    if not rows:
        return
    note(f"{s}")
    cfg = config(s["order"], s["count"], s["window"], s["exclude"], s["steps"], s["by"], s["rule"])
    events, _ = microconv.canonicalize(_frame(rows), cfg)
    plan = plan_run(cfg, events, Options(trend="day", by=s["by"], mature_only=s["mature_only"]))
    one = local.finalize(plan, local.partials(plan, events, population=events.summary.users))
    shards = _shards(events, s["k"], s["seed"])
    parts = [local.partials(plan, e, population=e.summary.users) for e in shards]
    order = np.random.default_rng(s["seed"] + 1).permutation(len(parts))
    merged = local.finalize(plan, functools.reduce(local.merge, [parts[i] for i in order]))

    (steps1, time1, bd1, trend1), = one.funnels
    (steps2, time2, bd2, trend2), = merged.funnels
    _same(steps1.to_frame(), steps2.to_frame(), "funnel steps")
    assert steps1.excluded == steps2.excluded
    assert steps1.reached.sort_index().equals(steps2.reached.sort_index())
    assert (steps1.revenue is None) == (steps2.revenue is None)
    if steps1.revenue is not None:
        assert steps1.revenue == pytest.approx(steps2.revenue, rel=1e-12, abs=1e-12)
    _same(time1.frame, time2.frame, "time to convert")
    assert bd1.by == bd2.by == " · ".join(s["by"])
    _same(bd1.segments, bd2.segments, "breakdown segments")
    _same(bd1.steps, bd2.steps, "breakdown steps")
    _same(trend1.frame, trend2.frame, "trend")
    assert (one.micro.users, one.micro.converters) == (merged.micro.users, merged.micro.converters)
    if one.micro.average_value is None:
        assert merged.micro.average_value is None
    else:
        assert one.micro.average_value == pytest.approx(merged.micro.average_value, rel=1e-12)
    _same(one.micro.to_frame(), merged.micro.to_frame(), "micro")     # overall, per segment, per day
    assert one.micro.segments is not None and one.micro.periods is not None


def test_a_hand_checked_split():
    """Two users, one per shard: u1 views and buys (40.0), u2 only views, and its 60 s window has
    closed by the end of the data (130 s). Each shard alone has 1 entrant; merged, the table says
    2 entrants, 1 buyer, revenue 40, one drop-off worth 40."""
    rows = [("u1", 100, "A", "x", None), ("u1", 130, "P", "x", 40.0), ("u2", 0, "A", "y", None)]
    cfg = config("ordered", "users", 60, False, ["view", "buy"])
    events, _ = microconv.canonicalize(_frame(rows), cfg)
    plan = plan_run(cfg, events, Options())
    u1, u2 = (Events(events.frame[events.frame["user"] == u].reset_index(drop=True)) for u in ("u1", "u2"))
    merged = local.finalize(plan, local.merge(local.partials(plan, u1, population=1),
                                              local.partials(plan, u2, population=1)))
    result = merged.funnels[0][0]
    assert [s.users for s in result.steps] == [2, 1]
    assert [s.dropped for s in result.steps] == [0, 1]
    assert result.revenue == 40.0 and result.steps[1].value_lost == 40.0
    micro = merged.micro.to_frame().set_index("conversion")
    assert merged.micro.users == 2 and merged.micro.converters == 1
    assert micro.loc["view", "users"] == 2 and micro.loc["view", "revenue"] == 40.0
    segments = merged.funnels[0][2].segments.set_index("segment")
    assert segments.loc["x", "converted"] == 1 and segments.loc["y", "converted"] == 0


@settings(max_examples=examples(100), deadline=None)
@given(s=scenario, top=st.sampled_from([0, 1, 3]))
def test_paths_shards_merged_give_the_one_pass(s, top):
    rows = s["rows"]
    if not rows:
        return
    cfg = config(s["order"], s["count"], s["window"], s["exclude"], s["steps"])
    events, _ = microconv.canonicalize(_frame(rows), cfg, extra_properties=["seg"])
    plan = plan_run(cfg, events, Options(mature_only=s["mature_only"]))
    spec = cfg.funnels["f"]
    ctx = paths_report.PathsContext(FunnelContext("f", "f", tuple(step_names(spec)), spec.window.total_seconds()),
                                    top, "seg")

    def partial(e: Events) -> paths_report.PathsPartial:
        index = EventIndex(cfg, e.frame, plan.last_ts)
        rep = replay_funnel(cfg, e.frame, "f", index=index, entry_range=plan.entry_range,
                            mature_only=s["mature_only"])
        return paths_report.partial(rep, index, e.frame, ctx)

    one = paths_report.finalize(partial(events), ctx)
    parts = [partial(e) for e in _shards(events, s["k"], s["seed"])]
    merged = paths_report.finalize(functools.reduce(paths_report.merge, parts), ctx)
    assert (one.dropped, one.in_progress, one.converted) == (merged.dropped, merged.in_progress, merged.converted)
    _same(one.frame, merged.frame, "paths")


@settings(max_examples=examples(50), deadline=None)
@given(s=scenario)
def test_explain_shards_merged_give_the_one_pass(s):
    """The shard holding the user gives the trace; the merged result is the one pass's."""
    rows = s["rows"]
    if not rows:
        return
    cfg = config(s["order"], s["count"], s["window"], s["exclude"], s["steps"])
    events, _ = microconv.canonicalize(_frame(rows), cfg)
    user = rows[0][0]
    one = explain.explain_user(cfg, events, user, mature_only=s["mature_only"])
    ctx = explain.ExplainContext(user, ("f",), one.last_ts.value, (None, None), s["mature_only"])
    parts = [explain.partial(cfg, e, ctx) for e in _shards(events, s["k"], s["seed"], keep_rows=True)]
    merged = explain.finalize(functools.reduce(explain.merge, parts), ctx)
    assert merged.funnels == one.funnels      # rows: the whole frame's labels, kept by the shard
    assert merged.events.equals(one.events)


def test_explain_of_an_unknown_user_merges_the_near_ids():
    rows = [("anna", 0, "A", None, None), ("bob", 5, "A", None, None)]
    cfg = config("ordered", "users", 60, False, ["view", "buy"])
    events, _ = microconv.canonicalize(_frame(rows), cfg)
    ctx = explain.ExplainContext("anne", ("f",), 5 * 10**9, (None, None), False)
    near = [explain.ExplainPartial(None, None, ("anna",)), explain.ExplainPartial(None, None, ("bob",))]
    with pytest.raises(microconv.DataError, match="no events for user 'anne'") as caught:
        explain.finalize(explain.merge(*near), ctx)
    assert "did you mean 'anna'" in str(caught.value)
