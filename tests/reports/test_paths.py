"""Drop-off paths (docs/semantics.md 9): tiny logs where every count is checked by hand, the CLI,
and the example shop log."""
from __future__ import annotations

import json

import pandas as pd
import pytest

import microconv
from microconv.errors import ConfigError, UsageError
from microconv.reports.paths import drop_off_paths, page_property
from microconv.reports.results import PATHS_COLUMNS
from helpers import EXAMPLE_CONFIG, EXAMPLE_CSV, invoke

BASE = int(pd.Timestamp("2026-01-01", tz="UTC").timestamp())


def setup(rows, steps="ABC", window="10s", *, order="ordered", count="users", entry="best_attempt", exclude=(),
          session_timeout="30m", properties=None):
    """rows: (user, seconds after 2026-01-01, event) or (user, seconds, event, page) with page None for none."""
    columns = {"user": "u", "event": "e", "timestamp": "t", "timestamp_unit": "s"}
    if properties:
        columns["properties"] = properties
    cfg = microconv.parse_config({
        "columns": columns,
        "session_timeout": session_timeout,
        "funnels": {"f": {"steps": [{"event": s} for s in steps], "window": window, "order": order,
                          "count": count, "entry": entry,
                          **({"exclude": [{"event": x} for x in exclude]} if exclude else {})}},
    })
    raw = pd.DataFrame([(r[0], BASE + r[1], r[2], r[3] if len(r) > 3 else None) for r in rows],
                       columns=["u", "t", "e", "p"])
    page = page_property(cfg)  # what the CLI loads for next_page
    events, _ = microconv.canonicalize(raw, cfg, extra_properties=[page] if page else ["p"])
    return cfg, events


def run(rows, steps="ABC", window="10s", *, top=10, since=None, until=None, mature_only=False, page=None, **options):
    cfg, events = setup(rows, steps, window, **options)
    bound = {k: None if v is None else pd.Timestamp(BASE + v, unit="s", tz="UTC")
             for k, v in (("since", since), ("until", until))}
    return drop_off_paths(cfg, events, "f", top=top, mature_only=mature_only, page=page, **bound)


def paths(result, step, kind) -> dict[str, int]:
    """{path: units} of one (step, kind), in listed order."""
    f = result.frame
    rows = f[(f["step"] == step) & (f["kind"] == kind)]
    return dict(zip(rows["path"], rows["units"]))


def shares(result, step, kind) -> list[float]:
    f = result.frame
    return f.loc[(f["step"] == step) & (f["kind"] == kind), "share"].tolist()


END = ("zz", 30, "Z")  # a user who never enters, so that the data ends at T = 30


def test_d1_next_event_path_and_last_event():
    r = run([("u1", 0, "A"), ("u1", 1, "X"), ("u1", 2, "Y"), ("u2", 0, "A"), ("u2", 1, "X"), ("u3", 0, "A"), END])
    assert r.dropped == (3, 0, 0) and r.converted == (0, 0, 0) and r.in_progress == (0, 0, 0)
    assert paths(r, 1, "next_event") == {"X": 2, "(none)": 1}
    assert shares(r, 1, "next_event") == pytest.approx([2 / 3, 1 / 3])
    assert paths(r, 1, "next_path") == {"(none)": 1, "X": 1, "X → Y": 1}       # ties in path text order
    assert paths(r, 1, "last_event") == {"A": 1, "X": 1, "Y": 1}
    assert set(r.frame["kind"]) == {"next_event", "next_path", "last_event"}  # no page property, no one went on
    assert set(r.frame["group"]) == {"dropped"} and set(r.frame["name"]) == {"A"}


def test_d2_horizon_is_the_counted_attempts_window_inclusive():
    r = run([("u1", 0, "A"), ("u1", 11, "X"), ("u2", 0, "A"), ("u2", 10, "W"), ("u2", 12, "V"), END], steps="AB")
    assert paths(r, 1, "next_event") == {"(none)": 1, "W": 1}
    assert paths(r, 1, "last_event") == {"A": 1, "W": 1}          # u1's X and u2's V are after the window
    assert paths(r, 1, "next_path") == {"(none)": 1, "W": 1}


