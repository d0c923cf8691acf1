"""The error boundary: the one place where a ``MicroconvError`` becomes lines on stderr and an
exit code (house rule 3). The library names options by their keywords (``OptionError``); here
they are written as the flags the user typed."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from ..errors import ExitCode, MicroconvError, OptionError
from ..output import OutputPolicy
from .options import FLAG_OF


def flag_of(option: str) -> str:
    """The command line's name of a library option (``as_of`` -> ``--as-of``)."""
    return FLAG_OF.get(option, "--" + option.replace("_", "-"))


def report_error(exc: MicroconvError) -> int:
    """Every problem of ``exc`` on stderr, options named as flags; the exit code to end with."""
    if isinstance(exc, OptionError):
        exc = exc.named(flag_of(exc.option))
    for problem in exc.problems:
        OutputPolicy.error(str(problem))
    return int(exc.exit_code)


@contextmanager
def error_boundary(debug: bool) -> Iterator[None]:
    """Around a command's body: domain errors and bugs end the command with their exit code;
    ``--debug`` re-raises them with the traceback."""
    try:
        yield
    except MicroconvError as exc:
        if debug:
            raise
        raise typer.Exit(report_error(exc)) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:  # noqa: BLE001 - the boundary of last resort
        if debug:
            raise
        OutputPolicy.error(f"internal error: {type(exc).__name__}: {exc} "
                           "(a bug; re-run with --debug and report the traceback)")
        raise typer.Exit(int(ExitCode.INTERNAL)) from None
