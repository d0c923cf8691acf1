"""The typer app, its commands in the order ``--help`` lists them, and ``main``: the process
around one command (stream guards, process settings, the exit)."""
from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from .. import __version__
from ..errors import ExitCode, MicroconvError
from ..output import GuardedStream, OutputPolicy
from . import analyze, check, drivers, explain, init, pages, paths, users, validate
from .boundary import report_error
from .options import OnceCommand

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 an alert is breached (check), 2 usage error, 3 config invalid, 4 input data unreadable or not "
    "fitting the config, 5 cannot write output, 70 internal error."
)

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Funnel and micro-conversion analysis of event logs.",
    epilog=EXIT_CODES_HELP,
)

for _command in (analyze.analyze, check.check, validate.validate, explain.explain, init.init, paths.paths, users.users,
                 pages.pages, drivers.drivers):
    app.command(epilog=EXIT_CODES_HELP, cls=OnceCommand)(_command)


def _version(value: bool) -> None:
    if value:
        print(f"microconv {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    pass


def main() -> None:
    """The console entry point. Once the command has written and flushed its output, the process
    ends at once (``os._exit``): unloading pandas and pyarrow at interpreter shutdown would cost
    every run about a quarter of a second. Files are written atomically before this point. The
    process's memory settings (``microconv._runtime``) are made here, for the command alone.

    stdout and stderr are guarded (``output.GuardedStream``): closed (``>&-``), a reader gone
    (``| head``) or a full disk is exit 5 with one line on stderr if stderr can take it, never a
    traceback, and never 0 or ``check``'s 1, which would claim the output was delivered."""
    from .. import _runtime

    _runtime.tune_process()
    _reserve_std_descriptors()
    out = sys.stdout = GuardedStream(sys.stdout, "stdout", strict=True)
    err = sys.stderr = GuardedStream(sys.stderr, "stderr", strict=False)
    try:
        app(prog_name="microconv")
        code = 0
    except SystemExit as exc:
        code = exc.code
    except MicroconvError as exc:                 # stdout failed outside a command (--help, --version)
        code = report_error(exc)
    if code is None:
        code = 0
    elif not isinstance(code, int):
        sys.stderr.write(f"{code}\n")
        code = 1
    try:
        out.flush()
    except MicroconvError:
        pass
    if out.failure is not None and not (out.raised and code == ExitCode.OUTPUT):
        OutputPolicy.error(str(out.failure))       # failed at the last flush: nobody has said so yet
    err.flush()
    if (out.failure or err.failure) and code in (ExitCode.OK, ExitCode.ALERT):
        code = int(ExitCode.OUTPUT)
    _runtime.exit_now(code)


def _reserve_std_descriptors() -> None:
    """Put /dev/null on descriptors 0-2 when they were closed at start, so no file opened later
    (a temporary output file, say) takes the number 1 or 2 and receives what some C library
    writes to 'stderr'. Python already saw them closed: sys.stdout stays a closed stream."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
