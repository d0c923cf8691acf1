"""The library entry point: everything the CLI does is reachable from here."""
from __future__ import annotations

from collections.abc import Sequence

from .config import Config, located_of
from .engine.funnel import compute_funnel
from .engine.matching import match_mask, unknown_event_names
from .errors import DataError
from .events import DataQualityReport, Events
from .results import AnalysisResult, RunMeta


def analyze(
    config: Config,
    events: Events,
    *,
    quality: DataQualityReport | None = None,
    funnels: Sequence[str] | None = None,
    strict: bool = False,
) -> AnalysisResult:
    """Replay ``events`` through the config's funnels.

    Args:
        config: a validated config (``load_config`` / ``parse_config``).
        events: canonical events (``load_events`` / ``canonicalize``).
        quality: the data-quality report from loading, carried into the result.
        funnels: names of the funnels to compute; all when None.
        strict: treat event names that never occur in the data as errors.

    Raises:
        DataError: a config event name never occurs in the data and looks like a typo of one
            that does (or any never-occurring name, with ``strict``).
    """
    frame = events.frame
    errors, warnings = unknown_event_names(config, frame["event"].cat.categories)
    if strict:
        errors, warnings = errors + warnings, []
    if errors:
        raise DataError(errors)
    chosen = _choose(config, funnels)
    results = []
    for name in chosen:
        funnel = config.funnels[name]
        masks = [match_mask(frame, config.conversions[s.ref] if s.ref else s) for s in funnel.steps]
        results.append(compute_funnel(
            frame, masks, name=name, label=funnel.label or name,
            step_names=[s.name for s in funnel.steps],
            window_seconds=funnel.window.total_seconds(),
        ))
    ts = frame["ts"]
    meta = RunMeta(
        sources=events.sources,
        events=len(frame),
        users=int(frame["user"].nunique()),
        first_ts=ts.min() if len(ts) else None,
        last_ts=ts.max() if len(ts) else None,
    )
    notes = tuple(quality.messages()) if quality else ()
    return AnalysisResult(tuple(results), meta, tuple(warnings), notes)


def _choose(config: Config, names: Sequence[str] | None) -> list[str]:
    if not names:
        return list(config.funnels)
    from .errors import ConfigError, did_you_mean

    unknown = [n for n in names if n not in config.funnels]
    if unknown:
        raise ConfigError(f"unknown funnel {unknown[0]!r}", where=located_of(config).file,
                          hint=did_you_mean(unknown[0], config.funnels, what="funnels"))
    return list(names)
