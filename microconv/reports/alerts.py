"""Alerts: limits on funnel and micro-conversion metrics, checked after a run (docs/semantics.md 10).

``microconv check`` is meant for cron: the same input gives byte-identical output, and the exit
code alone says whether anything broke.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..config import Config
from ..config.alerts import RATE_METRICS, Alert
from ..errors import DataError
from ..render.format import pct, percent_digits
from .results import AnalysisResult


@dataclass(frozen=True)
class Baseline:
    """The numbers of an earlier run: its funnel steps and micro-conversion rows (either may be empty)."""

    steps: pd.DataFrame
    micro: pd.DataFrame
    source: str


@dataclass(frozen=True)
class AlertOutcome:
    alert: Alert
    subject: str              # "checkout step 4 'purchase'" or "conversion 'newsletter'"
    value: float
    baseline: float | None
    breached: bool
    reasons: tuple[str, ...]  # why it is breached (empty when not)
    unchecked: bool = False   # a drop/rise limit without a baseline value to compare with

    def __str__(self) -> str:
        label = f"[{self.alert.name}] " if self.alert.name else ""
        return f"{label}{self.subject} {self.alert.metric} = {_show(self.alert.metric, self.value)}: " + "; ".join(self.reasons)


def evaluate(config: Config, result: AnalysisResult, baseline: Baseline | None = None) -> list[AlertOutcome]:
    """Every alert of ``config`` against ``result``, in config order."""
    return [_evaluate(config, alert, result, baseline) for alert in config.alerts]


def alert_funnels(config: Config) -> list[str]:
    """The funnels the alerts watch, in config order."""
    return list(dict.fromkeys(a.funnel for a in config.alerts if a.funnel))


def _evaluate(config: Config, alert: Alert, result: AnalysisResult, baseline: Baseline | None) -> AlertOutcome:
    metric = alert.metric
    if alert.funnel is not None:
        funnel = config.funnels[alert.funnel]
        index = len(funnel.steps) - 1 if alert.step is None else funnel.step_index(alert.step)
        row = result.funnel(alert.funnel).steps[index]
        subject = f"{alert.funnel} step {row.step} {row.name!r}"
        value = float(getattr(row, metric))
        before = _baseline_value(baseline.steps if baseline else None, ("funnel", alert.funnel), ("step", row.step),
                                 metric)
    else:
        rows = result.micro.rows.set_index("conversion") if result.micro is not None else pd.DataFrame()
        subject = f"conversion {alert.conversion!r}"
        value = float(rows.loc[alert.conversion, metric]) if alert.conversion in rows.index else math.nan
        before = _baseline_value(baseline.micro if baseline else None, ("conversion", alert.conversion), None, metric)
    limit, reasons = alert.limit, []
    if math.isnan(value):
        reasons.append("no value (nobody to compute it over)")
    else:
        if limit.min is not None and value < limit.min:
            reasons.append(f"below min {_show(metric, limit.min)}")
        if limit.max is not None and value > limit.max:
            reasons.append(f"above max {_show(metric, limit.max)}")
    unchecked = (limit.drop or limit.rise) is not None and (before is None or math.isnan(before))
    if not unchecked and not math.isnan(value):
        for word, change, sign in (("dropped", limit.drop, -1), ("rose", limit.rise, 1)):
            if change is None:
                continue
            moved = (value - before) * sign
            amount, unit = change
            size = moved * 100 if unit == "pp" else (moved / abs(before) * 100 if unit == "%" else moved)
            if unit == "%" and before == 0:
                size = math.inf if moved > 0 else 0.0
            if size >= amount and moved > 0:
                reasons.append(f"{word} {_change(metric, moved, before, unit)} from {_show(metric, before)} "
                               f"(baseline), limit {amount:g}{unit}")
    return AlertOutcome(alert, subject, value, before, bool(reasons), tuple(reasons), unchecked)


def _baseline_value(frame: pd.DataFrame | None, key: tuple[str, str], step: tuple[str, int] | None,
                    metric: str) -> float | None:
    if frame is None or frame.empty or metric not in frame.columns or key[0] not in frame.columns:
        return None
    hit = frame[frame[key[0]].astype(str) == key[1]]
    if step is not None and "step" in hit.columns:
        hit = hit[pd.to_numeric(hit["step"], errors="coerce") == step[1]]
    if hit.empty:
        return None
    value = pd.to_numeric(hit[metric], errors="coerce").iloc[0]
    return None if pd.isna(value) else float(value)


def _show(metric: str, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "none"
    if metric in RATE_METRICS:
        return pct(value)
    if metric == "lift":
        return "∞" if math.isinf(value) else f"{value:.2f}×"
    if metric == "median_seconds_from_previous":
        return f"{value:.0f}s"
    return f"{value:,.0f}"


def _change(metric: str, moved: float, before: float, unit: str) -> str:
    if unit == "pp" or (not unit and metric in RATE_METRICS):
        return f"{percent_digits(moved)}pp"
    if unit == "%":
        return f"{moved / abs(before) * 100:.1f}%" if before else "∞%"
    return _show(metric, moved)


def _read_report_dir(path: Path, attempts: int = 2) -> tuple[dict[str, pd.DataFrame], bool]:
    """The funnels and micro tables of an ``--output-dir``, read as one set: through one handle on
    the directory (a later run swaps a whole new directory in, which the handle does not follow)
    and checked against its manifest's sha256, so a set the manifest does not describe is an error
    rather than a silent mix. A run swapping its set in while this reads (and deleting the old one)
    makes the check fail (or finds the old set already deleted); the read is then tried again on
    the new set. Also says whether the
    set was written with ``--csv-raw`` (its names then are as they were, no quote to undo)."""
    import hashlib
    from io import BytesIO

    def read(dir_fd: int, name: str) -> bytes | None:
        try:
            with open(name, "rb", opener=lambda p, flags: os.open(p, flags, dir_fd=dir_fd)) as fh:
                return fh.read()
        except FileNotFoundError:
            return None

    dir_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        manifest = read(dir_fd, "manifest.json")
        try:
            doc = json.loads(manifest) if manifest is not None else None
            listed = doc["tables"] if doc is not None else None
            raw = bool(doc is not None and (doc.get("options") or {}).get("csv_raw"))
            sums = None if listed is None else {name: str(table["sha256"]) for name, table in listed.items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            raise DataError("the baseline directory's manifest.json is not microconv's", where=str(path),
                            hint="pass the --output-dir of an earlier run, or its -f json / -f csv output") from None
        parts = {}
        for name in ("funnels", "micro"):
            listed_here = sums is None or name in sums          # a table not listed is not of this set
            data = read(dir_fd, f"{name}.csv") if listed_here else None
            if sums is not None and listed_here and (data is None or hashlib.sha256(data).hexdigest() != sums[name]):
                if attempts > 1:
                    return _read_report_dir(path, attempts - 1)
                raise DataError(f"{name}.csv is not the file its manifest.json describes (an interrupted run "
                                "of an older microconv, or an edit?)", where=str(path),
                                hint="re-run with --output-dir to write the set again, or pass another baseline")
            parts[name] = pd.read_csv(BytesIO(data)) if data else pd.DataFrame()
        if manifest is None and all(p.empty for p in parts.values()) and attempts > 1:
            # everything gone from under the handle: a run swapped its set in and deleted this one
            # before the manifest was read; read the new set
            return _read_report_dir(path, attempts - 1)
        return parts, raw
    finally:
        os.close(dir_fd)


def load_baseline(path: str | Path) -> Baseline:
    """An earlier run's output: ``analyze -f json``, a ``-f csv`` (funnels or micro table), or an
    ``--output-dir`` directory (its funnels.csv and micro.csv).

    Raises:
        DataError: the file is missing or is none of these.
    """
    from ..render.escape import csv_read_back   # names written as '=x (formula-safe CSV) are =x again

    path = Path(path)
    empty = pd.DataFrame()
    try:
        if path.is_dir():
            parts, raw = _read_report_dir(path)
            if parts["funnels"].empty and parts["micro"].empty:
                raise DataError("the baseline directory has neither funnels.csv nor micro.csv", where=str(path),
                                hint="pass the --output-dir of an earlier run, or its -f json / -f csv output")
            back = (lambda frame: frame) if raw else csv_read_back
            return Baseline(back(parts["funnels"]), back(parts["micro"]), str(path))
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError("baseline file not found", where=str(path)) from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read the baseline: {exc}", where=str(path)) from None
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
            steps = pd.DataFrame([{"funnel": f["name"], **s} for f in doc.get("funnels", []) for s in f["steps"]])
            micro = pd.DataFrame((doc.get("micro") or {}).get("conversions", []))
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"the baseline is not microconv JSON output ({exc})", where=str(path)) from None
        return Baseline(steps, micro, str(path))
    from io import StringIO

    try:
        frame = csv_read_back(pd.read_csv(StringIO(text)))
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"the baseline is neither microconv JSON nor CSV ({exc})", where=str(path)) from None
    if {"funnel", "step"} <= set(frame.columns) and "segment" not in frame.columns and "period" not in frame.columns:
        return Baseline(frame, empty, str(path))
    if "conversion" in frame.columns:
        return Baseline(empty, frame, str(path))
    raise DataError("the baseline CSV is neither a funnels table nor a micro table", where=str(path),
                    hint="use the output of `analyze -f csv` (--report funnels or micro) or `-f json`")
