"""drivers -f html: a page in the analyze report's style, the drivers ranked as a chart, every
number of the chart in the table, data text escaped. The browser checks are in test_html.py."""
from __future__ import annotations

import html
import math
import re

import pandas as pd
import pytest

import microconv
from helpers import EXAMPLE_CONFIG, EXAMPLE_CSV, invoke
from microconv.api import run_meta
from microconv.render.drivers import render_drivers_html
from microconv.reports.drivers import drivers
from render.test_html import fixed_clock, text_of  # noqa: F401 (the report's fixed clock, its visible text)

BASE = int(pd.Timestamp("2026-01-01", tz="UTC").timestamp())
EVIL = '<script>alert("x")</script>'
SOFT = 'y & <b>co</b>'

# Funnel A -> B, window 100 s; 10 units enter, u1-u5 reach B. EVIL is done between A and B by
# u1-u4 (successes) and in its window by u6 (a failure): with 4 / 1, without 1 / 4. SOFT is done by
# u5 (a success) and u6-u9 (failures): with 1 / 4, without 4 / 1. u1 does A twice: implied.
LOG = [("u1", 0, "A"), ("u1", 1, EVIL), ("u1", 1.5, "A"), ("u1", 2, "B"),
       ("u2", 0, "A"), ("u2", 1, EVIL), ("u2", 2, "B"),
       ("u3", 0, "A"), ("u3", 1, EVIL), ("u3", 2, "B"),
       ("u4", 0, "A"), ("u4", 1, EVIL), ("u4", 2, "B"),
       ("u5", 0, "A"), ("u5", 1, SOFT), ("u5", 2, "B"),
       ("u6", 0, "A"), ("u6", 1, EVIL), ("u6", 2, SOFT),
       ("u7", 0, "A"), ("u7", 1, SOFT), ("u8", 0, "A"), ("u8", 1, SOFT), ("u9", 0, "A"), ("u9", 1, SOFT),
       ("u10", 0, "A"), ("zz", 1000, "Z")]         # the data end at 1000 s: no window is still open


@pytest.fixture(scope="module")
def page(fixed_clock) -> str:
    cfg = microconv.parse_config({
        "title": "Shop <i>drivers</i>",
        "columns": {"user": "u", "event": "e", "timestamp": "t", "timestamp_unit": "s"},
        "conversions": {"buy": {"kind": "macro", "event": "B"}},
        "funnels": {"f": {"steps": [{"event": "A"}, {"event": "B"}], "window": "100s"}},
    })
    raw = pd.DataFrame([(u, BASE + t, e) for u, t, e in LOG], columns=["u", "t", "e"])
    events, _ = microconv.canonicalize(raw, cfg)
    result = drivers(cfg, events, funnel="f")
    return render_drivers_html(result, run_meta(cfg, events.summary, events.sources), ["a note with <b>tags</b>"])


def chart_labels(page: str) -> list[str]:
    """The drivers chart's row labels (``1. name``) top to bottom, headings left out."""
    svg = re.search(r'<svg[^>]*class="chart drivers".*?</svg>', page, flags=re.S).group(0)
    return [html.unescape(t) for t in re.findall(r'<text x="0" y="[\d.]+" font-size="14"[^>]*>(.*?)</text>', svg)]


def table_labels(page: str) -> list[str]:
    """The tables' rows (``1. name``) in page order, up to the implied ones."""
    ranked = page.split("<h3>Implied")[0]
    return [f"{n}. {html.unescape(name)}"
            for n, name in re.findall(r'<td[^>]*class="name"><span class="stepno">(\d+)\.</span>(.*?)</td>', ranked)]


def woolf(a: int, b: int, c: int, d: int) -> tuple[float, float, float]:
    """The odds ratio with +1 in each cell and its 95% interval, by the textbook formula."""
    a, b, c, d = a + 1, b + 1, c + 1, d + 1
    ratio, se = a * d / (b * c), math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return ratio, ratio * math.exp(-1.959964 * se), ratio * math.exp(1.959964 * se)


