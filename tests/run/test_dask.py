"""The same numbers on a Dask cluster: the output of ``--scheduler`` (a cluster started apart, the
session's ``dask_scheduler``) and of ``--workers 2`` (a cluster microconv starts) equals the
in-process output byte for byte, in CSV and JSON (SOURCE_DATE_EPOCH fixes the run's time; the
sources are the same files): on the example shop log with the options that change what is
counted, on hypothesis-made logs spread over several files, and read from S3. Errors of a
partition are one line with the exit code of their kind."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from helpers import invoke

EXAMPLE = ROOT / "examples" / "shop_events.csv"
CONFIG = ROOT / "funnels.example.yaml"


@pytest.fixture(autouse=True)
def fixed_time(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    monkeypatch.delenv("MICROCONV_SCHEDULER", raising=False)


def both(runner, scheduler, *args):
    """The in-process and the cluster output of one command line (``--partitions`` for the cluster
    alone); both must succeed."""
    args = tuple(map(str, args))
    cut = args.index("--partitions") if "--partitions" in args else None
    here = invoke(runner, *(args if cut is None else args[:cut] + args[cut + 2:]))
    there = invoke(runner, *args, "--scheduler", scheduler)
    assert here.exit_code == 0, here.stderr
    assert there.exit_code == 0, there.stderr
    return here, there


@pytest.mark.parametrize("args", [
    ("-f", "json"),
    ("-f", "csv"),
    ("-f", "json", "--by", "utm_source", "--trend", "week", "--partitions", "7"),
    ("-f", "json", "--as-of", "2026-10-20", "--mature-only", "--since", "14d"),
    ("-f", "csv", "--report", "micro", "--by", "device", "--partitions", "1"),
    ("-f", "csv", "--report", "time", "--funnel", "checkout"),
])
def test_example_log_on_a_scheduler_is_byte_identical(runner, dask_scheduler, args):
    here, there = both(runner, dask_scheduler, "analyze", EXAMPLE, "-c", CONFIG, *args)
    assert there.stdout == here.stdout and len(here.stdout) > 500
    assert there.stderr == here.stderr         # the same data-quality notes and warnings


def test_workers_start_a_cluster_of_their_own(runner):
    here = invoke(runner, "analyze", EXAMPLE, "-c", CONFIG, "-f", "json")
    there = invoke(runner, "analyze", EXAMPLE, "-c", CONFIG, "-f", "json", "--workers", "2", "--memory-limit", "1GiB")
    assert there.exit_code == 0, there.stderr
    assert there.stdout == here.stdout
    assert json.loads(there.stdout)["funnels"][0]["entrants"] == 2400


def test_files_from_s3_on_the_cluster(runner, dask_scheduler, s3_server, tmp_path):
    frame = pd.read_csv(EXAMPLE, dtype=str, keep_default_na=False)
    half = len(frame) // 2
    for i, part in enumerate((frame.iloc[:half], frame.iloc[half:])):
        part.to_csv(tmp_path / f"p{i}.csv", index=False)
        s3_server.put(str(tmp_path / f"p{i}.csv"), f"events/cluster/p{i}.csv")
    local = invoke(runner, "analyze", tmp_path / "p0.csv", tmp_path / "p1.csv", "-c", CONFIG, "-f", "csv")
    there = invoke(runner, "analyze", "s3://events/cluster/p*.csv", "-c", CONFIG, "-f", "csv", "--scheduler", dask_scheduler)
    assert there.exit_code == 0, there.stderr
    assert there.stdout == local.stdout


# ---- hypothesis-made logs over several files ----

EPOCH = 1_767_225_600
RULES = {
    "columns": {"user": "uid", "event": "name", "timestamp": "t", "timestamp_unit": "s",
                "properties": {"seg": "seg", "amount": "amount", "first_seg": {"from": "seg", "per_user": "first"}}},
    "conversions": {"view": {"kind": "milestone", "event": "A"}, "signup": {"kind": "secondary", "event": "B"},
                    "buy": {"kind": "macro", "event": "P", "value": "amount"}},
    "funnels": {"f": {"steps": ["view", {"event": "C"}, "buy"], "window": "1d", "breakdown": {"by": "seg"}},
                "s": {"steps": ["view", "buy"], "order": "strict", "count": "sessions", "window": "2h"}},
}

rows = st.tuples(st.sampled_from(["u1", "u2", "007", "7", "x y", "é"]),     # "007" and "7" are two users
                 st.integers(0, 3 * 86400), st.sampled_from("ABCDP"), st.sampled_from(["a", "b", ""]),
                 st.one_of(st.just(""), st.integers(0, 300).map(str)))


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.lists(rows, min_size=1, max_size=25), min_size=1, max_size=3),
       partitions=st.integers(1, 5))
def test_random_logs_in_several_files(runner, dask_scheduler, tmp_path_factory, files, partitions):
    import yaml

    tmp = tmp_path_factory.mktemp("logs")
    (tmp / "rules.yaml").write_text(yaml.safe_dump(RULES))
    paths = []
    for i, part in enumerate(files):
        frame = pd.DataFrame(part, columns=["uid", "t", "name", "seg", "amount"])
        frame["t"] = frame["t"] + EPOCH
        frame.to_csv(tmp / f"log{i}.csv", index=False)
        paths.append(tmp / f"log{i}.csv")
    for fmt in ("json", "csv"):
        here, there = both(runner, dask_scheduler, "analyze", *paths, "-c", tmp / "rules.yaml", "-f", fmt, "-q",
                           "--partitions", str(partitions), *(["--by", "seg"] if fmt == "json" else []))
        assert there.stdout == here.stdout


# ---- errors ----

def test_an_unreadable_file_is_one_line_naming_it(runner, dask_scheduler, tmp_path):
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"not parquet at all")
    result = invoke(runner, "analyze", EXAMPLE, bad, "-c", CONFIG, "-f", "json", "--scheduler", dask_scheduler)
    assert result.exit_code == 4, result.stderr
    assert "broken.parquet" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_workers_and_scheduler_together_are_a_usage_error(runner, dask_scheduler):
    result = invoke(runner, "analyze", EXAMPLE, "-c", CONFIG, "--workers", "2", "--scheduler", dask_scheduler)
    assert result.exit_code == 2
    assert "not both" in result.stderr


def test_identity_stitching_is_refused_on_a_cluster(runner, dask_scheduler, tmp_path):
    import yaml

    rules = {**RULES, "columns": {**RULES["columns"], "user": {"known": "uid", "anonymous": "anon"}}}
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules))
    (tmp_path / "log.csv").write_text(f"uid,anon,t,name,seg,amount\nu1,a1,{EPOCH},A,a,\n")
    result = invoke(runner, "analyze", tmp_path / "log.csv", "-c", tmp_path / "rules.yaml", "--scheduler", dask_scheduler)
    assert result.exit_code == 2
    assert "identity stitching" in result.stderr and "Traceback" not in result.stderr


def test_check_on_the_cluster_gives_the_same_alerts(runner, dask_scheduler, tmp_path):
    args = ("check", EXAMPLE, "-c", CONFIG, "-f", "json")
    here = invoke(runner, *args)
    there = invoke(runner, *args, "--scheduler", dask_scheduler)
    assert there.exit_code == here.exit_code and here.exit_code in (0, 1), here.stderr
    assert there.stdout == here.stdout and there.stderr == here.stderr


def test_the_scheduler_from_the_environment(runner, dask_scheduler, monkeypatch):
    here = invoke(runner, "analyze", EXAMPLE, "-c", CONFIG, "-f", "csv")
    monkeypatch.setenv("MICROCONV_SCHEDULER", dask_scheduler)
    there = invoke(runner, "analyze", EXAMPLE, "-c", CONFIG, "-f", "csv")
    assert there.exit_code == 0 and there.stdout == here.stdout


def test_partitions_without_a_cluster_are_a_usage_error(runner):
    result = invoke(runner, "analyze", EXAMPLE, "-c", CONFIG, "--partitions", "4")
    assert result.exit_code == 2 and "--workers or --scheduler" in result.stderr


def test_a_parquet_file_read_in_runs_of_row_groups(runner, dask_scheduler, tmp_path, monkeypatch):
    """Ten row groups read by four tasks (about 3 groups each): the same report and the same
    data-quality lines, whose row numbers stay the file's."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from microconv.run import dask

    frame = pd.read_csv(EXAMPLE, dtype=str, keep_default_na=False)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "shop.parquet",
                   row_group_size=len(frame) // 10 + 1)
    groups = pq.ParquetFile(tmp_path / "shop.parquet").metadata
    monkeypatch.setattr(dask, "READ_ROWS", 3 * groups.row_group(0).num_rows)
    units, _ = dask.read_units([str(tmp_path / "shop.parquet")], None)
    assert [g for _, g in units] == [(0, 3), (3, 6), (6, 9), (9, 10)]
    here, there = both(runner, dask_scheduler, "analyze", tmp_path / "shop.parquet", "-c", CONFIG, "-f", "json")
    assert there.stdout == here.stdout and there.stderr == here.stderr
    assert "shop.parquet: row " in here.stderr


