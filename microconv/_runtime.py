"""Process settings for the ``microconv`` command alone: it runs once over one large log, so pages
it has touched are worth keeping, huge pages are not worth asking for, and unloading pandas at
exit is not worth waiting for. Linux with glibc only; a no-op elsewhere. Only the command's
``main`` calls :func:`tune_process` and :func:`exit_now`: a library caller's process is left as
it is. What each setting saved is in ``benchmarks/README.md``."""
from __future__ import annotations

import ctypes
import os
import sys

PR_SET_THP_DISABLE = 41   # linux/prctl.h
M_TRIM_THRESHOLD = -1     # malloc.h
M_MMAP_MAX = -4
M_ARENA_MAX = -8


def tune_process() -> None:
    """Both settings below; never the reason a run fails."""
    try:
        small_pages()
        keep_freed_memory()
    except Exception:          # only ever a speed-up
        pass


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def small_pages() -> bool:
    """Turn off transparent huge pages for this process (MICROCONV_HUGE_PAGES=1 keeps them): a huge
    page's zeroing and compaction on first touch cost more than its fewer TLB misses save in a run
    that touches each array a few times. True when the setting was changed."""
    libc = _libc()
    if libc is None or os.environ.get("MICROCONV_HUGE_PAGES") == "1":
        return False
    try:
        return libc.prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0
    except AttributeError:
        return False


def keep_freed_memory() -> bool:
    """Have glibc's malloc serve every array from one shared heap and keep what is freed there: the
    engine frees and allocates arrays of the same few sizes over and over, and every fresh page
    costs a page fault. One arena, because another thread's arena grows in heaps of at most 64 MiB,
    so its larger arrays would be mapped afresh each time. Left alone when GLIBC_TUNABLES sets
    malloc's own tunables. True when the setting was changed."""
    libc = _libc()
    if libc is None or "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        return (bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1))
                and bool(libc.mallopt(M_ARENA_MAX, 1)))
    except AttributeError:
        return False


def exit_now(code: int) -> None:
    """End the process at once, its output written and flushed: unloading pandas and pyarrow at
    interpreter shutdown would cost every run about a quarter of a second."""
    os._exit(code)
