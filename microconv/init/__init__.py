"""Guess a starter config from an event log (``microconv init``).

Reads a sample of the log, guesses the user, event, timestamp (and session) columns, counts the
event names, picks a funnel and micro-conversions from common e-commerce names, and renders a
commented YAML config that ``microconv validate`` and ``analyze`` accept. No printing: the
command line writes :attr:`Scaffold.yaml` and shows :meth:`Scaffold.summary`.

Columns are guessed by name first (``user_id``, ``clientId``, ``event_name``, ``timestamp``, ...,
compared case-insensitively without separators), then by content: the timestamp is the column
whose values parse as plausible dates or epoch numbers, the event is the low-cardinality text
column with the most spread-out repeated values, the user the id-like column with the most
distinct values that is not nested inside a coarser one (a session id is).
"""
from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from ..errors import DataError
from ..load.events import json_or_none, parse_timestamps
from ..load.sources import Source, check_json_lines, csv_convert_options, expand_paths, growing_blocks
from ..render.escape import json_text, terminal

SAMPLE_ROWS = 200_000
LISTED_EVENTS = 50
MAX_SECONDARY = 15
WINDOW = "7d"


def squash(name: object) -> str:
    """A column or event name compared loosely: lower case, without separators (``User ID`` -> ``userid``)."""
    return re.sub(r"[^0-9a-z]+", "", str(name).lower())


