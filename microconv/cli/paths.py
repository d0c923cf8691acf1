"""``microconv paths``: what units did after the step where they dropped out of one funnel."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from ..output import OutputPolicy
from . import emit
from .boundary import error_boundary
from .options import MemoryLimitOpt, PartitionsOpt, SchedulerOpt, WorkersOpt
from .options import (ConfigOpt, CsvRawOpt, DebugOpt, EventsArg, FunnelOpt, InputFormatOpt, MatureOpt, OutputOpt,
                      PageOpt, PathsTopOpt, QuietOpt, SinceOpt, StrictOpt, UntilOpt, choices)

# A string, not the Format enum: paths has three of its formats, checked in the body (exit 2).
PathsFormatOpt = Annotated[str, typer.Option("--format", "-f", metavar=choices("table", "csv", "json"), help="table, csv or json.")]


def paths(
    events: EventsArg,
    funnel: FunnelOpt,
    config: ConfigOpt = Path("funnels.yaml"),
    top: PathsTopOpt = 10,
    page: PageOpt = None,
    fmt: PathsFormatOpt = "table",
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
    """For one funnel: what units did after the step where they dropped out (next events, next page,
    last event), and what those who went on did between steps (docs/semantics.md section 9).

    Example: microconv paths examples/shop_events.csv -c funnels.example.yaml --funnel checkout -f csv > paths.csv
    """
    from .. import load_config, load_events
    from ..api import choose_funnels
    from ..render.paths import paths_renderable, render_paths_csv, render_paths_json, render_paths_text
    from ..reports.paths import drop_off_paths, page_property

    policy = OutputPolicy(quiet=quiet)
    with error_boundary(debug) as scope:
        fmt = fmt.lower()
        if fmt not in ("table", "csv", "json"):
            raise UsageError(f"--format {fmt!r} is not one of 'table', 'csv', 'json'")
        cfg = load_config(config)
        choose_funnels(cfg, [funnel])  # an unknown --funnel is a config error (exit 3), before reading data
        prop = page_property(cfg, page)
        cluster = emit.cluster(scope, workers, scheduler, memory_limit, partitions, quiet)    # None: in this process
        evts, quality = (cluster.load_events if cluster else load_events)(
            events, cfg, input_format=input_format, extra_properties=[prop] if prop else [])
        emit.note_quality(quality, policy, strict)
        result = drop_off_paths(cfg, evts, funnel, top=top, since=since, until=until, mature_only=mature_only,
                                page=page, strict=strict)
        emit.warn(policy, result.warnings)
        waiting = sum(result.in_progress)
        if waiting:
            policy.note(f"{waiting:,} {result.unit} in progress (window still open at the end of the data) are not "
                        "counted as dropped; --mature-only leaves them out of every number")
        if fmt == "table" and output is None:
            emit.show(paths_renderable(result))
            return
        text = (render_paths_csv(result, raw=csv_raw) if fmt == "csv" else
                {"json": render_paths_json}.get(fmt, render_paths_text)(result))
        emit.write(text, output)
