"""`microconv analyze` with --by, --attribution, --top, --trend and --report time|breakdown|
breakdown_steps|trend (docs/semantics.md 8.2-8.4), on a log of six users counted by hand."""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT
from microconv.cli import app
from microconv.reports.results import SEGMENT_COLUMNS, SEGMENT_STEP_COLUMNS, TIME_COLUMNS, TREND_COLUMNS

CONFIG = """\
columns: {user: user_id, event: event_name, timestamp: timestamp}
funnels:
  shop:
    steps: [{event: view}, {event: cart}, {event: buy}]
    window: 1h
"""
# Funnel view -> cart -> buy, window 1h. T (the last timestamp) = 2026-01-21T12:00:00Z.
#   u1 ads  -> ads  -> ads     complete; gaps 10 s, 20 s          (week of Mon 2026-01-05)
#   u2 ads  -> mail            reaches cart; channel changes      (week of 2026-01-05)
#   u3 mail -> mail -> seo     complete; gaps 30 s, 30 s          (week of 2026-01-05)
#   u4 seo                     view only, window closed at T      (week of 2026-01-19)
#   u5 ---  -> ---  -> ads     complete; gaps 100 s, 100 s        (week of 2026-01-19)
#   u6 ads                     view only, at T: in progress       (week of 2026-01-19)
EVENTS = """\
user_id,event_name,timestamp,channel
u1,view,2026-01-05T10:00:00Z,ads
u1,cart,2026-01-05T10:00:10Z,ads
u1,buy,2026-01-05T10:00:30Z,ads
u2,view,2026-01-05T11:00:00Z,ads
u2,cart,2026-01-05T11:00:20Z,mail
u3,view,2026-01-06T09:00:00Z,mail
u3,cart,2026-01-06T09:00:30Z,mail
u3,buy,2026-01-06T09:01:00Z,seo
u4,view,2026-01-20T08:00:00Z,seo
u5,view,2026-01-20T09:00:00Z,
u5,cart,2026-01-20T09:01:40Z,
u5,buy,2026-01-20T09:03:20Z,ads
u6,view,2026-01-21T12:00:00Z,ads
"""
TWO_STEPS = """\
columns: {user: user_id, event: event_name, timestamp: timestamp}
funnels:
  quick:
    steps: [{event: view}, {event: cart}]
    window: 1h
"""
TWO_FUNNELS = CONFIG + """\
  direct:
    steps: [{event: view}, {event: buy}]
    window: 1h
"""


@pytest.fixture
def shop(tmp_path):
    (tmp_path / "f.yaml").write_text(CONFIG)
    (tmp_path / "two.yaml").write_text(TWO_STEPS)
    (tmp_path / "both.yaml").write_text(TWO_FUNNELS)
    (tmp_path / "e.csv").write_text(EVENTS)
    return tmp_path


def invoke(runner, *args, cwd: Path | None = None):
    old = os.getcwd()
    os.chdir(cwd or ROOT)
    try:
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    return result


def csv_of(runner, cwd, *args, config="f.yaml") -> pd.DataFrame:
    result = invoke(runner, "analyze", "e.csv", "-c", config, "-f", "csv", *args, cwd=cwd)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return pd.read_csv(io.StringIO(result.stdout), keep_default_na=False, na_values=[""])


def segments(frame: pd.DataFrame) -> list[tuple]:
    return list(zip(frame["segment"], frame["entrants"], frame["converted"]))


def failed(result, code: int) -> str:
    """The one-line error of a failed run, after checking the exit code and the empty stdout."""
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stdout == ""
    return result.stderr


# --- --by with --report breakdown / breakdown_steps ---------------------------------------------