def test_d3_ties_keep_input_order_and_the_next_event_is_strictly_after_the_anchor():
    r = run([("u1", 0, "A"), ("u1", 3, "Y"), ("u1", 3, "X"),         # Y first in the file
             ("u2", 0, "X"), ("u2", 0, "A"), END], steps="AB")        # X at A's time but before it: not after
    assert paths(r, 1, "next_event") == {"(none)": 1, "Y": 1}
    assert paths(r, 1, "next_path") == {"(none)": 1, "Y → X": 1}
    assert paths(r, 1, "last_event") == {"A": 1, "X": 1}


def test_d4_converters_paths_between_steps_with_direct_and_more():
    r = run([("u1", 0, "A"), ("u1", 1, "B"), ("u1", 2, "C"),
             ("u2", 0, "A"), ("u2", 1, "X"), ("u2", 2, "Y"), ("u2", 3, "B"), ("u2", 4, "Z"), ("u2", 5, "C"),
             *[("u3", t, e) for t, e in enumerate("APQRSTUVBC")], END])
    assert r.converted == (3, 3, 0) and r.dropped == (0, 0, 0)
    assert paths(r, 1, "between") == {"(direct)": 1, "P → Q → R → S → T … (+2 more)": 1, "X → Y": 1}
    assert paths(r, 2, "between") == {"(direct)": 2, "Z": 1}
    assert shares(r, 2, "between") == pytest.approx([2 / 3, 1 / 3])
    between = r.frame[r.frame["kind"] == "between"]
    assert set(between["name"]) == {"A → B", "B → C"} and set(between["group"]) == {"converted"}


def test_d5_in_progress_units_have_not_dropped():
    rows = [("u1", 0, "A"), ("u1", 1, "X"), ("u2", 25, "A"), ("u2", 26, "X")]   # T = 26; u2's window ends at 35
    r = run(rows, steps="AB")
    assert r.dropped == (1, 0) and r.in_progress == (1, 0)
    assert paths(r, 1, "next_event") == {"X": 1} and shares(r, 1, "next_event") == [1.0]
    mature = run(rows, steps="AB", mature_only=True)
    assert mature.dropped == (1, 0) and mature.in_progress == (0, 0)
    assert paths(mature, 1, "next_event") == {"X": 1}


def test_in_progress_converters_still_count_as_having_gone_on():
    r = run([("u1", 0, "A"), ("u1", 1, "X"), ("u1", 2, "B")], steps="ABC")    # T = 2: u1 is in progress at 2
    assert r.in_progress == (0, 1, 0) and r.converted == (1, 0, 0) and r.dropped == (0, 0, 0)
    assert paths(r, 1, "between") == {"X": 1}


def test_d6_strict_next_event_is_the_one_that_broke_the_attempt():
    r = run([("u1", 0, "A"), ("u1", 1, "X"), ("u1", 2, "B"), END], steps="AB", order="strict")
    assert r.dropped == (1, 0)
    assert paths(r, 1, "next_event") == {"X": 1}
    assert paths(r, 1, "next_path") == {"X → B": 1}
    assert paths(r, 1, "last_event") == {"B": 1}


def test_strict_converter_is_always_direct():
    r = run([("u1", 0, "A"), ("u1", 1, "B"), END], steps="AB", order="strict")
    assert paths(r, 1, "between") == {"(direct)": 1}


def test_sessions_see_only_their_own_sessions_events():
    # 10 s timeout: session 1 = A@0 X@5, session 2 = Y@30 A@31 B@32; window 100 s
    rows = [("u1", 0, "A"), ("u1", 5, "X"), ("u1", 30, "Y"), ("u1", 31, "A"), ("u1", 32, "B"), ("zz", 200, "Z")]
    r = run(rows, steps="AB", window="100s", count="sessions", session_timeout="10s")
    assert r.unit == "sessions" and r.dropped == (1, 0) and r.converted == (1, 0)
    assert paths(r, 1, "next_event") == {"X": 1}            # Y@30 is in the next session
    assert paths(r, 1, "last_event") == {"X": 1}
    assert paths(r, 1, "between") == {"(direct)": 1}        # session 2: A@31 then B@32
    users = run(rows, steps="AB", window="100s")
    assert users.dropped == (0, 0) and paths(users, 1, "between") == {"X → Y → A": 1}


