"""User ids and event names as codes (rules 1.1, 1.2): dictionary chunks, the parts ids are hashed
in, and the categorical they end as."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from conftest import examples


def test_piece_ids_code_each_chunk_after_the_ones_before():
    """A CSV piece can hold several chunks, each with its own dictionary: codes point into the
    names of all chunks side by side; blank and missing ids are -1 (rule 1.1)."""
    from microconv.load.ids import piece_ids
    clean = pa.DictionaryArray.from_arrays(pa.array([1, 0, 1], pa.int32()), pa.array(["u1", "u2"]))
    messy = pa.DictionaryArray.from_arrays(pa.array([0, None, 2, 1], pa.int32()), pa.array([" u2 ", "  ", "u3"]))
    codes, names = piece_ids(pa.chunked_array([clean, messy]))
    assert codes.tolist() == [1, 0, 1, 2, -1, 4, -1]
    assert names.to_pylist() == ["u1", "u2", "u2", "", "u3"]


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.lists(st.sampled_from(["", "u1", "u2", "u10", "a@b.co", "é", "x" * 40, "2", "20", "02"]),
                         max_size=12), max_size=5), st.booleans())
def test_ids_hashed_in_parts_name_each_row_its_own_id(pieces, counted):
    """However ids fall into pieces and parts, each kept row gets back its own id, and equal ids one code."""
    from microconv.load.ids import Ids, categorical_ids
    ids = []
    for rows in pieces:
        names = pa.array(["never used", *dict.fromkeys(rows)])      # in order of first appearance
        codes = np.array([names.to_pylist().index(r) for r in rows], dtype=np.int32)
        keep = codes[::2]                                      # every other row is kept
        ids.append(Ids.of(keep, names, codes if counted else None))
    users, distinct = categorical_ids(ids, every_name_kept=not counted)
    assert users.astype(object).tolist() == [r for rows in pieces for r in rows[::2]]
    assert len(users.cat.categories) == len(set(users.cat.categories))
    assert set(users.cat.categories) == {r for rows in pieces for r in rows[::2]}
    assert distinct == (len({r for rows in pieces for r in rows}) if counted else len(users.cat.categories))


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.lists(st.sampled_from([0, 1, 2, 10, 20, 2**40, -5, None]), max_size=12)),
                max_size=5), st.booleans(), st.booleans())
def test_numeric_pieces_name_each_row_the_text_of_its_number(pieces, counted, dense):
    """Pieces of integer ids, alone or among pieces that hold the same ids as text (a Parquet file
    and a CSV export of the same users): each kept row's user is its number's digits, a number and
    its text are one user (rule 1.1), and users are counted over the usable rows. ``dense`` keeps
    the numbers in a narrow range (coded through a table), else they spread (hashed)."""
    from microconv.load.ids import Ids, NumericIds, categorical_ids
    ids, kept, usable_ids = [], [], set()
    for numeric, rows in pieces:
        rows = [r if r is None or dense or r in (None, -5) else r * 2**20 for r in rows]
        usable = [i for i, r in enumerate(rows) if r is not None]
        keep = usable[::2]                                     # every other usable row is kept
        kept += [str(rows[i]) for i in keep]
        usable_ids |= {rows[i] for i in usable}
        if numeric:
            ids.append(NumericIds.of(pa.array(rows, pa.int64()), np.array(keep, dtype=np.int64),
                                     np.array([r is not None for r in rows], dtype=bool), counted))
        else:
            distinct = list(dict.fromkeys(str(r) for r in rows if r is not None))
            names = pa.array(["never used", *distinct])
            codes = np.array([distinct.index(str(rows[i])) + 1 for i in usable], dtype=np.int32)
            ids.append(Ids.of(np.array([distinct.index(str(rows[i])) + 1 for i in keep], dtype=np.int32), names,
                              codes if counted else None))
    users, distinct = categorical_ids(ids, every_name_kept=not counted)
    assert users.astype(object).tolist() == kept
    assert len(users.cat.categories) == len(set(users.cat.categories)) == len(set(kept))
    assert distinct == (len(usable_ids) if counted else len(set(kept)))


def test_the_part_of_an_id_depends_only_on_its_bytes():
    from microconv.load.ids import _part_of
    ids = pa.array(["", "abc", "u1", "", "abc", "é", "u1"])
    whole = _part_of(ids)
    assert whole[0] == whole[3] and whole[1] == whole[4] and whole[2] == whole[6]
    assert _part_of(ids.slice(3)).tolist() == whole[3:].tolist()
    assert _part_of(pa.array(["", ""])).tolist() == [0, 0]


def test_event_codes_skip_missing_names_in_the_dictionary_and_across_chunks():
    from microconv.load.ids import event_codes
    first = pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 2], pa.int32()), pa.array(["view", None, "buy"]))
    second = pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int32()), pa.array(["cart", "view"]))
    codes, names = event_codes(pa.chunked_array([first, second]))
    assert [names[c] if c >= 0 else None for c in codes] == ["view", None, None, "buy", "cart", "view"]
    assert sorted(names) == ["buy", "cart", "view"]
    codes, names = event_codes(pa.chunked_array([pa.array([3, None, 3, 7])]))      # numbers: their digits
    assert [names[c] if c >= 0 else None for c in codes] == ["3", None, "3", "7"]


def test_event_names_of_other_types_read_as_pandas_writes_them():
    from microconv.load.ids import event_codes
    codes, names = event_codes(pa.chunked_array([pa.array([3.0, None, 2.5])]))
    assert [names[c] if c >= 0 else None for c in codes] == ["3.0", None, "2.5"]
    codes, names = event_codes(pa.chunked_array([pa.array([True, False])]))
    assert [names[c] for c in codes] == ["True", "False"]


def _part_by_hand(text: str) -> int:
    """The part of one id, as _part_of's docstring defines it, in Python integers (mod 2**32)."""
    b = text.encode()
    n = len(b)
    last, before, middle = (b[-1] if n else 0), (b[-2] if n > 1 else 0), (b[n // 2] if n else 0)
    ends = ((last | before << 8 | middle << 16 | n << 24) * 0x9E3779B1) & 0xFFFFFFFF
    mixed = ((ends ^ (sum(b) * 0x85EBCA6B) & 0xFFFFFFFF) * 0xC2B2AE35) & 0xFFFFFFFF
    return mixed >> 26


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.text(max_size=6), max_size=30), st.integers(0, 3))
def test_id_parts_are_the_defined_hash(ids, cut):
    """Empty ids anywhere (also last), multi-byte text, and a slice of a longer array."""
    from microconv.load.ids import _part_of

    arr = pa.array(["pad"] * cut + ids + ["pad"] * cut, pa.string()).slice(cut, len(ids))
    assert _part_of(arr).tolist() == [_part_by_hand(t) for t in ids]


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=" \t\n\x1f\x00\u00a0\u2003\u3000é€ab1", max_size=4)),
                max_size=20), st.integers(0, 3))
