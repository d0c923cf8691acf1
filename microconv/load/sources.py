"""Readers for event logs: CSV, Parquet and JSON Lines, plain or compressed.

Readers only read. They let the caller see a file's columns first, so that aliases can be
resolved per file and only the needed columns are read; cleaning happens in ``scan``.
"""
from __future__ import annotations

import csv
import glob
import io
import mmap
import os
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from ..errors import DataError
from . import remote
from .formats import COMPRESSIONS, format_of
from .json_depth import MAX_JSON_DEPTH, first_too_deep, line_bounds

NEVER_BLANK = b"microconv.never_blank"     # table metadata: text columns no row of which can be blank


def never_blank(group: pq.RowGroupMetaData, columns: Sequence[str]) -> list[str]:
    """The ``columns`` of a Parquet row group whose min and max show that no value is empty, all
    whitespace or missing (rule 1.1): both start with a printable ASCII byte (above space, below
    0x80: a Unicode space starts with 0xC2 or more), and none is null. The statistics bound the
    values (a truncated min is a prefix, a truncated max no smaller), so the blank-id check of
    every row can be skipped; files without statistics are checked as before. Both ends ASCII also
    holds for an old writer that compared bytes as signed: there a non-ASCII value would be the min."""
    if not columns:
        return []
    where = {group.column(j).path_in_schema: j for j in range(group.num_columns)}
    out = []
    for name in columns:
        stats = group.column(where[name]).statistics if name in where else None
        if stats is None or not stats.has_min_max or not stats.has_null_count or stats.null_count:
            continue
        low, high = stats.min_raw, stats.max_raw           # (bytes: a truncated max need not be UTF-8)
        if isinstance(low, bytes) and isinstance(high, bytes) and low and high \
                and 0x20 < low[0] < 0x80 and 0x20 < high[0] < 0x80:
            out.append(name)
    return out

BLOCK_BYTES = 2 << 20         # CSV bytes per parse block (Arrow parses blocks in parallel; 2 MiB read 7% faster than 16)
FIRST_BLOCK_BYTES = 1 << 20   # CSV bytes whose inferred types are tried for the whole file
QUOTE_WALK = 4096             # quoted fields looked at, at most, to prove that none spans lines
PIECE_BYTES = 32 << 20        # CSV bytes per piece cut at line breaks (16-32 MiB parse 30M rows fastest)
PIECE_ROWS = 1 << 20          # rows per piece handed out by Source.pieces for a whole-read CSV or JSON Lines
JSON_BLOCK_BYTES = 1 << 20    # JSON Lines bytes per parse block (Arrow's default), more for a longer line
MAX_BLOCK_BYTES = 1 << 30     # the longest row read: a parse block holds whole rows


