"""``microconv validate``: a config on its own, and optionally against event logs."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import DataError
from .boundary import error_boundary
from .options import ConfigOpt, DebugOpt, InputFormatOpt

OptionalEventsArg = Annotated[Optional[list[Path]], typer.Argument(help="Optional event log(s) to check the "
                                                                   "config against.", show_default=False)]


def validate(
    events: OptionalEventsArg = None,
    config: ConfigOpt = Path("funnels.yaml"),
    input_format: InputFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Check a config; with event logs, also check its columns and event names against the data.

    Example: microconv validate -c funnels.example.yaml examples/shop_events.csv
    """
    from .. import load_config, load_events
    from ..config import located_of
    from ..engine.matching import unknown_event_names
    from ..load.frame import SESSION
    from ..load.quality import value_shares
    from ..render.escape import terminal

    with error_boundary(debug):
        cfg = load_config(config)
        summary = f"{config}: valid ({len(cfg.funnels)} funnels, {len(cfg.conversions)} conversions)"
        shares = {}
        if events:
            evts, quality = load_events(events, cfg, input_format=input_format)
            errors, warnings = unknown_event_names(cfg, evts.frame["event"].cat.categories)
            if quality.empty:
                raise DataError(quality.empty, hint="check the column or path in the config")
            if errors or warnings:
                raise DataError(located_of(cfg).sort(errors + warnings))
            summary += f"; every column and event name occurs in {len(evts):,} events"
            shares = value_shares(evts.frame)
        print(summary)
        for name, share in shares.items():
            shown = "the session" if name == SESSION else f"property {terminal(name)!r}"
            print(f"  {shown}: a value on {share:.1%} of rows")
