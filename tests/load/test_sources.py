"""Readers: every supported format gives the same canonical events, and bad inputs give a DataError.

Each test writes a tiny file into ``tmp_path``; the expected values are written out by hand.
"""
from __future__ import annotations

import bz2
import gzip
import json
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import microconv
from microconv import DataError
from microconv.load.sources import Source, detect_format, expand_paths

# The same 5-row log in every format. `page` is a column the config does not use.
LOG = [
    ("u1", "2026-01-01T10:00:00Z", "view_item", "/p/1"),
    ("u2", "2026-01-01T10:00:05Z", "view_item", "/p/2"),
    ("u1", "2026-01-01T10:01:00Z", "add_to_cart", "/cart"),
    ("u3", "2026-01-01T10:02:00Z", "view_item", "/p/1"),
    ("u1", "2026-01-01T10:03:00Z", "purchase", "/done"),
]
HEADER = ("user_id", "timestamp", "event_name", "page")
EXPECTED_USERS = ["u1", "u2", "u1", "u3", "u1"]
EXPECTED_TS = [
    "2026-01-01T10:00:00+00:00",
    "2026-01-01T10:00:05+00:00",
    "2026-01-01T10:01:00+00:00",
    "2026-01-01T10:02:00+00:00",
    "2026-01-01T10:03:00+00:00",
]
EXPECTED_EVENTS = ["view_item", "view_item", "add_to_cart", "view_item", "purchase"]

CONFIG = microconv.parse_config({
    "columns": {"user": "user_id", "event": "event_name", "timestamp": "timestamp"},
    "conversions": {"purchase": {"event": "purchase"}},
})


