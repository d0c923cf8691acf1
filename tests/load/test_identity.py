"""Rule 1.9, one person behind several ids: the worked examples of docs/semantics.md as cases, read
from a frame, CSV and Parquet (all rows, and only the funnel's events), through ``microconv
analyze``, and a property test against a plain per-row reference written here.

A case's ``rows`` are ``known anonymous... event t`` lines (one field per anonymous column, ``-``
for a missing id); ``users`` is each row's user, ``funnel`` the users at view/cart/buy, ``notes``
the data-quality notes.
"""
from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import microconv
from builders import EPOCH, events_of
from conftest import examples
from helpers import invoke

CASES = yaml.safe_load("""
- name: I1 a visitor logs in and buys
  anonymous: [anonymous_id]
  rows: |
    - a1 view 1
    - a1 cart 2
    K1 a1 login 3
    K1 - buy 4
    - a2 view 5
  users: [K1, K1, K1, K1, a2]
  funnel: [2, 1, 1]
  notes: ["joined 2 rows of 1 anonymous id to known users (rule 1.9)"]
- name: I2 the first link wins, by timestamp
  anonymous: [anonymous_id]
  rows: |
    - a1 view 1
    K1 a1 login 5
    K2 a1 login 3
    - a1 buy 6
  users: [K2, K1, K2, K2]
  funnel: [1, 0, 0]
  notes: ["joined 2 rows of 1 anonymous id to known users (rule 1.9)",
          "1 anonymous id met more than one known id; each joins the first it was seen with (rule 1.9)"]
- name: I2b at equal timestamps the first row in the input wins
  anonymous: [anonymous_id]
  rows: |
    K1 a1 login 3
    K2 a1 login 3
    - a1 view 4
  users: [K1, K2, K1]
  funnel: [1, 0, 0]
  notes: ["joined 1 row of 1 anonymous id to known users (rule 1.9)",
          "1 anonymous id met more than one known id; each joins the first it was seen with (rule 1.9)"]
- name: I3 two anonymous columns, the first with a value is the row's
  anonymous: [anonymous_id, device_id]
  rows: |
    K1 - d9 login 1
    - - d9 view 2
    - a1 d9 cart 3
    - a1 - view 4
  users: [K1, K1, a1, a1]
  funnel: [2, 0, 0]
  notes: ["joined 1 row of 1 anonymous id to known users (rule 1.9)"]
- name: I4 an anonymous id equal to a known id is that user
  anonymous: [anonymous_id]
  rows: |
    K2 - view 1
    - K2 cart 2
  users: [K2, K2]
  funnel: [1, 1, 0]
  notes: ["joined 0 rows of 0 anonymous ids to known users (rule 1.9)"]
- name: rows with neither id are dropped by rule 1.1
  anonymous: [anonymous_id]
  rows: |
    - - view 1
    - a1 view 2
    K1 a1 cart 3
  users: [null, K1, K1]
  funnel: [1, 1, 0]
  notes: ["dropped 1 of 3 rows without a user id (first: FIRST)",
          "joined 1 row of 1 anonymous id to known users (rule 1.9)"]
""")

STEPS = ["view", "cart", "buy"]


def config_of(anonymous: list[str], known="user_id") -> microconv.Config:
    return microconv.parse_config({
        "columns": {"user": {"known": known, "anonymous": anonymous}, "event": "event", "timestamp": "ts"},
        "conversions": {s: {"event": s} for s in STEPS},
        "funnels": {"shop": {"steps": STEPS, "window": "1h"}},
    })


def frame_of(case) -> pd.DataFrame:
    names = ["user_id", *case["anonymous"], "event", "ts"]
    rows = [line.split() for line in case["rows"].strip().splitlines()]
    frame = pd.DataFrame(rows, columns=names).replace("-", None)
    frame["ts"] = EPOCH + pd.to_timedelta(frame["ts"].astype(int), unit="s")
    return frame


def users_of(events: microconv.Events) -> list[str]:
    return [str(u) for u in events.frame["user"]]


def funnel_users(config, events) -> list[int]:
    return [int(n) for n in microconv.analyze(config, events).steps_frame()["users"]]


