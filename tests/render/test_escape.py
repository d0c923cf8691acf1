"""Issue 19, injection: every string from the data or the config is escaped for its medium.

First the escaping functions on arbitrary text (hypothesis), then the whole CLI on a small hostile
log: event names and property values that are rich markup, terminal escape sequences, spreadsheet
formulas, HTML and Markdown links, through every output format.
"""
from __future__ import annotations

import csv
import dataclasses
import html as html_lib
import io
import json
import math
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from builders import events_of
from conftest import examples
from markdown_it import MarkdownIt
from rich.console import Console
from typer.testing import CliRunner

from microconv.cli import app
from microconv.output import OutputPolicy
from microconv.render import escape
from microconv.render.escape import (csv_cell, csv_frame, csv_read_back, csv_text, csv_unneutralise, json_text,
                                     terminal)

# Everything a terminal may act on or that reorders text (the issue's list).
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER_LIKE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _rendered(renderable) -> str:
    console = Console(record=True, width=10_000, file=io.StringIO(), color_system=None)
    console.print(renderable, soft_wrap=True, end="")
    return console.export_text(styles=False)


# ------------------------------------------------------------------------------------------------
# terminal


def test_terminal_shows_control_characters_by_name():
    assert terminal("\x1b]0;pwned\x07") == "\\x1b]0;pwned\\x07"
    assert terminal("a\nb\tc\rd") == "a\\nb\\tc\\rd"
    assert terminal("\u202eevil\u2066") == "\\u202eevil\\u2066"
    assert terminal("\x9b2J\x7f") == "\\x9b2J\\x7f"
    assert terminal("plain café ✓") == "plain café ✓"          # printable text is left alone
    assert terminal(3) == "3"


@settings(max_examples=examples(200), deadline=None)
@given(st.text())
def test_terminal_text_has_no_control_characters_and_rich_shows_exactly_it(value):
    shown = terminal(value)
    assert not CONTROL.search(shown)
    # rich reads no markup and no emoji codes in it: what is printed is the visible text itself
    assert _rendered(escape.text(value)) == shown


@pytest.mark.parametrize("value", ["[/]", "[link=https://evil.example]x[/link]", "[bold red]x", ":smile:",
                                   "\\[b]x"])
def test_rich_text_is_never_markup(value):
    assert _rendered(escape.text(value)) == value


def test_no_live_hyperlink_on_a_real_terminal():
    out = io.StringIO()
    Console(file=out, force_terminal=True, color_system="truecolor", width=200).print(
        escape.text("[link=https://evil.example]x[/link]"))
    assert "\x1b]8;" not in out.getvalue()                       # OSC 8: a terminal hyperlink
    assert "[link=https://evil.example]x[/link]" in out.getvalue()


def test_stderr_messages_are_one_line_without_control_characters(capsys):
    OutputPolicy().note("event 'a\x1b[2Jb'\nmicroconv: error: forged")
    OutputPolicy().warn("\x07bell")
    OutputPolicy.error("user '\u202exyz'")
    assert capsys.readouterr().err == ("microconv: note: event 'a\\x1b[2Jb'\\nmicroconv: error: forged\n"
                                       "microconv: warning: \\x07bell\n"
                                       "microconv: error: user '\\u202exyz'\n")


# ------------------------------------------------------------------------------------------------
# CSV


@pytest.mark.parametrize("value, written", [
    ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("@SUM(1)", "'@SUM(1)"),
    ("-2+3", "'-2+3"),
    ("\t=1+2", "'\t=1+2"),
    ("\r=1", "'\r=1"),
    ("'=x", "''=x"),            # a quote already before a formula gets one more, to read back exactly
    ("'quoted", "'quoted"),     # no formula after the quote: left alone
    ("-0.5", "-0.5"),           # number-like text is no formula
    ("+3", "+3"),
    ("1e-5", "1e-5"),
    ("a=b", "a=b"),
    ("", ""),
])
def test_csv_cell(value, written):
    assert csv_cell(value) == written
    assert csv_unneutralise(written) == value


def test_csv_cell_leaves_numbers_and_missing_values_alone():
    assert csv_cell(-0.5) == -0.5
    assert csv_cell(None) is None
    assert csv_unneutralise(-1) == -1


@settings(max_examples=examples(200), deadline=None)
@given(st.text())
def test_csv_cell_never_starts_with_a_formula_character(value):
    cell = csv_cell(value)
    assert not cell.startswith(FORMULA_START) or NUMBER_LIKE.fullmatch(cell)
    assert csv_unneutralise(cell) == value


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1),
                min_size=1, max_size=5))                      # text a UTF-8 file can hold
