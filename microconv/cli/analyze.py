"""``microconv analyze``: the funnel, micro-conversion, time, breakdown and trend tables."""
from __future__ import annotations

import time
from pathlib import Path

from ..errors import UsageError
from ..output import OutputPolicy
from ..render import Format
from ..reports import TABLES, report_of
from . import emit
from .boundary import error_boundary
from .options import (AsOfOpt, AttributionOpt, ByOpt, ConfigOpt, ControlOpt, CsvRawOpt, DebugOpt, EventsArg, FormatOpt, FunnelsOpt,
                      InputFormatOpt, MacroOpt, MatureOpt, OutputDirOpt, OutputOpt, QuietOpt, Report, ReportOpt,
                      SinceOpt, StrictOpt, TopOpt, TrendOpt, UntilOpt)
from .options import MemoryLimitOpt, PartitionsOpt, SchedulerOpt, WorkersOpt


def analyze(
    events: EventsArg,
    config: ConfigOpt = Path("funnels.yaml"),
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
    funnel: FunnelsOpt = None,
    strict: StrictOpt = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
    mature_only: MatureOpt = False,
    report: ReportOpt = None,
    by: ByOpt = None,
    attribution: AttributionOpt = None,
    top: TopOpt = None,
    trend: TrendOpt = None,
    as_of: AsOfOpt = None,
    output_dir: OutputDirOpt = None,
    csv_raw: CsvRawOpt = False,
    macro: MacroOpt = None,
    control: ControlOpt = None,
    quiet: QuietOpt = False,
    input_format: InputFormatOpt = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    memory_limit: MemoryLimitOpt = None,
    partitions: PartitionsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Replay event logs through the funnels in CONFIG: in the terminal a one-screen summary, then
    the funnels' drop-off tables (every table with --report all).

    Example: microconv analyze examples/shop_events.csv -c funnels.example.yaml -f csv > steps.csv
    """
    from .. import analyze as run_analysis
    from .. import load_config, load_events
    from ..api import REPORTS, needed_events

    policy = OutputPolicy(quiet=quiet)
    started = time.time()
    with error_boundary(debug) as scope:
        cfg = load_config(config)
        if fmt is Format.csv and report is Report.all:
            *first, last = TABLES
            raise UsageError(f"a CSV holds one table: use --report {', '.join(first)} or {last}",
                             hint="or --format json for all of them")
        chosen = (report or (Report.funnels if fmt in (Format.csv, Format.svg) else Report.all)).value
        if fmt is Format.svg:
            _check_svg(chosen, cfg, funnel)
        _check_report_inputs(chosen, cfg, by, trend, funnel, attribution, top)
        view = _table_view(report, by, trend, breakdown_asked=bool(by) or attribution is not None or top is not None)
        if attribution is not None:
            from ..config.model import parse_attribution
            try:
                attribution = parse_attribution(attribution)
            except ValueError as exc:
                raise UsageError(f"--attribution: {exc}") from None
        reports = REPORTS if chosen == "all" else (report_of(chosen).name,)
        if fmt is Format.table and report is None and output_dir is None:
            reports = tuple(r for r in reports if r in view["parts"] or r == "micro")   # the summary's micro rows
        if control is not None and not by:
            raise UsageError("--control needs --by PROPERTY: the control is one of its segments")
        micro_groups = "micro" in reports and bool(by or trend)
        # Only the rows of the config's events are kept, unless --as-of must find the end of the
        # data before its cut; the users of every row are counted only where the output shows them.
        cluster = emit.cluster(scope, workers, scheduler, memory_limit, partitions, quiet)    # None: in this process
        with policy.progress("reading events") as progress:
            read = {"only_events": needed_events(cfg, funnel, micro_groups=micro_groups, micro="micro" in reports)
                    if as_of is None else None,
                    "count_users": fmt is not Format.csv or report_of(chosen).counts_users or output_dir is not None}
            evts, quality = cluster.load_events(events, cfg, input_format=input_format, extra_properties=by or [], **read) \
                if cluster else load_events(events, cfg, input_format=input_format, extra_properties=by or [],
                                            progress=progress, **read)
        emit.note_quality(quality, policy, strict)
        options = {"funnels": funnel, "since": since, "until": until, "as_of": as_of, "mature_only": mature_only,
                   "macro": macro, "by": _one_or_all(by), "attribution": attribution, "top": top,
                   "trend": trend.value if trend else None, "control": control}
        result = run_analysis(cfg, evts, quality=quality, strict=strict, reports=reports, **options)
        emit.warn(policy, result.warnings)
        if output_dir is not None:
            emit.write_dir(output_dir, result, cfg, quality, options, started, csv_raw=csv_raw)
        _emit(result, fmt, output, chosen, view, csv_raw=csv_raw)


def _one_or_all(by: list[str] | None) -> str | tuple[str, ...] | None:
    """One property as its name (the manifest's options read as before several were possible)."""
    return None if not by else by[0] if len(by) == 1 else tuple(by)


def _check_report_inputs(report: str, cfg, by: list[str] | None, trend, funnels: list[str] | None,
                         attribution: str | None, top: int | None) -> None:
    """A breakdown or trend table that nothing asked for is a usage error, not an empty file."""
    names = funnels or list(cfg.funnels)
    configured = any(cfg.funnels[n].breakdown for n in names if n in cfg.funnels)
    if report.startswith("breakdown") and not by and not configured:
        raise UsageError(f"--report {report} needs --by PROPERTY (or a funnel with breakdown: in the config)")
    for option, value in (("--attribution", attribution), ("--top", top)):
        if value is not None and not by and not configured:
            raise UsageError(f"{option} needs --by PROPERTY (or a funnel with breakdown: in the config)")
    if report == "trend" and trend is None:
        raise UsageError("--report trend needs --trend day, week or month")


def _check_svg(report: str, cfg, funnels: list[str] | None) -> None:
    """An SVG is one chart: one funnel's bars, or with --report trend its trend."""
    if report not in ("funnels", "trend"):
        raise UsageError(f"-f svg draws a funnel or a trend, not --report {report}",
                         hint="use --report funnels (the default) or --report trend --trend week")
    names = funnels or list(cfg.funnels)
    if len(names) != 1:
        where = "--funnel names" if funnels else "the config has"
        raise UsageError(f"-f svg draws one funnel; {where} {len(names)}: {', '.join(names)}",
                         hint=f"pick one with --funnel {names[0]}")


def _table_view(report, by: list[str] | None, trend, *, breakdown_asked: bool) -> dict:
    """What the table format draws. Without --report: the summary, then the funnels' step tables,
    and the tables of the options given on the command line (--by: the breakdowns and the micro
    report per segment; --trend: the trends and the micro report per period); the time tables, a
    config's own breakdowns and the whole micro table wait for --report all (or their name), so
    that the first funnels are still on the screen when the output ends. ``--report all``: the
    summary and every table; ``--report NAME``: that table alone, as in the other formats."""
    from ..render.table import PARTS

    if report is Report.all:
        return {"summary": True, "parts": PARTS}
    if report is not None:
        return {"summary": False, "parts": PARTS}
    parts = ("funnels",) + (("breakdown", "micro_groups") if breakdown_asked else ()) + (
        ("trend", "micro_groups") if trend else ())
    return {"summary": True, "parts": parts,
            "more": "time to convert, every breakdown and every micro-conversion: --report all "
                    "(or one table: --report NAME)"}


def _emit(result, fmt: Format, output: Path | None, report: str, view: dict, *, csv_raw: bool) -> None:
    """The table on a terminal or pipe as rich draws it (``view``: see ``_table_view``), or in a
    file at 100 columns without colour; every other format as text."""
    if fmt is Format.table:
        from ..render.table import plain_text, result_renderable

        renderable = result_renderable(result, **view)
        if output is None:
            emit.show(renderable)
        else:
            emit.write(plain_text(renderable), output)
        return
    from ..render import render_text

    emit.write(render_text(result, fmt, report=report, csv_raw=csv_raw), output)