def test_breakdown_first_touch(runner, shop):
    frame = csv_of(runner, shop, "--by", "channel", "--report", "breakdown")
    assert list(frame.columns) == SEGMENT_COLUMNS
    assert set(frame["funnel"]) == {"shop"} and set(frame["by"]) == {"channel"}
    assert set(frame["attribution"]) == {"first_touch"}
    # the step-1 (view) event's channel: ads u1 u2 u6, mail u3, seo u4, no value u5;
    # mail and seo tie at 1 entrant and are listed in text order, (missing) last
    assert segments(frame) == [("ads", 3, 1), ("mail", 1, 1), ("seo", 1, 0), ("(missing)", 1, 1)]
    assert frame["share"].tolist() == pytest.approx([3 / 6, 1 / 6, 1 / 6, 1 / 6])
    assert frame["rate"].tolist() == pytest.approx([1 / 3, 1, 0, 1])
    # rate_rest: conversions / entrants of every other segment pooled
    assert frame["rate_rest"].tolist() == pytest.approx([2 / 3, 2 / 5, 3 / 5, 2 / 5])
    assert frame["test"].tolist() == ["fisher"] * 4           # expected cells below 5
    assert frame["too_small"].tolist() == [True] * 4          # fewer than 30 units
    assert frame["significant"].tolist() == [False] * 4


def test_breakdown_steps_add_up_to_the_funnel(runner, shop):
    frame = csv_of(runner, shop, "--by", "channel", "--report", "breakdown_steps")
    assert list(frame.columns) == SEGMENT_STEP_COLUMNS
    users = {seg: rows["users"].tolist() for seg, rows in frame.groupby("segment", sort=False)}
    assert users == {"ads": [3, 2, 1], "mail": [1, 1, 1], "seo": [1, 0, 0], "(missing)": [1, 1, 1]}
    assert frame.groupby("step")["users"].sum().tolist() == [6, 4, 3]
    funnel = csv_of(runner, shop, "--report", "funnels")
    assert funnel["users"].tolist() == [6, 4, 3]
    ads = frame[frame["segment"] == "ads"]
    assert ads["dropped"].tolist() == [0, 0, 1]    # u6 stopped at view but is in progress; u2 dropped before buy
    assert ads["median_seconds_from_previous"].tolist()[1:] == [15.0, 20.0]   # u1 10 s, u2 20 s; u1 20 s
    assert ads["in_progress"].tolist() == [1, 0, 0]                            # u6


def test_top_1_pools_the_rest_into_other(runner, shop):
    frame = csv_of(runner, shop, "--by", "channel", "--report", "breakdown", "--top", "1")
    assert segments(frame) == [("ads", 3, 1), ("(other)", 2, 1), ("(missing)", 1, 1)]
    assert frame["share"].tolist() == pytest.approx([3 / 6, 2 / 6, 1 / 6])


def test_top_2_breaks_the_tie_in_text_order(runner, shop):
    frame = csv_of(runner, shop, "--by", "channel", "--report", "breakdown", "--top", "2")
    assert segments(frame) == [("ads", 3, 1), ("mail", 1, 1), ("(other)", 1, 0), ("(missing)", 1, 1)]


def test_top_0_keeps_every_value(runner, shop):
    frame = csv_of(runner, shop, "--by", "channel", "--report", "breakdown", "--top", "0")
    assert segments(frame) == [("ads", 3, 1), ("mail", 1, 1), ("seo", 1, 0), ("(missing)", 1, 1)]


def test_last_touch_takes_the_furthest_step_reached(runner, shop):
    frame = csv_of(runner, shop, "--by", "channel", "--report", "breakdown", "--attribution", "last_touch")
    # u1 buy ads, u2 cart mail, u3 buy seo, u4 view seo, u5 buy ads, u6 view ads
    assert segments(frame) == [("ads", 3, 2), ("seo", 2, 1), ("mail", 1, 0)]
    assert set(frame["attribution"]) == {"last_touch"}


@pytest.mark.parametrize("spelling", ["step:2", "step 2", "STEP:2", "step=2"])
def test_step_2_takes_the_cart_event(runner, shop, spelling):
    frame = csv_of(runner, shop, "--by", "channel", "--report", "breakdown", "--attribution", spelling)
    # u1 ads, u2 mail, u3 mail, u5 cart without a value; u4 and u6 never reached cart
    assert segments(frame) == [("mail", 2, 1), ("ads", 1, 1), ("(missing)", 1, 1), ("(not reached)", 2, 0)]
    assert set(frame["attribution"]) == {"step:2"}
    not_reached = frame.iloc[-1]
    assert pd.isna(not_reached["p_value"]) and pd.isna(not_reached["test"])   # not tested (8.2.5)
    assert not not_reached["too_small"] and not not_reached["significant"]


