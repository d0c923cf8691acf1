"""Views of a :class:`DriversResult` (docs/semantics.md 13): rich table, tidy CSV, JSON, Markdown,
and an HTML page in the analyze report's style (render.html's shell, render.svg's ranked chart)."""
from __future__ import annotations


import pandas as pd
from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..reports.drivers import DriversResult
from .escape import csv_text, html as escape, json_text, markdown, terminal, text
from .format import count, p_text, pct
from .table import plain_text

GROUP_TITLES = {"positive": "More likely to reach {goal}", "negative": "Less likely to reach {goal}",
                "implied": "Implied: a step of the goal, or done by every success first (no finding, never starred)"}
DRIVERS_CAPTION = ("with = units that did it before success (successes, failures); odds ratio with PostHog's +1 "
                   "in each cell and its 95% interval; p adj = Fisher's exact test, Benjamini-Hochberg over every "
                   "row, * = significant (p adj < 0.05, not too few); 'too few' = under 30 on a side or under 5 "
                   "successes expected; an association, not a cause")


def headline(result: DriversResult) -> str:
    """What is compared with what, in one line."""
    if result.mode == "funnel":
        goal = f"funnel {result.funnel}: reached step {result.step} ({result.goal})"
    else:
        goal = result.goal
    noun = result.unit[:-1]
    share = pct(result.successes / result.population) if result.population else ""
    line = (f"Drivers of {goal}  ·  {count(result.population, noun)}, {result.successes:,} succeeded"
            + (f" ({share})" if share else ""))
    if result.population and not result.comparable:
        line += "  ·  " + ("nobody succeeded" if not result.successes else "nobody failed") + ": nothing to compare"
    return line


def ratio_text(value: float) -> str:
    """Three significant digits, whole numbers from 100 up (``25.8``, ``0.722``, ``4,302``)."""
    if value != value:
        return ""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def _p_cell(row) -> str:
    if row.implied:
        return "implied"
    if row.too_few:
        return "too few"
    return p_text(row)


def _table(rows: pd.DataFrame, unit: str) -> Table:
    table = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("event", overflow="fold", min_width=12, max_width=40)
    table.add_column("success with", justify="right", no_wrap=True)
    table.add_column("failure with", justify="right", no_wrap=True)
    table.add_column("odds ratio", justify="right", no_wrap=True)
    table.add_column("95% CI", justify="right", no_wrap=True)
    table.add_column("p adj", justify="right", no_wrap=True)
    for row in rows.itertuples(index=False):
        table.add_row(str(row.rank), text(row.event), f"{row.success_with:,}", f"{row.failure_with:,}",
                      ratio_text(row.odds_ratio), f"{ratio_text(row.odds_ratio_low)}–{ratio_text(row.odds_ratio_high)}",
                      _p_cell(row))
    return table


def drivers_renderable(result: DriversResult) -> Group:
    """The headline, then the positive, negative and implied rows, each a table of its own."""
    items: list = [Text(headline(result), style="bold")]
    frame = result.frame
    for group, title in GROUP_TITLES.items():
        rows = frame[frame["group"] == group]
        if len(rows):
            items += [Text(""), Text(title.format(goal=terminal(result.goal)), style="bold"), _table(rows, result.unit)]
    if not len(frame):
        items += [Text(""), Text("no event happened in the counted spans" if result.population else
                                 "nobody to compare: the population is empty")]
    others = result.rows - len(frame)
    if others > 0:
        items.append(Text(f"{others:,} more row{'s' if others != 1 else ''}: --top 0 lists every row", style="dim"))
    items += [Text(""), Text(DRIVERS_CAPTION, style="dim")]
    return Group(*items)


def render_drivers_text(result: DriversResult, *, width: int = 100) -> str:
    """The tables without colour, at a fixed width: for files and tests."""
    return plain_text(drivers_renderable(result), width)


def render_drivers_csv(result: DriversResult, *, raw: bool = False) -> str:
    """The tidy frame (DRIVERS_COLUMNS); text cells a spreadsheet would run as a formula start
    with ``'`` unless ``raw`` (escape.csv_text)."""
    return csv_text(result.frame, raw=raw)


def render_drivers_json(result: DriversResult) -> str:
    """One document: what was compared, then the listed rows by group."""
    frame = result.frame
    doc = {"mode": result.mode, "goal": result.goal, "funnel": result.funnel, "step": result.step,
           "unit": result.unit, "population": result.population, "successes": result.successes,
           "failures": result.failures, "in_progress": result.in_progress, "properties": list(result.properties),
           "top": result.top, "rows": result.rows,
           **{group: frame[frame["group"] == group].drop(columns="group").to_dict("records") for group in GROUP_TITLES},
           "warnings": [str(w) for w in result.warnings]}
    return json_text(doc) + "\n"


def render_drivers_markdown(result: DriversResult) -> str:
    """One GitHub table per group, for tickets and chat."""
    out = [f"### {markdown(headline(result))}\n"]
    frame = result.frame
    for group, title in GROUP_TITLES.items():
        rows = frame[frame["group"] == group]
        if not len(rows):
            continue
        out += [f"#### {markdown(title.format(goal=result.goal))}\n",
                "| # | event | success with | failure with | odds ratio | 95% CI | p adj |",
                "|---:|---|---:|---:|---:|---:|---:|"]
        for row in rows.itertuples(index=False):
            out.append(f"| {row.rank} | {markdown(row.event)} | {row.success_with:,} | {row.failure_with:,} | "
                       f"{ratio_text(row.odds_ratio)} | {ratio_text(row.odds_ratio_low)}–"
                       f"{ratio_text(row.odds_ratio_high)} | {markdown(_p_cell(row))} |")
        out.append("")
    out.append(f"_{DRIVERS_CAPTION}_\n")
    return "\n".join(out)



