"""Where output goes: the payload to stdout or to a path, the rest to stderr.

Writing to a path means what the shell's ``>`` means, made safe against a half-written file:

- a regular file (or a name not taken yet) is written to a temporary file beside it, fsynced and
  renamed onto it, so a reader sees the old file or the whole new one. An existing file keeps its
  mode (and owner and group, where the process may set them); a new one gets 0666 less the umask.
- a symlink is followed: the file written is the link's final target, and the link stays a link.
- a character device, FIFO or other non-regular file is opened and written directly, never
  replaced: ``-o /dev/null`` run as root must leave the device node a device.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import OutputError
from ..reports import TABLES

_HINTS = {
    errno.ENOSPC: "free some space, or write elsewhere",
    errno.EDQUOT: "free some space, or write elsewhere",
    errno.EACCES: "check the permissions; a file is replaced by a new one written beside it, so its "
                  "directory must be writable too",
    errno.EPERM: "check the permissions; a file is replaced by a new one written beside it, so its "
                 "directory must be writable too",
    errno.ENOENT: "check that the directory exists",
    errno.EROFS: "the file system is read-only; write elsewhere",
    errno.EISDIR: "give a file name, not a directory",
    errno.ELOOP: "the symlink points (through others) back at itself",
}


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _output_error(exc: OSError, where: str, what: str = "cannot write output") -> OutputError:
    return OutputError(f"{what}: {_reason(exc)}", where=where, hint=_HINTS.get(exc.errno))


def atomic_write(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) *to* ``path`` as the module docstring says: atomically beside a
    regular file, through a symlink to its target, directly into a device or FIFO.

    Raises:
        OutputError: it cannot be written (exit 5); an existing file is then left as it was.
    """
    shown = str(path)
    data = text.encode("utf-8")
    fd = _own_descriptor(shown)
    if fd is not None:
        _write_descriptor(fd, text, shown)
        return
    target = Path(os.path.realpath(path))          # follow every symlink: the link itself stays
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise _output_error(exc, shown) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputError("cannot write output: it is a directory", where=shown, hint=_HINTS[errno.EISDIR])
    if st is not None and not stat.S_ISREG(st.st_mode):
        _write_in_place(target, data, shown)
    else:
        _replace_file(target, data, st, shown)


_DESCRIPTOR = re.compile(r"/dev/(?:(stdout)|(stderr)|fd/(\d+))|/proc/(?:self|(\d+))/fd/(\d+)")


def _own_descriptor(path: str) -> int | None:
    """The descriptor of this process that ``-o /dev/stdout`` (``/dev/fd/N``, ``/proc/self/fd/N``)
    names: written as it is, since what the shell opened may be a pipe, which no path reaches
    again, or a file opened for appending, which a rename or a fresh open would wipe."""
    m = _DESCRIPTOR.fullmatch(os.path.normpath(path))
    if m is None or (m.group(4) is not None and int(m.group(4)) != os.getpid()):
        return None
    return 1 if m.group(1) else 2 if m.group(2) else int(m.group(3) or m.group(5))


def _write_descriptor(fd: int, text: str, shown: str) -> None:
    """stdout and stderr through their streams (so a closed or broken one fails as it does for
    the payload), any other descriptor with ``os.write``."""
    try:
        if fd in (1, 2):
            stream = sys.stdout if fd == 1 else sys.stderr
            stream.write(text)
            stream.flush()
            return
        view = memoryview(text.encode("utf-8"))
        while view:
            view = view[os.write(fd, view):]
    except (OSError, ValueError) as exc:
        if isinstance(exc, ValueError):            # a stream closed in this process
            exc = OSError(errno.EBADF, "it is closed")
        raise _output_error(exc, shown) from None


