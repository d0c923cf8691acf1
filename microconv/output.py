"""Where output goes: the payload to stdout or an atomically written file, the rest to stderr."""
from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import OutputError


def atomic_write(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OutputError(f"cannot write output: {exc.strerror}", where=str(path),
                          hint="check that the directory exists and is writable") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write output: {exc.strerror}", where=str(path)) from None


@dataclass(frozen=True)
class OutputPolicy:
    """What may be printed besides the payload: notes and warnings go to stderr unless quiet."""

    quiet: bool = False

    def note(self, text: str) -> None:
        if not self.quiet:
            print(f"microconv: note: {text}", file=sys.stderr)

    def warn(self, text: str) -> None:
        if not self.quiet:
            print(f"microconv: warning: {text}", file=sys.stderr)

    @staticmethod
    def error(text: str) -> None:
        print(f"microconv: error: {text}", file=sys.stderr)
