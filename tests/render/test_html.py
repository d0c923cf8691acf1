"""The HTML report (microconv/render/html.py): numbers, escaping, no remote resources, determinism,
a golden file of the example, and a real headless browser (Debian's chromium; skipped without it)."""
from __future__ import annotations

import html
import os
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import microconv
from builders import load_rows
from conftest import ROOT
from microconv.cli import app
from microconv.render import Format, render_text
from microconv.render.html import render_html

GOLDEN = ROOT / "tests" / "golden"
EPOCH = pd.Timestamp("2026-01-05", tz="UTC")  # a Monday
EVIL = '<script>alert("x")</script> & co'

CONFIG = {
    "columns": {"user": "u", "event": "e", "timestamp": "t"},
    "conversions": {
        "buy": {"kind": "macro", "event": "C"},
        "promo": {"kind": "secondary", "event": "P", "label": "promo <b>seen</b>"},
    },
    "funnels": {"f": {"label": EVIL, "steps": [{"event": "A"}, {"event": "B"}, "buy"], "window": "1h"}},
}
# u1 converts (A, B, C), u2 stops at B, u3 at A; u4 sees the promo and never enters; u5 enters a day later
# (03:00) and is still in progress at the end of the data, so only the second day's cohort is open.
ROWS = [("u1", 0, "A", "mail|x"), ("u1", 60, "B", None), ("u1", 360, "C", None),
        ("u2", 0, "A", '"quoted" <seg>'), ("u2", 30, "P", None), ("u2", 120, "B", None),
        ("u3", 10, "A", "mail|x"),
        ("u4", 0, "P", None),
        ("u5", 97200, "A", None)]


def tiny_result(**options) -> microconv.AnalysisResult:
    cfg = microconv.parse_config(CONFIG)
    rows = [(u, EPOCH + pd.Timedelta(seconds=t), e, ch) for u, t, e, ch in ROWS]
    events, quality = load_rows(rows, cfg, ["ch"])
    return microconv.analyze(cfg, events, quality=quality, **options)


