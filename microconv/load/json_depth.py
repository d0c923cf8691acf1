"""How deep JSON nests, found before a parser sees it.

Arrow's JSON reader parses by recursion and crashes the process (a segmentation fault, not an
exception) on a value nested some ten thousand levels deep; Python's ``json`` raises
RecursionError near a thousand. So JSON Lines files and JSON-string columns are scanned first,
vectorised over their bytes, and a value nested deeper than MAX_JSON_DEPTH is a data error.

The scan runs on *segments* (the lines of a file, the values of a string column). A segment
shorter than MAX_JSON_DEPTH bytes, or with no more opening brackets than that, cannot nest deeper,
whatever its strings hold; only the rest are scanned exactly, with brackets inside strings (and
escaped quotes) told apart. On a file of short event lines the cost is finding its line breaks.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

MAX_JSON_DEPTH = 512       # Arrow's reader copes with about 10,000, Python's json with about 900
CHUNK_BYTES = 64 << 20     # bytes of segments counted at once, so that the scan's own arrays stay small
PIECE_BYTES = 4 << 20      # bytes of one segment scanned exactly at once (its arrays: some 60 bytes per bracket)

_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_OPEN, _CLOSE = (ord("["), ord("{")), (ord("]"), ord("}"))
_SPECIAL = np.array([_QUOTE, _BACKSLASH, *_OPEN, *_CLOSE], dtype=np.uint8)


def first_too_deep(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, limit: int = MAX_JSON_DEPTH) -> int | None:
    """Index of the first segment ``data[starts[i]:ends[i]]`` (uint8 bytes; segments in order,
    not overlapping) whose brackets nest deeper than ``limit``; None when none does. Only a segment
    longer than ``limit`` bytes can, and only one with more than ``limit`` opening brackets: event
    lines are short, so most files are done when their lines are."""
    long = np.flatnonzero(ends - starts > limit)
    begin = 0
    while begin < len(long):
        # long segments [begin, end) whose bytes span about CHUNK_BYTES (at least one segment)
        end = max(int(np.searchsorted(starts[long], starts[long[begin]] + CHUNK_BYTES)), begin + 1)
        found = _first_in_chunk(data, starts[long[begin:end]], ends[long[begin:end]], limit)
        if found is not None:
            return int(long[begin + found])
        begin = end
    return None


def _first_in_chunk(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, limit: int) -> int | None:
    low, high = int(starts[0]), int(ends[-1])
    chunk = data[low:high]
    opens = np.flatnonzero((chunk == _OPEN[0]) | (chunk == _OPEN[1]))
    if len(opens) <= limit:
        return None
    counts = np.searchsorted(opens, ends - low) - np.searchsorted(opens, starts - low)
    for i in np.flatnonzero(counts > limit):     # the few segments that could be too deep
        if nests_deeper(data[starts[i]:ends[i]], limit):
            return int(i)
    return None


def nests_deeper(segment: np.ndarray, limit: int) -> bool:
    """Whether the brackets of one JSON text nest deeper than ``limit``, brackets inside strings not
    counted. Read in pieces of PIECE_BYTES, carrying the level, whether a string is open and whether
    a piece ends in an odd run of backslashes, so that a huge line needs no huge arrays."""
    level, inside, odd_slashes = 0, False, False
    for low in range(0, len(segment), PIECE_BYTES):
        piece = segment[low:low + PIECE_BYTES]
        at = np.flatnonzero(np.isin(piece, _SPECIAL))
        if len(at) == 0:
            odd_slashes = False
            continue
        byte = piece[at]
        slash = byte == _BACKSLASH
        # per special byte, the backslashes right before it: the run of adjacent backslashes
        follows = np.zeros(len(at), dtype=bool)
        follows[1:] = slash[:-1] & (at[1:] == at[:-1] + 1)
        index = np.arange(len(at))
        since = np.maximum.accumulate(np.where(follows, 0, index))
        run = index - since
        if odd_slashes and at[0] == 0:          # the run began in the piece before
            run = run + (since == 0)
        quote = (byte == _QUOTE) & (run % 2 == 0)
        quotes = np.cumsum(quote) + inside
        outside = (quotes % 2 == 0) & ~quote     # after an even number of quotes: not inside a string
        step = np.where(outside & np.isin(byte, _OPEN), 1, np.where(outside & np.isin(byte, _CLOSE), -1, 0))
        levels = level + np.cumsum(step)
        if levels.max() > limit:
            return True
        level, inside = int(levels[-1]), bool(quotes[-1] % 2)
        odd_slashes = bool(slash[-1] and at[-1] == len(piece) - 1 and (run[-1] + 1) % 2)
    return False


def line_bounds(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the lines of ``data``, a last line without a line break included."""
    breaks = np.flatnonzero(data == ord("\n"))
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(data)]))
    if starts[-1] == len(data):                  # the file ends with a line break
        starts, ends = starts[:-1], ends[:-1]
    return starts, ends


def first_too_deep_value(column: pa.ChunkedArray, limit: int = MAX_JSON_DEPTH) -> int | None:
    """Row of the first value of a string column nesting deeper than ``limit``; its bytes are
    scanned where they lie, each value a segment."""
    base = 0
    for chunk in column.chunks:
        _, offsets, data = chunk.buffers()
        if data is not None and len(chunk):
            width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
            bounds = np.frombuffer(offsets, dtype=width)[chunk.offset:chunk.offset + len(chunk) + 1]
            found = first_too_deep(np.frombuffer(data, dtype=np.uint8), bounds[:-1], bounds[1:], limit)
            if found is not None:
                return base + found
        base += len(chunk)
    return None


def json_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A JSON-string column as the text Arrow's JSON reader is given (whatever its type: dictionary,
    binary, string view...); the depth check looks at exactly this."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column
    return column.cast(pa.string())


class TooDeep(Exception):
    """A JSON-string value that Arrow's JSON reader would crash on, at ``row`` of its piece."""

    def __init__(self, column: str, row: int):
        super().__init__(column, row)
        self.column, self.row = column, row


def check_json_depth(table: pa.Table, columns: Sequence[str]) -> None:
    """Raise TooDeep for the first value of a JSON-string ``columns`` (one read by a dotted path)
    that nests deeper than MAX_JSON_DEPTH, before ``paths.parse_json`` hands it to Arrow's reader: the text
    checked is the text parsed there, so a column of any type that becomes text is covered."""
    for col in columns:
        column = table.column(col)
        if pa.types.is_struct(column.type):
            continue                                    # read by struct_field, never parsed as JSON
        try:
            text = json_text(column)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue                                    # not text: parse_json fails the same cast, parses nothing
        row = first_too_deep_value(text)
        if row is not None:
            raise TooDeep(col, row)
