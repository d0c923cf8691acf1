"""The command-line process's memory settings, each checked in a child process: they are the
whole process's and cannot be undone."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the settings are Linux's")

CHILD = """
import ctypes, resource, sys, threading
import numpy as np
from microconv import _runtime as memory

changed = memory.small_pages(), (memory.keep_freed_memory() if sys.argv[1] == "keep" else None)
faults = []

def twice():
    block = np.ones(2**26 // 8)              # 64 MiB: above any size glibc serves from its heap unasked
    del block
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = np.ones(2**26 // 8)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)

if sys.argv[2] == "thread":
    worker = threading.Thread(target=twice)
    worker.start()
    worker.join()
else:
    twice()
print(*changed, ctypes.CDLL(None).prctl(42, 0, 0, 0, 0), faults[0])   # 42: PR_GET_THP_DISABLE
"""


def run_child(mode: str, where: str = "main", **env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("MICROCONV_HUGE_PAGES", "GLIBC_TUNABLES")}
    out = subprocess.run([sys.executable, "-c", CHILD, mode, where], env={**clean, **env}, capture_output=True, text=True,
                         check=True)
    return out.stdout.split()


def test_small_pages_turns_off_huge_pages():
    changed, _, thp_disabled, _ = run_child("plain")
    assert (changed, thp_disabled) == ("True", "1")


def test_huge_pages_are_kept_on_request():
    changed, _, thp_disabled, _ = run_child("plain", MICROCONV_HUGE_PAGES="1")
    assert (changed, thp_disabled) == ("False", "0")


def test_freed_memory_is_reused_without_new_page_faults():
    """64 MiB is 16,384 pages of 4 KiB: allocated again after a free, glibc maps it afresh and each
    page faults once when numpy fills it; kept in the heap, it is filled with hardly a fault."""
    _, unset, _, fresh = run_child("plain")
    _, changed, _, reused = run_child("keep")
    assert unset == "None" and changed == "True"
    assert int(fresh) >= 16_000
    assert int(reused) < 1_000


def test_freed_memory_is_reused_in_other_threads_too():
    """A thread other than the main one gets an arena of its own, whose heaps hold at most 64 MiB:
    glibc maps the block afresh each time, unless every thread shares the main arena."""
    _, _, _, fresh = run_child("plain", "thread")
    _, changed, _, reused = run_child("keep", "thread")
    assert changed == "True"
    assert int(fresh) >= 16_000
    assert int(reused) < 1_000


def test_glibc_tunables_of_malloc_win():
    _, changed, _, faults = run_child("keep", GLIBC_TUNABLES="glibc.malloc.tcache_count=7")
    assert changed == "False"
    assert int(faults) >= 16_000