@pytest.fixture(scope="module", autouse=True)
def fixed_clock():
    """Reports say when they were made: SOURCE_DATE_EPOCH makes that a fixed time (2025-12-06 05:46 UTC)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1765000000")
        yield


@pytest.fixture(scope="module")
def tiny_html(fixed_clock) -> str:
    return render_html(tiny_result(by="ch", trend="day"))


def text_of(page: str) -> str:
    """The visible text, tags dropped and entities decoded, whitespace collapsed."""
    body = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


class Tree(HTMLParser):
    """Checks that every non-void element is closed in order; counts elements by tag and class."""

    VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.counts: dict[str, int] = {}
        self.attrs: list[tuple[str, str, str]] = []  # (tag, attribute, value)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            self.attrs.append((tag, name, value or ""))
            if name == "class":
                for cls in (value or "").split():
                    self.counts[f"{tag}.{cls}"] = self.counts.get(f"{tag}.{cls}", 0) + 1
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def parse(page: str) -> Tree:
    tree = Tree()
    tree.feed(page)
    tree.close()
    return tree


# ---------------------------------------------------------------------------------------------
# Unit tests on a hand-made result


def test_numbers_of_every_section_appear(tiny_html):
    text = text_of(tiny_html)
    # steps: 4 entrants (u5 in progress), 2 reach B, 1 buys; the chart prints each count and share
    assert "4 users · 100.0%" in text and "2 users · 50.0%" in text and "1 user · 25.0%" in text
    assert "1. A 4 100.0% 1 2. B 2 50.0% 50.0% 1 ▼ 1m 30s 3. buy 1 25.0% 50.0% 1 5m" in text
    assert "window 1h · 4 entrants" in text
    # dropped: u3 before B (u5 is in progress, not dropped), u2 before buy; the first of the tie is marked
    assert "largest drop-off: 1 user before 'B'" in text
    assert "1 user in progress: window still open at the end of the data" in text
    # time to convert: A → B for u1 (1m) and u2 (2m); the whole funnel for u1 (6m)
    assert "A → B 2 1m 15s 1m 30s 1m 45s 1m 54s" in text
    assert "whole funnel 1 6m 6m 6m 6m" in text
    # the distribution, buckets labelled and counts printed: both A → B in 1–5m, B → buy (5m) in 5–15m
    assert "took A → B B → buy whole funnel 1–5m 2 0 0 5–15m 0 1 1" in text
    # breakdown by ch: the chart prints each rate and interval; the table too; trend per day with the open cohort
    assert "By ch · first touch · top 10" in text
    assert "mail|x · 2 users 50.0% (9.5–90.5%)" in text and "all entrants: 25.0% converted" in text
    assert "mail|x 2 50.0% 50.0% 50.0% 9.5–90.5% 0% too few to judge" in text
    assert "2026-01-05 3 66.7% 33.3% 2026-01-06" in text and "2026-01-06 1 0% 0% 1 open" in text
    # micro-conversions and the run
    assert "Micro-conversions → buy" in text and "5 users · 1 converted (20.0%)" in text
    assert "promo <b>seen</b> secondary 2 40.0% 0% 33.3% too few" in text
    assert "Users 5 Events 9" in text
    assert "2026-01-05 00:00 UTC to 2026-01-06 03:00 UTC (1d 3h)" in text


def test_every_string_from_data_and_config_is_escaped(tiny_html):
    assert "<script" not in tiny_html.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in tiny_html
    assert "promo &lt;b&gt;seen&lt;/b&gt;" in tiny_html and "<b>seen</b>" not in tiny_html
    assert "&quot;quoted&quot; &lt;seg&gt;" in tiny_html
    assert EVIL in text_of(tiny_html)           # and it reads as written
    assert parse(tiny_html).errors == []


def test_no_remote_resources_and_no_scripts(tiny_html):
    tree = parse(tiny_html)
    for tag, name, value in tree.attrs:
        if name in ("src", "href", "srcset", "action", "poster", "data", "formaction"):
            assert value.startswith("#"), (tag, name, value)   # only in-page links
    assert not any(name.startswith("on") for _, name, _ in tree.attrs)   # no event handlers
    for tag in ("script", "link", "img", "iframe", "object", "embed", "base", "foreignobject", "use", "image"):
        assert tree.counts.get(tag, 0) == 0, tag
    style = re.search(r"<style>(.*?)</style>", tiny_html, flags=re.S).group(1)
    assert "url(" not in style and "@import" not in style and "@font-face" not in style
    assert not re.search(r"(?i)(src|href)\s*=\s*[\"']?\s*(https?:)?//", tiny_html)
    assert "default-src 'none'" in tiny_html   # the browser would refuse to fetch anything anyway


def test_structure_and_determinism(tiny_html):
    tree = parse(tiny_html)
    assert tree.errors == [] and tree.stack == []
    assert tree.counts["section.funnel"] == 1 and tree.counts["section.micro"] == 1
    for cls in ("steps", "time", "dist", "breakdown", "trend", "micro"):
        assert tree.counts[f"table.{cls}"] == 1, cls
    for chart in ("funnel", "breakdown", "trend", "micro"):
        assert tree.counts[f"svg.{chart}"] == 1, chart
    assert tree.counts["tr.worst"] == 1 and tree.counts["tr.open"] == 1
    assert render_html(tiny_result(by="ch", trend="day")) == tiny_html
    assert render_text(tiny_result(by="ch", trend="day"), Format.html) == tiny_html
    # The only dates: the data's two days and the generation time (SOURCE_DATE_EPOCH, below).
    assert set(re.findall(r"\d{4}-\d\d-\d\d", tiny_html)) == {"2026-01-05", "2026-01-06", "2025-12-06"}
    assert "generated 2025-12-06 05:46 UTC" in text_of(tiny_html)


def test_title_dates_and_currency_from_the_config():
    """title: names the report (else the config file's name), currency: is on every money figure."""
    cfg = {**CONFIG, "title": "Shop <Q4>", "currency": "EUR",
           "conversions": {**CONFIG["conversions"], "buy": {"kind": "macro", "event": "C", "value": "ch"}}}
    rows = [(u, EPOCH + pd.Timedelta(seconds=t), e, "30" if e == "C" else None) for u, t, e, _ in ROWS]
    events, quality = load_rows(rows, microconv.parse_config(cfg), ["ch"])
    result = microconv.analyze(microconv.parse_config(cfg), events, quality=quality)
    page = render_html(result)
    text = text_of(page)
    assert "<title>Shop &lt;Q4&gt; · 2026-01-05 – 2026-01-06</title>" in page
    assert "<h1>Shop &lt;Q4&gt;</h1>" in page
    # one purchase of 30: revenue 30 over 4 entrants; B lost 1 user (value lost 30), buy lost 1 (30)
    assert "value lost (EUR)" in text and "30.00 EUR" in text
    assert "revenue at the last step: 30.00 EUR (7.50 EUR per entrant)" in text
    assert "average buy 30.00 EUR" in text
    amounts = re.findall(r"\d[\d,]*\.\d\d(?: [A-Z]{3})?", text.replace("below 0.05", ""))
    assert amounts and all(a.endswith(" EUR") for a in amounts), amounts
    from microconv.render.markdown import render_markdown
    assert "| 30.00 EUR |" in render_markdown(result)
    plain = render_html(tiny_result())
    assert "<h1>Funnel report</h1>" in plain and "EUR" not in plain


@pytest.mark.parametrize("title,currency,message", [
    ("", None, "title: String should have at least 1 character"),
    (None, "eur", "currency: currency 'eur' is not an ISO 4217 code"),
    (None, "€", "currency: currency '€' is not an ISO 4217 code"),
    (None, 978, "currency: Input should be a valid string"),
])
def test_title_and_currency_are_validated(title, currency, message):
    extra = {k: v for k, v in (("title", title), ("currency", currency)) if v is not None}
    with pytest.raises(microconv.ConfigError) as err:
        microconv.parse_config({**CONFIG, **extra})
    assert message in str(err.value)


def test_config_file_name_is_the_default_title(tmp_path):
    path = tmp_path / "q4-shop.yaml"
    path.write_text((ROOT / "funnels.example.yaml").read_text().replace("title: ", "# title: "))
    cfg = microconv.load_config(path)
    assert cfg.title is None and microconv.api.report_title(cfg) == "q4-shop"


def test_p_values_read_as_people_read_them():
    """No 1.2e-184 and no bare star: '< 0.001' and the word 'significant', explained under the table."""
    page = (GOLDEN / "analyze_example.html").read_text()
    text = text_of(page)
    assert not re.search(r"\de-\d", text) and " *" not in text
    assert "< 0.001significant" not in text and "< 0.001 significant" in text
    assert "significant = unlikely to be chance" in text
    assert "docs/semantics" not in page and "docs 7" not in page


def test_an_interval_from_zero_reads_zero():
    """0 of n converted: the Wilson interval's low end is float noise (4.3e-19), not a rate to print
    with 17 zeros (which also widened the breakdown table past a 1024 px screen)."""
    from microconv.render.format import interval

    assert interval(4.3e-19, 0.0053) == "0–0.53%" and interval(0.00021, 0.0029) == "0.021–0.29%"


def test_no_number_only_in_a_title(tiny_html):
    """A mailed or printed page has no hover: whatever a title says, the page prints too."""
    text = text_of(re.sub(r"<title>.*?</title>", " ", tiny_html, flags=re.S))
    tree = parse(tiny_html)
    titles = [v for _, name, v in tree.attrs if name in ("title", "aria-label")]
    titles += re.findall(r"<title>(.*?)</title>", tiny_html, flags=re.S)[1:]     # the svg titles
    for title in titles:
        for number in re.findall(r"\d[\d,.]*%?", html.unescape(title)):
            assert number in text, (number, title)


def test_sections_without_funnel_results_are_still_shown():
    """--report time (or breakdown, trend) computes those tables without the funnels' own steps."""
    page = render_html(tiny_result(reports=("time",)))
    assert "Time to convert" in page and '<table class="steps">' not in page
    assert "&lt;script&gt;" in page and "Micro-conversions" not in page
    empty = render_html(microconv.AnalysisResult(per_funnel=()))
    assert "Nothing to show" in empty and parse(empty).errors == []


def test_markdown_for_tickets_keeps_its_tables_whole():
    """The Markdown renderer's tables survive a '|' in the data, and the trend shows every step."""
    from microconv.render.markdown import render_markdown

    md = render_markdown(tiny_result(by="ch", trend="day"))
    assert "| mail\\|x | 2 | 50.0% |" in md
    tables, current = [], []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            current.append(len(re.findall(r"(?<!\\)\|", line)))   # cell borders, escaped pipes aside
        elif current:
            tables.append(current)
            current = []
    # funnel, breakdown, trend, micro; the micro report by segment and by day (--by and --trend apply to it too)
    assert len(tables) == 7 and all(len(set(borders)) == 1 for borders in tables), tables
    assert "| mail\\|x | 2 | 50.0% | 9.5–90.5% |  |  | 0% |" in md       # 1 of 2 bought; neither saw the promo
    assert "| 2026-01-06 (open) | 1 | 0% | 0–79.3% |  |  | 0% |" in md
    assert "| day | users | B | buy | in progress | |" in md
    assert "| 2026-01-05 | 3 | 66.7% | 33.3% | 0 |  |" in md and "| 2026-01-06 | 1 | 0% | 0% | 1 | open |" in md


# ---------------------------------------------------------------------------------------------
# The command line and the golden file


def invoke(*args, cwd: Path = ROOT):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)


