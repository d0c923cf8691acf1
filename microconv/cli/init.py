"""``microconv init``: a starter config guessed from an event log."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from . import emit
from .boundary import error_boundary
from .options import DebugOpt, EventsArg, InputFormatOpt, QuietOpt

ConfigOutputOpt = Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="Where to write the config (atomically); "
                                               "- prints it to stdout.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite an existing config file.")]


def init(
    events: EventsArg,
    output: ConfigOutputOpt = Path("funnels.yaml"),
    force: ForceOpt = False,
    quiet: QuietOpt = False,
    input_format: InputFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Guess the columns, a funnel and micro-conversions from an event log; write a starter config.

    Example: microconv init examples/shop_events.csv -o funnels.yaml
    """
    from ..init import scaffold

    to_stdout = str(output) == "-"
    with error_boundary(debug):
        if not to_stdout and output.exists() and not force:
            raise UsageError(f"{output} already exists",
                             hint="pass --force to overwrite it, or write another file with -o FILE (- prints it)")
        guess = scaffold(events, input_format=input_format,
                         config_name="funnels.yaml" if to_stdout else str(output))
        emit.write(guess.yaml, None if to_stdout else output)
        emit.say(([] if to_stdout else [f"wrote {output}"]) + guess.summary().splitlines(), quiet=quiet)
