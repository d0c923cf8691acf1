"""Where output goes: the payload to stdout or an atomically written file, the rest to stderr."""
from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    from .render.escape import terminal

    return terminal(text)


TABLES = ("funnels", "micro", "time", "breakdown", "breakdown_steps", "trend")


def write_report_dir(result, directory: str | Path, *, run: dict, csv_raw: bool = False) -> dict:
    """Each report table of ``result`` as ``DIR/<table>.csv`` plus ``DIR/manifest.json``.

    Every file is written atomically and the manifest last, so a reader that finds the new
    manifest finds the new tables. ``run`` (config, inputs, options, times) goes into the manifest.
    Returns the manifest.
    """
    import hashlib
    import json

    from .render.csv import render_csv

    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output directory: {exc.strerror}", where=str(directory)) from None
    present = {"funnels": result.funnels, "micro": result.micro is not None, "time": result.times,
               "breakdown": result.breakdowns, "breakdown_steps": result.breakdowns, "trend": result.trends}
    tables = {}
    for name in TABLES:
        if not present[name]:
            continue
        text = render_csv(result, name, raw=csv_raw)
        atomic_write(directory / f"{name}.csv", text)
        tables[name] = {"file": f"{name}.csv", "rows": text.count("\n") - 1,
                        "sha256": hashlib.sha256(text.encode()).hexdigest()}
    manifest = {**run, "tables": tables}
    atomic_write(directory / "manifest.json", json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest
