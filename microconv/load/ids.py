"""User ids and event names as integer codes, hashed without a Python loop over rows.

User ids (rule 1.1) and event names (rule 1.2) are read dictionary-encoded where the format
allows, so a piece is coded by looking at its distinct values only. The distinct user ids of all
pieces are then hashed once into the frame's categorical ``user`` column, in parts that stay in
the CPU cache.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def event_codes(values) -> tuple[np.ndarray, list[str]]:
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


def _as_text(values) -> pa.ChunkedArray:
    """Ids as Arrow text: numbers become their digits, whatever the column held."""
    if isinstance(values, pd.Series):
        values = pa.chunked_array([pa.array(values.astype("string"), type=pa.string(), from_pandas=True)])
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    return values


def one_array(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A column as one Arrow array: a single chunk as it is (``combine_chunks`` copies even one,
    and Arrow's kernels on a chunked array cost three times as much on a million ids)."""
    if not isinstance(values, pa.ChunkedArray):
        return values
    return values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()


def piece_ids(values) -> tuple[np.ndarray, pa.Array]:
    """Rule 1.1 for one piece: per row, a code into the piece's distinct ids (trimmed), or -1 for a
    missing, empty or all-whitespace id. Parquet and CSV user columns are read dictionary-encoded,
    so only the distinct ids of a piece are looked at, never one string per row."""
    if isinstance(values, pd.Series) or not pa.types.is_dictionary(values.type):
        values = pa.chunked_array([pc.dictionary_encode(one_array(_as_text(values)))])
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


def kept_ids(values: pa.ChunkedArray | pa.Array, keep: np.ndarray) -> Ids:
    """Rule 1.1 for the ``keep`` rows of a plain text id column, none of them blank (checked by
    :func:`blank_ids`): trimmed, one name per row, and no piece-wide hash (the run's one hash of
    every piece's ids dedupes them, so hashing each piece's first would hash twice)."""
    trimmed = pc.utf8_trim_whitespace(_as_text(one_array(values).take(pa.array(keep))))
    return Ids.of(np.arange(len(trimmed), dtype=np.int32), trimmed, None)


def blank_ids(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Per row of a text id column, whether it holds no id (rule 1.1: missing, empty or all
    whitespace), without trimming every row: only a value whose first byte is a control or space
    character, or starts a non-ASCII character (Unicode spaces), can be blank, and only those are
    trimmed."""
    values = one_array(values)
    if pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    _, offsets, data = values.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int32)[values.offset:values.offset + len(values) + 1]
    if data is None or bounds[-1] == bounds[0]:
        return np.ones(len(values), dtype=bool)
    text = np.frombuffer(data, dtype=np.uint8)
    empty = bounds[1:] == bounds[:-1]
    first = text.take(np.minimum(bounds[:-1], bounds[-1] - 1))   # an empty id's is its neighbour's
    blank = (first - np.uint8(0x21)) > np.uint8(0x5E)             # below "!" (wraps around) or non-ASCII
    blank |= empty
    if values.null_count:
        blank |= values.is_null().to_numpy(zero_copy_only=False)
    maybe = np.flatnonzero(blank & ~empty)
    if len(maybe):
        trimmed = pc.binary_length(pc.utf8_trim_whitespace(values.take(pa.array(maybe))))
        blank[maybe] = pc.fill_null(pc.equal(trimmed, 0), True).to_numpy(zero_copy_only=False)
    return blank


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
class Ids:
    """The ids of one piece: its distinct ids (in parts) and, per kept row, a code into them. When
    users are counted, the distinct ids are those of every usable row, so that one hash gives both
    the count and the kept rows' codes; otherwise only those of the kept rows."""

    names: _Parted
    codes: np.ndarray

    @classmethod
    def of(cls, codes: np.ndarray, names: pa.Array, usable: np.ndarray | None) -> Ids:
        """``codes`` of the kept rows and ``usable`` ones (given when users are counted) into ``names``."""
        used, codes = _drop_unused(codes, len(names), codes if usable is None else usable)
        parted, moved = _Parted.of(names if len(used) == len(names) else names.take(pa.array(used)))
        return cls(parted, moved.take(codes))


@dataclass
class NumericIds:
    """The ids of one piece of an integer column (Parquet's int64 ``user_id``, Amplitude's numeric
    ids): the kept rows' ids as numbers and, when users are counted, the distinct ids of the
    usable rows. An integer's text is its digits, one text per number and one number per text, so
    coding the numbers codes their texts (rule 1.1 holds: such a column has no ``007`` to keep),
    and only the kept rows (the config's events, often a tenth of the log) are hashed at all:
    casting every row to text to hash strings was most of the load of a numeric log."""

    values: np.ndarray              # int64, per kept row
    present: np.ndarray | None      # distinct int64 ids of the usable rows (users counted), else None

    @classmethod
    def of(cls, column: pa.ChunkedArray | pa.Array, keep: np.ndarray, usable: np.ndarray | None,
           count_users: bool) -> NumericIds:
        """``column``'s ids at the ``keep`` row numbers; with ``count_users``, the distinct ids of
        the rows ``usable`` marks (every row when None)."""
        column = one_array(column)
        values = column.take(pa.array(keep)).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        present = None
        if count_users:
            counted = column if usable is None else column.filter(pa.array(usable))
            present = pc.unique(counted.drop_null()).to_numpy().astype(np.int64, copy=False)
        return cls(values, present)

    def as_text(self) -> Ids:
        """The same ids as text (a numeric piece among text ones: a Parquet file and a CSV export
        of the same users)."""
        codes, uniques = pd.factorize(self.values)
        if self.present is not None:
            uniques = np.concatenate([uniques, np.setdiff1d(self.present, uniques, assume_unique=True)])
        names = pa.array(uniques, pa.int64()).cast(pa.string())
        return Ids.of(codes.astype(np.int32), names, np.arange(len(names), dtype=np.int32)
                      if self.present is not None else None)


def is_numeric_ids(column) -> bool:
    """An integer user column: its ids are coded as numbers (:class:`NumericIds`). (uint64 is
    not: its numbers above 2**63 have no int64.)"""
    return (isinstance(column, (pa.Array, pa.ChunkedArray)) and pa.types.is_integer(column.type)
            and column.type != pa.uint64())


def _numeric_categorical(pieces: Sequence[NumericIds], every: bool = False) -> tuple[pa.Array, np.ndarray, int]:
    """Every piece's kept ids coded as numbers: the distinct ids as text (the categories), a code
    per kept row, and how many distinct ids the usable rows hold (the kept rows' when not counted).
    Ids in a narrow range (auto-increment keys) are coded through a table indexed by the number
    itself; others are hashed. With ``every`` (and users counted), the counted ids no kept row has
    follow the kept ones in the categories."""
    values = np.concatenate([p.values for p in pieces])
    counted = [p.present for p in pieces if p.present is not None]
    if len(values) and int(values.max()) - int(values.min()) < 4 * len(values) + 1024:
        low = values.min()
        seen = np.zeros(int(values.max() - low) + 1, dtype=bool)
        seen[values - low] = True
        uniques = np.flatnonzero(seen)
        number = np.zeros(len(seen), dtype=np.int32)
        number[uniques] = np.arange(len(uniques), dtype=np.int32)
        codes, uniques = number[values - low], uniques + low
    else:
        codes, uniques = pd.factorize(values)
        codes = codes.astype(np.int32, copy=False)
    distinct = len(uniques)
    if counted:
        present = pd.unique(np.concatenate(counted)) if len(counted) > 1 else counted[0]
        distinct = len(present)
        if every and distinct > len(uniques):
            uniques = np.concatenate([uniques, present[~np.isin(present, uniques)]])
    return pa.array(uniques, pa.int64()).cast(pa.string()), codes, distinct


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


FEW_IDS = 1 << 15        # fewer ids than this hash in one table faster than 64 parts on two threads


def _hash_whole(pieces: Sequence[_Parted]) -> tuple[list[np.ndarray], pa.Array]:
    """:func:`_hash_parts` for a few ids (a small log, a test's): one table, no threads."""
    coded = pc.dictionary_encode(pa.chunked_array([p.ids for p in pieces], pa.string()))
    if coded.num_chunks == 0 or not len(coded):
        return [np.zeros(len(p.ids), dtype=np.int32) for p in pieces], pa.array([], pa.string())
    codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in coded.chunks]).astype(np.int32)
    ends = np.cumsum([len(p.ids) for p in pieces])
    return np.split(codes, ends[:-1]), coded.chunk(0).dictionary