def test_step_2_breakdown_steps_of_not_reached(runner, shop):
    frame = csv_of(runner, shop, "--by", "channel", "--report", "breakdown_steps", "--attribution", "step:2")
    rows = frame[frame["segment"] == "(not reached)"]
    assert rows["users"].tolist() == [2, 0, 0]
    assert rows["dropped"].tolist() == [0, 1, 0]      # u4; u6 is in progress: 2 = 0 + 1 + 1 (5.1)
    assert rows["in_progress"].tolist() == [1, 0, 0]


def test_by_a_column_of_derived_and_per_user_properties(runner, tmp_path):
    (tmp_path / "f.yaml").write_text("""\
columns:
  user: user_id
  event: event_name
  timestamp: timestamp
  properties:
    campaign: {from: page_url, query: utm_campaign}
    first_source: {from: page_url, query: utm_source, per_user: first}
funnels:
  f:
    steps: [{event: view}, {event: buy}]
    window: 1h
""")
    (tmp_path / "e.csv").write_text("""\
user_id,event_name,timestamp,page_url
u1,view,2026-01-01T00:00:10Z,https://a.com/x?utm_campaign=spring+sale&utm_source=mail
u1,view,2026-01-01T00:00:00Z,https://a.com/?utm_source=ads
u1,buy,2026-01-01T00:00:20Z,https://a.com/done
u2,view,2026-01-01T00:00:00Z,https://a.com/x?utm_campaign=spring%20sale
u2,view,2026-01-01T00:00:05Z,https://a.com/x?utm_source=mail
u3,view,2026-01-01T00:00:00Z,https://a.com/x?utm_campaign=winter
u3,buy,2026-01-01T00:00:09Z,https://a.com/done
""")
    by_campaign = csv_of(runner, tmp_path, "--by", "campaign", "--report", "breakdown")
    # u1's counted attempt starts at its first view (t=0), which has no campaign
    assert segments(by_campaign) == [("spring sale", 1, 0), ("winter", 1, 1), ("(missing)", 1, 1)]
    for attribution in ("first_touch", "last_touch"):
        by_source = csv_of(runner, tmp_path, "--by", "first_source", "--attribution", attribution,
                           "--report", "breakdown")
        assert segments(by_source) == [("ads", 1, 1), ("mail", 1, 0), ("(missing)", 1, 1)]


def test_breakdown_from_the_config_and_overridden_on_the_command_line(runner, shop):
    (shop / "g.yaml").write_text(CONFIG + "    breakdown: {by: channel, attribution: last_touch, top: 1}\n")
    from_config = csv_of(runner, shop, "--report", "breakdown", config="g.yaml")
    assert segments(from_config) == [("ads", 3, 2), ("(other)", 3, 1)]
    overridden = csv_of(runner, shop, "--report", "breakdown", "--attribution", "first_touch", "--top", "0",
                        config="g.yaml")
    assert segments(overridden) == [("ads", 3, 1), ("mail", 1, 1), ("seo", 1, 0), ("(missing)", 1, 1)]


# --- usage and data errors ----------------------------------------------------------------------

def test_attribution_step_beyond_the_funnel_is_a_usage_error(runner, shop):
    result = invoke(runner, "analyze", "e.csv", "-c", "two.yaml", "--by", "channel", "--attribution", "step:9",
                    cwd=shop)
    assert failed(result, 2) == ("microconv: error: funnel 'quick': attribution step:9 names a step the funnel does "
                                 "not have (2 steps) (pick funnels with enough steps with --funnel)\n")


def test_attribution_step_beyond_the_funnel_in_the_config_is_a_config_error_at_its_line(runner, shop):
    (shop / "g.yaml").write_text(TWO_STEPS + "    breakdown: {by: channel, attribution: step:9}\n")
    result = invoke(runner, "analyze", "e.csv", "-c", "g.yaml", cwd=shop)
    assert failed(result, 3) == ("microconv: error: g.yaml:6:43: attribution step:9 names a step the funnel does "
                                 "not have (2 steps)\n")


