"""Property values that are not a plain column: fields inside JSON-string or struct columns,
URL parts (semantics 8.1) and ``per_user`` values (each user's first or last value)."""
from __future__ import annotations

import io
import json
import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from ..config import Config
from .frame import map_distinct
from .json_depth import json_text


def json_fields(column: pa.ChunkedArray, paths: list[tuple[str, ...]]) -> list[pd.Series]:
    """Values at dotted paths inside a column of JSON-object strings, parsed in one pass by Arrow."""
    text = pc.fill_null(pc.utf8_trim_whitespace(json_text(column)), "")
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
            out.append(struct_path(parsed, path))
        else:
            values = []
            for rec in records:
                for key in path:
                    rec = rec.get(key) if isinstance(rec, dict) else None
                values.append(rec)
            out.append(pd.Series(values, dtype="object").infer_objects())
    return out


def json_or_none(text: str):
    """The parsed JSON value of ``text``, or None when it is not JSON (or nests too deep to parse)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def struct_path(table: pa.Table, path: tuple[str, ...]) -> pd.Series:
    if path[0] not in table.column_names:
        return pd.Series(pd.NA, index=pd.RangeIndex(table.num_rows), dtype="object")
    arr = table.column(path[0]).combine_chunks()
    for key in path[1:]:
        if not pa.types.is_struct(arr.type) or arr.type.get_field_index(key) < 0:
            return pd.Series(pd.NA, index=pd.RangeIndex(table.num_rows), dtype="object")
        arr = pc.struct_field(arr, key)
    return arr.to_pandas()


_URL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:)?(?://(?P<host>[^/?#]*))?(?P<path>[^?#]*)")


def derive(raw: dict[str, pd.Series], config: Config) -> dict[str, pd.Series]:
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


def _per_distinct(values: pd.Series, fn) -> pd.Series:
    values = values.astype("object")
    try:
        codes, results = map_distinct(values, fn)
    except TypeError:                       # JSON objects or lists in the column: not text, so no URL
        codes, results = map_distinct(values.where(values.map(lambda v: isinstance(v, str))), fn)
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(results, dtype="string")))


def per_user(frame: pd.DataFrame, config: Config) -> pd.DataFrame:
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
