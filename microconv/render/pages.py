"""Views of a :class:`PagesResult` (docs/semantics.md 12): rich tables, tidy CSV, JSON, Markdown, HTML.

Page values and segment names come from the log, so each medium's escape (render/escape.py) is
applied to them and never to the fixed words around them."""
from __future__ import annotations


import pandas as pd
from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..reports.pages import ALL, PagesResult
from .escape import csv_text, json_text, markdown, terminal, text
from .format import bar, count, duration, pct
from .table import plain_text

PAGES_CAPTION = ("views = page views; sessions = sessions with a view of the page; exits = sessions whose last page "
                 "view it was; exit rate = exits / sessions; macro after = share of those sessions where {macro} "
                 "came after the page's first view in the session")
STEPS_CAPTION = ("page = the most common page of the step's events (share: of the units that reached the step); "
                 "went on = reached the next step; drop-off = dropped before the next step / reached "
                 "(units still in progress are neither)")


def _table() -> Table:
    return Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)


def _sessions_text(result: PagesResult) -> str:
    if result.session_column:
        return f"sessions by {result.session_column}"
    return f"sessions cut at {duration(result.session_timeout_seconds)} of inactivity"


def headline(result: PagesResult) -> list[str]:
    """The settings a reader needs to trust the numbers (plain text, data strings not yet escaped)."""
    head = [f"pages by {result.page} ({', '.join(result.page_events)} events)", _sessions_text(result),
            count(result.sessions, "session") + " with a page view"]
    head.append(f"macro {result.macro}" if result.macro else "no macro conversion")
    if result.by:
        head.append(f"by {result.by} (a session's first value)")
    head.append(f"top {result.top} by exits" if result.top else "every page, by exits")
    return head


def _rows(result: PagesResult, segment: str) -> pd.DataFrame:
    return result.frame[result.frame["segment"] == segment]


def segment_title(result: PagesResult, seg) -> str:
    """Plain text with the data's segment name: the caller escapes it for its medium."""
    shown = len(_rows(result, seg.segment))
    label = "" if seg.segment == ALL else f"{result.by} = {seg.segment}: "
    return (f"{label}{count(int(seg.sessions), 'session')}, {count(int(seg.views), 'view')}, "
            f"{shown} of {count(int(seg.pages), 'page')} shown")


def pages_table(result: PagesResult, segment: str) -> Table:
    """One segment's pages ranked by exits, with the exit rate as a bar."""
    table = _table()
    for name, justify in (("#", "right"), ("page", "left"), ("views", "right"), ("sessions", "right"),
                          ("exits", "right"), ("exit rate", "right"), ("", "left"), ("macro after", "right")):
        if name == "page":
            table.add_column(name, overflow="fold", min_width=12, max_width=50)
        else:
            table.add_column(name, justify=justify, no_wrap=True, width=10 if name == "" else None)
    for row in _rows(result, segment).itertuples(index=False):
        table.add_row(str(row.rank), text(row.page), f"{row.views:,}", f"{row.sessions:,}", f"{row.exits:,}",
                      pct(row.exit_rate), Text(bar(row.exit_rate, 10), style="cyan"), pct(row.macro_after))
    return table


def _int(value) -> str:
    return "" if pd.isna(value) else f"{int(value):,}"


def steps_table(result: PagesResult) -> Table:
    table = _table()
    for name in ("step", "name", "page", "share", result.steps["unit"].iloc[0], "went on", "dropped", "in progress",
                 "drop-off"):
        table.add_column(name, justify="left" if name in ("name", "page") else "right",
                         overflow="fold", max_width=40 if name in ("name", "page") else None)
    for row in result.steps.itertuples(index=False):
        table.add_row(str(row.step), text(row.name), text(row.page), pct(row.page_share), f"{row.reached:,}",
                      _int(row.went_on), _int(row.dropped), f"{row.in_progress:,}", pct(row.drop_off))
    return table


def pages_renderable(result: PagesResult) -> Group:
    """The headline, each segment's table, then the funnel's steps with their pages."""
    items: list = [Text("  ·  ".join(terminal(h) for h in headline(result)), style="bold")]
    for seg in result.segments.itertuples(index=False):
        items += [Text(""), text(segment_title(result, seg), style="bold"), pages_table(result, seg.segment)]
    items.append(Text(PAGES_CAPTION.format(macro=terminal(result.macro or "the macro goal")), style="dim"))
    if result.steps is not None:
        items += [Text(""), Text(f"{terminal(result.funnel_label)}: drop-off between its steps' pages", style="bold"),
                  steps_table(result), Text(STEPS_CAPTION, style="dim")]
    return Group(*items)


def render_pages_text(result: PagesResult, *, width: int = 100) -> str:
    """The tables without colour, at a fixed width: for files and tests."""
    return plain_text(pages_renderable(result), width)


def render_pages_csv(result: PagesResult, *, raw: bool = False, table: str = "pages") -> str:
    """The page table (PAGES_COLUMNS) or, ``table="steps"``, the funnel's step table (STEPS_COLUMNS);
    rates in [0, 1]; text cells a spreadsheet would run as a formula start with ``'`` unless ``raw``."""
    return csv_text(result.frame if table == "pages" else result.steps, raw=raw)


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: (None if v is pd.NA else v) for k, v in row.items()} for row in frame.to_dict("records")]


