"""``--output-dir``: every CSV table of the report registry (reports.TABLES) that a run produced,
plus a manifest of the run with each table's rows and sha256, swapped into place as one set.
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
from pathlib import Path

from ..errors import OutputError
from ..reports import TABLES
from .files import fsync_dir, output_error, take_over, umask_mode

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
        raise output_error(exc, shown, "cannot create the output directory") from None
    swapped = False
    try:
        for name, data in files.items():
            _write_new_file(fresh / name, data, _stat_or_none(target / name) if old is not None else None)
        fd = os.open(fresh, os.O_RDONLY | os.O_DIRECTORY)
        try:
            take_over(fd, old, umask_mode(0o777))
            os.fsync(fd)
        finally:
            os.close(fd)
        if old is None:
            os.rename(fresh, target)               # fails, rather than mixing, if DIR appeared meanwhile
        else:
            _swap_dirs(fresh, target, parent)
            swapped = True                         # `fresh` now holds the old set
        fsync_dir(parent)
    except OSError as exc:
        shutil.rmtree(fresh, ignore_errors=True)
        raise output_error(exc, shown) from None
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
        raise output_error(exc, shown, "cannot use the output directory") from None
    hint = "--output-dir replaces the whole directory: give a new or empty one, or one an earlier run wrote"
    if not stat.S_ISDIR(st.st_mode):
        raise OutputError("--output-dir: it exists and is not a directory", where=shown, hint=hint)
    try:
        names = sorted(os.listdir(target))
    except OSError as exc:
        raise output_error(exc, shown, "cannot read the output directory") from None
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
        take_over(fh.fileno(), like, umask_mode(0o666))
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
