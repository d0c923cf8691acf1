"""Hostile or odd configs: every shape is a config error (exit 3) at its place, fast and short, or accepted.

YAML is bounded while it is composed (tags, depth, size with aliases expanded), messages never
echo more than a few dozen characters of a value, and regex conditions run on RE2 (linear time).
"""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from microconv.cli import app
from microconv.config import MAX_PROBLEMS, SHOWN_CHARS, Condition, load_config, shown
from microconv.config.yaml_source import MAX_DEPTH, MAX_NODES, YamlSyntaxError, load_yaml
from microconv.engine.matching import condition_mask
from microconv.errors import ConfigError

COLUMNS = "columns: {user: user_id, event: event_name, timestamp: timestamp}\n"
EVENTS = ("user_id,event_name,timestamp,x\n"
          "u1,A,2026-01-01T00:00:00Z," + "a" * 40 + "b\n"
          "u1,B,2026-01-01T00:00:05Z,b\n"
          "u2,A,2026-01-01T00:00:00Z," + "a" * 40 + "\n"
          "u2,B,2026-01-01T00:00:05Z,b\n"
          "u3,A,2026-01-01T00:00:00Z,b\n")


def run(tmp_path: Path, config: str | bytes, *args: str, command: str = "validate"):
    path = tmp_path / "f.yaml"
    path.write_bytes(config if isinstance(config, bytes) else config.encode())
    (tmp_path / "e.csv").write_text(EVENTS)
    start = time.monotonic()
    result = CliRunner().invoke(app, [command, str(tmp_path / "e.csv"), "-c", str(path), *args])
    result.seconds = time.monotonic() - start
    assert result.exit_code != 70 and "Traceback" not in result.stderr, result.stderr[-2000:]
    return result


def errors(result) -> list[str]:
    lines = result.stderr.splitlines()
    assert all(line.startswith("microconv: error: ") for line in lines), result.stderr
    return [line.removeprefix("microconv: error: ") for line in lines]


def laughs(levels: int, fanout: int, target: str = "funnels") -> str:
    """The "billion laughs": each level a list of ``fanout`` aliases of the level below."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * fanout)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fanout)}]" for i in range(1, levels)]
    return COLUMNS + "\n".join(lines) + f"\n{target}: *l{levels - 1}\n"


# --- YAML bounds --------------------------------------------------------------------------------------

def test_nesting_deeper_than_the_bound_is_a_config_error_at_the_level_too_deep(tmp_path):
    result = run(tmp_path, "a: " + "[" * 1000 + "]" * 1000 + "\n")
    assert result.exit_code == 3
    # the root map is level 1 and the k-th "[" level k+1, so the 64th "[" (column 3 + 64) is level 65
    assert errors(result)[0].startswith(f"{tmp_path / 'f.yaml'}:1:67: nested more than 64 levels deep")


def test_nesting_up_to_the_bound_is_read():
    assert MAX_DEPTH == 64
    data, _ = load_yaml("a: " + "[" * 63 + "]" * 63 + "\n", "c.yaml")     # 64 levels with the root map
    depth, node = 0, data["a"]
    while node:
        depth, node = depth + 1, node[0]
    assert depth == 62                     # the innermost list is empty
    with pytest.raises(YamlSyntaxError, match="nested more than 64 levels deep"):
        load_yaml("a: " + "[" * 64 + "]" * 64 + "\n", "c.yaml")


@pytest.mark.parametrize("levels", [6, 9])
def test_alias_bomb_is_refused_fast_in_one_short_line(tmp_path, levels):
    text = laughs(levels, 9)
    assert len(text) < 1000                # 9 levels of 9 stand for 9**9 = 387 million strings
    result = run(tmp_path, text)
    assert result.exit_code == 3
    assert result.seconds < 5
    assert len(result.stderr.encode()) < 2048
    [line] = errors(result)
    # level 5 of 9 aliases (9**6 = 531,441 strings) is the first past the bound: line 7 of the file
    assert line.startswith(f"{tmp_path / 'f.yaml'}:7:")
    assert "expands to more than 100,000 values" in line


def test_aliases_count_as_what_they_stand_for():
    """Root map, 'x', the aliased list of 9 and its list node, 'y' and its list: 14 nodes, and
    10 for every *x in y's list."""
    assert MAX_NODES == 100_000

    def doc(k: int) -> str:
        return "x: &x [1, 1, 1, 1, 1, 1, 1, 1, 1]\ny: [" + ", ".join(["*x"] * k) + "]\n"

    data, _ = load_yaml(doc(9998), "c.yaml")                  # 14 + 99,980 = 99,994 nodes
    assert len(data["y"]) == 9998 and data["y"][0] is data["x"]
    with pytest.raises(YamlSyntaxError, match="expands to more than 100,000 values"):
        load_yaml(doc(9999), "c.yaml")                        # 100,004


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path):
    result = run(tmp_path, COLUMNS + "a: &a [1, *a]\n")
    assert result.exit_code == 3
    assert errors(result) == [f"{tmp_path / 'f.yaml'}:2:11: alias *a refers to the node that contains it, which "
                              "would be infinitely large (point it at a finished node)"]


