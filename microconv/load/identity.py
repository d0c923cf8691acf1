"""One person behind several ids (docs/semantics.md 1.9): rows without a known id join the known
id their anonymous id was first seen with.

A piece's user id is its known id, or a marker character followed by its anonymous id, so that
rule 1.1 and the hashing of ids (``ids``) need no change; the marker cannot start a real id,
since ids are trimmed of whitespace and the marker is whitespace to that trim. Each piece also
gives its links (rows with both ids) and how many rows each lone anonymous id has. Once every
piece is in, the links are resolved and the user categorical's *categories* are renamed (not its
rows): a marker category becomes its linked known id, or its own anonymous id when never linked.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .ids import piece_ids

MARKER = "\x1f"        # unit separator: whitespace to utf8_trim_whitespace, so no trimmed id starts with it


@dataclass
class PieceIdentity:
    """A piece's two ids per row, as codes into their names (-1 where missing)."""

    known: np.ndarray
    known_names: pa.Array
    anonymous: np.ndarray
    anonymous_names: pa.Array

    def links(self, usable: np.ndarray, ts: np.ndarray) -> PieceLinks:
        """The piece's links among its usable rows (rule 1.1), each (anonymous, known) pair once with
        its first (timestamp, row); and the rows of each anonymous id that has no known id."""
        rows = np.flatnonzero(usable & (self.known >= 0) & (self.anonymous >= 0))
        pair = self.anonymous[rows].astype(np.int64) * max(len(self.known_names), 1) + self.known[rows]
        order = np.lexsort((rows, ts[rows], pair))
        if len(order):
            order = order[np.r_[True, pair[order][1:] != pair[order][:-1]]]
        first = rows[order]
        alone = np.bincount(self.anonymous[usable & (self.known < 0) & (self.anonymous >= 0)],
                            minlength=len(self.anonymous_names))
        lone = np.flatnonzero(alone)
        return PieceLinks(self.anonymous_names.take(pa.array(self.anonymous[first])),
                          self.known_names.take(pa.array(self.known[first])), ts[first].astype(np.int64),
                          first.astype(np.int64), self.anonymous_names.take(pa.array(lone)), alone[lone])


def piece_user(known, anonymous: Sequence) -> tuple[np.ndarray, pa.Array, PieceIdentity]:
    """Per row, a code into the piece's user names (known ids, then marked anonymous ids), -1 for
    a row with neither; a row's anonymous id is that of the first anonymous column with one."""
    known_codes, known_names = piece_ids(known)
    coded = [piece_ids(values) for values in anonymous]
    starts = np.cumsum([0] + [len(names) for _, names in coded])
    anon = np.full(len(known_codes), -1, dtype=np.int32)
    for (codes, _), start in reversed(list(zip(coded, starts))):
        anon = np.where(codes >= 0, codes + np.int32(start), anon)
    anon_names = pa.concat_arrays([names for _, names in coded]) if coded else pa.array([], pa.string())
    user = np.where(known_codes >= 0, known_codes,
                    np.where(anon >= 0, anon + np.int32(len(known_names)), np.int32(-1))).astype(np.int32)
    names = pa.concat_arrays([known_names, pc.utf8_replace_slice(anon_names, 0, 0, MARKER)])
    return user, names, PieceIdentity(known_codes, known_names, anon, anon_names)


@dataclass
class PieceLinks:
    """What a piece adds to the resolution; ``row`` is within the piece until :meth:`moved`."""

    anonymous: pa.Array        # per link
    known: pa.Array
    ts: np.ndarray
    row: np.ndarray
    lone: pa.Array             # anonymous ids on rows without a known id
    lone_rows: np.ndarray      # their rows

    def moved(self, offset: int) -> PieceLinks:
        """The same with rows counted from the start of the input (rule 1.4's input order)."""
        return PieceLinks(self.anonymous, self.known, self.ts, self.row + offset, self.lone, self.lone_rows)


@dataclass
class Joined:
    """The resolved links: per linked anonymous id, the known id it joins."""

    anonymous: pa.Array        # distinct
    known: pa.Array            # per anonymous id
    conflicts: int             # anonymous ids linked to more than one known id
    rows: int                  # usable rows without a known id that joined one
    ids: int                   # the distinct anonymous ids of those rows

    @classmethod
    def of(cls, pieces: Sequence[PieceLinks]) -> Joined:
        anon = _text([p.anonymous for p in pieces])
        a_codes, a_names = _codes(anon)
        k_codes, k_names = _codes(_text([p.known for p in pieces]))
        ts = np.concatenate([p.ts for p in pieces]) if pieces else np.zeros(0, np.int64)
        row = np.concatenate([p.row for p in pieces]) if pieces else np.zeros(0, np.int64)
        order = np.lexsort((row, ts, a_codes))                  # per anonymous id, its links by rule 1.4
        anon, known = a_codes[order], k_codes[order]
        first = order[np.r_[True, anon[1:] != anon[:-1]]] if len(order) else order
        met = _marked(anon[1:][(anon[1:] == anon[:-1]) & (known[1:] != known[:-1])], len(a_names))
        lone = _text([p.lone for p in pieces])
        lone_rows = np.concatenate([p.lone_rows for p in pieces]) if pieces else np.zeros(0, np.int64)
        at = pc.index_in(lone, value_set=a_names)
        linked = pc.is_valid(at).to_numpy(zero_copy_only=False)
        joined = _marked(at.filter(pa.array(linked)).to_numpy(zero_copy_only=False), len(a_names))
        return cls(a_names, k_names.take(pa.array(k_codes[first])), int(np.count_nonzero(met)),
                   int(lone_rows[linked].sum()), int(np.count_nonzero(joined)))

    def rename(self, names: pa.Array) -> tuple[np.ndarray, pa.Array]:
        """The user categories ``names`` renamed: per name, a code into the new (distinct) names."""
        marked = pc.starts_with(names, MARKER)
        if pc.any(marked).as_py():
            anon = pc.utf8_slice_codeunits(names.filter(marked), 1)
            at = pc.index_in(anon, value_set=self.anonymous)
            user = pc.if_else(pc.is_null(at), anon, self.known.take(at.fill_null(0))) if len(self.known) else anon
            names = pc.replace_with_mask(names, marked, user)
        return _codes(names)

    def notes(self) -> list[str]:
        """The data-quality notes: rows joined, and anonymous ids that met several known ids."""
        out = [f"joined {_count(self.rows, 'row')} of {_count(self.ids, 'anonymous id')} to known users (rule 1.9)"]
        if self.conflicts:
            out.append(f"{_count(self.conflicts, 'anonymous id')} met more than one known id; "
                       "each joins the first it was seen with (rule 1.9)")
        return out


def _marked(codes: np.ndarray, size: int) -> np.ndarray:
    """Which of ``size`` codes occur in ``codes`` (a distinct count without hashing)."""
    seen = np.zeros(size, dtype=bool)
    seen[codes] = True
    return seen


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


def _text(arrays: Sequence[pa.Array]) -> pa.Array:
    return pa.concat_arrays([a.cast(pa.string()) for a in arrays]) if arrays else pa.array([], pa.string())


def _codes(values: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Per value a code into its distinct values (in order of first appearance), and those."""
    coded = pc.dictionary_encode(values)
    return coded.indices.to_numpy(zero_copy_only=False).astype(np.int64), coded.dictionary
