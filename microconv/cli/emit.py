"""What a command writes: the payload to stdout or ``--output``, tables and a manifest to
``--output-dir``, and its notes and warnings to stderr (house rule 8). Rendering happens in
``microconv.render``; writing files in ``microconv.output``."""
from __future__ import annotations

import io
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from .. import __version__
from ..errors import DataError
from ..output import OutputPolicy, atomic_write, write_report_dir

PIPE_WIDTH = 120  # tables piped to a file or pager: wide enough for the micro report, never cropped at 80


def write(text: str, output: Path | None = None) -> None:
    """``text`` to ``output`` atomically, or to stdout; on a terminal, control characters from
    the data are shown, not obeyed."""
    if output is not None:
        atomic_write(output, text)
        return
    from ..render.escape import terminal_document

    sys.stdout.write(terminal_document(text) if sys.stdout.isatty() else text)


def show(renderable: object) -> None:
    """A rich table on stdout: as wide as the terminal, or ``PIPE_WIDTH`` when piped. Piped, the
    lines lose the padding rich puts at their end (a table pads every line to its width), which
    only gets in the way of ``diff``, ``grep ' $'`` and a reader's editor."""
    from rich.console import Console

    from ..render.table import strip_padding

    if sys.stdout.isatty():
        Console(highlight=False).print(renderable)
        return
    buf = io.StringIO()
    Console(highlight=False, width=PIPE_WIDTH, file=buf).print(renderable)
    sys.stdout.write(strip_padding(buf.getvalue()))


def say(lines: Iterable[str], *, quiet: bool) -> None:
    """Lines of a command's own account (``init``'s summary) on stderr, unless quiet."""
    from ..render.escape import terminal

    if not quiet:
        for line in lines:
            print(f"microconv: {terminal(line)}", file=sys.stderr)   # lines quote event names


def cluster(scope, workers: int | None, scheduler: str | None, memory_limit: str | None, partitions: int | None,
            quiet: bool):
    """The Dask cluster ``--workers`` or ``--scheduler`` (or MICROCONV_SCHEDULER) asks for, None
    for none: the run is then in this process. Its progress bars are drawn on a terminal only. It
    closes when the command's ``scope`` (``error_boundary``'s) ends: a client left to the garbage
    collector outlives the scheduler and retries its connection at the interpreter's exit."""
    import os
    import sys

    from ..errors import UsageError
    from ..run.options import SCHEDULER_ENV
    scheduler = scheduler or (os.environ.get(SCHEDULER_ENV) or None if workers is None else None)
    if workers is None and scheduler is None:
        if memory_limit is not None or partitions is not None:
            raise UsageError("--memory-limit and --partitions go with --workers or --scheduler")
        return None
    from ..run.dask import Cluster          # (only here: it imports Dask, a tenth of a second)
    return scope.enter_context(Cluster(workers, scheduler, memory_limit, partitions,
                                       progress=not quiet and sys.stderr.isatty()))


def warn(policy: OutputPolicy, warnings: Iterable[object]) -> None:
    for warning in warnings:
        policy.warn(str(warning))


def note_quality(quality, policy: OutputPolicy, strict: bool) -> None:
    """Rows dropped while loading and what loading joined (rule 1.9): a note each; a property
    that found no value in any row: a warning. With ``--strict`` a dropped row or an empty
    property is an error (the first), a join is not."""
    problems = quality.problems()
    if strict and problems:
        raise DataError(problems[0], hint="run without --strict to drop such rows with a note"
                        if problems[0] not in quality.empty else "check the column or path in the config")
    for message in quality.messages():
        (policy.warn if message in quality.empty else policy.note)(message)


def write_dir(directory: Path, result, cfg, quality, options: dict, started: float, *, csv_raw: bool) -> None:
    """The tables as CSV files and a manifest saying what produced them (issue: cron hygiene). The
    config's hash is of the bytes that were parsed: re-reading the file would hash an edit made
    since, or nothing at all for `-c <(...)`."""
    from datetime import datetime, timezone

    from ..config import located_of

    def stamp(seconds: float) -> str:
        return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(timespec="seconds")

    meta = result.meta
    run = {
        "microconv": __version__,
        "started": stamp(started),
        "elapsed_seconds": round(time.time() - started, 3),
        "config": {"path": located_of(cfg).file, "sha256": located_of(cfg).sha256},
        "inputs": [{"path": p, "bytes": Path(p).stat().st_size, "modified": stamp(Path(p).stat().st_mtime)}
                   for p in meta.sources],
        "rows": {"read": quality.rows_read, "dropped": dict(quality.dropped), "events": meta.events,
                 "users": meta.users},
        "data": {"first_timestamp": meta.first_ts.isoformat() if meta.first_ts is not None else None,
                 "last_timestamp": meta.last_ts.isoformat() if meta.last_ts is not None else None},
        "options": {k: v for k, v in {**options, "csv_raw": csv_raw}.items() if v not in (None, False)},
    }
    write_report_dir(result, directory, run=run, csv_raw=csv_raw)
