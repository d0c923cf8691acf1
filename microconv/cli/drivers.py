"""``microconv drivers``: which events and property values go with reaching a goal."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UsageError
from ..output import OutputPolicy
from . import emit
from .boundary import error_boundary
from .options import MemoryLimitOpt, PartitionsOpt, SchedulerOpt, WorkersOpt
from .options import (ConfigOpt, CsvRawOpt, DebugOpt, EventsArg, InputFormatOpt, MacroOpt, MatureOpt, OutputOpt,
                      QuietOpt, SinceOpt, StrictOpt, UntilOpt, choices, complete_funnel)

# Strings, not the shared Format enum: drivers has five of its formats, checked in the body (exit 2).
DriversFormatOpt = Annotated[str, typer.Option("--format", "-f", metavar=choices("table", "csv", "json", "markdown", "html"),
                                               help="table, csv, json, markdown or html (a page with the ranked chart).")]
GoalFunnelOpt = Annotated[Optional[str], typer.Option("--funnel", metavar="NAME", autocompletion=complete_funnel, help="Goal: reaching --step of this funnel, "
                                                      "among its counted units.")]
# Not in cli.options' library options: "--step" and "--property" are spelled from the names the library's
# OptionError gives ("step", "property"), which no other command takes.
StepOpt = Annotated[Optional[int], typer.Option("--step", metavar="N", help="With --funnel: the step to reach (2 to the last; "
                                                "default the last).")]
PropertyOpt = Annotated[Optional[list[str]], typer.Option("--property", metavar="P", help="Also rank every value of this "
                                                          "property, as P=value (repeatable).")]
DriversTopOpt = Annotated[int, typer.Option("--top", min=0, metavar="N", help="Rows listed per direction (positive, negative); "
                                            "0 = all.")]
FORMATS = ("table", "csv", "json", "markdown", "html")


def drivers(
    events: EventsArg,
    config: ConfigOpt = Path("funnels.yaml"),
    funnel: GoalFunnelOpt = None,
    step: StepOpt = None,
    macro: MacroOpt = None,
    properties: PropertyOpt = None,
    top: DriversTopOpt = 10,
    fmt: DriversFormatOpt = "table",
    output: OutputOpt = None,
    csv_raw: CsvRawOpt = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
    mature_only: MatureOpt = False,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
    input_format: InputFormatOpt = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    memory_limit: MemoryLimitOpt = None,
    partitions: PartitionsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Every event name (and every value of --property) ranked by its association with reaching the
    goal: odds ratio with a 95% interval, Fisher's p corrected over every row, implied steps apart
    (docs/semantics.md section 13). Goal: --funnel F [--step N], else --macro (default the first
    macro conversion).

    Example: microconv drivers examples/shop_events.csv -c funnels.example.yaml -f html -o drivers.html
    """
    from .. import load_config, load_events
    from ..api import choose_funnels, run_meta
    from ..render.drivers import (drivers_renderable, render_drivers_csv, render_drivers_html, render_drivers_json,
                                  render_drivers_markdown)
    from ..reports.drivers import drivers as find_drivers

    policy = OutputPolicy(quiet=quiet)
    with error_boundary(debug) as scope:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise UsageError(f"--format {fmt!r} is not one of {', '.join(map(repr, FORMATS))}")
        cfg = load_config(config)
        if funnel is not None:
            choose_funnels(cfg, [funnel])  # an unknown --funnel is a config error (exit 3), before reading data
        props = list(properties or [])
        cluster = emit.cluster(scope, workers, scheduler, memory_limit, partitions, quiet)    # None: in this process
        evts, quality = (cluster.load_events if cluster else load_events)(events, cfg, input_format=input_format,
                                                                          extra_properties=props)
        emit.note_quality(quality, policy, strict)
        result = find_drivers(cfg, evts, funnel=funnel, step=step, macro=macro, properties=props, top=top,
                              since=since, until=until, mature_only=mature_only, strict=strict)
        emit.warn(policy, result.warnings)
        if result.in_progress:
            policy.note(f"{result.in_progress:,} {result.unit} still in progress (window open at the end of the data) "
                        "count as failures; --mature-only leaves them out")
        if fmt == "table" and output is None:
            emit.show(drivers_renderable(result))
            return
        render = {"csv": lambda r: render_drivers_csv(r, raw=csv_raw), "json": render_drivers_json,
                  "markdown": render_drivers_markdown,
                  "html": lambda r: render_drivers_html(r, run_meta(cfg, evts.summary, evts.sources), [*quality.messages()] if quality else [])
                  }.get(fmt)
        if render is None:
            from ..render.drivers import render_drivers_text as render
        emit.write(render(result), output)
