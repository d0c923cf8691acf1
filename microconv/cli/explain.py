"""``microconv explain``: how one user was counted, step by step."""
from __future__ import annotations

from pathlib import Path

from . import emit
from .boundary import error_boundary
from .options import (ConfigOpt, DebugOpt, EventsArg, FunnelsOpt, InputFormatOpt, MatureOpt, SinceOpt, TextFormat,
                      TextFormatOpt, UntilOpt, UserOpt)


def explain(
    events: EventsArg,
    user: UserOpt,
    config: ConfigOpt = Path("funnels.yaml"),
    funnel: FunnelsOpt = None,
    fmt: TextFormatOpt = TextFormat.text,
    since: SinceOpt = None,
    until: UntilOpt = None,
    mature_only: MatureOpt = False,
    input_format: InputFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Show how one user was counted: their events, which event matched each step, and why they stopped.

    Example: microconv explain examples/shop_events.csv -c funnels.example.yaml --user u0042
    """
    from .. import load_config, load_events
    from ..render.explain import render_explain_json, render_explain_text
    from ..reports.explain import explain_user

    with error_boundary(debug):
        cfg = load_config(config)
        evts, _ = load_events(events, cfg, input_format=input_format)
        ex = explain_user(cfg, evts, user, funnels=funnel, since=since, until=until, mature_only=mature_only)
        emit.write(render_explain_json(ex) if fmt is TextFormat.json else render_explain_text(ex))
