"""The exports ``init`` knows by their columns, and the mapping each one needs.

Guessing columns from names and values works on flat logs, but vendor exports have conventions
no heuristic sees: GA4 keeps the session id inside ``event_params`` and the lifetime value next
to the order value; Snowplow has a per-event hash and a visit counter that look like user ids;
PostHog's person is ``person_id``, not ``distinct_id``. So a file whose columns match an export's
signature gets that export's mapping, and the guessers fill in only what it leaves open.
Adding an export is an edit of :data:`EXPORTS` only.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from ..errors import DataError
from ..load.paths import read_paths
from ..load.sources import Source
from .columns import SAMPLE_USER, segments_of
from .model import ColumnGuess


@dataclass(frozen=True)
class Export:
    """One export's signature (``required`` columns, ``nested`` paths that must hold values in the
    sample) and mapping; ``anonymous`` ids join a visitor's events to the account they log in to."""

    name: str
    required: tuple[str, ...]
    user: tuple[str, ...]                   # known ids, best first (the first present is written)
    event: str
    timestamp: tuple[str, ...]              # best first
    anonymous: tuple[str, ...] = ()
    unit: str | None = None
    session: str | None = None
    revenue: tuple[str, ...] = ()           # best first; only columns (or their heads) present count
    nested: tuple[str, ...] = ()
    constant_event: str | None = None       # the event of every row of a file without an event column

    def mapping(self, columns: Sequence[str]) -> dict:
        """The columns this file has, per role (a role whose column it lacks is left out)."""
        present = set(columns)

        def first(names: Sequence[str]) -> str | None:
            return next((n for n in names if n.split(".")[0] in present), None)

        known, anonymous = first(self.user), [a for a in self.anonymous if a.split(".")[0] in present]
        if known is None and anonymous:
            known, anonymous = anonymous[0], anonymous[1:]
        return {"user": known, "anonymous": [a for a in anonymous if a != known],
                "event": first([self.event]) or (self.event if self.constant_event else None),
                "timestamp": first(self.timestamp), "unit": self.unit,
                "session": first([self.session]) if self.session else None, "revenue": first(self.revenue)}


EXPORTS: tuple[Export, ...] = (
    Export("GA4 (BigQuery export)", ("event_timestamp", "event_name", "event_params", "user_pseudo_id"),
           user=("user_id",), anonymous=("user_pseudo_id",), event="event_name", timestamp=("event_timestamp",),
           unit="us", session="event_params.ga_session_id",
           revenue=("ecommerce.purchase_revenue", "event_params.value")),
    Export("Snowplow", ("event_id", "domain_userid", "collector_tstamp"),
           user=("user_id",), anonymous=("domain_userid", "network_userid"), event="event_name",
           timestamp=("derived_tstamp", "collector_tstamp"), session="domain_sessionid", revenue=("tr_total",)),
    Export("PostHog", ("uuid", "event", "distinct_id", "properties", "timestamp"),
           user=("person_id", "distinct_id"), event="event", timestamp=("timestamp",),
           session="properties.$session_id", revenue=("properties.revenue", "properties.$revenue")),
    Export("Amplitude", ("amplitude_id", "event_type", "event_time"),
           user=("user_id",), anonymous=("device_id",), event="event_type", timestamp=("event_time",),
           session="session_id", revenue=("revenue", "event_properties.revenue", "event_properties.$revenue")),
    Export("RudderStack", ("anonymous_id", "event", "timestamp", "context_source_id"),
           user=("user_id",), anonymous=("anonymous_id",), event="event", timestamp=("timestamp",),
           revenue=("revenue", "properties.revenue")),
    Export("Segment (warehouse tracks)", ("anonymous_id", "event", "timestamp"),
           user=("user_id",), anonymous=("anonymous_id",), event="event",
           timestamp=("timestamp", "original_timestamp", "received_at"), revenue=("revenue", "properties.revenue")),
    Export("Segment (warehouse pages)", ("anonymous_id", "path", "url", "timestamp"),
           user=("user_id",), anonymous=("anonymous_id",), event="event", constant_event="page_view",
           timestamp=("timestamp", "original_timestamp", "received_at")),
    Export("Segment (JSON)", ("anonymousId", "event", "timestamp"),
           user=("userId",), anonymous=("anonymousId",), event="event", timestamp=("timestamp",),
           revenue=("properties.revenue",)),
    Export("Mixpanel (raw export)", ("event", "properties"), nested=("properties.distinct_id", "properties.time"),
           user=("properties.distinct_id",), event="event", timestamp=("properties.time",),
           revenue=("properties.revenue", "properties.$revenue", "properties.amount")),
    Export("REES46 e-commerce log", ("event_time", "event_type", "product_id", "user_id", "user_session"),
           user=("user_id",), event="event_type", timestamp=("event_time",), session="user_session",
           revenue=("price",)),
)


