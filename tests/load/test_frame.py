"""The canonical frame is the engine's only door into loading, and its accessors agree with pandas."""
from __future__ import annotations

import ast

import numpy as np
import pandas as pd

from conftest import ROOT
from microconv.load.frame import category_in, codes_in, map_distinct


def _load_imports(path) -> set[str]:
    """The ``microconv.load`` modules one engine module imports (relative or absolute)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            name = ("microconv." + (node.module or "")) if node.level == 2 else node.module or ""
            if name.startswith("microconv.load"):
                found |= {name} if name != "microconv.load" else {f"{name}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("microconv.load")}
    return found


def test_the_engine_imports_only_the_frame_from_loading():
    engine = sorted((ROOT / "microconv" / "engine").glob("*.py"))
    assert engine
    used = set().union(*map(_load_imports, engine))
    assert used <= {"microconv.load.frame"}, used


def test_codes_in_agrees_with_isin_for_few_and_many_names():
    values = pd.Series(pd.Categorical(["a", "b", None, "c", "d", "e", "f", "a"]))
    for names in ([], ["a"], ["a", "c"], ["a", "b", "c", "d", "e", "f"], ["zz"]):
        expected = values.isin(names).to_numpy() & values.notna().to_numpy()
        assert category_in(values, names).tolist() == expected.tolist()
        assert codes_in(values.cat.codes.to_numpy(), values.cat.categories, names).tolist() == expected.tolist()


def test_map_distinct_calls_once_per_value_and_codes_none_as_missing():
    calls = []

    def upper(v):
        calls.append(v)
        return None if v == "skip" else v.upper()

    codes, results = map_distinct(pd.Series(["a", "b", None, "a", "skip", "b"], dtype=object), upper)
    assert sorted(calls) == ["a", "b", "skip"]
    assert [results[c] if c >= 0 else None for c in codes] == ["A", "B", None, "A", None, "B"]
    assert isinstance(codes, np.ndarray)