@pytest.mark.parametrize("value", ["bogus", "step:0", "step:", "first"])
def test_unknown_attribution_is_a_usage_error(runner, shop, value):
    result = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "--by", "channel", "--attribution", value, cwd=shop)
    assert failed(result, 2) == (f"microconv: error: --attribution: {value!r} is not an attribution; expected "
                                 "first_touch, last_touch, first_defined, last_defined or step:N (e.g. step:2)\n")


def test_by_a_column_no_file_has_is_a_data_error_with_did_you_mean(runner, shop):
    result = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "--by", "chanel", cwd=shop)
    assert failed(result, 4) == ("microconv: error: e.csv: property 'chanel' is not a column of any input file "
                                 "(looked for 'chanel') (did you mean 'channel'?)\n")


def test_by_a_column_without_a_lookalike_lists_the_columns(runner, shop):
    result = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "--by", "zzz", cwd=shop)
    assert failed(result, 4) == ("microconv: error: e.csv: property 'zzz' is not a column of any input file "
                                 "(looked for 'zzz') (known columns: channel, event_name, timestamp, user_id)\n")


def test_by_a_misspelt_derived_property_suggests_it(runner, shop):
    (shop / "g.yaml").write_text(CONFIG.replace(
        "timestamp: timestamp}", "timestamp: timestamp,\n          properties: {campaign: {from: channel}}}"))
    result = invoke(runner, "analyze", "e.csv", "-c", "g.yaml", "--by", "campain", cwd=shop)
    assert "did you mean 'campaign'?" in failed(result, 4)


@pytest.mark.parametrize("report", ["breakdown", "breakdown_steps"])
def test_breakdown_report_without_by_is_a_usage_error(runner, shop, report):
    result = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "-f", "csv", "--report", report, cwd=shop)
    assert failed(result, 2) == (f"microconv: error: --report {report} needs --by PROPERTY (or a funnel with "
                                 "breakdown: in the config)\n")


def test_trend_report_without_trend_is_a_usage_error(runner, shop):
    result = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "-f", "csv", "--report", "trend", cwd=shop)
    assert failed(result, 2) == "microconv: error: --report trend needs --trend day, week or month\n"


@pytest.mark.parametrize("args,message", [
    (["--by", "channel", "--top", "-1"], "Invalid value for '--top'"),
    (["--trend", "year"], "Invalid value for '--trend'"),
    (["--report", "segments"], "Invalid value for '--report'"),
])
def test_bad_option_values_are_usage_errors(runner, shop, args, message):
    result = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", *args, cwd=shop)
    assert message in failed(result, 2)


# --- --trend ------------------------------------------------------------------------------------

def test_trend_week(runner, shop):
    frame = csv_of(runner, shop, "--trend", "week", "--report", "trend")
    assert list(frame.columns) == TREND_COLUMNS
    # weeks start on Monday; the empty week between the first and the last is listed with zeros
    assert frame["period"].tolist() == ["2026-01-05"] * 3 + ["2026-01-12"] * 3 + ["2026-01-19"] * 3
    assert frame["step"].tolist() == [1, 2, 3] * 3
    assert frame["users"].tolist() == [3, 3, 2, 0, 0, 0, 3, 1, 1]
    # open: period end + 1h > T (2026-01-21T12:00); only the last week, which holds u6 in progress
    assert frame["open"].tolist() == [False] * 6 + [True] * 3
    assert frame["in_progress"].tolist() == [0, 0, 0, 0, 0, 0, 1, 0, 0]
    assert frame["rate_from_start"].tolist()[:3] == pytest.approx([1, 1, 2 / 3])
    assert frame["rate_from_start"].tolist()[6:] == pytest.approx([1, 1 / 3, 1 / 3])
    assert frame["rate_from_start"][3:6].isna().all()


