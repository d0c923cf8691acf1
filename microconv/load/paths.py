"""A property path walked through nested values: Arrow structs, lists, maps and JSON text alike.

Exports nest what a funnel filters on: GA4 keeps every parameter in ``event_params``, a list of
``{key, value: {string_value, int_value, float_value, double_value}}``; Snowplow puts revenue in
a context array; Mixpanel nests everything in ``properties``. A path's segments are read, in
order, as (docs/semantics.md 1.8):

- a field of a struct (or of a JSON object);
- an integer into a list (``contexts.0.revenue``), counted from 0;
- a key of a key/value list (a list of structs with a ``key`` field, as GA4's): the first element
  whose ``key`` is the segment; its ``value`` is then the one of ``string_value``,
  ``int_value``, ``double_value``, ``float_value`` that is set;
- a key of a map.

JSON text is parsed by Arrow's reader (one pass per column) and walked the same way. Every step
is vectorised over rows: a list is flattened once, the wanted element found with one comparison,
and gathered back to its row. A path that leads nowhere gives missing values, never an error:
the loader then says which paths found nothing.
"""
from __future__ import annotations

import io
import json
from collections.abc import Collection

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from ..errors import DataError
from .json_depth import json_text

VALUE_FIELDS = ("string_value", "int_value", "double_value", "float_value")   # GA4's value struct


def read_paths(column: pa.Array | pa.ChunkedArray, paths: list[tuple[str, ...]], *, name: str = "column",
               keys: list[str] | None = None, lenient: Collection[str] = ()) -> list[pd.Series]:
    """The values at each of ``paths`` inside ``column`` (named ``name``; ``keys``: what each path is
    read for, for errors), as pandas Series; a column of JSON text is parsed once for all its paths.
    A chunked column is walked chunk by chunk: joining the chunks of a nested column first would
    copy every nested value.

    Raises:
        DataError: a path ends on a list, struct or map (not single values)."""
    keys = keys or [""] * len(paths)
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    found: list[list] = [[] for _ in paths]
    records_seen = False
    for chunk in chunks or [pa.array([], pa.null())]:
        arr, records = _decoded(chunk), None
        if _is_text(arr.type) and any(paths):
            arr, records = parse_json(arr)
        for i, path in enumerate(paths):
            if records is not None:
                records_seen = True
                found[i].append([_walk_python(r, path) for r in records])
            else:
                found[i].append(walk(arr, path))
    out = []
    for path, key, parts in zip(paths, keys, found):
        where = ".".join((name, *path))
        if records_seen:
            values = [v for part in parts for v in (part if isinstance(part, list) else part.to_pylist())]
            if key not in lenient:
                kind = next((type(v) for v in values if isinstance(v, (dict, list))), None)
                if kind is not None:
                    check_single_values(pa.struct([]) if kind is dict else pa.list_(pa.null()), key, where)
            out.append(pd.Series(values, dtype="object").infer_objects())
            continue
        if key not in lenient:
            for kind in {p.type for p in parts}:
                check_single_values(kind, key, where)
        parts = _unified(parts)
        out.append(pa.chunked_array(parts, type=parts[0].type).to_pandas())
    return out


def _unified(parts: list[pa.Array]) -> list[pa.Array]:
    """Chunks of one type: JSON parsed chunk by chunk may type a field differently per chunk (an
    integer here, a float there, nothing at all in a third): numbers become the widest number,
    anything else mixed becomes text."""
    types = {p.type for p in parts if not pa.types.is_null(p.type)}
    if len(types) <= 1:
        target = types.pop() if types else pa.null()
    elif all(pa.types.is_integer(t) for t in types):
        target = pa.int64()
    elif all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in types):
        target = pa.float64()
    else:
        target = pa.string()
    return [p if p.type == target else _cast_or_missing(p, target) for p in parts]


def _cast_or_missing(values: pa.Array, target: pa.DataType) -> pa.Array:
    """``values`` as ``target``; a list or struct has no such value (for URL parts: missing, 8.1)."""
    try:
        return values.cast(target)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return pa.nulls(len(values), target)