def write(path: Path, text: str) -> Path:
    """Write dedented ``text`` to ``path`` (creating folders) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def csv_text(rows=LOG, sep: str = ",") -> str:
    return "".join(sep.join(r) + "\n" for r in [HEADER, *rows])


def jsonl_text(rows=LOG) -> str:
    return "".join(json.dumps(dict(zip(HEADER, r))) + "\n" for r in rows)


def arrow_table(rows=LOG) -> pa.Table:
    return pa.table({name: [r[i] for r in rows] for i, name in enumerate(HEADER)})


# One writer per format; each returns what is passed to load_events.
def _csv(d: Path) -> str:
    return str(write(d / "events.csv", csv_text()))


def _tsv(d: Path) -> str:
    return str(write(d / "events.tsv", csv_text(sep="\t")))


def _csv_gz(d: Path) -> str:
    (d / "events.csv.gz").write_bytes(gzip.compress(csv_text().encode()))
    return str(d / "events.csv.gz")


def _csv_bz2(d: Path) -> str:
    (d / "events.csv.bz2").write_bytes(bz2.compress(csv_text().encode()))
    return str(d / "events.csv.bz2")


def _csv_zst(d: Path) -> str:
    with pa.CompressedOutputStream(str(d / "events.csv.zst"), "zstd") as out:
        out.write(csv_text().encode())
    return str(d / "events.csv.zst")


def _parquet(d: Path) -> str:
    pq.write_table(arrow_table(), d / "events.parquet")
    return str(d / "events.parquet")


def _parquet_dir(d: Path) -> str:
    # Spark-style output: part files plus a _SUCCESS marker and a hidden checksum, both skipped.
    folder = d / "events"
    folder.mkdir()
    pq.write_table(arrow_table(LOG[:3]), folder / "part-0.parquet")
    pq.write_table(arrow_table(LOG[3:]), folder / "part-1.parquet")
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-0.parquet.crc").write_text("x")
    return str(folder)


def _csv_glob(d: Path) -> str:
    # Written day-2 first: the pattern's files are read sorted by name, not by creation.
    write(d / "logs" / "day-2.csv", csv_text(LOG[3:]))
    write(d / "logs" / "day-1.csv", csv_text(LOG[:3]))
    write(d / "logs" / "notes.txt", "not an event file\n")
    return str(d / "logs" / "day-*.csv")


def _jsonl(d: Path) -> str:
    return str(write(d / "events.jsonl", jsonl_text()))


def _jsonl_gz(d: Path) -> str:
    (d / "events.jsonl.gz").write_bytes(gzip.compress(jsonl_text().encode()))
    return str(d / "events.jsonl.gz")


WRITERS = {
    "csv": _csv, "tsv": _tsv, "csv.gz": _csv_gz, "csv.bz2": _csv_bz2, "csv.zst": _csv_zst,
    "parquet": _parquet, "parquet-dir": _parquet_dir, "glob": _csv_glob,
    "jsonl": _jsonl, "jsonl.gz": _jsonl_gz,
}


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_every_format_gives_the_same_canonical_frame(tmp_path, fmt):
    target = WRITERS[fmt](tmp_path)
    events, report = microconv.load_events([target], CONFIG)
    frame = events.frame
    assert list(frame.columns) == ["user", "ts", "event"]  # `page` is not needed, so not read
    assert str(frame["ts"].dtype) == "datetime64[ns, UTC]"
    assert frame["user"].tolist() == EXPECTED_USERS
    assert [t.isoformat() for t in frame["ts"]] == EXPECTED_TS
    assert frame["event"].tolist() == EXPECTED_EVENTS
    assert report.rows_read == 5
    assert report.dropped == {}


def test_directory_and_glob_list_files_sorted(tmp_path):
    _parquet_dir(tmp_path)
    _csv_glob(tmp_path)
    assert [p.name for p in expand_paths([tmp_path / "events"])] == ["part-0.parquet", "part-1.parquet"]
    assert [p.name for p in expand_paths([str(tmp_path / "logs" / "day-*.csv")])] == ["day-1.csv", "day-2.csv"]


def test_files_keep_the_order_given(tmp_path):
    b = write(tmp_path / "b.csv", "x\n")
    a = write(tmp_path / "a.csv", "x\n")
    assert expand_paths([b, a]) == [b, a]


@pytest.mark.parametrize(("name", "fmt"), [
    ("events.csv", "csv"), ("events.TSV", "csv"), ("events.csv.gz", "csv"), ("events.csv.zst", "csv"),
    ("events.csv.bz2", "csv"), ("events.txt", "csv"), ("events.parquet", "parquet"), ("events.pq", "parquet"),
    ("events.jsonl", "jsonl"), ("events.ndjson.gz", "jsonl"), ("2026.01.01.events.json", "jsonl"),
])
def test_detect_format_from_the_name(name, fmt):
    assert detect_format(Path(name)) == fmt


@pytest.mark.parametrize("name", ["events.xlsx", "events", "events.gz", "events.csv.rar"])
def test_unknown_extension_is_a_data_error(tmp_path, name):
    path = write(tmp_path / name, "user_id,timestamp,event_name\n")
    with pytest.raises(DataError, match="cannot tell the format") as info:
        microconv.load_events([path], CONFIG)
    assert info.value.problems[0].where == str(path)


def test_missing_file_suggests_a_sibling(tmp_path):
    write(tmp_path / "events.csv", csv_text())
    with pytest.raises(DataError, match="file not found") as info:
        microconv.load_events([tmp_path / "evnets.csv"], CONFIG)
    assert info.value.problems[0].where == str(tmp_path / "evnets.csv")
    assert info.value.hint == "did you mean 'events.csv'?"


def test_missing_directory_says_so(tmp_path):
    with pytest.raises(DataError, match="file not found") as info:
        expand_paths([tmp_path / "nowhere" / "events.csv"])
    assert info.value.hint == f"directory {str(tmp_path / 'nowhere')!r} does not exist either"


def test_glob_matching_nothing_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no file matches this pattern"):
        expand_paths([str(tmp_path / "day-*.csv")])


def test_empty_directory_is_a_data_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "_SUCCESS").write_text("")
    with pytest.raises(DataError, match="directory holds no files"):
        expand_paths([tmp_path / "empty"])


@pytest.mark.parametrize(("name", "message"), [
    ("events.csv", "the file is empty (no header line)"),
    ("events.jsonl", "the file is empty"),
    ("events.parquet", "cannot read PARQUET"),
])
def test_empty_file_is_a_data_error(tmp_path, name, message):
    path = write(tmp_path / name, "")
    with pytest.raises(DataError) as info:
        microconv.load_events([path], CONFIG)
    assert info.value.message.startswith(message)
    assert info.value.problems[0].where == str(path)


def test_csv_with_only_a_header_has_no_usable_rows(tmp_path):
    path = write(tmp_path / "events.csv", "user_id,timestamp,event_name\n")
    with pytest.raises(DataError, match="no usable rows"):
        microconv.load_events([path], CONFIG)


def test_not_really_parquet_is_a_data_error(tmp_path):
    path = write(tmp_path / "events.parquet", csv_text())
    with pytest.raises(DataError, match="cannot read PARQUET") as info:
        microconv.load_events([path], CONFIG)
    assert info.value.hint == "is this really a Parquet file?"


def test_ragged_csv_row_is_a_data_error_with_a_hint(tmp_path):
    path = write(tmp_path / "events.csv", """\
        user_id,timestamp,event_name
        u1,2026-01-01T10:00:00Z,view_item
        u2,2026-01-01T10:00:05Z,view_item,extra,fields
    """)
    with pytest.raises(DataError, match="cannot read CSV") as info:
        microconv.load_events([path], CONFIG)
    assert "different number of fields" in info.value.hint


def test_csv_with_bom_and_crlf_line_endings(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeff".encode() + csv_text().replace("\n", "\r\n").encode())
    assert Source.open(path).columns == list(HEADER)
    events, _ = microconv.load_events([path], CONFIG)
    assert events.frame["user"].tolist() == EXPECTED_USERS
    assert events.frame["event"].tolist() == EXPECTED_EVENTS


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "tsv", "parquet", "jsonl", "jsonl.gz"])
def test_source_lists_columns_and_reads_only_those_asked_for(tmp_path, fmt):
    src = Source.open(Path(WRITERS[fmt](tmp_path)))
    assert src.columns == list(HEADER)
    table = src.read(["event_name", "user_id"], dictionary=["event_name"])
    assert sorted(table.column_names) == ["event_name", "user_id"]
    assert table.num_rows == 5
    assert pa.types.is_dictionary(table.schema.field("event_name").type)
    assert table.column("user_id").to_pylist() == EXPECTED_USERS


def test_quoted_csv_field_with_comma_and_newline(tmp_path):
    path = write(tmp_path / "events.csv", '''\
        user_id,timestamp,event_name,page
        u1,2026-01-01T10:00:00Z,view_item,"/search?q=a,b"
        u2,2026-01-01T10:00:05Z,view_item,"two
        lines"
        u3,2026-01-01T10:00:06Z,purchase,/done
    ''')
    events, report = microconv.load_events([path], CONFIG)
    assert events.frame["user"].tolist() == ["u1", "u2", "u3"]
    assert report.rows_read == 3


# --- CSV read in pieces cut at line breaks --------------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402
from conftest import examples  # noqa: E402

import microconv.load.sources as mio  # noqa: E402
from microconv.load.sources import NotSplittable, _no_quoted_line_breaks  # noqa: E402


@pytest.mark.parametrize("text, expected", [
    (b'a,b\n1,2\n', True),                                  # no quote at all
    (b'"a","b"\n1,"x,y"\n', True),                          # quoted fields on one line
    (b'a\n"say ""hi"""\n', True),                           # escaped quotes
    (b'a,b\n1,"two\nlines"\n', False),                      # a quoted line break
    (b'a,b\n1,"two\rlines"\n', False),                      # a quoted carriage return
    (b'a,b\n1,5" screen\n2,"x\ny"\n', False),               # a quote inside a field: the lexer's state is unclear
    (b'a,b\n1,"open\n', False),                             # never closed
    (b'a,b\n1,"x"y\n', False),                              # text after a closing quote
    (b'\xef\xbb\xbf"a",b\n1,2\n', True),                    # a byte-order mark before the first quote
])
def test_quoted_line_breaks_are_found_as_a_lexer_would(text, expected):
    assert _no_quoted_line_breaks(text, ord(",")) is expected


