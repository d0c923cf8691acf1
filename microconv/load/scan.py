"""Event files (or a DataFrame) in, one canonical frame and its quality report out.

Each file is read in pieces of only the planned columns (see ``columns``); every row of a piece
is checked and counted (rules 1.1-1.3), and only the usable rows of the wanted events are kept.
Ids are hashed (``ids``) and properties derived (``derived``) once, at the end.
"""
from __future__ import annotations

from collections.abc import Collection, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..config import Config
from ..errors import DataError
from .columns import (CONSTANT, ANONYMOUS, check_core_types, check_properties_somewhere, id_keys, needed_properties,
                      plan_columns, plan_of)
from .derived import derive, per_user
from .paths import check_single_values, read_paths, what_is_at
from .frame import SESSION, Events, LogSummary, codes_in
from .identity import Joined, PieceLinks, piece_user
from .ids import Ids, NumericIds, blank_ids, categorical_ids, event_codes, is_numeric_ids, kept_ids, piece_ids
from .json_depth import MAX_JSON_DEPTH, TooDeep, check_json_depth
from .quality import DataQualityReport, dropped_rows
from .sources import NEVER_BLANK, NotSplittable, Source, expand_paths
from .timestamps import piece_stamps


def load_events(
    paths: Sequence[str | Path],
    config: Config,
    *,
    input_format: str | None = None,
    extra_properties: Iterable[str] = (),
    only_events: Iterable[str] | None = None,
    count_users: bool = True,
    progress: Callable[[int, int | None], None] | None = None,
    row_groups: tuple[int, int] | None = None,
    one_of_many: bool = False,
    every_id: bool = False,
) -> tuple[Events, DataQualityReport]:
    """Read event files into one canonical frame, reading only the columns the config needs.

    Args:
        only_events: keep only the rows of these event names (``api.needed_events`` says which a
            config needs). Every row is still checked, counted in the quality report and in
            ``Events.summary``, and its event name known to did-you-mean.
        count_users: count the distinct users of every row (``Events.summary.users``): a hash of
            every id, which only the run's metadata and the micro-conversion report need.
        progress: called after each piece with (rows read so far, rows in all files when known).
        row_groups: (first, end) row groups of each Parquet file only: a cluster's read of part of
            a file (``run/dask.py``); rows keep their numbers in the file.
        one_of_many: the files are some of a run's (a cluster's read task): a property no file here
            has, or no usable row, is not an error; the run checks all files (``run/dask.py``).
        every_id: with ``only_events`` and ``count_users``, the user categories also hold the ids
            only left-out rows have: a cluster counts each partition's users from them.

    Raises:
        DataError: a file is missing or unreadable, a required column is absent, or no row is usable.
    """
    files = expand_paths(paths)
    props = needed_properties(config, extra_properties)
    sources = [Source.open(p, input_format) for p in files]
    plans = [plan_of(src, config, props) for src in sources]
    for src, plan in zip(sources, plans):
        check_core_types(src.schema, plan, str(src.path))
    if not one_of_many:
        check_properties_somewhere(config, props, plans, sources)
    report = DataQualityReport()
    scan = _Scan(config, report, only_events, count_users, every_id)
    total = _known_rows(sources)
    shown = [0]

    def report_rows(rows: int) -> None:
        """Progress never goes back, also when a file read in pieces is read again whole."""
        if progress and rows > shown[0]:
            shown[0] = rows
            progress(rows, total)

    for src, plan in zip(sources, plans):
        cols = list(dict.fromkeys(c for c, _ in plan.values() if c is not None))
        ids = [plan[k] for k in id_keys(plan) if plan[k][0] is not None]
        event = [plan["event"][0]] if plan["event"][0] is not None else []      # a constant: no column
        # Ids are read dictionary-encoded when every row's id is hashed (users counted, or joined
        # to anonymous ids); else as plain text, and only the kept rows' are hashed: a Parquet
        # file in time order holds too many ids per row group for a dictionary, so asking for
        # one would hash every row.
        coded = [c for c, p in ids if not p] if count_users or config.columns.anonymous_user else []
        pieces = partial(src.pieces, cols, dictionary=list(dict.fromkeys(event + coded)),
                         text=list(dict.fromkeys(c for c, _ in ids)))
        try:
            try:
                scan.file(*_groups(src, pieces(), row_groups, plan), report_rows) if row_groups else \
                    scan.file(pieces(), plan, _line_of(src), report_rows)
            except NotSplittable:
                scan.file(pieces(split=False), plan, _line_of(src), report_rows)
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            if not isinstance(exc, UnicodeDecodeError) and "UTF8" not in str(exc):
                raise
            raise DataError("the user or event column holds bytes that are not UTF-8 text", where=str(src.path),
                            hint="ids and event names must be text or integers; re-save the file as UTF-8") from None
    events = scan.events(tuple(map(str, files)))
    if events.summary.events == 0 and not one_of_many:
        raise DataError("no usable rows: every row lacks a user id or a valid timestamp",
                        where=", ".join(map(str, files)), hint="; ".join(report.messages()) or None)
    return events, report