def check_single_values(kind: pa.DataType, key: str, where: str) -> None:
    """A list, struct or map is not a property value (it cannot be compared or grouped): say what
    to name instead."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if not pa.types.is_nested(kind):
        return
    what = f"property {key.removeprefix('prop:')!r}" if key.startswith("prop:") else key or "a value"
    example = (f"{where}.KEY (the value of a key/value element), {where}.0 (the first element)" if _is_list(kind)
               else f"{where}.{kind.field(0).name}" if pa.types.is_struct(kind) and kind.num_fields
               else f"{where}.KEY")
    raise DataError(f"{what} is read from {where!r}, which holds {kind}, not single values",
                    hint=f"name a value inside it, e.g. {example}")


def walk(values: pa.Array | pa.ChunkedArray, path: tuple[str, ...]) -> pa.Array:
    """The values at ``path`` inside ``values`` (one per row; null where the path finds nothing)."""
    arr = _decoded(values)
    for i, key in enumerate(path):
        arr = _decoded(arr)
        if _is_text(arr.type):
            parsed, records = parse_json(arr)
            if records is not None:
                return _python_array([_walk_python(r, path[i:]) for r in records])
            arr = parsed
        kind = arr.type
        if pa.types.is_struct(kind):
            arr = pc.struct_field(arr, key) if kind.get_field_index(key) >= 0 else _nulls(len(arr))
        elif pa.types.is_map(kind):
            arr = (pc.map_lookup(arr, _scalar(key, kind.key_type), "first") if _fits(key, kind.key_type)
                   else _nulls(len(arr)))
        elif _is_list(kind):
            arr = _element(arr, key)
        else:
            return _nulls(len(arr))
    return _plain(_decoded(arr))


def parse_json(text: pa.Array) -> tuple[pa.Array | None, list | None]:
    """JSON text (objects or lists; other text is not walkable: null) as Arrow values, parsed in
    one pass by Arrow's reader with each value wrapped as ``{"v": VALUE}``; or, when some row is
    not valid JSON or the rows disagree on a field's type, as Python values (Python's json)."""
    text = pc.fill_null(pc.utf8_trim_whitespace(json_text(text)), "")
    walkable = pc.or_(pc.starts_with(text, "{"), pc.starts_with(text, "["))
    big = pa.large_string()         # one type for the pieces joined (a column may hold either)
    wrapped = pc.binary_join_element_wise(pa.scalar('{"v":', big), pc.replace_substring(text, "\n", " ").cast(big),
                                          pa.scalar("}", big), pa.scalar("", big))
    lines = pc.if_else(walkable, wrapped, "{}")
    longest = pc.max(pc.binary_length(lines)).as_py() or 0      # a parse block holds whole lines
    try:
        parsed = pa_json.read_json(
            io.BytesIO("\n".join(lines.to_pylist()).encode() + b"\n"),
            read_options=pa_json.ReadOptions(block_size=max(1 << 20, longest + 2)),
            parse_options=pa_json.ParseOptions(unexpected_field_behavior="infer"),
        )
        if parsed.num_rows != len(text):
            raise ValueError("row count changed")
    except (pa.ArrowException, ValueError):
        return None, [json_or_none(s) if w else None for s, w in zip(text.to_pylist(), walkable.to_pylist())]
    return (parsed.column("v").combine_chunks() if "v" in parsed.column_names else _nulls(len(text))), None


def what_is_at(column: pa.Array | pa.ChunkedArray, path: tuple[str, ...], rows: int = 1000) -> str:
    """What the first ``rows`` rows hold where ``path``'s last segment was looked for: the fields,
    keys or kind of values there, for a message about a path that found nothing."""
    sample = column.slice(0, rows)
    parent = _decoded(walk(sample, path[:-1]) if len(path) > 1 else sample)
    if _is_text(parent.type):
        parsed, records = parse_json(parent)
        if records is not None:
            keys = dict.fromkeys(k for r in records if isinstance(r, dict) for k in r)
            return f"objects with keys {_listed(keys)}" if keys else "no JSON objects"
        parent = parsed
    kind = parent.type
    if pa.types.is_struct(kind):
        return f"fields {_listed(f.name for f in kind)}"
    if pa.types.is_map(kind):
        return f"map keys {_listed(dict.fromkeys(pc.list_flatten(pc.map_keys(parent)).to_pylist()))}"
    if _is_list(kind):
        item = _decoded(pc.list_flatten(parent))
        if pa.types.is_struct(item.type) and item.type.get_field_index("key") >= 0:
            return f"keys {_listed(dict.fromkeys(pc.struct_field(item, 'key').to_pylist()))}"
        return f"lists of {item.type} (name an element by its index: .0, .1, ...)"
    present = parent.drop_null()
    return f"{kind} values like {present[0].as_py()!r}" if len(present) else "no values at all"


def _listed(names, most: int = 12) -> str:
    names = [repr(n) for n in names if n is not None]
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "") or "none"


def json_or_none(text: str):
    """The parsed JSON value of ``text``, or None when it is not JSON (or nests too deep to parse)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _walk_python(value, path: tuple[str, ...]):
    """:func:`walk` over one parsed JSON value (the rows Arrow's reader could not take)."""
    for key in path:
        if isinstance(value, str) and value[:1] in ("{", "["):
            value = json_or_none(value)
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list):
            if key.isdigit():
                value = value[int(key)] if int(key) < len(value) else None
            else:
                value = next((item for item in value if isinstance(item, dict) and item.get("key") == key), None)
                if isinstance(value, dict):
                    value = (value.get("value") if "value" in value else
                             next(iter(v for k, v in value.items() if k != "key"), None))
        else:
            return None
    if isinstance(value, dict) and value and set(value) <= set(VALUE_FIELDS):
        value = next((value[n] for n in VALUE_FIELDS if value.get(n) is not None), None)
    return value