def test_quote_walk_gives_up_after_its_limit_and_honours_its_range():
    text = b'a\n' + b'"x"\n' * 10
    assert _no_quoted_line_breaks(text, ord(","), limit=10) is True
    assert _no_quoted_line_breaks(text, ord(","), limit=9) is False       # no proof within the limit
    broken = b'a\n"x\ny"\n"z"\n'
    assert _no_quoted_line_breaks(broken, ord(",")) is False
    assert _no_quoted_line_breaks(broken, ord(","), start=8) is True      # the range after the break is clean


def _read_both(path: Path, monkeypatch, columns, dictionary=(), text=()):
    """The table read in pieces of a few bytes (or None where a piece says it cannot be split),
    and the table read whole."""
    monkeypatch.setattr(mio, "PIECE_BYTES", 16)
    src = Source.open(path)
    try:
        split = pa.concat_tables([p() for p in src.pieces(columns, dictionary, text)])
    except NotSplittable:
        split = None
    whole = pa.concat_tables([p() for p in src.pieces(columns, dictionary, text, split=False)])
    return split, whole


def test_csv_pieces_give_the_whole_file_row_for_row(tmp_path, monkeypatch):
    rows = [(f"u{i % 7}", f"2026-01-01T10:{i % 60:02d}:00Z", ["view_item", "purchase"][i % 2], f'"/p/{i},x"')
            for i in range(40)]
    path = write(tmp_path / "events.csv", csv_text(rows))
    split, whole = _read_both(path, monkeypatch, ["user_id", "timestamp", "page"], text=["user_id"])
    assert split is not None
    assert split.num_rows == 40
    assert split.to_pylist() == whole.to_pylist()
    assert split.column("page").to_pylist()[3] == "/p/3,x"
    assert split.column("timestamp").type == pa.timestamp("s", tz="UTC")


