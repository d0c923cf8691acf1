"""The funnel and micro-conversions from event names and their counts: e-commerce stages by name
(:data:`.signatures.STAGES`), secondary conversions by their words, and the most frequent events
when no stage names are found, so that every log gets a funnel to start from.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from .model import EventCount, GuessedConversion
from .signatures import MACRO_STAGE, SECONDARY_WORDS, STAGES, VETO_WORDS, normalize_event_name, squash

MAX_SECONDARY = 15


def guess_conversions(counts: Sequence[EventCount] | Sequence[tuple[str, int]]
                      ) -> tuple[list[GuessedConversion], list[GuessedConversion], bool]:
    """(funnel steps, other conversions, from_frequency) for event names with their counts.

    Steps follow STAGES (product view -> cart -> checkout -> shipping -> payment -> purchase),
    each taken only when an event of it occurs; a purchase-like last step is the macro goal.
    With fewer than two stages found, the funnel is the two or three most frequent events.
    """
    pairs = [(c.name, c.rows) if isinstance(c, EventCount) else (str(c[0]), int(c[1])) for c in counts]
    pairs = sorted(pairs, key=lambda p: (-p[1], p[0]))
    rows = dict(pairs)
    used: set[str] = set()
    stages: list[GuessedConversion] = []
    for name, what, tiers in STAGES:
        for tier in tiers:
            hits = [e for e, _ in pairs if e not in used and any(re.fullmatch(p, squash(e)) for p in tier)]
            if hits:
                used.update(hits)
                kind = "macro" if name == MACRO_STAGE else "milestone"
                stages.append(GuessedConversion(name, kind, tuple(hits), what))
                break
    secondary = []
    taken_names = {c.name for c in stages}
    for event, _ in pairs:
        if event in used or not _is_secondary(event):
            continue
        secondary.append(GuessedConversion(_unique_name(event, taken_names), "secondary", (event,),
                                           "named like a micro-conversion"))
        used.add(event)
        if len(secondary) >= MAX_SECONDARY:
            break
    if len(stages) >= 2:
        return stages, secondary, False
    # No funnel from names: the most frequent events, in order of frequency.
    by_event = {c.events[0]: c for c in stages + secondary if len(c.events) == 1}
    top = [e for e, _ in pairs][:3 if len(pairs) >= 3 else 2]
    steps = []
    for event in top:
        conv = by_event.get(event)
        if conv is None:
            conv = GuessedConversion(_unique_name(event, taken_names), "milestone", (event,),
                                     f"one of the most frequent events ({rows[event]:,} rows)")
            by_event[event] = conv
        steps.append(conv)
    in_steps = {c.name for c in steps}
    others = [c for c in stages + secondary if c.name not in in_steps]
    return steps, others, True


def _words(name: str) -> list[str]:
    return [w for w in normalize_event_name(name).split("_") if w]


def _is_secondary(event: str) -> bool:
    words = _words(event)
    if any(w in VETO_WORDS for w in words):
        return False
    pairs = [a + b for a, b in zip(words, words[1:])]
    return any(w in SECONDARY_WORDS for w in words + pairs)


def _unique_name(event: str, taken: set[str]) -> str:
    base = normalize_event_name(event) or "event"
    if not re.match(r"[a-z_]", base):
        base = f"event_{base}"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name
