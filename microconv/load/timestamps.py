"""Timestamps (rule 1.3) as UTC int64 nanoseconds: typed times, date-time text in any format
pandas knows, and epoch numbers of a unit detected per column; naive times are in the config's
time zone. A time datetime64[ns] cannot hold is out of range (rule 1.5), never an error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..config import Config
from ..engine.clock import NS_MAX

_OFFSET = re.compile(r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?|\b(?:UTC|GMT|[A-Z]{3,4}))\s*$")
_NS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_NAT = np.iinfo(np.int64).min


@dataclass
class Stamps:
    """Rule 1.3 per row of a piece: UTC times as int64 ``values`` * ``scale`` nanoseconds (0 where missing)."""

    values: np.ndarray
    scale: int
    missing: np.ndarray
    unparseable: np.ndarray      # a subset of missing
    raw: pd.Series | None        # the values as read, for naming the first unparseable one
    bounds: tuple[int, int] | None = None   # the smallest and largest ``values``, when known already
    out_of_range: np.ndarray | None = None  # a subset of missing: a time datetime64[ns] cannot hold (1.5)

    def __post_init__(self):
        if self.out_of_range is None:
            self.out_of_range = np.zeros(len(self.missing), dtype=bool)


def piece_stamps(values, config: Config) -> Stamps:
    """A typed Arrow timestamp is read as its integers, those datetime64[ns] cannot hold set
    aside (rule 1.5); one that needs no time zone work is then scaled only for the rows kept,
    anything else goes through :func:`parse_timestamps`."""
    far = None
    if isinstance(values, pa.ChunkedArray) and pa.types.is_timestamp(values.type):
        kind = values.type
        numbers = pc.cast(values, pa.int64())
        scale = _NS_PER[kind.unit]
        low, high = pc.min_max(numbers).as_py().values()
        limit = NS_MAX // scale
        if low is not None and not (-limit <= low and high <= limit):
            odd = pc.or_(pc.less(numbers, -limit), pc.greater(numbers, limit))
            far = odd.fill_null(False).to_numpy(zero_copy_only=False)
            numbers = pc.if_else(odd, pa.scalar(None, pa.int64()), numbers)
            low, high = pc.min_max(numbers).as_py().values()
        if kind.tz is not None or config.columns.timezone == "UTC":
            bounds = None if numbers.null_count or low is None else (low, high)
            missing = (numbers.is_null().to_numpy(zero_copy_only=False) if numbers.null_count
                       else np.zeros(len(numbers), dtype=bool))
            numbers = numbers.fill_null(0) if numbers.null_count else numbers
            return Stamps(numbers.to_numpy(), scale, missing, np.zeros(len(missing), dtype=bool), None, bounds,
                           far)
        values = (numbers.cast(kind) if far is not None else values).to_pandas()
    elif isinstance(values, pa.ChunkedArray):
        values = values.to_pandas()
    ns, unparseable, out_of_range = read_timestamps(values, config.columns.timestamp_unit, config.columns.timezone)
    missing = ns == _NAT
    ns[missing] = 0
    if far is not None:
        out_of_range |= far
    return Stamps(ns, 1, missing, unparseable, values, None, out_of_range)


def parse_timestamps(values: pd.Series, unit: str | None, tz: str) -> tuple[pd.Series, np.ndarray]:
    """UTC nanosecond timestamps, and a mask of non-empty values that could not be parsed (or
    parsed to a time outside what datetime64[ns] holds)."""
    ns, unparseable, out_of_range = read_timestamps(values, unit, tz)
    ts = pd.Series(pd.DatetimeIndex(ns.view("datetime64[ns]"), dtype="datetime64[ns, UTC]"), index=values.index)
    return ts, unparseable | out_of_range


def read_timestamps(values: pd.Series, unit: str | None, tz: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rule 1.3 for a column: UTC nanoseconds as int64 (int64 min, pandas' NaT, where missing), a
    mask of non-empty values that could not be parsed, and one of values that parsed to a time
    outside datetime64[ns] (1677-09-21..2262-04-11), which rule 1.5 drops like unparseable ones."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype("string")
    present = values.notna()
    early = None                                # beyond the range before localizing: see _local_far
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        ts = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        early = _local_far(values)
        ts = localize(values.where(~early) if early.any() else values, tz)
    elif pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        ns, far = _from_epoch(values, unit)
        return ns, present.to_numpy() & (ns == _NAT) & ~far, far
    else:
        text = values.astype("string").str.strip().replace("", pd.NA)
        present = text.notna()
        numeric = text.str.fullmatch(r"-?\d+(?:\.\d+)?").fillna(False)
        if unit is not None or (present.any() and numeric[present].mean() >= 0.5):
            ns, far = _from_epoch(pd.to_numeric(text.where(numeric), errors="coerce"), unit)
            return ns, present.to_numpy() & (ns == _NAT) & ~far, far
        ts, early = _from_text(text, tz)
    ns, far = _as_ns(ts)
    if early is not None:
        far |= early
    return ns, present.to_numpy() & (ns == _NAT) & ~far, far


def _as_ns(ts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """UTC times of any resolution (pandas reads text and epochs as seconds or microseconds) as
    int64 nanoseconds, NaT where missing or beyond datetime64[ns]; and a mask of the latter."""
    unit = getattr(ts.dtype, "unit", "ns")
    ints = ts.array.asi8 if hasattr(ts.array, "asi8") else ts.to_numpy(dtype=f"datetime64[{unit}]").view("int64")
    return _scaled(ints, ints == _NAT, _NS_PER[unit])


def _scaled(ints: np.ndarray, missing: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """``ints`` (int64 counts of 1/``scale`` ns) as nanoseconds, NaT where ``missing`` or where the
    product would pass the int64 range (those also in the returned mask). Always a new array."""
    limit = NS_MAX // scale
    far = (ints > limit) | (ints < -limit)
    far &= ~missing
    ns = ints * scale if scale != 1 else ints.copy()
    np.putmask(ns, far | missing, _NAT)
    return ns, far


def _from_epoch(numbers: pd.Series, unit: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Epoch numbers to UTC nanoseconds (NaT where missing or out of range) and the out-of-range
    mask. Integers are scaled exactly, in int64; fractions go through pandas' rounding, once the
    values beyond datetime64[ns] are set aside (pandas would raise on them)."""
    unit = unit or _epoch_unit(numbers)
    scale = _NS_PER[unit]
    missing = numbers.isna().to_numpy()
    if pd.api.types.is_unsigned_integer_dtype(numbers.dtype):
        # above 2**63 - 1 a uint64 would wrap to a negative int64 (a time before 1970): out of range
        raw = numbers.to_numpy(dtype=np.uint64, na_value=0)
        beyond = raw > np.uint64(np.iinfo(np.int64).max)
        ns, far = _scaled(np.where(beyond, 0, raw).astype(np.int64), missing | beyond, scale)
        return ns, far | (beyond & ~missing)
    if pd.api.types.is_integer_dtype(numbers.dtype):
        return _scaled(numbers.to_numpy(dtype=np.int64, na_value=0), missing, scale)
    floats = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore", over="ignore"):
        far = ~missing & ~(np.abs(floats) * scale < _FLOAT_NS_LIMIT)       # also +-inf
    if far.any():
        floats = np.where(far, np.nan, floats)
    finite = floats[~np.isnan(floats)]
    if len(finite) and not np.mod(finite, 1).any() and np.abs(finite).max() >= 2**53:
        ns, _ = _scaled(np.nan_to_num(floats, nan=0).astype(np.int64), np.isnan(floats), scale)
        return ns, far
    ts = pd.to_datetime(pd.Series(floats, index=numbers.index), unit=unit, utc=True, errors="coerce")
    ns, _ = _as_ns(ts)
    return ns, far