def test_csv_piece_with_a_quoted_line_break_asks_for_a_whole_read(tmp_path, monkeypatch):
    rows = [("u1", "2026-01-01T10:00:00Z", "view_item", "/p")] * 20 + [("u2", "2026-01-01T10:00:05Z", "purchase", '"a\nb"')]
    path = write(tmp_path / "events.csv", csv_text(rows))
    split, whole = _read_both(path, monkeypatch, ["user_id", "page"])
    assert split is None
    assert whole.column("page").to_pylist()[-1] == "a\nb"
    monkeypatch.setattr(mio, "PIECE_BYTES", 16)
    events, report = microconv.load_events([path], CONFIG)          # falls back by itself
    assert report.rows_read == 21
    assert events.frame["user"].tolist() == ["u1"] * 20 + ["u2"]


def test_csv_value_that_outgrows_its_first_block_type_is_read_as_whole_file_inference_reads_it(tmp_path, monkeypatch):
    """The first block makes `revenue` int64 and `timestamp` second-precision; later rows need float
    and nanoseconds. Pieces give up; the whole read tries the first block's types, fails, and infers."""
    head = "user_id,timestamp,event_name,revenue\n"
    early = "".join(f"u{i},2026-01-01T10:00:0{i % 10}Z,purchase,{i}\n" for i in range(30))
    path = tmp_path / "late.csv"
    path.write_text(head + early + "u9,2026-01-01T10:00:00.250Z,purchase,2.5\n")
    monkeypatch.setattr(mio, "FIRST_BLOCK_BYTES", len(head) + len(early) // 2)
    split, whole = _read_both(path, monkeypatch, ["timestamp", "revenue"])
    assert split is None
    assert whole.schema.field("revenue").type == pa.float64()
    assert whole.schema.field("timestamp").type == pa.timestamp("ns", tz="UTC")
    assert whole.column("revenue").to_pylist()[-2:] == [29.0, 2.5]


def test_csv_errors_name_whole_file_lines_when_read_in_pieces(tmp_path, monkeypatch):
    rows = [("u1", "2026-01-01T10:00:00Z", "view_item", "/p")] * 30
    path = write(tmp_path / "events.csv", csv_text(rows) + "u2,2026-01-01T10:00:05Z,view_item,/p,extra\n")
    monkeypatch.setattr(mio, "PIECE_BYTES", 16)
    with pytest.raises(DataError, match="cannot read CSV.*Expected 4 columns, got 5") as info:
        microconv.load_events([path], CONFIG)
    assert "different number of fields" in info.value.hint


FIELD = st.text(alphabet='ab,"\n\r 1', max_size=6)


@settings(max_examples=examples(150), deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["u1", "u2", " ", ""]), FIELD), min_size=1, max_size=25),
       st.integers(1, 40), st.booleans())
