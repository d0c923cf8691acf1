"""The canonical events frame, built at the edge so the engine never sees a raw export.

Columns: ``user`` (category), ``ts`` (datetime64[ns, UTC]), ``event`` (category), then one
column per property the config uses, named by its property name. Row order is input order
(files in the order given, rows in file order), which is the tie-breaker of
docs/semantics.md rule 1.4.
"""
from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from ..config import Config, located_of
from ..config.model import RESERVED
from ..engine.clock import NS_MAX
from ..errors import DataError, Problem, did_you_mean
from .sources import NotSplittable, Source, expand_paths
from .json_depth import MAX_JSON_DEPTH, first_too_deep_value

CORE = ("user", "event", "timestamp")
OUT_OF_RANGE = "with a timestamp outside 1677-09-21..2262-04-11"    # what datetime64[ns] holds (rule 1.5)
DROP_REASONS = ("without a user id", "without a timestamp", "with an unparseable timestamp", OUT_OF_RANGE,
                "without an event name")
SESSION = "$session"  # canonical column of `columns.session`, read like a property
_OFFSET = re.compile(r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?|\b(?:UTC|GMT|[A-Z]{3,4}))\s*$")


@dataclass(frozen=True)
class LogSummary:
    """What is known of every usable row, also when ``Events.frame`` keeps only some events' rows:
    the run's metadata, the micro-conversion population and the end of the data (semantics 4.8)."""

    events: int                # usable rows (a user, a timestamp and an event name)
    users: int | None          # distinct users among them; None when not counted
    first_ts: int | None       # UTC ns
    last_ts: int | None

    @classmethod
    def of(cls, frame: pd.DataFrame) -> LogSummary:
        ts = frame["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
        return cls(len(frame), int(frame["user"].nunique()),
                   int(ts.min()) if len(ts) else None, int(ts.max()) if len(ts) else None)


@dataclass(frozen=True)
class Events:
    """Canonical events: see the module docstring for the columns.

    ``only_events``: the frame holds only the rows of these event names (None: every usable row);
    ``log`` then describes all rows. Without ``log``, the frame is the whole log."""

    frame: pd.DataFrame
    sources: tuple[str, ...] = ()
    only_events: frozenset[str] | None = None
    log: LogSummary | None = None

    def __len__(self) -> int:
        return len(self.frame)

    @cached_property
    def summary(self) -> LogSummary:
        return self.log or LogSummary.of(self.frame)


@dataclass
class DataQualityReport:
    """Rows read, rows dropped by reason, and where the first few dropped rows are."""

    rows_read: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped.values())

    def add(self, reason: str, count: int, examples: Iterable[str] = ()) -> None:
        if count:
            self.dropped[reason] = self.dropped.get(reason, 0) + count
            kept = self.examples.setdefault(reason, [])
            kept.extend(list(examples)[: max(0, 3 - len(kept))])

    def messages(self) -> list[str]:
        """One line per reason, e.g. ``dropped 12 of 50,000 rows without a user id (first: a.csv:17)``."""
        out = []
        known = {reason: i for i, reason in enumerate(DROP_REASONS)}
        for reason, count in sorted(self.dropped.items(), key=lambda item: known.get(item[0], len(known))):
            first = ", ".join(self.examples.get(reason, []))
            out.append(f"dropped {count:,} of {self.rows_read:,} rows {reason}" + (f" (first: {first})" if first else ""))
        return out + self.notes


def needed_properties(config: Config, extra: Iterable[str] = ()) -> list[str]:
    """Property names the config refers to (``where`` keys, ``value:``, ``breakdown.by``), plus ``extra``."""
    names: dict[str, None] = {}
    for _, m in config.matchers():
        names.update(dict.fromkeys(m.where))
    names.update(dict.fromkeys(c.value for c in config.conversions.values() if c.value))
    names.update(dict.fromkeys(f.breakdown.by for f in config.funnels.values() if f.breakdown))
    names.update(dict.fromkeys(extra))
    for name in RESERVED:
        names.pop(name, None)
    if config.columns.session:
        names[SESSION] = None
    return list(names)


def _aliases(config: Config, prop: str) -> list[str]:
    if prop == SESSION:
        return list(config.columns.session or [])
    spec = config.columns.properties.get(prop)
    return spec.columns if spec else [prop]


def _config_loc(config: Config, prop: str) -> tuple:
    if prop in CORE:
        return ("columns", prop)
    if prop == SESSION:
        return ("columns", "session")
    if prop in config.columns.properties:
        return ("columns", "properties", prop)
    for path, m in config.matchers():
        if prop in m.where:
            return (*path, "where", prop)
        if getattr(m, "value", None) == prop:
            return (*path, "value")
    for name, funnel in config.funnels.items():
        if funnel.breakdown and funnel.breakdown.by == prop:
            return ("funnels", name, "breakdown", "by")
    return ()


def _resolve(aliases: Sequence[str], columns: Sequence[str]) -> tuple[str, tuple[str, ...]] | None:
    """First alias present in the file: a column, or ``column.json.path`` into a JSON-string column."""
    present = set(columns)
    for alias in aliases:
        if alias in present:
            return alias, ()
        head, *path = alias.split(".")
        if path and head in present:
            return head, tuple(path)
    return None