def _python_array(values: list) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        return pa.array([None if v is None else v if isinstance(v, str) else json.dumps(v) for v in values],
                        type=pa.string())


def _element(arr: pa.Array, key: str) -> pa.Array:
    """Per row: element ``key`` of its list (an index), or the value of its key/value element ``key``."""
    flat = pc.list_flatten(arr)
    parent = np.asarray(pc.list_parent_indices(arr))
    if key.isdigit():
        first = np.r_[0, np.flatnonzero(np.diff(parent)) + 1] if len(parent) else np.zeros(0, dtype=np.int64)
        position = np.arange(len(parent)) - np.repeat(first, np.diff(np.r_[first, len(parent)]))
        hit = position == int(key)
        return _gathered(flat, hit, parent, len(arr))
    item = _decoded(flat)
    if not (pa.types.is_struct(item.type) and item.type.get_field_index("key") >= 0):
        return _nulls(len(arr))
    keys = _decoded(pc.struct_field(item, "key"))
    if not _fits(key, keys.type):
        return _nulls(len(arr))
    hit = np.asarray(pc.fill_null(pc.equal(keys, _scalar(key, keys.type)), False), dtype=bool)
    if item.type.get_field_index("value") >= 0:
        found = pc.struct_field(item, "value")     # made one value once gathered (_plain): per key, not across keys
    else:                                    # {key, other fields}: the element without its key
        others = [f.name for f in item.type if f.name != "key"]
        found = pc.struct_field(item, others[0]) if len(others) == 1 else item
    # the first element with that key wins: later ones of the same row are dropped
    rows = parent[hit]
    first = np.r_[True, rows[1:] != rows[:-1]] if len(rows) else np.zeros(0, dtype=bool)
    keep = np.flatnonzero(hit)[first]
    mask = np.zeros(len(parent), dtype=bool)
    mask[keep] = True
    return _gathered(found, mask, parent, len(arr))


def _value(arr: pa.Array) -> pa.Array:
    """GA4's value struct as one value: whichever of its typed fields is set (numbers as numbers,
    text as text; where rows mix text and numbers, all as text)."""
    arr = _decoded(arr)
    if not pa.types.is_struct(arr.type):
        return arr
    names = [n for n in VALUE_FIELDS if arr.type.get_field_index(n) >= 0]
    if not names or len(names) != arr.type.num_fields:
        return arr
    fields = [_decoded(pc.struct_field(arr, n)) for n in names]
    used = [f for f in fields if f.null_count < len(f)]
    if not used:
        return _nulls(len(arr))
    if len(used) == 1:
        return used[0]
    numeric = all(pa.types.is_integer(f.type) or pa.types.is_floating(f.type) for f in used)
    if numeric and all(pa.types.is_integer(f.type) for f in used):
        return pc.coalesce(*(f.cast(pa.int64()) for f in used))
    target = pa.float64() if numeric else pa.string()
    return pc.coalesce(*(f.cast(target) for f in used))


def _gathered(values: pa.Array, hit: np.ndarray, parent: np.ndarray, n: int) -> pa.Array:
    """``values[hit]`` put back at their rows ``parent[hit]`` (at most one per row); null elsewhere."""
    at = np.full(n, -1, dtype=np.int64)
    at[parent[hit]] = np.flatnonzero(hit)
    return values.take(pa.array(at, mask=at < 0))


def _plain(arr: pa.Array) -> pa.Array:
    """GA4's value struct where a path ends on one; anything else as it is."""
    return _value(arr) if pa.types.is_struct(arr.type) else arr


def _decoded(arr: pa.Array) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.dictionary_decode() if pa.types.is_dictionary(arr.type) else arr


def _is_list(kind: pa.DataType) -> bool:
    return pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)


def _fits(key: str, kind: pa.DataType) -> bool:
    """Whether the path segment ``key`` can be compared with keys of type ``kind``."""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return True
    return pa.types.is_integer(kind) and key.lstrip("-").isdigit()


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _scalar(key: str, kind: pa.DataType) -> pa.Scalar:
    return pa.scalar(int(key) if pa.types.is_integer(kind) else key, kind)


def _nulls(n: int) -> pa.Array:
    return pa.nulls(n)