@pytest.mark.parametrize("name,args", [("analyze_example", [])])
def test_example_golden_html(tmp_path, update_golden, name, args):
    out = tmp_path / "out.html"
    result = invoke("analyze", "examples/shop_events.csv", "-c", "funnels.example.yaml", "-f", "html", "-o", out,
                    *args)
    assert result.exit_code == 0, result.stderr
    golden = GOLDEN / f"{name}.html"
    if update_golden:
        golden.write_text(out.read_text())
    assert out.read_text() == golden.read_text()


def test_html_to_stdout_with_every_report():
    result = invoke("analyze", "examples/shop_events.csv", "-c", "funnels.example.yaml", "-f", "html", "-q",
                    "--report", "all", "--funnel", "checkout", "--trend", "week")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("<!DOCTYPE html>") and result.stdout.endswith("</html>\n")
    assert '<table class="trend stack-wide">' in result.stdout and '<table class="breakdown stack-wide">' in result.stdout
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart trend"' in result.stdout


# ---------------------------------------------------------------------------------------------
# A real browser


def find_chromium() -> str | None:
    for candidate in (shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}"]
    return subprocess.run([binary, *flags, *args], capture_output=True, text=True, timeout=120)


def read_png(path: Path) -> np.ndarray:
    """A non-interlaced 8-bit RGB/RGBA/grey PNG as an array (height, width, channels): just enough
    of the format (zlib and the five row filters) to look at a screenshot without Pillow."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    assert depth == 8 and interlace == 0, (depth, interlace)
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    out = np.zeros((height, stride), dtype=np.uint8)
    prior = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1).astype(np.int32)
        if kind == 0:
            row = line
        elif kind == 2:                                  # Up
            row = (line + prior) & 0xFF
        elif kind == 1:                                  # Sub: a running sum per channel
            row = np.cumsum(line.reshape(width, channels), axis=0).reshape(stride) & 0xFF
        else:                                            # Average, Paeth: byte by byte
            cur, up = bytearray(stride), prior.tolist()
            filt = line.tolist()
            for i in range(stride):
                a = cur[i - channels] if i >= channels else 0
                b = up[i]
                if kind == 3:
                    cur[i] = (filt[i] + (a + b) // 2) & 0xFF
                else:
                    c = up[i - channels] if i >= channels else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    cur[i] = (filt[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
            row = np.frombuffer(bytes(cur), dtype=np.uint8).astype(np.int32)
        out[y] = row
        prior = row
    return out.reshape(height, width, channels)


@pytest.fixture(scope="module")
def browser():
    binary = find_chromium()
    if binary is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium); the browser test needs it")
    return binary


@pytest.fixture(scope="module")
def example_page(tmp_path_factory) -> Path:
    """The example report as the command line writes it, with every chart: funnels, time,
    breakdown (--by), trend (--trend), micro-conversions."""
    page = tmp_path_factory.mktemp("html") / "report.html"
    result = invoke("analyze", "examples/shop_events.csv", "-c", "funnels.example.yaml", "-f", "html", "-q",
                    "--by", "channel", "--trend", "week", "-o", page)
    assert result.exit_code == 0, result.stderr
    return page


def test_browser_parses_the_page(browser, example_page, tmp_path):
    run = chromium(browser, tmp_path / "profile", "--dump-dom", example_page.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    tree = parse(run.stdout)
    assert tree.errors == []
    assert tree.counts["section.funnel"] == 5 and tree.counts["section.micro"] == 1
    assert tree.counts["table.steps"] == 5 and tree.counts["table.time"] == 5 and tree.counts["table.trend"] == 5
    assert tree.counts["table.breakdown"] == 5 and tree.counts["tr.worst"] == 5
    # a chart per funnel, per trend and per breakdown, and the micro-conversions' forest plot
    assert tree.counts["svg.funnel"] == 5 and tree.counts["svg.trend"] == 5
    assert tree.counts["svg.breakdown"] == 5 and tree.counts["svg.micro"] == 1
    assert "Checkout funnel" in run.stdout and "Micro-conversions → purchase" in run.stdout
    assert "<script" not in run.stdout


def measure(binary: str, profile: Path, page: Path, width: int, cell: str = "table.steps td.num") -> dict:
    """Load ``page`` in an iframe ``width`` px wide (its media queries see that width; headless
    Chromium will not make a window narrower than 500 px) and read what the browser laid out: the
    document's scrollWidth, the charts drawn, the title. The report stays script-free: the script is
    in the wrapper page, which may read the frame because both are files (--allow-file-access-from-files).
    ``cell``: a selector of the table cell whose display and data-label are read."""
    wrapper = profile.parent / f"measure-{width}.html"
    wrapper.write_text(f"""<!DOCTYPE html><html><body style="margin:0">
