"""``microconv check``: the config's alerts, exit 1 when one is breached (for cron and CI)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import ConfigError, ExitCode
from ..output import OutputPolicy
from . import emit
from .boundary import error_boundary
from .options import MemoryLimitOpt, PartitionsOpt, SchedulerOpt, WorkersOpt
from .options import (AsOfOpt, ConfigOpt, CsvRawOpt, DebugOpt, EventsArg, InputFormatOpt, MatureOpt, OutputDirOpt,
                      QuietOpt, SinceOpt, StrictOpt, TextFormat, TextFormatOpt, UntilOpt)

BaselineOpt = Annotated[Optional[Path], typer.Option("--baseline", metavar="FILE|DIR", help="An earlier run's output (-f json, "
                                                     "-f csv, or an --output-dir) for 'drop'/'rise' limits.")]


def check(
    events: EventsArg,
    config: ConfigOpt = Path("funnels.yaml"),
    baseline: BaselineOpt = None,
    fmt: TextFormatOpt = TextFormat.text,
    since: SinceOpt = None,
    until: UntilOpt = None,
    as_of: AsOfOpt = None,
    mature_only: MatureOpt = False,
    output_dir: OutputDirOpt = None,
    csv_raw: CsvRawOpt = False,
    quiet: QuietOpt = False,
    strict: StrictOpt = False,
    input_format: InputFormatOpt = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    memory_limit: MemoryLimitOpt = None,
    partitions: PartitionsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Check the config's alerts; print the breached ones and exit 1 if any is breached, 0 if none.

    Example: microconv check events.parquet -c funnels.yaml --since 7d --baseline last/ --output-dir last/ || mail -s "funnel alert" team@example.com
    """
    from .. import analyze as run_analysis
    from .. import load_config, load_events
    from ..api import needed_events
    from ..render.alerts import render_alerts
    from ..reports.alerts import alert_funnels, evaluate, load_baseline

    policy = OutputPolicy(quiet=quiet)
    started = time.time()
    with error_boundary(debug) as scope:
        cfg = load_config(config)
        if not cfg.alerts:
            raise ConfigError("the config defines no alerts", where=str(config),
                              hint="add e.g. alerts: [{funnel: checkout, step: purchase, rate_from_previous: {min: 0.3}}]")
        before = load_baseline(baseline) if baseline is not None and baseline.exists() else None
        if baseline is not None and before is None:
            policy.note(f"{baseline}: no such baseline yet (a first run?); drop/rise limits are not checked")
        cluster = emit.cluster(scope, workers, scheduler, memory_limit, partitions, quiet)    # None: in this process
        with policy.progress("reading events") as progress:
            evts, quality = cluster.load_events(events, cfg, input_format=input_format) if cluster else \
                load_events(events, cfg, input_format=input_format, progress=progress,
                                        only_events=needed_events(cfg, alert_funnels(cfg) if not output_dir else None)
                                        if as_of is None else None)
        emit.note_quality(quality, policy, strict)
        wants_micro = any(a.conversion for a in cfg.alerts)
        options = {"funnels": alert_funnels(cfg) if not output_dir else None, "since": since, "until": until,
                   "as_of": as_of, "mature_only": mature_only}
        reports = ("funnels", "micro", "time") if output_dir else ("funnels",) + (("micro",) if wants_micro else ())
        result = run_analysis(cfg, evts, quality=quality, strict=strict, reports=reports, **options)
        emit.warn(policy, result.warnings)
        outcomes = evaluate(cfg, result, before)
        unchecked = sum(o.unchecked for o in outcomes)
        if unchecked:
            policy.note(f"{unchecked} drop/rise limit{'s' if unchecked > 1 else ''} not checked: "
                        + ("no --baseline given" if before is None else f"no such value in {before.source}"))
        breached = [o for o in outcomes if o.breached]
        policy.note(f"{len(breached)} of {len(outcomes)} alerts breached")
        if output_dir is not None:
            emit.write_dir(output_dir, result, cfg, quality, options, started, csv_raw=csv_raw)
        emit.write(render_alerts(breached, fmt.value))
        if breached:
            raise typer.Exit(int(ExitCode.ALERT))
