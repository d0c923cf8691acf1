"""``--since``/``--until``: dates, date-times or ``7d`` counted back from the data's last day (semantics 4.7)."""
from __future__ import annotations

import re

import pandas as pd

from .config.model import parse_duration
from .errors import UsageError
from .events import localize

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RELATIVE = re.compile(r"^\d+(\.\d+)?\s*(ms|s|m|h|d|w)(\d|ms|s|m|h|d|w|\s|\.)*$")


def entry_bound(value: str | None, *, last_ts: pd.Timestamp | None, tz: str, until: bool,
                option: str = "--since") -> pd.Timestamp | None:
    """The UTC instant a ``--since`` (inclusive) or ``--until`` (exclusive) value stands for.

    A date is midnight in ``tz`` (for ``--until``, the following midnight, so the day is
    included); a relative duration counts back from the end of the last day of the data.

    Raises:
        UsageError: the value is none of those.
    """
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    if _RELATIVE.match(text):
        if last_ts is None:
            return None
        local_end_of_last_day = last_ts.tz_convert(tz).tz_localize(None).normalize() + pd.Timedelta(days=1)
        return _to_utc(local_end_of_last_day - parse_duration(text), tz)
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise UsageError(f"{option} {text!r} is not a date, date-time or duration",
                         hint="use e.g. 2026-11-01, 2026-11-01T12:00, or 7d for the last seven days of data") from None
    if until and _DATE.match(text):
        stamp = stamp + pd.Timedelta(days=1)
    return stamp.tz_convert("UTC") if stamp.tzinfo is not None else _to_utc(stamp, tz)


def _to_utc(local: pd.Timestamp, tz: str) -> pd.Timestamp:
    """Wall-clock time in ``tz`` to UTC, read like naive timestamps in the data (semantics 1.3)."""
    return localize(pd.Series([local]), tz).iloc[0]