def _known_rows(sources: Sequence[Source]) -> int | None:
    """Rows in all files, when every file says so up front (Parquet does, in its footer)."""
    if not all(s.format == "parquet" for s in sources):
        return None
    return sum(pq.ParquetFile(s.path).metadata.num_rows for s in sources)


def canonicalize(raw: pd.DataFrame, config: Config, *, name: str = "<frame>",
                 extra_properties: Iterable[str] = (), only_events: Iterable[str] | None = None,
                 ) -> tuple[Events, DataQualityReport]:
    """The same as :func:`load_events` for a DataFrame already in memory (notebooks, tests)."""
    props = needed_properties(config, extra_properties)
    columns = [str(c) for c in raw.columns]
    plan = plan_columns(columns, config, props, name)
    table = _arrow_table(raw[[c for c in dict.fromkeys(c for c, _ in plan.values() if c)]])
    check_core_types(table.schema, plan, name)
    report = DataQualityReport()
    scan = _Scan(config, report, only_events, True)
    scan.file([lambda: table], plan, lambda i: f"row {i + 1}")
    return scan.events((name,)), report


class _Scan:
    """Pieces of input in, one canonical frame out. Every row is checked and counted (rules
    1.1-1.3); only usable rows of the wanted events are kept, and only their user ids are hashed
    into codes, once, at the end."""

    def __init__(self, config: Config, report: DataQualityReport, only_events: Iterable[str] | None,
                 count_users: bool, every_id: bool = False):
        if only_events is not None and any(p.per_user for p in config.columns.properties.values()):
            raise ValueError("only_events: a per_user property needs every row")
        self.config, self.report = config, report
        self.only = None if only_events is None else frozenset(only_events)
        self.count_users, self.every_id = count_users, every_id and count_users
        self.users: list[Ids | NumericIds] = []
        self.ts: list[np.ndarray] = []
        self.event: list[tuple[np.ndarray, list[str]]] = []     # per piece: kept rows' codes into its names
        self.props: list[dict[str, pd.Series]] = []
        self.names: dict[str, None] = {}
        self.links: list[PieceLinks] | None = [] if config.columns.anonymous_user else None
        self.valued: dict[str, bool] = {}                    # property key -> some row had a value
        self.nothing: dict[str, str] = {}                    # property key -> what its first file held there
        self.rows = 0
        self.first: int | None = None
        self.last: int | None = None

    def file(self, pieces: Sequence[Callable[[], pa.Table]], plan, line_of, progress=None) -> None:
        """Scan one file's pieces, two at a time (reading and checking release the GIL), merged in
        order; its kept properties are decoded once, when the file is done."""
        core = {k: v for k, v in plan.items() if not k.startswith("prop:")}     # and the anonymous ids
        prop_plan = {k: v for k, v in plan.items() if k.startswith("prop:")}
        prop_cols = list(dict.fromkeys(c for c, _ in prop_plan.values() if c)) if prop_plan else None

        json_cols = list(dict.fromkeys(c for c, path in prop_plan.values() if c and path))

        def check(read: Callable[[], pa.Table]) -> _Piece:
            table = read()
            check_json_depth(table, json_cols)
            return _check_piece(table, core, prop_cols, self.config, self.only, self.count_users)

        checked, rows = [], self.report.rows_read
        pieces = list(pieces)
        with ThreadPoolExecutor(2, thread_name_prefix="microconv-scan") if len(pieces) > 1 else nullcontext() as pool:
            try:                                            # (one piece, a frame's or a small file's: no threads)
                for piece in (pool.map(check, pieces) if pool else map(check, pieces)):   # merged once all are in: a piece may ask for a re-read
                    checked.append(piece)
                    rows += piece.rows
                    if progress:
                        progress(rows)
            except TooDeep as deep:                       # the pieces before it are in ``rows``
                raise DataError(f"the JSON in column {deep.column!r} nests deeper than {MAX_JSON_DEPTH} levels",
                                where=line_of(rows - self.report.rows_read + deep.row),
                                hint="no event log needs that; is the value damaged or hostile?") from None
        kept, offset, failed, dated, first_bad = [], 0, 0, 0, None
        for piece in checked:
            self._merge(piece, lambda i, o=offset: line_of(o + i))
            failed, dated = failed + piece.bad_ts, dated + piece.with_user
            if first_bad is None and piece.first_bad is not None:
                first_bad = (piece.first_bad[0], line_of(offset + piece.first_bad[1]))
            if piece.props is not None:
                kept.append(piece.props)
            offset += piece.rows
        if failed and failed == dated:
            raise DataError(f"no timestamp could be parsed (first value {first_bad[0]!r})", where=first_bad[1],
                            hint="expected ISO-8601 like 2026-10-05T14:03:22Z or epoch numbers; "
                                 "set columns.timestamp or columns.timestamp_unit in the config")
        if prop_plan:
            table = pa.concat_tables(kept) if kept else pa.table({})
            derived = [f"prop:{p}" for p, spec in self.config.columns.properties.items() if spec.query or spec.url]
            values = _columns_from_table(table, prop_plan, sum(t.num_rows for t in kept), derived=derived)
            self.props.append(values)
            self._note_values(table, prop_plan, values)

    def _note_values(self, table: pa.Table, prop_plan, values: dict[str, pd.Series]) -> None:
        """Remember which properties found a value; for one that found none, what was there."""
        for key, (col, path) in prop_plan.items():
            if col is None:
                continue
            found = bool(values[key].notna().any())
            self.valued[key] = self.valued.get(key, False) or found
            if not found and key not in self.nothing:
                where = ".".join((col, *path))
                there = what_is_at(table.column(col), path) if path and table.num_rows else (
                    "no rows" if not table.num_rows else "no values at all")
                self.nothing[key] = f"{where!r} has no value in any row (found there: {there})"

    def _merge(self, piece: _Piece, line_of) -> None:
        if self.links is not None:
            self.links.append(piece.links.moved(self.report.rows_read))
        self.report.rows_read += piece.rows
        for reason, (count, first) in piece.dropped.items():
            self.report.add(reason, count, (line_of(int(i)) for i in first))
        self.names.update(dict.fromkeys(piece.names))
        if piece.usable:
            self.rows += piece.usable
            self.first = piece.first if self.first is None else min(self.first, piece.first)
            self.last = piece.last if self.last is None else max(self.last, piece.last)
        self.users.append(piece.user)
        self.ts.append(piece.ts)
        self.event.append((piece.event, piece.names))

    def events(self, sources: tuple[str, ...]) -> Events:
        """The canonical frame of the kept rows, and the summary of all rows."""
        names = list(self.names)                    # every event name seen, in order of first appearance
        where = {name: i for i, name in enumerate(names)}
        codes = np.empty(sum(len(c) for c, _ in self.event), dtype=pd.Categorical([], names).codes.dtype)
        at = 0
        for piece_codes, piece_names in self.event:       # straight into pandas' own code width
            np.array([where[n] for n in piece_names], dtype=codes.dtype).take(piece_codes, out=codes[at:at + len(piece_codes)])
            at += len(piece_codes)
        event = pd.Categorical.from_codes(codes, categories=pd.Index(names, dtype="str"), validate=False)
        ts = pd.DatetimeIndex(np.concatenate(self.ts).view("datetime64[ns]"), dtype="datetime64[ns, UTC]")
        joined = None if self.links is None else Joined.of(self.links)
        users, distinct = categorical_ids(self.users, every_name_kept=self.every_id or not self.count_users,
                                          rename=joined.rename if joined else None)
        if joined:
            self.report.notes.extend(joined.notes())
        frame = pd.DataFrame({"user": users, "ts": ts, "event": event}, copy=False)   # all made here: not copied
        if self.props:
            props = _concat([pd.DataFrame(p) for p in self.props])
            for key, values in derive(dict(props.items()), self.config).items():
                frame[key[5:]] = values.reset_index(drop=True)
        frame = per_user(frame, self.config)
        for key, message in self.nothing.items():
            if not self.valued.get(key):
                name = "the session" if key == f"prop:{SESSION}" else f"property {key[5:]!r}"
                self.report.empty.append(f"{name}: {message}")
        log = LogSummary(self.rows, distinct if self.count_users else None, self.first, self.last)
        return Events(frame, sources, self.only, log)