def load_events(
    paths: Sequence[str | Path],
    config: Config,
    *,
    input_format: str | None = None,
    extra_properties: Iterable[str] = (),
    only_events: Iterable[str] | None = None,
    count_users: bool = True,
    progress: Callable[[int, int | None], None] | None = None,
) -> tuple[Events, DataQualityReport]:
    """Read event files into one canonical frame, reading only the columns the config needs.

    Args:
        only_events: keep only the rows of these event names (``api.needed_events`` says which a
            config needs). Every row is still checked, counted in the quality report and in
            ``Events.summary``, and its event name known to did-you-mean.
        count_users: count the distinct users of every row (``Events.summary.users``): a hash of
            every id, which only the run's metadata and the micro-conversion report need.
        progress: called after each piece with (rows read so far, rows in all files when known).

    Raises:
        DataError: a file is missing or unreadable, a required column is absent, or no row is usable.
    """
    files = expand_paths(paths)
    props = needed_properties(config, extra_properties)
    sources = [Source.open(p, input_format) for p in files]
    plans = [_plan(src, config, props) for src in sources]
    for src, plan in zip(sources, plans):
        _check_core_types(src.schema, plan, str(src.path))
    _check_properties_somewhere(config, props, plans, sources)
    report = DataQualityReport()
    scan = _Scan(config, report, only_events, count_users)
    total = _known_rows(sources)
    shown = [0]

    def report_rows(rows: int) -> None:
        """Progress never goes back, also when a file read in pieces is read again whole."""
        if progress and rows > shown[0]:
            shown[0] = rows
            progress(rows, total)

    for src, plan in zip(sources, plans):
        cols = list(dict.fromkeys(c for c, _ in plan.values() if c is not None))
        user_col, user_path = plan["user"]
        pieces = partial(src.pieces, cols, dictionary=[plan["event"][0]] + ([user_col] if not user_path else []),
                         text=[user_col])
        try:
            try:
                scan.file(pieces(), plan, _line_of(src), report_rows)
            except NotSplittable:
                scan.file(pieces(split=False), plan, _line_of(src), report_rows)
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            if not isinstance(exc, UnicodeDecodeError) and "UTF8" not in str(exc):
                raise
            raise DataError("the user or event column holds bytes that are not UTF-8 text", where=str(src.path),
                            hint="ids and event names must be text or integers; re-save the file as UTF-8") from None
    events = scan.events(tuple(map(str, files)))
    if events.summary.events == 0:
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
    plan = _plan_columns(columns, config, props, name)
    table = _arrow_table(raw[[c for c in dict.fromkeys(c for c, _ in plan.values() if c)]])
    _check_core_types(table.schema, plan, name)
    report = DataQualityReport()
    scan = _Scan(config, report, only_events, True)
    scan.file([lambda: table], plan, lambda i: f"row {i + 1}")
    return scan.events((name,)), report


class _Scan:
    """Pieces of input in, one canonical frame out. Every row is checked and counted (rules
    1.1-1.3); only usable rows of the wanted events are kept, and only their user ids are hashed
    into codes, once, at the end."""

    def __init__(self, config: Config, report: DataQualityReport, only_events: Iterable[str] | None,
                 count_users: bool):
        if only_events is not None and any(p.per_user for p in config.columns.properties.values()):
            raise ValueError("only_events: a per_user property needs every row")
        self.config, self.report = config, report
        self.only = None if only_events is None else frozenset(only_events)
        self.count_users = count_users
        self.users: list[_Ids] = []
        self.ts: list[np.ndarray] = []
        self.event: list[tuple[np.ndarray, list[str]]] = []     # per piece: kept rows' codes into its names
        self.props: list[dict[str, pd.Series]] = []
        self.names: dict[str, None] = {}
        self.rows = 0
        self.first: int | None = None
        self.last: int | None = None

    def file(self, pieces: Sequence[Callable[[], pa.Table]], plan, line_of, progress=None) -> None:
        """Scan one file's pieces, two at a time (reading and checking release the GIL), merged in
        order; its kept properties are decoded once, when the file is done."""
        core = {k: plan[k] for k in ("user", "event", "timestamp")}
        prop_plan = {k: v for k, v in plan.items() if k.startswith("prop:")}
        prop_cols = list(dict.fromkeys(c for c, _ in prop_plan.values() if c)) if prop_plan else None

        json_cols = list(dict.fromkeys(c for c, path in prop_plan.values() if c and path))

        def check(read: Callable[[], pa.Table]) -> _Piece:
            table = read()
            _check_json_depth(table, json_cols)
            return _check_piece(table, core, prop_cols, self.config, self.only, self.count_users)

        checked, rows = [], self.report.rows_read
        with ThreadPoolExecutor(2, thread_name_prefix="microconv-scan") as pool:
            try:
                for piece in pool.map(check, pieces):      # merged once all are in: a piece may ask for a re-read
                    checked.append(piece)
                    rows += piece.rows
                    if progress:
                        progress(rows)
            except _TooDeep as deep:                       # the pieces before it are in ``rows``
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
            self.props.append(_columns_from_table(table, prop_plan, sum(t.num_rows for t in kept)))

    def _merge(self, piece: _Piece, line_of) -> None:
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
        users, distinct = _categorical_ids(self.users, every_name_kept=not self.count_users)
        frame = pd.DataFrame({"user": users, "ts": ts, "event": event}, copy=False)   # all made here: not copied
        if self.props:
            props = _concat([pd.DataFrame(p) for p in self.props])
            for key, values in _derive(dict(props.items()), self.config).items():
                frame[key[5:]] = values.reset_index(drop=True)
        frame = _per_user(frame, self.config)
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
    user: _Ids                                   # kept rows from here on
    ts: np.ndarray
    event: np.ndarray                            # code into ``names``
    props: pa.Table | None
    bad_ts: int                                  # unparseable timestamps of rows with a user
    with_user: int
    first_bad: tuple[object, int] | None         # (raw value, row number) of the first of them


