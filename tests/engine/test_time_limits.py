"""Rule 1.5: odd time values and durations never stop or falsify a run (issue 19, slice C)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import EPOCH, run_engine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from conftest import examples
from reference import reference_funnel
from helpers import assert_same
from typer.testing import CliRunner

from microconv.cli import app
from microconv.config import parse_duration
from microconv.engine.clock import NS_MAX, duration_ns, elapsed_ns, plus_ns

EPOCH_S = EPOCH.value // 10**9
FAR = "dropped 1 of 4 rows with a timestamp outside 1677-09-21..2262-04-11"
CONFIG = """columns: {user: user_id, event: event_name, timestamp: timestamp}
funnels:
  f:
    steps: [{event: view}, {event: cart}]
    window: WINDOW
"""


def run(tmp_path, data: str | None = None, *args, window="7d", name="e.csv"):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG.replace("WINDOW", window))
    if data is not None:
        (tmp_path / name).write_text(data)
    return CliRunner().invoke(app, ["analyze", "-c", str(cfg), str(tmp_path / name), "-f", "csv", *args])


def rows(result):
    """(users, dropped, median) per step of the CSV table."""
    lines = [line.split(",") for line in result.stdout.strip().splitlines()[1:]]
    return [(int(c[3]), int(c[6]), c[7]) for c in lines]


THREE = ("user_id,event_name,timestamp\na,view,2026-01-01T00:00:00Z\na,cart,2026-01-02T00:00:00Z\n"
         "b,view,2025-12-01T00:00:00Z\n")   # b: dropped once its 7 days are over


@pytest.mark.parametrize("odd", ["9999-12-31", "0001-01-01T00:00:00Z", "1500-06-01"])
def test_one_text_timestamp_out_of_range_is_dropped_and_the_rest_counted(tmp_path, odd):
    result = run(tmp_path, THREE + f"c,view,{odd}\n")
    assert result.exit_code == 0, result.output
    assert rows(result) == [(2, 0, ""), (1, 1, "86400")]      # as if c's row were not there
    assert FAR in result.stderr and "e.csv:5" in result.stderr


def test_strict_makes_an_out_of_range_timestamp_an_error(tmp_path):
    result = run(tmp_path, THREE + "c,view,9999-12-31\n", "--strict")
    assert result.exit_code == 4 and FAR in result.stderr


def test_one_millisecond_value_in_a_seconds_column_is_out_of_range(tmp_path):
    data = "user_id,event_name,timestamp\na,view,1767225600\na,cart,1767312000\nb,view,1764547200\nc,view,1767225600000\n"
    result = run(tmp_path, data)
    assert result.exit_code == 0, result.output
    assert rows(result) == [(2, 0, ""), (1, 1, "86400")]     # the column stays seconds
    assert FAR in result.stderr


@pytest.mark.parametrize("tz", [None, "UTC"])
@pytest.mark.parametrize("year", [3000, 1])
def test_a_typed_parquet_timestamp_out_of_range_is_dropped(tmp_path, year, tz):
    times = [dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2), dt.datetime(2025, 12, 1), dt.datetime(year, 1, 1)]
    pq.write_table(pa.table({"user_id": list("aabc"), "event_name": ["view", "cart", "view", "view"],
                             "timestamp": pa.array(times, pa.timestamp("us", tz=tz))}), tmp_path / "e.parquet")
    result = run(tmp_path, None, name="e.parquet")
    assert result.exit_code == 0, result.output
    assert rows(result) == [(2, 0, ""), (1, 1, "86400")]
    assert "dropped 1 of 4 rows with a timestamp outside" in result.stderr and "row 4" in result.stderr


def test_events_300_years_apart_never_fit_a_7_day_window(tmp_path):
    data = "user_id,event_name,timestamp\na,view,1900-01-01T00:00:00Z\na,cart,2200-01-01T00:00:00Z\n"
    result = run(tmp_path, data)
    assert result.exit_code == 0, result.output
    assert rows(result) == [(1, 0, ""), (0, 1, "")]            # before: 1 conversion, median -8,979,636,874 s


def test_a_window_longer_than_the_range_fits_a_300_year_span(tmp_path):
    data = "user_id,event_name,timestamp\na,view,1900-01-01T00:00:00Z\na,cart,2200-01-01T00:00:00Z\n"
    result = run(tmp_path, data, "--trend", "month", window="1000000000d")
    assert result.exit_code == 0, result.output
    seconds = (dt.datetime(2200, 1, 1) - dt.datetime(1900, 1, 1)).total_seconds()
    assert rows(result)[1] == (1, 0, f"{seconds:.0f}")        # 9,467,107,200 s: positive


@pytest.mark.parametrize("window", ["1000000000d", "6048000000000000s", "106752d", "200000d", "1e9d"])
def test_durations_of_any_size_validate_and_analyze(tmp_path, window):
    result = run(tmp_path, THREE, window=window)
    assert result.exit_code == 0, result.output
    assert rows(result) == [(2, 0, ""), (1, 0, "86400")]       # b still inside an unbounded window
    paths = CliRunner().invoke(app, ["paths", "-c", str(tmp_path / "c.yaml"), str(tmp_path / "e.csv"),
                                     "--funnel", "f", "-f", "csv"])
    assert paths.exit_code == 0, paths.output


def test_within_after_and_session_timeout_of_200000d(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("""columns: {user: user_id, event: event_name, timestamp: timestamp}
session_timeout: 200000d
funnels:
  f:
    count: sessions
    steps: [{event: view}, {event: cart, within: 200000d, after: 1h}]
    window: 200000d
