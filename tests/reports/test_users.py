"""Unit lists (docs/semantics.md 11): tiny logs whose ids are checked by hand, the CLI's errors and
escaping, and on the example shop log every list against the funnel table's own numbers."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

import microconv
from microconv.errors import ConfigError, UsageError
from microconv.reports.users import funnel_units
from helpers import EXAMPLE_CONFIG, EXAMPLE_CSV, invoke
from conftest import ROOT

BASE = int(pd.Timestamp("2026-01-01", tz="UTC").timestamp())
END = ("zz", 30, "Z")  # a user who never enters, so that the data ends at T = 30

# U1 (semantics 11): window 10 s, T = 30. u1 buys, u2 stops at B, u3 at A, u4 enters at 25 and
# is still in progress at A (25 + 10 > 30).
U1 = [("u1", 0, "A"), ("u1", 1, "B"), ("u1", 2, "C"), ("u2", 0, "A"), ("u2", 3, "B"), ("u3", 0, "A"),
      ("u4", 25, "A"), END]


def config(steps="ABC", window="10s", *, count="users", session_timeout="30m", optional=()):
    return {
        "columns": {"user": "u", "event": "e", "timestamp": "t", "timestamp_unit": "s"},
        "session_timeout": session_timeout,
        "funnels": {"f": {"steps": [{"event": s, **({"optional": True} if s in optional else {})} for s in steps],
                          "window": window, "count": count}},
    }


def run(rows, *, since=None, until=None, mature_only=False, selection=None, **options):
    cfg = microconv.parse_config(config(**options))
    raw = pd.DataFrame([(u, BASE + t, e) for u, t, e in rows], columns=["u", "t", "e"])
    events, _ = microconv.canonicalize(raw, cfg)
    bound = {k: None if v is None else pd.Timestamp(BASE + v, unit="s", tz="UTC")
             for k, v in (("since", since), ("until", until))}
    return funnel_units(cfg, events, "f", mature_only=mature_only, **bound, **(selection or {}))


def ids(result) -> list:
    f = result.frame
    second = [c for c in ("session", "attempt") if c in f.columns]
    return list(zip(f["user"], f[second[0]])) if second else list(f["user"])


def at(seconds: int) -> pd.Timestamp:
    return pd.Timestamp(BASE + seconds, unit="s", tz="UTC")


def test_u1_each_selection_lists_exactly_the_tables_units():
    assert ids(run(U1, selection={"reached": 1})) == ["u1", "u2", "u3", "u4"]     # users [4, 2, 1]
    assert ids(run(U1, selection={"reached": 2})) == ["u1", "u2"]
    assert ids(run(U1, selection={"reached": 3})) == ["u1"]
    assert ids(run(U1, selection={"converted": True})) == ["u1"]
    assert ids(run(U1, selection={"dropped_after": 1})) == ["u3"]                 # dropped at B: 1 (u4 in progress)
    assert ids(run(U1, selection={"dropped_after": 2})) == ["u2"]                 # dropped at C: 1


def test_u1_columns_reached_and_times_of_the_counted_attempt():
    r = run(U1, selection={"reached": 1})
    f = r.frame
    assert list(f.columns) == ["user", "reached", "reached_name", "entered_at", "last_step_at", "in_progress"]
    assert f["reached"].tolist() == [3, 2, 1, 1]
    assert f["reached_name"].tolist() == ["C", "B", "A", "A"]
    assert f["entered_at"].tolist() == [at(0), at(0), at(0), at(25)]
    assert f["last_step_at"].tolist() == [at(2), at(3), at(0), at(25)]
    assert f["in_progress"].tolist() == [False, False, False, True]
    assert (r.unit, r.selection, r.step, r.table_step, r.count) == ("users", "reached", 1, 1, 4)
    d = run(U1, selection={"dropped_after": 2})
    assert (d.step, d.table_step) == (2, 3)


def test_mature_only_and_date_range_as_the_table():
    assert ids(run(U1, mature_only=True, selection={"reached": 1})) == ["u1", "u2", "u3"]
    assert ids(run(U1, mature_only=True, selection={"dropped_after": 1})) == ["u3"]   # dropped is unchanged
    assert ids(run(U1, since=20, selection={"reached": 1})) == ["u4"]
    assert ids(run(U1, until=20, selection={"reached": 1})) == ["u1", "u2", "u3"]


def test_sessions_list_user_and_session():
    rows = [("u1", 0, "A"), ("u1", 1, "B"), ("u1", 15, "A"), ("u2", 0, "A"), ("u2", 2, "B"), END]   # gap 14 > 10
    r = run(rows, steps="AB", count="sessions", session_timeout="10s", selection={"reached": 1})
    assert list(r.frame.columns[:3]) == ["user", "session", "reached"]
    assert ids(r) == [("u1", 1), ("u1", 2), ("u2", 1)]
    assert r.frame["reached"].tolist() == [2, 1, 2] and r.unit == "sessions"
    assert ids(run(rows, steps="AB", count="sessions", session_timeout="10s", selection={"dropped_after": 1})) == [("u1", 2)]


def test_totals_list_each_counted_attempt_by_number():
    rows = [("u1", 0, "A"), ("u1", 2, "B"), ("u1", 5, "A"), ("u1", 6, "B"), ("u1", 20, "A")]   # T1, T = 20
    r = run(rows, steps="AB", count="totals", selection={"reached": 1})
    assert list(r.frame.columns[:2]) == ["user", "attempt"] and r.unit == "attempts"
    assert ids(r) == [("u1", 1), ("u1", 2), ("u1", 3)]
    assert r.frame["reached"].tolist() == [2, 2, 1]
    assert r.frame["in_progress"].tolist() == [False, False, True]
    assert r.frame["last_step_at"].tolist() == [at(2), at(6), at(20)]
    assert ids(run(rows, steps="AB", count="totals", selection={"converted": True})) == [("u1", 1), ("u1", 2)]
    assert ids(run(rows, steps="AB", count="totals", selection={"dropped_after": 1})) == []   # in progress


def test_optional_step_lists_who_did_it_and_drops_at_the_next_required_step():
    rows = [("u1", 0, "A"), ("u1", 1, "B"), ("u1", 2, "C"), ("u2", 0, "A"), ("u2", 1, "C"),
            ("u3", 0, "A"), ("u3", 1, "B"), END]               # table users 3, 2, 2; dropped at C: 1
    assert ids(run(rows, optional="B", selection={"reached": 2})) == ["u1", "u3"]
    assert ids(run(rows, optional="B", selection={"reached": 3})) == ["u1", "u2"]
    d = run(rows, optional="B", selection={"dropped_after": 1})
    assert ids(d) == ["u3"] and d.table_step == 3
    with pytest.raises(UsageError, match="step 2 is optional"):
        run(rows, optional="B", selection={"dropped_after": 2})


def test_library_errors():
    with pytest.raises(UsageError, match="exactly one"):
        run(U1)
    with pytest.raises(UsageError, match="exactly one"):
        run(U1, selection={"reached": 1, "converted": True})
    with pytest.raises(UsageError, match="the funnel has 3 steps, so N is 1 to 3"):
        run(U1, selection={"reached": 4})
    with pytest.raises(UsageError, match="the funnel has 3 steps, so N is 1 to 2"):
        run(U1, selection={"dropped_after": 3})
    cfg = microconv.parse_config(config())
    events, _ = microconv.canonicalize(pd.DataFrame({"u": ["u1"], "t": [BASE], "e": ["A"]}), cfg)
    with pytest.raises(ConfigError, match="unknown funnel 'g'"):
        funnel_units(cfg, events, "g", reached=1)


# ------------------------------------------------------------------------------------------------
# The command line


@pytest.fixture
def small(tmp_path: Path) -> Path:
    rows = [("=HYPERLINK(1)", 0, "A"), ("=HYPERLINK(1)", 1, "B"), *U1[3:]]   # u1 renamed: a formula
    pd.DataFrame([(u, BASE + t, e) for u, t, e in rows], columns=["u", "t", "e"]).to_csv(tmp_path / "e.csv", index=False)
    (tmp_path / "f.yaml").write_text(yaml.safe_dump(config()))
    return tmp_path


def cli(runner, small, *args):
    return invoke(runner, "users", "e.csv", "-c", "f.yaml", "--funnel", "f", *args, cwd=small)


def test_cli_csv_by_default_when_piped_and_ids_escaped(runner, small):
    result = cli(runner, small, "--reached", "2")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "user,reached,reached_name,entered_at,last_step_at,in_progress",
        "'=HYPERLINK(1),2,B,2026-01-01T00:00:00Z,2026-01-01T00:00:01Z,False",
        "u2,2,B,2026-01-01T00:00:00Z,2026-01-01T00:00:03Z,False",
    ]
    raw = cli(runner, small, "--reached", "2", "--csv-raw")
    assert raw.stdout.splitlines()[1].startswith("=HYPERLINK(1),2,")
    read = pd.read_csv(io.StringIO(result.stdout))
    assert len(read) == 2


def test_cli_json_table_and_note(runner, small):
    result = cli(runner, small, "--dropped-after", "1", "-f", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["selection"], doc["step"], doc["table_step"], doc["count"], doc["unit"]) == ("dropped_after", 1, 2, 1, "users")
    assert doc["units"] == [{"user": "u3", "reached": 1, "reached_name": "A", "entered_at": "2026-01-01T00:00:00Z",
                             "last_step_at": "2026-01-01T00:00:00Z", "in_progress": False}]
    table = cli(runner, small, "--reached", "1", "-f", "table")
    assert table.exit_code == 0
    assert "4 users reached step 1 (A)" in table.stdout and "u4" in table.stdout
    assert "1 of the 4 users listed are in progress" in table.stderr


def test_table_shows_the_first_rows_and_says_how_many_more():
    from microconv.render.users import render_users_text

    out = render_users_text(run(U1, selection={"reached": 1}), rows=2)
    assert "Checkout" not in out and "f  ·  4 users reached step 1 (A)" in out
    assert "u2" in out and "u3" not in out and "… 2 more: -f csv or -f json for the whole list" in out
    assert "no users" in render_users_text(run(U1, since=29, selection={"reached": 1}))


def test_cli_errors(runner, small):
    for args in (["--reached", "1", "--converted"], ["--reached", "1", "--dropped-after", "1"], []):
        result = cli(runner, small, *args)
        assert result.exit_code == 2 and "give exactly one of" in result.stderr, args
    result = cli(runner, small, "--reached", "5")
    assert result.exit_code == 2 and "--reached 5: the funnel has 3 steps" in result.stderr
    result = cli(runner, small, "--dropped-after", "3")
    assert result.exit_code == 2 and "--dropped-after 3: the funnel has 3 steps, so N is 1 to 2" in result.stderr
    result = invoke(runner, "users", "e.csv", "-c", "f.yaml", "--funnel", "ff", "--converted", cwd=small)
    assert result.exit_code == 3 and "did you mean 'f'" in result.stderr
    result = cli(runner, small, "--converted", "-f", "xml")
    assert result.exit_code == 2


def test_cli_output_file(runner, small):
    result = cli(runner, small, "--reached", "2", "-o", "out.csv")       # CSV: no -f, and not a terminal
    assert result.exit_code == 0 and result.stdout == ""
    assert (small / "out.csv").read_text().splitlines()[2] == "u2,2,B,2026-01-01T00:00:00Z,2026-01-01T00:00:03Z,False"
    assert cli(runner, small, "--converted").stdout == "user,reached,reached_name,entered_at,last_step_at,in_progress\n"


# ------------------------------------------------------------------------------------------------
# The example: every list is the table's number


def _table(runner, *args) -> pd.DataFrame:
    result = invoke(runner, "analyze", EXAMPLE_CSV, "-c", EXAMPLE_CONFIG, "-f", "csv", *args)
    assert result.exit_code == 0, result.stderr
    return pd.read_csv(io.StringIO(result.stdout))


def _listed(runner, funnel, *args) -> int:
    result = invoke(runner, "users", EXAMPLE_CSV, "-c", EXAMPLE_CONFIG, "--funnel", funnel, "-f", "csv", *args)
    assert result.exit_code == 0, result.stderr
    return len(pd.read_csv(io.StringIO(result.stdout)))


def test_example_every_list_matches_the_funnel_table(runner):
    table = _table(runner)
    funnels = list(dict.fromkeys(table["funnel"]))
    assert len(funnels) == 5
    for funnel in funnels:
        rows = table[table["funnel"] == funnel].set_index("step")
        n = len(rows)
        for step in range(1, n + 1):
            assert _listed(runner, funnel, "--reached", step) == rows.loc[step, "users"], (funnel, step)
            if step < n:
                assert _listed(runner, funnel, "--dropped-after", step) == rows.loc[step + 1, "dropped"], (funnel, step)
        assert _listed(runner, funnel, "--converted") == rows.loc[n, "users"]


def test_example_mature_only_and_since_match_the_table(runner):
    args = ("--mature-only", "--since", "2026-10-15")
    rows = _table(runner, "--funnel", "checkout", *args).set_index("step")
    for step in (1, 2, 3, 4):
        assert _listed(runner, "checkout", "--reached", step, *args) == rows.loc[step, "users"]
    assert _listed(runner, "checkout", "--dropped-after", 2, *args) == rows.loc[3, "dropped"]


def test_example_with_optional_steps_and_totals_matches_the_table():
    """The example's funnels as count: totals, and checkout with add_to_cart optional: through the
    library (the config variants are not in funnels.example.yaml)."""
    doc = yaml.safe_load((ROOT / EXAMPLE_CONFIG).read_text())
    funnels = doc["funnels"]
    checkout = funnels["checkout"]
    funnels["checkout_optional"] = {**checkout, "steps": [dict(s) if isinstance(s, dict) else s for s in checkout["steps"]]}
    step = funnels["checkout_optional"]["steps"][1]
    if not isinstance(step, dict):
        step = funnels["checkout_optional"]["steps"][1] = {"conversion": step}
    step["optional"] = True
    funnels["checkout_totals"] = {**checkout, "count": "totals"}
    cfg = microconv.parse_config(doc)
    events, _ = microconv.load_events([ROOT / EXAMPLE_CSV], cfg)
    result = microconv.analyze(cfg, events, funnels=["checkout_optional", "checkout_totals"], reports=["funnels"])
    for f in result.funnels:
        n = len(f.steps)
        for s in f.steps:
            assert funnel_units(cfg, events, f.name, reached=s.step).count == s.users, (f.name, s.step)
        for s in f.steps[1:]:
            previous = s.step - 1
            if f.name == "checkout_optional" and s.step in (2, 3):
                continue                      # 2 is optional: its drop-off is at 3, from step 1
            assert funnel_units(cfg, events, f.name, dropped_after=previous).count == s.dropped, (f.name, s.step)
        if f.name == "checkout_optional":
            assert funnel_units(cfg, events, f.name, dropped_after=1).count == f.steps[2].dropped
        assert funnel_units(cfg, events, f.name, converted=True).count == f.steps[n - 1].users


def test_u5_ids_are_sorted_as_text():
    """Semantics 11, U5: u10 before u2, whatever the input order."""
    rows = [("u2", 0, "A"), ("u10", 1, "A"), END]
    assert ids(run(rows, steps="AB", selection={"reached": 1})) == ["u10", "u2"]
