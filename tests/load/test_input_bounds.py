"""Hostile or odd event files: deep JSON, long rows, non-regular inputs, nested id columns, bad --input-format."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from conftest import examples
from typer.testing import CliRunner

from microconv.cli import app
from microconv.load.json_depth import nests_deeper

CONFIG = "columns: {user: user_id, event: event_name, timestamp: timestamp}\nfunnels:\n  f:\n    steps: [A, B]\n" \
         "conversions: {A: {event: A}, B: {event: B}}\n"
PROP_CONFIG = ("columns:\n  user: user_id\n  event: event_name\n  timestamp: timestamp\n  properties:\n"
               "    x: payload.a\nfunnels:\n  f:\n    steps: [{event: A, where: {x: {exists: true}}}, {event: B}]\n")
ROWS = [{"user_id": "u1", "event_name": "A", "timestamp": "2026-01-01T00:00:00Z"},
        {"user_id": "u1", "event_name": "B", "timestamp": "2026-01-01T00:00:05Z"}]


def cli(*args: str):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code != 70 and "Traceback" not in result.stderr, result.stderr
    return result


def subprocess_run(*args) -> subprocess.CompletedProcess:
    """In a child process, so that a segmentation fault is an exit code (139), not the end of the tests."""
    return subprocess.run([sys.executable, "-m", "microconv", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def test_deep_json_lines_is_a_data_error_naming_the_line(tmp_path):
    (tmp_path / "f.yaml").write_text(CONFIG)
    deep = '{"user_id": "u1", "event_name": "B", "timestamp": "2026-01-01T00:00:05Z", "blob": ' \
           + "[" * 30000 + "]" * 30000 + "}"
    (tmp_path / "e.jsonl").write_text(json.dumps(ROWS[0]) + "\n" + deep + "\n")
    result = subprocess_run("validate", tmp_path / "e.jsonl", "-c", tmp_path / "f.yaml")
    assert result.returncode == 4, result.stderr
    assert f"{tmp_path / 'e.jsonl'}:2: a value nests deeper than 512 levels" in result.stderr


def test_deep_json_string_property_is_a_data_error_naming_the_line(tmp_path):
    (tmp_path / "f.yaml").write_text(PROP_CONFIG)
    rows = [{**ROWS[0], "payload": '{"a": 1}'}, {**ROWS[1], "payload": '{"a": ' + "[" * 30000 + "]" * 30000 + "}"}]
    (tmp_path / "e.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = subprocess_run("validate", tmp_path / "e.jsonl", "-c", tmp_path / "f.yaml")
    assert result.returncode == 4, result.stderr
    assert f"{tmp_path / 'e.jsonl'}:2: the JSON in column 'payload' nests deeper than 512 levels" in result.stderr


@pytest.mark.parametrize("make", [lambda v: pa.array(v).dictionary_encode(),
                                  lambda v: pa.array([x.encode() for x in v], pa.binary()),
                                  lambda v: pa.array([x.encode() for x in v], pa.large_binary())],
                         ids=["dictionary", "binary", "large_binary"])
def test_deep_json_in_a_dictionary_or_binary_parquet_column_is_a_data_error(tmp_path, make):
    """The depth check sees the text Arrow's JSON reader is given, whatever the column's type
    (these once reached the reader unchecked: a segmentation fault)."""
    (tmp_path / "f.yaml").write_text(PROP_CONFIG.replace("payload.a", "data.a"))
    deep = '{"a":' * 30000 + "1" + "}" * 30000
    pq.write_table(pa.table({"user_id": ["u1", "u1"], "event_name": ["A", "B"],
                             "timestamp": [r["timestamp"] for r in ROWS],
                             "data": make(['{"a": 1}', deep])}), tmp_path / "e.parquet")
    result = subprocess_run("analyze", tmp_path / "e.parquet", "-c", tmp_path / "f.yaml")
    assert result.returncode == 4, result.stderr
    assert f"{tmp_path / 'e.parquet'}: row 2: the JSON in column 'data' nests deeper than 512 levels" in result.stderr


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_long_field_in_an_unused_column_does_not_stop_the_read(tmp_path, suffix):
    (tmp_path / "f.yaml").write_text(CONFIG)
    rows = [{**ROWS[0], "blob": "y" * 5_000_000}, {**ROWS[1], "blob": "b"}]
    if suffix == ".csv":
        text = "user_id,event_name,timestamp,blob\n" + "".join(",".join(r.values()) + "\n" for r in rows)
    else:
        text = "".join(json.dumps(r) + "\n" for r in rows)
    (tmp_path / f"e{suffix}").write_text(text)
    result = cli("analyze", tmp_path / f"e{suffix}", "-c", tmp_path / "f.yaml", "-f", "csv")
    assert result.exit_code == 0, result.stderr
    assert [line.split(",")[3] for line in result.stdout.splitlines()[1:]] == ["1", "1"]


def test_input_format_choices_are_checked_by_the_command_line(tmp_path):
    (tmp_path / "f.yaml").write_text(CONFIG)
    result = cli("validate", tmp_path / "e.csv", "-c", tmp_path / "f.yaml", "--input-format", "xlsx")
    assert result.exit_code == 2
    assert "'xlsx' is not one of 'csv', 'parquet', 'jsonl'" in result.stderr


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_as_input_is_refused(tmp_path):
    (tmp_path / "f.yaml").write_text(CONFIG)
    result = cli("validate", "/dev/zero", "-c", tmp_path / "f.yaml", "--input-format", "jsonl")
    assert result.exit_code == 4
    assert "/dev/zero: is not a regular file; save it to a file first" in result.stderr


@pytest.mark.parametrize("column, values, kind", [
    ("user_id", [["a"], ["a"]], "list<element: string>"),
    ("event_name", [{"x": 1}, {"x": 1}], "struct<x: int64>"),
])
def test_a_nested_id_or_event_column_is_a_data_error_saying_what_was_expected(tmp_path, column, values, kind):
    (tmp_path / "f.yaml").write_text(CONFIG)
    table = {"user_id": ["u1", "u1"], "event_name": ["A", "B"], "timestamp": [r["timestamp"] for r in ROWS]}
    table[column] = values
    pq.write_table(pa.table(table), tmp_path / "e.parquet")
    result = cli("validate", tmp_path / "e.parquet", "-c", tmp_path / "f.yaml")
    assert result.exit_code == 4
    core = "user" if column == "user_id" else "event"
    expected = "text or integer ids" if core == "user" else "text (or integer) event names"
    assert f"{tmp_path / 'e.parquet'}: column {column!r} ({core}) holds {kind}, not plain values: expected {expected}" \
        in result.stderr


def _depth(value) -> int:
    if isinstance(value, (list, dict)):
        items = value.values() if isinstance(value, dict) else value
        return 1 + max((_depth(v) for v in items), default=0)
    return 0


json_values = st.recursive(st.one_of(st.sampled_from(['a"[b', '\\"[[', "]]\\\\", "{", "\\", "x"]), st.integers()),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.sampled_from(["[", 'k"', "\\", "{{"]), inner,
                                                                   max_size=3)), max_leaves=30)


@settings(max_examples=examples(150), deadline=None)
@given(json_values, st.integers(1, 6), st.sampled_from([1, 2, 3, 5, 1 << 20]))
def test_the_depth_scan_agrees_with_the_parsed_depth(value, limit, piece):
    """Brackets inside strings and escaped quotes do not count, also across the scan's pieces."""
    import microconv.load.json_depth as jd

    old, jd.PIECE_BYTES = jd.PIECE_BYTES, piece
    try:
        text = np.frombuffer(json.dumps(value).encode(), dtype=np.uint8)
        assert nests_deeper(text, limit) == (_depth(value) > limit)
    finally:
        jd.PIECE_BYTES = old
