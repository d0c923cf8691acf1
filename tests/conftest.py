"""Shared fixtures: the test directory on sys.path, golden-file updates, the shared data path."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS))

ROOT = TESTS.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


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
