"""The joint model and the early read (docs/semantics.md 7.5, 7.6): the worked examples, and the
model fitted on cells against the same model fitted on one row per user."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import microconv
from microconv.reports.micro_cells import Cells
from microconv.reports.micro_model import fit

EPOCH = pd.Timestamp("2026-01-05T00:00:00Z")
# (did A, did B): (users, buyers). Odds 1/9, 2/9, 1/3, 2/3: A doubles the odds, B triples them.
CELLS = {(0, 0): (180, 18), (1, 0): (22, 4), (0, 1): (24, 6), (1, 1): (165, 66)}
CONFIG = {
    "columns": {"user": "user_id", "timestamp": "timestamp", "event": "event_name"},
    "conversions": {"A": {"kind": "secondary", "event": "a"}, "B": {"kind": "secondary", "event": "b"},
                    "buy": {"kind": "macro", "event": "purchase"}},
    "funnels": {"f": {"steps": [{"event": "visit"}, "buy"]}},
}


def _log() -> pd.DataFrame:
    """Per cell its users: a visit (with the segment: x in the cells (no, no) and (yes, yes), y in
    the other two), A and B as the cell says, then a purchase for the first ``buyers`` of them."""
    rows = []
    for (a, b), (users, buyers) in CELLS.items():
        for i in range(users):
            user = f"u{a}{b}_{i}"
            rows.append((user, 0, "visit", "x" if a == b else "y"))
            rows += [(user, 1, "a", None)] * a + [(user, 2, "b", None)] * b
            if i < buyers:
                rows.append((user, 5, "purchase", None))
    return pd.DataFrame({"user_id": [r[0] for r in rows],
                         "timestamp": [(EPOCH + pd.Timedelta(seconds=r[1])).isoformat() for r in rows],
                         "event_name": [r[2] for r in rows], "seg": [r[3] for r in rows]})


@pytest.fixture(scope="module")
def report():
    cfg = microconv.parse_config(CONFIG)
    events, _ = microconv.canonicalize(_log(), cfg, extra_properties=["seg"])
    return microconv.analyze(cfg, events, reports=("micro",), by="seg").micro


def test_worked_example_adjusted_odds_ratios_are_exactly_2_and_3(report):
    rows = report.rows.set_index("conversion")
    assert rows.loc["A", "adjusted_odds_ratio"] == pytest.approx(2.0, rel=1e-6)
    assert rows.loc["B", "adjusted_odds_ratio"] == pytest.approx(3.0, rel=1e-6)
    # A alone: 70 of its 187 users buy against 24 of the other 204
    assert (rows.loc["A", "users"], rows.loc["A", "macro_rate_with"]) == (187, 70 / 187)
    assert rows.loc["A", "macro_rate_without"] == 24 / 204
    assert rows.loc["A", "lift"] == pytest.approx((70 / 187) / (24 / 204))
    assert (70 / 117) / (24 / 180) == pytest.approx(4.487, abs=1e-3)     # the unadjusted odds ratio of 7.5
    assert rows.loc["A", "adjusted_low"] < 2.0 < rows.loc["A", "adjusted_high"]
    assert report.model_note is None


def test_worked_example_early_read_equals_the_observed_rate_when_the_model_fits_every_cell(report):
    seg = report.segments[report.segments["conversion"] == "A"].set_index("segment")
    assert (seg.loc["x", "population"], seg.loc["y", "population"]) == (345, 46)
    assert seg.loc["x", "macro_rate"] == 84 / 345 and seg.loc["y", "macro_rate"] == 10 / 46
    assert seg.loc["x", "macro_expected"] == pytest.approx(84 / 345, rel=1e-6)
    assert seg.loc["y", "macro_expected"] == pytest.approx(10 / 46, rel=1e-6)
    assert seg.loc["x", "macro_expected_low"] < 84 / 345 < seg.loc["x", "macro_expected_high"]
    assert list(seg.index) == ["x", "y"]                       # ranked by early read
    # A's share: 165 of x's 345 users, 22 of y's 46; each tested against the other segment's share
    assert seg.loc["x", "users"] == 165 and seg.loc["x", "share_rest"] == 22 / 46
    assert report.segment_note is None


def test_cells_give_the_same_fit_as_one_row_per_user():
    """The binomial likelihood on cells is the per-user Bernoulli likelihood: same estimates."""
    import statsmodels.api as sm

    rng = np.random.default_rng(7)
    n = 3000
    did = [rng.random(n) < 0.3, rng.random(n) < 0.5, rng.random(n) < 0.2]
    logit = -2 + 0.7 * did[0] - 0.4 * did[1] + 1.1 * did[2]
    converted = rng.random(n) < 1 / (1 + np.exp(-logit))
    model = fit(Cells.of(did, converted), np.ones(3, dtype=bool))
    x = sm.add_constant(np.column_stack(did).astype(float))
    per_user = sm.Logit(converted.astype(float), x).fit(disp=0)
    assert model.params == pytest.approx(per_user.params, rel=1e-6)
    assert np.sqrt(np.diag(model.cov)) == pytest.approx(per_user.bse, rel=1e-5)


def test_conversions_the_model_cannot_estimate_are_left_out_and_named():
    """B is done by exactly A's users (a duplicate); C by nobody who converted."""
    rng = np.random.default_rng(3)
    n = 500
    a = rng.random(n) < 0.4
    converted = rng.random(n) < np.where(a, 0.3, 0.1)
    c = ~converted & (rng.random(n) < 0.2)
    model = fit(Cells.of([a, a.copy(), c], converted), np.array([True, True, False]))
    assert model.terms == (0,)


def test_a_conversion_that_stands_for_the_segment_is_left_out_of_the_early_read():
    """V (a visit with seg y) is done by every y user and no x user: it names the segment. The
    early read without it is the A, B model of 7.5, which fits every cell: y's observed rate."""
    config = {**CONFIG, "conversions": {**CONFIG["conversions"],
                                        "V": {"kind": "secondary", "event": "visit", "where": {"seg": "y"}}}}
    cfg = microconv.parse_config(config)
    events, _ = microconv.canonicalize(_log(), cfg, extra_properties=["seg"])
    micro = microconv.analyze(cfg, events, reports=("micro",), by="seg").micro
    assert micro.segment_note == "the early read leaves out V: in each segment all of its users did it or none did"
    seg = micro.segments[micro.segments["conversion"] == "V"].set_index("segment")
    assert (seg.loc["y", "share"], seg.loc["x", "share"]) == (1.0, 0.0)
    assert seg.loc["y", "macro_expected"] == pytest.approx(10 / 46, rel=1e-6)
