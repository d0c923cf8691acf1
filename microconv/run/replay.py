"""A funnel of the config replayed: its masks and nanoseconds (the engine's ``FunnelPlan``) made
from the config and the run's event index, then the engine's replay over the index's units."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import Config, Funnel
from ..engine.clock import duration_ns
from ..engine.conversions import EventIndex
from ..engine.funnel import FunnelPlan, Replay, replay
from ..engine.hold import MISSING
from ..engine.matching import match_mask
from ..reports.breakdown import value_codes


def replay_funnel(config: Config, frame: pd.DataFrame, name: str, *, index: EventIndex | None = None,
                  last_ts: int | None = None, entry_range: tuple[int | None, int | None] = (None, None),
                  mature_only: bool = False, share_sort: bool = False, threads: int = 1) -> Replay:
    """Every attempt of one funnel (what ``explain`` shows); ``last_ts`` defaults to the frame's last event.
    ``share_sort``: take the funnel's events from the index's one sort of every event (worth it when
    several funnels are replayed) rather than sorting them on their own. ``threads``: replay in
    that many threads, each over a run of whole units."""
    funnel = config.funnels[name]
    if last_ts is None:
        last_ts = int(frame["ts"].to_numpy(dtype="datetime64[ns]").view("int64").max()) if len(frame) else 0
    index = index or EventIndex(config, frame, last_ts)

    def mask(item) -> np.ndarray:
        return index.mask(item.ref) if item.ref else match_mask(frame, item)

    plan = FunnelPlan(
        masks=[mask(s) for s in funnel.steps],
        window=duration_ns(funnel.window),
        order=funnel.order,
        entry=funnel.entry,
        within=[duration_ns(s.within) for s in funnel.steps],
        after=[duration_ns(s.after) for s in funnel.steps],
        exclusions=[(mask(x), *funnel.exclusion_bounds(x)) for x in funnel.exclude],
        entry_range=entry_range,
        mature_only=mature_only,
        value=_values(config, index, funnel),
        totals=funnel.count == "totals",
        hold=held_codes(frame, funnel.hold) if funnel.hold else None,
        optional=[s.optional for s in funnel.steps],
        open_windows=funnel.open_windows,
    )
    units = index.units(funnel.count)
    shared = funnel.order == "strict" or (share_sort and units.nests)
    return replay(frame, plan, units, index.last_ts, index.sorted_for(units) if shared else None, threads=threads)


def held_codes(frame: pd.DataFrame, properties: tuple[str, ...]) -> np.ndarray:
    """Per frame row, one code per distinct combination of the properties' value texts (values
    compare as a breakdown's do, 8.2.2: ``3`` and ``3.0`` are one value), ``MISSING`` when any is
    missing (4.11.2)."""
    combined = None
    for prop in properties:
        code = value_codes(frame[prop])[0].astype(np.int64)
        if combined is None:
            combined = code                          # one property: its codes are the combinations'
            continue
        pair = np.where((combined < 0) | (code < 0), -1, combined * (int(code.max(initial=0)) + 1) + code)
        combined = pd.factorize(pair, use_na_sentinel=False)[0].astype(np.int64)   # dense again (a hash:
        combined[pair < 0] = MISSING                 # codes need only be equal or not, in no order)
    return combined


def _values(config: Config, index: EventIndex, funnel: Funnel) -> np.ndarray | None:
    """The last step's ``value:`` property as numbers per event, when its conversion has one."""
    last = funnel.steps[-1]
    value = config.conversions[last.ref].value if last.ref else None
    return None if value is None else index.numbers(value)
