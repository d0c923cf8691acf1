"""The worked examples of docs/semantics.md, run through the engine and the reference."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helpers import run_engine, same_median
from reference import reference_funnel

CASES = Path(__file__).parent / "cases"


def _load():
    for path in sorted(CASES.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text()):
            yield pytest.param(case, id=f"{path.stem}: {case['name']}")


def _inputs(case):
    rows = []
    for line in case["events"].strip().splitlines():
        user, ts, event = line.split()
        rows.append((user, int(ts), event))
    steps = [set(s) if isinstance(s, list) else {s} for s in case["steps"]]
    window = int(case["window"].removesuffix("s"))
    return rows, steps, window


@pytest.mark.parametrize("case", list(_load()))
@pytest.mark.parametrize("impl", [run_engine, reference_funnel], ids=["engine", "reference"])
def test_case(case, impl):
    rows, steps, window = _inputs(case)
    got = impl(rows, steps, window)
    expect = case["expect"]
    assert got.users == expect["users"]
    assert got.reached == expect["reached"]
    if "median" in expect:
        assert all(same_median(g, e) for g, e in zip(got.median_seconds, expect["median"], strict=True)), \
            (got.median_seconds, expect["median"])