def test_any_order_anchor_is_the_latest_step_done_and_between_follows_time_order():
    rows = [("u1", 0, "A"), ("u1", 2, "C"), ("u1", 3, "X"),                               # reached 2 (A, C)
            ("u2", 0, "A"), ("u2", 1, "X"), ("u2", 2, "B"), ("u2", 3, "Y"), ("u2", 4, "C"), END]
    r = run(rows, order="any")
    assert r.dropped == (0, 1, 0) and r.converted == (2, 1, 0)
    assert paths(r, 2, "next_event") == {"X": 1}
    assert paths(r, 1, "between") == {"(direct)": 1, "X": 1}      # u1: A then C; u2: A, X, then B
    assert paths(r, 2, "between") == {"Y": 1}
    assert set(r.frame.loc[r.frame["step"] == 2, "name"]) == {"any 2 of 3 steps",
                                                             "any 2 of 3 steps → all 3 steps"}


def test_ordered_tie_in_step_order_anchor_is_the_later_row():
    # rule 3.3: B@5 (first in the file) is step 2 of the attempt from A@5
    r = run([("u1", 5, "B"), ("u1", 5, "A"), ("u1", 6, "X"), END])
    assert r.dropped == (0, 1, 0)
    assert paths(r, 1, "between") == {"(direct)": 1}
    assert paths(r, 2, "next_event") == {"X": 1}


def test_counted_attempt_and_date_range_pick_the_positions():
    rows = [("u1", 0, "A"), ("u1", 1, "X"), ("u1", 20, "A"), ("u1", 21, "Y"), ("zz", 60, "Z")]
    assert paths(run(rows, steps="AB"), 1, "next_event") == {"X": 1}            # earliest attempt (3.7)
    assert paths(run(rows, steps="AB", since=15), 1, "next_event") == {"Y": 1}  # A@0 is before the range
    assert run(rows, steps="AB", until=15).dropped == (1, 0)


def test_excluded_units_are_in_no_group():
    r = run([("u1", 0, "A"), ("u1", 1, "R"), ("u2", 0, "A"), ("u2", 1, "X"), END], steps="AB", exclude=["R"])
    assert r.dropped == (1, 0) and paths(r, 1, "next_event") == {"X": 1}


def test_top_pools_the_rest_into_other_and_shares_add_to_one():
    rows = [(f"u{i}", 0, "A") for i in range(5)] + [(f"u{i}", 1, e) for i, e in enumerate("XXYZW")] + [END]
    r = run(rows, steps="AB", top=2)
    assert paths(r, 1, "next_event") == {"X": 2, "W": 1, "(other)": 2}          # W, Y, Z tie: text order
    assert sum(shares(r, 1, "next_event")) == pytest.approx(1)
    assert paths(run(rows, steps="AB", top=0), 1, "next_event") == {"X": 2, "W": 1, "Y": 1, "Z": 1}
    assert paths(run(rows, steps="AB", top=4), 1, "next_event") == {"X": 2, "W": 1, "Y": 1, "Z": 1}
    with pytest.raises(UsageError):
        run(rows, steps="AB", top=-1)


def test_next_page_is_the_first_later_event_with_a_page_value():
    rows = [("u1", 0, "A", "/a"), ("u1", 1, "S"), ("u1", 2, "P", "/b"),      # S has no page: skipped
            ("u2", 0, "A", "/a"), ("u2", 1, "S"),                            # no later page: (none)
            ("u3", 0, "A"), ("u3", 12, "P", "/late"),                        # after the window: (none)
            ("u4", 0, "A"), ("u4", 1, "P", "/b"), END]
    r = run(rows, steps="AB", properties={"page": "p"})
    assert r.page == "page"
    assert paths(r, 1, "next_page") == {"(none)": 2, "/b": 2}
    assert paths(r, 1, "next_event") == {"S": 2, "(none)": 1, "P": 1}
    kinds = r.frame.loc[r.frame["step"] == 1, "kind"].drop_duplicates().tolist()
    assert kinds == ["next_event", "next_path", "next_page", "last_event"]
    explicit = run(rows, steps="AB", page="p")                           # --page on a plain column
    assert explicit.page == "p" and paths(explicit, 1, "next_page") == {"(none)": 2, "/b": 2}
    assert run(rows, steps="AB").page is None                            # no page/page_path property
    with pytest.raises(UsageError, match="'nope'"):
        run(rows, steps="AB", page="nope")


def test_page_path_property_is_found_by_name():
    rows = [("u1", 0, "A", "https://x.com/p/1?q=2"), ("u1", 1, "P", "https://x.com/p/2"), END]
    r = run(rows, steps="AB", properties={"page_path": {"from": "p", "url": "path"}})
    assert r.page == "page_path" and paths(r, 1, "next_page") == {"/p/2": 1}


