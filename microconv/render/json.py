"""One JSON document: funnels with their steps, plus run metadata and warnings."""
from __future__ import annotations

import json
import math

from ..results import AnalysisResult


def _clean(value):
    """NaN and infinity have no JSON spelling: null (an infinite lift is explained by its rates)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def render_json(result: AnalysisResult) -> str:
    frame = result.steps_frame()
    funnels = []
    for f in result.funnels:
        steps = frame[frame["funnel"] == f.name].drop(columns="funnel").to_dict("records")
        funnels.append({
            "name": f.name,
            "label": f.label,
            "window_seconds": f.window_seconds,
            "order": f.order,
            "unit": f.unit,
            "entrants": f.entrants,
            "excluded": f.excluded,
            "in_progress": f.in_progress,
            "revenue": f.revenue,
            "revenue_per_entrant": f.revenue_per_entrant,
            "largest_drop_step": f.largest_drop_step,
            "steps": [{k: _clean(v) for k, v in row.items()} for row in steps],
        })
    meta = result.meta
    micro = result.micro
    doc = {
        "funnels": funnels,
        "micro": None if micro is None else {
            "macro": micro.macro,
            "users": micro.users,
            "converters": micro.converters,
            "average_value": micro.average_value,
            "conversions": [{k: _clean(v) for k, v in row.items()} for row in micro.rows.to_dict("records")],
        },
        "meta": {
            "sources": list(meta.sources),
            "events": meta.events,
            "users": meta.users,
            "first_timestamp": meta.first_ts.isoformat() if meta.first_ts is not None else None,
            "last_timestamp": meta.last_ts.isoformat() if meta.last_ts is not None else None,
        },
        "warnings": [str(w) for w in result.warnings],
        "data_quality": list(result.quality_notes),
    }
    return json.dumps(doc, indent=2, default=_default) + "\n"


def _default(value):
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot serialise {type(value).__name__}")
