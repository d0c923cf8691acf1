"""Strings from the data or the config made safe for the medium they go to, one function per medium.

An event name, a property value or a label is written by whoever produced the log or the config,
so it may hold a terminal escape sequence, rich markup, a spreadsheet formula, Markdown or HTML.
Each renderer passes such strings through the function of its medium (never the fixed words
around them), so a hostile value is shown as text and never acts:

- ``terminal``: control characters (C0 including tab and newline, DEL, C1), line and paragraph
  separators, bidirectional overrides and lone surrogates shown as ``\\x1b``, ``\\n``, ``\\u202e``;
  ``text`` wraps the result in a rich ``Text``, which rich never reads as markup or emoji codes.
- ``csv_frame``: text cells a spreadsheet would evaluate (a leading ``=``, ``+``, ``-``, ``@``,
  tab or CR: OWASP's rule) get a leading ``'``; numbers and number-like text are left alone.
  ``csv_unneutralise`` undoes it when microconv reads its own CSV back (``check --baseline``).
- ``markdown``: every character that could start markup (links, images, raw HTML, emphasis,
  code, headings' closing ``#``, table pipes) backslash-escaped, line breaks shown as ``\\n``.
- ``html``: ``html.escape`` (quotes too, for attributes) after ``terminal``.
- ``json_text``: strict JSON: NaN and infinities become ``null`` (``allow_nan=False`` proves it),
  and the characters that ``terminal`` shows are ``\\u`` escapes even with ``ensure_ascii=False``.
"""
from __future__ import annotations

import html as _html
import json
import math
import re

# What a terminal may act on or that reorders what is shown (Trojan Source): C0 and DEL, C1,
# LINE/PARAGRAPH SEPARATOR, the bidi embeddings, overrides and isolates, the bidi marks, and
# lone surrogates (which cannot even be encoded to UTF-8 for printing).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(match: re.Match) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal(value) -> str:
    """``value`` as text with every control character shown as an escape (``\\x1b``, ``\\n``)."""
    value = str(value)
    return _CONTROL.sub(_visible, value) if _CONTROL.search(value) else value


_CONTROL_BUT_LAYOUT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def terminal_document(text: str) -> str:
    """A whole payload (CSV, JSON, Markdown, HTML) bound for a terminal: its line breaks and tabs
    kept, every other control character shown as an escape. A CSV cell from the data may hold
    an escape sequence, which a file should keep but a terminal must not obey."""
    return _CONTROL_BUT_LAYOUT.sub(_visible, text) if _CONTROL_BUT_LAYOUT.search(text) else text


def text(value, style: str = ""):
    """``value`` as a rich ``Text`` (never parsed as markup or emoji), control characters shown."""
    from rich.text import Text

    return Text(terminal(value), style=style)


# ------------------------------------------------------------------------------------------------
# CSV

_FORMULA = re.compile(r"'*[=+\-@\t\r]")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def csv_cell(value):
    """A text cell a spreadsheet would evaluate, prefixed with ``'``; anything else unchanged.

    Quotes already leading a formula are counted too (``'=x`` becomes ``''=x``), so that
    ``csv_unneutralise`` gives back exactly the value written. Number-like text (``-1``, ``+2.5``)
    is no formula and stays as it is."""
    if isinstance(value, str) and _FORMULA.match(value) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_text(frame, *, raw: bool = False, float_format: str = "%.10g") -> str:
    """``frame`` as CSV text (a header, ``\n`` line ends), its text cells neutralised unless
    ``raw``. A value holding a carriage return is quoted like one holding a newline: Python's
    csv writer quotes only the characters of the line terminator, and a spreadsheet would start
    a new row at a bare CR."""
    import csv

    frame = csv_frame(frame, raw=raw)
    text = frame.to_csv(index=False, lineterminator="\n", float_format=float_format)
    if "\r" in text:
        text = frame.to_csv(index=False, lineterminator="\n", float_format=float_format, quoting=csv.QUOTE_NONNUMERIC)
    return text


def csv_unneutralise(value):
    """The value ``csv_cell`` was given, from what it wrote."""
    if isinstance(value, str) and value.startswith("'") and _FORMULA.match(value, 1) and not _NUMBER.fullmatch(value, 1):
        return value[1:]
    return value


def csv_frame(frame, *, raw: bool = False):
    """``frame`` with its text cells neutralised (``csv_cell``), unless ``raw``; numeric columns
    are never touched, so ``-0.5`` stays a number."""
    return frame if raw else _map_text(frame, csv_cell)


def csv_read_back(frame):
    """A frame read from microconv's CSV with its text cells as they were before ``csv_frame``."""
    return _map_text(frame, csv_unneutralise)


def _map_text(frame, cell):
    """``frame`` with ``cell`` applied to the cells of its text (string, object, category) columns."""
    from pandas.api.types import CategoricalDtype, is_object_dtype, is_string_dtype

    columns = [c for c in frame.columns
               if is_string_dtype(frame[c].dtype) or is_object_dtype(frame[c].dtype)
               or isinstance(frame[c].dtype, CategoricalDtype)]
    if not columns:
        return frame
    frame = frame.copy()
    for column in columns:
        frame[column] = frame[column].astype(object).map(cell)
    return frame


# ------------------------------------------------------------------------------------------------
# Markdown

# Every ASCII punctuation character that starts or ends Markdown (CommonMark, GitHub's tables,
# strikethrough and math): backslash-escaped. "_" between two letters or digits cannot open or
# close emphasis, so ``add_to_cart`` stays as written; "(", ")", "-", "+" and "." matter only at
# the start of a line or after "]", which no escaped text can produce.
# Also ``:``, ``@`` and a ``.`` between a word and a letter: renderers that link bare URLs,
# ``www.`` names, domains and e-mail addresses (GitHub, Slack, linkify) then see none.
_MARKDOWN = re.compile(r"[\\`*{}\[\]<>#!|~&$:@]|(?<![^\W_])_|_(?![^\W_])|(?<=\w)\.(?=[^\W\d_])")


def markdown(value) -> str:
    """``value`` as inline Markdown that renders as exactly its text (one table cell or heading):
    no links (also none autolinked), images, raw HTML or emphasis; whitespace runs become one space."""
    return " ".join(_MARKDOWN.sub(lambda m: "\\" + m.group(), terminal(value)).split())


# ------------------------------------------------------------------------------------------------
# HTML


def html(value) -> str:
    """``value`` as HTML text or a double- or single-quoted attribute value."""
    return _html.escape(terminal(value))


# ------------------------------------------------------------------------------------------------
# JSON

_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def finite(value):
    """``value`` with every NaN or infinite float (numpy's too) replaced by None, recursively."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if hasattr(value, "item") and hasattr(value, "dtype"):   # a numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_text(doc, *, indent: int | None = 2, ensure_ascii: bool = True, default=None) -> str:
    """``doc`` as strict JSON (no ``NaN``/``Infinity``: they are ``null``), without a newline."""
    out = json.dumps(finite(doc), indent=indent, ensure_ascii=ensure_ascii, allow_nan=False, default=default)
    return out if ensure_ascii else _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", out)