def test_frame_columns_types_and_order():
    r = run([("u1", 0, "A"), ("u1", 1, "B"), ("u2", 0, "A"), ("u2", 1, "X"), END])
    f = r.frame
    assert list(f.columns) == PATHS_COLUMNS
    assert f["units"].dtype == "int64" and f["step"].dtype == "int64" and f["share"].dtype == "float64"
    assert list(zip(f["step"], f["group"], f["kind"])) == [
        (1, "dropped", "next_event"), (1, "dropped", "next_path"), (1, "dropped", "last_event"),
        (1, "converted", "between"), (2, "dropped", "next_event"), (2, "dropped", "next_path"),
        (2, "dropped", "last_event")]
    assert set(f["funnel"]) == {"f"}


def test_nobody_entered_gives_an_empty_frame_with_the_columns():
    r = run([("u1", 0, "X")])
    assert len(r.frame) == 0 and list(r.frame.columns) == PATHS_COLUMNS and r.dropped == (0, 0, 0)


def test_unknown_funnel_is_a_config_error_with_did_you_mean():
    cfg, events = setup([("u1", 0, "A")])
    with pytest.raises(ConfigError, match="unknown funnel 'g' \\(known funnels: f\\)"):
        drop_off_paths(cfg, events, "g")


# --- the command line ---------------------------------------------------------------------------

CLI_CONFIG = """\
columns: {user: user_id, event: event_name, timestamp: timestamp, properties: {page: page}}
funnels:
  abc:
    steps: [{event: A}, {event: B}, {event: C}]
    window: 10s
"""
CLI_EVENTS = """\
user_id,event_name,timestamp,page
u1,A,2026-01-01T00:00:00Z,/a
u1,X,2026-01-01T00:00:01Z,/x
u2,A,2026-01-01T00:00:00Z,
u3,A,2026-01-01T00:00:00Z,
u3,B,2026-01-01T00:00:01Z,
u3,C,2026-01-01T00:00:03Z,
u4,A,2026-01-01T00:00:25Z,
u5,Z,2026-01-01T00:00:30Z,
"""
HEADER = "funnel,step,name,group,kind,path,units,share"


@pytest.fixture
def small(tmp_path):
    (tmp_path / "f.yaml").write_text(CLI_CONFIG)
    (tmp_path / "e.csv").write_text(CLI_EVENTS)
    return tmp_path


def test_cli_csv_header_is_stable_and_rows_are_tidy(runner, small):
    result = invoke(runner, "paths", "e.csv", "-c", "f.yaml", "--funnel", "abc", "-f", "csv", cwd=small)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == HEADER == ",".join(PATHS_COLUMNS)
    assert "abc,1,A,dropped,next_event,(none),1,0.5" in lines
    assert "abc,1,A,dropped,next_event,X,1,0.5" in lines
    assert "abc,1,A,dropped,next_page,/x,1,0.5" in lines
    assert "abc,1,A → B,converted,between,(direct),1,1" in lines
    # u4 entered at 25 with the data ending at 30: in progress, said on stderr
    assert "1 users in progress" in result.stderr and "not counted as dropped" in result.stderr


def test_cli_json_and_table(runner, small):
    result = invoke(runner, "paths", "e.csv", "-c", "f.yaml", "--funnel", "abc", "-f", "json", cwd=small)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    first = doc["steps"][0]
    assert doc["funnel"] == "abc" and doc["page"] == "page" and doc["unit"] == "users"
    assert (first["dropped"], first["in_progress"], first["converted"]) == (2, 1, 1)
    assert {p["path"]: p["units"] for p in first["next_event"]} == {"(none)": 1, "X": 1}
    assert first["between"] == [{"path": "(direct)", "units": 1, "share": 1.0}]
    table = invoke(runner, "paths", "e.csv", "-c", "f.yaml", "--funnel", "abc", cwd=small)
    assert table.exit_code == 0
    assert "After 1. A: 2 users dropped (50.0% of 4 who reached it)" in table.stdout
    assert "1. A → 2. B: 1 user went on" in table.stdout
    assert "next event" in table.stdout and "next page" in table.stdout and "last event" in table.stdout