def recognise(columns: Sequence[str], has_values: Callable[[str], bool]) -> Export | None:
    """The first export whose signature the file's ``columns`` match; ``has_values(path)`` says
    whether a nested path holds values in the sample."""
    present = set(columns)
    for export in EXPORTS:
        if set(export.required) <= present and all(has_values(p) for p in export.nested):
            return export
    return None


def export_columns(samples: list[tuple[Source, pd.DataFrame]], tables: list[pa.Table]) -> ColumnGuess | None:
    """The mapping of the export the first sampled file's columns match, None when none does.
    Each sample frame gains a column per nested path of the mapping (``event_params.ga_session_id``)
    with its values, read as ``load`` reads them, so that the usable rows and the revenue are
    found as for a flat log."""
    src, frame = samples[0]
    table = tables[0]
    export = recognise(src.columns, lambda path: _path_values(table, path).notna().any())
    if export is None:
        return None
    mapping = export.mapping(src.columns)
    if None in (mapping["user"], mapping["event"], mapping["timestamp"]):
        return None
    paths = [mapping["user"], *mapping["anonymous"], mapping["timestamp"], mapping["session"], mapping["revenue"]]
    for (_, f), t in zip(samples, tables):
        if export.constant_event and mapping["event"] not in f.columns:
            f[mapping["event"]] = export.constant_event       # what load reads for the file (event: [..., {constant}])
        for path in paths:
            if path and "." in path and path not in f.columns:
                f[path] = _path_values(t, path).to_numpy()
        if mapping["anonymous"]:
            ids = [f[c] for c in (mapping["user"], *mapping["anonymous"]) if c in f.columns]
            user = ids[0].astype("string").str.strip().replace("", pd.NA)
            for other in ids[1:]:
                user = user.fillna(other.astype("string").str.strip().replace("", pd.NA))
            f[SAMPLE_USER] = user
    revenue = mapping["revenue"]
    if revenue is not None and not frame[revenue].notna().any():
        revenue = None
    roles = [mapping["user"], *mapping["anonymous"], mapping["event"], mapping["timestamp"], mapping["session"]]
    return ColumnGuess(
        user=[mapping["user"]], anonymous=mapping["anonymous"], event=[mapping["event"]],
        timestamp=[mapping["timestamp"]], session=[mapping["session"]] if mapping["session"] else [],
        revenue=revenue, segments=segments_of(frame, [r for r in roles if r] + [SAMPLE_USER]),
        how={"user": "export", "event": "export", "timestamp": "export"}, unit=mapping["unit"], export=export.name,
        event_constant=export.constant_event)


def _path_values(table: pa.Table, path: str) -> pd.Series:
    """The sample's values at ``path`` (a column, or a path into one); missing when it has none."""
    head, *rest = path.split(".")
    if head not in table.column_names:
        return pd.Series([None] * table.num_rows, dtype="object")
    if not rest:
        return table.column(head).to_pandas()
    try:
        return read_paths(table.column(head), [tuple(rest)])[0]
    except DataError:                       # the path ends on a list or a struct: no single values
        return pd.Series([None] * table.num_rows, dtype="object")
