"""Shared fixtures: the test directory on sys.path, golden-file updates, the shared data path, and the
hypothesis profiles.

Profiles: ``ci`` (CI=true, as ``.ci/run`` sets it) runs every property test with its full example
count; ``dev`` (the default) runs a fifth of them, so that the suite stays quick while working and
the thorough search still happens before a change lands.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings
from typer.testing import CliRunner

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS))

ROOT = TESTS.parent
SHARED_DATA = ROOT.parent / "shared" / "data"

CI_EXAMPLES = 100        # hypothesis' own default: what a test without an explicit count runs in ci
settings.register_profile("ci", max_examples=CI_EXAMPLES)
settings.register_profile("dev", max_examples=CI_EXAMPLES // 5)
settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else "dev")


def examples(ci_count: int) -> int:
    """A test's explicit ``max_examples``, given as its ci count and scaled like the loaded profile's
    default (ci: unchanged; dev: a fifth, at least 10 unless the ci count is smaller)."""
    scaled = ci_count * settings.default.max_examples // CI_EXAMPLES
    return max(scaled, min(ci_count, 10))


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="Rewrite tests/golden/ from the current output.")


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


needs_shared = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is not beside the repository")


@pytest.fixture
def runner() -> CliRunner:
    """The CLI runner of every command-line test (stdout and stderr apart)."""
    return CliRunner()


@pytest.fixture(scope="session")
def s3_server():
    """A local S3-compatible server (moto's server mode) on a free port of 127.0.0.1 for the whole
    session, with a bucket ``events``; its endpoint and dummy credentials go in the standard
    environment variables, which s3fs and the cluster's workers read. Yields an s3fs filesystem."""
    pytest.importorskip("moto.server")
    s3fs = pytest.importorskip("s3fs")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {k: os.environ.get(k) for k in (*env, "AWS_PROFILE", "AWS_SESSION_TOKEN")}
    os.environ.update(env)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    fs = s3fs.S3FileSystem(anon=False)
    fs.mkdir("events")
    try:
        yield fs
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def dask_scheduler(s3_server):
    """The address of one Dask cluster for the whole session, started apart from microconv (as a
    user's ``dask scheduler`` would be): two worker processes of one thread each. After the S3
    server, so that its workers inherit its endpoint and credentials."""
    distributed = pytest.importorskip("distributed")
    import logging

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=logging.ERROR)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()