def test_trend_week_mature_only_leaves_the_unit_in_progress_out(runner, shop):
    frame = csv_of(runner, shop, "--trend", "week", "--report", "trend", "--mature-only")
    assert frame["users"].tolist() == [3, 3, 2, 0, 0, 0, 2, 1, 1]
    assert frame["in_progress"].tolist() == [0] * 9
    # still open: the week ends less than a window before T
    assert frame["open"].tolist() == [False] * 6 + [True] * 3


def test_trend_day_and_month(runner, shop):
    days = csv_of(runner, shop, "--trend", "day", "--report", "trend")
    periods = days["period"].drop_duplicates().tolist()
    assert len(periods) == 17 and periods[0] == "2026-01-05" and periods[-1] == "2026-01-21"
    entrants = days[days["step"] == 1].set_index("period")["users"]
    assert entrants[entrants > 0].to_dict() == {"2026-01-05": 2, "2026-01-06": 1, "2026-01-20": 2, "2026-01-21": 1}
    # 2026-01-20 ends 2026-01-21T00:00, + 1h is before T: closed; only the last day is open
    is_open = days[days["step"] == 1].set_index("period")["open"]
    assert is_open[is_open].index.tolist() == ["2026-01-21"]
    months = csv_of(runner, shop, "--trend", "month", "--report", "trend")
    assert months["period"].tolist() == ["2026-01-01"] * 3
    assert months["users"].tolist() == [6, 4, 3]
    assert months["open"].tolist() == [True] * 3


def test_trend_day_open_while_the_period_has_not_ended_or_an_attempt_is_open(runner, tmp_path):
    (tmp_path / "f.yaml").write_text(CONFIG)
    (tmp_path / "e.csv").write_text("""\
user_id,event_name,timestamp,channel
u3,view,2026-01-04T12:00:00Z,
u1,view,2026-01-05T23:30:00Z,
u1,cart,2026-01-05T23:31:00Z,
u1,buy,2026-01-05T23:32:00Z,
u2,view,2026-01-06T00:30:00Z,
""")
    # T = 2026-01-06T00:30. 2026-01-04 ended before T and u3's window closed at 13:00: closed.
    # 2026-01-05 ended before T and its only unit (u1) completed: closed, nothing can change it.
    # 2026-01-06 has not ended at T (and u2 is in progress): open.
    frame = csv_of(runner, tmp_path, "--trend", "day", "--report", "trend")
    first_steps = frame[frame["step"] == 1]
    assert first_steps["period"].tolist() == ["2026-01-04", "2026-01-05", "2026-01-06"]
    assert first_steps["open"].tolist() == [False, False, True]
    assert first_steps["in_progress"].tolist() == [0, 0, 1]
    assert frame["users"].tolist() == [1, 0, 0, 1, 1, 1, 1, 0, 0]


def test_default_top_is_10_and_top_0_keeps_every_value(runner, tmp_path):
    (tmp_path / "f.yaml").write_text(CONFIG)
    # twelve channels c01..c12 with one user each, c12 with a second user
    rows = [f"u{i},view,2026-01-05T10:00:00Z,c{i:02d}" for i in range(1, 13)] + ["u13,view,2026-01-05T10:00:00Z,c12"]
    (tmp_path / "e.csv").write_text("user_id,event_name,timestamp,channel\n" + "\n".join(rows) + "\n")
    default = csv_of(runner, tmp_path, "--by", "channel", "--report", "breakdown", "-q")
    assert segments(default) == [("c12", 2, 0)] + [(f"c{i:02d}", 1, 0) for i in range(1, 10)] + [("(other)", 2, 0)]
    every = csv_of(runner, tmp_path, "--by", "channel", "--report", "breakdown", "--top", "0", "-q")
    assert segments(every) == [("c12", 2, 0)] + [(f"c{i:02d}", 1, 0) for i in range(1, 12)]


# --- --report time ------------------------------------------------------------------------------