def _check_piece(table: pa.Table, core, prop_cols: list[str] | None, config: Config,
                 only: frozenset[str] | None, count_users: bool) -> _Piece:
    """Rules 1.1-1.3 on every row of one piece; keep the usable rows of the wanted events."""
    raw = _columns_from_table(table, core, table.num_rows, arrow=("user", "timestamp", "event"))
    rows = table.num_rows
    user, names = _piece_ids(raw["user"])
    no_user = user < 0
    stamps = _stamps(raw["timestamp"], config)
    codes, event_names = _event_codes(raw["event"])
    unusable = no_user | stamps.missing | (codes < 0)
    dropped: dict[str, tuple[int, np.ndarray]] = {}
    bad_ts = None
    if unusable.any():
        no_ts = stamps.missing & ~no_user
        bad_ts = stamps.unparseable & no_ts
        far = stamps.out_of_range & no_ts
        no_event = (codes < 0) & ~(no_user | stamps.missing)
        dropped = {reason: (int(np.count_nonzero(mask)), np.flatnonzero(mask)[:3])
                   for reason, mask in zip(DROP_REASONS, (no_user, no_ts & ~bad_ts & ~far, bad_ts, far, no_event))
                   if mask.any()}
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
        user=_Ids.of(user[keep], names, ((user if every else user[usable]) if count_users else None)),
        ts=stamps.values[keep] * stamps.scale,
        event=codes[keep],
        props=table.select(prop_cols).filter(mask) if prop_cols is not None else None,
        bad_ts=0 if bad_ts is None else int(np.count_nonzero(bad_ts)),
        with_user=rows - int(np.count_nonzero(no_user)),
        first_bad=None if first_bad is None else (stamps.raw.iloc[first_bad], first_bad),
    )


def _event_codes(values) -> tuple[np.ndarray, list[str]]:
    """Rule 1.2's event names of one piece: a code per row into the piece's distinct names (as
    text), -1 where missing. Parquet and CSV event columns are read dictionary-encoded, so this
    looks at a few dozen names per chunk, not at a string per row."""
    if isinstance(values, pd.Series):
        values = pa.chunked_array([_names_as_text(values)])
    if not pa.types.is_dictionary(values.type):
        values = pc.dictionary_encode(values if pa.types.is_string(values.type) else _names_as_text(values))
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values])
    where: dict[str, int] = {}
    codes = []
    for chunk in values.chunks:
        dictionary = (chunk.dictionary if pa.types.is_string(chunk.dictionary.type)
                      else _names_as_text(chunk.dictionary))
        lookup = np.array([-1 if n is None else where.setdefault(n, len(where)) for n in dictionary.to_pylist()],
                          dtype=np.int32)
        codes.append(_through(chunk.indices, lookup))
    return _joined(codes), list(where)


