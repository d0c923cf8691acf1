"""What every section of the config is built from: a strict, frozen base model and the value
types that several sections share (names, scalars, durations).

A module of its own so that the sections (model.py, alerts.py) can each import it without
importing one another.
"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*(ms|s|m|h|d|w)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_LONGEST = timedelta.max.total_seconds()    # 2.7 million years: far beyond any two timestamps (1677-2262)


def parse_duration(value: Any) -> timedelta:
    """``"7d"``, ``"1h30m"``, ``"500ms"``, ``"1e9d"`` or a number of seconds. Durations of any size
    are valid: one longer than timedelta's maximum is that maximum, unbounded in effect (every
    span of timestamps fits in it, semantics 1.5)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration like '7d', '30m', '1h30m' or a number of seconds")
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} is not a duration; expected a finite number of seconds "
                             "or a number with a unit, e.g. '7d', '30m', '1h30m'")
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return _clamped(value)
    text = str(value).strip().replace(" ", "")
    parts = _DURATION_PART.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(
            f"{value!r} is not a duration; expected a number with a unit "
            "(ms, s, m, h, d, w), e.g. '7d', '30m', '1h30m'"
        )
    return _clamped(sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))


def _clamped(seconds: float) -> timedelta:
    """``seconds`` (>= 0; inf from digits too many for a float) as a timedelta, at most its maximum
    (a second short of it is the maximum too: microsecond rounding could pass it)."""
    return timedelta.max if seconds >= _LONGEST - 1 else timedelta(seconds=seconds)


def duration_text(duration: timedelta) -> str:
    """The inverse of parse_duration, for messages: ``1h30m``, ``45s``."""
    rest, parts = duration.total_seconds(), []
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        if rest >= size:
            count = int(rest // size) if unit != "s" else rest
            parts.append(f"{count:g}{unit}")
            rest -= count * size
    return "".join(parts) or "0s"


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Names = Annotated[list[str], BeforeValidator(_as_list), Field(min_length=1)]


class Constant(BaseModel):
    """A value for every row of a file that has no column for it (``{constant: page_view}``):
    a Segment ``pages`` table has no event column, its ``tracks`` table does."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    constant: Annotated[str, Field(min_length=1)]

    def __str__(self) -> str:
        return f"{{constant: {self.constant}}}"


NamesOrConstant = Annotated[list[str | Constant], BeforeValidator(_as_list), Field(min_length=1)]
Scalar = str | int | float | bool


def _named(name: str) -> str:
    if not name.strip():
        raise ValueError("a name cannot be empty")
    return name


Name = Annotated[str, AfterValidator(_named)]    # a key naming a conversion, funnel or property


class StrictModel(BaseModel):
    """An unknown key is an error (with a did-you-mean) rather than ignored; a parsed config never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
