"""Reading only the rows of the config's events (``load_events(only_events=...)``) changes no number.

``analyze`` on such a frame must give what it gives on every row: the funnel tables, the
micro-conversion report (whose population counts users with none of those events), the run's
metadata and the end of the data that in-progress units are judged against (4.8).
"""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from conftest import examples

import microconv
from microconv.api import needed_events

EPOCH = pd.Timestamp("2026-03-01", tz="UTC")

CONFIG = {
    "columns": {"user": "user_id", "event": "event_name", "timestamp": "timestamp"},
    "conversions": {
        "saw": {"kind": "milestone", "event": "A"},
        "liked": {"kind": "secondary", "event": "B"},
        "two_c": {"kind": "secondary", "event": "C", "count": ">= 2"},
        "bought": {"kind": "macro", "event": "D", "value": "amount"},
    },
    "funnels": {
        "main": {"steps": ["saw", "liked", "bought"], "window": "20s"},
        "any": {"steps": ["saw", "two_c", "bought"], "window": "15s", "order": "any",
                "exclude": [{"event": "E"}]},
    },
}


def frame_of(rows: list[tuple[int, int, str]]) -> pd.DataFrame:
    return pd.DataFrame({
        "user_id": [f"u{u}" for u, _, _ in rows],
        "timestamp": [EPOCH.value // 10**9 + t for _, t, _ in rows],
        "event_name": [e for _, _, e in rows],
        "amount": [float(t) if e == "D" else None for _, t, e in rows],
    })


def both(rows, config=CONFIG, **options):
    """(result on every row, result on the needed rows only, the pruned Events)."""
    cfg = microconv.parse_config(config)
    raw = frame_of(rows)
    full, _ = microconv.canonicalize(raw, cfg)
    only = needed_events(cfg)
    pruned, _ = microconv.canonicalize(raw, cfg, only_events=only)
    return microconv.analyze(cfg, full, **options), microconv.analyze(cfg, pruned, **options), pruned


def assert_same_result(a, b) -> None:
    pd.testing.assert_frame_equal(a.steps_frame(), b.steps_frame())
    pd.testing.assert_frame_equal(a.times_frame(), b.times_frame())
    pd.testing.assert_frame_equal(a.micro.rows, b.micro.rows)
    assert (a.micro.users, a.micro.converters) == (b.micro.users, b.micro.converters)
    assert a.meta == b.meta
    assert [str(w) for w in a.warnings] == [str(w) for w in b.warnings]


def test_needed_events_are_the_names_every_matcher_reads():
    cfg = microconv.parse_config(CONFIG)
    assert needed_events(cfg) == {"A", "B", "C", "D", "E"}


@pytest.mark.parametrize("change, reason", [
    ({"funnels": {"f": {"steps": ["saw", "liked"], "window": "1h", "order": "strict"}}}, "strict order"),
    ({"funnels": {"f": {"steps": ["saw", "liked"], "window": "1h", "count": "sessions"}}}, "gap sessions"),
    ({"conversions": {**CONFIG["conversions"], "deep": {"kind": "secondary", "session": {"pages": ">= 3"}}}},
     "a session threshold"),
])
def test_needed_events_is_none_where_every_row_counts(change, reason):
    assert needed_events(microconv.parse_config({**CONFIG, **change})) is None, reason


def test_hand_case_population_and_end_of_data():
    """u1: A B D (converts); u2: A then X much later; u3 only X. Pruned, u3 has no row at all,
    yet the micro report's population is 3, and u2's attempt is judged against T = 100 (its X),
    not against 1 (the last A/B/C/D/E event): it is not in progress."""
    rows = [(1, 0, "A"), (1, 1, "B"), (1, 2, "D"), (2, 1, "A"), (3, 50, "X"), (2, 100, "X")]
    full, pruned, events = both(rows)
    assert len(events.frame) == 4 and events.summary.events == 6 and events.summary.users == 3
    assert set(events.frame["event"].cat.categories) >= {"A", "B", "D", "X"}
    assert pruned.micro.users == 3 and pruned.micro.converters == 1
    liked = pruned.micro.rows.set_index("conversion").loc["liked"]
    assert (liked["users"], liked["macro_rate_with"], liked["macro_rate_without"]) == (1, 1.0, 0.0)
    main = pruned.funnels[0]
    assert [s.users for s in main.steps] == [2, 1, 1] and [s.in_progress for s in main.steps] == [0, 0, 0]
    assert_same_result(full, pruned)


def test_a_run_that_needs_more_rows_refuses_a_pruned_frame():
    cfg = microconv.parse_config(CONFIG)
    events, _ = microconv.canonicalize(frame_of([(1, 0, "A")]), cfg, only_events={"A"})
    with pytest.raises(ValueError, match="only_events"):
        microconv.analyze(cfg, events)
    events, _ = microconv.canonicalize(frame_of([(1, 0, "A")]), cfg, only_events=needed_events(cfg))
    with pytest.raises(ValueError, match="every row"):
        microconv.analyze(cfg, events, as_of="2026-03-02")


rows_strategy = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 40), st.sampled_from("ABCDEXY")),
                         min_size=1, max_size=60)