HTML_CAPTION = ("success with = {unit} who reached {goal} and did the action before it; failure with = {unit} who "
                "did not reach it and did the action (in the time they had). odds ratio: the odds of reaching {goal} with the action divided by the odds "
                "without it (PostHog's +1 in each count, so no count is zero). p adj = Fisher's exact test, "
                "Benjamini-Hochberg over every row. significant = p adj below 0.05 with enough {unit}; 'too few "
                "to judge' = under 30 on a side or under 5 successes expected.")
HTML_TITLES = {**GROUP_TITLES, "implied": "Implied: a step of the goal, or done by everyone who reached it (no finding)"}
HTML_FOOTER = ("Drivers compare who reached the goal with who did not; an association, not a cause. 95% intervals "
               "show how far an odds ratio could move by chance.")


def _html_table(rows: pd.DataFrame, unit: str) -> str:
    from .html import num_cell, p_cell, table

    head = ["<th>action</th>", f'<th class="num">success with ({escape(unit)})</th>',
            f'<th class="num">failure with ({escape(unit)})</th>', '<th class="num">odds ratio</th>',
            '<th class="num">95% interval</th>', '<th class="num">p adj</th>']
    out = []
    for row in rows.itertuples(index=False):
        if row.implied:
            p = '<td class="num dim">implied</td>'
        else:
            p = p_cell(row.p_adjusted, bool(row.significant), too_small=bool(row.too_few))
        cls = ' class="dim"' if row.too_few and not row.implied else ""
        out.append(f'<tr{cls}><td class="name"><span class="stepno">{row.rank}.</span>{escape(row.event)}</td>'
                   f"{num_cell(f'{row.success_with:,}')}{num_cell(f'{row.failure_with:,}')}"
                   f"{num_cell(ratio_text(row.odds_ratio))}"
                   f"{num_cell(f'{ratio_text(row.odds_ratio_low)}–{ratio_text(row.odds_ratio_high)}')}{p}</tr>")
    return table("drivers", head, out, stack="stack")


def render_drivers_html(result: DriversResult, meta, notes: tuple[str, ...] | list[str] = ()) -> str:
    """One self-contained page in the analyze report's style (render.html's shell and CSS, no
    scripts, nothing fetched): the header of the run (``meta``: a ``RunMeta``, for the title,
    dates and sources), ``notes`` (warnings, data quality), how to read it, the ranked chart and a
    table per group with every number of the chart."""
    from .html import caption, date_range, document, footer, howto, masthead, notices
    from .svg import drivers_chart

    goal = escape(result.goal)
    page = f"Drivers of {result.goal}"
    body = ['<header class="run">', masthead(meta, "Drivers report", headline(result))]
    waiting = ([f"{result.in_progress:,} {result.unit} still in progress (window open at the end of the data) count "
                "as not reaching the goal; --mature-only leaves them out"] if result.in_progress else [])
    items = [*map(str, result.warnings), *notes, *waiting]
    if items:
        body.append(notices(items))
    body += ["</header>", '<section class="drivers" id="drivers">', f"<h2>{escape(page)}</h2>"]
    frame = result.frame
    if len(frame) and result.comparable:
        body.append(howto(
            f"each line is an action (or a property value) that {escape(result.unit)} did before they reached "
            f"{goal} (or, if they did not, in the time they had). The dot is the <i>odds ratio</i>: how much likelier those who "
            f"did it were to reach {goal} than those who did not (2 = twice the odds, 0.5 = half). The whisker is "
            "the range the true value likely lies in (95%); where it crosses the dashed line at 1, there may be "
            "no difference at all. Green (above) and red (below) are clear of chance; grey ones had too few "
            f"people to judge. Steps of the goal itself are listed apart: everyone who reached {goal} did them, "
            f"so they are on the way, not a finding. An odds ratio is an association: it tells you who reaches "
            f"{goal}, not what makes them; test a change before you bet on it."))
        if (frame["group"] != "implied").any():       # a chart of implied rows alone would be an empty axis
            body.append(drivers_chart(result))
    for group, title in HTML_TITLES.items():
        rows = frame[frame["group"] == group]
        if len(rows):
            body += [f"<h3>{escape(title.format(goal=result.goal))}</h3>", _html_table(rows, result.unit)]
    if not len(frame):
        body.append(f'<p class="sub">{escape("no event happened in the counted spans" if result.population else "nobody to compare: the population is empty")}</p>')
    others = result.rows - len(frame)
    if others > 0:
        body.append(caption(f"{others:,} more row{'s' if others != 1 else ''}: --top 0 lists every row"))
    body.append(caption(HTML_CAPTION.format(unit=result.unit, goal=result.goal)))
    body += ["</section>", footer(meta, HTML_FOOTER)]
    dates = date_range(meta)
    return document(f"{meta.title or page} · {dates}" if dates else (meta.title or page), body)