@dataclass
class _Piece:
    """One piece of input, checked: what it adds to the quality report and the summary, and its kept rows."""

    rows: int
    dropped: dict[str, tuple[int, np.ndarray]]   # reason -> (rows, the first three row numbers)
    names: list[str]                             # event names seen
    usable: int
    first: int | None
    last: int | None
    user: Ids | NumericIds                      # kept rows from here on
    ts: np.ndarray
    event: np.ndarray                            # code into ``names``
    props: pa.Table | None
    links: PieceLinks | None                     # rows with both ids, with columns.user {known, anonymous}
    bad_ts: int                                  # unparseable timestamps of rows with a user
    with_user: int
    first_bad: tuple[object, int] | None         # (raw value, row number) of the first of them


def _check_piece(table: pa.Table, core, prop_cols: list[str] | None, config: Config,
                 only: frozenset[str] | None, count_users: bool) -> _Piece:
    """Rules 1.1-1.3 on every row of one piece; keep the usable rows of the wanted events."""
    raw = _columns_from_table(table, core, table.num_rows, arrow=tuple(core))
    rows = table.num_rows
    anonymous = [raw[k] for k in core if k.startswith(ANONYMOUS)]
    numeric = not anonymous and is_numeric_ids(raw["user"])
    # Text ids read as plain text (users not counted: load_events does not ask for a dictionary)
    # are checked on every row but hashed only on the kept ones.
    later = not (anonymous or numeric or count_users) and _plain_text(raw["user"])
    if anonymous:
        user, names, identity = piece_user(raw["user"], anonymous)
    elif numeric or later:
        user, names, identity = None, None, None
    else:
        (user, names), identity = piece_ids(raw["user"]), None
    no_user = (raw["user"].is_null().to_numpy(zero_copy_only=False) if numeric else
               _blank(raw["user"], table, core["user"]) if later else user < 0)
    stamps = piece_stamps(raw["timestamp"], config)
    codes, event_names = event_codes(raw["event"])
    unusable = no_user | stamps.missing | (codes < 0)
    dropped: dict[str, tuple[int, np.ndarray]] = {}
    bad_ts = None
    if unusable.any():
        no_ts = stamps.missing & ~no_user
        bad_ts = stamps.unparseable & no_ts
        far = stamps.out_of_range & no_ts
        no_event = (codes < 0) & ~(no_user | stamps.missing)
        dropped = dropped_rows((no_user, no_ts & ~bad_ts & ~far, bad_ts, far, no_event))
    usable = ~unusable
    n_usable = rows - int(np.count_nonzero(unusable))
    every = n_usable == rows
    if only is not None:
        wanted = codes_in(codes, event_names, only)
    keep = usable if only is None else (wanted if every else usable & wanted)
    mask = pa.array(keep) if prop_cols is not None else None
    keep = np.flatnonzero(keep)             # the kept rows are few: gather them by index, once per column
    in_use = stamps.values if every else stamps.values[usable]
    low, high = stamps.bounds if every and stamps.bounds else (in_use.min(), in_use.max()) if n_usable else (0, 0)
    first_bad = int(np.flatnonzero(bad_ts)[0]) if bad_ts is not None and bad_ts.any() else None
    return _Piece(
        rows=rows, dropped=dropped, names=event_names, usable=n_usable,
        first=int(low) * stamps.scale if n_usable else None,
        last=int(high) * stamps.scale if n_usable else None,
        user=(NumericIds.of(raw["user"], keep, None if every else usable, count_users) if numeric else
              kept_ids(raw["user"], keep) if later else
              Ids.of(user[keep], names, ((user if every else user[usable]) if count_users else None))),
        ts=stamps.values[keep] * stamps.scale,
        event=codes[keep],
        props=table.select(prop_cols).filter(mask) if prop_cols is not None else None,
        links=identity.links(usable, stamps.values * stamps.scale) if identity else None,
        bad_ts=0 if bad_ts is None else int(np.count_nonzero(bad_ts)),
        with_user=rows - int(np.count_nonzero(no_user)),
        first_bad=None if first_bad is None else (stamps.raw.iloc[first_bad], first_bad),
    )