@pytest.mark.parametrize("tagged, tag", [
    ("!!set {A: null, B: null}", "!!set"),              # its order would follow PYTHONHASHSEED
    ("!!omap [{A: 1}]", "!!omap"),
    ("!!binary aGVsbG8=", "!!binary"),
    ("!!python/name:os.system", "!!python/name:os.system"),
    ("!local [A]", "!local"),
])
def test_tags_other_than_the_plain_ones_are_config_errors_naming_the_tag(tmp_path, tagged, tag):
    result = run(tmp_path, COLUMNS + f"funnels:\n  f:\n    steps: {tagged}\n")
    assert result.exit_code == 3
    assert errors(result) == [f"{tmp_path / 'f.yaml'}:4:12: the tag {tag} is not allowed: a config holds only plain "
                              "maps, lists and scalars (remove the tag; write a list as [a, b] and a map as {k: v})"]


def test_plain_tags_spelled_out_are_accepted(tmp_path):
    result = run(tmp_path, "columns: !!map {user: !!str user_id, event: event_name, timestamp: timestamp}\n"
                           "funnels: {f: {steps: [{event: !!str A}, {event: B}], window: !!int 10}}\n")
    assert result.exit_code == 0, result.stderr


# --- shapes the model did not expect -------------------------------------------------------------------

def test_numbers_as_event_names_are_config_errors_at_each(tmp_path):
    result = run(tmp_path, COLUMNS + "funnels:\n  f:\n    steps: [{event: [1, 2]}]\n")
    assert result.exit_code == 3
    f = tmp_path / "f.yaml"
    assert errors(result) == [f"{f}:4:22: Input should be a valid string, got 1",
                              f"{f}:4:25: Input should be a valid string, got 2"]


@pytest.mark.parametrize("name", ['""', "' '"])
def test_an_empty_conversion_name_is_a_config_error_at_the_key(tmp_path, name):
    result = run(tmp_path, COLUMNS + f"conversions:\n  {name}: {{event: A}}\nfunnels:\n  f:\n    steps: [{name}]\n",
                 command="analyze")
    assert result.exit_code == 3
    assert f"{tmp_path / 'f.yaml'}:3:3: a name cannot be empty" in errors(result)


def test_an_empty_funnel_name_is_a_config_error(tmp_path):
    result = run(tmp_path, COLUMNS + "funnels:\n  '': {steps: [{event: A}]}\n")
    assert result.exit_code == 3
    assert errors(result) == [f"{tmp_path / 'f.yaml'}:3:3: a name cannot be empty"]


# --- messages stay short --------------------------------------------------------------------------------

def test_shown_values_are_cut_to_80_characters():
    assert shown("abc") == "'abc'"
    assert shown(list(range(1000))) == "[0, 1, 2, 3, 4, 5, ...]"
    assert len(shown("x" * 10_000)) <= SHOWN_CHARS
    assert len(shown({"k" * 500: ["v" * 500] * 500})) <= SHOWN_CHARS


