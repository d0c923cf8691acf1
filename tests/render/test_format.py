"""How rates and p-values are written for people (docs/semantics.md 5.2): small numbers keep
their digits; CSV and JSON keep the raw floats."""
from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from builders import events_of
from conftest import examples
from scipy.stats import binomtest

from microconv.render.format import interval, p_text, p_value, pct, segment_p_text


@pytest.mark.parametrize("rate,text", [
    (262 / 1_030_000, "0.025%"),    # the probe: 262 buyers of 1.03M printed as 0.0%
    (0.005, "0.50%"), (0.0096, "0.96%"), (0.00996, "1.0%"),   # 0.996% rounds up to the 1% format
    (0.01, "1.0%"), (0.406, "40.6%"), (1.0, "100.0%"),
    (0.0, "0%"), (1e-9, "0.00000010%"), (float("nan"), ""),
])
def test_rates(rate, text):
    assert pct(rate) == text


def test_the_interval_of_a_small_rate_keeps_its_digits():
    ci = binomtest(262, 1_030_000).proportion_ci(confidence_level=0.95, method="wilson")
    assert interval(ci.low, ci.high) == "0.023–0.029%"     # was 0.0–0.0%
    assert interval(0.0, 0.0037) == "0–0.37%" and interval(0.0075, 0.0118) == "0.75–1.2%"
    assert interval(float("nan"), float("nan")) == ""


@settings(max_examples=examples(200), deadline=None)
@given(st.floats(min_value=1e-12, max_value=1.0))
def test_a_positive_rate_never_reads_as_zero_and_keeps_two_digits(rate):
    text = pct(rate)
    number = float(text.removesuffix("%"))
    assert number > 0
    assert number == pytest.approx(rate * 100, rel=0.05, abs=0.05)


@pytest.mark.parametrize("p,text", [
    (0.0, "< 0.001"), (1.2e-184, "< 0.001"), (0.00099, "< 0.001"),   # the probe: `0 *`, `1.2e-184 *`
    (0.001, "0.001"), (0.0021912, "0.00219"), (0.0354, "0.0354"), (0.931, "0.931"), (1.0, "1"),
])
def test_p_values(p, text):
    assert p_value(p) == text


def test_starred_p_values_of_micro_rows_and_segments():
    assert p_text(SimpleNamespace(p_adjusted=0.0, significant=True)) == "< 0.001 *"
    assert p_text(SimpleNamespace(p_adjusted=0.2, significant=False)) == "0.2"
    assert p_text(SimpleNamespace(p_adjusted=float("nan"), significant=False)) == ""
    assert segment_p_text(SimpleNamespace(p_adjusted=1e-9, significant=True, too_small=False)) == "< 0.001 *"
    assert segment_p_text(SimpleNamespace(p_adjusted=1e-9, significant=False, too_small=True)) == "too small"


def test_csv_and_json_keep_full_precision(tmp_path):
    import microconv
    from microconv.render import Format, render_text

    cfg = microconv.parse_config({"columns": {"user": "u", "event": "e", "timestamp": "t"},
                                  "funnels": {"f": {"steps": [{"event": "A"}, {"event": "B"}], "window": "1s"}}})
    rows = [(f"u{i}", 0, "A") for i in range(4000)] + [("u0", 1, "B")]
    events = events_of(rows, cfg)
    result = microconv.analyze(cfg, events, reports=["funnels"])
    frame = pd.read_csv(io.StringIO(render_text(result, Format.csv)))
    assert frame["rate_from_start"].tolist()[1] == pytest.approx(1 / 4000, rel=1e-9)
    doc = json.loads(render_text(result, Format.json))
    assert doc["funnels"][0]["steps"][1]["rate_from_start"] == 1 / 4000
    assert "0.025%" in render_text(result, Format.table)


def test_the_excluded_caveat_speaks_of_the_unit_counted():
    """A user is excluded when every attempt is spoiled (4.4); under count: totals each attempt is
    a unit (4.10), so an excluded attempt is one spoiled attempt, not "every attempt"."""
    from microconv.render.format import caveats

    def funnel(unit):
        return SimpleNamespace(optional=(), revenue=None, excluded=2, in_progress=0, unit=unit, order="ordered",
                               steps=())

    assert "2 attempts excluded: an exclusion event spoiled it" in caveats(funnel("attempts"))
    assert "2 users excluded: an exclusion event spoiled every attempt" in caveats(funnel("users"))