def test_csv_frame_round_trips_through_a_file(values):
    frame = pd.DataFrame({"segment": values, "rate": [-0.5] * len(values), "users": range(len(values))})
    text = csv_text(frame)
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert all(not r[0].startswith(FORMULA_START) or NUMBER_LIKE.fullmatch(r[0]) for r in rows)
    assert [r[1] for r in rows] == ["-0.5"] * len(values)        # a numeric column is never touched
    back = csv_read_back(pd.read_csv(io.StringIO(text), dtype={"segment": str}, keep_default_na=False))
    assert back["segment"].tolist() == values


def test_csv_quotes_a_carriage_return():
    frame = pd.DataFrame({"segment": ["a\rb", "c"], "units": [1, 2]})
    assert csv_text(frame) == '"segment","units"\n"a\rb",1\n"c",2\n'
    assert pd.read_csv(io.StringIO(csv_text(frame)))["segment"].tolist() == ["a\rb", "c"]


def test_csv_frame_raw_writes_values_as_they_are():
    frame = pd.DataFrame({"segment": ["=1+2", "\t@x"], "share": [-0.25, 0.5]})
    assert csv_frame(frame, raw=True).to_csv(index=False, lineterminator="\n") == \
        "segment,share\n=1+2,-0.25\n\t@x,0.5\n"
    assert csv_frame(frame).to_csv(index=False, lineterminator="\n") == "segment,share\n'=1+2,-0.25\n'\t@x,0.5\n"


# ------------------------------------------------------------------------------------------------
# Markdown

MD = MarkdownIt("commonmark", {"linkify": True}).enable(["table", "strikethrough", "linkify"])   # links bare URLs too


def _cell_html(cell: str) -> str:
    out = MD.render(f"| h |\n|---|\n| {cell} |\n")
    found = re.search(r"<td>(.*?)</td>", out, re.S)
    return found.group(1) if found else ""


@settings(max_examples=examples(200), deadline=None)
@given(st.text())
def test_markdown_cell_renders_as_exactly_its_text(value):
    cell = escape.markdown(value)
    assert "\n" not in cell
    assert not re.search(r"(?<!\\)[<\[\]|]", cell.replace("\\\\", ""))   # no unescaped < [ ] |
    shown = _cell_html(cell)
    assert "<" not in shown                                      # no tag: no link, image, emphasis, HTML
    assert html_lib.unescape(shown) == " ".join(terminal(value).split())


@pytest.mark.parametrize("value", ["<script>alert(1)</script>", "[x](javascript:alert(1))", "![i](http://e/x.png)",
                                   "*em* __strong__ `code` ~~del~~", "a | b", "<http://e.x>", "&lt;b&gt;",
                                   "https://evil.example/x", "www.evil.example", "evil.example", "me@evil.example"])
def test_markdown_injections_show_as_text(value):
    assert html_lib.unescape(_cell_html(escape.markdown(value))) == value


def test_markdown_keeps_names_as_written():
    assert escape.markdown("add_to_cart → begin_checkout") == "add_to_cart → begin_checkout"
    assert escape.markdown("(other)") == "(other)"
    assert escape.markdown("_x_") == "\\_x\\_"


# ------------------------------------------------------------------------------------------------
# HTML and JSON


@settings(max_examples=examples(200), deadline=None)
@given(st.text())
def test_html_text_is_safe_in_text_and_attributes(value):
    out = escape.html(value)
    assert not re.search("[<>\"']", out) and not CONTROL.search(out)
    assert html_lib.unescape(out) == terminal(value)


def test_json_text_is_strict():
    doc = {"revenue": math.inf, "low": -math.inf, "rate": math.nan, "np": np.float64("nan"),
           "n": np.int64(3), "rows": [{"x": np.float32("inf")}, 0.5], "name": "\u202e\x9b\x1b"}

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    for ensure_ascii in (True, False):
        out = json_text(doc, ensure_ascii=ensure_ascii)
        assert json.loads(out, parse_constant=refuse) == {
            "revenue": None, "low": None, "rate": None, "np": None, "n": 3, "rows": [{"x": None}, 0.5],
            "name": "\u202e\x9b\x1b"}
        assert not CONTROL.search(out.replace("\n", ""))       # the characters are \u escapes


