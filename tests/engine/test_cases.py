"""The worked examples of docs/semantics.md, run through the engine and the reference.

Each ``tests/cases/*.yaml`` is a list of cases: ``name`` (the doc's example id first, when it
is one), ``steps``, ``window``, optional ``options`` (the keyword options of
``reference_funnel`` in YAML form, see ``_options``), ``events`` ("user ts event" lines in input
order; a fourth word is the value of the property the funnel holds constant, ``-`` for none) and ``expect`` (``users``, ``reached``; optional ``median``, ``in_progress``, ``dropped``,
``excluded``).
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helpers import run_engine, same_median
from reference import reference_funnel

CASES = Path(__file__).resolve().parents[1] / "cases"


def _load():
    for path in sorted(CASES.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text()):
            yield pytest.param(case, id=f"{path.stem}: {case['name']}")


def _names(value) -> set[str]:
    """A step or an exclusion's ``event``: one name, or a list meaning any of them."""
    return set(value) if isinstance(value, list) else {value}


def _inputs(case):
    """Rows and, when some line has a fourth word, the held values (4.11; ``-`` for a missing one)."""
    rows, held = [], []
    for line in case["events"].strip().splitlines():
        user, ts, event, *value = line.split()
        rows.append((user, int(ts), event))
        held.append(None if value in ([], ["-"]) else value[0])
    steps = [_names(s) for s in case["steps"]]
    window = int(case["window"].removesuffix("s"))
    return rows, steps, window, held if any(len(line.split()) > 3 for line in case["events"].splitlines()) else None


def _options(case, n_steps: int) -> dict:
    """YAML options -> keyword options. ``exclude`` items are ``{event: NAME or [NAMES],
    between: [FROM, TO]}`` (1-based; default the first and the last step); the rest pass through
    (``within``/``after`` lists with null, ``since``/``until``/``session_timeout`` in seconds)."""
    options = dict(case.get("options") or {})
    if "exclude" in options:
        options["exclude"] = [(_names(item["event"]), *item.get("between", [1, n_steps]))
                              for item in options["exclude"]]
    return options


def _reached(case) -> dict:
    """With ``count: sessions`` a key ``"u1#2"`` is the unit ``("u1", 2)``; with ``count: totals``, u1's
    second counted attempt."""
    reached = case["expect"]["reached"]
    if (case.get("options") or {}).get("count") not in ("sessions", "totals"):
        return reached
    return {(user, int(n)): r for key, r in reached.items() for user, n in [key.split("#")]}


def test_case_names_are_unique():
    ids = [p.id for p in _load()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", list(_load()))
@pytest.mark.parametrize("impl", [run_engine, reference_funnel], ids=["engine", "reference"])
def test_case(case, impl):
    rows, steps, window, held = _inputs(case)
    got = impl(rows, steps, window, **_options(case, len(steps)), **({} if held is None else {"held": held}))
    expect = case["expect"]
    assert got.users == expect["users"]
    assert got.reached == _reached(case)
    if "median" in expect:
        assert all(same_median(g, e) for g, e in zip(got.median_seconds, expect["median"], strict=True)), \
            (got.median_seconds, expect["median"])
    if "in_progress" in expect:
        assert got.in_progress == expect["in_progress"]
    if "dropped" in expect:
        assert got.dropped == expect["dropped"]
    if "excluded" in expect:
        assert got.excluded == expect["excluded"]