def test_blank_ids_are_those_that_trim_to_nothing(ids, cut):
    """The cheap check of plain-text ids (only values that start with a control, space or non-ASCII
    byte are trimmed) agrees with trimming every value, also on a sliced array."""
    from microconv.load.ids import blank_ids
    values = pa.array(ids, pa.string()).slice(min(cut, len(ids)))
    expected = [v is None or pc_trim(v) == "" for v in values.to_pylist()]
    assert blank_ids(values).tolist() == expected


def pc_trim(value: str) -> str:
    import pyarrow.compute as pc
    return pc.utf8_trim_whitespace(pa.array([value])).to_pylist()[0]


def test_row_groups_whose_statistics_rule_out_blank_ids(tmp_path):
    """A Parquet row group whose least id starts above space and whose greatest starts with an
    ASCII byte can hold no blank id (rule 1.1): its rows are not checked one by one. Row groups of
    two rows each: ["u1", "u2"] is such; [" ", "u3"], ["u4", "\\u00a0"] (a no-break space) and
    ["u5", None] are not, and their blank ids are still dropped."""
    import pyarrow.parquet as pq

    from microconv import load_config
    from microconv.load.scan import load_events
    from microconv.load.sources import never_blank

    ids = ["u1", "u2", " ", "u3", "u4", "\u00a0", "u5", None]
    pq.write_table(pa.table({"user_id": pa.array(ids, pa.string()), "event_name": ["view_item"] * 8,
                             "timestamp": [f"2026-10-0{d}T10:00:00Z" for d in range(1, 9)]}),
                   tmp_path / "log.parquet", row_group_size=2)
    meta = pq.ParquetFile(tmp_path / "log.parquet").metadata
    assert [never_blank(meta.row_group(i), ["user_id"]) for i in range(4)] == [["user_id"], [], [], []]
    (tmp_path / "rules.yaml").write_text("columns: {user: user_id, event: event_name, timestamp: timestamp}\n"
                                         "funnels:\n  f:\n    steps: [{event: view_item}]\n")
    events, report = load_events([tmp_path / "log.parquet"], load_config(tmp_path / "rules.yaml"),
                                 only_events=["view_item"], count_users=False)
    assert events.frame["user"].astype(str).tolist() == ["u1", "u2", "u3", "u4", "u5"]
    assert sum(report.dropped.values()) == 3


def test_large_string_ids_read_as_plain_text(tmp_path):
    """Polars writes text as Arrow large_string: with users not counted its ids are read as plain
    text, and they are the same ids as the string column's (64-bit offsets cast, not misread)."""
    import pyarrow.parquet as pq

    from microconv import load_config
    from microconv.load.scan import load_events

    (tmp_path / "rules.yaml").write_text("columns: {user: user_id, event: event_name, timestamp: timestamp}\n"
                                         "funnels:\n  f:\n    steps: [{event: view_item}]\n")
    cfg = load_config(tmp_path / "rules.yaml")
    ids = ["u1", " u2", "u1", "", "u3"]
    users = []
    for kind in (pa.string(), pa.large_string()):
        pq.write_table(pa.table({"user_id": pa.array(ids, kind), "event_name": ["view_item"] * 5,
                                 "timestamp": [f"2026-10-0{d}T10:00:00Z" for d in range(1, 6)]}), tmp_path / "log.parquet")
        events, report = load_events([tmp_path / "log.parquet"], cfg, only_events=["view_item"], count_users=False)
        users.append(events.frame["user"].astype(str).tolist())
    assert users == [["u1", "u2", "u1", "u3"]] * 2
