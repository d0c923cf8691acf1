"""``microconv users``: the ids of the units behind one number of a funnel's table (a list to
retarget or e-mail), by the same engine as the counts."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UsageError
from ..output import OutputPolicy
from . import emit
from .boundary import error_boundary
from .options import MemoryLimitOpt, PartitionsOpt, SchedulerOpt, WorkersOpt
from .options import (ConfigOpt, CsvRawOpt, DebugOpt, EventsArg, FunnelOpt, InputFormatOpt, MatureOpt, OutputOpt,
                      QuietOpt, SinceOpt, StrictOpt, UntilOpt, choices)

# A string, not the Format enum: users has three of its formats, checked in the body (exit 2).
UsersFormatOpt = Annotated[Optional[str], typer.Option(
    "--format", "-f", show_default=False, metavar=choices("table", "csv", "json"),
    help="table, csv or json. [default: table on a terminal, else csv]")]
ReachedOpt = Annotated[Optional[int], typer.Option(
    "--reached", show_default=False, metavar="N", help="The units counted at step N (its users column): reached it or further.")]
DroppedAfterOpt = Annotated[Optional[int], typer.Option(
    "--dropped-after", show_default=False, metavar="N",
    help="The units counted as dropped after step N (the table's dropped at step N+1): not in progress.")]
ConvertedOpt = Annotated[bool, typer.Option("--converted", help="The units that reached the last step.")]


def users(
    events: EventsArg,
    funnel: FunnelOpt,
    config: ConfigOpt = Path("funnels.yaml"),
    reached: ReachedOpt = None,
    dropped_after: DroppedAfterOpt = None,
    converted: ConvertedOpt = False,
    fmt: UsersFormatOpt = None,
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
    """The ids of one funnel's units at a step (--reached N), dropped after it (--dropped-after N) or
    converted (--converted), with the step each reached and the times of its first and last step
    (docs/semantics.md section 11). The list has exactly as many rows as the table's number.

    Example: microconv users examples/shop_events.csv -c funnels.example.yaml --funnel checkout --dropped-after 2 > lost.csv
    """
    from .. import load_config, load_events
    from ..api import choose_funnels
    from ..render.users import render_users_csv, render_users_json, render_users_text, users_renderable
    from ..reports.users import choose_selection, funnel_units

    policy = OutputPolicy(quiet=quiet)
    with error_boundary(debug) as scope:
        if fmt is None:
            fmt = "table" if output is None and sys.stdout.isatty() else "csv"
        fmt = fmt.lower()
        if fmt not in ("table", "csv", "json"):
            raise UsageError(f"--format {fmt!r} is not one of 'table', 'csv', 'json'")
        cfg = load_config(config)
        name = choose_funnels(cfg, [funnel])[0]   # an unknown --funnel is a config error (exit 3), before reading data
        spec = cfg.funnels[name]                  # and a bad selection a usage error (2), also before
        choose_selection(len(spec.steps), reached, dropped_after, converted, tuple(s.optional for s in spec.steps))
        cluster = emit.cluster(scope, workers, scheduler, memory_limit, partitions, quiet)    # None: in this process
        evts, quality = (cluster.load_events if cluster else load_events)(events, cfg, input_format=input_format)
        emit.note_quality(quality, policy, strict)
        result = funnel_units(cfg, evts, name, reached=reached, dropped_after=dropped_after, converted=converted,
                              since=since, until=until, mature_only=mature_only, strict=strict)
        emit.warn(policy, result.warnings)
        waiting = int(result.frame["in_progress"].sum())
        if waiting:
            policy.note(f"{waiting:,} of the {result.count:,} {result.unit} listed are in progress (window still open "
                        "at the end of the data); --mature-only leaves them out")
        if fmt == "table" and output is None:
            emit.show(users_renderable(result))
            return
        text = (render_users_csv(result, raw=csv_raw) if fmt == "csv" else
                render_users_json(result) if fmt == "json" else render_users_text(result))
        emit.write(text, output)
