"""``analyze --report micro`` with --by, --control and --trend on the example shop log: the rows
per segment and per period the CSV promises (issue 23's "done when"), and the option errors."""
from __future__ import annotations

import io

import pandas as pd
import pytest
from typer.testing import CliRunner

from helpers import invoke

EXAMPLE = ["examples/shop_events.csv", "-c", "funnels.example.yaml", "-q"]


def _csv(*args) -> pd.DataFrame:
    result = invoke(CliRunner(), "analyze", *EXAMPLE, "--report", "micro", "-f", "csv", *args)
    assert result.exit_code == 0, result.stderr
    return pd.read_csv(io.StringIO(result.stdout))


def test_by_utm_source_gives_a_row_per_conversion_and_segment():
    frame = _csv("--by", "utm_source")
    overall, seg = frame[frame["segment"].isna()], frame[frame["segment"].notna()]
    assert len(overall) == 13 and len(seg) == 13 * 5
    assert set(seg["segment"]) == {"direct", "email", "tiktok", "facebook", "google"}
    video = seg[seg["conversion"] == "video_play"].set_index("segment")
    assert video["population"].sum() == 4000 and video["users"].sum() == 800    # the overall row, split
    assert video.loc["email", "macro_rate"] == pytest.approx(78 / 640)          # 12.2%: 78 buyers of 640
    assert (video["macro_expected_low"] < video["macro_expected"]).all()
    assert seg["p_segment_adjusted"].notna().all() and seg["lift"].isna().all()


def test_control_tests_each_segment_against_it():
    seg = _csv("--by", "utm_source", "--control", "google").dropna(subset=["segment"])
    video = seg[seg["conversion"] == "video_play"].set_index("segment")
    assert video.loc["email", "share_rest"] == pytest.approx(video.loc["google", "share"])
    assert pd.isna(video.loc["google", "p_segment"])               # the control is not tested


def test_trend_week_gives_a_row_per_conversion_and_period():
    frame = _csv("--trend", "week")
    per = frame[frame["period"].notna()]
    assert sorted(set(per["period"])) == ["2026-09-28", "2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26"]
    video = per[per["conversion"] == "video_play"].set_index("period")
    assert video["population"].sum() == 4000 and video["users"].sum() == 800
    assert list(video["open"]) == [False, False, False, False, True]      # the data ends inside the last week


def test_the_planted_effects_come_out_and_milestones_are_implied():
    rows = _csv().set_index("conversion")
    assert rows.loc[["view_product", "add_to_cart", "begin_checkout"], "implied"].all()
    video, newsletter = rows.loc["video_play"], rows.loc["newsletter"]
    assert video["significant"] and video["adjusted_significant"]
    assert video["adjusted_low"] > 1.5 and video["lift_low"] < 2 < video["lift_high"]
    assert not newsletter["significant"] and not newsletter["adjusted_significant"]
    assert newsletter["adjusted_low"] < 1 < newsletter["adjusted_high"]
    assert rows.loc["pricing_visit", "incremental_value"] < 0 < rows.loc["video_play", "incremental_value"]


def test_control_without_by_and_an_unknown_control_are_option_errors():
    runner = CliRunner()
    alone = invoke(runner, "analyze", *EXAMPLE, "--report", "micro", "--control", "email")
    assert alone.exit_code == 2 and "--control needs --by" in alone.stderr
    unknown = invoke(runner, "analyze", *EXAMPLE, "--report", "micro", "--by", "utm_source", "--control", "emial")
    assert unknown.exit_code != 70 and "did you mean 'email'?" in unknown.stderr