@settings(max_examples=examples(300), deadline=None)
@given(rows=rows_strategy, mature_only=st.booleans(), since=st.one_of(st.none(), st.integers(0, 40)))
def test_pruned_rows_give_the_same_result(rows, mature_only, since):
    note(" ".join(f"u{u}:{e}@{t}" for u, t, e in rows))
    options = {"mature_only": mature_only}
    if since is not None:
        options["since"] = EPOCH + pd.Timedelta(seconds=since)
    full, pruned, _ = both(rows, **options)
    assert_same_result(full, pruned)


SIGNED = {**CONFIG, "conversions": {**CONFIG["conversions"], "signed": {"kind": "secondary", "event": "X"}}}


def test_without_the_micro_report_only_the_funnels_events_are_needed():
    """"signed" (X) is in no funnel: the micro report reads its rows, the funnels do not; funnel
    "main" alone reads A, B and D."""
    cfg = microconv.parse_config(SIGNED)
    assert needed_events(cfg) == {"A", "B", "C", "D", "E", "X"}
    assert needed_events(cfg, micro=False) == {"A", "B", "C", "D", "E"}
    assert needed_events(cfg, ["main"], micro=False) == {"A", "B", "D"}
    engaged = {**SIGNED, "columns": {**SIGNED["columns"], "properties": {
        "level": {"count_of": ["signed", "liked"]}}}}
    assert needed_events(microconv.parse_config(engaged), micro=False) == needed_events(cfg)


def test_a_funnels_only_frame_serves_the_funnels_and_refuses_the_micro_report():
    """u1: A B D X; u2: A X. Pruned for the funnels alone, the X rows are gone (2 of 6 rows), the
    funnel counts 2, 1, 1 as on every row, and the micro report, which needs X, is refused."""
    cfg = microconv.parse_config(SIGNED)
    raw = frame_of([(1, 0, "A"), (1, 1, "B"), (1, 2, "D"), (1, 3, "X"), (2, 0, "A"), (2, 5, "X")])
    pruned, _ = microconv.canonicalize(raw, cfg, only_events=needed_events(cfg, micro=False))
    assert len(pruned.frame) == 4 and pruned.summary.events == 6
    result = microconv.analyze(cfg, pruned, reports=("funnels",))
    assert [s.users for s in result.funnels[0].steps] == [2, 1, 1]
    with pytest.raises(ValueError, match="X"):
        microconv.analyze(cfg, pruned, reports=("funnels", "micro"))


@settings(max_examples=examples(200), deadline=None)
@given(rows=rows_strategy, mature_only=st.booleans())
def test_funnels_only_pruning_gives_the_same_funnels(rows, mature_only):
    note(" ".join(f"u{u}:{e}@{t}" for u, t, e in rows))
    cfg = microconv.parse_config(SIGNED)
    raw = frame_of(rows)
    full, _ = microconv.canonicalize(raw, cfg)
    pruned, _ = microconv.canonicalize(raw, cfg, only_events=needed_events(cfg, micro=False))
    a, b = (microconv.analyze(cfg, e, reports=("funnels", "time"), mature_only=mature_only) for e in (full, pruned))
    pd.testing.assert_frame_equal(a.steps_frame(), b.steps_frame())
    pd.testing.assert_frame_equal(a.times_frame(), b.times_frame())
    assert a.meta == b.meta


def test_parquet_is_read_a_row_group_at_a_time_with_progress(tmp_path):
    """Three row groups of 2 rows: progress after each (rows so far, rows in the file); the rows
    of other events are counted but not kept."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    raw = frame_of([(1, 0, "A"), (1, 1, "X"), (2, 2, "A"), (2, 3, "Y"), (3, 4, "D"), (3, 5, "X")])
    path = tmp_path / "log.parquet"
    pq.write_table(pa.Table.from_pandas(raw, preserve_index=False), path, row_group_size=2)
    seen = []
    cfg = microconv.parse_config(CONFIG)
    events, quality = microconv.load_events([path], cfg, only_events=needed_events(cfg),
                                            progress=lambda done, total: seen.append((done, total)))
    assert seen == [(2, 6), (4, 6), (6, 6)]
    assert quality.rows_read == 6 and events.frame["event"].tolist() == ["A", "A", "D"]
    assert (events.summary.events, events.summary.users) == (6, 3)


def test_no_progress_bar_when_stderr_is_not_a_terminal(capsys):
    from microconv.output import OutputPolicy

    with OutputPolicy().progress("reading events") as progress:
        assert progress is None
    assert capsys.readouterr().err == ""