<iframe id="report" src="{page.as_uri()}" width="{width}" height="2000" style="border:0"></iframe>
<script>
document.getElementById("report").addEventListener("load", function () {{
  var doc = this.contentDocument, root = doc.documentElement, charts = {{}};
  doc.querySelectorAll("svg.chart").forEach(function (svg) {{
    var kind = svg.getAttribute("class").split(" ")[1];
    charts[kind] = (charts[kind] || 0) + 1;
    if (svg.getBoundingClientRect().width > {width}) charts.too_wide = (charts.too_wide || 0) + 1;
  }});
  var out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify({{scroll: root.scrollWidth, client: root.clientWidth, charts: charts,
                                     title: doc.title, h1: doc.querySelector("h1").textContent,
                                     text: doc.body.innerText,
                                     cell: getComputedStyle(doc.querySelector("{cell}")).display,
                                     label: doc.querySelector("{cell}").getAttribute("data-label")}});
  document.body.appendChild(out);
}});
</script></body></html>""", encoding="utf-8")
    run = chromium(binary, profile, "--allow-file-access-from-files", "--window-size=1400,1000", "--dump-dom",
                   wrapper.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    found = re.search(r'<pre id="measured">(.*?)</pre>', run.stdout, flags=re.S)
    assert found, run.stdout[-2000:]
    import json
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.parametrize("width", [400, 700, 1024, 1280])
def test_browser_nothing_overflows_and_every_chart_is_drawn(browser, example_page, tmp_path, width):
    m = measure(browser, tmp_path / "profile", example_page, width)
    assert m["client"] == width
    assert m["scroll"] <= width, m["scroll"]                      # no sideways scrolling
    assert m["charts"] == {"funnel": 5, "trend": 5, "breakdown": 5, "micro": 1}
    # the title (the config's title:), the data's dates and when it was made
    assert m["h1"] == "Example shop, October" and m["title"] == "Example shop, October · 2026-10-01 – 2026-10-31"
    assert "2026-10-01 – 2026-10-31 · 5 funnels" in m["text"] and "generated 2025-12-06 05:46 UTC" in m["text"]
    # narrow: a table row is a card, each number beside its column's name (data-label); wide: a table
    assert (m["cell"], m["label"]) == ("flex" if width < 600 else "table-cell", "users")


def test_browser_no_number_only_in_a_title(browser, example_page, tmp_path):
    """What the browser shows (innerText) holds every number of every title: none is hover-only."""
    m = measure(browser, tmp_path / "profile", example_page, 1280)
    page = example_page.read_text()
    titles = re.findall(r'\btitle="([^"]*)"', page) + re.findall(r"<svg[^>]*><title>(.*?)</title>", page)
    assert titles                                           # the charts' titles
    shown = " ".join(m["text"].split())
    for title in titles:
        for number in re.findall(r"\d[\d,.]*%?", html.unescape(title)):
            assert number in shown, (number, title)


@pytest.mark.parametrize("width", [400, 1280])
def test_browser_screenshot_is_not_blank(browser, example_page, tmp_path, width):
    shot = tmp_path / "shot.png"
    run = chromium(browser, tmp_path / "profile", f"--screenshot={shot}", f"--window-size={width},2000",
                   example_page.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    assert shot.is_file() and shot.stat().st_size > 20_000
    pixels = read_png(shot)[:, :, :3].astype(np.int32)
    assert pixels.shape[:2] == (2000, width)
    ink = (pixels.sum(axis=2) < 600).mean()                 # text, lines and bars on a white page
    assert 0.01 < ink < 0.5, ink
    accent = (np.abs(pixels - np.array([0x2F, 0x6F, 0xDE])).sum(axis=2) < 30).sum()
    assert accent > 2_000 * width / 1280, accent             # the funnel bars are drawn, in the accent colour
    drop = (np.abs(pixels - np.array([0xF6, 0xD5, 0xD2])).sum(axis=2) < 12).sum()
    assert drop > 500 * width / 1280, drop                   # the largest drop-off is highlighted
    colours = np.unique((pixels[:, :, 0] << 16) | (pixels[:, :, 1] << 8) | pixels[:, :, 2])
    assert len(colours) > 50, len(colours)                   # text is anti-aliased: many shades


@pytest.fixture(scope="module")
def drivers_page(tmp_path_factory) -> Path:
    """The example's drivers of purchase as the command line writes its page (-f html)."""
    page = tmp_path_factory.mktemp("html") / "drivers.html"
    result = invoke("drivers", "examples/shop_events.csv", "-c", "funnels.example.yaml", "-f", "html", "-q", "-o", page)
    assert result.exit_code == 0, result.stderr
    return page


@pytest.mark.parametrize("width", [400, 1280])
def test_browser_drivers_page_fits_and_draws_its_chart(browser, drivers_page, tmp_path, width):
    m = measure(browser, tmp_path / "profile", drivers_page, width, cell="table.drivers td.num")
    assert m["client"] == width
    assert m["scroll"] <= width, m["scroll"]                      # no sideways scrolling
    assert m["charts"] == {"drivers": 1}
    assert m["h1"] == "Example shop, October" and m["title"] == "Example shop, October · 2026-10-01 – 2026-10-31"
    assert "4.57 (3.57–5.86) ▲" in m["text"] and "How to read this:" in m["text"]
    # narrow: each driver is a card of labelled numbers; wide: a table
    assert (m["cell"], m["label"]) == ("flex" if width < 600 else "table-cell", "success with (users)")
