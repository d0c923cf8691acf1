"""The command line: exit codes, stdout/stderr discipline, formats, atomic output, goldens."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import ROOT
from helpers import EXAMPLE_CONFIG, EXAMPLE_CSV, TINY_CONFIG, TINY_EVENTS, invoke
from microconv.cli import app

GOLDEN = ROOT / "tests" / "golden"



@pytest.fixture
def tiny(tmp_path):
    (tmp_path / "f.yaml").write_text(TINY_CONFIG)
    (tmp_path / "e.csv").write_text(TINY_EVENTS)
    return tmp_path


def test_csv_matches_hand_count(runner, tiny):
    result = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "--format", "csv", cwd=tiny)
    assert result.exit_code == 0, result.stderr
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert list(frame.columns) == ["funnel", "step", "name", "users", "rate_from_start",
                                   "rate_from_previous", "dropped", "median_seconds_from_previous",
                                   "in_progress", "unit", "value_lost"]
    assert frame["users"].tolist() == [3, 2, 1]
    # T = 00:00:03 and the window is 10 s: u2 (at A) and u1 (at B) are in progress, not dropped (semantics 5)
    assert frame["dropped"].tolist() == [0, 0, 0] and frame["in_progress"].tolist() == [1, 1, 0]
    assert frame["rate_from_start"].tolist() == pytest.approx([1, 2 / 3, 1 / 3])
    assert frame["rate_from_previous"].tolist() == pytest.approx([1, 2 / 3, 1 / 2])
    assert frame["median_seconds_from_previous"].tolist()[1:] == [1.0, 2.0]
    assert pd.isna(frame["median_seconds_from_previous"][0])
    assert "dropped 1 of 9 rows without a timestamp (first: e.csv:10)" in result.stderr
    assert "microconv" not in result.stdout


def test_same_counts_in_every_format(runner, tiny):
    pd.read_csv(tiny / "e.csv").to_parquet(tiny / "e.parquet")
    as_json = json.loads(invoke(runner, "analyze", "e.parquet", "-c", "f.yaml", "-f", "json", cwd=tiny).stdout)
    steps = as_json["funnels"][0]["steps"]
    assert [s["users"] for s in steps] == [3, 2, 1]
    assert steps[0]["median_seconds_from_previous"] is None
    assert [(s["dropped"], s["in_progress"]) for s in steps] == [(0, 1), (0, 1), (0, 0)]
    assert as_json["funnels"][0]["largest_drop_step"] is None          # nobody has dropped yet
    markdown = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "-f", "markdown", cwd=tiny).stdout
    assert "| 2 | B | 2 | 66.7% | 66.7% | 0 | 1s | 1 |" in markdown and "largest drop" not in markdown
    table = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", cwd=tiny).stdout
    assert "3 entrants" in table and "\x1b[" not in table and "largest drop-off:" not in table
    assert " 2. B                 2     66.7%  █████       66.7%        0      1s         1\n" in table
    # the summary: 3 entrants, 1 converted (33.3%), nobody dropped, 2 in progress
    assert " abc                  3      33.3%                                   2\n" in table


def test_quiet_keeps_stderr_empty(runner, tiny):
    result = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "-f", "csv", "-q", cwd=tiny)
    assert result.exit_code == 0 and result.stderr == ""


def test_strict_makes_dropped_rows_an_error(runner, tiny):
    result = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "--strict", cwd=tiny)
    assert result.exit_code == 4
    assert result.stdout == ""
    assert result.stderr.startswith("microconv: error: dropped 1 of 9 rows without a timestamp")


def test_output_file_is_written_whole(runner, tiny):
    result = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "-f", "csv", "-o", "out.csv", cwd=tiny)
    assert result.exit_code == 0 and result.stdout == ""
    assert pd.read_csv(tiny / "out.csv")["users"].tolist() == [3, 2, 1]
    assert [p.name for p in tiny.iterdir() if p.name.startswith(".out.csv")] == []


def test_failed_write_leaves_old_file(runner, tiny, monkeypatch):
    (tiny / "out.csv").write_text("old\n")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    result = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "-f", "csv", "-o", "out.csv", cwd=tiny)
    assert result.exit_code == 5
    assert "out.csv: cannot write output: No space left on device" in result.stderr
    assert (tiny / "out.csv").read_text() == "old\n"
    assert sorted(p.name for p in tiny.iterdir()) == ["e.csv", "f.yaml", "out.csv"]


BAD_INPUTS = [
    # (what, files to write, args, exit code, expected one-line error)
    ("missing events file", {}, ["analyze", "nope.csv", "-c", "f.yaml"], 4,
     "microconv: error: nope.csv: file not found (did you mean 'e.csv'?)"),
    ("missing config", {}, ["analyze", "e.csv", "-c", "missing.yaml"], 3,
     "microconv: error: config file not found: missing.yaml"),
    ("malformed YAML", {"f.yaml": "funnels:\n  abc:\n    steps: [{event: A}\n"}, ["analyze", "e.csv", "-c", "f.yaml"], 3,
     "microconv: error: f.yaml:4:1: expected ',' or ']'"),
    ("unknown key", {"f.yaml": "funnels:\n  abc:\n    steps: [{event: A}]\n    windw: 1d\n"},
     ["analyze", "e.csv", "-c", "f.yaml"], 3, "microconv: error: f.yaml:4:5: unknown key 'windw' (did you mean 'window'?)"),
    ("unknown conversion", {"f.yaml": "conversions:\n  add_to_cart: {event: B}\nfunnels:\n  abc:\n    steps: [add_to_crt]\n"},
     ["analyze", "e.csv", "-c", "f.yaml"], 3,
     "microconv: error: f.yaml:5:13: step 1 of funnel 'abc' names unknown conversion 'add_to_crt' "
     "(did you mean 'add_to_cart'?)"),
    ("bad duration", {"f.yaml": "funnels:\n  abc:\n    steps: [{event: A}]\n    window: 7 days\n"},
     ["analyze", "e.csv", "-c", "f.yaml"], 3, "microconv: error: f.yaml:4:5: '7 days' is not a duration"),
    ("missing column", {"f.yaml": "columns: {user: usr}\nfunnels:\n  abc:\n    steps: [{event: A}]\n"},
     ["analyze", "e.csv", "-c", "f.yaml"], 4,
     "microconv: error: f.yaml:1:11: e.csv has no user column; looked for 'usr' (did you mean 'user_id'?"),
    ("unknown property column", {"f.yaml": "funnels:\n  abc:\n    steps: [{event: A, where: {evnt_name: A}}]\n"},
     ["analyze", "e.csv", "-c", "f.yaml"], 4,
     "microconv: error: f.yaml:3:32: property 'evnt_name' is not a column of any input file (looked for "
     "'evnt_name') (did you mean 'event_name'?)"),
    ("unparseable timestamps", {"e.csv": "user_id,event_name,timestamp\nu1,A,yesterday\nu2,A,later\n"},
     ["analyze", "e.csv", "-c", "f.yaml"], 4,
     "microconv: error: e.csv:2: no timestamp could be parsed (first value 'yesterday')"),
    ("empty file", {"e.csv": ""}, ["analyze", "e.csv", "-c", "f.yaml"], 4,
     "microconv: error: e.csv: the file is empty (no header line)"),
    ("unknown event name", {"f.yaml": "funnels:\n  abc:\n    steps: [{event: view_item}, {event: purchse}]\n",
                            "e.csv": "user_id,event_name,timestamp\nu1,view_item,1\nu1,purchase,2\n"},
     ["analyze", "e.csv", "-c", "f.yaml"], 4,
     "microconv: error: f.yaml:3:41: event 'purchse' never occurs in the data (did you mean 'purchase'?)"),
    ("unknown format", {}, ["analyze", "e.csv", "-c", "f.yaml", "-f", "xml"], 2, "Invalid value for '--format'"),
    ("unwritable output", {}, ["analyze", "e.csv", "-c", "f.yaml", "-o", "no/such/dir/out.csv"], 5,
     "microconv: error: no/such/dir/out.csv: cannot write output"),
]


@pytest.mark.parametrize("what,files,args,code,message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_gives_one_line_error(runner, tiny, what, files, args, code, message):
    for name, text in files.items():
        (tiny / name).write_text(text)
    result = invoke(runner, *args, cwd=tiny)
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert all(line.startswith("microconv: ") for line in result.stderr.splitlines())   # click's errors too


def test_internal_error_is_one_line_without_debug(runner, tiny, monkeypatch):
    import microconv

    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(microconv, "analyze", boom)
    result = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", cwd=tiny)
    assert result.exit_code == 70
    assert result.stderr.strip() .endswith("internal error: RuntimeError: kaboom (a bug; re-run with --debug "
                                           "and report the traceback)")
    with pytest.raises(RuntimeError, match="kaboom"):
        invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "--debug", cwd=tiny)


def test_validate(runner, tiny):
    ok = invoke(runner, "validate", "-c", "f.yaml", cwd=tiny)
    assert ok.exit_code == 0 and ok.stdout == "f.yaml: valid (1 funnels, 0 conversions)\n"
    with_data = invoke(runner, "validate", "-c", "f.yaml", "e.csv", cwd=tiny)
    assert with_data.exit_code == 0 and "every column and event name occurs in 8 events" in with_data.stdout
    (tiny / "g.yaml").write_text("funnels:\n  abc:\n    steps: [{event: A}, {event: refund}, {event: checkout_strat}]\n")
    (tiny / "e.csv").write_text(TINY_EVENTS.replace(",C,", ",checkout_start,"))
    bad = invoke(runner, "validate", "-c", "g.yaml", "e.csv", cwd=tiny)
    assert bad.exit_code == 4
    assert bad.stderr.splitlines() == [
        "microconv: error: g.yaml:3:33: event 'refund' never occurs in the data",
        "microconv: error: g.yaml:3:50: event 'checkout_strat' never occurs in the data "
        "(did you mean 'checkout_start'?)",
    ]


def test_absent_event_without_lookalike_is_a_warning(runner, tiny):
    (tiny / "g.yaml").write_text("funnels:\n  abc:\n    steps: [{event: A}, {event: refund}]\n")
    result = invoke(runner, "analyze", "e.csv", "-c", "g.yaml", "-f", "csv", cwd=tiny)
    assert result.exit_code == 0
    assert "microconv: warning: g.yaml:3:33: event 'refund' never occurs in the data" in result.stderr
    assert pd.read_csv(io.StringIO(result.stdout))["users"].tolist() == [3, 0]


@pytest.mark.parametrize("command", ["analyze", "validate"])
def test_every_command_has_help(runner, command):
    result = invoke(runner, command, "--help")
    assert result.exit_code == 0
    assert "Example: microconv" in result.stdout and "Exit codes:" in result.stdout


@pytest.mark.parametrize("fmt,suffix,more", [("table", "txt", []), ("table", "all.txt", ["--report", "all"]),
                                             ("csv", "csv", []), ("json", "json", []), ("markdown", "md", [])])
def test_example_golden(runner, tmp_path, update_golden, fmt, suffix, more):
    """The table: the summary and the funnels by default, every table with --report all."""
    out = tmp_path / f"out.{suffix}"
    result = invoke(runner, "analyze", EXAMPLE_CSV, "-c", EXAMPLE_CONFIG, "-f", fmt, "-o", out, *more)
    assert result.exit_code == 0, result.stderr
    golden = GOLDEN / f"analyze_example.{suffix}"
    if update_golden:
        golden.write_text(out.read_text())
    if fmt == "json":
        assert _to_12_digits(json.loads(out.read_text())) == _to_12_digits(json.loads(golden.read_text()))
    else:
        assert out.read_text() == golden.read_text()


def _to_12_digits(value):
    """JSON carries floats at full precision, whose last digit can differ between CPUs (numpy's
    exp and log pick SIMD kernels by CPU): compare them to 12 significant digits."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _to_12_digits(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_12_digits(v) for v in value]
    return value


