"""explain: the trace's verdict is the count's, and each stop reason is named in words."""
from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import microconv
from microconv.cli import app
from microconv.engine.replay import Stop
from microconv.errors import DataError
from microconv.reports.explain import explain_user
from microconv.render.explain import render_explain_text, verdict
from conftest import ROOT

EPOCH = pd.Timestamp("2026-01-01", tz="UTC")


def _events(text: str, cfg):
    """Lines "user ts event [value]": a fourth word is the property ``p`` (``-``: no value)."""
    rows = [line.split() for line in text.strip().splitlines()]
    raw = pd.DataFrame({
        "user_id": [r[0] for r in rows],
        "timestamp": [(EPOCH + pd.Timedelta(seconds=int(r[1]))).isoformat() for r in rows],
        "event_name": [r[2] for r in rows],
    })
    if any(len(r) > 3 for r in rows):
        raw["p"] = [None if r[3:] in ([], ["-"]) else r[3] for r in rows]
    return microconv.canonicalize(raw, cfg)[0]


def _config(**funnel):
    funnel.setdefault("steps", [{"event": "A"}, {"event": "B"}, {"event": "C"}])
    funnel.setdefault("window", "10s")
    return microconv.parse_config({"columns": {"user": "user_id", "event": "event_name", "timestamp": "timestamp"},
                                   "funnels": {"f": funnel}, "session_timeout": "100s"})


def _verdict(text: str, user: str = "u1", **funnel) -> tuple[str, object]:
    cfg = _config(**funnel)
    ex = explain_user(cfg, _events(text, cfg), user)
    f = ex.funnels[0]
    return verdict(ex, f, f.units[0]), f.units[0]


def test_completed_attempt_names_each_step_event():
    cfg = _config()
    ex = explain_user(cfg, _events("u1 0 A\nu1 1 X\nu1 3 B\nu1 7 C\nu2 50 A", cfg), "u1")
    text = render_explain_text(ex)
    assert "verdict: reached step 3 of 3 ('C'), completed" in text
    assert "2026-01-01 00:00:00  A                        ● step 1 'A'" in text
    assert "2026-01-01 00:00:03  B                        ● step 2 'B'" in text
    assert "2026-01-01 00:00:07  C                        ● step 3 'C'" in text
    assert "(data ends 2026-01-01 00:00:50)" in text  # the end of all data, not of this user


def test_window_ran_out_names_the_late_event():
    says, unit = _verdict("u1 0 A\nu1 3 B\nu1 11 C")
    assert unit.reached == 2
    assert says == ("reached step 2 of 3 ('B'); stopped: the window ran out: the next 'C' at "
                    "2026-01-01 00:00:11 is 11s after step 1 (window 10s)")


def test_no_next_step_at_all():
    says, _ = _verdict("u1 0 A\nu1 3 B\nu2 30 X")
    assert says == "reached step 2 of 3 ('B'); stopped: no 'C' event after step 2 within the window (10s)"


def test_strict_break_names_the_intruding_event():
    says, unit = _verdict("u1 0 A\nu1 1 B\nu1 2 X\nu1 3 C\nu2 30 X", order="strict")
    assert unit.reached == 2
    assert says == ("reached step 2 of 3 ('B'); stopped: strict order: the next event after step 2 was "
                    "'X' at 2026-01-01 00:00:02, not 'C'")


def test_within_limit():
    says, _ = _verdict("u1 0 A\nu1 1 B\nu1 8 C\nu2 30 X",
                       steps=[{"event": "A"}, {"event": "B"}, {"event": "C", "within": "5s"}])
    assert says == ("reached step 2 of 3 ('B'); stopped: 'C' at 2026-01-01 00:00:08 is 7s after step 2, "
                    "over the 'within: 5s' limit of step 3")


def test_every_attempt_excluded():
    says, unit = _verdict("u1 0 A\nu1 1 R\nu1 2 B\nu1 3 C\nu2 30 X", exclude=[{"event": "R"}])
    assert unit.reached == 0 and unit.entered
    assert says == "excluded: an exclusion event spoiled every attempt (first: 'R' at 2026-01-01 00:00:01)"
    assert unit.attempts[0].stop is Stop.EXCLUDED


def test_in_progress_and_mature_only():
    cfg = _config()
    events = _events("u1 0 A\nu1 2 B\nu2 5 X", cfg)
    ex = explain_user(cfg, events, "u1")
    assert verdict(ex, ex.funnels[0], ex.funnels[0].units[0]) == (
        "reached step 2 of 3 ('B'); in progress: an attempt's window is still open at the end of the data")
    ex = explain_user(cfg, events, "u1", mature_only=True)
    assert verdict(ex, ex.funnels[0], ex.funnels[0].units[0]).endswith("; left out by --mature-only")


def test_never_entered():
    says, unit = _verdict("u1 0 B\nu1 1 C")
    assert not unit.entered and says == "never entered: no 'A' event (in the date range)"