def _names_as_text(values) -> pa.Array:
    """Event names of another type as text: integers as their digits (also in a column with
    missing values, which pandas would make floats), anything else as pandas writes it (3.0
    stays "3.0", True stays "True")."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)) and pa.types.is_integer(values.type):
        return values.cast(pa.string())
    values = values.to_pandas() if isinstance(values, (pa.Array, pa.ChunkedArray)) else values
    return pa.array(pd.Series(values).astype("string"), type=pa.string(), from_pandas=True)


_NS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


@dataclass
class _Stamps:
    """Rule 1.3 per row of a piece: UTC times as int64 ``values`` * ``scale`` nanoseconds (0 where missing)."""

    values: np.ndarray
    scale: int
    missing: np.ndarray
    unparseable: np.ndarray      # a subset of missing
    raw: pd.Series | None        # the values as read, for naming the first unparseable one
    bounds: tuple[int, int] | None = None   # the smallest and largest ``values``, when known already
    out_of_range: np.ndarray | None = None  # a subset of missing: a time datetime64[ns] cannot hold (1.5)

    def __post_init__(self):
        if self.out_of_range is None:
            self.out_of_range = np.zeros(len(self.missing), dtype=bool)


_NAT = np.iinfo(np.int64).min


def _stamps(values, config: Config) -> _Stamps:
    """A typed Arrow timestamp is read as its integers, those datetime64[ns] cannot hold set
    aside (rule 1.5); one that needs no time zone work is then scaled only for the rows kept,
    anything else goes through :func:`parse_timestamps`."""
    far = None
    if isinstance(values, pa.ChunkedArray) and pa.types.is_timestamp(values.type):
        kind = values.type
        numbers = pc.cast(values, pa.int64())
        scale = _NS_PER[kind.unit]
        low, high = pc.min_max(numbers).as_py().values()
        limit = NS_MAX // scale
        if low is not None and not (-limit <= low and high <= limit):
            odd = pc.or_(pc.less(numbers, -limit), pc.greater(numbers, limit))
            far = odd.fill_null(False).to_numpy(zero_copy_only=False)
            numbers = pc.if_else(odd, pa.scalar(None, pa.int64()), numbers)
            low, high = pc.min_max(numbers).as_py().values()
        if kind.tz is not None or config.columns.timezone == "UTC":
            bounds = None if numbers.null_count or low is None else (low, high)
            missing = (numbers.is_null().to_numpy(zero_copy_only=False) if numbers.null_count
                       else np.zeros(len(numbers), dtype=bool))
            numbers = numbers.fill_null(0) if numbers.null_count else numbers
            return _Stamps(numbers.to_numpy(), scale, missing, np.zeros(len(missing), dtype=bool), None, bounds,
                           far)
        values = (numbers.cast(kind) if far is not None else values).to_pandas()
    elif isinstance(values, pa.ChunkedArray):
        values = values.to_pandas()
    ns, unparseable, out_of_range = read_timestamps(values, config.columns.timestamp_unit, config.columns.timezone)
    missing = ns == _NAT
    ns[missing] = 0
    if far is not None:
        out_of_range |= far
    return _Stamps(ns, 1, missing, unparseable, values, None, out_of_range)


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    """An in-memory frame as Arrow; a column of mixed Python types is read as text."""
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        mixed = {c: frame[c].astype("string") for c in frame.columns if frame[c].dtype == object}
        return pa.Table.from_pandas(frame.assign(**mixed), preserve_index=False)


def _plan(src: Source, config: Config, props: list[str]) -> dict[str, tuple[str | None, tuple[str, ...]]]:
    return _plan_columns(src.columns, config, props, str(src.path))


def _plan_columns(columns: list[str], config: Config, props: list[str], where: str):
    located = located_of(config)
    plan: dict[str, tuple[str | None, tuple[str, ...]]] = {}
    problems = []
    for core in CORE:
        aliases = getattr(config.columns, core)
        hit = _resolve(aliases, columns)
        if hit is None:
            guess = did_you_mean(aliases[0], columns, what="columns")
            fix = f"set columns.{core} in the config"
            message = f"no {core} column; looked for {', '.join(map(repr, aliases))}"
            if located.has("columns", core):
                message, at = f"{where} has {message}", located.where("columns", core)
            else:
                at = where
            problems.append(Problem(message, at, f"{guess}; {fix}" if guess else fix))
        else:
            plan[core] = hit
    if problems:
        raise DataError(problems)
    for prop in props:
        plan[f"prop:{prop}"] = _resolve(_aliases(config, prop), columns) or (None, ())
    return plan


def _check_properties_somewhere(config, props, plans, sources) -> None:
    """A property no file has is a typo, not a messy export: say so, with did-you-mean."""
    located = located_of(config)
    all_columns = sorted({c for s in sources for c in s.columns})
    problems = [
        Problem(f"{'the session column' if p == SESSION else f'property {p!r}'} is not a column of any input file (looked for "
                f"{', '.join(map(repr, _aliases(config, p)))})",
                located.where(*_config_loc(config, p)) if _config_loc(config, p) else
                ", ".join(str(s.path) for s in sources),
                did_you_mean(_aliases(config, p)[0], all_columns + list(config.columns.properties),
                             what="columns"))
        for p in props if all(plan[f"prop:{p}"][0] is None for plan in plans)
    ]
    if problems:
        raise DataError(problems)


def _line_of(src: Source):
    base = str(src.path)
    if src.format == "csv":
        return lambda i: f"{base}:{i + 2}"
    if src.format == "jsonl":
        return lambda i: f"{base}:{i + 1}"
    return lambda i: f"{base}: row {i + 1}"


def _columns_from_table(table: pa.Table, plan, rows: int, arrow: Sequence[str] = ()) -> dict[str, pd.Series]:
    """One pandas Series of ``rows`` per plan key (``arrow`` keys: the Arrow column as it is, when it
    is a plain column). ``rows`` is given: a table of no columns, concatenated, forgets its rows."""
    out: dict = {}
    json_paths: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for key, (col, path) in plan.items():
        if col is None:
            out[key] = pd.Series(pd.NA, index=pd.RangeIndex(rows), dtype="object")
        elif path and pa.types.is_struct(table.column(col).type):
            out[key] = _struct_path(table.select([col]), (col, *path))
        elif path:
            json_paths.setdefault(col, []).append((key, path))
        elif key in arrow:
            out[key] = table.column(col)
        else:
            out[key] = table.column(col).to_pandas()
    for col, wanted in json_paths.items():
        fields = _json_fields(table.column(col), [p for _, p in wanted])
        for (key, _), values in zip(wanted, fields):
            out[key] = values
    return out


def _as_text(values) -> pa.ChunkedArray:
    """Ids as Arrow text: numbers become their digits, whatever the column held."""
    if isinstance(values, pd.Series):
        values = pa.chunked_array([pa.array(values.astype("string"), type=pa.string(), from_pandas=True)])
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    return values


def _piece_ids(values) -> tuple[np.ndarray, pa.Array]:
    """Rule 1.1 for one piece: per row, a code into the piece's distinct ids (trimmed), or -1 for a
    missing, empty or all-whitespace id. Parquet and CSV user columns are read dictionary-encoded,
    so only the distinct ids of a piece are looked at, never one string per row."""
    if isinstance(values, pd.Series) or not pa.types.is_dictionary(values.type):
        values = pa.chunked_array([pc.dictionary_encode(_as_text(values).combine_chunks())])
    codes, names, base = [], [], 0
    for chunk in values.chunks:
        words = chunk.dictionary if pa.types.is_string(chunk.dictionary.type) else chunk.dictionary.cast(pa.string())
        trimmed = pc.utf8_trim_whitespace(words)
        length = pc.binary_length(trimmed)
        lookup = np.arange(base, base + len(words), dtype=np.int32)
        if words.null_count or pc.min(length).as_py() == 0:
            lookup[pc.equal(length, 0).fill_null(True).to_numpy(zero_copy_only=False)] = -1
        codes.append(_through(chunk.indices, lookup))
        names.append(trimmed)
        base += len(words)
    return _joined(codes), pa.concat_arrays(names) if names else pa.array([], pa.string())


def _through(index: pa.Array, lookup: np.ndarray) -> np.ndarray:
    """Per row of a dictionary chunk, ``lookup`` of its index into the dictionary, -1 where the
    index is missing. When ``lookup`` only adds the same number to every index (the usual case:
    nothing blank, no name seen before), the indices are taken as they are, not gathered."""
    lookup = lookup.astype(np.int32, copy=False)
    shift = np.int32(lookup[0]) if len(lookup) else np.int32(0)
    if not index.null_count and (lookup == np.arange(shift, shift + len(lookup), dtype=np.int32)).all():
        indices = index.to_numpy().astype(np.int32, copy=False)
        return indices + shift if shift else indices
    return np.append(lookup, np.int32(-1)).take(index.fill_null(-1).to_numpy() if index.null_count else index.to_numpy())


def _joined(codes: list[np.ndarray]) -> np.ndarray:
    """A piece's codes from its chunks' (one chunk's as it is)."""
    if len(codes) == 1:
        return codes[0]
    return np.concatenate(codes) if codes else np.zeros(0, dtype=np.int32)


PART_BITS = 6
ID_PARTS = 1 << PART_BITS


@dataclass
class _Parted:
    """Distinct ids in ``ID_PARTS`` parts by a cheap function of their bytes (:func:`_part_of`):
    the same id always lands in the same part, so each part is hashed on its own. Hash tables of
    a few ten thousand ids stay in the CPU cache: 1.5M ids hash about five times faster in 64
    parts than in one table, and the parts share out between two threads."""

    ids: pa.Array          # ordered by part
    sizes: np.ndarray      # ids per part

    @classmethod
    def of(cls, ids: pa.Array) -> tuple[_Parted, np.ndarray]:
        """The ids in parts, and where each id went (its index in ``ids`` ordered by part)."""
        part = _part_of(ids)
        order = np.argsort(part, kind="stable")
        moved = np.empty(len(ids), dtype=np.int32)
        moved[order] = np.arange(len(ids), dtype=np.int32)
        return cls(ids.take(pa.array(order)), np.bincount(part, minlength=ID_PARTS)), moved


def _part_of(ids: pa.Array) -> np.ndarray:
    """Per id, its part: a multiplicative hash of the sum of its bytes, its length and its last,
    second-to-last and middle bytes (cheap, and enough to spread numeric, hexadecimal and e-mail
    ids alike; equal ids always agree)."""
    if len(ids) == 0:
        return np.zeros(0, dtype=np.uint8)
    _, offsets, data = ids.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int32)[ids.offset:ids.offset + len(ids) + 1]
    start, stop = bounds[:-1], bounds[1:]
    if data is None or bounds[-1] == 0:
        return np.zeros(len(ids), dtype=np.uint8)
    text = np.frombuffer(data, dtype=np.uint8)[:bounds[-1]]
    empty = stop == start
    total = np.add.reduceat(np.append(text, np.uint8(0)), start, dtype=np.uint32)  # modulo 2**32, like the rest
    total[empty] = 0                                # (reduceat gives an empty id the next id's first byte)
    last = np.where(empty, 0, text[np.where(empty, 0, stop - 1)]).astype(np.uint32)
    before = np.where(stop - start > 1, text[np.maximum(stop - 2, 0)], 0).astype(np.uint32)
    middle = np.where(empty, 0, text[np.where(empty, 0, (start + stop) // 2)]).astype(np.uint32)
    ends = (last | before << 8 | middle << 16 | (stop - start).astype(np.uint32) << 24) * np.uint32(0x9E3779B1)
    mixed = (ends ^ total * np.uint32(0x85EBCA6B)) * np.uint32(0xC2B2AE35)
    return (mixed >> np.uint32(32 - PART_BITS)).astype(np.uint8)


@dataclass
class _Ids:
    """The ids of one piece: its distinct ids (in parts) and, per kept row, a code into them. When
    users are counted, the distinct ids are those of every usable row, so that one hash gives both
    the count and the kept rows' codes; otherwise only those of the kept rows."""

    names: _Parted
    codes: np.ndarray

    @classmethod
    def of(cls, codes: np.ndarray, names: pa.Array, usable: np.ndarray | None) -> _Ids:
        """``codes`` of the kept rows and ``usable`` ones (given when users are counted) into ``names``."""
        used, codes = _drop_unused(codes, len(names), codes if usable is None else usable)
        parted, moved = _Parted.of(names if len(used) == len(names) else names.take(pa.array(used)))
        return cls(parted, moved.take(codes))


def _drop_unused(codes: np.ndarray, size: int, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The names (of ``size``) that ``present`` codes (all in [0, size)) use, and ``codes`` renumbered
    into those. (Marked in a boolean array, not counted by a bincount: 6.2M codes of 3M names in
    54 ms instead of 77.)"""
    seen = np.zeros(size, dtype=bool)
    seen[present] = True
    used = np.flatnonzero(seen)
    if len(used) == size:
        return used, codes
    renumber = np.zeros(size, dtype=np.int32)
    renumber[used] = np.arange(len(used), dtype=np.int32)
    return used, renumber.take(codes)


def _hash_parts(pieces: Sequence[_Parted]) -> tuple[list[np.ndarray], pa.Array]:
    """Each part of every piece hashed, two parts at a time: per piece, a code per id (in the
    piece's part order) into the distinct ids, which are returned too (part after part)."""
    sizes = np.array([p.sizes for p in pieces], dtype=np.int64).reshape(len(pieces), ID_PARTS)
    at = np.cumsum(sizes, axis=1) - sizes                 # where each part starts within its piece

    def encode(k: int) -> tuple[np.ndarray, pa.Array]:
        coded = pc.dictionary_encode(pa.chunked_array(
            [p.ids.slice(at[i, k], sizes[i, k]) for i, p in enumerate(pieces)], pa.string()))
        if coded.num_chunks == 0:
            return np.zeros(0, dtype=np.int32), pa.array([], pa.string())
        return (np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in coded.chunks]),
                coded.chunk(0).dictionary)

    with ThreadPoolExecutor(2, thread_name_prefix="microconv-ids") as pool:
        coded = list(pool.map(encode, range(ID_PARTS)))
    names = [d for _, d in coded]
    first = np.cumsum([0] + [len(d) for d in names[:-1]]).astype(np.int32)
    by_part = np.concatenate([c + f for (c, _), f in zip(coded, first)])       # part by part, pieces in order
    # the same codes piece by piece, parts in order: block (piece i, part k) sits at
    # by_part's (part k, piece i) block
    part_major = (np.cumsum(sizes.T.ravel()) - sizes.T.ravel()).reshape(ID_PARTS, len(pieces)).T
    piece_major = (np.cumsum(sizes.ravel()) - sizes.ravel()).reshape(len(pieces), ID_PARTS)
    shift = np.repeat((part_major - piece_major).ravel(), sizes.ravel())
    by_piece = by_part[np.arange(len(shift)) + shift]
    ends = np.cumsum(sizes.sum(axis=1))
    return np.split(by_piece, ends[:-1]), pa.concat_arrays(names)


def _categorical_ids(pieces: Sequence[_Ids], every_name_kept: bool) -> tuple[pd.Series, int]:
    """The kept rows' ids as a categorical of their text, and how many distinct ids the pieces
    hold; when not ``every_name_kept``, ids no kept row has are dropped from the categories.
    Factorized categories are unique by construction, so the dtype is built without pandas'
    check, which re-hashes them all (as costly as the factorize itself with millions of users)."""
    code_of, names = _hash_parts([p.names for p in pieces])
    distinct = len(names)
    codes = [c.take(p.codes) for c, p in zip(code_of, pieces)]
    codes = np.concatenate(codes) if codes else np.zeros(0, dtype=np.int32)
    if not every_name_kept:
        used, codes = _drop_unused(codes, len(names), codes)
        names = names if len(used) == len(names) else names.take(pa.array(used))
    categories = pd.Index(names.to_pandas())
    try:
        dtype = pd.CategoricalDtype._from_fastpath(categories, False)
    except AttributeError:                  # a pandas without the fast path: the checked one
        dtype = pd.CategoricalDtype(categories)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype, validate=False)), distinct


def _json_fields(column: pa.ChunkedArray, paths: list[tuple[str, ...]]) -> list[pd.Series]:
    """Values at dotted paths inside a column of JSON-object strings, parsed in one pass by Arrow."""
    text = pc.fill_null(pc.utf8_trim_whitespace(_json_text(column)), "")
    text = pc.if_else(pc.starts_with(text, "{"), pc.replace_substring(text, "\n", " "), "{}")
    longest = pc.max(pc.binary_length(text)).as_py() or 0      # a parse block holds whole lines
    try:
        parsed = pa_json.read_json(
            io.BytesIO("\n".join(text.to_pylist()).encode() + b"\n"),
            read_options=pa_json.ReadOptions(block_size=max(1 << 20, longest + 2)),
            parse_options=pa_json.ParseOptions(unexpected_field_behavior="infer"),
        )
        if parsed.num_rows != len(column):
            raise ValueError("row count changed")
        records = None
    except (pa.ArrowException, ValueError):
        parsed = None
        records = [json_or_none(s) for s in text.to_pylist()]
    out = []
    for path in paths:
        if parsed is not None:
            out.append(_struct_path(parsed, path))
        else:
            values = []
            for rec in records:
                for key in path:
                    rec = rec.get(key) if isinstance(rec, dict) else None
                values.append(rec)
            out.append(pd.Series(values, dtype="object").infer_objects())
    return out


def _json_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A JSON-string column as the text Arrow's JSON reader is given (whatever its type: dictionary,
    binary, string view...); the depth check looks at exactly this."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column
    return column.cast(pa.string())