""")
    (tmp_path / "e.csv").write_text(THREE)
    result = CliRunner().invoke(app, ["analyze", "-c", str(cfg), str(tmp_path / "e.csv"), "-f", "csv"])
    assert result.exit_code == 0, result.output
    assert rows(result) == [(2, 0, ""), (1, 0, "86400")]


def test_a_bare_yaml_inf_duration_is_a_config_error_with_its_place(tmp_path):
    result = run(tmp_path, THREE, window=".inf")
    assert result.exit_code == 3
    assert "c.yaml:5:" in result.stderr and "not a duration" in result.stderr


@pytest.mark.parametrize("option", [["--until", "9999-12-31"], ["--since", "0001-01-01"], ["--as-of", "9999-12-31"],
                                    ["--since", "1000000000d"]])
def test_any_date_is_accepted_by_since_until_and_as_of(tmp_path, option):
    result = run(tmp_path, THREE, *option)
    assert result.exit_code == 0, result.output
    assert rows(result) == [(2, 0, ""), (1, 1, "86400")]


def test_parse_duration_clamps_and_refuses_non_finite_numbers():
    assert parse_duration("1e9d") == dt.timedelta.max
    assert parse_duration(10**400) == dt.timedelta.max
    assert parse_duration("200000d") == dt.timedelta(days=200000)
    for bad in (float("inf"), float("nan"), "inf"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_clock_helpers_never_overflow():
    assert duration_ns(dt.timedelta.max) == 2**64 - 1
    assert duration_ns(dt.timedelta(seconds=1, microseconds=5)) == 1_000_005_000
    lo, hi = np.array([-NS_MAX], dtype=np.int64), np.array([NS_MAX], dtype=np.int64)
    assert int(elapsed_ns(hi, lo)[0]) == 2 * NS_MAX                 # 584 years, exactly
    assert plus_ns(np.array([NS_MAX - 5, 0], dtype=np.int64), 10).tolist() == [NS_MAX, 10]


# Timestamps anywhere in the representable range (seconds from helpers.EPOCH, 2026-01-01), and
# windows from a minute to far beyond the range: the engine agrees with tests/reference.py, whose
# Python ints cannot overflow.
_LOW, _HIGH = -NS_MAX // 10**9 + 1 - EPOCH_S, NS_MAX // 10**9 - 1 - EPOCH_S


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.tuples(st.sampled_from("uvw"),
                            st.one_of(st.integers(_LOW, _HIGH), st.integers(-3600, 3600)),
                            st.sampled_from("ABC")), min_size=1, max_size=12),
    window=st.sampled_from([60, 86_400, 10**10, 2 * 10**10, 10**15]),
    order=st.sampled_from(["ordered", "strict", "any"]),
)
def test_engine_matches_the_reference_over_the_whole_range(rows, window, order):
    steps = [{"A"}, {"B"}, {"C"}]
    assert_same(run_engine(rows, steps, window, order=order), reference_funnel(rows, steps, window, order=order))
