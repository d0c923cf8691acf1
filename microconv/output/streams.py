"""stdout and stderr for the command line: the payload's stream, whose failure stops the run
(exit 5), and the one policy for everything else -- notes, warnings, progress, errors -- on stderr.
"""
from __future__ import annotations

import errno
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import OutputError
from .files import strerror

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
                      if getattr(exc, "errno", None) == errno.EPIPE else strerror(exc))
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