def expected_notes(case, first: str) -> list[str]:
    return [n.replace("FIRST", first) for n in case["notes"]]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case_from_a_frame(case):
    config = config_of(case["anonymous"])
    events, quality = microconv.canonicalize(frame_of(case), config)
    assert users_of(events) == [u for u in case["users"] if u is not None]
    assert events.summary.users == len({u for u in case["users"] if u is not None})
    assert funnel_users(config, events) == case["funnel"]
    assert quality.messages() == expected_notes(case, "row 1")
    pruned, quality = microconv.canonicalize(frame_of(case), config, only_events=STEPS)
    assert funnel_users(config, pruned) == case["funnel"]          # the login links survive the pruning
    assert pruned.summary == events.summary
    assert quality.messages() == expected_notes(case, "row 1")


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case_from_files(case, kind, tmp_path):
    config = config_of(case["anonymous"])
    path = tmp_path / f"e.{kind}"
    frame = frame_of(case)
    if kind == "csv":
        frame.to_csv(path, index=False)
    else:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=1)   # a piece a row
    first = f"{path}:2" if kind == "csv" else f"{path}: row 1"
    for only in (None, STEPS):
        events, quality = microconv.load_events([path], config, only_events=only)
        assert funnel_users(config, events) == case["funnel"]
        assert events.summary.users == len({u for u in case["users"] if u is not None})
        assert quality.messages() == expected_notes(case, first)
    everything, _ = microconv.load_events([path], config)
    assert users_of(everything) == [u for u in case["users"] if u is not None]


def test_a_file_with_only_the_anonymous_column_joins_through_another_file(tmp_path):
    """Files are planned one by one: the second file has no user_id column at all."""
    config = config_of(["anonymous_id"])
    pd.DataFrame({"user_id": ["K1"], "anonymous_id": ["a1"], "event": ["login"],
                  "ts": ["2026-01-01T00:00:01Z"]}).to_csv(tmp_path / "1.csv", index=False)
    pd.DataFrame({"anonymous_id": ["a1", "a1", "a2"], "event": ["view", "buy", "view"],
                  "ts": ["2026-01-01T00:00:00Z", "2026-01-01T00:00:05Z", "2026-01-01T00:00:06Z"]}
                 ).to_csv(tmp_path / "2.csv", index=False)
    events, quality = microconv.load_events([tmp_path / "1.csv", tmp_path / "2.csv"], config)
    assert users_of(events) == ["K1", "K1", "K1", "a2"]
    assert quality.messages() == ["joined 2 rows of 1 anonymous id to known users (rule 1.9)"]


def test_a_file_with_none_of_the_id_columns_is_an_error(tmp_path):
    pd.DataFrame({"event": ["view"], "ts": ["2026-01-01T00:00:00Z"]}).to_csv(tmp_path / "e.csv", index=False)
    with pytest.raises(microconv.DataError, match="no user column; looked for 'user_id', 'anonymous_id'"):
        microconv.load_events([tmp_path / "e.csv"], config_of(["anonymous_id"]))


def test_an_anonymous_column_no_file_has_is_an_error(tmp_path):
    pd.DataFrame({"user_id": ["K1"], "anonymous_id": ["a1"], "event": ["view"], "ts": ["2026-01-01T00:00:00Z"]}
                 ).to_csv(tmp_path / "e.csv", index=False)
    with pytest.raises(microconv.DataError, match="anonymous id column 'anonymous_di' is not a column of any"):
        microconv.load_events([tmp_path / "e.csv"], config_of(["anonymous_id", "anonymous_di"]))


def test_anonymous_paths_into_nested_columns():
    """An anonymous id may be a path (rule 1.8), like any column name."""
    config = config_of(["context.anonymous_id"])
    frame = pd.DataFrame({
        "user_id": [None, "K1"], "event": ["view", "login"],
        "context": [json.dumps({"anonymous_id": "a1"}), json.dumps({"anonymous_id": "a1"})],
        "ts": [EPOCH, EPOCH + pd.Timedelta(seconds=1)]})
    events, _ = microconv.canonicalize(frame, config)
    assert users_of(events) == ["K1", "K1"]


def test_integer_ids_compare_as_text():
    config = config_of(["device_id"])
    frame = pd.DataFrame({"user_id": [None, 7], "device_id": [12, 12], "event": ["view", "login"],
                          "ts": [EPOCH, EPOCH + pd.Timedelta(seconds=1)]})
    events, _ = microconv.canonicalize(frame, config)
    assert users_of(events) == ["7", "7"]


def test_plain_user_columns_keep_their_meaning():
    """An alias list is per file, not per row: anonymous_id is not read where user_id is present."""
    plain = microconv.parse_config({"columns": {"user": ["user_id", "anonymous_id"], "event": "event",
                                                "timestamp": "ts"}, "conversions": {"v": {"event": "view"}}})
    frame = pd.DataFrame({"user_id": [None, "K1"], "anonymous_id": ["a1", "a1"], "event": ["view", "login"],
                          "ts": [EPOCH, EPOCH + pd.Timedelta(seconds=1)]})
    events, quality = microconv.canonicalize(frame, plain)
    assert users_of(events) == ["K1"]
    assert quality.messages() == ["dropped 1 of 2 rows without a user id (first: row 1)"]
    assert users_of(events_of([("u1", 0, "view"), ("u2", 1, "view")], plain)) == ["u1", "u2"]