def test_sessions_are_traced_one_by_one():
    cfg = _config(count="sessions", steps=[{"event": "A"}, {"event": "B"}])
    ex = explain_user(cfg, _events("u1 0 A\nu1 200 A\nu1 201 B", cfg), "u1")
    units = ex.funnels[0].units
    assert [(u.unit, u.reached) for u in units] == [("u1 session 1", 1), ("u1 session 2", 2)]


def test_totals_trace_each_counted_attempt_with_the_ones_inside_it():
    """Rule 4.10: which attempts a total counted (T2, T1): A@3 starts inside A@0's attempt."""
    cfg = _config(count="totals", steps=[{"event": "A"}, {"event": "B"}])
    ex = explain_user(cfg, _events("u1 0 A\nu1 3 A\nu1 4 B\nu1 20 A\nu1 21 X", cfg), "u1")
    units = ex.funnels[0].units
    assert [(u.unit, u.key, u.reached, u.in_progress) for u in units] == [
        ("u1 attempt 1", ("u1", 1), 2, False), ("u1 attempt 2", ("u1", 2), 1, True)]
    assert [a.counted for a in units[0].attempts] == [True, False]     # A@0 counted, A@3 inside it
    text = render_explain_text(ex)
    assert "  u1 attempt 1: verdict: reached step 2 of 2 ('B'), completed" in text
    assert "1 more attempt started inside this one: not counted" in text
    assert "  u1 attempt 2: verdict: reached step 1 of 2 ('A'); in progress" in text


def test_cli_totals_count_attempts(tmp_path):
    """T9 through the command: u1's two attempts and u2's two, 'attempts' in the unit column."""
    (tmp_path / "e.csv").write_text("user_id,timestamp,event_name\n" + "".join(
        f"{u},2026-01-01T00:00:{t:02d}Z,{e}\n" for u, t, e in
        [("u1", 0, "A"), ("u1", 1, "B"), ("u2", 0, "A"), ("u1", 11, "A"), ("u1", 12, "B"), ("u2", 30, "A")]))
    (tmp_path / "f.yaml").write_text("funnels:\n  f:\n    steps: [{event: A}, {event: B}]\n    window: 10s\n"
                                    "    count: totals\n")
    got = CliRunner().invoke(app, ["analyze", str(tmp_path / "e.csv"), "-c", str(tmp_path / "f.yaml"),
                                   "--format", "csv", "--report", "funnels"])
    assert got.exit_code == 0, got.stderr
    rows = [line.split(",") for line in got.stdout.strip().splitlines()]
    unit, users = rows[0].index("unit"), rows[0].index("users")
    assert [(r[users], r[unit]) for r in rows[1:]] == [("4", "attempts"), ("2", "attempts")]
    table = CliRunner().invoke(app, ["analyze", str(tmp_path / "e.csv"), "-c", str(tmp_path / "f.yaml"),
                                     "--report", "funnels"])
    assert "4 attempts" in table.stdout and "sessions" not in table.stdout


@pytest.mark.parametrize("order,says", [
    ("ordered", "reached step 2 of 3 ('B'); stopped: held property changed: 'C' at 2026-01-01 00:00:02 "
                "has p = 'y', step 1 had p = 'x' (hold: p)"),
    ("strict", "reached step 2 of 3 ('B'); stopped: held property changed: 'C' at 2026-01-01 00:00:02 "
               "has p = 'y', step 1 had p = 'x' (hold: p)"),
])
def test_hold_verdict_names_the_event_with_other_values(order, says):
    """Rule 4.11 (H2): the attempt stops because the next step's event has another value."""
    cfg = _config(hold=["p"], window="2s", order=order)
    ex = explain_user(cfg, _events("u1 0 A x\nu1 1 B x\nu1 2 C y", cfg), "u1")
    f = ex.funnels[0]
    assert f.units[0].reached == 2 and verdict(ex, f, f.units[0]) == says


def test_hold_verdict_for_a_missing_value_at_step_1():
    cfg = _config(hold=["p"], window="1s")
    ex = explain_user(cfg, _events("u1 0 A -\nu1 1 B -", cfg), "u1")
    f = ex.funnels[0]
    assert verdict(ex, f, f.units[0]) == (
        "reached step 1 of 3 ('A'); stopped: step 1 has no p: a missing held value matches no later step, "
        "so 'B' at 2026-01-01 00:00:01 does not count (hold: p)")


def test_optional_step_skipped_and_done():
    """Rule 4.12: u1 skipped optional B on its way to C; u2 did B and stopped before C."""
    steps = [{"event": "A"}, {"event": "B", "optional": True}, {"event": "C"}]
    assert _verdict("u1 0 A\nu1 2 C", steps=steps)[0] == ("reached step 3 of 3 ('C'), skipping optional step 2 "
                                                          "('B'), completed")
    says, unit = _verdict("u2 0 A\nu2 1 B\nu9 30 Z", user="u2", steps=steps)
    assert says == "reached step 1 of 3 ('A'); stopped: no 'C' event after step 1 within the window (10s)"
    assert unit.attempts[0].steps == (1, 2)             # the optional step it did is in the trace