_FLOAT_NS_LIMIT = float(2**63 - 2**11)   # the largest float64 below 2**63: a float ns that fits in int64


def _from_text(text: pd.Series, tz: str) -> tuple[pd.Series, np.ndarray | None]:
    """ISO-8601 first (fast), then any format pandas knows; naive times are in ``tz``. The times
    may be of any resolution (:func:`_as_ns` makes them nanoseconds); with them, the naive ones
    set aside as out of range before localizing (None when there was nothing to localize)."""
    ts = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    retry = ts.isna() & text.notna()
    if retry.any():
        again = pd.to_datetime(text[retry], utc=True, format="mixed", errors="coerce")
        ts = _merged(ts, retry, again)
    if tz != "UTC":
        naive = text.notna() & ~text.str.contains(_OFFSET, na=False)
        if naive.any():
            local = pd.to_datetime(text[naive], format="mixed", errors="coerce")
            if not isinstance(local.dtype, pd.DatetimeTZDtype):
                far = _local_far(local)
                ts = _merged(ts, naive, localize(local.where(~far) if far.any() else local, tz))
                early = np.zeros(len(text), dtype=bool)
                early[np.flatnonzero(naive.to_numpy())[far]] = True
                return ts, early
    return ts, None


def _merged(ts: pd.Series, where: pd.Series, values: pd.Series) -> pd.Series:
    """``ts`` with ``values`` at ``where``, in the finer of the two resolutions (pandas picks a
    resolution per parse: seconds for one set of strings, nanoseconds for another)."""
    units = ("s", "ms", "us", "ns")
    finer = max(getattr(ts.dtype, "unit", "ns"), getattr(values.dtype, "unit", "ns"), key=units.index)
    ts = ts.astype(f"datetime64[{finer}, UTC]") if ts.dtype.unit != finer else ts.copy()
    ts[where] = values.astype(f"datetime64[{finer}, UTC]")
    return ts


_LOCAL_MARGIN_NS = 2 * 86_400 * 10**9     # more than any zone's offset from UTC


def _local_far(naive: pd.Series) -> np.ndarray:
    """Naive times too far outside datetime64[ns] for any zone's offset to bring them in: set
    aside before localizing, which fails outside Python's datetime (years 1-9999) for some zones."""
    unit = getattr(naive.dtype, "unit", "ns")
    ints = naive.array.asi8
    scale = _NS_PER[unit]
    margin = _LOCAL_MARGIN_NS // scale
    return (ints != _NAT) & ((ints < -(NS_MAX // scale) - margin) | (ints > NS_MAX // scale + margin))


def localize(naive: pd.Series, tz: str) -> pd.Series:
    """Rule 1.3: a repeated autumn hour is read as its first (summer-time) occurrence."""
    first = np.ones(len(naive), dtype=bool)
    return naive.dt.tz_localize(tz, ambiguous=first, nonexistent="shift_forward").dt.tz_convert("UTC")


def _epoch_unit(numbers: pd.Series) -> str:
    """docs/semantics.md rule 1.3: the unit follows from the column's median magnitude, so that a
    few odd values (one millisecond value among seconds) cannot change it: they are then out
    of range and dropped (1.5), not read in another unit than their column."""
    typical = float(numbers.abs().median()) if numbers.notna().any() else 0.0
    for limit, unit in ((1e11, "s"), (1e14, "ms"), (1e17, "us")):
        if typical < limit:
            return unit
    return "ns"
