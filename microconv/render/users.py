"""Views of a :class:`UsersResult` (docs/semantics.md 11): a rich table for a look, CSV and JSON
for the list itself. Times are written in ISO 8601, UTC (``2026-10-02T11:03:29Z``, with the
fraction of a second only when some time has one), so a mailing tool reads them as they are."""
from __future__ import annotations


import pandas as pd
from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..reports.users import TIME_COLUMNS, UsersResult
from .escape import csv_text, json_text, terminal, text
from .format import count
from .table import plain_text

TABLE_ROWS = 50   # rows a terminal shows; the list itself is for -f csv / json


def selection_text(result: UsersResult) -> str:
    """What the list is, in the table's words: ``reached step 3 (cart)``."""
    names, n = result.step_names, result.step
    if result.selection == "converted":
        return f"converted (reached step {n}, {terminal(names[n - 1])})"
    if result.selection == "reached":
        return f"reached step {n} ({terminal(names[n - 1])})"
    said = f"dropped after step {n} ({terminal(names[n - 1])})"
    if result.table_step != n + 1:
        said += f": the table's dropped at step {result.table_step}"
    return said


def _noun(result: UsersResult) -> str:
    return result.unit[:-1]


def iso_times(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its time columns as ISO 8601 UTC text."""
    out = frame.copy()
    for column in TIME_COLUMNS:
        times = out[column]
        fraction = bool(len(times)) and bool((times.dt.microsecond != 0).any() or (times.dt.nanosecond != 0).any())
        out[column] = times.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if fraction else "%Y-%m-%dT%H:%M:%SZ").astype(object)
    return out


def users_renderable(result: UsersResult, *, rows: int = TABLE_ROWS) -> Group:
    """A heading with the count, the first ``rows`` units, and how to get them all."""
    head = "  ·  ".join([terminal(result.label), f"{count(result.count, _noun(result))} {selection_text(result)}"])
    items: list = [Text(head, style="bold")]
    frame = result.frame
    if len(frame):
        table = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        shown = iso_times(frame.head(rows))
        for column in shown.columns:
            numeric = column in ("reached", "attempt") or (column == "session" and shown[column].dtype != object)
            table.add_column(column.replace("_", " "), justify="right" if numeric else "left",
                             overflow="fold", max_width=40)
        for record in shown.itertuples(index=False):
            table.add_row(*(text(v) if isinstance(v, str) else ("yes" if v else "") if isinstance(v, bool) else str(v)
                            for v in record))
        items.append(table)
        if len(frame) > rows:
            items.append(Text(f"… {len(frame) - rows:,} more: -f csv or -f json for the whole list", style="dim"))
    else:
        items.append(Text(f"no {result.unit}"))
    return Group(*items)


def render_users_text(result: UsersResult, *, width: int = 100, rows: int = TABLE_ROWS) -> str:
    """The table without colour, at a fixed width: for files and tests."""
    return plain_text(users_renderable(result, rows=rows), width)


def render_users_csv(result: UsersResult, *, raw: bool = False) -> str:
    """One row per unit (the frame's columns), times in ISO 8601 UTC; text cells a spreadsheet
    would run as a formula start with ``'`` unless ``raw`` (escape.csv_text)."""
    return csv_text(iso_times(result.frame), raw=raw)


def render_users_json(result: UsersResult) -> str:
    """One document: the funnel, the selection and its table row, the count, then the units."""
    doc = {"funnel": result.funnel, "label": result.label, "unit": result.unit, "order": result.order,
           "selection": result.selection, "step": result.step, "step_name": result.step_names[result.step - 1],
           "table_step": result.table_step, "count": result.count,
           "units": iso_times(result.frame).to_dict("records"),
           "warnings": [str(w) for w in result.warnings]}
    return json_text(doc) + "\n"
