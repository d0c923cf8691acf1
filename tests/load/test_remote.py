"""EVENTS as fsspec URLs: the example shop log read from a local S3-compatible server (moto,
``s3_server`` in conftest) gives the same report as the local file, in every format it is
uploaded as (CSV, gzip CSV, Parquet, a glob over daily pieces); a missing object or bucket is a
one-line data error naming the URL."""
from __future__ import annotations

import gzip
import json
import re

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import ROOT
from helpers import invoke
from microconv.load import remote

EXAMPLE = ROOT / "examples" / "shop_events.csv"
CONFIG = ROOT / "funnels.example.yaml"


def payload(stdout: str) -> dict:
    """The JSON report without the run's metadata (its sources name the file or URL read), and
    the data-quality lines without where their first rows are (also a file or URL, and per piece
    when the log is in pieces): the counts stay."""
    data = json.loads(stdout)
    data.pop("meta", None)
    data["data_quality"] = [re.sub(r" \(first: .*\)$", "", line) for line in data.get("data_quality", [])]
    return data


@pytest.fixture(scope="module")
def bucket(s3_server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("s3")
    s3_server.put(str(EXAMPLE), "events/shop/shop_events.csv")
    (tmp / "shop_events.csv.gz").write_bytes(gzip.compress(EXAMPLE.read_bytes()))
    s3_server.put(str(tmp / "shop_events.csv.gz"), "events/gz/shop_events.csv.gz")
    frame = pd.read_csv(EXAMPLE, dtype=str, keep_default_na=False)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp / "shop.parquet")
    s3_server.put(str(tmp / "shop.parquet"), "events/pq/shop.parquet")
    half = len(frame) // 2            # two pieces, in name order = row order
    frame.iloc[:half].to_csv(tmp / "part-0.csv", index=False)
    frame.iloc[half:].to_csv(tmp / "part-1.csv", index=False)
    for name in ("part-0.csv", "part-1.csv"):
        s3_server.put(str(tmp / name), f"events/parts/{name}")
    local_parquet = tmp / "shop.parquet"
    return local_parquet


@pytest.fixture(scope="module")
def local_json(runner_module):
    result = invoke(runner_module, "analyze", EXAMPLE, "-c", CONFIG, "-f", "json")
    assert result.exit_code == 0, result.stderr
    return payload(result.stdout)


@pytest.fixture(scope="module")
def runner_module():
    from typer.testing import CliRunner
    return CliRunner()


@pytest.mark.parametrize("url", ["s3://events/shop/shop_events.csv", "s3://events/gz/shop_events.csv.gz",
                                 "s3://events/pq/shop.parquet", "s3://events/parts/part-*.csv",
                                 "s3://events/parts/"])
def test_remote_events_give_the_local_report(bucket, local_json, runner_module, url):
    result = invoke(runner_module, "analyze", url, "-c", CONFIG, "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert payload(result.stdout) == local_json
    sources = json.loads(result.stdout)["meta"]["sources"]
    assert all(s.startswith("s3://events/") for s in sources), sources     # the URLs, not the spool's copies


def test_csv_output_is_byte_identical(bucket, runner_module):
    local = invoke(runner_module, "analyze", EXAMPLE, "-c", CONFIG, "-f", "csv")
    there = invoke(runner_module, "analyze", "s3://events/shop/shop_events.csv", "-c", CONFIG, "-f", "csv")
    assert there.exit_code == 0, there.stderr
    assert there.stdout == local.stdout and local.stdout.count("\n") > 3


@pytest.mark.parametrize("url, what", [("s3://events/shop/nothing.csv", "file not found"),
                                       ("s3://events/none-*.csv", "no file matches this pattern")])
def test_a_missing_object_is_a_data_error(bucket, runner_module, url, what):
    result = invoke(runner_module, "analyze", url, "-c", CONFIG, "-f", "json")
    assert result.exit_code == 4
    assert what in result.stderr and url in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_url_of_tells_urls_from_paths(tmp_path):
    from pathlib import Path
    assert remote.url_of("s3://b/k.csv") == "s3://b/k.csv"
    assert remote.url_of(Path("s3://b/k.csv")) == "s3://b/k.csv"        # the command line's Path folds '//'
    assert remote.url_of("file:///tmp/x.csv") is None
    assert remote.url_of("events/x.csv") is None and remote.url_of(Path("/tmp/x.csv")) is None
    assert remote.local_of("file:///tmp/x.csv") == "/tmp/x.csv"


def test_a_missing_filesystem_package_names_the_extra(monkeypatch):
    import builtins
    real = builtins.__import__

    def no_gcsfs(name, *args, **kwargs):
        if name.startswith("gcsfs"):
            raise ImportError("No module named 'gcsfs'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_gcsfs)
    from microconv.errors import UsageError
    with pytest.raises(UsageError) as err:
        remote.expand_url("gs://bucket/x.csv")
    assert "microconv[gcs]" in str(err.value.hint) and err.value.exit_code == 2


def test_a_copy_is_reused_until_the_object_changes(s3_server, tmp_path):
    (tmp_path / "a.csv").write_text("user_id,event_name,timestamp\nu1,x,2026-10-01T00:00:00Z\n")
    s3_server.put(str(tmp_path / "a.csv"), "events/reuse/a.csv")
    first, again = remote.fetch("s3://events/reuse/a.csv"), remote.fetch("s3://events/reuse/a.csv")
    assert str(first) == "s3://events/reuse/a.csv" and first.__fspath__() == again.__fspath__()
    (tmp_path / "a.csv").write_text("user_id,event_name,timestamp\nu2,y,2026-10-02T00:00:00Z\n")
    s3_server.put(str(tmp_path / "a.csv"), "events/reuse/a.csv")
    changed = remote.fetch("s3://events/reuse/a.csv")
    assert changed.__fspath__() != first.__fspath__() and "u2" in open(changed).read()
