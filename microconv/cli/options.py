"""The options the commands share, each declared once as a typer ``Annotated`` alias.

An option that feeds a keyword of a library call is declared with that keyword, and ``FLAG_OF``
is read off these declarations: the library raises ``OptionError(option="trend")`` and the error
boundary writes ``--trend``, with no second list of flag names to keep in step.
"""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Optional

import typer
from typer.core import TyperCommand

from ..render import Format
from ..reports import TABLES

_flags: dict[str, str] = {}


def _library_option(keyword: str, annotation: object, flag: str, *short: str, **settings: object) -> object:
    """An option alias whose value the library takes as ``keyword``; records ``flag`` as its name on the command line."""
    if _flags.setdefault(keyword, flag) != flag:
        raise ValueError(f"library option {keyword!r} is both {_flags[keyword]} and {flag}")
    return Annotated[annotation, typer.Option(flag, *short, **settings)]


# --report: every table of reports.REGISTRY, or all of them (not as one CSV).
Report = Enum("Report", {"all": "all", **{name: name for name in TABLES}}, type=str)


class TextFormat(str, Enum):
    text = "text"
    json = "json"


class Period(str, Enum):
    day = "day"
    week = "week"
    month = "month"


class InputFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"
    jsonl = "jsonl"


def choices(*names: str) -> str:
    """The metavar of an option with a fixed set of values: every one of them, ``[a|b|c]``."""
    return f"[{'|'.join(names)}]"


def _from_config(ctx: typer.Context, names) -> list[str]:
    """Names read off the config of the command line being completed (``-c``, else
    funnels.yaml): nothing, silently, when it is missing or not a valid config."""
    try:
        from ..config import load_config

        return list(names(load_config(ctx.params.get("config") or Path("funnels.yaml"))))
    except Exception:   # noqa: BLE001 - a completion never fails aloud
        return []


def complete_funnel(ctx: typer.Context, incomplete: str) -> list[str]:
    """The config's funnel names that start with what was typed (shell completion of --funnel)."""
    return [n for n in _from_config(ctx, lambda cfg: cfg.funnels) if n.startswith(incomplete)]


def complete_macro(ctx: typer.Context, incomplete: str) -> list[str]:
    """The config's macro conversions that start with what was typed (shell completion of --macro)."""
    return [n for n in _from_config(ctx, lambda cfg: (k for k, c in cfg.conversions.items() if c.kind == "macro"))
            if n.startswith(incomplete)]


# Options of the command line alone.
EventsArg = Annotated[list[Path], typer.Argument(help="Event log(s): CSV, Parquet or JSON Lines, "
                                                 "optionally .gz/.zst; a directory or glob for many.",
                                                 show_default=False, metavar="EVENTS...")]
ConfigOpt = Annotated[Path, typer.Option("--config", "-c", metavar="CONFIG", help="Funnels config (YAML).")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", case_sensitive=False, metavar=choices(*Format.__members__),
                                           help="Output format.")]
TextFormatOpt = Annotated[TextFormat, typer.Option("--format", "-f", case_sensitive=False, metavar=choices("text", "json"),
                                                   help="text or json.")]
OutputOpt = Annotated[Optional[Path], typer.Option("--output", "-o", metavar="FILE",
                                                   help="Write the result to FILE (atomically).")]
OutputDirOpt = Annotated[Optional[Path], typer.Option("--output-dir", metavar="DIR", help="Also write each report "
                                                      "table as DIR/TABLE.csv with DIR/manifest.json (atomically).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but the result and errors.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks.", hidden=True)]

# Options that the library takes as keywords.
StrictOpt = _library_option("strict", bool, "--strict", help="Dropped rows and unknown event names are errors.")
InputFormatOpt = _library_option(
    "input_format", Optional[InputFormat], "--input-format", case_sensitive=False, metavar=choices(*InputFormat.__members__),
    help="csv, parquet or jsonl, when the file name does not tell.",
    callback=lambda value: value and value.value)     # the library takes the name
CsvRawOpt = _library_option("csv_raw", bool, "--csv-raw", help="Write CSV text cells as they are: by default a value "
                            "a spreadsheet would run as a formula (=, +, -, @, tab, CR first) starts with '.")
SinceOpt = _library_option("since", Optional[str], "--since", metavar="WHEN", help="Only entries (step-1 events) from this date, "
                           "date-time, or e.g. 7d = the last 7 days of data.")
UntilOpt = _library_option("until", Optional[str], "--until", metavar="WHEN", help="Only entries before this date-time, or up to "
                           "and including this date; later steps still count.")
AsOfOpt = _library_option("as_of", Optional[str], "--as-of", metavar="DATE", help="Analyse as if the data ended with this date "
                          "(later events are left out; --since 7d counts back from it).")
MatureOpt = _library_option("mature_only", bool, "--mature-only", help="Leave out entrants whose window is still "
                            "open at the end of the data.")
FunnelsOpt = _library_option("funnels", Optional[list[str]], "--funnel", metavar="NAME", autocompletion=complete_funnel,
                             help="Only this funnel (repeatable).")
FunnelOpt = _library_option("funnel", str, "--funnel", metavar="NAME", autocompletion=complete_funnel,
                            help="The funnel to follow.", show_default=False)
