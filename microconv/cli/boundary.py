"""The error boundary: the one place where a ``MicroconvError`` becomes lines on stderr and an
exit code (house rule 3). The library names options by their keywords (``OptionError``); here
they are written as the flags the user typed."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import typer

from ..errors import ExitCode, MicroconvError, OptionError, Problem
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


def report_usage(exc) -> int:
    """A usage error click found while parsing (a missing argument, a bad choice or number, an
    unknown option or command) as the documented one line, with the usage or a suggestion as
    its hint, instead of click's usage block and ``Error: ...``; the exit code is click's (2).
    A bare ``microconv`` is not an error: its help, as click shows it (on stderr, exit 2)."""
    if type(exc).__name__ == "NoArgsIsHelpError":
        print(exc.format_message(), file=sys.stderr)
    else:
        OutputPolicy.error(str(usage_problem(exc)))
    return int(exc.exit_code)


def usage_problem(exc) -> Problem:
    """The line of a ``click.ClickException``: click's message (as its tests and users know it)
    without the full stop and pydantic's 'Value error, ', and what to do about it."""
    kind = type(exc).__name__        # typer vendors click (typer._click): its classes, by name
    possibilities = getattr(exc, "possibilities", None)
    text = exc.message if kind == "NoSuchOption" else exc.format_message()
    text = text.replace("Value error, ", "").replace("Input should be a valid integer, unable to parse string "
                                                     "as an integer", "not a whole number").strip().rstrip(".")
    ctx = getattr(exc, "ctx", None)
    if possibilities:
        hint = f"did you mean {' or '.join(possibilities)}?"
    elif kind == "MissingParameter" and ctx is not None:
        hint = f"usage: {ctx.command_path} {' '.join(ctx.command.collect_usage_pieces(ctx))}"
    elif ctx is not None:
        hint = f"see {ctx.command_path} --help"
    else:
        hint = None
    return Problem(text, hint=hint)


@contextmanager
def error_boundary(debug: bool) -> Iterator[ExitStack]:
    """Around a command's body: domain errors and bugs end the command with their exit code;
    ``--debug`` re-raises them with the traceback. What the body enters on the stack it yields
    (a Dask client) is closed when the command ends, whichever way it ends."""
    try:
        with ExitStack() as scope:
            yield scope
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
