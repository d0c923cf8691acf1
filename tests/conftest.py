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
