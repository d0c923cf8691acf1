"""The commented YAML config of a :class:`.model.Scaffold`, and the check that it is a valid config.

Every line carries a comment saying why it is there, because the output is a starting point a
person reviews, not a final config.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from ..render.escape import json_text, terminal
from .model import Scaffold

LISTED_EVENTS = 50
WINDOW = "7d"


def check_config(text: str) -> None:
    """The rendered YAML must be a valid config: anything else is a bug here, not the user's problem."""
    from ..config import parse_config
    from ..config.yaml_source import load_yaml

    data, _ = load_yaml(text, "<init>")
    parse_config(data)


def _scalar(value: str) -> str:
    """A YAML scalar that reads back as the same string, plain when that is safe."""
    import yaml

    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_./-]*", value) and not value.endswith((".", "-")):
        try:
            if yaml.safe_load(value) == value:
                return value
        except yaml.YAMLError:
            pass
    return json_text(value, indent=None, ensure_ascii=False)   # C1 and bidi characters as \u escapes


def _names(names: Sequence[str]) -> str:
    return _scalar(names[0]) if len(names) == 1 else "[" + ", ".join(_scalar(n) for n in names) + "]"


def _comment_text(value: str) -> str:
    """Text safe inside a YAML comment: control characters (a newline would end it), C1 and bidi
    characters shown visibly, as in the terminal."""
    return terminal(value)


def _aligned(lines: list[tuple[str, str]], width: int = 40) -> list[str]:
    pad = min(width, max((len(code) for code, note in lines if note), default=0))
    return [f"{code:<{pad}}  # {note}" if note else code for code, note in lines]


def render_yaml(result: Scaffold) -> str:
    """The commented config for a :class:`Scaffold`."""
    import shlex

    cols = result.columns
    out: list[str] = []
    shown = _comment_text(" ".join(shlex.quote(s) for s in result.sources)
                          + (f" --input-format {shlex.quote(result.input_format)}" if result.input_format else ""))
    config = _comment_text(shlex.quote(result.config_name))
    sample = (f"all {result.rows_sampled:,} rows" if result.sampled_all
              else f"the first {result.rows_sampled:,} rows")
    out += [
        f"# microconv config written by `microconv init`, guessed from {sample} of:",
        f"#   {shown}",
        "# Review the guesses (every line says why it is there), then run:",
        f"#   microconv validate -c {config} {shown}",
        f"#   microconv analyze {shown} -c {config}",
        "# Every option, explained: funnels.example.yaml. Counting rules: docs/semantics.md.",
        "",
        "# How the export names things. A list gives aliases: per file, the first one present wins.",
        "columns:",
    ]
    how = {"name": "by its name", "content": "by its values", "export": f"as {cols.export} names it"}
    if cols.export:
        out.insert(out.index("columns:"), f"# Recognised as {_comment_text(cols.export)} by its columns.")
    user = (f"  user: {{known: {_names(cols.user)}, anonymous: {_names(cols.anonymous)}}}" if cols.anonymous
            else f"  user: {_names(cols.user)}")
    block = [
        (user, f"guessed {how.get(cols.how.get('user', 'name'))}" + (
            "; a row without the known id takes the one its anonymous id is seen with (docs/semantics.md 1.9)"
            if cols.anonymous else "")),
        (f"  event: [{', '.join(_scalar(n) for n in cols.event)}, {{constant: {_scalar(cols.event_constant)}}}]"
         if cols.event_constant else f"  event: {_names(cols.event)}",
         f"guessed {how.get(cols.how.get('event', 'name'))}" + (
             f"; a file without that column: every row is {_comment_text(cols.event_constant)}"
             if cols.event_constant else "")),
        (f"  timestamp: {_names(cols.timestamp)}",
         f"guessed {how.get(cols.how.get('timestamp', 'name'))}; ISO-8601 or epoch numbers"),
        (f"  timestamp_unit: {cols.unit}", f"as {_comment_text(cols.export or 'the export')} writes it")
        if cols.unit else ("  # timestamp_unit: ms", "s | ms | us | ns; by default detected from the numbers' size"),
        ("  timezone: UTC", "how to read timestamps without an offset (an IANA name, e.g. Europe/Berlin)"),
    ]
    if cols.session:
        block.append((f"  session: {_names(cols.session)}", "sessions for `count: sessions` (docs/semantics.md 4.6)"))
    else:
        block.append(("  # session: session_id", "no session column found: sessions are cut at 30-minute gaps"))
    if cols.revenue:
        block += [("  properties:", "event properties: a column, or a path into nested values (docs/semantics.md 1.8)"),
                  (f"    revenue: {_scalar(cols.revenue)}", "the purchase's value (used by value: below)")]
    else:
        block += [("  # properties:", "event properties for where: and value:, e.g."),
                  ("  #   revenue: event_data.revenue", "a column, or column.key inside JSON objects")]
    out += _aligned(block, width=60)

    out += ["", "# Conversions: named event matchers. kind is milestone (a step on the path to the goal),",
            "# secondary (a signal of interest off the path) or macro (the goal itself). The micro-conversion",
            "# report (docs/semantics.md 7) compares the macro rate of users who did each one with the rest.",
            "conversions:"]
    if not result.conversions:
        out.append("  {}")
    block = []
    for conv in result.conversions:
        extra = ", value: revenue" if conv.kind == "macro" and cols.revenue else ""
        block.append((f"  {_scalar(conv.name)}: {{kind: {conv.kind}, event: {_names(conv.events)}{extra}}}", conv.why))
    out += _aligned(block, width=80)
    if result.macro is None:
        out += ["  # No purchase-like event found: mark your goal with kind: macro to get the micro-conversion",
                "  # report (docs/semantics.md 7)."]

    out += ["", "# Funnels: steps in order, counted within a window measured from step 1 (docs/semantics.md 3-4)."]
    if result.from_frequency:
        out += ["# No common e-commerce event names (view_item, add_to_cart, purchase, ...) were found, so this",
                f"# funnel is simply the {len(result.steps)} most frequent events: replace them with your own path."]
    name = "top_events" if result.from_frequency else "checkout"
    out += ["funnels:", f"  {name}:",
            "    steps: [" + ", ".join(_scalar(s.name) for s in result.steps) + "]"]
    out += _aligned([
        (f"    window: {WINDOW}", "30m, 12h, 7d, 2w, 1h30m ...; default 30d"),
        ("    # order: ordered", "or strict (nothing in between) or any (after step 1)"),
        ("    # count: users", "or sessions" + (" (columns.session)" if cols.session else " (cut at gaps)")),
    ] + ([(f"    # breakdown: {{by: {_scalar(cols.segments[0])}}}",
           "split by a property" + (f"; or {', '.join(cols.segments[1:])}" if cols.segments[1:] else ""))]
         if cols.segments else []))

    events = result.events
    where = "every row" if result.counted_all or result.sampled_all else f"the first {result.rows_sampled:,} rows"
    out += ["", f"# Event names by rows ({where}; {len(events):,} names"
            + (f", the top {LISTED_EVENTS} shown" if len(events) > LISTED_EVENTS else "") + "):"]
    listed = events[:LISTED_EVENTS]
    width = max((len(_comment_text(e.name)) for e in listed), default=0)
    out += [f"#   {_comment_text(e.name):<{width}}  {e.rows:>12,}" for e in listed]
    return "\n".join(line.rstrip() for line in out) + "\n"
