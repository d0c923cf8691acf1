"""The SVG charts (microconv/render/svg.py) and ``-f svg``: geometry a person can check by hand,
every number printed as text, data escaped, one chart per file."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

import microconv
from builders import load_rows
from conftest import ROOT
from microconv.render import Format, render_text
from microconv.render.svg import WIDTH, funnel_chart, micro_chart, nice_max, rate_ticks, render_svg, trend_chart

from render.test_html import CONFIG, EPOCH, EVIL, ROWS, invoke, tiny_result

NS = "{http://www.w3.org/2000/svg}"


def tree(svg: str) -> ET.Element:
    """Well-formed XML (a standalone .svg must be), the root an <svg>."""
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    return root


def texts(svg: str) -> list[str]:
    return ["".join(t.itertext()) for t in tree(svg).iter(f"{NS}text")]


@pytest.fixture(scope="module")
def result():
    return tiny_result(by="ch", trend="day")


def test_funnel_bars_are_the_rates(result):
    """4 entrants, 2 reach B (50%), 1 buys (25%): bars of WIDTH, WIDTH/2, WIDTH/4, the lost parts after them."""
    f = result.per_funnel[0].steps
    svg = funnel_chart(f)
    accent = [r for r in tree(svg).iter(f"{NS}rect") if r.get("fill") == "#2f6fde"]
    assert [float(r.get("width")) for r in accent] == [WIDTH, WIDTH / 2, WIDTH / 4]
    lost = [(float(r.get("x")), float(r.get("width"))) for r in tree(svg).iter(f"{NS}rect")
            if r.get("fill") in ("#c9dbf8", "#f6d5d2")]
    assert lost == [(WIDTH / 2, WIDTH / 2), (WIDTH / 4, WIDTH / 4)]
    # the first of the tied drop-offs (B) is the largest: drawn in red
    assert [r.get("fill") for r in tree(svg).iter(f"{NS}rect") if r.get("fill") in ("#c9dbf8", "#f6d5d2")] == \
        ["#f6d5d2", "#c9dbf8"]
    shown = texts(svg)
    assert "4 users · 100.0%" in shown and "2 users · 50.0%" in shown and "1 user · 25.0%" in shown
    assert "−1 dropped" in shown
    assert shown[0] == "1. A"


def test_trend_marks_open_periods(result):
    """Day 1: 3 entrants, B 66.7%, buy 33.3% (closed); day 2: u5 in progress (open): hollow points, dashed line."""
    svg = trend_chart(result.per_funnel[0].trend)
    circles = list(tree(svg).iter(f"{NS}circle"))
    filled = [c.get("fill") for c in circles if c.get("stroke") != "#616e7c"]    # the legend's sample aside
    assert filled == ["#2f6fde", "#fff", "#e8833a", "#fff"]                     # per step: closed day, open day
    dashed = [l for l in tree(svg).iter(f"{NS}line") if l.get("stroke-dasharray") and l.get("stroke-width") == "2"]
    assert len(dashed) == 2                                                     # the two lines into the open day
    top = nice_max(2 / 3)                                                       # 0.8: the axis holds 66.7%
    ys = [float(c.get("cy")) for c in circles[:1]]
    assert ys[0] == pytest.approx(8 + 190 - (2 / 3) / top * 190, abs=0.1)
    shown = texts(svg)
    assert {"B", "buy", "Jan 5", "Jan 6", "0%", "80%"} <= set(shown)
    assert "open day: can still change (dashed line)" in shown


def test_ticks_are_round():
    assert rate_ticks(0.25) == pytest.approx([0, 0.05, 0.1, 0.15, 0.2, 0.25])
    assert rate_ticks(1.0) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert rate_ticks(0.01) == pytest.approx([0, 0.002, 0.004, 0.006, 0.008, 0.01])


def test_forest_plot_of_the_example_lists_implied_apart():
    cfg = microconv.load_config(ROOT / "funnels.example.yaml")
    events, quality = microconv.load_events([ROOT / "examples" / "shop_events.csv"], cfg)
    m = microconv.analyze(cfg, events, quality=quality, reports=("micro",)).micro
    svg = micro_chart(m)
    shown = texts(svg)
    # video_play: lift 2.04 (1.62–2.58), significant and above 1: printed and marked
    assert "2.04× (1.62–2.58) ▲" in shown
    implied = [t for t in shown if t.startswith("implied")]
    assert implied and "view_product" in " ".join(implied) and "long_visit" in " ".join(shown[-3:])
    drawn = {t for t in shown if not t.startswith("implied")}
    assert "view_product" not in drawn                  # implied: no interval drawn
    # the reference line at 1× lies between the interval of pricing_visit (0.49–0.78) and video_play's
    ref = [l for l in tree(svg).iter(f"{NS}line") if l.get("stroke-dasharray") == "4 3"][0]
    assert 0 < float(ref.get("x1")) < WIDTH


def test_data_is_escaped_and_the_file_is_valid_xml(result):
    svg = render_svg(result)
    assert EVIL in "".join(tree(svg).itertext())        # reads as written ...
    assert "<script" not in svg and "&lt;script&gt;" in svg   # ... and never acts
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and svg.endswith("</svg>\n")
    assert re.search(r' width="\d+" height="\d+"', svg)     # a file has a size for slides
    assert render_text(result, Format.svg) == svg


def test_a_result_of_several_funnels_is_refused():
    cfg = microconv.parse_config({**CONFIG, "funnels": {**CONFIG["funnels"], "g": {"steps": [{"event": "A"}, "buy"]}}})
    rows = [(u, EPOCH + pd.Timedelta(seconds=t), e, ch) for u, t, e, ch in ROWS]
    events, quality = load_rows(rows, cfg, ["ch"])
    with pytest.raises(ValueError, match=r"one funnel, the result holds 2 \(f, g\)"):
        render_svg(microconv.analyze(cfg, events, quality=quality))


def test_cli_svg_of_one_funnel_and_one_trend(tmp_path):
    out = tmp_path / "chart.svg"
    result = invoke("analyze", "examples/shop_events.csv", "-c", "funnels.example.yaml", "-f", "svg", "-q",
                    "--funnel", "checkout", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    shown = texts(out.read_text())
    assert shown[0] == "Checkout funnel · 2,400 users" and "274 users · 11.4%" in shown
    result = invoke("analyze", "examples/shop_events.csv", "-c", "funnels.example.yaml", "-f", "svg", "-q",
                    "--funnel", "checkout", "--report", "trend", "--trend", "week")
    assert result.exit_code == 0, result.stderr
    shown = texts(result.stdout)
    assert shown[0] == "Checkout funnel · by week of entry" and "open week: can still change (dashed line)" in shown


@pytest.mark.parametrize("args,message", [
    ([], "microconv: error: -f svg draws one funnel; the config has 5: checkout, pricing_to_purchase, "
         "cart_to_purchase, product_to_cart_strict, engagement_any_order (pick one with --funnel checkout)"),
    (["--funnel", "checkout", "--report", "micro"], "microconv: error: -f svg draws a funnel or a trend, not --report micro"),
])
def test_cli_svg_usage_errors(args, message):
    result = invoke("analyze", "examples/shop_events.csv", "-c", "funnels.example.yaml", "-f", "svg", *args)
    assert result.exit_code == 2
    assert result.stdout == "" and result.stderr.startswith(message)


def test_segments_escaped_and_long_labels_cut(result):
    """A segment's text reads as written (and never acts); a label too long for the line is cut
    with an ellipsis so it cannot run into its numbers (the table under the chart has it whole)."""
    from microconv.render.svg import breakdown_chart

    b = result.per_funnel[0].breakdown
    shown = texts(breakdown_chart(b, 0.25))
    assert '"quoted" <seg> · 1 user' in shown and "mail|x · 2 users" in shown
    long = b.segments.assign(segment=["x" * 80, "y", "z"])
    svg = breakdown_chart(type(b)(**{**vars(b), "segments": long}), 0.25)
    label = texts(svg)[texts(svg).index("50.0% (9.5–90.5%)") - 1]
    assert label.endswith("…") and len(label) < 50