def test_a_file_without_usable_rows_among_others(runner, dask_scheduler, tmp_path):
    """One file's rows all lack a user: in one process that is a data-quality line, not an error."""
    (tmp_path / "blank.csv").write_text("user_id,event_name,timestamp\n,page_view,2026-10-05T10:00:00Z\n")
    here, there = both(runner, dask_scheduler, "analyze", EXAMPLE, tmp_path / "blank.csv", "-c", CONFIG, "-f", "csv")
    assert there.stdout == here.stdout and there.stderr == here.stderr
    assert "dropped 136 of 45,140 rows without a user id" in here.stderr


@pytest.mark.parametrize("args", [("-f", "json"), ("-f", "csv", "--since", "14d", "--mature-only", "--partitions", "3")])
def test_paths_on_the_cluster(runner, dask_scheduler, args):
    here, there = both(runner, dask_scheduler, "paths", EXAMPLE, "-c", CONFIG, "--funnel", "checkout", *args)
    assert there.stdout == here.stdout and len(here.stdout) > 1000
    assert there.stderr == here.stderr


@pytest.mark.parametrize("args", [("-f", "json"), ("-f", "csv", "--funnel", "checkout", "--property", "device",
                                                   "--since", "14d", "--partitions", "3")])
def test_drivers_on_the_cluster(runner, dask_scheduler, args):
    here, there = both(runner, dask_scheduler, "drivers", EXAMPLE, "-c", CONFIG, *args)
    assert there.stdout == here.stdout and len(here.stdout) > 1000
    assert there.stderr == here.stderr


