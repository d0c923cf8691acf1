"""The command line: parse arguments, call the library, render. No counting here.

Exit codes: 0 ok · 1 alert breached (``check``) · 2 usage · 3 config invalid ·
4 input data unreadable or not fitting the config · 5 cannot write output · 70 internal error.
"""
from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import __version__
from ..errors import DataError, ExitCode, MicroconvError, UsageError
from ..output.files import OutputPolicy, atomic_write
from ..reports import TABLES, report_of
from ..render import Format

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

PIPE_WIDTH = 120  # tables piped to a file or pager: wide enough for the micro report, never cropped at 80


# --report: every table of reports.REGISTRY, or all of them (not as one CSV).
Report = Enum("Report", {"all": "all", **{name: name for name in TABLES}}, type=str)


class TextFormat(str, Enum):
    text = "text"
    json = "json"


TextFormatOpt = Annotated[TextFormat, typer.Option("--format", "-f", case_sensitive=False, help="text or json.")]


class Period(str, Enum):
    day = "day"
    week = "week"
    month = "month"


EventsArg = Annotated[list[Path], typer.Argument(help="Event log(s): CSV, Parquet or JSON Lines, "
                                                 "optionally .gz/.zst; a directory or glob for many.",
                                                 show_default=False)]
ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Funnels config (YAML).")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", case_sensitive=False, help="Output format.")]
OutputOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the result to FILE (atomically).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but the result and errors.")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Dropped rows and unknown event names are errors.")]
class InputFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"
    jsonl = "jsonl"


InputFormatOpt = Annotated[Optional[InputFormat], typer.Option(
    "--input-format", case_sensitive=False, help="csv, parquet or jsonl, when the file name does not tell.",
    callback=lambda value: value and value.value)]     # the library takes the name
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks.", hidden=True)]
SinceOpt = Annotated[Optional[str], typer.Option("--since", help="Only entries (step-1 events) from this date, "
                                                 "date-time, or e.g. 7d = the last 7 days of data.")]
UntilOpt = Annotated[Optional[str], typer.Option("--until", help="Only entries before this date-time, or up to "
                                                 "and including this date; later steps still count.")]
MatureOpt = Annotated[bool, typer.Option("--mature-only", help="Leave out entrants whose window is still open "
                                         "at the end of the data.")]
AsOfOpt = Annotated[Optional[str], typer.Option("--as-of", help="Analyse as if the data ended with this date "
                                                "(later events are left out; --since 7d counts back from it).")]
OutputDirOpt = Annotated[Optional[Path], typer.Option("--output-dir", help="Also write each report table as "
                                                      "DIR/<table>.csv with DIR/manifest.json (atomically).")]
CsvRawOpt = Annotated[bool, typer.Option("--csv-raw", help="Write CSV text cells as they are: by default a value "
                                         "a spreadsheet would run as a formula (=, +, -, @, tab, CR first) "
                                         "starts with '.")]


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


@contextmanager
def error_boundary(debug: bool):
    """The one place where errors become messages and exit codes."""
    try:
        yield
    except MicroconvError as exc:
        if debug:
            raise
        for problem in exc.problems:
            OutputPolicy.error(str(problem))
        raise typer.Exit(int(exc.exit_code)) from None
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