def test_csv_in_pieces_is_the_whole_read_or_gives_way_to_it(tmp_path_factory, rows, piece, crlf):
    """On any CSV (quoted or not, line breaks inside quotes or not), reading in pieces either gives the
    whole read's rows exactly or raises NotSplittable, and then the caller reads whole."""
    quote = lambda v: '"' + v.replace('"', '""') + '"'
    end = "\r\n" if crlf else "\n"
    text = "user,note" + end + "".join(f"{u},{quote(n) if i % 2 else n.replace(chr(34), '').replace(chr(10), '').replace(chr(13), '').replace(',', '')}{end}"
                                       for i, (u, n) in enumerate(rows))
    path = tmp_path_factory.mktemp("csv") / "e.csv"
    path.write_bytes(text.encode())
    src = Source.open(path)
    whole = pa.concat_tables([p() for p in src.pieces(["user", "note"], text=["user", "note"], split=False)])
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(mio, "PIECE_BYTES", piece)
            split = pa.concat_tables([p() for p in src.pieces(["user", "note"], text=["user", "note"])])
    except NotSplittable:
        assert any(("\n" in n or "\r" in n) for i, (u, n) in enumerate(rows) if i % 2), "gave way without cause"
        return
    assert split.to_pylist() == whole.to_pylist()


def test_epoch_units_are_detected_per_csv_piece(tmp_path, monkeypatch):
    """Rule 1.5: a piece of seconds and a piece of milliseconds each keep their own unit. The file
    is 182 bytes: a 29-byte header, three 24-byte rows of seconds, three 27-byte rows of
    milliseconds. Pieces of 90 bytes cut at the next line break: header and seconds, then the rest."""
    seconds = 1_767_225_600                       # 2026-01-01T00:00:00Z
    rows = [f"u{i},{seconds + i},view_item\n" for i in range(3)] + [f"u{i},{(seconds + i) * 1000},view_item\n" for i in range(3)]
    path = tmp_path / "epochs.csv"
    path.write_text("user_id,timestamp,event_name\n" + "".join(rows))
    monkeypatch.setattr(mio, "PIECE_BYTES", 90)
    assert [p().num_rows for p in Source.open(path).pieces(["timestamp"])] == [3, 3]
    events, _ = microconv.load_events([path], CONFIG)
    assert [t.isoformat() for t in events.frame["ts"]] == [f"2026-01-01T00:00:0{i}+00:00" for i in (0, 1, 2)] * 2


# --- CSV in pieces against the whole read, through load_events (review of the piece reader) -----

REVENUE = microconv.parse_config({
    "columns": {"user": "user_id", "event": "event_name", "timestamp": "timestamp",
                "properties": {"revenue": "revenue"}},
    "conversions": {"purchase": {"kind": "macro", "event": "purchase", "value": "revenue"}},
})


def _load(path, config, monkeypatch, piece=None, first=None, **kwargs):
    """load_events as a comparable tuple (or the DataError's text), with pieces of ``piece`` bytes
    and a first block of ``first`` bytes when given."""
    with monkeypatch.context() as patch:
        if piece is not None:
            patch.setattr(mio, "PIECE_BYTES", piece)
        if first is not None:
            patch.setattr(mio, "FIRST_BLOCK_BYTES", first)
        try:
            events, report = microconv.load_events([path] if isinstance(path, Path) else path, config, **kwargs)
        except DataError as exc:
            return ("error", str(exc), exc.hint)
    frame = events.frame
    return ({c: [str(v) for v in frame[c]] for c in frame.columns}, {c: str(t) for c, t in frame.dtypes.items()},
            report.rows_read, sorted(report.messages()), events.summary)


@pytest.mark.parametrize("first", [None, 64])      # the first block: the whole file, or header and a row
@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_csv_pieces_name_the_same_dropped_rows_as_the_whole_read(tmp_path, monkeypatch, first, end):
    """Rows dropped in late pieces are named by their whole-file line (header = line 1). With a
    64-byte first block the timestamp column is typed as timestamps, and `soon` makes the read
    start again whole; either way the report is the whole read's."""
    lines = ["user_id,timestamp,event_name",
             "u1,2026-01-01T10:00:00Z,view_item",       # 2
             "u2,2026-01-01T10:00:05Z,view_item",       # 3
             "u1,2026-01-01T10:01:00Z,add_to_cart",     # 4
             ",2026-01-01T10:02:00Z,view_item",         # 5: no user
             "u3,soon,view_item",                       # 6: unparseable
             "u1,2026-01-01T10:03:00Z,purchase",        # 7
             "u4,,purchase"]                            # 8: no timestamp
    path = tmp_path / "events.csv"
    path.write_bytes(end.join(lines).encode() + end.encode())
    whole = _load(path, CONFIG, monkeypatch)
    split = _load(path, CONFIG, monkeypatch, piece=16, first=first)
    assert split == whole
    frame, _, rows, messages, _ = split
    assert frame["user"] == ["u1", "u2", "u1", "u1"]
    assert rows == 7
    assert messages == [
        f"dropped 1 of 7 rows with an unparseable timestamp (first: {path}:6)",
        f"dropped 1 of 7 rows without a timestamp (first: {path}:8)",
        f"dropped 1 of 7 rows without a user id (first: {path}:5)",
    ]