def detect_format(path: Path) -> str:
    fmt = format_of(path)
    if fmt is not None:
        return fmt
    raise DataError(
        f"cannot tell the format of {path.name!r} from its name",
        where=str(path),
        hint="name it .csv, .parquet or .jsonl (optionally .gz/.zst), or pass --input-format",
    )


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files in the order given; a directory or a glob pattern stands for its files, sorted. An
    fsspec URL (``s3://...``, globs too) stands for local copies of its files (``remote``)."""
    out: list[Path] = []
    for raw in paths:
        if isinstance(raw, remote.Fetched):      # already copied here (a cluster's read task)
            out.append(raw)
            continue
        if (url := remote.url_of(raw)) is not None:
            out.extend(remote.fetch(u) for u in remote.expand_url(url))
            continue
        path = Path(remote.local_of(raw))
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
            if not files:
                raise DataError("directory holds no files", where=str(path))
            out.extend(files)
        elif path.exists():
            out.append(_regular(path))
        elif glob.has_magic(str(raw)):
            matches = sorted(Path(m) for m in glob.glob(str(raw), recursive=True) if os.path.isfile(m))
            if not matches:
                raise DataError("no file matches this pattern", where=str(raw))
            out.extend(matches)
        else:
            raise DataError("file not found", where=str(path), hint=_nearby_hint(path))
    return out


def _regular(path: Path) -> Path:
    """``path``, if it is a regular file (or a link to one): a pipe, a device or ``/dev/stdin`` is
    read whole by Arrow (JSON Lines, compressed files) or not at all, so ``/dev/zero`` would fill memory."""
    if not path.is_file():
        raise DataError("is not a regular file; save it to a file first", where=str(path),
                        hint="e.g. `cat ... > events.csv`, then pass events.csv")
    return path


def _nearby_hint(path: Path) -> str | None:
    from ..errors import did_you_mean

    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        return f"directory {str(parent)!r} does not exist either"
    return did_you_mean(path.name, [p.name for p in parent.iterdir()], what="files there")


def csv_convert_options(column_types: dict, include: Sequence[str] | None = None) -> pa_csv.ConvertOptions:
    """Empty fields are missing, a quoted empty string is text."""
    return pa_csv.ConvertOptions(include_columns=list(include or []), column_types=column_types,
                                 strings_can_be_null=True, quoted_strings_can_be_null=False)


class NotSplittable(Exception):
    """A CSV piece found that its file cannot be read in pieces after all; read it whole."""


@dataclass
class Source:
    """One input file: its columns, and a way to read a subset of them."""

    path: Path
    format: str
    delimiter: str = ","
    _table: pa.Table | None = None

    @classmethod
    def open(cls, path: Path, fmt: str | None = None) -> Source:
        fmt = fmt or detect_format(path)
        delimiter = "\t" if ".tsv" in [s.lower() for s in path.suffixes] else ","
        return cls(path, fmt, delimiter)

    @property
    def columns(self) -> list[str]:
        try:
            if self.format == "parquet":
                return list(pq.ParquetFile(self.path).schema_arrow.names)
            if self.format == "csv":
                return self._csv_header()
            return list(self._jsonl_table().column_names)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise self._error(exc) from None

    @property
    def schema(self) -> pa.Schema | None:
        """The Arrow types of the file's columns where the format keeps them (Parquet; JSON Lines, once
        read); None for CSV, whose values are all text or numbers."""
        if self.format == "csv":
            return None
        return self._guard(lambda: pq.ParquetFile(self.path).schema_arrow if self.format == "parquet"
                           else self._jsonl_table().schema)

    @property
    def compressed(self) -> bool:
        return self.path.suffix.lower() in COMPRESSIONS

    def read(self, columns: Sequence[str], dictionary: Sequence[str] = (), text: Sequence[str] = ()) -> pa.Table:
        """Read only ``columns``; ``dictionary`` columns come back dictionary-encoded (pandas category),
        ``text`` columns of a CSV as strings (ids like ``007`` must not become numbers)."""
        try:
            if self.format == "parquet":
                table = pq.read_table(self.path, columns=list(columns), read_dictionary=list(dictionary))
            elif self.format == "csv":
                table = self._read_csv(list(columns), dictionary, text)
            else:
                table = self._jsonl_table().select(list(columns))
                for name in dictionary:
                    idx = table.column_names.index(name)
                    table = table.set_column(idx, name, table.column(name).cast(pa.string()).dictionary_encode())
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise self._error(exc) from None
        return table

    def pieces(self, columns: Sequence[str], dictionary: Sequence[str] = (), text: Sequence[str] = (),
               split: bool = True) -> list[Callable[[], pa.Table]]:
        """Like :meth:`read`, as pieces to be read in row order, each by one call, so that a caller
        keeping only some rows of each piece never holds the whole file in pandas, and can read
        two pieces at once. Parquet pieces are row groups. An uncompressed CSV is cut at line breaks
        into pieces of about PIECE_BYTES, each parsed by its call; a piece that finds the cut unsound
        (a quoted line break) or a value its first block's type does not fit raises
        :class:`NotSplittable`, and the caller asks again with ``split=False``. Other CSV and JSON
        Lines are read whole by Arrow here and handed out in slices of PIECE_ROWS."""
        if self.format == "parquet":
            meta = self._guard(lambda: pq.ParquetFile(self.path).metadata)
            if meta.num_row_groups == 0:
                schema = self._guard(lambda: pq.ParquetFile(self.path, read_dictionary=list(dictionary)).schema_arrow)
                return [lambda: schema.empty_table().select(list(columns))]
            return [partial(self._row_group, i, list(columns), list(dictionary), meta, list(text))
                    for i in range(meta.num_row_groups)]
        if self.format == "csv" and split and not self.compressed \
                and self._guard(lambda: self.path.stat().st_size) > 2 * PIECE_BYTES:
            return self._guard(lambda: self._csv_pieces(list(columns), dictionary, text))
        return self._slices(columns, dictionary, text)

    def _slices(self, columns: Sequence[str], dictionary: Sequence[str], text: Sequence[str]
                ) -> list[Callable[[], pa.Table]]:
        table = self.read(columns, dictionary, text)
        return [partial(table.slice, start, PIECE_ROWS) for start in range(0, max(table.num_rows, 1), PIECE_ROWS)]

    def _csv_pieces(self, columns: list[str], dictionary: Sequence[str], text: Sequence[str]
                    ) -> list[Callable[[], pa.Table]]:
        fixed = self._fixed_types(dictionary, text)
        names, types = self._first_block(columns)
        if names is None or any(c not in types for c in columns):     # each piece would infer on its own
            return self._slices(columns, dictionary, text)
        convert = csv_convert_options({**types, **fixed}, include=columns)
        with open(self.path, "rb") as f:
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        starts = [0]
        while (cut := data.find(b"\n", starts[-1] + PIECE_BYTES)) >= 0 and cut + 1 < len(data):
            starts.append(cut + 1)
        bounds = zip(starts, starts[1:] + [len(data)])
        return [partial(self._csv_piece, data, start, end, None if start == 0 else names, convert)
                for start, end in bounds]

    def _csv_piece(self, data: mmap.mmap, start: int, end: int, names: list[str] | None,
                   convert: pa_csv.ConvertOptions) -> pa.Table:
        """Bytes ``start:end`` of the file, parsed in the calling thread. Each piece proves on its own
        that no quoted field of its holds a line break; the first starts the file, so by induction
        every cut is at the end of a row."""
        if not _no_quoted_line_breaks(data, ord(self.delimiter), start, end):
            raise NotSplittable(self.path)
        try:
            return pa_csv.read_csv(
                pa.BufferReader(pa.py_buffer(data)[start:end]),
                read_options=pa_csv.ReadOptions(block_size=BLOCK_BYTES, use_threads=False, column_names=names),
                parse_options=self.csv_parse_options(multiline=False), convert_options=convert)
        except pa.ArrowInvalid:
            raise NotSplittable(self.path) from None
        finally:    # the piece's pages leave the process (they stay in the page cache): RSS stays bounded
            if hasattr(mmap, "MADV_DONTNEED"):      # (30M rows: 1.9 GB -> 0.7 GB peak, in the same time)
                first = start - start % mmap.PAGESIZE
                data.madvise(mmap.MADV_DONTNEED, first, end - first)

    def _read_csv(self, columns: list[str], dictionary: Sequence[str], text: Sequence[str]) -> pa.Table:
        """The whole file, its other columns typed as its first block says (Arrow's inference over the
        whole file keeps every block's text until the end: 2.2 GB more at 30M rows, and 0.3 s). Where
        a later value does not fit that type, the read fails and is redone with whole-file inference,
        which gives the same table the first read would have (a wider type or text)."""
        parse = self.csv_parse_options(multiline=not self._single_line_rows())

        def read(convert_options: pa_csv.ConvertOptions) -> pa.Table:
            return growing_blocks(lambda size: pa_csv.read_csv(
                self.path, read_options=pa_csv.ReadOptions(block_size=size), parse_options=parse,
                convert_options=convert_options))

        fixed = self._fixed_types(dictionary, text)
        guessed = {c: t for c, t in self._first_block(columns)[1].items() if c not in fixed}
        if guessed:
            try:
                return read(convert_options=csv_convert_options({**guessed, **fixed}, include=columns))
            except pa.ArrowInvalid:
                pass
        return read(convert_options=csv_convert_options(fixed, include=columns))

    @staticmethod
    def _fixed_types(dictionary: Sequence[str], text: Sequence[str]) -> dict[str, pa.DataType]:
        return {**{c: pa.string() for c in text}, **{c: pa.dictionary(pa.int32(), pa.string()) for c in dictionary}}

    def _first_block(self, columns: list[str]) -> tuple[list[str] | None, dict[str, pa.DataType]]:
        """The file's column names, and the types Arrow infers from its first block for ``columns``
        that it can tell (not a column empty so far, nor a name the header has twice); (None, {})
        when the first block does not parse on its own (a row longer than it), for the whole read."""
        try:
            schema = pa_csv.open_csv(self.path, parse_options=self.csv_parse_options(),
                                     read_options=pa_csv.ReadOptions(block_size=FIRST_BLOCK_BYTES, use_threads=False)
                                     ).schema
        except pa.ArrowInvalid:
            return None, {}
        types = {c: schema.field(c).type for c in columns if len(schema.get_all_field_indices(c)) == 1}
        return schema.names, {c: t for c, t in types.items() if t != pa.null()}

    def _row_group(self, i: int, columns: list[str], dictionary: list[str], meta: pq.FileMetaData,
                   text: Sequence[str] = ()) -> pa.Table:
        """One row group, decoded in the calling thread unless it is the only one: callers read two
        at a time, and Arrow's own threads on top of that cost about 40% more CPU. The footer is
        parsed once, not per row group. The ``text`` columns whose statistics show that no value
        can be blank are named in the table's metadata (NEVER_BLANK)."""
        table = self._guard(lambda: pq.ParquetFile(self.path, read_dictionary=dictionary, metadata=meta)
                            .read_row_group(i, columns, use_threads=meta.num_row_groups == 1))
        sure = never_blank(meta.row_group(i), text)
        return table.replace_schema_metadata({**(table.schema.metadata or {}), NEVER_BLANK: "\n".join(sure)}) \
            if sure else table

    def _guard(self, read):
        try:
            return read()
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise self._error(exc) from None

    def csv_parse_options(self, multiline: bool = True) -> pa_csv.ParseOptions:
        """How every CSV read parses: this file's delimiter, quoted newlines allowed unless the file is
        known to have none (``multiline=False``: Arrow then splits its parse blocks at any line break,
        which reads 30M rows in 2.7 s instead of 4.1)."""
        return pa_csv.ParseOptions(delimiter=self.delimiter, newlines_in_values=multiline)

    def _single_line_rows(self) -> bool:
        """Whether no quoted field of this (uncompressed) file holds a line break, proven cheaply: by
        finding no quote at all (memchr speed), or by walking at most QUOTE_WALK quoted fields. Anything
        unusual (a quote inside a field, an unterminated one, more quoted fields) answers False."""
        if self.compressed:
            return False
        try:
            with open(self.path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return _no_quoted_line_breaks(data, ord(self.delimiter))
        except (OSError, ValueError):   # an empty file cannot be mapped; Arrow's read reports it
            return False

    def _csv_header(self) -> list[str]:
        with pa.input_stream(self.path, compression="detect") as stream:
            first = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="").readline()
        if not first.strip():
            raise DataError("the file is empty (no header line)", where=str(self.path),
                            hint="a CSV needs a header row naming its columns")
        return next(csv.reader([first], delimiter=self.delimiter))

    def _jsonl_table(self) -> pa.Table:
        if self._table is None:
            with pa.input_stream(self.path, compression="detect") as stream:
                data = stream.read()
            if not data.strip():
                raise DataError("the file is empty", where=str(self.path))
            options = pa_json.ReadOptions(block_size=check_json_lines(data, str(self.path)))
            table = pa_json.read_json(io.BytesIO(data), read_options=options)
            inferred = [f.name for f in table.schema if pa.types.is_timestamp(f.type)]
            if inferred:
                # Arrow drops the offset of ISO strings it infers as timestamps; keep them as text.
                table = pa_json.read_json(io.BytesIO(data), read_options=options, parse_options=pa_json.ParseOptions(
                    explicit_schema=pa.schema([(name, pa.string()) for name in inferred]),
                    unexpected_field_behavior="infer",
                )).select(table.column_names)
            self._table = table
        return self._table

    def _error(self, exc: Exception) -> DataError:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = None
        if "UTF8" in text or "utf-8" in text.lower():
            hint = "the file is not UTF-8; re-save it as UTF-8"
        elif self.format == "csv" and "columns" in text:
            hint = "a row has a different number of fields than the header; check quoting and delimiters"
        elif self.format == "parquet":
            hint = "is this really a Parquet file?"
        elif "straddl" in text:
            text = f"a row is longer than {MAX_BLOCK_BYTES >> 30} GiB"
        return DataError(f"cannot read {self.format.upper()}: {text}", where=str(self.path), hint=hint)


def check_json_lines(data: bytes, where: str) -> int:
    """The parse block size JSON Lines ``data`` needs (a block holds whole lines), after making sure
    that Arrow's reader, which recurses and crashes on deep nesting, can read it.

    Raises:
        DataError: a line nests deeper than MAX_JSON_DEPTH, or is longer than MAX_BLOCK_BYTES.
    """
    text = np.frombuffer(data, dtype=np.uint8)
    starts, ends = line_bounds(text)
    deep = first_too_deep(text, starts, ends)
    if deep is not None:
        raise DataError(f"a value nests deeper than {MAX_JSON_DEPTH} levels", where=f"{where}:{deep + 1}",
                        hint="no event log needs that; is the line damaged or hostile?")
    longest = int((ends - starts).max(initial=0))
    if longest >= MAX_BLOCK_BYTES:
        line = int(np.argmax(ends - starts))
        raise DataError(f"the line is longer than {MAX_BLOCK_BYTES >> 30} GiB", where=f"{where}:{line + 1}")
    return max(JSON_BLOCK_BYTES, longest + 2)


def growing_blocks(read: Callable[[int], pa.Table]) -> pa.Table:
    """``read(block_size)`` from BLOCK_BYTES up, 16 times larger each time a row does not fit in a
    block (Arrow: "straddling object"), up to MAX_BLOCK_BYTES; a long text in a column the config
    does not use must not stop the read, and most files never pay for large blocks."""
    size = BLOCK_BYTES
    while True:
        try:
            return read(size)
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc) or size >= MAX_BLOCK_BYTES:
                raise
            size = min(size * 16, MAX_BLOCK_BYTES)


def _no_quoted_line_breaks(data, delimiter: int, start: int = 0, end: int | None = None,
                           limit: int = QUOTE_WALK) -> bool:
    """Scan ``data[start:end]`` (bytes-like with ``find``, starting a row) quote by quote, as a CSV
    lexer would: a quote opens a field only at its start, ``""`` inside is a quote, and the closing
    quote ends the field."""
    end = len(data) if end is None else end
    ends = (delimiter, 10, 13)
    pos = start + 3 if start == 0 and data[:3] == b"\xef\xbb\xbf" else start
    first = pos
    for _ in range(limit + 1):
        opening = data.find(b'"', pos, end)
        if opening < 0:
            return True
        if opening > first and data[opening - 1] not in ends:
            return False
        closing = data.find(b'"', opening + 1, end)
        while 0 <= closing < end - 1 and data[closing + 1] == 34:
            closing = data.find(b'"', closing + 2, end)
        if closing < 0 or data.find(b"\n", opening, closing) >= 0 or data.find(b"\r", opening, closing) >= 0:
            return False
        if closing < end - 1 and data[closing + 1] not in ends:
            return False
        pos = closing + 1
    return False