def _blank(values, table: pa.Table, where: tuple) -> np.ndarray:
    """Per row, whether its id is blank: none, when the row group's statistics say so (a Parquet
    file's, ``sources.never_blank``), else every row checked (``blank_ids``)."""
    column, path = where
    sure = (table.schema.metadata or {}).get(NEVER_BLANK)
    if not path and sure and column in sure.decode().split("\n"):
        return np.zeros(len(values), dtype=bool)
    return blank_ids(values)


def _plain_text(values) -> bool:
    return isinstance(values, (pa.Array, pa.ChunkedArray)) and (pa.types.is_string(values.type)
                                                                or pa.types.is_large_string(values.type))


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    """An in-memory frame as Arrow; a column of mixed Python types is read as text."""
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        mixed = {c: frame[c].astype("string") for c in frame.columns if frame[c].dtype == object}
        return pa.Table.from_pandas(frame.assign(**mixed), preserve_index=False)


def _groups(src: Source, pieces: list, row_groups: tuple[int, int], plan) -> tuple:
    """The pieces of row groups ``first:end`` of a Parquet file, and line numbers from the first's row."""
    first, end = row_groups
    meta = pq.ParquetFile(src.path).metadata if src.format == "parquet" else None
    if meta is None:
        raise ValueError("row_groups: only Parquet files have row groups")
    before = sum(meta.row_group(i).num_rows for i in range(min(first, meta.num_row_groups)))
    line = _line_of(src)
    return pieces[first:end], plan, lambda i: line(before + i)


