"""The ``alerts:`` section: which metric of a funnel step or micro-conversion to watch, and its
limits (docs/semantics.md 10); reports/alerts.py checks them against a run.
"""
from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, model_validator

from .base import StrictModel

_CHANGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(pp|%)?\s*$")


def parse_change(value: Any) -> tuple[float, str]:
    """``5pp`` (percentage points of a rate), ``10%`` (relative) or a number (in the metric's unit)."""
    if isinstance(value, bool):
        raise ValueError("expected a change like '5pp', '10%' or a number")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("a change cannot be negative; use 'drop' or 'rise'")
        return float(value), ""
    match = _CHANGE.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a change; expected e.g. '5pp' (points), '10%' (relative) or a number")
    return float(match.group(1)), match.group(2) or ""


Change = Annotated[tuple[float, str], BeforeValidator(parse_change)]


class Limit(StrictModel):
    """Bounds on a metric: ``min``/``max`` on this run's value, ``drop``/``rise`` against ``--baseline``."""

    min: float | None = None
    max: float | None = None
    drop: Change | None = None
    rise: Change | None = None

    @model_validator(mode="after")
    def _something(self) -> Limit:
        if not self.model_fields_set:
            raise ValueError("a limit needs min, max, drop and/or rise, e.g. {min: 0.35} or {drop: 5pp}")
        return self


FUNNEL_METRICS = ("users", "rate_from_start", "rate_from_previous", "dropped", "median_seconds_from_previous")
CONVERSION_METRICS = ("users", "share", "macro_rate_with", "lift")
RATE_METRICS = ("rate_from_start", "rate_from_previous", "share", "macro_rate_with")


class Alert(StrictModel):
    """One metric of a funnel step or of a micro-conversion, and its limit (docs/semantics.md 10)."""

    name: str | None = None
    funnel: str | None = None
    conversion: str | None = None
    step: str | int | None = None
    users: Limit | None = None
    rate_from_start: Limit | None = None
    rate_from_previous: Limit | None = None
    dropped: Limit | None = None
    median_seconds_from_previous: Limit | None = None
    share: Limit | None = None
    macro_rate_with: Limit | None = None
    lift: Limit | None = None

    @model_validator(mode="after")
    def _one_target_one_metric(self) -> Alert:
        if (self.funnel is None) == (self.conversion is None):
            raise ValueError("an alert watches either a 'funnel' (with an optional 'step') or a 'conversion'")
        if self.conversion is not None and self.step is not None:
            raise ValueError("'step' belongs to funnel alerts")
        allowed = FUNNEL_METRICS if self.funnel is not None else CONVERSION_METRICS
        given = [m for m in dict.fromkeys(FUNNEL_METRICS + CONVERSION_METRICS) if getattr(self, m) is not None]
        if len(given) != 1 or given[0] not in allowed:
            what = "funnel" if self.funnel is not None else "conversion"
            raise ValueError(f"a {what} alert needs exactly one metric of: {', '.join(allowed)}"
                             + (f" (got {', '.join(given)})" if given else ""))
        changes = [c for c in (self.limit.drop, self.limit.rise) if c is not None]
        if any(unit == "pp" for _, unit in changes) and given[0] not in RATE_METRICS:
            raise ValueError(f"'pp' (percentage points) is for rates; {given[0]} takes a number or a relative '10%'")
        return self

    @property
    def metric(self) -> str:
        return next(m for m in dict.fromkeys(FUNNEL_METRICS + CONVERSION_METRICS) if getattr(self, m) is not None)

    @property
    def limit(self) -> Limit:
        return getattr(self, self.metric)