ReportOpt = _library_option("reports", Optional[Report], "--report", case_sensitive=False,
                            metavar=choices(*Report.__members__),
                            help="Which tables. Default: in the table format a summary and the funnels' step "
                                 "tables (and the tables --by and --trend ask for); all in json, markdown, html; "
                                 "funnels in CSV, which holds one table.")
ByOpt = _library_option("by", Optional[list[str]], "--by", metavar="PROPERTY", help="Break every funnel down by this property "
                        "(a column or a columns.properties name); repeated, by the combinations of their values.")
ATTRIBUTIONS = ("first_touch", "last_touch", "first_defined", "last_defined", "step:N")   # config.model.parse_attribution
AttributionOpt = _library_option("attribution", Optional[str], "--attribution", metavar=choices(*ATTRIBUTIONS), help="Whose value a unit takes: "
                                 "first_touch (default), last_touch, first_defined, last_defined or step:N.")
TopOpt = _library_option("top", Optional[int], "--top", min=0, metavar="N", help="Segments for the N values with the most "
                         "entrants, the rest pooled as (other); 0 = all. [default: 10]")
PathsTopOpt = _library_option("top", int, "--top", min=0, metavar="N", help="Paths listed per step and kind, the rest summed "
                              "as (other); 0 = all.")
TrendOpt = _library_option("trend", Optional[Period], "--trend", case_sensitive=False, metavar=choices(*Period.__members__),
                           help="Step numbers per entry cohort: day, week or month.")
ControlOpt = _library_option("control", Optional[str], "--control", metavar="VALUE", help="With --by, the micro-conversion "
                             "report tests each segment against this one instead of against the rest.")
MacroOpt = _library_option("macro", Optional[str], "--macro", metavar="NAME", autocompletion=complete_macro, help="The macro conversion the micro-conversion "
                           "report measures against (default: the first kind: macro).")
UserOpt = _library_option("user", str, "--user", "-u", metavar="ID", help="The user id to trace.", show_default=False)
PageOpt = _library_option("page", Optional[str], "--page", metavar="PROPERTY", help="The property holding the page, for 'next page' "
                          "(default: the config's page or page_path property).")
# Scale-out (run/dask.py, README "When one machine is not enough").
WorkersOpt = _library_option("workers", Optional[int], "--workers", metavar="N", min=1, help="Run on a Dask cluster of N "
                             "worker processes started on this machine (needs microconv[dask]).")
SchedulerOpt = _library_option("scheduler", Optional[str], "--scheduler", metavar="ADDRESS",
                               help="Run on the Dask cluster of this scheduler, e.g. tcp://10.0.0.5:8786 "
                                    "(or MICROCONV_SCHEDULER).")
MemoryLimitOpt = _library_option("memory_limit", Optional[str], "--memory-limit", metavar="BYTES", help="With --workers: "
                                 "memory per worker, e.g. 2GiB (default: this machine's memory shared by the workers).")
PartitionsOpt = _library_option("partitions", Optional[int], "--partitions", metavar="P", min=1, help="With --workers or "
                                "--scheduler: partitions of users (default: one per million events, two per worker at least).")



class OnceCommand(TyperCommand):
    """A command where an option that takes one value, given twice, is a usage error: click keeps
    the last value and drops the first without a word (``--trend day --trend week``)."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        _, _, order = self.make_parser(ctx).parse_args(args=list(args))
        once = [p for p in order if p.param_type_name == "option"
                and not (p.multiple or getattr(p, "is_flag", False) or getattr(p, "count", False))]
        twice = next((p for i, p in enumerate(once) if p in once[:i]), None)
        if twice is not None:
            raise typer.BadParameter("given twice, it takes one value (repeat only the options that say "
                                     "repeatable)", ctx=ctx, param=twice)
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:
        """``[OPTIONS] EVENTS...`` (typer writes ``{events}...``: a brace no shell user reads as 'required')."""
        return ([self.options_metavar] if self.options_metavar else []) + [
            usage_name(p) for p in self.get_params(ctx) if p.param_type_name == "argument"]

    def format_options(self, ctx: typer.Context, formatter) -> None:
        """Arguments by their usage name alone (typer adds the Python type: ``<list[Path]>``), then the options."""
        sections = {"argument": [], "option": []}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None and param.param_type_name in sections:
                sections[param.param_type_name].append(
                    (usage_name(param), record[1]) if param.param_type_name == "argument" else record)
        for title, rows in (("Arguments", sections["argument"]), ("Options", sections["option"])):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)

    def get_short_help_str(self, limit: int = 45) -> str:
        """The command's line in the app's list, whole: click cuts it at ``limit`` with '...'."""
        return self.short_help or (self.help or "").split("\n\n")[0].replace("\n", " ").strip()


def usage_name(argument) -> str:
    """An argument as the usage line and the help show it: ``EVENTS...``, ``[EVENTS]...``."""
    name = (argument.metavar or argument.name.upper()).removesuffix("...")
    name = name if argument.required else f"[{name}]"
    return name + ("..." if argument.nargs != 1 else "")


FLAG_OF = MappingProxyType(_flags)
"""Library option name -> its flag (``"as_of"`` -> ``"--as-of"``), from the declarations above."""