def test_csv_pieces_with_blank_lines_bom_quoted_header_and_no_final_newline(tmp_path, monkeypatch):
    text = ('\ufeff"user_id","timestamp","event_name"\r\n\r\n'
            "u1,2026-01-01T10:00:00Z,view_item\r\n\r\n\r\n"
            "u2,2026-01-01T10:00:05Z,purchase\r\n"
            '"u3",2026-01-01T10:00:06Z,"purchase"')
    path = tmp_path / "events.csv"
    path.write_bytes(text.encode())
    whole = _load(path, CONFIG, monkeypatch)
    for piece in (1, 8, 30):
        assert _load(path, CONFIG, monkeypatch, piece=piece) == whole
    assert whole[0]["user"] == ["u1", "u2", "u3"]


@pytest.mark.parametrize("late, revenue", [
    ("2.5", ["5.0", "7.0", "2.5"]),                 # int64 in the first block, then a float
    ("lots", ["5", "7", "lots"]),                   # then text
    ("", ["5.0", "7.0", "nan"]),                    # empty: still int64 (pandas floats for the gap)
])
def test_csv_late_property_type_change_gives_the_whole_reads_values(tmp_path, monkeypatch, late, revenue):
    head = "user_id,timestamp,event_name,revenue\n"
    path = tmp_path / "events.csv"
    path.write_text(head + "u1,2026-01-01T10:00:00Z,purchase,5\nu2,2026-01-01T10:00:01Z,purchase,7\n"
                    + f"u3,2026-01-01T10:00:02Z,purchase,{late}\n")
    whole = _load(path, REVENUE, monkeypatch)
    split = _load(path, REVENUE, monkeypatch, piece=16, first=len(head) + 40)
    assert split == whole
    assert whole[0]["revenue"] == revenue


def test_csv_late_non_utf8_user_id_is_the_whole_reads_error(tmp_path, monkeypatch):
    path = tmp_path / "events.csv"
    path.write_bytes(csv_text().encode() + b"u\xff,2026-01-01T10:04:00Z,view_item,/p\n")
    whole = _load(path, CONFIG, monkeypatch)
    assert whole[0] == "error" and "cannot read CSV" in whole[1] and "not UTF-8" in whole[2]
    assert _load(path, CONFIG, monkeypatch, piece=16, first=80) == whole


def test_csv_pieces_of_several_files_name_each_files_lines(tmp_path, monkeypatch):
    """The first file is read in pieces, the TSV gives way (a quoted line break), the third too (a
    late float); the report names each file's own lines."""
    a = write(tmp_path / "a.csv", csv_text(LOG[:2]) + ",2026-01-01T10:09:00Z,view_item,/p\n")
    b = tmp_path / "b.tsv"
    b.write_text(csv_text(LOG[2:], sep="\t") + 'u5\t\tview_item\t"x\ny"\n')
    c = write(tmp_path / "c.csv", "user_id,timestamp,event_name,revenue\nu6,2026-01-01T10:05:00Z,purchase,1\n"
                                  "u7,2026-01-01T10:06:00Z,purchase,2.5\n")
    whole = _load([a, b, c], REVENUE, monkeypatch)
    assert _load([a, b, c], REVENUE, monkeypatch, piece=16, first=80) == whole
    frame, _, rows, messages, _ = whole
    assert frame["user"] == EXPECTED_USERS + ["u6", "u7"]
    assert frame["revenue"] == ["<NA>"] * 5 + ["1.0", "2.5"]
    assert rows == 9
    assert messages == [f"dropped 1 of 9 rows without a timestamp (first: {b}:5)",
                        f"dropped 1 of 9 rows without a user id (first: {a}:4)"]


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["u1", "u2", "", '"u3"']),
                          st.sampled_from(["2026-01-01T10:00:00Z", "2026-01-01 10:00:01", "2026-01-01T10:00:02+02:00",
                                           "2026-01-01T10:00:03.5Z", "", "never", "2026-01-02"]),
                          st.sampled_from(["view_item", "purchase", ""]),
                          st.sampled_from(["", "1", "2.5", "x", '"a,b"', "true"]),
                          st.sampled_from(["\n", "\r\n", "\n\n"])), min_size=1, max_size=12),
       st.integers(1, 80), st.sampled_from([None, 90, 140]))
