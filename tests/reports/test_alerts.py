"""`microconv check`: alerts, baselines and exit codes for cron (docs/semantics.md 10)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from microconv.reports.alerts import load_baseline
from microconv.cli import app

CONFIG = """
columns: {user: user_id, event: event_name, timestamp: timestamp}
conversions:
  view_item: {event: view_item}
  add_to_cart: {event: add_to_cart}
  purchase: {kind: macro, event: purchase}
funnels:
  checkout:
    steps: [view_item, add_to_cart, purchase]
    window: 1d
alerts:
  - {funnel: checkout, step: purchase, rate_from_previous: {min: 0.35}}
  - {name: cart rate, funnel: checkout, step: add_to_cart, rate_from_start: {drop: 5pp}}
"""


def shop_day(day: str, users: int, p_cart: float, p_buy: float, seed: int) -> pd.DataFrame:
    """A day of shop events where exactly round(p * n) users cart and buy: rates known in advance."""
    rng = np.random.default_rng(seed)
    n_cart, n_buy = round(users * p_cart), round(users * p_cart * p_buy)
    rows = []
    for i in range(users):
        t = pd.Timestamp(f"{day}T08:00:00Z") + pd.Timedelta(seconds=int(rng.integers(0, 36000)))
        uid = f"{day}-u{i:04d}"
        rows.append((uid, t, "view_item"))
        if i < n_cart:
            rows.append((uid, t + pd.Timedelta(minutes=2), "add_to_cart"))
        if i < n_buy:
            rows.append((uid, t + pd.Timedelta(minutes=5), "purchase"))
    frame = pd.DataFrame(rows, columns=["user_id", "timestamp", "event_name"])
    frame["timestamp"] = frame["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return frame


@pytest.fixture()
def shop(tmp_path):
    (tmp_path / "funnels.yaml").write_text(CONFIG)
    # before: 40% cart, 50% of carters buy; after the regression: 40% cart, 25% buy
    shop_day("2026-11-01", 500, 0.40, 0.50, 1).to_csv(tmp_path / "before.csv", index=False)
    shop_day("2026-11-02", 500, 0.40, 0.25, 2).to_csv(tmp_path / "after.csv", index=False)
    return tmp_path


def test_check_passes_then_catches_a_planted_regression(runner, shop, monkeypatch):
    monkeypatch.chdir(shop)
    first = runner.invoke(app, ["check", "before.csv", "-c", "funnels.yaml", "--output-dir", "last"])
    assert first.exit_code == 0, first.stderr
    assert first.stdout == ""
    assert (shop / "last" / "funnels.csv").exists() and (shop / "last" / "manifest.json").exists()
    second = runner.invoke(app, ["check", "after.csv", "-c", "funnels.yaml", "--baseline", "last"])
    assert second.exit_code == 1
    assert second.stdout == ("ALERT checkout step 3 'purchase' rate_from_previous = 25.0%: below min 35.0%\n")
    again = runner.invoke(app, ["check", "after.csv", "-c", "funnels.yaml", "--baseline", "last"])
    assert again.stdout == second.stdout                                     # byte-identical


def test_a_drop_against_the_baseline(runner, shop, monkeypatch):
    monkeypatch.chdir(shop)
    shop_day("2026-11-03", 500, 0.30, 0.50, 3).to_csv(shop / "fewer_carts.csv", index=False)
    runner.invoke(app, ["analyze", "before.csv", "-c", "funnels.yaml", "-f", "json", "-o", "base.json", "-q"])
    result = runner.invoke(app, ["check", "fewer_carts.csv", "-c", "funnels.yaml", "--baseline", "base.json", "-q"])
    assert result.exit_code == 1
    assert result.stdout == ("ALERT [cart rate] checkout step 2 'add_to_cart' rate_from_start = 30.0%: "
                             "dropped 10.0pp from 40.0% (baseline), limit 5pp\n")
    assert result.stderr == ""                                               # --quiet
    shop_day("2026-11-03", 500, 0.36, 0.50, 4).to_csv(shop / "a_few_fewer.csv", index=False)
    small = runner.invoke(app, ["check", "a_few_fewer.csv", "-c", "funnels.yaml", "--baseline", "base.json", "-q"])
    assert small.exit_code == 0 and small.stdout == ""                       # 4pp < 5pp (A3)


def test_without_a_baseline_drop_limits_are_noted_not_breached(runner, shop, monkeypatch):
    monkeypatch.chdir(shop)
    result = runner.invoke(app, ["check", "before.csv", "-c", "funnels.yaml"])
    assert result.exit_code == 0
    assert "1 drop/rise limit not checked: no --baseline given" in result.stderr
    assert "0 of 2 alerts breached" in result.stderr


def test_the_first_run_has_no_baseline_yet_and_creates_it(runner, shop, monkeypatch):
    monkeypatch.chdir(shop)
    first = runner.invoke(app, ["check", "before.csv", "-c", "funnels.yaml", "--baseline", "runs", "--output-dir", "runs"])
    assert first.exit_code == 0
    assert "runs: no such baseline yet" in first.stderr
    second = runner.invoke(app, ["check", "after.csv", "-c", "funnels.yaml", "--baseline", "runs", "--output-dir", "runs"])
    assert second.exit_code == 1 and "drop/rise" not in second.stderr


def test_json_output_and_csv_baseline(runner, shop, monkeypatch):
    monkeypatch.chdir(shop)
    runner.invoke(app, ["analyze", "before.csv", "-c", "funnels.yaml", "-f", "csv", "-o", "base.csv", "-q"])
    result = runner.invoke(app, ["check", "after.csv", "-c", "funnels.yaml", "--baseline", "base.csv", "-f", "json"])
    doc = json.loads(result.stdout)
    assert result.exit_code == 1
    assert [(b["metric"], b["value"], b["baseline"]) for b in doc["breached"]] == [("rate_from_previous", 0.25, 0.5)]


def test_errors_have_their_own_exit_codes(runner, shop, monkeypatch):
    monkeypatch.chdir(shop)
    (shop / "none.yaml").write_text("funnels:\n  f: {steps: [view_item]}\n")
    assert runner.invoke(app, ["check", "before.csv", "-c", "none.yaml"]).exit_code == 3
    assert runner.invoke(app, ["check", "missing.csv", "-c", "funnels.yaml"]).exit_code == 4
    (shop / "garbage.json").write_text("{not json")
    bad = runner.invoke(app, ["check", "before.csv", "-c", "funnels.yaml", "--baseline", "garbage.json"])
    assert bad.exit_code == 4 and "not microconv JSON output" in bad.stderr
    (shop / "typo.yaml").write_text(CONFIG.replace("funnel: checkout, step: purchase", "funnel: chekout, step: purchase"))
    typo = runner.invoke(app, ["check", "before.csv", "-c", "typo.yaml"])
    assert typo.exit_code == 3 and "did you mean 'checkout'" in typo.stderr


def test_as_of_cuts_the_data_and_anchors_relative_ranges(runner, shop, monkeypatch):
    monkeypatch.chdir(shop)
    both = pd.concat([pd.read_csv(shop / "before.csv"), pd.read_csv(shop / "after.csv")])
    both.to_csv(shop / "both.csv", index=False)
    ok = runner.invoke(app, ["check", "both.csv", "-c", "funnels.yaml", "--as-of", "2026-11-01", "--since", "1d"])
    assert ok.exit_code == 0
    broken = runner.invoke(app, ["check", "both.csv", "-c", "funnels.yaml", "--since", "1d"])
    assert broken.exit_code == 1 and "25.0%" in broken.stdout


def test_baseline_reader_understands_each_output(tmp_path):
    (tmp_path / "steps.csv").write_text("funnel,step,name,users\nf,1,a,10\n")
    (tmp_path / "micro.csv").write_text("conversion,share\nnews,0.1\n")
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    assert load_baseline(tmp_path / "steps.csv").steps["users"].tolist() == [10]
    assert load_baseline(tmp_path / "micro.csv").micro["share"].tolist() == [0.1]
    from microconv.errors import DataError

    with pytest.raises(DataError, match="neither a funnels table nor a micro table"):
        load_baseline(tmp_path / "other.csv")
