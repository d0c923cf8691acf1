"""Writing the payload to a path: what the shell's ``>`` means, made safe against a half-written file:

- a regular file (or a name not taken yet) is written to a temporary file beside it, fsynced and
  renamed onto it, so a reader sees the old file or the whole new one. An existing file keeps its
  mode (and owner and group, where the process may set them); a new one gets 0666 less the umask.
- a symlink is followed: the file written is the link's final target, and the link stays a link.
- a character device, FIFO or other non-regular file is opened and written directly, never
  replaced: ``-o /dev/null`` run as root must leave the device node a device.
"""
from __future__ import annotations

import errno
import os
import re
import stat
import sys
import tempfile
from pathlib import Path

from ..errors import OutputError

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


def strerror(exc: OSError) -> str:
    """What the OS calls the failure ('No space left on device'), for a message."""
    return exc.strerror or str(exc)


def output_error(exc: OSError, where: str, what: str = "cannot write output") -> OutputError:
    return OutputError(f"{what}: {strerror(exc)}", where=where, hint=_HINTS.get(exc.errno))


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
        raise output_error(exc, shown) from None
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
        raise output_error(exc, shown) from None


def _write_in_place(target: Path, data: bytes, shown: str) -> None:
    """A device, FIFO or socket is written as the shell would: opened (a FIFO waits for its
    reader) and written, never created, truncated as a file or renamed over."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
        with os.fdopen(fd, "wb") as fh:            # the buffered writer retries partial writes
            fh.write(data)
    except OSError as exc:
        raise output_error(exc, shown) from None


def _replace_file(target: Path, data: bytes, old: os.stat_result | None, shown: str) -> None:
    directory = target.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise output_error(exc, shown) from None
    try:
        take_over(fd, old, umask_mode(0o666))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:                   # a failure or Ctrl-C: the old file stays whole
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise output_error(exc, shown) from None
        raise
    fsync_dir(directory)


def take_over(fd: int, old: os.stat_result | None, new_mode: int) -> None:
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


def umask_mode(base: int) -> int:
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


def fsync_dir(directory: Path) -> None:
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