def test_render_json_with_infinite_revenue_and_nan_rates():
    import microconv
    from microconv.render.json import render_json

    cfg = microconv.parse_config({"columns": {"user": "u", "event": "e", "timestamp": "t"},
                                  "funnels": {"f": {"steps": [{"event": "a"}, {"event": "b"}], "window": "1d"}}})
    result = microconv.analyze(cfg, events_of([("1", 0, "a"), ("1", 1, "b")], cfg))
    f = dataclasses.replace(result.funnels[0], revenue=math.inf)
    reports = dataclasses.replace(result.per_funnel[0], steps=f)
    doc = json.loads(render_json(dataclasses.replace(result, per_funnel=(reports,))),
                     parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    assert doc["funnels"][0]["revenue"] is None and doc["funnels"][0]["revenue_per_entrant"] is None
    assert doc["funnels"][0]["steps"][1]["users"] == 1


# ------------------------------------------------------------------------------------------------
# The CLI on a hostile log

HOSTILE = ["[/]", "[link=https://evil.example]x[/link]", "\x1b]0;pwned\x07", '=HYPERLINK("http://x")', "\t=1+2",
           "<script>alert(1)</script>", "[x](javascript:alert(1))", "+cmd|' /C calc'!A0", "@SUM(1)",
           "\x1b[2J", "a\nb", "\u202eevil", '" onmouseover="alert(1)', "[b]x[/b]"]

CONFIG = """\
columns:
  user: user_id
  event: event_name
  timestamp: timestamp
  timestamp_unit: s
  properties: {src: src}
conversions:
  "=c": {kind: macro, event: buy}
  "@d": {kind: secondary, event: "[/]", label: "[b]bold[/b] <i>x</i> | =1+2"}
funnels:
  "=f":
    label: "[red]F[/red] *em* <b>x</b>"
    steps: [{event: view}, {event: buy}]
    window: 1d
alerts:
  - {name: "[/]\\x1b[2J", funnel: "=f", step: buy, rate_from_previous: {min: 0.99}}
  - {funnel: "=f", step: buy, rate_from_start: {drop: 1pp}}
  - {conversion: "@d", macro_rate_with: {drop: 1pp}}
"""


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    """User i views, does the hostile event HOSTILE[i] (with src = HOSTILE[i] on every event), and
    buys when i is even: 14 entrants, 7 buyers."""
    rows = []
    for i, value in enumerate(HOSTILE):
        t = 1767225600 + 100 * i
        rows += [{"user_id": f"u{i}", "event_name": "view", "timestamp": t, "src": value},
                 {"user_id": f"u{i}", "event_name": value, "timestamp": t + 1, "src": value}]
        if i % 2 == 0:
            rows.append({"user_id": f"u{i}", "event_name": "buy", "timestamp": t + 2, "src": value})
    (tmp_path / "h.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "h.yaml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args):
    result = CliRunner().invoke(app, [*args, "-c", "h.yaml"], catch_exceptions=False)
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr)
    assert not CONTROL.search(result.stderr.replace("\n", "")), result.stderr
    return result


def _no_terminal_controls(text: str) -> None:
    assert not CONTROL.search(text.replace("\n", "")), repr(text)


def test_table_shows_markup_and_escapes_literally(hostile):
    out = run("analyze", "h.jsonl", "--by", "src", "--top", "0").stdout   # was exit 70, MarkupError
    _no_terminal_controls(out)
    for shown in ("[/]", "[b]x[/b]", "\\x1b]0;pwned\\x07", "\\x1b[2J", "a\\nb", "\\u202eevil",
                  "[red]F[/red] *em* <b>x</b>", "[b]bold[/b] <i>x</i>"):
        assert shown in out, shown
    assert "[link=https://evil.examp" in out


