"""``since``/``until``/``as_of``: dates, date-times or ``7d`` counted back from the data's last day (semantics 4.7).

Any date from 0001-01-01 to 9999-12-31 is accepted and any duration: the instant is worked out
in microseconds (which reach that far) and then clamped to the range of the data's timestamps
(datetime64[ns], 1677-09-21..2262-04-11), which no bound outside it could cut into (rule 1.5).
"""
from __future__ import annotations

import re
from datetime import timedelta

import pandas as pd

from ..config import parse_duration
from ..errors import OPTION, OptionError
from ..engine.clock import NS_MAX, NS_MIN
from ..load.timestamps import localize

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RELATIVE = re.compile(r"^\d+(\.\d+)?\s*(ms|s|m|h|d|w)(\d|ms|s|m|h|d|w|\s|\.)*$")
_LONGEST = timedelta(days=600 * 366)     # longer than the whole ns range (584 years): the same as any longer
_FIRST, _LAST = pd.Timestamp(NS_MIN, tz="UTC"), pd.Timestamp(NS_MAX, tz="UTC")
_FIRST_LOCAL = (_FIRST.as_unit("us") - pd.Timedelta(days=2)).tz_localize(None)     # a margin for zone offsets
_LAST_LOCAL = (_LAST.as_unit("us") + pd.Timedelta(days=2)).tz_localize(None)


def entry_bound(value: str | None, *, last_ts: pd.Timestamp | None, tz: str, until: bool,
                option: str = "since") -> pd.Timestamp | None:
    """The UTC instant a ``since`` (inclusive) or ``until`` (exclusive) value stands for.

    A date is midnight in ``tz`` (with ``until``, the following midnight, so the day is
    included); a relative duration counts back from the end of the last day of the data.

    Args:
        option: the library option the value came from (``since``, ``until``, ``as_of``), named
            in the error.

    Raises:
        OptionError: the value is none of those.
    """
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    if _RELATIVE.match(text):
        if last_ts is None:
            return None
        local_end_of_last_day = (last_ts.as_unit("us").tz_convert(tz).tz_localize(None).normalize()
                                 + pd.Timedelta(days=1))
        return _to_utc(local_end_of_last_day - pd.Timedelta(min(parse_duration(text), _LONGEST)), tz)
    try:
        stamp = pd.Timestamp(text)
        stamp = stamp if stamp.unit in ("s", "ms", "us") else stamp.as_unit("us")
    except (ValueError, TypeError, OverflowError):
        raise OptionError(f"{OPTION} {text!r} is not a date, date-time or duration", option=option,
                          hint="use e.g. 2026-11-01, 2026-11-01T12:00, or 7d for the last seven days of data") from None
    if until and _DATE.match(text):
        stamp = stamp + pd.Timedelta(days=1)
    return _clamped(stamp.tz_convert("UTC")) if stamp.tzinfo is not None else _to_utc(stamp, tz)


def _to_utc(local: pd.Timestamp, tz: str) -> pd.Timestamp:
    """Wall-clock time in ``tz`` to UTC, read like naive timestamps in the data (semantics 1.3)."""
    local = min(max(local, _FIRST_LOCAL), _LAST_LOCAL)      # localizing fails beyond years 1-9999
    return _clamped(localize(pd.Series([local.as_unit("us")]), tz).iloc[0])


def _clamped(stamp: pd.Timestamp) -> pd.Timestamp:
    """A UTC instant inside the timestamps' range, in nanoseconds (callers take ``.value``)."""
    return min(max(stamp, _FIRST), _LAST).as_unit("ns")
