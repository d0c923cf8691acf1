"""An explanation as a plain-text trace (a person follows it top to bottom) or JSON."""
from __future__ import annotations

import pandas as pd

from ..engine.replay import Stop
from ..reports.explain import AttemptTrace, Explanation, FunnelTrace, UnitTrace
from .escape import json_text, terminal
from .format import duration


def render_explain_text(ex: Explanation) -> str:
    """The trace; user ids, labels and event names go through ``terminal`` at the end, so control
    characters in them are shown (``\\x07``), never sent to the terminal."""
    ev = ex.events
    span = f"{_t(ev['ts'].iloc[0])} to {_t(ev['ts'].iloc[-1])}" if len(ev) else "no events"
    out = [f"user {ex.user}: {len(ev):,} events, {span} (data ends {_t(ex.last_ts)})"]
    for f in ex.funnels:
        out.append("")
        settings = [f"order {f.order}", f"window {duration(f.window_seconds)}"]
        out.append(f"{f.label}  ({', '.join(settings)}; steps: {' > '.join(f.step_names)})")
        for unit in f.units:
            out += _unit(ex, f, unit)
    return "".join(terminal(line) + "\n" for line in out)


def _unit(ex: Explanation, f: FunnelTrace, unit: UnitTrace) -> list[str]:
    prefix = f"  {unit.unit}: " if unit.unit != ex.user else "  "
    out = [prefix + "verdict: " + verdict(ex, f, unit)]
    marks: dict[int, str] = {}
    for n, a in enumerate(unit.attempts, 1):
        if not a.counted:
            marks[a.rows[0]] = f"○ step 1, attempt {n}: reached {a.reached}" + (" (excluded)" if a.spoiled else "")
    counted = next((a for a in unit.attempts if a.counted), None)
    if counted is not None:
        for row, step in zip(counted.rows, counted.steps):
            marks[row] = f"● step {step} {f.step_names[step - 1]!r}"
        if counted.stop_row is not None:
            marks[counted.stop_row] = f"✗ {_stop_word(counted.stop)}"
    rows = [row for row in ex.events.index if row in marks] if len(ex.events) > 40 else list(ex.events.index)
    if len(rows) < len(ex.events):
        out.append(f"    (showing the {len(rows)} marked of {len(ex.events):,} events)")
    for row in rows:
        event = ex.events.loc[row]
        out.append(f"    {_t(event['ts'])}  {str(event['event']):<24} {marks.get(row, '')}".rstrip())
    if len(unit.attempts) > 1 and f.count == "totals":
        inside = len(unit.attempts) - 1
        out.append(f"    {inside} more attempt{'s' if inside > 1 else ''} started inside this one: not counted "
                   "(count: totals counts attempts one after another)")
    elif len(unit.attempts) > 1:
        per = "event of any step" if f.order == "unordered" else "step-1 event"
        out.append(f"    {len(unit.attempts)} attempts (one per {per}): reached "
                   + ", ".join(f"{a.reached}{' (excluded)' if a.spoiled else ''}" for a in unit.attempts)
                   + "; the earliest attempt that goes furthest is counted")
    return out


def verdict(ex: Explanation, f: FunnelTrace, unit: UnitTrace) -> str:
    """One sentence: where the unit was counted and why it went no further."""
    n = len(f.step_names)
    if not unit.entered:
        if f.order == "unordered":
            return "never entered: no event of any step (in the date range)"
        return f"never entered: no {f.step_names[0]!r} event (in the date range)"
    if unit.reached == 0:
        a = unit.attempts[0]
        return "excluded: an exclusion event spoiled every attempt" + (
            f" (first: {_event(ex, a.stop_row)})" if a.stop_row is not None else "")
    counted = next(a for a in unit.attempts if a.counted)
    head = f"reached step {unit.reached} of {n} ({f.step_names[unit.reached - 1]!r})"
    skipped = [s for s in range(1, unit.reached) if f.optional and f.optional[s - 1] and s not in counted.steps]
    if skipped:                         # 4.12: an optional step on the way that the attempt did not do
        head += ", skipping optional " + ", ".join(f"step {s} ({f.step_names[s - 1]!r})" for s in skipped)
    if unit.reached == n:
        return head + ", completed"
    if unit.in_progress:
        tail = "; left out by --mature-only" if unit.left_out else ""
        return head + "; in progress: an attempt's window is still open at the end of the data" + tail
    if f.open_windows == "dropped" and any(a.open and not a.spoiled for a in unit.attempts):
        return head + "; counted as dropped (open_windows: dropped), although an attempt's window is still open"
    return head + "; stopped: " + _why(ex, f, counted)