def json_or_none(text: str):
    """The parsed JSON value of ``text``, or None when it is not JSON (or nests too deep to parse)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


class _TooDeep(Exception):
    """A JSON-string value that Arrow's JSON reader would crash on, at ``row`` of its piece."""

    def __init__(self, column: str, row: int):
        super().__init__(column, row)
        self.column, self.row = column, row


def _check_json_depth(table: pa.Table, columns: Sequence[str]) -> None:
    """Raise _TooDeep for the first value of a JSON-string ``columns`` (one read by a dotted path)
    that nests deeper than MAX_JSON_DEPTH, before _json_fields hands it to Arrow's reader: the text
    checked is the text parsed there, so a column of any type that becomes text is covered."""
    for col in columns:
        column = table.column(col)
        if pa.types.is_struct(column.type):
            continue                                    # read by struct_field, never parsed as JSON
        try:
            text = _json_text(column)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue                                    # not text: _json_fields fails the same cast, parses nothing
        row = first_too_deep_value(text)
        if row is not None:
            raise _TooDeep(col, row)


_EXPECTED = {"user": "text or integer ids", "event": "text (or integer) event names",
             "timestamp": "timestamps, date-time text or epoch numbers"}


def _check_core_types(schema: pa.Schema | None, plan, where: str) -> None:
    """A list, struct or map where ids, event names or timestamps belong (a wrong column, or an export
    that nests them) is named with what was expected, before a cast of it fails somewhere deeper."""
    problems = []
    for core in CORE:
        col, path = plan[core]
        kind = _type_at(schema, col, path) if schema is not None else None
        if kind is not None and (pa.types.is_nested(kind) or
                                 pa.types.is_dictionary(kind) and pa.types.is_nested(kind.value_type)):
            name = ".".join((col, *path))
            field = f", or to a field inside this one as {name}.FIELD" if pa.types.is_struct(kind) else ""
            problems.append(Problem(f"column {name!r} ({core}) holds {kind}, not plain values: expected {_EXPECTED[core]}",
                                    where, f"set columns.{core} to a column of single values{field}"))
    if problems:
        raise DataError(problems)