def test_time_to_convert_percentiles_and_buckets(runner, shop):
    frame = csv_of(runner, shop, "--report", "time")
    assert list(frame.columns) == TIME_COLUMNS
    assert frame["name"].tolist() == ["view → cart", "cart → buy", "whole funnel"]
    assert frame[["from_step", "to_step", "units"]].values.tolist() == [[1, 2, 4], [2, 3, 3], [1, 3, 3]]
    # view -> cart: 10, 20, 30, 100 s (u1, u2, u3, u5); numpy's linear interpolation
    # cart -> buy: 20, 30, 100 s; whole funnel: 30, 60, 200 s
    quantiles = frame[["p25_seconds", "median_seconds", "p75_seconds", "p90_seconds"]].values.tolist()
    assert quantiles[0] == pytest.approx([17.5, 25, 47.5, 79])
    assert quantiles[1] == pytest.approx([25, 30, 65, 86])
    assert quantiles[2] == pytest.approx([45, 60, 130, 172])
    assert frame["under_1m"].tolist() == [3, 2, 1]
    assert frame["1m_5m"].tolist() == [1, 1, 2]              # 60 s is the lower bound of 1-5 minutes
    buckets = [c for c in TIME_COLUMNS[9:] if c not in ("under_1m", "1m_5m")]
    assert frame[buckets].to_numpy().sum() == 0


def test_time_to_convert_bucket_bounds_on_a_two_step_funnel(runner, tmp_path):
    (tmp_path / "f.yaml").write_text(TWO_STEPS.replace("window: 1h", "window: 2d"))
    gaps = [59, 60, 299, 300, 3600, 86400]
    start = pd.Timestamp("2026-01-01T00:00:00Z")
    rows = [f"u{i},view,{start.isoformat()},\nu{i},cart,{(start + pd.Timedelta(seconds=g)).isoformat()},"
            for i, g in enumerate(gaps)]
    (tmp_path / "e.csv").write_text("user_id,event_name,timestamp,channel\n" + "\n".join(rows) + "\n")
    frame = csv_of(runner, tmp_path, "--report", "time")
    assert frame["name"].tolist() == ["view → cart"]          # one transition, listed once
    row = frame.iloc[0]
    assert row["units"] == 6
    assert [row["p25_seconds"], row["median_seconds"], row["p75_seconds"], row["p90_seconds"]] == pytest.approx(
        [119.75, 299.5, 2775, 45000])
    assert row[list(TIME_COLUMNS[9:])].tolist() == [1, 2, 1, 0, 1, 0, 1, 0, 0, 0, 0]


# --- JSON and the table -------------------------------------------------------------------------

def test_json_has_breakdown_trend_and_time_per_funnel(runner, shop):
    result = invoke(runner, "analyze", "e.csv", "-c", "both.yaml", "-f", "json", "--by", "channel",
                    "--trend", "week", "--top", "1", cwd=shop)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    funnels = {f["name"]: f for f in doc["funnels"]}
    assert list(funnels) == ["shop", "direct"]
    shop_, direct = funnels["shop"], funnels["direct"]

    split = shop_["breakdown"]
    assert (split["by"], split["attribution"], split["top"], split["unit"]) == ("channel", "first_touch", 1, "users")
    assert split["missing_share"] == pytest.approx(1 / 6)
    assert [(s["segment"], s["entrants"], s["converted"]) for s in split["segments"]] == [
        ("ads", 3, 1), ("(other)", 2, 1), ("(missing)", 1, 1)]
    assert [s["users"] for s in split["segments"][0]["steps"]] == [3, 2, 1]
    assert split["segments"][0]["p_value"] == pytest.approx(1.0)

    trend = shop_["trend"]
    assert trend["period"] == "week"
    assert [(c["period"], c["open"], [s["users"] for s in c["steps"]]) for c in trend["cohorts"]] == [
        ("2026-01-05", False, [3, 3, 2]), ("2026-01-12", False, [0, 0, 0]), ("2026-01-19", True, [3, 1, 1])]
    assert trend["cohorts"][1]["steps"][0]["rate_from_start"] is None      # NaN is null in JSON

    times = shop_["time_to_convert"]
    assert [t["name"] for t in times] == ["view → cart", "cart → buy", "whole funnel"]
    assert times[0]["p90_seconds"] == pytest.approx(79)
    assert [times[0]["under_1m"], times[0]["1m_5m"]] == [3, 1]

    # the two-step funnel: the same entry events, buy as step 2
    assert [(s["segment"], s["entrants"], s["converted"]) for s in direct["breakdown"]["segments"]] == [
        ("ads", 3, 1), ("(other)", 2, 1), ("(missing)", 1, 1)]
    assert [[s["users"] for s in c["steps"]] for c in direct["trend"]["cohorts"]] == [[3, 2], [0, 0], [3, 1]]
    assert len(direct["time_to_convert"]) == 1                  # one transition, no separate whole-funnel row
    only = direct["time_to_convert"][0]
    assert (only["name"], only["units"]) == ("view → buy", 3)
    assert [only["p25_seconds"], only["median_seconds"], only["p75_seconds"]] == pytest.approx([45, 60, 130])


