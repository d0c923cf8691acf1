"""``microconv pages``: per page, its views, sessions, exits, exit rate and the macro goal after it."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UsageError
from ..output import OutputPolicy
from . import emit
from .boundary import error_boundary
from .options import MemoryLimitOpt, PartitionsOpt, SchedulerOpt, WorkersOpt
from .options import (ConfigOpt, CsvRawOpt, DebugOpt, EventsArg, InputFormatOpt, OutputOpt, QuietOpt,
                      StrictOpt, choices, complete_funnel, complete_macro)

FORMATS = ("table", "csv", "json", "markdown", "html")
PagesFormatOpt = Annotated[str, typer.Option("--format", "-f", metavar=choices(*FORMATS), help="table, csv, json, markdown or html.")]
PagesPageOpt = Annotated[Optional[str], typer.Option("--page", metavar="PROPERTY", help="The property holding the page (default: the "
                                                     "config's page or page_path property).")]
PageEventOpt = Annotated[Optional[list[str]], typer.Option("--page-event", metavar="NAME", help="An event name that is a page view "
                                                           "(repeatable; default page_view).")]
PagesByOpt = Annotated[Optional[str], typer.Option("--by", metavar="PROPERTY", help="The same table per segment of this property "
                                                   "(a session takes its first value).")]
PagesTopOpt = Annotated[int, typer.Option("--top", min=0, metavar="N", help="Pages listed per segment, by exits; 0 = all.")]
PagesFunnelOpt = Annotated[Optional[str], typer.Option("--funnel", metavar="NAME", autocompletion=complete_funnel, help="Also this funnel's steps with their pages "
                                                       "and the drop-off between them.")]
PagesMacroOpt = Annotated[Optional[str], typer.Option("--macro", metavar="NAME", autocompletion=complete_macro, help="The macro conversion of macro_after "
                                                     "(default: the first kind: macro).")]
PagesMatureOpt = Annotated[bool, typer.Option("--mature-only", help="In the --funnel steps: leave out entrants whose "
                                              "window is still open at the end of the data.")]
TableOpt = Annotated[str, typer.Option("--table", metavar=choices("pages", "steps"), help="Which table a CSV holds: pages, or steps (with --funnel).")]


def pages(
    events: EventsArg,
    config: ConfigOpt = Path("funnels.yaml"),
    page: PagesPageOpt = None,
    page_event: PageEventOpt = None,
    by: PagesByOpt = None,
    top: PagesTopOpt = 20,
    macro: PagesMacroOpt = None,
    funnel: PagesFunnelOpt = None,
    fmt: PagesFormatOpt = "table",
    table: TableOpt = "pages",
    output: OutputOpt = None,
    csv_raw: CsvRawOpt = False,
    mature_only: PagesMatureOpt = False,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
    input_format: InputFormatOpt = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    memory_limit: MemoryLimitOpt = None,
    partitions: PartitionsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Per page: views, sessions, exits (sessions whose last page view it was), exit rate, and the
    share of its sessions where the macro goal came later; ranked by exits (docs/semantics.md 12).

    Example: microconv pages examples/shop_events.csv -c funnels.example.yaml --funnel checkout --top 10
    """
    from .. import load_config, load_events
    from ..render.pages import (pages_renderable, render_pages_csv, render_pages_html, render_pages_json,
                                render_pages_markdown)
    from ..reports.pages import page_name, page_report

    policy = OutputPolicy(quiet=quiet)
    with error_boundary(debug) as scope:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise UsageError(f"--format {fmt!r} is not one of {', '.join(repr(f) for f in FORMATS)}")
        if table not in ("pages", "steps"):
            raise UsageError(f"--table {table!r} is not one of 'pages', 'steps'")
        if table == "steps" and funnel is None:
            raise UsageError("--table steps needs --funnel")
        cfg = load_config(config)
        if funnel is not None:
            from ..api import choose_funnels
            choose_funnels(cfg, [funnel])        # an unknown --funnel is a config error (exit 3), before reading
        prop = page_name(cfg, page)              # no page property: a config error, before reading
        cluster = emit.cluster(scope, workers, scheduler, memory_limit, partitions, quiet)    # None: in this process
        evts, quality = (cluster.load_events if cluster else load_events)(
            events, cfg, input_format=input_format, extra_properties=[prop] + ([by] if by and by != prop else []))
        emit.note_quality(quality, policy, strict)
        result = page_report(cfg, evts, page=page, page_events=page_event, by=by, top=top, macro=macro,
                             funnel=funnel, mature_only=mature_only)
        emit.warn(policy, result.warnings)
        if result.macro is None:
            policy.note("the config has no kind: macro conversion: macro_after is empty")
        if fmt == "table" and output is None:
            emit.show(pages_renderable(result))
            return
        if fmt == "table":
            from ..render.pages import render_pages_text
            text = render_pages_text(result, width=emit.PIPE_WIDTH)
        elif fmt == "csv":
            text = render_pages_csv(result, raw=csv_raw, table=table)
        else:
            text = {"json": render_pages_json, "markdown": render_pages_markdown, "html": render_pages_html}[fmt](result)
        emit.write(text, output)