def _type_at(schema: pa.Schema, col: str, path: tuple[str, ...]) -> pa.DataType | None:
    """The Arrow type at ``col.path`` (through struct fields); None where it is not known up front."""
    if schema.get_field_index(col) < 0:
        return None
    kind = schema.field(col).type
    for key in path:
        if not pa.types.is_struct(kind) or kind.get_field_index(key) < 0:
            return None                                 # a JSON string, parsed later
        kind = kind.field(key).type
    return kind


def _struct_path(table: pa.Table, path: tuple[str, ...]) -> pd.Series:
    if path[0] not in table.column_names:
        return pd.Series(pd.NA, index=pd.RangeIndex(table.num_rows), dtype="object")
    arr = table.column(path[0]).combine_chunks()
    for key in path[1:]:
        if not pa.types.is_struct(arr.type) or arr.type.get_field_index(key) < 0:
            return pd.Series(pd.NA, index=pd.RangeIndex(table.num_rows), dtype="object")
        arr = pc.struct_field(arr, key)
    return arr.to_pandas()


_URL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:)?(?://(?P<host>[^/?#]*))?(?P<path>[^?#]*)")


def _derive(raw: dict[str, pd.Series], config: Config) -> dict[str, pd.Series]:
    """URL parts of derived properties (8.1), computed once per distinct value."""
    for prop, spec in config.columns.properties.items():
        key = f"prop:{prop}"
        if key in raw and (spec.query or spec.url):
            raw[key] = _per_distinct(raw[key], lambda v: url_part(v, query=spec.query, part=spec.url))
    return raw


def url_part(url, *, query: str | None = None, part: str | None = None):
    """One query parameter (decoded), the path, or the lower-cased host of a URL; None when absent."""
    from urllib.parse import parse_qsl

    if not isinstance(url, str) or not url.strip():
        return None
    url = url.strip().split("#", 1)[0]
    match = _URL.match(url)
    if query is not None:
        _, _, rest = url.partition("?")
        for key, value in parse_qsl(rest, keep_blank_values=True):
            if key == query:
                return value or None
        return None
    if part == "host":
        host = (match.group("host") or "").rsplit("@", 1)[-1]
        host = host[:host.index("]") + 1] if host.startswith("[") and "]" in host else host.split(":", 1)[0]
        return host.lower() or None
    return match.group("path") or "/"


def map_distinct(values: pd.Series, fn) -> tuple[np.ndarray, list]:
    """``fn`` applied once per distinct value (a log has millions of rows but few distinct values):
    per value a code into the distinct results, -1 where the value is missing or ``fn`` gives None."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    result_codes, results = pd.factorize(pd.Series([fn(v) for v in uniques], dtype=object), use_na_sentinel=True)
    return np.append(result_codes, -1)[codes], list(results)


def _per_distinct(values: pd.Series, fn) -> pd.Series:
    values = values.astype("object")
    try:
        codes, results = map_distinct(values, fn)
    except TypeError:                       # JSON objects or lists in the column: not text, so no URL
        codes, results = map_distinct(values.where(values.map(lambda v: isinstance(v, str))), fn)
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(results, dtype="string")))


def _per_user(frame: pd.DataFrame, config: Config) -> pd.DataFrame:
    """``per_user`` properties: each user's first (or last) non-missing value in the order of rule 1.4."""
    for prop, spec in config.columns.properties.items():
        if spec.per_user is None or prop not in frame.columns:
            continue
        values = frame[prop]
        seen = frame.loc[values.notna().to_numpy(), ["user", "ts"]]
        if spec.per_user == "last":
            seen = seen.iloc[::-1]
        pick = (seen.groupby("user", observed=True, sort=False)["ts"]
                .agg("idxmax" if spec.per_user == "last" else "idxmin"))
        by_user = values.loc[pick.to_numpy()].set_axis(pick.index).reindex(frame["user"].cat.categories)
        frame[prop] = by_user.iloc[frame["user"].cat.codes.to_numpy()].set_axis(frame.index)
    return frame


def category_in(values: pd.Series, names: Iterable[str]) -> np.ndarray:
    """Per row of a categorical: is its value one of ``names``? (One lookup per category; missing: False.)"""
    return codes_in(values.cat.codes.to_numpy(), values.cat.categories, names)


def codes_in(codes: np.ndarray, categories: Sequence[str], names: Iterable[str]) -> np.ndarray:
    """Per code (into ``categories``, -1 for missing): is its category one of ``names``? A few names
    are compared for (a step's one event: 0.2 ms over 3.2M codes, where a lookup takes 6 ms)."""
    hit = pd.Index(categories).isin(list(names))
    found = np.flatnonzero(hit)
    if len(found) > 4:
        return np.append(hit, False).take(codes)
    if len(found) == 0:
        return np.zeros(len(codes), dtype=bool)
    mask = codes == int(found[0])
    for code in found[1:]:
        mask |= codes == int(code)
    return mask


def parse_timestamps(values: pd.Series, unit: str | None, tz: str) -> tuple[pd.Series, np.ndarray]:
    """UTC nanosecond timestamps, and a mask of non-empty values that could not be parsed (or
    parsed to a time outside what datetime64[ns] holds)."""
    ns, unparseable, out_of_range = read_timestamps(values, unit, tz)
    ts = pd.Series(pd.DatetimeIndex(ns.view("datetime64[ns]"), dtype="datetime64[ns, UTC]"), index=values.index)
    return ts, unparseable | out_of_range


def read_timestamps(values: pd.Series, unit: str | None, tz: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rule 1.3 for a column: UTC nanoseconds as int64 (int64 min, pandas' NaT, where missing), a
    mask of non-empty values that could not be parsed, and one of values that parsed to a time
    outside datetime64[ns] (1677-09-21..2262-04-11), which rule 1.5 drops like unparseable ones."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype("string")
    present = values.notna()
    early = None                                # beyond the range before localizing: see _local_far
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        ts = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        early = _local_far(values)
        ts = localize(values.where(~early) if early.any() else values, tz)
    elif pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        ns, far = _from_epoch(values, unit)
        return ns, present.to_numpy() & (ns == _NAT) & ~far, far
    else:
        text = values.astype("string").str.strip().replace("", pd.NA)
        present = text.notna()
        numeric = text.str.fullmatch(r"-?\d+(?:\.\d+)?").fillna(False)
        if unit is not None or (present.any() and numeric[present].mean() >= 0.5):
            ns, far = _from_epoch(pd.to_numeric(text.where(numeric), errors="coerce"), unit)
            return ns, present.to_numpy() & (ns == _NAT) & ~far, far
        ts, early = _from_text(text, tz)
    ns, far = _as_ns(ts)
    if early is not None:
        far |= early
    return ns, present.to_numpy() & (ns == _NAT) & ~far, far


def _as_ns(ts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """UTC times of any resolution (pandas reads text and epochs as seconds or microseconds) as
    int64 nanoseconds, NaT where missing or beyond datetime64[ns]; and a mask of the latter."""
    unit = getattr(ts.dtype, "unit", "ns")
    ints = ts.array.asi8 if hasattr(ts.array, "asi8") else ts.to_numpy(dtype=f"datetime64[{unit}]").view("int64")
    return _scaled(ints, ints == _NAT, _NS_PER[unit])


def _scaled(ints: np.ndarray, missing: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """``ints`` (int64 counts of 1/``scale`` ns) as nanoseconds, NaT where ``missing`` or where the
    product would pass the int64 range (those also in the returned mask). Always a new array."""
    limit = NS_MAX // scale
    far = (ints > limit) | (ints < -limit)
    far &= ~missing
    ns = ints * scale if scale != 1 else ints.copy()
    np.putmask(ns, far | missing, _NAT)
    return ns, far


def _from_epoch(numbers: pd.Series, unit: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Epoch numbers to UTC nanoseconds (NaT where missing or out of range) and the out-of-range
    mask. Integers are scaled exactly, in int64; fractions go through pandas' rounding, once the
    values beyond datetime64[ns] are set aside (pandas would raise on them)."""
    unit = unit or _epoch_unit(numbers)
    scale = _NS_PER[unit]
    missing = numbers.isna().to_numpy()
    if pd.api.types.is_integer_dtype(numbers.dtype):
        return _scaled(numbers.to_numpy(dtype=np.int64, na_value=0), missing, scale)
    floats = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore", over="ignore"):
        far = ~missing & ~(np.abs(floats) * scale < _FLOAT_NS_LIMIT)       # also +-inf
    if far.any():
        floats = np.where(far, np.nan, floats)
    finite = floats[~np.isnan(floats)]
    if len(finite) and not np.mod(finite, 1).any() and np.abs(finite).max() >= 2**53:
        ns, _ = _scaled(np.nan_to_num(floats, nan=0).astype(np.int64), np.isnan(floats), scale)
        return ns, far
    ts = pd.to_datetime(pd.Series(floats, index=numbers.index), unit=unit, utc=True, errors="coerce")
    ns, _ = _as_ns(ts)
    return ns, far


_FLOAT_NS_LIMIT = float(2**63 - 2**11)   # the largest float64 below 2**63: a float ns that fits in int64


def _from_text(text: pd.Series, tz: str) -> tuple[pd.Series, np.ndarray | None]:
    """ISO-8601 first (fast), then any format pandas knows; naive times are in ``tz``. The times
    may be of any resolution (:func:`_as_ns` makes them nanoseconds); with them, the naive ones
    set aside as out of range before localizing (None when there was nothing to localize)."""
    ts = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    retry = ts.isna() & text.notna()
    if retry.any():
        again = pd.to_datetime(text[retry], utc=True, format="mixed", errors="coerce")
        ts = _merged(ts, retry, again)
    if tz != "UTC":
        naive = text.notna() & ~text.str.contains(_OFFSET, na=False)
        if naive.any():
            local = pd.to_datetime(text[naive], format="mixed", errors="coerce")
            if not isinstance(local.dtype, pd.DatetimeTZDtype):
                far = _local_far(local)
                ts = _merged(ts, naive, localize(local.where(~far) if far.any() else local, tz))
                early = np.zeros(len(text), dtype=bool)
                early[np.flatnonzero(naive.to_numpy())[far]] = True
                return ts, early
    return ts, None


def _merged(ts: pd.Series, where: pd.Series, values: pd.Series) -> pd.Series:
    """``ts`` with ``values`` at ``where``, in the finer of the two resolutions (pandas picks a
    resolution per parse: seconds for one set of strings, nanoseconds for another)."""
    units = ("s", "ms", "us", "ns")
    finer = max(getattr(ts.dtype, "unit", "ns"), getattr(values.dtype, "unit", "ns"), key=units.index)
    ts = ts.astype(f"datetime64[{finer}, UTC]") if ts.dtype.unit != finer else ts.copy()
    ts[where] = values.astype(f"datetime64[{finer}, UTC]")
    return ts


_LOCAL_MARGIN_NS = 2 * 86_400 * 10**9     # more than any zone's offset from UTC


def _local_far(naive: pd.Series) -> np.ndarray:
    """Naive times too far outside datetime64[ns] for any zone's offset to bring them in: set
    aside before localizing, which fails outside Python's datetime (years 1-9999) for some zones."""
    unit = getattr(naive.dtype, "unit", "ns")
    ints = naive.array.asi8
    scale = _NS_PER[unit]
    margin = _LOCAL_MARGIN_NS // scale
    return (ints != _NAT) & ((ints < -(NS_MAX // scale) - margin) | (ints > NS_MAX // scale + margin))


def localize(naive: pd.Series, tz: str) -> pd.Series:
    """Rule 1.3: a repeated autumn hour is read as its first (summer-time) occurrence."""
    first = np.ones(len(naive), dtype=bool)
    return naive.dt.tz_localize(tz, ambiguous=first, nonexistent="shift_forward").dt.tz_convert("UTC")


def _epoch_unit(numbers: pd.Series) -> str:
    """docs/semantics.md rule 1.3: the unit follows from the column's median magnitude, so that a
    few odd values (one millisecond value among seconds) cannot change it: they are then out
    of range and dropped (1.5), not read in another unit than their column."""
    typical = float(numbers.abs().median()) if numbers.notna().any() else 0.0
    for limit, unit in ((1e11, "s"), (1e14, "ms"), (1e17, "us")):
        if typical < limit:
            return unit
    return "ns"


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

