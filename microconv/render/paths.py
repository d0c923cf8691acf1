"""Views of a :class:`PathsResult` (docs/semantics.md 9): rich tables, tidy CSV, JSON."""
from __future__ import annotations


import pandas as pd
from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..reports.results import PathsResult
from .escape import csv_text, json_text, terminal, text
from .format import bar, count, duration, pct
from .table import plain_text
from ..reports.paths import NEXT_DEPTH

KIND_HEADERS = {"next_event": "next event", "next_path": f"next {NEXT_DEPTH} events", "next_page": "next page",
                "last_event": "last event", "between": "events in between"}
PATHS_CAPTION = ("next = the first events after the step, last event = the last one before the window ran out, "
                 "(none) = nothing more in the window, (direct) = nothing in between; share = of the units that "
                 "dropped after (or went on from) that step")


def _table() -> Table:
    return Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)


def _part(result: PathsResult, step: int, kind: str) -> pd.DataFrame:
    frame = result.frame
    return frame[(frame["step"] == step) & (frame["kind"] == kind)]


def _noun(result: PathsResult) -> str:
    return result.unit[:-1]


def dropped_title(result: PathsResult, step: int) -> str:
    k = step - 1
    reached = result.dropped[k] + result.in_progress[k] + result.converted[k]
    return (f"After {step}. {terminal(result.step_names[k])}: {count(result.dropped[k], _noun(result))} dropped"
            + (f" ({pct(result.dropped[k] / reached)} of {reached:,} who reached it)" if reached else ""))


def dropped_table(result: PathsResult, step: int) -> Table:
    """After step k: next event (with share bars), next page and last event side by side, ranked."""
    table = _table()
    parts = [(kind, _part(result, step, kind)) for kind in ("next_event", "next_page", "last_event")]
    parts = [(kind, rows) for kind, rows in parts if len(rows)]
    for i, (kind, _) in enumerate(parts):
        table.add_column(KIND_HEADERS[kind], overflow="fold", min_width=10, max_width=30)
        table.add_column(result.unit, justify="right", no_wrap=True)
        table.add_column("share", justify="right", no_wrap=True)
        if i == 0:
            table.add_column("", width=8, no_wrap=True)
    columns = [rows.to_dict("records") for _, rows in parts]
    for r in range(max((len(c) for c in columns), default=0)):
        cells: list = []
        for i, records in enumerate(columns):
            row = records[r] if r < len(records) else None
            cells += [text(row["path"]), f"{row['units']:,}", pct(row["share"])] if row else ["", "", ""]
            if i == 0:
                cells.append(Text(bar(row["share"], 8), style="cyan") if row else "")
        table.add_row(*cells)
    return table


def path_table(result: PathsResult, step: int, kind: str) -> Table:
    """One kind of path (next events, or events in between) with units, share and a bar."""
    table = _table()
    table.add_column(KIND_HEADERS[kind], overflow="fold", min_width=20, max_width=70)
    table.add_column(result.unit, justify="right", no_wrap=True)
    table.add_column("share", justify="right", no_wrap=True)
    table.add_column("", width=8, no_wrap=True)
    for row in _part(result, step, kind).to_dict("records"):
        table.add_row(text(row["path"]), f"{row['units']:,}", pct(row["share"]), Text(bar(row["share"], 8), style="cyan"))
    return table


def paths_renderable(result: PathsResult) -> Group:
    """Per step: who dropped there and what they did next, then what those who went on did in between."""
    head = [terminal(result.label), "drop-off paths", result.unit, f"window {duration(result.window_seconds)}"]
    if result.order != "ordered":
        head.insert(3, f"order {result.order}")
    head.append(f"top {result.top}" if result.top else "every path")
    blocks: list[list] = [[Text("  ·  ".join(head), style="bold")]]
    names, noun = result.step_names, _noun(result)
    for step in range(1, len(names)):
        k = step - 1
        if result.dropped[k] or result.in_progress[k]:
            block = [Text(dropped_title(result, step), style="bold")]
            if result.dropped[k]:
                block.append(dropped_table(result, step))
            if result.in_progress[k]:
                block.append(Text(f"{count(result.in_progress[k], noun)} in progress here (window still open at "
                                  "the end of the data): not counted as dropped", style="dim"))
            if len(_part(result, step, "next_path")):
                block.append(path_table(result, step, "next_path"))
            blocks.append(block)
        if result.converted[k]:
            to = result.next_step(step)
            blocks.append([Text(f"{step}. {terminal(names[k])} → {to}. {terminal(names[to - 1])}: "
                                f"{count(result.converted[k], noun)} went on", style="bold"),
                           path_table(result, step, "between")])
    if len(blocks) == 1:
        blocks.append([Text("nobody entered the funnel" if not any(result.in_progress) else
                            "every entrant is still in progress")])
    blocks.append([Text(PATHS_CAPTION, style="dim")])
    items: list = []
    for i, block in enumerate(blocks):
        items += [Text("")] * bool(i) + block
    return Group(*items)


def render_paths_text(result: PathsResult, *, width: int = 100) -> str:
    """The tables without colour, at a fixed width: for files and tests."""
    return plain_text(paths_renderable(result), width)


def render_paths_csv(result: PathsResult, *, raw: bool = False) -> str:
    """The tidy frame (PATHS_COLUMNS), shares in [0, 1]; text cells a spreadsheet would run as
    a formula start with ``'`` unless ``raw`` (escape.csv_text)."""
    return csv_text(result.frame, raw=raw)


def render_paths_json(result: PathsResult) -> str:
    """One document: the funnel, then per step its groups' sizes and each kind's ranked paths."""
    frame = result.frame
    steps = []
    for step in range(1, len(result.step_names) + 1):
        k = step - 1
        mine = frame[frame["step"] == step]
        kinds = {kind: rows[["path", "units", "share"]].to_dict("records")
                 for kind, rows in mine.groupby("kind", sort=False)}
        steps.append({
            "step": step, "name": result.step_names[k],
            "dropped": result.dropped[k], "in_progress": result.in_progress[k], "converted": result.converted[k],
            "next_event": kinds.get("next_event", []), "next_path": kinds.get("next_path", []),
            "next_page": kinds.get("next_page", []) if result.page else None,
            "last_event": kinds.get("last_event", []),
            "between": kinds.get("between", []),
        })
    doc = {"funnel": result.funnel, "label": result.label, "unit": result.unit, "order": result.order,
           "window_seconds": result.window_seconds, "top": result.top, "page": result.page, "steps": steps,
           "warnings": [str(w) for w in result.warnings]}
    return json_text(doc) + "\n"