def test_numbers_by_hand(page):
    shown = text_of(page)
    assert "Drivers of funnel f: reached step 2 (B) · 10 users, 5 succeeded (50.0%)" in shown
    # EVIL: 5·5 / (2·2) = 6.25, interval 6.25·exp(∓1.96·√1.4) = 0.615–63.5
    assert woolf(4, 1, 1, 4) == pytest.approx((6.25, 0.6148, 63.54), rel=1e-3)
    # SOFT: 2·2 / (5·5) = 0.16, interval 0.0157–1.63
    assert woolf(1, 4, 4, 1) == pytest.approx((0.16, 0.01574, 1.627), rel=1e-3)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page.split("<tbody>", 1)[1])
    cells = [[html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", r)] for r in rows]
    assert [f"1.{EVIL}", "4", "1", "6.25", "0.615–63.5", "too few to judge"] in cells
    assert [f"1.{SOFT}", "1", "4", "0.16", "0.0157–1.63", "too few to judge"] in cells
    # A (u1's second A, a step of the goal): with 1 / 0, without 4 / 5: 2·6 / (1·5) = 2.4, 0.165–34.9
    assert woolf(1, 0, 4, 5) == pytest.approx((2.4, 0.1649, 34.93), rel=1e-3)
    assert ["1.A", "1", "0", "2.4", "0.165–34.9", "implied"] in cells
    # the chart prints the same numbers beside each line
    assert "6.25 (0.615–63.5)" in shown and "0.16 (0.0157–1.63)" in shown
    assert "implied, on the way to B (no finding): A" in shown
    # the header: the config's title, the data's dates, when it was made; the notes
    assert "Drivers report Shop <i>drivers</i> 2026-01-01 ·" in shown and "generated 2025-12-06 05:46 UTC" in shown
    assert "a note with <b>tags</b>" in shown


def test_data_and_config_text_is_escaped(page):
    assert "<script" not in page and "<b>co" not in page and "<b>tags" not in page and "<i>drivers" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page          # in the table and the chart
    assert page.count("y &amp; &lt;b&gt;co&lt;/b&gt;") >= 2
    assert "<title>Shop &lt;i&gt;drivers&lt;/i&gt; · 2026-01-01</title>" in page


def test_a_chart_ranked_as_the_table(page):
    assert page.count("<svg") == 1 and 'class="chart drivers"' in page
    labels = chart_labels(page)
    assert labels == table_labels(page) == [f"1. {EVIL}", f"1. {SOFT}"]
    svg = re.search(r'<svg.*?</svg>', page, flags=re.S).group(0)
    # the headings in the chart, positive first; both rows too few to judge: grey (#9aa5b1)
    assert svg.index("More likely to reach B") < svg.index("Less likely to reach B")
    assert svg.count('stroke="#9aa5b1" stroke-width="2"') == 6          # a whisker and two caps per row
    # the axis is logarithmic: 1 is halfway between 0.1 and 10
    ticks = {t: float(x) for x, t in re.findall(r'<text x="([\d.]+)" y="12"[^>]*>([\d.]+)</text>', svg)}
    assert ticks["1"] - ticks["0.1"] == pytest.approx(ticks["10"] - ticks["1"], abs=0.2)


def test_no_script_and_no_number_only_in_a_title(page):
    assert "<script" not in page.lower() and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    shown = text_of(re.sub(r"<title>.*?</title>", " ", page, flags=re.S))
    for title in re.findall(r"<title>(.*?)</title>", page) + re.findall(r'\btitle="([^"]*)"', page):
        for number in re.findall(r"\d[\d,.]*", html.unescape(title)):
            assert number in shown, (number, title)


def test_example_from_the_command_line(runner, tmp_path):
    out = tmp_path / "drivers.html"
    result = invoke(runner, "drivers", EXAMPLE_CSV, "-c", EXAMPLE_CONFIG, "-f", "html", "-o", out, "-q")
    assert result.exit_code == 0, result.stderr
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
    # the example's drivers of purchase (README): sign_up 4.57 first, scroll 0.61 the first negative one
    assert chart_labels(page) == table_labels(page) == [
        "1. sign_up", "2. video_play", "1. scroll", "2. file_download", "3. share"]
    assert "4.57 (3.57–5.86) ▲" in text_of(page) and "0.61 (0.469–0.793) ▼" in text_of(page)
    assert "<h1>Example shop, October</h1>" in page