@app.command(epilog=EXIT_CODES_HELP)
def analyze(
    events: EventsArg,
    config: ConfigOpt = Path("funnels.yaml"),
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
    funnel: Annotated[Optional[list[str]], typer.Option("--funnel", help="Only this funnel (repeatable).")] = None,
    strict: StrictOpt = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
    mature_only: MatureOpt = False,
    report: Annotated[Optional[Report], typer.Option("--report", case_sensitive=False,
                                                     help=f"Which table: {', '.join(TABLES)}, or all (default: "
                                                          "all; funnels for CSV, which holds one table).")]
    = None,
    by: Annotated[Optional[str], typer.Option("--by", help="Break every funnel down by this property "
                                              "(a column or a columns.properties name).")] = None,
    attribution: Annotated[Optional[str], typer.Option("--attribution", help="Whose value a unit takes: "
                                                       "first_touch (default), last_touch or step:N.")] = None,
    top: Annotated[Optional[int], typer.Option("--top", min=0, help="Segments for the N values with the most "
                                               "entrants, the rest pooled as (other); 0 = all. [default: 10]")]
    = None,
    trend: Annotated[Optional[Period], typer.Option("--trend", case_sensitive=False,
                                                    help="Step numbers per entry cohort: day, week or month.")]
    = None,
    as_of: AsOfOpt = None,
    output_dir: OutputDirOpt = None,
    csv_raw: CsvRawOpt = False,
    macro: Annotated[Optional[str], typer.Option("--macro", help="The macro conversion the micro-conversion "
                                                 "report measures against (default: the first kind: macro).")]
    = None,
    quiet: QuietOpt = False,
    input_format: InputFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Replay event logs through the funnels in CONFIG and print drop-off tables.

    Example: microconv analyze examples/shop_events.csv -c funnels.example.yaml -f csv > steps.csv
    """
    from .. import analyze as run_analysis
    from .. import load_config, load_events
    from ..api import REPORTS, needed_events

    policy = OutputPolicy(quiet=quiet)
    started = time.time()
    with error_boundary(debug):
        cfg = load_config(config)
        if fmt is Format.csv and report is Report.all:
            *first, last = TABLES
            raise UsageError(f"a CSV holds one table: use --report {', '.join(first)} or {last}",
                             hint="or --format json for all of them")
        chosen = (report or (Report.funnels if fmt is Format.csv else Report.all)).value
        _check_report_inputs(chosen, cfg, by, trend, funnel, attribution, top)
        if attribution is not None:
            from ..config.model import parse_attribution
            try:
                attribution = parse_attribution(attribution)
            except ValueError as exc:
                raise UsageError(f"--attribution: {exc}") from None
        reports = REPORTS if chosen == "all" else (report_of(chosen).name,)
        # Only the rows of the config's events are kept, unless --as-of must find the end of the
        # data before its cut; the users of every row are counted only where the output shows them.
        with policy.progress("reading events") as progress:
            evts, quality = load_events(events, cfg, input_format=input_format, extra_properties=[by] if by else [],
                                        only_events=needed_events(cfg, funnel) if as_of is None else None,
                                        count_users=(fmt is not Format.csv or report_of(chosen).counts_users
                                                     or output_dir is not None),
                                        progress=progress)
        _report_quality(quality.messages(), policy, strict)
        options = {"funnels": funnel, "since": since, "until": until, "as_of": as_of, "mature_only": mature_only,
                   "macro": macro, "by": by, "attribution": attribution, "top": top,
                   "trend": trend.value if trend else None}
        result = run_analysis(cfg, evts, quality=quality, strict=strict, reports=reports, **options)
        for warning in result.warnings:
            policy.warn(str(warning))
        if output_dir is not None:
            _write_dir(output_dir, result, cfg, quality, options, started, csv_raw=csv_raw)
        _emit(result, fmt, output, chosen, csv_raw=csv_raw)


@app.command(epilog=EXIT_CODES_HELP)
def check(
    events: EventsArg,
    config: ConfigOpt = Path("funnels.yaml"),
    baseline: Annotated[Optional[Path], typer.Option("--baseline", help="An earlier run's output (-f json, "
                                                     "-f csv, or an --output-dir) for 'drop'/'rise' limits.")]
    = None,
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
    debug: DebugOpt = False,
) -> None:
    """Check the config's alerts; print the breached ones and exit 1 if any is breached, 0 if none.

    Example: microconv check events.parquet -c funnels.yaml --since 7d --baseline last/ --output-dir last/ || mail -s "funnel alert" team@example.com
    """
    from .. import analyze as run_analysis
    from .. import load_config, load_events
    from ..reports.alerts import alert_funnels, evaluate, load_baseline
    from ..api import needed_events
    from ..errors import ConfigError
    from ..render.alerts import render_alerts

    policy = OutputPolicy(quiet=quiet)
    started = time.time()
    with error_boundary(debug):
        cfg = load_config(config)
        if not cfg.alerts:
            raise ConfigError("the config defines no alerts", where=str(config),
                              hint="add e.g. alerts: [{funnel: checkout, step: purchase, rate_from_previous: {min: 0.3}}]")
        before = load_baseline(baseline) if baseline is not None and baseline.exists() else None
        if baseline is not None and before is None:
            policy.note(f"{baseline}: no such baseline yet (a first run?); drop/rise limits are not checked")
        with policy.progress("reading events") as progress:
            evts, quality = load_events(events, cfg, input_format=input_format, progress=progress,
                                        only_events=needed_events(cfg, alert_funnels(cfg) if not output_dir else None)
                                        if as_of is None else None)
        _report_quality(quality.messages(), policy, strict)
        wants_micro = any(a.conversion for a in cfg.alerts)
        options = {"funnels": alert_funnels(cfg) if not output_dir else None, "since": since, "until": until,
                   "as_of": as_of, "mature_only": mature_only}
        reports = ("funnels", "micro", "time") if output_dir else ("funnels",) + (("micro",) if wants_micro else ())
        result = run_analysis(cfg, evts, quality=quality, strict=strict, reports=reports, **options)
        for warning in result.warnings:
            policy.warn(str(warning))
        outcomes = evaluate(cfg, result, before)
        unchecked = sum(o.unchecked for o in outcomes)
        if unchecked:
            policy.note(f"{unchecked} drop/rise limit{'s' if unchecked > 1 else ''} not checked: "
                        + ("no --baseline given" if before is None else f"no such value in {before.source}"))
        breached = [o for o in outcomes if o.breached]
        policy.note(f"{len(breached)} of {len(outcomes)} alerts breached")
        if output_dir is not None:
            _write_dir(output_dir, result, cfg, quality, options, started, csv_raw=csv_raw)
        _write_payload(render_alerts(breached, fmt.value))
        if breached:
            raise typer.Exit(int(ExitCode.ALERT))


@app.command(epilog=EXIT_CODES_HELP)
def validate(
    events: Annotated[Optional[list[Path]], typer.Argument(help="Optional event log(s) to check the "
                                                           "config against.", show_default=False)] = None,
    config: ConfigOpt = Path("funnels.yaml"),
    input_format: InputFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Check a config; with event logs, also check its columns and event names against the data.

    Example: microconv validate -c funnels.example.yaml examples/shop_events.csv
    """
    from .. import load_config, load_events
    from ..config import located_of
    from ..engine.matching import unknown_event_names

    with error_boundary(debug):
        cfg = load_config(config)
        summary = f"{config}: valid ({len(cfg.funnels)} funnels, {len(cfg.conversions)} conversions)"
        if events:
            evts, _ = load_events(events, cfg, input_format=input_format)
            errors, warnings = unknown_event_names(cfg, evts.frame["event"].cat.categories)
            if errors or warnings:
                raise DataError(located_of(cfg).sort(errors + warnings))
            summary += f"; every column and event name occurs in {len(evts):,} events"
        print(summary)


@app.command(epilog=EXIT_CODES_HELP)
def explain(
    events: EventsArg,
    user: Annotated[str, typer.Option("--user", "-u", help="The user id to trace.", show_default=False)],
    config: ConfigOpt = Path("funnels.yaml"),
    funnel: Annotated[Optional[list[str]], typer.Option("--funnel", help="Only this funnel (repeatable).")] = None,
    fmt: TextFormatOpt = TextFormat.text,
    since: SinceOpt = None,
    until: UntilOpt = None,
    mature_only: MatureOpt = False,
    input_format: InputFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Show how one user was counted: their events, which event matched each step, and why they stopped.

    Example: microconv explain examples/shop_events.csv -c funnels.example.yaml --user u0042
    """
    from .. import load_config, load_events
    from ..reports.explain import explain_user
    from ..render.explain import render_explain_json, render_explain_text

    with error_boundary(debug):
        cfg = load_config(config)
        evts, _ = load_events(events, cfg, input_format=input_format)
        ex = explain_user(cfg, evts, user, funnels=funnel, since=since, until=until, mature_only=mature_only)
        _write_payload(render_explain_json(ex) if fmt is TextFormat.json else render_explain_text(ex))


def _write_dir(directory: Path, result, cfg, quality, options: dict, started: float, *, csv_raw: bool) -> None:
    """The tables as CSV files and a manifest saying what produced them (issue: cron hygiene). The
    config's hash is of the bytes that were parsed: re-reading the file would hash an edit made
    since, or nothing at all for `-c <(...)`."""
    from datetime import datetime, timezone

    from ..config import located_of
    from ..output.files import write_report_dir

    def stamp(seconds: float) -> str:
        return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(timespec="seconds")

    meta = result.meta
    run = {
        "microconv": __version__,
        "started": stamp(started),
        "elapsed_seconds": round(time.time() - started, 3),
        "config": {"path": located_of(cfg).file, "sha256": located_of(cfg).sha256},
        "inputs": [{"path": p, "bytes": Path(p).stat().st_size, "modified": stamp(Path(p).stat().st_mtime)}
                   for p in meta.sources],
        "rows": {"read": quality.rows_read, "dropped": dict(quality.dropped), "events": meta.events,
                 "users": meta.users},
        "data": {"first_timestamp": meta.first_ts.isoformat() if meta.first_ts is not None else None,
                 "last_timestamp": meta.last_ts.isoformat() if meta.last_ts is not None else None},
        "options": {k: v for k, v in {**options, "csv_raw": csv_raw}.items() if v not in (None, False)},
    }
    write_report_dir(result, directory, run=run, csv_raw=csv_raw)


def _check_report_inputs(report: str, cfg, by: str | None, trend, funnels: list[str] | None,
                         attribution: str | None, top: int | None) -> None:
    """A breakdown or trend table that nothing asked for is a usage error, not an empty file."""
    names = funnels or list(cfg.funnels)
    configured = any(cfg.funnels[n].breakdown for n in names if n in cfg.funnels)
    if report.startswith("breakdown") and by is None and not configured:
        raise UsageError(f"--report {report} needs --by PROPERTY (or a funnel with breakdown: in the config)")
    for option, value in (("--attribution", attribution), ("--top", top)):
        if value is not None and by is None and not configured:
            raise UsageError(f"{option} needs --by PROPERTY (or a funnel with breakdown: in the config)")
    if report == "trend" and trend is None:
        raise UsageError("--report trend needs --trend day, week or month")


def _report_quality(messages: list[str], policy: OutputPolicy, strict: bool) -> None:
    if strict and messages:
        raise DataError(messages[0], hint="run without --strict to drop such rows with a note")
    for message in messages:
        policy.note(message)


def _emit(result, fmt: Format, output: Path | None, report: str, *, csv_raw: bool) -> None:
    from ..render import render_text

    if output is not None:
        atomic_write(output, render_text(result, fmt, report=report, csv_raw=csv_raw))
        return
    if fmt is Format.table:
        from rich.console import Console

        from ..render.table import result_renderable

        Console(highlight=False, width=None if sys.stdout.isatty() else PIPE_WIDTH).print(result_renderable(result))
        return
    _write_payload(render_text(result, fmt, report=report, csv_raw=csv_raw))


def _write_payload(text: str) -> None:
    """The result on stdout; on a terminal, control characters from the data shown, not obeyed."""
    from ..render.escape import terminal_document

    sys.stdout.write(terminal_document(text) if sys.stdout.isatty() else text)


@app.command(epilog=EXIT_CODES_HELP)
def init(
    events: EventsArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the config (atomically); "
                                         "- prints it to stdout.")] = Path("funnels.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config file.")] = False,
    quiet: QuietOpt = False,
    input_format: InputFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Guess the columns, a funnel and micro-conversions from an event log; write a starter config.

    Example: microconv init examples/shop_events.csv -o funnels.yaml
    """
    from ..render.escape import terminal
    from ..init import scaffold

    to_stdout = str(output) == "-"
    with error_boundary(debug):
        if not to_stdout and output.exists() and not force:
            raise UsageError(f"{output} already exists",
                             hint="pass --force to overwrite it, or write another file with -o FILE (- prints it)")
        guess = scaffold(events, input_format=input_format,
                         config_name="funnels.yaml" if to_stdout else str(output))
        if to_stdout:
            _write_payload(guess.yaml)
        else:
            atomic_write(output, guess.yaml)
        if not quiet:
            lines = ([] if to_stdout else [f"wrote {output}"]) + guess.summary().splitlines()
            for line in lines:
                print(f"microconv: {terminal(line)}", file=sys.stderr)   # lines quote event names


@app.command(epilog=EXIT_CODES_HELP)
def paths(
    events: EventsArg,
    funnel: Annotated[str, typer.Option("--funnel", help="The funnel to follow.", show_default=False)],
    config: ConfigOpt = Path("funnels.yaml"),
    top: Annotated[int, typer.Option("--top", min=0, help="Paths listed per step and kind, the rest summed "
                                     "as (other); 0 = all.")] = 10,
    page: Annotated[Optional[str], typer.Option("--page", help="The property holding the page, for 'next page' "
                                                "(default: the config's page or page_path property).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
    output: OutputOpt = None,
    csv_raw: CsvRawOpt = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
    mature_only: MatureOpt = False,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
    input_format: InputFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """For one funnel: what units did after the step where they dropped out (next events, next page,
    last event), and what those who went on did between steps (docs/semantics.md section 9).

    Example: microconv paths examples/shop_events.csv -c funnels.example.yaml --funnel checkout -f csv > paths.csv
    """
    from .. import load_config, load_events
    from ..api import choose_funnels
    from ..reports.paths import drop_off_paths, page_property
    from ..render.paths import paths_renderable, render_paths_csv, render_paths_json, render_paths_text

    policy = OutputPolicy(quiet=quiet)
    with error_boundary(debug):
        fmt = fmt.lower()
        if fmt not in ("table", "csv", "json"):
            raise UsageError(f"--format {fmt!r} is not one of 'table', 'csv', 'json'")
        cfg = load_config(config)
        choose_funnels(cfg, [funnel])  # an unknown --funnel is a config error (exit 3), before reading data
        prop = page_property(cfg, page)
        evts, quality = load_events(events, cfg, input_format=input_format, extra_properties=[prop] if prop else [])
        _report_quality(quality.messages(), policy, strict)
        result = drop_off_paths(cfg, evts, funnel, top=top, since=since, until=until, mature_only=mature_only,
                                page=page, strict=strict)
        for warning in result.warnings:
            policy.warn(str(warning))
        waiting = sum(result.in_progress)
        if waiting:
            policy.note(f"{waiting:,} {result.unit} in progress (window still open at the end of the data) are not "
                        "counted as dropped; --mature-only leaves them out of every number")
        if fmt == "table" and output is None:
            from rich.console import Console

            Console(highlight=False, width=None if sys.stdout.isatty() else PIPE_WIDTH).print(
                paths_renderable(result))
            return
        text = (render_paths_csv(result, raw=csv_raw) if fmt == "csv" else
                {"json": render_paths_json}.get(fmt, render_paths_text)(result))
        if output is not None:
            atomic_write(output, text)
        else:
            _write_payload(text)


def main() -> None:
    """The console entry point. Once the command has written and flushed its output, the process
    ends at once (``os._exit``): unloading pandas and pyarrow at interpreter shutdown would cost
    every run about a quarter of a second. Files are written atomically before this point. The
    process's memory settings (``microconv._runtime``) are made here, for the command alone.

    stdout and stderr are guarded (``output.GuardedStream``): closed (``>&-``), a reader gone
    (``| head``) or a full disk is exit 5 with one line on stderr if stderr can take it, never a
    traceback, and never 0 or ``check``'s 1, which would claim the output was delivered."""
    from .. import _runtime
    from ..output.files import GuardedStream

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
        for problem in exc.problems:
            OutputPolicy.error(str(problem))
        code = int(exc.exit_code)
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