def test_table_on_a_real_terminal_has_no_hyperlink_or_title_escape(hostile, monkeypatch):
    captured = io.StringIO()
    real = Console

    def console(*args, **kwargs):
        return real(file=captured, force_terminal=True, color_system="truecolor", width=200)

    monkeypatch.setattr("rich.console.Console", console)
    run("analyze", "h.jsonl", "--by", "src", "--top", "0")
    out = captured.getvalue()
    assert "\x1b]8;" not in out and "\x1b]0;" not in out and "\x07" not in out and "\x1b[2J" not in out
    assert "[/]" in out


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_csv_breakdown_neutralises_formulas(hostile):
    rows = _csv_rows(run("analyze", "h.jsonl", "--by", "src", "--top", "0", "-f", "csv",
                         "--report", "breakdown").stdout)
    segment = rows[0].index("segment")
    segments = [r[segment] for r in rows[1:]]
    assert "'=HYPERLINK(\"http://x\")" in segments
    assert "'\t=1+2" in segments                                 # the tab is kept (it was stripped)
    assert "'+cmd|' /C calc'!A0" in segments and "'@SUM(1)" in segments
    assert "'=f" == rows[1][rows[0].index("funnel")]
    assert not any(cell.startswith(FORMULA_START) for row in rows[1:] for cell in row
                   if not NUMBER_LIKE.fullmatch(cell))
    raw = _csv_rows(run("analyze", "h.jsonl", "--by", "src", "--top", "0", "-f", "csv", "--report", "breakdown",
                        "--csv-raw").stdout)
    assert {'=HYPERLINK("http://x")', "\t=1+2", "@SUM(1)"} <= {r[segment] for r in raw[1:]}
    assert len(raw) == len(rows) == 1 + len(HOSTILE)


def test_csv_funnels_keep_numbers(hostile):
    rows = _csv_rows(run("analyze", "h.jsonl", "-f", "csv").stdout)
    assert rows[1][:4] == ["'=f", "1", "view", "14"]
    assert rows[2][:4] == ["'=f", "2", "buy", "7"]


