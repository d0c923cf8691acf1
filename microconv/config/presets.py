"""``counting: posthog | mixpanel | amplitude | clickhouse | microconv``: the rules where funnel tools
differ, set the way one tool sets them (docs/semantics.md 6.1).

People compare microconv's numbers with the tool they already use. A preset is only a set of
defaults for the funnel options that encode those rules, filled in before the config is
validated: what the user writes in a funnel still wins, and every rule a preset sets is an option
of its own, so a number is always explained by options the docs define. Rules no microconv option
reproduces (a tie grace period, re-anchoring to the latest step-1 event, ...) are listed in the
docs' table, not approximated here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Counting = Literal["microconv", "posthog", "mixpanel", "amplitude", "clickhouse"]


@dataclass(frozen=True)
class Preset:
    entry: str                 # which step-1 events start attempts (4.5)
    any_order: str             # what `order: any` means: any (step 1 first, 4.2) or unordered (4.9)
    open_windows: str          # units still inside their window: in_progress (4.8) or dropped (4.13)
    attribution: str           # a breakdown's default attribution (8.2.1)


PRESETS: dict[str, Preset] = {
    "microconv": Preset("best_attempt", "any", "in_progress", "first_touch"),
    "posthog": Preset("best_attempt", "unordered", "dropped", "first_defined"),
    "mixpanel": Preset("first", "any", "dropped", "first_defined"),
    "amplitude": Preset("best_attempt", "any", "dropped", "first_touch"),
    "clickhouse": Preset("best_attempt", "any", "dropped", "first_touch"),
}


def apply_presets(data: Any) -> Any:
    """The raw config with each funnel's preset (its own ``counting:``, else the top level's, else
    microconv) filled in where the funnel leaves a rule unset; ``order: any`` becomes the preset's
    any order. Unknown presets are left for the schema to report."""
    if not isinstance(data, dict) or not isinstance(data.get("funnels"), dict):
        return data
    top = data.get("counting", "microconv")
    funnels = {}
    for name, funnel in data["funnels"].items():
        chosen = funnel.get("counting", top) if isinstance(funnel, dict) else None
        preset = PRESETS.get(chosen) if isinstance(chosen, str) else None     # (others: the schema's error)
        if preset is None:
            funnels[name] = funnel
            continue
        entry = {} if funnel.get("count") == "totals" else {"entry": preset.entry}   # totals re-enter (6.1)
        funnel = {**entry, "open_windows": preset.open_windows, **funnel}
        if funnel.get("order") == "any":
            funnel["order"] = preset.any_order
        split = funnel.get("breakdown")
        if isinstance(split, dict) and "attribution" not in split:
            funnel["breakdown"] = {**split, "attribution": preset.attribution}
        elif isinstance(split, (str, list)):
            funnel["breakdown"] = {"by": split, "attribution": preset.attribution}
        funnel["counting"] = funnel.get("counting", top)
        funnels[name] = funnel
    return {**data, "funnels": funnels}