def _why(ex: Explanation, f: FunnelTrace, a: AttemptTrace) -> str:
    nxt = next(k for k in range(a.reached, len(f.step_names)) if not (f.optional and f.optional[k]))
    want = f.step_names[nxt] if f.order != "any" else "the remaining steps"   # (nxt: the step not reached)
    last = a.rows[a.steps.index(a.reached)] if f.order in ("ordered", "strict") else a.rows[-1]
    prev = ex.events.loc[last, "ts"]
    start = ex.events.loc[a.rows[0], "ts"]
    window = duration(f.window_seconds)
    if a.held_row is not None:
        first = _held(ex, f, a.rows[0])
        if None in first.values():
            return (f"step 1 has {_values(first)}: a missing held value matches no later step, so "
                    f"{_event(ex, a.held_row)} does not count (hold: {', '.join(f.hold)})")
        return (f"held property changed: {_event(ex, a.held_row)} has {_values(_held(ex, f, a.held_row))}, "
                f"step 1 had {_values(first)} (hold: {', '.join(f.hold)})")
    if a.stop == Stop.NO_MATCH:
        if f.order == "unordered":       # semantics 4.9.2: no more steps fillable in the window
            return (f"no event fills another step within the window ({window}) from the attempt's first "
                    f"event; one event fills one step")
        if f.order == "strict":
            return f"no event followed step {a.steps[-1]}"
        return f"no {want!r} event after step {a.reached} within the window ({window})"
    at = ex.events.loc[a.stop_row, "ts"] if a.stop_row is not None else None
    if a.stop == Stop.WINDOW:
        if at is None:
            return f"the window ran out: {want} not done within {window} of step 1"
        return (f"the window ran out: the next {want!r} at {_t(at)} is {_dur(at - start)} after step 1 "
                f"(window {window})")
    if a.stop == Stop.WITHIN:
        return (f"{_event(ex, a.stop_row)} is {_dur(at - prev)} after step {a.reached}, over the "
                f"'within: {duration(f.within[nxt])}' limit of step {nxt + 1}")
    if a.stop == Stop.TOO_SOON:
        return (f"strict order: the next event {_event(ex, a.stop_row)} came {_dur(at - prev)} after "
                f"step {a.steps[-1]}, sooner than 'after: {duration(f.after[nxt])}'")
    if a.stop == Stop.STRICT_BREAK:
        return f"strict order: the next event after step {a.steps[-1]} was {_event(ex, a.stop_row)}, not {want!r}"
    return f"stopped ({a.stop.name})"


def _held(ex: Explanation, f: FunnelTrace, row: int) -> dict[str, str | None]:
    """The held properties' values of one event as written (None: missing)."""
    event = ex.events.loc[row]
    return {p: str(event[p]) if p in event.index and not pd.isna(event[p]) else None for p in f.hold}


def _values(values: dict[str, str | None]) -> str:
    return ", ".join(f"no {p}" if v is None else f"{p} = {v!r}" for p, v in values.items())


def _stop_word(stop: Stop) -> str:
    return {Stop.WINDOW: "outside the window", Stop.WITHIN: "over the 'within' limit",
            Stop.TOO_SOON: "sooner than 'after'", Stop.STRICT_BREAK: "breaks the strict sequence",
            Stop.EXCLUDED: "exclusion: spoils the attempt", Stop.HELD: "other held values"}.get(stop, stop.name.lower())


def _event(ex: Explanation, row: int | None) -> str:
    if row is None:
        return "an event"
    event = ex.events.loc[row]
    return f"{str(event['event'])!r} at {_t(event['ts'])}"


def _t(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S")


def _dur(delta: pd.Timedelta) -> str:
    return duration(delta.total_seconds())


def render_explain_json(ex: Explanation) -> str:
    doc = {
        "user": ex.user,
        "data_ends": ex.last_ts.isoformat(),
        "events": [{"row": int(row), "timestamp": e["ts"].isoformat(), "event": str(e["event"])}
                   for row, e in ex.events.iterrows()],
        "funnels": [{
            "name": f.name, "order": f.order, "window_seconds": f.window_seconds, "steps": list(f.step_names),
            "units": [{
                "unit": u.unit, "entered": u.entered, "reached": u.reached, "in_progress": u.in_progress,
                "verdict": verdict(ex, f, u),
                "attempts": [{"rows": list(a.rows), "steps": list(a.steps), "reached": a.reached,
                              "stop": a.stop.name.lower(), "stop_row": a.stop_row, "excluded": a.spoiled,
                              "open": a.open, "counted": a.counted} for a in u.attempts],
            } for u in f.units],
        } for f in ex.funnels],
    }
    return json_text(doc) + "\n"