def _write_in_place(target: Path, data: bytes, shown: str) -> None:
    """A device, FIFO or socket is written as the shell would: opened (a FIFO waits for its
    reader) and written, never created, truncated as a file or renamed over."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
        with os.fdopen(fd, "wb") as fh:            # the buffered writer retries partial writes
            fh.write(data)
    except OSError as exc:
        raise _output_error(exc, shown) from None


def _replace_file(target: Path, data: bytes, old: os.stat_result | None, shown: str) -> None:
    directory = target.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise _output_error(exc, shown) from None
    try:
        _take_over(fd, old, _umask_mode(0o666))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:                   # a failure or Ctrl-C: the old file stays whole
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _output_error(exc, shown) from None
        raise
    _fsync_dir(directory)


def _take_over(fd: int, old: os.stat_result | None, new_mode: int) -> None:
    """Give the new file (or directory) ``fd`` the owner, group and mode of the one it replaces,
    or ``new_mode`` when it replaces nothing. Owner before mode: a chown clears set-id bits."""
    if old is not None and (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
        for uid in (old.st_uid, -1):               # only root may give a file away; a group may still fit
            try:
                os.fchown(fd, uid, old.st_gid)
                break
            except OSError:
                continue
    os.fchmod(fd, stat.S_IMODE(old.st_mode) if old is not None else new_mode)


def _umask_mode(base: int) -> int:
    """``base`` less the process's umask, read without changing it where Linux allows (os.umask
    can only be read by setting it, which races with any thread creating a file meanwhile)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return base & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return base & ~mask


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable; best effort (some file systems refuse to fsync a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class GuardedStream:
    """``sys.stdout`` or ``sys.stderr`` for the command line. A write that fails (the stream closed
    with ``>&-``, its reader gone with ``| head``, a full disk) is remembered as an OutputError,
    raised at once for stdout (the payload is lost: stop) and swallowed for stderr (a note that
    cannot be shown is no reason to stop the run); the exit code then says 5
    (``cli.main``). ``stream`` is None when the descriptor was closed before Python started."""

    def __init__(self, stream, name: str, *, strict: bool):
        self._stream = stream
        self.name = name
        self.strict = strict
        self.failure: OutputError | None = None
        self.raised = False

    def write(self, text: str) -> int:
        if not isinstance(text, str):          # click probes with b"" whether a stream takes bytes: it does not
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if not text:
            return 0
        try:
            if self._stream is None:
                raise OSError(errno.EBADF, "Bad file descriptor")
            return self._stream.write(text)
        except (OSError, ValueError) as exc:
            self._fail(exc)
            return 0

    def flush(self) -> None:
        try:
            if self._stream is not None:
                self._stream.flush()
        except (OSError, ValueError) as exc:
            self._fail(exc)

    def _fail(self, exc: Exception) -> None:
        if self.failure is None:
            closed = isinstance(exc, ValueError) or getattr(exc, "errno", None) == errno.EBADF
            reason = ("it is closed" if closed else "its reader went away (broken pipe)"
                      if getattr(exc, "errno", None) == errno.EPIPE else _reason(exc))
            self.failure = OutputError(f"cannot write to {self.name}: {reason}")
        if self.strict:
            self.raised = True
            raise OutputError(self.failure.problems)

    def isatty(self) -> bool:
        try:
            return self._stream is not None and self._stream.isatty()
        except (OSError, ValueError):
            return False

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str:
        return getattr(self._stream, "errors", None) or "strict"

    def __getattr__(self, name: str):
        if self._stream is None:
            raise AttributeError(name)
        return getattr(self._stream, name)


@dataclass(frozen=True)
class OutputPolicy:
    """What may be printed besides the payload: notes and warnings go to stderr unless quiet."""

    quiet: bool = False

    # Notes, warnings and errors quote event names and values from the data: their control
    # characters are shown (render.escape.terminal), so each message is one line and a value can
    # neither drive the terminal nor forge a line of its own.
    def note(self, text: str) -> None:
        if not self.quiet:
            print(f"microconv: note: {_one_line(text)}", file=sys.stderr)

    def warn(self, text: str) -> None:
        if not self.quiet:
            print(f"microconv: warning: {_one_line(text)}", file=sys.stderr)

    @contextmanager
    def progress(self, what: str) -> Iterator[Callable[[int, int | None], None] | None]:
        """A progress bar on stderr while reading, only when stderr is a terminal and not quiet;
        yields the callback for ``load_events(progress=...)``, or None."""
        if self.quiet or not sys.stderr.isatty():
            yield None
            return
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,} rows"),
                   TimeElapsedColumn())
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(what, total=None)
            yield lambda done, total: bar.update(task, completed=done, total=total)

    @staticmethod
    def error(text: str) -> None:
        print(f"microconv: error: {_one_line(text)}", file=sys.stderr)


def _one_line(text: str) -> str:
    from ..render.escape import terminal

    return terminal(text)


MANIFEST = "manifest.json"
# What a report directory may hold: the tables, the manifest, and temporary files that an
# interrupted run of an earlier version (which wrote file by file) left behind.
_NAMES = r"(?:(?:{0})\.csv|manifest\.json)".format("|".join(TABLES))
_OURS = re.compile(rf"{_NAMES}|\.{_NAMES}\.\w+\.tmp")


