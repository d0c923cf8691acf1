"""The typer app, its commands in the order ``--help`` lists them, and ``main``: the process
around one command (stream guards, process settings, the exit)."""
from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer
from typer import completion
from typer.core import TyperGroup

from .. import __version__
from ..errors import ExitCode, MicroconvError
from ..output import GuardedStream, OutputPolicy
from . import analyze, check, drivers, explain, init, pages, paths, users, validate
from .boundary import report_error, report_usage
from .options import OnceCommand

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 an alert is breached (check), 2 usage error, 3 config invalid, 4 input data unreadable or not "
    "fitting the config, 5 cannot write output, 70 internal error."
)


class App(TyperGroup):
    """The app's group: click's own usage errors (a missing argument, a bad choice, an unknown
    option) end as the documented one line ``microconv: error: ...`` with exit 2, not as click's
    usage block and ``Error: ...``. The parse runs as click's non-standalone ``main``, which
    raises them instead of printing; everything else (``--help``, ``typer.Exit``, shell
    completion) goes on as in standalone mode."""

    def main(self, args=None, *rest, standalone_mode: bool = True, **kwargs):
        args = _bare_shell_options(list(sys.argv[1:] if args is None else args))
        if not standalone_mode:
            return super().main(args, *rest, standalone_mode=False, **kwargs)
        try:
            code = super().main(args, *rest, standalone_mode=False, **kwargs)
        except typer.TyperException as exc:   # typer's click (vendored as typer._click): its ClickException
            code = report_usage(exc)
        except typer.Abort:
            OutputPolicy.error("aborted")
            code = 1
        sys.exit(code if isinstance(code, int) else 0)


# Each command's line in `microconv --help`, whole (click would cut the docstring's first sentence).
SHORT_HELP = {
    "analyze": "A summary, then the funnel and micro-conversion tables.",
    "check": "The config's alerts: exit 1 when one is breached.",
    "validate": "Check a config, and optionally its names against event logs.",
    "explain": "How one user was counted, step by step.",
    "init": "A starter config guessed from an event log.",
    "paths": "What units did after dropping out of a funnel.",
    "users": "The ids of the units behind one number of a funnel.",
    "pages": "Views, exits and exit rate per page.",
    "drivers": "Events and property values that go with reaching a goal.",
}

app = typer.Typer(
    cls=App,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,     # its --show-completion ignores a shell named after it: ours below take one
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Funnel and micro-conversion analysis of event logs.",
    epilog=EXIT_CODES_HELP,
)

for _command in (analyze.analyze, check.check, validate.validate, explain.explain, init.init, paths.paths, users.users,
                 pages.pages, drivers.drivers):
    app.command(epilog=EXIT_CODES_HELP, cls=OnceCommand, short_help=SHORT_HELP[_command.__name__])(_command)


def _version(value: bool) -> None:
    if value:
        print(f"microconv {__version__}")
        raise typer.Exit()


SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")
DETECT = "(detect)"          # the value of a bare --show-completion: the current shell
completion.completion_init()   # typer's shell scripts and their completion protocol, as add_completion=True sets up


def _completion(action):
    """A callback of --show-completion/--install-completion: typer's, given the shell named
    (``bash``, ``zsh``, ``fish``, ...) or, with none, the shell it detects."""
    def callback(ctx: typer.Context, param, value: str | None) -> None:
        if value is None or ctx.resilient_parsing:
            return
        if value != DETECT and value.lower() not in SHELLS:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(map(repr, SHELLS))}", ctx=ctx, param=param)
        getattr(completion, action)(ctx, param, True if value == DETECT else value.lower())
    return callback


def _bare_shell_options(args: list[str]) -> list[str]:
    """``--show-completion`` with no shell after it means the current shell: typer's click has no
    option whose value may be left out, so the word for 'detect it' is put in."""
    for i, word in enumerate(args):
        if not word.startswith("-"):
            break                               # the command: its options are its own
        if word in ("--show-completion", "--install-completion") and (i + 1 == len(args) or args[i + 1].startswith("-")):
            return [*args[:i + 1], DETECT, *args[i + 1:]]
    return args


def _shell_option(flag: str, action: str, what: str) -> object:
    return Annotated[Optional[str], typer.Option(flag, metavar="[SHELL]", is_eager=True,
                                                 expose_value=False, callback=_completion(action),
                                                 help=f"{what} for SHELL (bash, zsh, fish or powershell; default: "
                                                      "the current shell), with funnel names from the config.")]


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
    install_completion: _shell_option("--install-completion", "install_callback", "Install shell completion") = None,
    show_completion: _shell_option("--show-completion", "show_callback", "Print the shell completion script") = None,
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