def test_cli_optional_step_rows(tmp_path):
    """O4 and O3 through the command: the optional row counts who did it, the next row's rate and
    drop-off come from step 1, and the table marks the step."""
    (tmp_path / "e.csv").write_text("user_id,timestamp,event_name\n" + "".join(
        f"{u},2026-01-01T00:00:{t:02d}Z,{e}\n" for u, t, e in
        [("u1", 0, "A"), ("u1", 1, "B"), ("u2", 0, "A"), ("u2", 1, "C"), ("u2", 2, "B"), ("u9", 30, "Z")]))
    (tmp_path / "f.yaml").write_text("funnels:\n  f:\n    steps: [{event: A}, {event: B, optional: true}, "
                                    "{event: C}]\n    window: 10s\n")
    args = ["analyze", str(tmp_path / "e.csv"), "-c", str(tmp_path / "f.yaml"), "--report", "funnels"]
    got = CliRunner().invoke(app, [*args, "--format", "csv"])
    assert got.exit_code == 0, got.stderr
    rows = list(csv.DictReader(io.StringIO(got.stdout)))
    assert [(r["users"], r["rate_from_previous"], r["dropped"]) for r in rows] == [
        ("2", "1", "0"), ("1", "0.5", "0"), ("1", "0.5", "1")]
    table = CliRunner().invoke(app, args)
    assert "2. B (optional)" in table.stdout


def test_open_window_counted_as_dropped():
    """Rule 4.13 (W1's u3): with open_windows: dropped the verdict says so, not "in progress"."""
    says, unit = _verdict("u3 15 A\nu1 0 A", user="u3", open_windows="dropped",
                          steps=[{"event": "A"}, {"event": "B"}])
    assert not unit.in_progress
    assert says == ("reached step 1 of 2 ('A'); counted as dropped (open_windows: dropped), although an "
                    "attempt's window is still open")
    says, _ = _verdict("u3 15 A\nu1 0 A", user="u3", counting="posthog", steps=[{"event": "A"}, {"event": "B"}])
    assert "counted as dropped" in says


def test_verdict_agrees_with_counts_on_the_example_data():
    cfg = microconv.load_config(ROOT / "funnels.example.yaml")
    events, _ = microconv.load_events([ROOT / "examples" / "shop_events.csv"], cfg)
    result = microconv.analyze(cfg, events)
    users = list(events.frame["user"].cat.categories[::40])  # 100 users, every reach level
    for user in users:
        ex = explain_user(cfg, events, user)
        for f, counted in zip(ex.funnels, result.funnels):
            for unit in f.units:  # one per user, or one per session of the user
                assert unit.reached == counted.reached.get(unit.key, 0), (unit.key, f.name)
                assert (unit.entered and unit.reached > 0) == (unit.key in counted.reached.index), (unit.key, f.name)
    checkout = result.funnel("checkout").reached
    assert set(checkout[checkout.index.isin(users)]) == {1, 2, 3, 4}
    assert result.funnel("cart_to_purchase").unit == "sessions"


def test_unknown_user_is_a_data_error_with_a_suggestion():
    cfg = _config()
    with pytest.raises(DataError) as err:
        explain_user(cfg, _events("u17 0 A\nu18 1 B", cfg), "u71")
    assert err.value.problems[0].message == "no events for user 'u71'"
    assert "did you mean" in err.value.hint


def test_cli_explain_json_and_exit_codes(tmp_path):
    (tmp_path / "e.csv").write_text("user_id,timestamp,event_name\nu1,2026-01-01T00:00:00Z,A\n"
                                    "u1,2026-01-01T00:00:02Z,B\nu2,2026-01-01T00:01:00Z,A\n")
    (tmp_path / "f.yaml").write_text("funnels:\n  f:\n    steps: [{event: A}, {event: B}]\n    window: 10s\n")
    runner = CliRunner()
    args = ["explain", str(tmp_path / "e.csv"), "-c", str(tmp_path / "f.yaml"), "--user"]
    ok = runner.invoke(app, [*args, "u1", "--format", "json"])
    assert ok.exit_code == 0, ok.stderr
    doc = json.loads(ok.stdout)
    unit = doc["funnels"][0]["units"][0]
    assert unit["reached"] == 2 and unit["verdict"] == "reached step 2 of 2 ('B'), completed"
    assert unit["attempts"][0]["rows"] == [0, 1]
    missing = runner.invoke(app, [*args, "u9"])
    assert missing.exit_code == 4 and "no events for user 'u9'" in missing.stderr
    bad = runner.invoke(app, [*args, "u1", "--format", "xml"])
    assert bad.exit_code == 2