def write_report_dir(result, directory: str | Path, *, run: dict, csv_raw: bool = False) -> dict:
    """Each report table of ``result`` as ``DIR/<table>.csv`` plus ``DIR/manifest.json``, written as
    one set: into a fresh sibling directory that then takes DIR's place whole, so a reader (``check
    --baseline DIR``) sees the old set or the new one, never a mix, and tables of an earlier run that
    this one did not produce are gone. ``run`` (config, inputs, options, times) goes into the
    manifest, with each table's rows and sha256. Returns the manifest. ``csv_raw``: text cells that
    a spreadsheet would run as formulas are written as they are (render.escape.csv_frame).

    Raises:
        OutputError: DIR cannot be written, is not a directory, or holds files microconv did not
            write (they are never deleted); DIR is then left as it was.
    """
    from ..render.csv import render_csv

    files: dict[str, bytes] = {}
    tables = {}
    for name, table in TABLES.items():
        if not table.present(result):
            continue
        data = render_csv(result, name, raw=csv_raw).encode("utf-8")
        files[f"{name}.csv"] = data
        tables[name] = {"file": f"{name}.csv", "rows": data.count(b"\n") - 1,
                        "sha256": hashlib.sha256(data).hexdigest()}
    manifest = {**run, "tables": tables}
    files[MANIFEST] = (json.dumps(manifest, indent=2, default=str) + "\n").encode("utf-8")
    replace_dir(directory, files)
    return manifest


def replace_dir(directory: str | Path, files: dict[str, bytes]) -> None:
    """Make ``directory`` hold exactly ``files`` (name -> bytes), swapped in whole.

    The set is written into ``.NAME.new-XXXX`` beside DIR (same file system), fsynced, and then
    exchanged with DIR in one step by Linux's ``renameat2(RENAME_EXCHANGE)``. Where that call is
    missing (another OS, an old kernel, a file system without it) the fallback is rename DIR aside,
    rename the new set in, delete the old: between those two renames -- microseconds -- DIR does not
    exist, which a reader sees as "no baseline yet", never as a mix. An existing DIR keeps its mode
    (and owner, where possible), as do its files that are written again; new ones honour the umask.
    """
    shown = str(directory)
    target = Path(os.path.realpath(directory))
    old = _existing_report_dir(target, shown)
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fresh = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=parent))
    except OSError as exc:
        raise _output_error(exc, shown, "cannot create the output directory") from None
    swapped = False
    try:
        for name, data in files.items():
            _write_new_file(fresh / name, data, _stat_or_none(target / name) if old is not None else None)
        fd = os.open(fresh, os.O_RDONLY | os.O_DIRECTORY)
        try:
            _take_over(fd, old, _umask_mode(0o777))
            os.fsync(fd)
        finally:
            os.close(fd)
        if old is None:
            os.rename(fresh, target)               # fails, rather than mixing, if DIR appeared meanwhile
        else:
            _swap_dirs(fresh, target, parent)
            swapped = True                         # `fresh` now holds the old set
        _fsync_dir(parent)
    except OSError as exc:
        shutil.rmtree(fresh, ignore_errors=True)
        raise _output_error(exc, shown) from None
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    if swapped:
        shutil.rmtree(fresh, ignore_errors=True)


def _existing_report_dir(target: Path, shown: str) -> os.stat_result | None:
    """DIR's stat if it exists as a directory that may be replaced (empty, or only microconv's
    own files); None if it does not exist. Anything else is refused: --output-dir replaces the
    whole directory, and a user's other files must never go with it."""
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _output_error(exc, shown, "cannot use the output directory") from None
    hint = "--output-dir replaces the whole directory: give a new or empty one, or one an earlier run wrote"
    if not stat.S_ISDIR(st.st_mode):
        raise OutputError("--output-dir: it exists and is not a directory", where=shown, hint=hint)
    try:
        names = sorted(os.listdir(target))
    except OSError as exc:
        raise _output_error(exc, shown, "cannot read the output directory") from None
    if names and MANIFEST not in names:
        raise OutputError(f"--output-dir: the directory is not empty and has no {MANIFEST}, so microconv "
                          f"did not write it (it holds {names[0]!r})", where=shown, hint=hint)
    foreign = [n for n in names if not _OURS.fullmatch(n)]
    if foreign:
        raise OutputError(f"--output-dir: the directory holds {foreign[0]!r}, which microconv did not write",
                          where=shown, hint="move it out: " + hint)
    return st


def _stat_or_none(path: Path) -> os.stat_result | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def _write_new_file(path: Path, data: bytes, like: os.stat_result | None) -> None:
    """A file of the fresh set: created (nobody else can see the directory yet), given the mode of
    the file it replaces or the umask's, written and fsynced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        _take_over(fh.fileno(), like, _umask_mode(0o666))
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _swap_dirs(fresh: Path, target: Path, parent: Path) -> None:
    if _exchange(fresh, target):
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=parent))   # reserves a unique name
    os.rename(target, aside)                       # onto the empty placeholder
    try:
        os.rename(fresh, target)
    except OSError:
        os.rename(aside, target)
        raise
    os.rename(aside, fresh)                        # so the caller deletes the old set where it expects it


AT_FDCWD = -100
RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directory entries atomically (``renameat2(..., RENAME_EXCHANGE)``, Linux 3.15+,
    glibc 2.28+). False where the call or the file system does not offer it."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM):   # EPERM: a seccomp filter
        return False
    raise OSError(err, os.strerror(err), str(b))