@pytest.mark.parametrize("args", [("--funnel", "checkout", "--dropped-after", "1", "-f", "csv"),
                                  ("--funnel", "cart_to_purchase", "--reached", "1", "-f", "json", "--partitions", "3")])
def test_users_on_the_cluster(runner, dask_scheduler, args):
    """The units behind a number (users, and sessions), sorted by id as in one process."""
    here, there = both(runner, dask_scheduler, "users", EXAMPLE, "-c", CONFIG, *args)
    assert there.stdout == here.stdout and len(here.stdout) > 1000


def test_pages_on_the_cluster(runner, dask_scheduler):
    here, there = both(runner, dask_scheduler, "pages", EXAMPLE, "-c", CONFIG, "--by", "device", "-f", "json")
    assert there.stdout == here.stdout and len(here.stdout) > 1000
    refused = invoke(runner, "pages", EXAMPLE, "-c", CONFIG, "--funnel", "checkout", "--scheduler", dask_scheduler)
    assert refused.exit_code == 2 and "does not run on a cluster yet" in refused.stderr


def test_a_bug_in_a_partition_is_one_line_naming_it(dask_scheduler):
    """A partial that fails (a bug: retried, then given up) reaches the client as one line naming
    the partition, which the CLI's boundary reports as an internal error (exit 70)."""
    import microconv
    from microconv.run.dask import Cluster

    cfg = microconv.load_config(CONFIG)
    with Cluster(scheduler=dask_scheduler, partitions=2) as cluster:
        events, _ = cluster.load_events([EXAMPLE], cfg)
        with pytest.raises(RuntimeError) as err:
            events.partials(lambda partition, last_ts: 1 / 0, lambda a, b: a)
    assert str(err.value).startswith("partition 1 of 2: ZeroDivisionError") or \
        str(err.value).startswith("partition 2 of 2: ZeroDivisionError")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_users_of_rows_left_out_are_counted_once(runner, dask_scheduler, tmp_path, fmt):
    """Only the funnel's events are shuffled; the users of the other rows still count, once each,
    across files and id types: int64 ids in a Parquet file, their digits in a CSV. Six users: 1 and
    2 only view pages, 2 and 3 are in both files, 7 is the CSV's "7" and the Parquet's 7."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"user_id": pa.array([1, 2, 3, 3, 7], pa.int64()),
                             "event_name": ["page_view", "page_view", "view_item", "purchase", "page_view"],
                             "timestamp": ["2026-10-01T10:00:00Z", "2026-10-01T11:00:00Z", "2026-10-02T10:00:00Z",
                                           "2026-10-02T10:05:00Z", "2026-10-03T09:00:00Z"]}), tmp_path / "a.parquet")
    (tmp_path / "b.csv").write_text("user_id,event_name,timestamp\n2,page_view,2026-10-04T10:00:00Z\n"
                                    "3,page_view,2026-10-04T11:00:00Z\n7,view_item,2026-10-05T10:00:00Z\n"
                                    "8,view_item,2026-10-05T11:00:00Z\n9,page_view,2026-10-06T10:00:00Z\n")
    (tmp_path / "rules.yaml").write_text("columns: {user: user_id, event: event_name, timestamp: timestamp}\n"
                                         "funnels:\n  buy:\n    steps: [{event: view_item}, {event: purchase}]\n")
    here, there = both(runner, dask_scheduler, "analyze", tmp_path / "a.parquet", tmp_path / "b.csv",
                       "-c", tmp_path / "rules.yaml", "-f", fmt, "--partitions", "3")
    assert there.stdout == here.stdout
    if fmt == "json":
        out = json.loads(there.stdout)
        assert (out["meta"]["events"], out["meta"]["users"]) == (10, 6)       # users 1, 2, 3, 7, 8 and 9
        assert [s["users"] for s in out["funnels"][0]["steps"]] == [3, 1]     # 3, 7, 8 view; 3 buys


def test_a_run_in_this_process_does_not_import_dask():
    """Dask's import costs a tenth of a second of every run; only --workers/--scheduler need it."""
    import subprocess
    import sys

    code = ("import sys\nfrom typer.testing import CliRunner\nfrom microconv.cli.app import app\n"
            "out = CliRunner().invoke(app, ['analyze', sys.argv[1], '-c', sys.argv[2], '-f', 'csv', '-q']).stdout\n"
            "print(out.splitlines()[1], sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    done = subprocess.run([sys.executable, "-c", code, str(EXAMPLE), str(CONFIG)], capture_output=True, text=True)
    assert done.stdout.strip() == "checkout,1,view_product,2400,1,1,0,,445,users,0 []", done.stderr