def _line_of(src: Source):
    base = str(src.path)
    if src.format == "csv":
        return lambda i: f"{base}:{i + 2}"
    if src.format == "jsonl":
        return lambda i: f"{base}:{i + 1}"
    return lambda i: f"{base}: row {i + 1}"


def _columns_from_table(table: pa.Table, plan, rows: int, arrow: Sequence[str] = (),
                        derived: Collection[str] = ()) -> dict[str, pd.Series]:
    """One pandas Series of ``rows`` per plan key (``arrow`` keys: the Arrow column as it is, when it
    is a plain column). ``rows`` is given: a table of no columns, concatenated, forgets its rows.
    Paths into a column (structs, lists, maps, JSON text: load.paths) are read together, so that
    JSON text is parsed once per column. A list, struct or map is an error (it is no single value),
    except for the ``derived`` keys: their URL part of anything but text is missing (8.1)."""
    out: dict = {}
    nested: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for key, (col, path) in plan.items():
        if col is None and path[:1] == (CONSTANT,):
            constant = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array([path[1]]))
            out[key] = pa.chunked_array([constant]) if key in arrow else constant.to_pandas()
        elif col is None:
            out[key] = pd.Series(pd.NA, index=pd.RangeIndex(rows), dtype="object")
        elif path:
            nested.setdefault(col, []).append((key, path))
        elif key in arrow:
            out[key] = table.column(col)
        else:
            if key not in derived:
                check_single_values(table.column(col).type, key, col)
            out[key] = table.column(col).to_pandas()
    for col, wanted in nested.items():
        found = read_paths(table.column(col), [p for _, p in wanted], name=col,
                           keys=[k for k, _ in wanted], lenient=derived)
        for (key, _), values in zip(wanted, found):
            out[key] = values
    return out


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per-file frames; categories are unioned so the columns stay categorical."""
    if len(frames) == 1:
        return frames[0]
    out = {}
    for col in frames[0].columns:
        parts = [f[col] for f in frames]
        if all(isinstance(p.dtype, pd.CategoricalDtype) for p in parts):
            try:
                out[col] = pd.Series(pd.api.types.union_categoricals(parts, ignore_order=True))
                continue
            except TypeError:
                parts = [p.astype("string") for p in parts]
        out[col] = pd.concat([p.reset_index(drop=True) for p in parts], ignore_index=True)
        if col in ("user", "event"):
            out[col] = out[col].astype("category")
    return pd.DataFrame(out)
