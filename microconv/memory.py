"""How the command-line process asks for memory: it runs once over one large log, so pages it has
touched are worth keeping and huge pages are not worth asking for. Linux with glibc only; a
no-op elsewhere. A library caller's process is left as it is: only the ``microconv`` command
(``microconv.start``) calls this, before pandas and pyarrow are imported."""
from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Sequence

from .formats import format_of

PR_SET_THP_DISABLE = 41   # linux/prctl.h
M_TRIM_THRESHOLD = -1     # malloc.h
M_MMAP_MAX = -4
M_ARENA_MAX = -8
WARM_PER_INPUT_BYTE = {"parquet": 1.5, "csv": 0.25, "jsonl": 0.25}   # heap warmed per byte of the
WARM_MAX = 512 << 20        # event files named on the command line, up to about what a second core
                            # zeroes during the imports (text takes ~6x the bytes of Parquet)
WARM_SLICE = 4 << 20        # bytes touched between looks at whether the imports are done
WARM_COMMANDS = frozenset({"analyze", "check", "explain", "paths"})   # the ones that read whole logs


def tune_for_one_run(args: Sequence[str] = ()) -> Warmup | None:
    """The settings below, for a run whose command line is ``args``; its heap warm-up, if any (for
    the commands that read whole logs; not with malloc's own tunables set in GLIBC_TUNABLES)."""
    small_pages()
    if not keep_freed_memory() or next((a for a in args if not a.startswith("-")), None) not in WARM_COMMANDS:
        return None
    return warm_heap(warm_bytes(_event_files(args)))


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


def warm_bytes(files: dict[str, str]) -> int:
    """How much heap to warm for these event files (path -> format, from :func:`_event_files`):
    WARM_PER_INPUT_BYTE of its format per byte of each, at most WARM_MAX. A guess that only sizes
    the warm-up; it never changes a result."""
    total = 0.0
    for path, fmt in files.items():
        try:
            total += os.path.getsize(path) * WARM_PER_INPUT_BYTE.get(fmt, 0)
        except OSError:             # gone since: the run itself will say so
            pass
    return min(int(total), WARM_MAX)


def _event_files(args: Sequence[str]) -> dict[str, str]:
    """The existing files among a command line's ``args`` whose names say they are event logs
    (whatever option they follow), with their format."""
    named = ((a, format_of(a)) for a in args)
    return {a: fmt for a, fmt in named if fmt is not None and os.path.isfile(a)}


class Warmup:
    """A heap warm-up under way: :meth:`finish` stops it at the next slice and frees what it holds."""

    def __init__(self, thread: threading.Thread, stop: threading.Event):
        self._thread, self._stop = thread, stop

    def finish(self) -> None:
        self._stop.set()
        self._thread.join()

    def wait(self) -> None:
        """Let it touch all it was asked to, then return (tests)."""
        self._thread.join()


def warm_heap(nbytes: int) -> Warmup | None:
    """Touch up to ``nbytes`` of malloc's heap in a thread, then free them: kept in the heap (see
    :func:`keep_freed_memory`), those pages serve the run's arrays without a page fault each.
    Started before pandas and pyarrow load, the zeroing runs on the core that their GIL-bound
    imports leave idle (ctypes releases the GIL during the calls); it goes slice by slice and
    stops when told (:meth:`Warmup.finish`, once the imports are done), so that the run's arrays
    never have to grow the heap past a block still held. 30M events, one funnel: 1.85 s -> 1.73 s,
    7 alternated rounds, at ~50 MiB more peak memory (Arrow allocates from its own pool, not from
    this heap; moving it here saved 150 MiB but cost five funnels 1-3%). Only worth it with the
    heap kept; a no-op off glibc."""
    libc = _libc()
    if libc is None or nbytes <= 0:
        return None
    malloc, memset, free = libc.malloc, libc.memset, libc.free
    malloc.restype, malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    memset.restype, memset.argtypes = ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    free.restype, free.argtypes = None, [ctypes.c_void_p]
    stop = threading.Event()

    def touch() -> None:
        block = malloc(nbytes)
        if not block:
            return
        for at in range(0, nbytes, WARM_SLICE):
            if stop.is_set():
                break
            memset(block + at, 0, min(WARM_SLICE, nbytes - at))
        free(block)

    thread = threading.Thread(target=touch, name="microconv-warm", daemon=True)
    thread.start()
    return Warmup(thread, stop)