def test_a_huge_value_in_the_wrong_place_is_not_echoed(tmp_path):
    # 9**4 = 6,561 lists of 9 strings, under the size bound, where a funnel's label (a string) belongs
    text = laughs(4, 9, target="x") + "funnels: {f: {steps: [{event: A}], label: *l3}}\n"
    result = run(tmp_path, text)
    assert result.exit_code == 3
    label = [line for line in errors(result) if ":7:36:" in line]
    assert label == [f"{tmp_path / 'f.yaml'}:7:36: Input should be a valid string, got "
                     "[[[[...], [...], [...], [...], [...], [...], ...], [[...], [...], [...], [......"]
    assert len(result.stderr) < 2048


def test_problems_past_fifty_are_counted_not_listed(tmp_path):
    keys = "".join(f"    k{i:02}: 1\n" for i in range(60))
    result = run(tmp_path, COLUMNS + "funnels:\n  f:\n    steps: [{event: A}]\n" + keys)
    assert result.exit_code == 3
    lines = errors(result)
    assert MAX_PROBLEMS == 50 and len(lines) == 51
    assert lines[0].startswith(f"{tmp_path / 'f.yaml'}:5:5: unknown key 'k00'")
    assert lines[-1] == f"{tmp_path / 'f.yaml'}:55:5: ... and 10 more problems"


def test_a_config_over_one_mebibyte_is_refused(tmp_path):
    result = run(tmp_path, COLUMNS + "# " + "x" * (1 << 20) + "\n")
    assert result.exit_code == 3
    assert errors(result)[0] == f"{tmp_path / 'f.yaml'}: the config is larger than 1 MiB (is this the right file? " \
                                "a config is a few KB of YAML)"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_as_config_stops_at_the_bound():
    start = time.monotonic()
    with pytest.raises(ConfigError, match="larger than 1 MiB"):
        load_config("/dev/zero")
    assert time.monotonic() - start < 5


# --- regex: RE2, linear time ----------------------------------------------------------------------------

def regex_config(pattern: str) -> str:
    return COLUMNS + f"funnels:\n  f:\n    steps:\n      - {{event: A, where: {{x: {{regex: '{pattern}'}}}}}}\n" \
                     "      - {event: B}\n"


@pytest.mark.parametrize("pattern, feature", [
    ("(?=a)(a+)+$", "lookahead (?=...)"),
    ("(?<!a)b", "negative lookbehind (?<!...)"),
    (r"(a)\1", r"the backreference \1"),
    ("(?P<x>a)(?P=x)", "the named backreference (?P=name)"),
    ("(?>a+)b", "the atomic group (?>...)"),
    ("a++b", "the possessive quantifier ++"),
])
def test_a_pattern_that_needs_backtracking_is_a_config_error_naming_the_feature(tmp_path, pattern, feature):
    result = run(tmp_path, regex_config(pattern))
    assert result.exit_code == 3
    assert errors(result) == [f"{tmp_path / 'f.yaml'}:5:32: {feature} is not supported: regex conditions use RE2 "
                              "syntax, which runs in linear time"]


def test_catastrophic_pattern_runs_fast_with_the_right_answer(tmp_path):
    """(a+)+$ backtracks exponentially in Python's re on a run of a's not at the end; RE2 is linear.
    x is a*40 + b (u1), a*40 (u2), b (u3): only u2's value ends in a run of a's."""
    values = pd.Series(["a" * 40 + "b", "a" * 40, "b", None])
    start = time.monotonic()
    assert condition_mask(values, Condition(regex="(a+)+$")).tolist() == [False, True, False, False]
    assert condition_mask(values.astype("category"), Condition(regex="(a+)+$")).tolist() == [False, True, False, False]
    assert time.monotonic() - start < 1
    result = run(tmp_path, regex_config("(a+)+$"), "--format", "csv", command="analyze")
    assert result.exit_code == 0, result.stderr
    assert result.seconds < 10
    users = pd.read_csv(__import__("io").StringIO(result.stdout))["users"].tolist()
    assert users == [1, 1]                 # u2 enters and reaches B