def normalize_event_name(name: object) -> str:
    """``Product Viewed`` -> ``product_viewed``, ``addToCart`` -> ``add_to_cart``, ``product-view`` ->
    ``product_view``."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name))
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


# Column names, best first, as squash() spells them.
USER_NAMES = ("userid", "clientid", "distinctid", "anonymousid", "user", "userpseudoid", "visitorid",
              "fullvisitorid", "customerid", "personid", "memberid", "accountid", "contactid", "uid",
              "deviceid", "cookieid", "amplitudeid", "anonid", "visitor", "customer")
EVENT_NAMES = ("eventname", "event", "eventtype", "action", "name", "eventaction", "eventkey", "type",
               "activity", "eventlabel")
TIMESTAMP_NAMES = ("timestamp", "eventtimestamp", "eventtime", "time", "ts", "datetime", "eventdatetime",
                   "occurredat", "createdat", "receivedat", "senttime", "sentat", "clienttime", "servertime",
                   "timestamputc", "eventts", "date", "eventdate")
DATE_NAMES = ("date", "eventdate")  # weak: often a day next to a finer timestamp
SESSION_NAMES = ("sessionid", "gasessionid", "session", "sessionkey", "sessionuuid", "visitid", "sessionidentifier")
REVENUE_NAMES = ("revenue", "transactionvalue", "transactionrevenue", "ordervalue", "ordertotal", "purchasevalue",
                 "purchaserevenue", "totalrevenue", "revenueusd", "value", "amount", "total", "totalprice",
                 "price")
SEGMENT_WORDS = ("source", "channel", "medium", "campaign", "platform", "device", "country", "browser", "os",
                 "group", "variant", "bucket", "backet", "experiment", "segment", "cohort", "lifecycle", "plan")

# Funnel stages in order: (conversion name, why, tiers). A tier is a list of regular
# expressions full-matched against squash(event name); the first tier with events present wins
# and all of its events form the step (product1 and product2, say).
STAGES: tuple[tuple[str, str, tuple[tuple[str, ...], ...]], ...] = (
    ("view_product", "looks like a product view", (
        ("viewitem", "productview(ed)?", "viewproduct", "viewedproduct", "productpageview(ed)?", "productdetails?",
         "productdetails?view(ed)?", "viewproductdetails?", "pdp(view)?", "itemview(ed)?", "vieweditem",
         "productpage", "productopen(ed)?"),
        (r"product\d*", "item"),
    )),
    ("add_to_cart", "looks like adding to the cart", (
        ("addtocart", "addedtocart", "productadded(tocart)?", "addtobasket", "addedtobasket", "additemtocart",
         "cartadd(ed)?", "addcart", "basketadd(ed)?", "itemadded(tocart)?", "addtobag", "addedtobag"),
        ("cart", "basket", "viewcart", "cartview(ed)?", "viewbasket", "shoppingcart", "bag"),
    )),
    ("begin_checkout", "looks like starting the checkout", (
        ("begincheckout", "checkoutstart(ed)?", "startcheckout", "startedcheckout", "initiatecheckout",
         "initiatedcheckout", "checkout", "proceedtocheckout", "viewcheckout", "checkoutview(ed)?", "checkoutpage"),
    )),
    ("shipping", "looks like shipping or delivery details", (
        ("addshippinginfo", "shippinginfo(entered|submitted|added)?", "checkoutshippinginfosubmitted",
         "shippingdetails", "shipping", "shippingaddress", "shippingmethod", "selectshipping(method)?",
         "deliverychoice", "delivery", "deliverydetails", "deliveryinfo", "deliveryaddress", "selectdelivery"),
    )),
    ("payment", "looks like payment details", (
        ("addpaymentinfo", "paymentinfo(entered|submitted|added)?", "checkoutpaymentinfosubmitted",
         "paymentdetails", "paymentchoice", "paymentmethod", "selectpayment(method)?", "payment", "enterpayment",
         "billing(info|details)?", "paymentpage"),
    )),
    ("purchase", "looks like a purchase: the goal", (
        ("purchase(d|done|complete|completed|success|successful)?", "paymentdone",
         "order(completed|complete|placed|confirmed|success|created|done)", "completedorder", "placeorder",
         "placedorder", "checkout(completed|complete|success)", "completepurchase", "transaction(complete|completed)?",
         "payment(success|successful|completed|complete|confirmed)", "ecommercepurchase", "inapppurchase"),
        ("order", "thankyou(page)?", "buy"),
    )),
)
MACRO_STAGE = "purchase"

# Words (or two adjacent words joined) that make an event a secondary conversion, and words that veto it.
SECONDARY_WORDS = frozenset((
    "newsletter", "signup", "subscribe", "subscribed", "subscription", "register", "registered", "registration",
    "createaccount", "accountcreated", "video", "play", "played", "download", "downloaded", "share", "shared",
    "search", "searched", "pricing", "wishlist", "compare", "review", "reviews", "contact", "chat", "demo",
    "trial", "lead", "coupon", "favorite", "favourite", "bookmark",
))
VETO_WORDS = frozenset(("error", "fail", "failed", "failure", "bug", "cancel", "cancelled", "canceled", "remove",
                        "removed", "delete", "deleted", "unsubscribe", "unsubscribed"))


@dataclass(frozen=True)
class EventCount:
    name: str
    rows: int


@dataclass(frozen=True)
class GuessedConversion:
    """A conversion to write: its YAML name, kind, event names and why it was chosen."""

    name: str
    kind: str
    events: tuple[str, ...]
    why: str = ""


@dataclass
class ColumnGuess:
    """Column names per role, as alias lists (one entry unless files name a role differently)."""

    user: list[str]
    event: list[str]
    timestamp: list[str]
    session: list[str] = field(default_factory=list)
    revenue: str | None = None          # a column, or column.key inside JSON-object strings
    segments: list[str] = field(default_factory=list)   # low-cardinality columns for a breakdown
    how: dict[str, str] = field(default_factory=dict)   # role -> "name" or "content"


@dataclass
class Scaffold:
    """What ``init`` guessed, and the config it renders."""

    sources: list[str]
    rows_sampled: int
    columns: ColumnGuess
    events: list[EventCount]                 # every event name, most frequent first
    counted_all: bool                        # events counted over every row (else over the sample)
    steps: list[GuessedConversion]           # the funnel, in order
    conversions: list[GuessedConversion]     # every conversion written (steps' first)
    from_frequency: bool                     # no e-commerce funnel: the most frequent events instead
    sampled_all: bool = True                 # the sample is every row of every file
    config_name: str = "funnels.yaml"        # the file the YAML's comments tell to validate
    input_format: str | None = None          # --input-format, repeated in those commands
    yaml: str = ""

    @property
    def macro(self) -> GuessedConversion | None:
        return next((c for c in self.conversions if c.kind == "macro"), None)

    def summary(self) -> str:
        """A few lines for stderr: the columns and the funnel."""
        cols = self.columns
        parts = [f"user={'|'.join(cols.user)}", f"event={'|'.join(cols.event)}",
                 f"timestamp={'|'.join(cols.timestamp)}"]
        if cols.session:
            parts.append(f"session={'|'.join(cols.session)}")
        if cols.revenue:
            parts.append(f"revenue={cols.revenue}")
        steps = " -> ".join("|".join(s.events) + (" (macro)" if s.kind == "macro" else "") for s in self.steps)
        how = "the most frequent events (no common e-commerce names found)" if self.from_frequency else "e-commerce"
        lines = [f"columns: {', '.join(parts)}",
                 f"funnel ({how}): {steps}",
                 f"{len(self.events)} event names, {len(self.conversions)} conversions"]
        secondary = [c.name for c in self.conversions if c.kind == "secondary"]
        if secondary:
            lines[-1] += f" (secondary: {', '.join(secondary)})"
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Entry points


def scaffold(paths: Sequence[str | Path], *, input_format: str | None = None, sample_rows: int = SAMPLE_ROWS,
             count_all: bool = True, config_name: str = "funnels.yaml") -> Scaffold:
    """Guess a config from event files (files, directories or globs, as ``analyze`` takes them).

    Columns and conversions are guessed from the first ``sample_rows`` rows; with ``count_all``
    the event names are counted over every row (reading that one column). ``config_name`` is
    the file name the YAML's comments use in the commands to run next.

    Raises:
        DataError: a file is missing, unreadable or empty, or no column looks like a user,
            an event name or a timestamp.
    """
    files = expand_paths(paths)
    sources = [Source.open(p, input_format) for p in files]
    samples: list[tuple[Source, pd.DataFrame]] = []
    left, sampled_all = sample_rows, True
    for src in sources:
        if left <= 0:
            sampled_all = False
            break
        frame = read_sample(src, left + 1)  # one more row tells whether the file goes on
        if len(frame) > left:
            frame, sampled_all = frame.iloc[:left], False
        samples.append((src, frame))
        left -= len(frame)
    if sum(len(f) for _, f in samples) == 0:
        raise DataError("no rows to guess from", where=", ".join(map(str, files)),
                        hint="the file has a header but no events")
    guesses = [guess_columns(frame, where=str(src.path)) for src, frame in samples if len(frame)]
    columns = _merge_guesses(guesses)
    for src in sources[len(samples):]:  # files beyond the sample: by their header only
        _add_header_aliases(columns, src.columns)
    usable, frames = _usable_rows([(f, _roles_in(f, columns)) for _, f in samples if len(f)])
    counts = _count_events(sources, columns.event) if count_all else None
    return _build(usable, frames, columns, [str(p) for p in files], sum(len(f) for _, f in samples), counts,
                  sampled_all=sampled_all, config_name=config_name, input_format=input_format)


def scaffold_frame(frame: pd.DataFrame, *, name: str = "<frame>", config_name: str = "funnels.yaml") -> Scaffold:
    """The same as :func:`scaffold` for a DataFrame already in memory (notebooks, tests)."""
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    if frame.empty:
        raise DataError("no rows to guess from", where=name)
    columns = guess_columns(frame, where=name)
    usable, frames = _usable_rows([(frame, _roles_in(frame, columns))])
    return _build(usable, frames, columns, [name], len(frame), None, config_name=config_name)


def read_sample(src: Source, limit: int = SAMPLE_ROWS) -> pd.DataFrame:
    """The first ``limit`` rows of a file; CSV columns as text (numbers are recognised later)."""
    try:
        if src.format == "csv":
            names = src.columns

            def first(block_size: int) -> pa.Table:
                reader = pa_csv.open_csv(
                    src.path,
                    read_options=pa_csv.ReadOptions(block_size=block_size),
                    parse_options=src.csv_parse_options(),
                    convert_options=csv_convert_options({n: pa.string() for n in names}),
                )
                return _first_rows(reader, limit, reader.schema)

            table = growing_blocks(first)      # a parse block holds whole rows
        elif src.format == "parquet":
            pfile = pq.ParquetFile(src.path)
            table = _first_rows(pfile.iter_batches(batch_size=min(limit, 65_536)), limit, pfile.schema_arrow)
        else:
            table = _jsonl_head(src, limit)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise src._error(exc) from None
    return table.to_pandas()


def _first_rows(batches: Iterable[pa.RecordBatch], limit: int, schema: pa.Schema) -> pa.Table:
    kept, n = [], 0
    for batch in batches:
        kept.append(batch)
        n += batch.num_rows
        if n >= limit:
            break
    return pa.Table.from_batches(kept, schema=schema).slice(0, limit)


def _jsonl_head(src: Source, limit: int) -> pa.Table:
    lines = []
    with pa.input_stream(src.path, compression="detect") as stream:
        for line in io.TextIOWrapper(stream, encoding="utf-8"):
            if line.strip():
                lines.append(line if line.endswith("\n") else line + "\n")
                if len(lines) >= limit:
                    break
    if not lines:
        raise DataError("the file is empty", where=str(src.path))
    data = "".join(lines).encode()
    return pa_json.read_json(io.BytesIO(data), read_options=pa_json.ReadOptions(block_size=check_json_lines(
        data, str(src.path))), parse_options=pa_json.ParseOptions(unexpected_field_behavior="infer"))


# ---------------------------------------------------------------------------------------------
# Columns


@dataclass
class _Column:
    name: str
    values: pd.Series          # non-null values, as read
    rows: int
    text: bool                 # values are strings
    numeric: pd.Series | None  # the values as numbers, when (nearly) all are numbers
    distinct: int

    @property
    def present(self) -> float:
        return len(self.values) / self.rows if self.rows else 0.0


def _profile(frame: pd.DataFrame) -> list[_Column]:
    out = []
    for name in frame.columns:
        series = frame[name]
        values = series.dropna()
        if len(values) and isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype("object")
        if len(values) == 0:
            continue
        if values.dtype == object and not values.iloc[:2000].map(lambda v: isinstance(v, (str, int, float))).all():
            continue  # nested (JSON objects, lists): not a candidate for any role
        if pd.api.types.is_bool_dtype(values.dtype):
            continue
        text = not (pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_datetime64_any_dtype(values.dtype))
        numeric = None
        if not text:
            numeric = values if pd.api.types.is_numeric_dtype(values.dtype) else None
        else:
            values = values.astype(str).str.strip()
            values = values[values != ""]
            if len(values) == 0:
                continue
            head = values.iloc[:2000]
            if head.str.fullmatch(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?").mean() >= 0.95:
                numeric = pd.to_numeric(values, errors="coerce")
        out.append(_Column(str(name), values, len(series), text, numeric, int(values.nunique())))
    return out


def _timestamp_share(col: _Column) -> float:
    """The share of a head sample that parses as a timestamp between 1990 and 2100."""

    head = col.values.iloc[:2000]
    if col.text and col.numeric is None:
        dated = head.str.contains(r"(?:19|20)\d\d|\d{1,2}[/.-]\d{1,2}[/.-]\d{2}", regex=True).mean()
        if dated < 0.9:  # a date must be there: "12:30:00" alone would parse as today
            return 0.0
    elif col.numeric is not None:
        head = col.numeric.iloc[:2000].dropna()
        if len(head) == 0 or (head < 0).any():
            return 0.0
    try:
        ts, _ = parse_timestamps(head.reset_index(drop=True), None, "UTC")
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        return 0.0
    ok = ts.notna() & (ts.dt.year >= 1990) & (ts.dt.year <= 2100)
    return float(ok.mean()) if len(ts) else 0.0


def _looks_structured(col: _Column) -> bool:
    """URLs, JSON objects and long free text are never an event name or a user id."""
    if not col.text:
        return False
    head = col.values.iloc[:500]
    return bool(head.str.match(r"^(?:\{|\[|[a-z][a-z0-9+.-]*://)").mean() > 0.5 or head.str.len().median() > 80)


def _by_name(cols: list[_Column], names: Sequence[str], accept) -> _Column | None:
    ranked = sorted((c for c in cols if squash(c.name) in names), key=lambda c: names.index(squash(c.name)))
    good = [c for c in ranked if accept(c)]
    if good:
        return good[0]
    return None


def guess_columns(frame: pd.DataFrame, *, where: str = "<frame>") -> ColumnGuess:
    """The user, event, timestamp and session columns of one sample (and revenue, breakdown candidates).

    Raises:
        DataError: no column looks like a timestamp, an event name or a user id.
    """
    cols = _profile(frame)
    how: dict[str, str] = {}

    strong = [n for n in TIMESTAMP_NAMES if n not in DATE_NAMES]
    ts = _by_name(cols, strong, lambda c: c.present >= 0.5 and _timestamp_share(c) >= 0.9)
    how["timestamp"] = "name"
    if ts is None:  # a column of dates only wins by its name unless another column has finer times
        dated = [c for c in cols if c.present >= 0.5 and _timestamp_share(c) >= 0.9]
        ts = max(dated, key=lambda c: (c.distinct, squash(c.name) in DATE_NAMES), default=None)
        how["timestamp"] = "name" if ts is not None and squash(ts.name) in DATE_NAMES else "content"
    if ts is None:
        raise DataError(f"no column looks like a timestamp (columns: {', '.join(map(str, frame.columns))})",
                        where=where, hint="expected ISO-8601 date-times or epoch numbers; write the config by hand "
                                          "and set columns.timestamp (see funnels.example.yaml)")
    rest = [c for c in cols if c is not ts]

    event = _by_name(rest, EVENT_NAMES, lambda c: c.text and c.present >= 0.5 and not _looks_structured(c))
    how["event"] = "name"
    if event is None:
        event = _event_by_content(rest)
        how["event"] = "content"
    if event is None:
        raise DataError(f"no column looks like an event name (columns: {', '.join(map(str, frame.columns))})",
                        where=where, hint="expected a text column with a few names repeated often; write the config "
                                          "by hand and set columns.event (see funnels.example.yaml)")
    rest = [c for c in rest if c is not event]

    session = _by_name(rest, SESSION_NAMES, lambda c: c.present >= 0.5 and not _looks_structured(c))
    user_pool = [c for c in rest if c is not session]
    user = _by_name(user_pool, USER_NAMES, lambda c: c.present >= 0.5 and _id_like(c))
    how["user"] = "name"
    if user is None:
        user = _user_by_content(user_pool)
        how["user"] = "content"
    if user is None:
        raise DataError(f"no column looks like a user id (columns: {', '.join(map(str, frame.columns))})",
                        where=where, hint="write the config by hand and set columns.user (see funnels.example.yaml)")
    rest = [c for c in rest if c is not user and c is not session]
    return ColumnGuess(
        user=[user.name], event=[event.name], timestamp=[ts.name], session=[session.name] if session else [],
        revenue=None, segments=_segments(rest), how=how,
    )


def _id_like(col: _Column) -> bool:
    """Whole numbers, or short text without spaces (``u0042``, GA4's ``1234.1700000000``); not dates."""
    if not col.text:
        nums = col.numeric.dropna() if col.numeric is not None else None
        return nums is not None and len(nums) > 0 and bool((nums == np.floor(nums)).all())
    if _looks_structured(col) or _day_numbers(col):
        return False
    head = col.values.iloc[:2000]
    return bool(head.str.contains(r"\s").mean() < 0.05 and head.str.len().max() <= 100)


def _day_numbers(col: _Column) -> bool:
    """Days written as numbers (GA4's event_date ``20240131``): not an id, and not a timestamp the engine
    can read (it would take them for epoch seconds)."""
    head = col.values.iloc[:2000].astype(str)
    return bool(head.str.fullmatch(r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])").mean() >= 0.9)


def _entropy(values: pd.Series) -> float:
    p = values.value_counts(normalize=True).to_numpy()
    return float(-(p * np.log(p)).sum())


def _event_by_content(cols: list[_Column]) -> _Column | None:
    """The text column of repeated names: 2..1000 distinct values, each seen 5 times on average,
    with the most spread-out counts (highest entropy: an event column has more names than a device)."""
    candidates = [c for c in cols if c.text and c.numeric is None and c.present >= 0.9 and not _looks_structured(c)
                  and 2 <= c.distinct <= 1000 and c.distinct * 5 <= len(c.values) and _timestamp_share(c) < 0.5]
    if not candidates:
        return None
    return max(candidates, key=lambda c: _entropy(c.values))


def _user_by_content(cols: list[_Column]) -> _Column | None:
    """The id-like column with the most distinct values that repeat (users have several events) and
    that is not nested inside a coarser id column (every session belongs to one user)."""
    candidates = [c for c in cols if c.present >= 0.9 and _id_like(c) and not _day_numbers(c)
                  and _timestamp_share(c) < 0.5 and 2 <= c.distinct < len(c.values)]
    candidates = [c for c in candidates if c.distinct > 20 or c.distinct * 2 <= len(c.values)]
    candidates.sort(key=lambda c: -c.distinct)
    for i, col in enumerate(candidates):
        coarser = [d for d in candidates[i + 1:] if d.distinct >= max(2, col.distinct // 50)]
        if not any(_nested(col, d) for d in coarser):
            return col
    return None


def _nested(fine: _Column, coarse: _Column) -> bool:
    both = pd.DataFrame({"f": fine.values, "c": coarse.values}).dropna()
    return len(both) > 0 and bool(both.groupby("f")["c"].nunique().max() == 1) and coarse.distinct < fine.distinct


def _segments(cols: list[_Column]) -> list[str]:
    """Low-cardinality text columns worth a breakdown, the ones named like a channel or device first."""
    found = [c for c in cols if c.text and c.numeric is None and 2 <= c.distinct <= 50 and c.present >= 0.5
             and not _looks_structured(c) and c.distinct * 5 <= len(c.values)]

    def rank(c: _Column):
        words = re.split(r"[^0-9a-z]+", normalize_event_name(c.name))
        named = next((i for i, w in enumerate(SEGMENT_WORDS) if w in words), len(SEGMENT_WORDS))
        return (named, c.distinct)
    return [c.name for c in sorted(found, key=rank)][:3]


def _merge_guesses(guesses: list[ColumnGuess]) -> ColumnGuess:
    def union(lists: Iterable[list[str]]) -> list[str]:
        return list(dict.fromkeys(n for names in lists for n in names))
    first = guesses[0]
    return ColumnGuess(
        user=union(g.user for g in guesses), event=union(g.event for g in guesses),
        timestamp=union(g.timestamp for g in guesses), session=union(g.session for g in guesses),
        revenue=None, segments=first.segments, how=first.how,
    )


def _add_header_aliases(columns: ColumnGuess, header: Sequence[str]) -> None:
    """A file outside the sample that names a role differently: add its name by the name lists."""
    for role, names in (("user", USER_NAMES), ("event", EVENT_NAMES), ("timestamp", TIMESTAMP_NAMES),
                        ("session", SESSION_NAMES)):
        aliases = getattr(columns, role)
        if (role == "session" and not aliases) or any(a in header for a in aliases):
            continue
        ranked = sorted((h for h in header if squash(h) in names), key=lambda h: names.index(squash(h)))
        if ranked:
            aliases.append(ranked[0])


def _roles_in(frame: pd.DataFrame, columns: ColumnGuess) -> dict[str, str | None]:
    present = set(frame.columns)
    return {role: next((a for a in getattr(columns, role) if a in present), None)
            for role in ("user", "event", "timestamp")}


def _usable_rows(parts: list[tuple[pd.DataFrame, dict[str, str | None]]]
                 ) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Sample rows as the engine will see them (rule 1.1): user, ts, event, and where each came from
    (``frame``: its index in the returned raw frames, ``row``: its position there)."""

    kept, raw = [], []
    for frame, roles in parts:
        if None in roles.values():
            continue
        frame = frame.reset_index(drop=True)
        user = frame[roles["user"]].astype("string").str.strip().replace("", pd.NA)
        ts, _ = parse_timestamps(frame[roles["timestamp"]], None, "UTC")
        event = frame[roles["event"]].astype("string")
        part = pd.DataFrame({"user": user, "ts": ts.set_axis(frame.index), "event": event})
        part["frame"] = len(raw)
        part["row"] = np.arange(len(part))
        kept.append(part.loc[part["user"].notna() & part["ts"].notna() & part["event"].notna()])
        raw.append(frame)
    out = (pd.concat(kept, ignore_index=True) if kept
           else pd.DataFrame(columns=["user", "ts", "event", "frame", "row"]))
    return out, raw


def _count_events(sources: list[Source], aliases: list[str]) -> list[EventCount] | None:
    """Rows per event name over every file (only the event column is read)."""
    total: dict[str, int] = {}
    for src in sources:
        col = next((a for a in aliases if a in src.columns), None)
        if col is None:
            continue
        table = src.read([col], dictionary=[col] if src.format != "parquet" else [])
        counts = table.column(col).to_pandas().value_counts()
        for name, n in counts.items():
            total[str(name)] = total.get(str(name), 0) + int(n)
    return _sorted_counts(total.items())


def _sorted_counts(pairs: Iterable[tuple[str, int]]) -> list[EventCount]:
    return [EventCount(n, c) for n, c in sorted(pairs, key=lambda p: (-p[1], p[0]))]


# ---------------------------------------------------------------------------------------------
# Conversions and funnel


def guess_conversions(counts: Sequence[EventCount] | Sequence[tuple[str, int]]
                      ) -> tuple[list[GuessedConversion], list[GuessedConversion], bool]:
    """(funnel steps, other conversions, from_frequency) for event names with their counts.

    Steps follow STAGES (product view -> cart -> checkout -> shipping -> payment -> purchase),
    each taken only when an event of it occurs; a purchase-like last step is the macro goal.
    With fewer than two stages found, the funnel is the two or three most frequent events.
    """
    pairs = [(c.name, c.rows) if isinstance(c, EventCount) else (str(c[0]), int(c[1])) for c in counts]
    pairs = sorted(pairs, key=lambda p: (-p[1], p[0]))
    rows = dict(pairs)
    used: set[str] = set()
    stages: list[GuessedConversion] = []
    for name, what, tiers in STAGES:
        for tier in tiers:
            hits = [e for e, _ in pairs if e not in used and any(re.fullmatch(p, squash(e)) for p in tier)]
            if hits:
                used.update(hits)
                kind = "macro" if name == MACRO_STAGE else "milestone"
                stages.append(GuessedConversion(name, kind, tuple(hits), what))
                break
    secondary = []
    taken_names = {c.name for c in stages}
    for event, _ in pairs:
        if event in used or not _is_secondary(event):
            continue
        secondary.append(GuessedConversion(_unique_name(event, taken_names), "secondary", (event,),
                                           "named like a micro-conversion"))
        used.add(event)
        if len(secondary) >= MAX_SECONDARY:
            break
    if len(stages) >= 2:
        return stages, secondary, False
    # No funnel from names: the most frequent events, in order of frequency.
    by_event = {c.events[0]: c for c in stages + secondary if len(c.events) == 1}
    top = [e for e, _ in pairs][:3 if len(pairs) >= 3 else 2]
    steps = []
    for event in top:
        conv = by_event.get(event)
        if conv is None:
            conv = GuessedConversion(_unique_name(event, taken_names), "milestone", (event,),
                                     f"one of the most frequent events ({rows[event]:,} rows)")
            by_event[event] = conv
        steps.append(conv)
    in_steps = {c.name for c in steps}
    others = [c for c in stages + secondary if c.name not in in_steps]
    return steps, others, True


def _words(name: str) -> list[str]:
    return [w for w in normalize_event_name(name).split("_") if w]


def _is_secondary(event: str) -> bool:
    words = _words(event)
    if any(w in VETO_WORDS for w in words):
        return False
    pairs = [a + b for a, b in zip(words, words[1:])]
    return any(w in SECONDARY_WORDS for w in words + pairs)


def _unique_name(event: str, taken: set[str]) -> str:
    base = normalize_event_name(event) or "event"
    if not re.match(r"[a-z_]", base):
        base = f"event_{base}"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


# ---------------------------------------------------------------------------------------------
# Assembly


def _build(usable: pd.DataFrame, frames: list[pd.DataFrame], columns: ColumnGuess, sources: list[str], sampled: int,
           counts: list[EventCount] | None, *, sampled_all: bool = True,
           config_name: str = "funnels.yaml", input_format: str | None = None) -> Scaffold:
    if usable.empty:
        raise DataError("no usable rows in the sample: every row lacks a user id, an event name or a parseable "
                        f"timestamp (guessed columns: user {columns.user[0]!r}, event {columns.event[0]!r}, "
                        f"timestamp {columns.timestamp[0]!r})", where=", ".join(sources),
                        hint="write the config by hand and set columns.user, columns.event and columns.timestamp")
    in_sample = usable["event"].value_counts()
    sample_counts = _sorted_counts((str(k), int(v)) for k, v in in_sample.items() if str(k).strip())
    # Conversions only use names the engine will see in the sample's usable rows (so validate finds them),
    # ranked by their count over all rows when those were counted.
    full = {c.name: c.rows for c in counts} if counts is not None else {}
    ranked = [EventCount(c.name, full.get(c.name, c.rows)) for c in sample_counts]
    steps, others, from_frequency = guess_conversions(ranked)
    conversions = steps + [c for c in others if c not in steps]
    macro = next((c for c in conversions if c.kind == "macro"), None)
    if macro is not None:
        columns.revenue = _guess_revenue(usable, frames, macro.events, columns)
    result = Scaffold(
        sources=sources, rows_sampled=sampled, columns=columns,
        events=counts if counts is not None else sample_counts, counted_all=counts is not None,
        steps=steps, conversions=conversions, from_frequency=from_frequency, sampled_all=sampled_all,
        config_name=config_name, input_format=input_format,
    )
    result.yaml = render_yaml(result)
    _check(result.yaml)
    return result


def _guess_revenue(usable: pd.DataFrame, frames: list[pd.DataFrame], events: tuple[str, ...],
                   columns: ColumnGuess) -> str | None:
    """A numeric column (or a key inside JSON-object strings) set on most purchase rows."""
    rows = usable.loc[usable["event"].isin(events), ["frame", "row"]]
    if rows.empty:
        return None
    roles = set(columns.user + columns.event + columns.timestamp + columns.session)
    found: list[tuple[int, int, str]] = []  # (rank of the name, plain column before JSON key, path)
    for i, frame in enumerate(frames):
        picked = frame.iloc[rows.loc[rows["frame"] == i, "row"].to_numpy()[:2000]]
        if picked.empty:
            continue
        for col in picked.columns:
            if col in roles:
                continue
            if squash(col) in REVENUE_NAMES and _mostly_positive_numbers(picked[col]):
                found.append((REVENUE_NAMES.index(squash(col)), 0, str(col)))
            elif _json_objects(picked[col]):
                records = [v if isinstance(v, dict) else json_or_none(str(v)) for v in picked[col].dropna()]
                keys = {k for r in records if isinstance(r, dict) for k in r}
                for key in keys:
                    if squash(key) not in REVENUE_NAMES or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                        continue
                    values = pd.Series([r.get(key) if isinstance(r, dict) else None for r in records], dtype="object")
                    if _mostly_positive_numbers(values, len(picked)):
                        found.append((REVENUE_NAMES.index(squash(key)), 1, f"{col}.{key}"))
        if found:
            break
    return min(found)[2] if found else None


def _mostly_positive_numbers(values: pd.Series, rows: int | None = None) -> bool:
    nums = pd.to_numeric(values.astype("object").where(values.notna(), None), errors="coerce")
    rows = rows or len(values)
    return rows > 0 and nums.notna().sum() >= 0.5 * rows and bool((nums.dropna() > 0).any())


def _json_objects(values: pd.Series) -> bool:
    """Mostly JSON-object strings (or objects already parsed, as Parquet structs and JSON Lines give them)."""
    present = values.dropna()
    if len(present) == 0 or present.dtype != object and not pd.api.types.is_string_dtype(present.dtype):
        return False
    return bool(present.map(lambda v: isinstance(v, dict) or str(v).lstrip().startswith("{")).mean() >= 0.5)


def _check(text: str) -> None:
    """The rendered YAML must be a valid config: anything else is a bug here, not the user's problem."""
    from ..config import parse_config
    from ..config.yaml_source import load_yaml

    data, _ = load_yaml(text, "<init>")
    parse_config(data)


# ---------------------------------------------------------------------------------------------
# YAML


def _scalar(value: str) -> str:
    """A YAML scalar that reads back as the same string, plain when that is safe."""
    import yaml

    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_./-]*", value) and not value.endswith((".", "-")):
        try:
            if yaml.safe_load(value) == value:
                return value
        except yaml.YAMLError:
            pass
    return json_text(value, indent=None, ensure_ascii=False)   # C1 and bidi characters as \u escapes


def _names(names: Sequence[str]) -> str:
    return _scalar(names[0]) if len(names) == 1 else "[" + ", ".join(_scalar(n) for n in names) + "]"


def _comment_text(value: str) -> str:
    """Text safe inside a YAML comment: control characters (a newline would end it), C1 and bidi
    characters shown visibly, as in the terminal."""
    return terminal(value)


def _aligned(lines: list[tuple[str, str]], width: int = 40) -> list[str]:
    pad = min(width, max((len(code) for code, note in lines if note), default=0))
    return [f"{code:<{pad}}  # {note}" if note else code for code, note in lines]


def render_yaml(result: Scaffold) -> str:
    """The commented config for a :class:`Scaffold`."""
    import shlex

    cols = result.columns
    out: list[str] = []
    shown = _comment_text(" ".join(shlex.quote(s) for s in result.sources)
                          + (f" --input-format {shlex.quote(result.input_format)}" if result.input_format else ""))
    config = _comment_text(shlex.quote(result.config_name))
    sample = (f"all {result.rows_sampled:,} rows" if result.sampled_all
              else f"the first {result.rows_sampled:,} rows")
    out += [
        f"# microconv config written by `microconv init`, guessed from {sample} of:",
        f"#   {shown}",
        "# Review the guesses (every line says why it is there), then run:",
        f"#   microconv validate -c {config} {shown}",
        f"#   microconv analyze {shown} -c {config}",
        "# Every option, explained: funnels.example.yaml. Counting rules: docs/semantics.md.",
        "",
        "# How the export names things. A list gives aliases: per file, the first one present wins.",
        "columns:",
    ]
    how = {"name": "by its name", "content": "by its values"}
    block = [
        (f"  user: {_names(cols.user)}", f"guessed {how.get(cols.how.get('user', 'name'))}"),
        (f"  event: {_names(cols.event)}", f"guessed {how.get(cols.how.get('event', 'name'))}"),
        (f"  timestamp: {_names(cols.timestamp)}",
         f"guessed {how.get(cols.how.get('timestamp', 'name'))}; ISO-8601 or epoch numbers"),
        ("  # timestamp_unit: ms", "s | ms | us | ns; by default detected from the numbers' size"),
        ("  timezone: UTC", "how to read timestamps without an offset (an IANA name, e.g. Europe/Berlin)"),
    ]
    if cols.session:
        block.append((f"  session: {_names(cols.session)}", "sessions for `count: sessions` (docs/semantics.md 4.6)"))
    else:
        block.append(("  # session: session_id", "no session column found: sessions are cut at 30-minute gaps"))
    if cols.revenue:
        block += [("  properties:", "event properties: a column, or column.key inside JSON objects"),
                  (f"    revenue: {_scalar(cols.revenue)}", "the purchase's value (used by value: below)")]
    else:
        block += [("  # properties:", "event properties for where: and value:, e.g."),
                  ("  #   revenue: event_data.revenue", "a column, or column.key inside JSON objects")]
    out += _aligned(block, width=60)

    out += ["", "# Conversions: named event matchers. kind is milestone (a step on the path to the goal),",
            "# secondary (a signal of interest off the path) or macro (the goal itself). The micro-conversion",
            "# report (docs/semantics.md 7) compares the macro rate of users who did each one with the rest.",
            "conversions:"]
    if not result.conversions:
        out.append("  {}")
    block = []
    for conv in result.conversions:
        extra = ", value: revenue" if conv.kind == "macro" and cols.revenue else ""
        block.append((f"  {_scalar(conv.name)}: {{kind: {conv.kind}, event: {_names(conv.events)}{extra}}}", conv.why))
    out += _aligned(block, width=80)
    if result.macro is None:
        out += ["  # No purchase-like event found: mark your goal with kind: macro to get the micro-conversion",
                "  # report (docs/semantics.md 7)."]

    out += ["", "# Funnels: steps in order, counted within a window measured from step 1 (docs/semantics.md 3-4)."]
    if result.from_frequency:
        out += ["# No common e-commerce event names (view_item, add_to_cart, purchase, ...) were found, so this",
                f"# funnel is simply the {len(result.steps)} most frequent events: replace them with your own path."]
    name = "top_events" if result.from_frequency else "checkout"
    out += ["funnels:", f"  {name}:",
            "    steps: [" + ", ".join(_scalar(s.name) for s in result.steps) + "]"]
    out += _aligned([
        (f"    window: {WINDOW}", "30m, 12h, 7d, 2w, 1h30m ...; default 30d"),
        ("    # order: ordered", "or strict (nothing in between) or any (after step 1)"),
        ("    # count: users", "or sessions" + (" (columns.session)" if cols.session else " (cut at gaps)")),
    ] + ([(f"    # breakdown: {{by: {_scalar(cols.segments[0])}}}",
           "split by a property" + (f"; or {', '.join(cols.segments[1:])}" if cols.segments[1:] else ""))]
         if cols.segments else []))

    events = result.events
    where = "every row" if result.counted_all or result.sampled_all else f"the first {result.rows_sampled:,} rows"
    out += ["", f"# Event names by rows ({where}; {len(events):,} names"
            + (f", the top {LISTED_EVENTS} shown" if len(events) > LISTED_EVENTS else "") + "):"]
    listed = events[:LISTED_EVENTS]
    width = max((len(_comment_text(e.name)) for e in listed), default=0)
    out += [f"#   {_comment_text(e.name):<{width}}  {e.rows:>12,}" for e in listed]
    return "\n".join(line.rstrip() for line in out) + "\n"
