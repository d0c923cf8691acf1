"""Breached alerts as plain lines (for mail) or JSON (for a webhook); deterministic for the same input."""
from __future__ import annotations

import math

from ..reports.alerts import AlertOutcome
from .escape import json_text, terminal


def render_alerts(breached: list[AlertOutcome], fmt: str = "text") -> str:
    if fmt == "json":
        doc = [{"name": o.alert.name, "funnel": o.alert.funnel, "conversion": o.alert.conversion,
                "subject": o.subject, "metric": o.alert.metric, "value": _number(o.value),
                "baseline": _number(o.baseline), "reasons": list(o.reasons)} for o in breached]
        return json_text({"breached": doc}, ensure_ascii=False) + "\n"
    return "".join(f"ALERT {terminal(o)}\n" for o in breached)


def _number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value
