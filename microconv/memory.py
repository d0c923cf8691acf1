"""How the command-line process asks for memory: it runs once over one large log, so pages it has
touched are worth keeping and huge pages are not worth asking for. Linux with glibc only; a
no-op elsewhere. A library caller's process is left as it is: only ``cli.main`` calls this."""
from __future__ import annotations

import ctypes
import os
import sys

PR_SET_THP_DISABLE = 41   # linux/prctl.h
M_TRIM_THRESHOLD = -1     # malloc.h
M_MMAP_MAX = -4
M_ARENA_MAX = -8


def tune_for_one_run() -> None:
    small_pages()
    keep_freed_memory()


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def small_pages() -> bool:
    """Turn off transparent huge pages for this process (MICROCONV_HUGE_PAGES=1 keeps them).
    numpy's and Arrow's allocators ask for huge pages, and a huge page's zeroing and compaction on
    first touch cost more than its fewer TLB misses save in a run that touches each array a few
    times: on the benchmark machine 128 MiB of fresh numpy array took 0.12-0.31 s in huge pages
    against 0.05-0.07 s in 4 KiB pages, and a 30M-event run 2.7 s against 2.0 s.
    True when the setting was changed."""
    libc = _libc()
    if libc is None or os.environ.get("MICROCONV_HUGE_PAGES") == "1":
        return False
    try:
        return libc.prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0
    except AttributeError:
        return False


def keep_freed_memory() -> bool:
    """Have glibc's malloc serve every array from its heap and keep what is freed there, instead of
    mapping each large array afresh and unmapping it when freed: the engine frees and allocates
    arrays of the same few sizes over and over, and every fresh page costs a page fault (here
    about 2 us). A 30M-event run faults 220k times instead of 290k (2.09 s -> 2.04 s), five
    funnels 560k instead of 820k (5.30 s -> 5.13 s), at up to a tenth more peak memory with
    several funnels. Every thread shares the main arena: another thread's arena grows in heaps of
    at most 64 MiB, so its larger arrays were mapped afresh each time whatever the settings above
    (30M events, 7 alternated rounds: one funnel 1.88 s -> 1.78 s, five 4.17 s -> 4.05 s, peak
    memory 6-9% lower; five funnels over 100M events, once 18.0 s against 16.9 s with neither
    setting, are now level with every memory setting off: 14.2 s against 14.3 s).
    Left alone when GLIBC_TUNABLES sets malloc's own tunables. True when the setting was changed."""
    libc = _libc()
    if libc is None or "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        return (bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1))
                and bool(libc.mallopt(M_ARENA_MAX, 1)))
    except AttributeError:
        return False