def write_case_files(tmp_path, case) -> None:
    """The case as e.csv and the config as f.yaml, for the command line."""
    frame_of(case).to_csv(tmp_path / "e.csv", index=False)
    (tmp_path / "f.yaml").write_text(yaml.safe_dump({
        "columns": {"user": {"known": "user_id", "anonymous": case["anonymous"]}, "event": "event", "timestamp": "ts"},
        "conversions": {s: {"event": s} for s in STEPS},
        "funnels": {"shop": {"steps": STEPS, "window": "1h"}}}))


def test_analyze_on_the_command_line_prunes_and_still_joins(runner, tmp_path):
    """``analyze`` keeps only the funnel's events in memory (1.7); the login that links a1 is not one."""
    write_case_files(tmp_path, CASES[0])
    result = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "-f", "json", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    steps = json.loads(result.stdout)["funnels"][0]["steps"]
    assert [s["users"] for s in steps] == [2, 1, 1]
    assert "joined 2 rows of 1 anonymous id to known users" in result.stderr


# --- the property test: the vectorised join against a plain per-row reference ------------------

def reference_users(rows: list[tuple]) -> tuple[list[str | None], int, int, int]:
    """Per row (known, anonymous ids..., t), its user by rule 1.9, read row by row; and the rows
    joined, their distinct anonymous ids, and the anonymous ids that met several known ids."""
    def anonymous(row):
        return next((a for a in row[1:-1] if a is not None), None)

    first: dict[str, str] = {}
    met: dict[str, set[str]] = {}
    for _, row in sorted(enumerate(rows), key=lambda item: (item[1][-1], item[0])):
        if row[0] is not None and anonymous(row) is not None:
            first.setdefault(anonymous(row), row[0])
            met.setdefault(anonymous(row), set()).add(row[0])
    users, joined = [], []
    for row in rows:
        if row[0] is not None:
            users.append(row[0])
        elif anonymous(row) is None:
            users.append(None)
        else:
            users.append(first.get(anonymous(row), anonymous(row)))
            if anonymous(row) in first:
                joined.append(anonymous(row))
    return users, len(joined), len(set(joined)), sum(len(k) > 1 for k in met.values())


ID = st.sampled_from([None, "K1", "K2", "a1", "a2", "a3"])


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.tuples(st.sampled_from([None, "K1", "K2", "K3"]), ID, ID, st.integers(0, 5),
                          st.sampled_from(["view", "cart", "login"])), min_size=1, max_size=25),
       st.booleans())
def test_join_matches_the_per_row_reference(rows, pruned):
    config = config_of(["anonymous_id", "device_id"])
    frame = pd.DataFrame({"user_id": [r[0] for r in rows], "anonymous_id": [r[1] for r in rows],
                          "device_id": [r[2] for r in rows], "event": [r[4] for r in rows],
                          "ts": [EPOCH + pd.Timedelta(seconds=r[3]) for r in rows]})
    expected, joined, ids, conflicts = reference_users([r[:3] + (r[3],) for r in rows])
    if all(u is None for u in expected):
        return
    events, quality = microconv.canonicalize(frame, config, only_events=["view", "cart"] if pruned else None)
    kept = [u for u, r in zip(expected, rows) if u is not None and (not pruned or r[4] != "login")]
    assert users_of(events) == kept
    assert events.summary.users == len({u for u in expected if u is not None})
    notes = [n for n in quality.messages() if "anonymous" in n]
    assert notes[0] == (f"joined {joined} row{'' if joined == 1 else 's'} of {ids} anonymous "
                        f"id{'' if ids == 1 else 's'} to known users (rule 1.9)")
    assert len(notes) == 1 + (conflicts > 0)
    if conflicts:
        assert notes[1].startswith(f"{conflicts} anonymous id{'' if conflicts == 1 else 's'} met more than one")


def test_the_join_notes_inform_and_are_no_problem():
    """``problems()`` is what --strict refuses (dropped rows); the join notes only inform."""
    events, quality = microconv.canonicalize(frame_of(CASES[-1]), config_of(["anonymous_id"]))
    assert quality.problems() == ["dropped 1 of 3 rows without a user id (first: row 1)"]
    assert quality.messages() == quality.problems() + ["joined 1 row of 1 anonymous id to known users (rule 1.9)"]


def test_strict_does_not_refuse_the_join_notes(runner, tmp_path):
    write_case_files(tmp_path, CASES[0])
    result = invoke(runner, "analyze", "e.csv", "-c", "f.yaml", "--strict", "-f", "json", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