def test_load_events_in_pieces_is_the_whole_read(tmp_path_factory, rows, piece, first):
    """Any small CSV (first row always usable, so no column starts empty) gives the whole read's
    frame, row count and dropped-row lines when read in pieces of 1-80 bytes."""
    text = "user_id,timestamp,event_name,revenue\nu0,2026-01-01T09:00:00Z,view_item,0\n"
    text += "".join(f"{u},{t},{e},{r}{end}" for u, t, e, r, end in rows)
    path = tmp_path_factory.mktemp("csv") / "e.csv"
    path.write_text(text)
    with pytest.MonkeyPatch.context() as patch:
        whole = _load(path, REVENUE, patch)
        assert _load(path, REVENUE, patch, piece=piece, first=first) == whole


# Found in review of the pieces reader.

def test_csv_property_empty_in_the_first_block_then_filled(tmp_path, monkeypatch):
    """`revenue` is empty in the first block (header and two rows), then 5 in one piece and 2.5 in
    the next: the whole read makes it a float column."""
    head = "user_id,timestamp,event_name,revenue\n"
    rows = ("u1,2026-01-01T10:00:00Z,view_item,\nu2,2026-01-01T10:00:01Z,view_item,\n"
            "u3,2026-01-01T10:00:02Z,purchase,5\nu4,2026-01-01T10:00:03Z,purchase,2.5\n")
    path = tmp_path / "events.csv"
    path.write_text(head + rows)
    whole = _load(path, REVENUE, monkeypatch)
    assert whole[0]["revenue"] == ["nan", "nan", "5.0", "2.5"]
    assert _load(path, REVENUE, monkeypatch, piece=16, first=len(head) + 70) == whole


def test_csv_with_a_needed_column_named_twice(tmp_path):
    path = write(tmp_path / "events.csv", "user_id,timestamp,event_name,revenue,revenue\n"
                                          "u1,2026-01-01T10:00:00Z,purchase,1,2\n")
    try:
        events, _ = microconv.load_events([path], REVENUE)
    except DataError:
        return                                      # saying so is fine too
    assert events.frame["revenue"].tolist() == [1]


def test_csv_first_row_longer_than_the_first_block(tmp_path, monkeypatch):
    monkeypatch.setattr(mio, "FIRST_BLOCK_BYTES", 64)                 # stands for 1 MiB; BLOCK_BYTES stays 2 MiB
    path = write(tmp_path / "events.csv", "user_id,timestamp,event_name,page\n"
                                          f"u1,2026-01-01T10:00:00Z,view_item,/{'x' * 200}\n"
                                          "u2,2026-01-01T10:00:05Z,purchase,/done\n")
    events, _ = microconv.load_events([path], CONFIG)
    assert events.frame["user"].tolist() == ["u1", "u2"]


def test_progress_never_goes_back_when_pieces_give_way(tmp_path, monkeypatch):
    monkeypatch.setattr(mio, "PIECE_BYTES", 64)
    monkeypatch.setattr(mio, "PIECE_ROWS", 3)
    path = write(tmp_path / "events.csv", "user_id,timestamp,event_name,page\n"
                                          + "u1,2026-01-01T10:00:00Z,view_item,/p\n" * 6
                                          + 'u2,2026-01-01T10:00:05Z,purchase,"a\nb"\n')
    seen = []
    microconv.load_events([path], CONFIG, progress=lambda rows, total: seen.append(rows))
    assert seen == sorted(seen)                     # once went [1, 3, 5, 3, 6, 7]
    assert seen[-1] == 7


def test_dropped_row_reasons_keep_their_order_when_read_in_pieces(tmp_path, monkeypatch):
    path = write(tmp_path / "events.csv", "user_id,timestamp,event_name\n"
                                          "u1,2026-01-01T10:00:00Z,view_item\n"
                                          ",2026-01-01T10:00:01Z,view_item\n"
                                          "u2,soon,view_item\n"
                                          "u3,,view_item\n")
    _, whole = microconv.load_events([path], CONFIG)
    monkeypatch.setattr(mio, "PIECE_BYTES", 16)
    _, split = microconv.load_events([path], CONFIG)
    assert split.messages() == whole.messages()