@pytest.mark.parametrize("name,args", [
    ("breakdown_channel", ["--by", "channel", "--report", "breakdown"]),
    ("breakdown_steps_device", ["--by", "device", "--attribution", "last_touch", "--report", "breakdown_steps"]),
    ("trend_week", ["--trend", "week", "--report", "trend"]),
    ("time", ["--report", "time"]),
])
def test_example_golden_csv_reports(runner, update_golden, name, args):
    result = invoke(runner, "analyze", EXAMPLE_CSV, "-c", EXAMPLE_CONFIG, "-f", "csv", "-q", "--funnel", "checkout",
                    *args)
    assert result.exit_code == 0, result.stderr
    golden = GOLDEN / f"{name}.csv"
    if update_golden:
        golden.write_text(result.stdout)
    assert result.stdout == golden.read_text()


def test_parquet_and_csv_examples_agree(runner):
    as_csv = invoke(runner, "analyze", EXAMPLE_CSV, "-c", EXAMPLE_CONFIG, "-f", "csv", "-q").stdout
    as_parquet = invoke(runner, "analyze", "examples/shop_events.parquet", "-c", EXAMPLE_CONFIG, "-f", "csv", "-q").stdout
    assert as_csv == as_parquet


def test_in_progress_mature_only_and_entry_range(runner, tiny):
    """The tiny log ends at 00:00:03, inside every 10 s window: u1 (at B) and u2 (at A) may still go on."""
    base = ["analyze", "e.csv", "-c", "f.yaml", "-f", "csv", "-q"]
    frame = pd.read_csv(io.StringIO(invoke(runner, *base, cwd=tiny).stdout))
    assert frame["in_progress"].tolist() == [1, 1, 0]
    mature = pd.read_csv(io.StringIO(invoke(runner, *base, "--mature-only", cwd=tiny).stdout))
    assert mature["users"].tolist() == [1, 1, 1] and mature["in_progress"].tolist() == [0, 0, 0]
    later = pd.read_csv(io.StringIO(invoke(runner, *base, "--since", "2026-01-02", cwd=tiny).stdout))
    assert later["users"].tolist() == [0, 0, 0]
    same_day = pd.read_csv(io.StringIO(invoke(runner, *base, "--until", "2026-01-01", cwd=tiny).stdout))
    assert same_day["users"].tolist() == [3, 2, 1]