def render_pages_json(result: PagesResult) -> str:
    """One document: the settings, each segment's totals and ranked pages, the funnel's steps."""
    segments = [{"segment": seg["segment"], "sessions": seg["sessions"], "views": seg["views"],
                 "page_count": seg["pages"], "pages": _records(_rows(result, seg["segment"]).drop(columns="segment"))}
                for seg in result.segments.to_dict("records")]
    doc = {"page": result.page, "page_events": list(result.page_events),
           "sessions": {"column": result.session_column, "timeout_seconds": result.session_timeout_seconds,
                        "with_page_view": result.sessions},
           "macro": result.macro, "by": result.by, "top": result.top, "segments": segments,
           "funnel": None if result.steps is None else {
               "name": result.funnel, "label": result.funnel_label, "unit": result.steps["unit"].iloc[0],
               "steps": _records(result.steps.drop(columns=["funnel", "unit"]))},
           "warnings": [str(w) for w in result.warnings]}
    return json_text(doc) + "\n"


def render_pages_markdown(result: PagesResult) -> str:
    """GitHub-flavoured tables, one per segment, then the funnel's steps."""
    out = [f"### Pages: {' · '.join(markdown(h) for h in headline(result))}\n"]
    for seg in result.segments.itertuples(index=False):
        if seg.segment != ALL or result.by:
            out.append(f"#### {markdown(segment_title(result, seg))}\n")
        out += ["| # | page | views | sessions | exits | exit rate | macro after |", "|---:|---|---:|---:|---:|---:|---:|"]
        for row in _rows(result, seg.segment).itertuples(index=False):
            out.append(f"| {row.rank} | {markdown(row.page)} | {row.views:,} | {row.sessions:,} | {row.exits:,} | "
                       f"{pct(row.exit_rate)} | {pct(row.macro_after)} |")
        out.append("")
    out.append(f"_{markdown(PAGES_CAPTION.format(macro=result.macro or 'the macro goal'))}_\n")
    if result.steps is not None:
        out += [f"#### {markdown(result.funnel_label)}: drop-off between its steps' pages\n",
                f"| step | name | page | share | {result.steps['unit'].iloc[0]} | went on | dropped | in progress | "
                "drop-off |", "|---:|---|---|---:|---:|---:|---:|---:|---:|"]
        for row in result.steps.itertuples(index=False):
            out.append(f"| {row.step} | {markdown(row.name)} | {markdown(row.page)} | {pct(row.page_share)} | "
                       f"{row.reached:,} | {_int(row.went_on)} | {_int(row.dropped)} | {row.in_progress:,} | "
                       f"{pct(row.drop_off)} |")
        out += ["", f"_{markdown(STEPS_CAPTION)}_\n"]
    return "\n".join(out)


def _html_pages(result: PagesResult, segment: str) -> str:
    from .escape import html as _e
    from .html import bar_width as _w, num_cell as _num, table as _table

    head = ['<th class="num">#</th>', "<th>page</th>", *(f'<th class="num">{h}</th>' for h in ("views", "sessions",
            "exits")), "<th>exit rate</th>", '<th class="num">macro after</th>']
    rows = []
    for row in _rows(result, segment).itertuples(index=False):
        bar = (f'<div class="track"><span class="fill" style="width:{_w(row.exit_rate)}"></span>'
               f'<span class="label out" style="left:{_w(row.exit_rate)}">{_e(pct(row.exit_rate))}</span></div>')
        rows.append(f"<tr>{_num(str(row.rank))}<td class=\"name\">{_e(row.page)}</td>{_num(f'{row.views:,}')}"
                    f"{_num(f'{row.sessions:,}')}{_num(f'{row.exits:,}')}<td>{bar}</td>{_num(pct(row.macro_after))}</tr>")
    return _table("pages", head, rows)


def _html_steps(result: PagesResult) -> str:
    from .escape import html as _e
    from .html import num_cell as _num, table as _table

    head = ["<th>step</th>", "<th>page</th>", *(f'<th class="num">{_e(h)}</th>' for h in (
        "share", result.steps["unit"].iloc[0], "went on", "dropped", "in progress", "drop-off"))]
    rows = [f'<tr><td class="name"><span class="stepno">{row.step}.</span>{_e(row.name)}</td>'
            f'<td class="name">{_e(row.page)}</td>{_num(pct(row.page_share))}{_num(f"{row.reached:,}")}'
            f"{_num(_int(row.went_on))}{_num(_int(row.dropped))}{_num(f'{row.in_progress:,}')}{_num(pct(row.drop_off))}</tr>"
            for row in result.steps.itertuples(index=False)]
    return _table("steps", head, rows)


def render_pages_html(result: PagesResult) -> str:
    """One self-contained page (the analyze report's CSS and policy: no scripts, nothing fetched)."""
    from .escape import html as _e
    from .html import CSP, CSS, caption as _caption

    body = ['<header class="run"><h1>Pages</h1>', f'<p class="sub">{_e(" · ".join(headline(result)))}</p></header>']
    for seg in result.segments.itertuples(index=False):
        body += ["<section>", f"<h2>{_e(segment_title(result, seg))}</h2>", _html_pages(result, seg.segment),
                 "</section>"]
    body.append(_caption(PAGES_CAPTION.format(macro=result.macro or "the macro goal")))
    if result.steps is not None:
        body += ["<section>", f"<h2>{_e(result.funnel_label)}: drop-off between its steps' pages</h2>",
                 _html_steps(result), _caption(STEPS_CAPTION), "</section>"]
    return "\n".join(['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">',
                      f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
                      '<meta name="viewport" content="width=device-width, initial-scale=1">',
                      f"<title>Pages · {_e(result.page)}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<main>",
                      *body, "</main>\n</body>\n</html>"]) + "\n"
