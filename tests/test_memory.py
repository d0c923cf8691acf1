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
from microconv import memory

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


WARM_CHILD = """
import resource, sys
import numpy as np
from microconv import memory

memory.small_pages()
memory.keep_freed_memory()
if sys.argv[1] == "warm":
    memory.warm_heap(2**26).wait()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
block = np.ones(2**26 // 8)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_a_warmed_heap_serves_the_first_large_array_without_page_faults():
    """64 MiB is 16,384 pages: the first array that size faults each once, unless the warm-up's
    thread has touched and freed as much of the heap before."""
    faults = {}
    for mode in ("cold", "warm"):
        out = subprocess.run([sys.executable, "-c", WARM_CHILD, mode], capture_output=True, text=True, check=True,
                             env={k: v for k, v in os.environ.items()
                                  if k not in ("MICROCONV_HUGE_PAGES", "GLIBC_TUNABLES")})
        faults[mode] = int(out.stdout)
    assert faults["cold"] >= 16_000
    assert faults["warm"] < 1_000


def test_warm_bytes_count_the_event_files_named_on_the_command_line(tmp_path, monkeypatch):
    from microconv import memory
    (tmp_path / "a.parquet").write_bytes(b"x" * 1000)
    (tmp_path / "b.csv.gz").write_bytes(b"x" * 600)
    (tmp_path / "funnels.yaml").write_bytes(b"x" * 5000)      # not an event log
    (tmp_path / "dir.csv").mkdir()                            # not a file
    args = ["analyze", str(tmp_path / "a.parquet"), str(tmp_path / "b.csv.gz"), str(tmp_path / "dir.csv"),
            str(tmp_path / "missing.csv"), "-c", str(tmp_path / "funnels.yaml"), "-f", "csv"]
    files = memory._event_files(args)
    assert files == {str(tmp_path / "a.parquet"): "parquet", str(tmp_path / "b.csv.gz"): "csv"}
    assert memory.warm_bytes(files) == int(1.5 * 1000 + 0.25 * 600)       # Parquet, then gzipped CSV
    monkeypatch.setattr(memory, "WARM_MAX", 1200)
    assert memory.warm_bytes(files) == 1200
    assert memory.warm_bytes(memory._event_files(["--help"])) == 0


def test_the_command_imports_nothing_heavy_before_its_memory_settings():
    """``microconv.start`` must run its warm-up beside the imports of pandas and pyarrow, not after."""
    probe = ("import sys, microconv, microconv.start, microconv.memory; "
             "print(sorted(m for m in ('pandas', 'pyarrow', 'numpy', 'typer') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_format_has_a_warm_up_rate():
    from microconv import memory
    from microconv.formats import FORMATS

    assert set(FORMATS.values()) <= set(memory.WARM_PER_INPUT_BYTE)


TUNE_CHILD = """
import sys
from microconv import memory
print(type(memory.tune_for_one_run(sys.argv[1:])).__name__)
"""


def test_only_the_commands_that_read_whole_logs_warm_the_heap(tmp_path):
    (tmp_path / "a.parquet").write_bytes(b"x" * 4096)
    clean = {k: v for k, v in os.environ.items() if k not in ("MICROCONV_HUGE_PAGES", "GLIBC_TUNABLES")}

    def warmup(*args):
        return subprocess.run([sys.executable, "-c", TUNE_CHILD, *args], env=clean, capture_output=True, text=True,
                              check=True).stdout.strip()

    log = str(tmp_path / "a.parquet")
    assert warmup("analyze", log, "-c", "f.yaml") == "Warmup"
    assert warmup("paths", log) == "Warmup"
    assert warmup("init", log) == "NoneType"           # reads a sample
    assert warmup("analyze", str(tmp_path / "missing.parquet")) == "NoneType"
    assert warmup("--version") == "NoneType"


def test_a_failing_memory_set_up_does_not_fail_the_command():
    broken = ("import sys; from microconv import memory; memory.tune_for_one_run = lambda args: 1 / 0; "
              "sys.argv = ['microconv', '--version']; from microconv.start import main; main()")
    out = subprocess.run([sys.executable, "-c", broken], capture_output=True, text=True)
    assert (out.returncode, out.stderr) == (0, "")
    assert out.stdout.startswith("microconv ")