def test_cli_output_file_quiet_and_mature_only(runner, small):
    result = invoke(runner, "paths", "e.csv", "-c", "f.yaml", "--funnel", "abc", "-f", "csv", "-o", "out.csv",
                    "-q", "--mature-only", cwd=small)
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""
    text = (small / "out.csv").read_text()
    assert text.startswith(HEADER + "\n") and "abc,1,A,dropped,next_event,X,1,0.5" in text
    table = invoke(runner, "paths", "e.csv", "-c", "f.yaml", "--funnel", "abc", "-o", "out.txt", cwd=small)
    assert table.exit_code == 0 and "After 1. A" in (small / "out.txt").read_text()


@pytest.mark.parametrize("args, code, message", [
    (["--funnel", "abd"], 3, "unknown funnel 'abd' (did you mean 'abc'?)"),
    ([], 2, "Missing option '--funnel'"),
    (["--funnel", "abc", "-f", "markdown"], 2, "--format 'markdown' is not one of"),
    (["--funnel", "abc", "--top", "-1"], 2, "--top"),
    (["--funnel", "abc", "--since", "yesterday-ish"], 2, "--since"),
    (["--funnel", "abc", "--page", "nope"], 4, "'nope'"),
])
def test_cli_errors(runner, small, args, code, message):
    result = invoke(runner, "paths", "e.csv", "-c", "f.yaml", *args, cwd=small)
    assert result.exit_code == code
    assert message in result.stderr


# --- the example shop log -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def shop():
    from conftest import ROOT

    cfg = microconv.load_config(ROOT / EXAMPLE_CONFIG)
    events, _ = microconv.load_events([ROOT / EXAMPLE_CSV], cfg, extra_properties=["page_path"])
    return cfg, events


@pytest.mark.parametrize("mature_only", [False, True])
def test_example_checkout_groups_are_the_funnels_numbers(shop, mature_only):
    cfg, events = shop
    r = drop_off_paths(cfg, events, "checkout", mature_only=mature_only)
    steps = microconv.analyze(cfg, events, funnels=["checkout"], reports=["funnels"],
                              mature_only=mature_only).funnels[0].steps
    f = r.frame
    assert r.page == "page_path"
    for k in (1, 2, 3):
        dropped = steps[k].dropped          # 9.2: the table's dropped at step k+1 (in-progress units are not in it)
        assert r.dropped[k - 1] == dropped > 0 and r.converted[k - 1] == steps[k].users
        for kind in ("next_event", "next_path", "next_page", "last_event"):
            rows = f[(f["step"] == k) & (f["kind"] == kind)]
            assert rows["units"].sum() == dropped and rows["share"].sum() == pytest.approx(1)
            assert len(rows) <= 11 and (rows["path"] == "(other)").sum() <= 1
        between = f[(f["step"] == k) & (f["kind"] == "between")]
        assert between["units"].sum() == steps[k].users and between["share"].sum() == pytest.approx(1)
    if mature_only:
        assert r.in_progress == (0, 0, 0, 0) and r.dropped[0] == steps[1].dropped


def test_example_checkout_plausible_facts(shop):
    cfg, events = shop
    r = drop_off_paths(cfg, events, "checkout")
    f = r.frame
    top = f.groupby(["step", "kind"], sort=False)["path"].first()
    assert top[(1, "next_event")] == "page_view"          # most browse on after viewing a product
    assert top[(3, "between")] == "(direct)"              # most pay straight after starting checkout
    assert top[(3, "last_event")] == "begin_checkout"     # and a third of those who do not, leave right there
    assert set(f.loc[f["kind"] == "next_page", "path"]) >= {"/", "/pricing"}
    # the funnel steps are events too: a dropped cart's next events can lead back to add_to_cart
    assert f.loc[(f["step"] == 2) & (f["kind"] == "next_path"), "path"].str.contains("add_to_cart").any()
    # every path between steps is (direct), (other), or events joined by arrows
    between = f.loc[f["kind"] == "between", "path"]
    assert between.str.match(r"^(\(direct\)|\(other\)|[a-z_]+( → [a-z_]+){0,4}( … \(\+\d+ more\))?)$").all()


def test_example_every_funnel_kind_runs(shop):
    cfg, events = shop
    for name in cfg.funnels:
        r = drop_off_paths(cfg, events, name, top=3)
        assert list(r.frame.columns) == PATHS_COLUMNS
        sums = r.frame.groupby(["step", "kind"])["share"].sum()
        assert ((sums - 1).abs() < 1e-9).all(), name