def test_json_is_strict_and_carries_the_values_as_they_are(hostile):
    out = run("analyze", "h.jsonl", "--by", "src", "--top", "0", "-f", "json").stdout
    doc = json.loads(out, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    segments = {s["segment"] for s in doc["funnels"][0]["breakdown"]["segments"]}
    assert set(HOSTILE) <= segments
    assert doc["funnels"][0]["name"] == "=f"


def test_markdown_escapes_links_html_and_pipes(hostile):
    out = run("analyze", "h.jsonl", "--by", "src", "--top", "0", "-f", "markdown").stdout
    _no_terminal_controls(out)
    assert "<script>" not in out and "<b>" not in out and "(javascript:" not in out.replace("\\](javascript:", "")
    assert "\\[x\\](javascript\\:alert(1))" in out
    assert "\\[b\\]bold\\[/b\\] \\<i\\>x\\</i\\> \\| =1+2" in out
    html_out = MD.render(out)
    assert "<script>" not in html_out and "<a " not in html_out and "<img" not in html_out
    assert "<em>em</em>" not in html_out and "*em*" in html_out


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.hrefs = set(), set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs |= {name for name, _ in attrs}
        self.hrefs += [value for name, value in attrs if name in ("href", "src")]


def test_html_escapes_text_and_attributes(hostile):
    out = run("analyze", "h.jsonl", "--by", "src", "--top", "0", "-f", "html").stdout
    parser = _Tags()
    parser.feed(out)
    assert "script" not in parser.tags
    assert all(href.startswith("#") for href in parser.hrefs)     # only the page's own table of contents
    assert not any(name.startswith("on") for name in parser.attrs)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&quot; onmouseover=&quot;alert(1)" in out
    _no_terminal_controls(out)


def test_output_dir_is_neutralised_and_read_back_as_a_baseline(hostile):
    first = run("check", "h.jsonl", "--output-dir", "last")
    assert first.exit_code == 1
    funnels = (hostile / "last" / "funnels.csv").read_text()
    assert funnels.splitlines()[1].startswith("'=f,1,view,14,")
    micro = (hostile / "last" / "micro.csv").read_text().splitlines()
    assert micro[1].startswith("'@d,secondary,[b]bold[/b] <i>x</i> | =1+2,,,,14,1,")   # a label from [ is no formula; no segment, period, open
    again = run("check", "h.jsonl", "--baseline", "last")
    assert "not checked" not in again.stderr                     # '=f and '@d were matched to =f and @d
    (hostile / "f.csv").write_text(run("analyze", "h.jsonl", "-f", "csv").stdout)    # funnels only: the
    assert "1 drop/rise limit not checked" in run("check", "h.jsonl", "--baseline", "f.csv").stderr  # micro one
    raw = run("check", "h.jsonl", "--output-dir", "raw", "--csv-raw")
    assert raw.exit_code == 1
    assert (hostile / "raw" / "funnels.csv").read_text().splitlines()[1].startswith("=f,1,view,14,")
    assert json.loads((hostile / "raw" / "manifest.json").read_text())["options"]["csv_raw"] is True


def test_check_prints_alerts_without_control_characters(hostile):
    result = run("check", "h.jsonl")
    assert result.exit_code == 1
    _no_terminal_controls(result.stdout)
    assert result.stdout.startswith("ALERT [[/]\\x1b[2J] =f step 2 'buy' rate_from_previous")
    doc = json.loads(run("check", "h.jsonl", "-f", "json").stdout)
    assert doc["breached"][0]["name"] == "[/]\x1b[2J"


def test_paths_in_every_format(hostile):
    table = run("paths", "h.jsonl", "--funnel", "=f", "--top", "0").stdout
    _no_terminal_controls(table)
    assert "\\x1b]0;pwned\\x07" in table and "[/]" in table and "a\\nb" in table
    rows = _csv_rows(run("paths", "h.jsonl", "--funnel", "=f", "--top", "0", "-f", "csv").stdout)
    paths = [r[rows[0].index("path")] for r in rows[1:]]
    assert "'@SUM(1)" in paths and "'\t=1+2" in paths and "'=f" == rows[1][0]   # the buyers' events between
    raw = _csv_rows(run("paths", "h.jsonl", "--funnel", "=f", "--top", "0", "-f", "csv", "--csv-raw").stdout)
    assert {"@SUM(1)", "\t=1+2"} <= {r[rows[0].index("path")] for r in raw[1:]}
    doc = json.loads(run("paths", "h.jsonl", "--funnel", "=f", "--top", "0", "-f", "json").stdout)
    assert "\x1b]0;pwned\x07" in {p["path"] for s in doc["steps"] for p in s["between"]}


def test_explain_shows_escapes_visibly(hostile):
    out = run("explain", "h.jsonl", "-u", "u2").stdout
    _no_terminal_controls(out)
    assert "    2026-01-01 00:03:21  \\x1b]0;pwned\\x07" in out
    assert "[red]F[/red] *em* <b>x</b>  (order ordered" in out


def test_an_error_quoting_the_data_is_one_line(hostile):
    result = CliRunner().invoke(app, ["explain", "h.jsonl", "-c", "h.yaml", "-u", "x\x1b]0;y\x07\nz"],
                                catch_exceptions=False)
    assert result.exit_code == 4
    assert len(result.stderr.splitlines()) == 1 and "\x07" not in result.stderr


@given(st.text())
def test_a_document_for_the_terminal_keeps_only_its_layout(value):
    from microconv.render.escape import terminal_document

    shown = terminal_document(value)
    assert not any(ch not in "\n\t" and (ord(ch) < 32 or 0x7f <= ord(ch) <= 0x9f) for ch in shown)
    assert shown.count("\n") == value.count("\n") and shown.count("\t") == value.count("\t")
    assert terminal_document("a,b\n=1\x1b[2J,\u202ex\n") == "a,b\n=1\\x1b[2J,\\u202ex\n"


@pytest.mark.parametrize("raw, name", [(True, "'=q"), (False, "=q")])
def test_a_raw_baseline_dir_is_read_as_written(tmp_path, raw, name):
    """A set written with --csv-raw holds names as they are: a leading quote is the name's own."""
    import hashlib

    from microconv.reports.alerts import load_baseline

    table = "funnel,step,name,users\n'=q,1,A,3\n"
    (tmp_path / "funnels.csv").write_text(table)
    manifest = {"options": {"csv_raw": True} if raw else {},
                "tables": {"funnels": {"file": "funnels.csv", "rows": 1,
                                       "sha256": hashlib.sha256(table.encode()).hexdigest()}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert load_baseline(tmp_path).steps["funnel"].tolist() == [name]


def test_micro_by_segment_in_csv_and_json_carries_hostile_segments(hostile):
    """The micro report per segment (7.6) names segments by their values: neutralised in CSV,
    as they are in JSON, and every value is a segment of its own (one user each)."""
    rows = _csv_rows(run("analyze", "h.jsonl", "--by", "src", "--top", "0", "-f", "csv", "--report", "micro").stdout)
    segment = rows[0].index("segment")
    segments = {r[segment] for r in rows[1:] if r[segment]}
    assert "'=HYPERLINK(\"http://x\")" in segments and "'@SUM(1)" in segments and "'\t=1+2" in segments
    assert not any(cell.startswith(FORMULA_START) for row in rows[1:] for cell in row
                   if not NUMBER_LIKE.fullmatch(cell))
    doc = json.loads(run("analyze", "h.jsonl", "--by", "src", "--top", "0", "-f", "json").stdout,
                     parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    micro = doc["micro"]["segments"]
    assert {s["segment"] for s in micro} == set(HOSTILE)
    assert all(s["population"] == 1 for s in micro)
