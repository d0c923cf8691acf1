"""Fuzzing the two doors a stranger's bytes come through: the config and the event log.

Whatever arrives, ``validate`` and ``analyze`` answer with a documented code: 0 (it was fine), 3 (the
config is wrong) or 4 (the data is wrong), one ``microconv: error:`` line per problem on stderr, and
never exit 70 (a bug), a traceback or a crash. The shapes are drawn from the config's own vocabulary
so that they reach deep into the model, not just the YAML parser.
"""
from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from conftest import examples
from typer.testing import CliRunner

from microconv.cli import app

DOCUMENTED = {0, 3, 4}

KEYS = ["columns", "user", "event", "timestamp", "timestamp_unit", "timezone", "session", "properties",
        "conversions", "kind", "where", "value", "count", "label", "funnels", "steps", "conversion", "window",
        "within", "after", "order", "entry", "exclude", "between", "breakdown", "by", "attribution", "top",
        "session_timeout", "alerts", "funnel", "step", "min", "max", "drop", "rise", "from", "json", "query",
        "url", "per_user", "regex", "contains", "in", "not_in", "gt", "lte", "exists", "pages", "duration",
        "macro", "milestone", "secondary", "a", "b", ""]
WORDS = ["A", "B", "C", "user_id", "event_name", "timestamp", "7d", "1h", "0s", "-1d", "1e9d", "30m", "ordered",
         "strict", "any", "first", "best_attempt", "users", "sessions", ">= 2", "< 0", "s", "ms", "UTC",
         "Mars/Olympus", "first_touch", "step:0", "step:9", "(a+)+$", "[", "5pp", "x.y.z", "", "~", "null"]

scalars = st.one_of(st.sampled_from(WORDS), st.integers(-10**20, 10**20), st.booleans(), st.none(),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))
shapes = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)), max_leaves=40)

VALID_COLUMNS = {"user": "user_id", "event": "event_name", "timestamp": "timestamp"}
EVENTS = "user_id,event_name,timestamp\nu1,A,2026-01-01T00:00:00Z\nu1,B,2026-01-01T00:00:05Z\nu2,A,2026-01-01T00:00:00Z\n"
CONFIG = ("columns: {user: user_id, event: event_name, timestamp: timestamp}\n"
          "funnels:\n  f:\n    steps: [{event: A}, {event: B}]\n    window: 10s\n")

FUZZ = settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
runner = CliRunner()


def _run(args: list[str]):
    result = runner.invoke(app, args)
    # The boundary turns every exception into exit 70 and a line; an escape past it is a crash.
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in DOCUMENTED, (result.exit_code, result.stderr[-2000:])
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    if result.exit_code:
        lines = result.stderr.splitlines()
        assert lines and all(line.startswith("microconv: error: ") for line in lines), result.stderr[-2000:]
    return result


@contextmanager
def _files(config: str | bytes, events: str | bytes, suffix: str = ".csv") -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="microconv-fuzz-") as name:
        folder = Path(name)
        cfg, log = folder / "funnels.yaml", folder / f"events{suffix}"
        for path, data in ((cfg, config), (log, events)):
            path.write_bytes(data.encode() if isinstance(data, str) else data)
        yield str(cfg), str(log)


@FUZZ
@given(shape=shapes, columns=st.booleans())
def test_random_config_shapes_are_accepted_or_a_config_error(shape, columns):
    """A shape built of the config's words; with ``columns`` it sits under valid columns, so the funnels
    and conversions it holds are reached too."""
    doc = {"columns": VALID_COLUMNS, **shape} if columns and isinstance(shape, dict) else shape
    with _files(yaml.safe_dump(doc, allow_unicode=True), EVENTS) as (cfg, log):
        _run(["validate", "-c", cfg])
        _run(["analyze", log, "-c", cfg, "-f", "json", "-q"])


@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes_as_config(data):
    with _files(data, EVENTS) as (cfg, _):
        result = _run(["validate", "-c", cfg])
    assert result.exit_code in (0, 3)


@FUZZ
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".jsonl", ".parquet", ".csv.gz", ".tsv"]))
def test_random_bytes_as_events(data, suffix):
    with _files(CONFIG, data, suffix) as (cfg, log):
        _run(["analyze", log, "-c", cfg, "-f", "csv", "-q"])


cells = st.one_of(st.text(max_size=12), st.sampled_from(
    ["9999-12-31", "0001-01-01", "1e308", "-1", "NaN", "inf", "2026-01-01T00:00:00Z", "1767225600",
     "1767225600000", "[1,2]", '{"a":', '"', "\\", "\x00", "A", "B"]))


@FUZZ
@given(rows=st.lists(st.tuples(cells, cells, cells), max_size=12))
def test_random_rows_under_a_valid_header(rows):
    """Well-formed CSV whose cells are anything: odd ids, names, timestamps."""
    import csv
    import io

    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["user_id", "event_name", "timestamp"])
    writer.writerows(rows)
    with _files(CONFIG, text.getvalue()) as (cfg, log):
        _run(["analyze", log, "-c", cfg, "-f", "json", "-q"])
        _run(["validate", "-c", cfg, log])