def test_json_without_by_or_trend_has_null_breakdown_and_trend(runner, shop):
    result = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "-f", "json", cwd=shop)
    assert result.exit_code == 0, result.stderr
    shop_ = json.loads(result.stdout)["funnels"][0]
    assert shop_["breakdown"] is None and shop_["trend"] is None
    assert [t["units"] for t in shop_["time_to_convert"]] == [4, 3, 3]


@pytest.mark.parametrize("more", [[], ["--report", "all"]])
def test_table_shows_breakdown_and_trend_asked_for_and_time_with_report_all(runner, shop, more):
    result = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "--by", "channel", "--trend", "week",
                    "--attribution", "last_touch", "--top", "1", *more, cwd=shop)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith("Summary  ·  1 funnel")
    assert ("shop: time to convert" in out and "whole funnel" in out) == bool(more)
    assert "shop by channel  ·  last touch  ·  top 1" in out
    assert "(other)" in out and "(missing)" not in out          # last touch: every unit has a value
    assert "2026-01-12" in out and "◔ open" in out


@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_breakdown_report_in_other_formats_is_not_empty(runner, shop, fmt):
    result = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "-f", fmt, "--by", "channel",
                    "--report", "breakdown", cwd=shop)
    assert result.exit_code == 0, result.stderr
    assert "mail" in result.stdout


def test_numbers_spelt_differently_in_a_text_column_stay_two_segments(runner, shop):
    (shop / "e.csv").write_text("user_id,event_name,timestamp,channel\n"
                                "u1,view,2026-01-05T10:00:00Z,3\n"
                                "u2,view,2026-01-05T10:00:00Z,3.0\n"
                                "u3,view,2026-01-05T10:00:00Z,x\n")
    frame = csv_of(runner, shop, "--by", "channel", "--report", "breakdown", "-q")
    assert segments(frame) == [("3", 1, 0), ("3.0", 1, 0), ("x", 1, 0)]      # docs/semantics.md 8.2.2


# --- several --by: the value combinations (docs/semantics.md 8.2.6) ----------------------------

TWO_PROPS = """\
user_id,event_name,timestamp,channel,device
u1,view,2026-01-05T10:00:00Z,ads,mobile
u1,cart,2026-01-05T10:00:10Z,ads,mobile
u1,buy,2026-01-05T10:00:30Z,ads,mobile
u2,view,2026-01-05T11:00:00Z,ads,mobile
u3,view,2026-01-06T09:00:00Z,ads,desktop
u3,cart,2026-01-06T09:00:30Z,ads,desktop
u3,buy,2026-01-06T09:01:00Z,ads,desktop
u4,view,2026-01-06T10:00:00Z,mail,
u4,cart,2026-01-06T10:00:10Z,mail,desktop
u4,buy,2026-01-06T10:00:20Z,mail,desktop
"""


@pytest.fixture
def two(shop):
    (shop / "e.csv").write_text(TWO_PROPS)
    (shop / "cfg2.yaml").write_text(CONFIG + "    breakdown: {by: [channel, device], top: 1}\n")
    return shop