def _hash_parts(pieces: Sequence[_Parted]) -> tuple[list[np.ndarray], pa.Array]:
    """Each part of every piece hashed, two parts at a time: per piece, a code per id (in the
    piece's part order) into the distinct ids, which are returned too (part after part)."""
    sizes = np.array([p.sizes for p in pieces], dtype=np.int64).reshape(len(pieces), ID_PARTS)
    if sizes.sum() < FEW_IDS:
        return _hash_whole(pieces)
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


def categorical_ids(pieces: Sequence[Ids | NumericIds], every_name_kept: bool,
                    rename: Callable[[pa.Array], tuple[np.ndarray, pa.Array]] | None = None) -> tuple[pd.Series, int]:
    """The kept rows' ids as a categorical of their text, and how many distinct ids the pieces
    hold; when not ``every_name_kept``, ids no kept row has are dropped from the categories.
    ``rename`` maps the distinct ids to users (a code per id into distinct user names) before
    they are counted: rule 1.9's joins, done once per id rather than per row.
    Factorized categories are unique by construction, so the dtype is built without pandas'
    check, which re-hashes them all (as costly as the factorize itself with millions of users)."""
    if pieces and all(isinstance(p, NumericIds) for p in pieces) and rename is None:
        names, codes, distinct = _numeric_categorical(pieces, every=every_name_kept)
        return _categorical(codes, names), distinct
    pieces = [p.as_text() if isinstance(p, NumericIds) else p for p in pieces]
    code_of, names = _hash_parts([p.names for p in pieces])
    if rename is not None:
        user_of, names = rename(names)
        user_of = user_of.astype(np.int32, copy=False)
        code_of = [user_of.take(c) for c in code_of]
    distinct = len(names)
    codes = [c.take(p.codes) for c, p in zip(code_of, pieces)]
    codes = np.concatenate(codes) if codes else np.zeros(0, dtype=np.int32)
    if not every_name_kept:
        used, codes = _drop_unused(codes, len(names), codes)
        names = names if len(used) == len(names) else names.take(pa.array(used))
    return _categorical(codes, names), distinct


def _categorical(codes: np.ndarray, names: pa.Array) -> pd.Series:
    categories = pd.Index(names.to_pandas())
    try:
        dtype = pd.CategoricalDtype._from_fastpath(categories, False)
    except AttributeError:                  # a pandas without the fast path: the checked one
        dtype = pd.CategoricalDtype(categories)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype, validate=False))
