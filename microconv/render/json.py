"""One JSON document: funnels with their steps, time to convert, breakdown and trend, the
micro-conversion report, run metadata and warnings."""
from __future__ import annotations

from ..reports.results import (MICRO_OVERALL_ONLY, MICRO_PERIOD_ONLY, MICRO_SEGMENT_ONLY, AnalysisResult, BreakdownResult,
                               TrendResult)
from .escape import json_text


def render_json(result: AnalysisResult) -> str:
    funnels = []
    for reports in result.per_funnel:
        f = reports.steps
        entry = {"name": reports.name}
        if f is not None:
            entry.update({
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
                "steps": _records(f.to_frame().drop(columns="funnel")),
                **({"optional_steps": list(f.optional)} if f.optional else {}),
            })
        entry.update({
            "time_to_convert": _records(reports.time.frame.drop(columns="funnel")) if reports.time else None,
            "breakdown": _breakdown(reports.breakdown),
            "trend": _trend(reports.trend),
        })
        funnels.append(entry)
    meta = result.meta
    micro = result.micro
    doc = {
        "funnels": funnels,
        "micro": None if micro is None else {
            "macro": micro.macro,
            "users": micro.users,
            "converters": micro.converters,
            "average_value": micro.average_value,
            "model_note": micro.model_note,
            "conversions": _records(micro.rows.drop(columns=[*MICRO_SEGMENT_ONLY, *MICRO_PERIOD_ONLY])),
            **({"by": micro.by, "control": micro.control, "segment_note": micro.segment_note,
                "segments": _records(micro.segments.drop(columns=[*MICRO_OVERALL_ONLY, *MICRO_PERIOD_ONLY]))}
               if micro.segments is not None else {}),
            **({"period": micro.period,
                "periods": _records(micro.periods.drop(columns=[*MICRO_OVERALL_ONLY, *MICRO_SEGMENT_ONLY]))}
               if micro.periods is not None else {}),
        },
        "meta": {
            "sources": list(meta.sources),
            "events": meta.events,
            "users": meta.users,
            "first_timestamp": meta.first_ts.isoformat() if meta.first_ts is not None else None,
            "last_timestamp": meta.last_ts.isoformat() if meta.last_ts is not None else None,
            "title": meta.title,          # the config's title: (else its file's name), as the HTML report's
            "currency": meta.currency,    # ISO 4217 code of every money figure (null: plain numbers)
        },
        "warnings": [str(w) for w in result.warnings],
        "data_quality": list(result.quality_notes),
    }
    # NaN and infinity have no JSON spelling: null (an infinite lift is explained by its rates).
    return json_text(doc, default=_default) + "\n"


def _records(frame) -> list[dict]:
    return frame.to_dict("records")


def _breakdown(b: BreakdownResult | None) -> dict | None:
    """Segments with their steps nested: {"by", "attribution", "top", "missing_share", "segments": [...]}.
    With several properties also "properties" and per segment "values" (null when pooled), so a
    reader need not split the joined label."""
    if b is None:
        return None
    steps = b.steps.drop(columns=["funnel", "by", "attribution"])
    several = len(b.properties) > 1
    segments = []
    for k, row in enumerate(_records(b.segments.drop(columns=["funnel", "by", "attribution"]))):
        rows = steps[steps["segment"] == row["segment"]].drop(columns="segment")
        values = {"values": None if b.values[k] is None else list(b.values[k])} if several else {}
        segments.append({**row, **values, "steps": _records(rows)})
    return {"by": b.by, **({"properties": list(b.properties)} if several else {}), "attribution": b.attribution,
            "top": b.top, "unit": b.unit, "missing_share": b.missing_share, "segments": segments}


def _trend(t: TrendResult | None) -> dict | None:
    """Cohorts with their steps nested: {"period", "cohorts": [{"period", "open", "steps": [...]}]}."""
    if t is None:
        return None
    frame = t.frame.drop(columns="funnel")
    cohorts = [{"period": period, "open": bool(rows["open"].iloc[0]),
                "steps": _records(rows.drop(columns=["period", "open"]))}
               for period, rows in frame.groupby("period", sort=False)]
    return {"period": t.period, "unit": t.unit, "cohorts": cohorts}


def _default(value):
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot serialise {type(value).__name__}")