def test_by_twice_segments_by_the_value_combinations(runner, two):
    frame = csv_of(runner, two, "--by", "channel", "--by", "device", "--report", "breakdown")
    assert list(frame.columns) == SEGMENT_COLUMNS
    assert set(frame["by"]) == {"channel · device"}
    # u4's view has no device: (missing), though its later events have one
    assert segments(frame) == [("ads · mobile", 2, 1), ("ads · desktop", 1, 1), ("(missing)", 1, 1)]
    steps = csv_of(runner, two, "--by", "channel", "--by", "device", "--report", "breakdown_steps")
    assert steps.loc[steps["segment"] == "ads · mobile", "users"].tolist() == [2, 1, 1]


def test_json_carries_each_property_value_of_a_combination(runner, two):
    result = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "-f", "json", "--by", "channel", "--by", "device",
                    "--report", "breakdown", cwd=two)
    assert result.exit_code == 0, result.stderr
    (b,) = [f["breakdown"] for f in json.loads(result.stdout)["funnels"]]
    assert b["by"] == "channel · device" and b["properties"] == ["channel", "device"]
    assert [(s["segment"], s["values"]) for s in b["segments"]] == [
        ("ads · mobile", ["ads", "mobile"]), ("ads · desktop", ["ads", "desktop"]), ("(missing)", None)]
    one = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "-f", "json", "--by", "channel", "--report", "breakdown",
                 cwd=two)
    (b,) = [f["breakdown"] for f in json.loads(one.stdout)["funnels"]]
    assert "properties" not in b and all("values" not in s for s in b["segments"])


def test_by_a_list_in_the_config_and_top_over_the_combinations(runner, two):
    frame = csv_of(runner, two, "--report", "breakdown", config="cfg2.yaml")
    assert segments(frame) == [("ads · mobile", 2, 1), ("(other)", 1, 1), ("(missing)", 1, 1)]
    # --by on the command line replaces the config's list as a whole; the config's top stays
    assert segments(csv_of(runner, two, "--by", "device", "--report", "breakdown", config="cfg2.yaml")) == [
        ("mobile", 2, 1), ("(other)", 1, 1), ("(missing)", 1, 1)]


def test_by_the_same_property_twice_is_a_usage_error(runner, two):
    err = failed(invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "--by", "channel", "--by", "channel", cwd=two), 2)
    assert "'channel' is given twice" in err


@pytest.mark.parametrize("args", [["--trend", "day", "--trend", "week"], ["--by", "channel", "--top", "1", "--top", "2"],
                                  ["-c", "f.yaml", "-c", "f.yaml"], ["-f", "csv", "--format", "json"]])
def test_an_option_that_takes_one_value_given_twice_is_a_usage_error(runner, shop, args):
    base = [] if args[0] == "-c" else ["-c", "f.yaml"]
    result = invoke(runner, "analyze", "e.csv", *base, *args, cwd=shop)
    assert result.exit_code == 2 and result.stdout == ""
    assert "given twice, it takes one value" in result.stderr


@pytest.mark.parametrize("column", ["user", "ts", "$session"])
def test_by_a_core_column_is_a_usage_error_with_a_hint(runner, shop, column):
    err = failed(invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "--by", "channel", "--by", column, cwd=shop), 2)
    assert f"cannot break down by {column!r}: use a property" in err


def test_attribution_to_an_optional_step_is_an_option_error(runner, tmp_path):
    """4.12: a unit may skip an optional step, so its event cannot speak for the unit."""
    import json as _json

    config = tmp_path / "f.yaml"
    config.write_text("columns: {user: u, event: e, timestamp: t, timestamp_unit: s}\n"
                      "funnels:\n  f:\n    steps: [{event: a}, {event: b, optional: true}, {event: c}]\n")
    log = tmp_path / "e.jsonl"
    log.write_text("".join(_json.dumps({"u": "x", "e": e, "t": t, "ch": "m"}) + "\n"
                           for t, e in enumerate("abc")))
    result = invoke(runner, "analyze", log, "-c", config, "--by", "ch", "--attribution", "step:2")
    assert result.exit_code == 2 and "names an optional step" in result.stderr
    ok = invoke(runner, "analyze", log, "-c", config, "--by", "ch", "--attribution", "step:3")
    assert ok.exit_code == 0, ok.stderr