def test_bad_since_is_a_usage_error(runner, tiny):
    result = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "--since", "yesterday", cwd=tiny)
    assert result.exit_code == 2
    assert "microconv: error: --since 'yesterday' is not a date, date-time or duration" in result.stderr


def test_missing_session_column_and_default_page_event_are_explained(runner, tiny):
    (tiny / "s.yaml").write_text(
        "columns: {user: user_id, event: event_name, timestamp: timestamp, session: sid}\n"
        "conversions:\n  three: {session: {pages: 3}}\n"
        "funnels:\n  f: {steps: [{event: A}, three], count: sessions}\n")
    result = invoke(runner, "validate", "-c", "s.yaml", "e.csv", cwd=tiny)
    assert result.exit_code == 4
    assert "s.yaml:1:67: the session column is not a column of any input file (looked for 'sid')" in result.stderr
    (tiny / "s.yaml").write_text((tiny / "s.yaml").read_text().replace(", session: sid", ""))
    result = invoke(runner, "validate", "-c", "s.yaml", "e.csv", cwd=tiny)
    assert result.exit_code == 4
    assert ("s.yaml:3:10: event 'page_view' never occurs in the data (a session threshold counts page_view "
            "events; name yours with 'event:')") in result.stderr


def test_the_console_entry_point_flushes_everything_and_keeps_exit_codes(tmp_path):
    """main() ends the process with os._exit once output is flushed: nothing may be lost on the way."""
    run = [sys.executable, "-m", "microconv", "analyze", EXAMPLE_CSV, "-c", EXAMPLE_CONFIG]
    done = subprocess.run(run + ["-f", "json"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0
    assert json.loads(done.stdout)["funnels"][0]["steps"][0]["users"] > 0
    assert "dropped 135 of 45,139 rows without a user id" in done.stderr
    missing = subprocess.run(run[:4] + [str(tmp_path / "nope.csv"), "-c", EXAMPLE_CONFIG],
                             capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert missing.returncode == 4 and "nope.csv" in missing.stderr and missing.stdout == ""
    usage = subprocess.run(run[:4], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert usage.returncode == 2 and "Missing argument" in usage.stderr


@pytest.mark.parametrize("more", [[], ["--report", "all"], ["--by", "channel", "--trend", "week"]])
def test_piped_table_has_no_trailing_padding(runner, more):
    """rich pads every line of a table to its width: 147 of the 163 lines of the old first screen ended in spaces."""
    out = invoke(runner, "analyze", EXAMPLE_CSV, "-c", EXAMPLE_CONFIG, "-q", *more).stdout
    assert out.startswith("Summary  ·  5 funnels  ·  4,000 users  ·  45,004 events\n")
    assert [line for line in out.splitlines() if line.endswith(" ")] == []


def test_summary_is_the_first_screen(runner):
    """The summary leads: a row per funnel with numbers a person can check against the step tables
    below it (checkout: 981 of 2,400 lost before add_to_cart = 40.9%), then the top micro-conversions."""
    out = invoke(runner, "analyze", EXAMPLE_CSV, "-c", EXAMPLE_CONFIG, "-q").stdout
    first = [line.split() for line in out.splitlines()[:40]]
    assert "Checkout funnel 2,400 11.4% 2. add_to_cart 981 40.9% 653".split() in first
    assert "video_play 800 20.0% 12.0% 5.9% 2.04× 1.62–2.58 < 0.001 *".split() in first
    assert "Checkout funnel: time to convert" not in out and "Micro-conversions → purchase" not in out
    assert "--report all" in out
