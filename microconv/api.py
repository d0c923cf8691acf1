"""The library's façade: every command is one call here, reachable from a notebook.

Each function builds the run's frozen :class:`~microconv.run.options.Options` and
:class:`~microconv.run.plan.RunPlan`, and leaves the work to ``run/`` and ``reports/``.
"""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .config import Config
from .load.frame import Events
from .load.quality import DataQualityReport
from .engine.engagement import with_engagement
from .reports import REPORT_NAMES
from .reports.results import AnalysisResult, FunnelReports, RunMeta
from .run import local
from .run.options import Options
from .run.plan import check_rows_suffice, choose_funnels, cut_at, last_timestamp, needed_events, plan_run

REPORTS = REPORT_NAMES
__all__ = ["REPORTS", "analyze", "choose_funnels", "needed_events"]


def analyze(
    config: Config,
    events: Events,
    *,
    quality: DataQualityReport | None = None,
    funnels: Sequence[str] | None = None,
    strict: bool = False,
    since: str | pd.Timestamp | None = None,
    until: str | pd.Timestamp | None = None,
    mature_only: bool = False,
    macro: str | None = None,
    by: str | Sequence[str] | None = None,
    attribution: str | None = None,
    top: int | None = None,
    trend: str | None = None,
    control: str | None = None,
    as_of: str | None = None,
    reports: Sequence[str] = REPORTS,
) -> AnalysisResult:
    """Replay ``events`` through the config's funnels.

    Args:
        config: a validated config (``load_config`` / ``parse_config``).
        events: canonical events (``load_events`` / ``canonicalize``).
        quality: the data-quality report from loading, carried into the result.
        funnels: names of the funnels to compute; all when None.
        strict: treat event names that never occur in the data as errors.
        since, until: bound entry into the funnels (docs/semantics.md 4.7): a date, a date-time,
            or a duration like ``"7d"`` counted back from the end of the data's last day.
        mature_only: leave out units still in progress (4.8).
        macro: the macro conversion the micro-conversion report measures against (default: the
            first ``kind: macro`` conversion).
        by, attribution, top: break every funnel down by this property, or by the combinations
            of the values of several (docs/semantics.md 8.2),
            overriding the funnels' ``breakdown:``; ``attribution`` and ``top`` alone adjust those.
        trend: "day", "week" or "month": step numbers per entry cohort (8.3), and the micro
            report per cohort of first events (7.7).
        control: with ``by``, the micro report tests each segment against this one instead of
            against the rest (7.6).
        as_of: analyse as if the data ended at the end of this date (or at this date-time):
            later events are left out and relative ranges count back from it (4.7).
        reports: which of REPORTS to compute ("breakdown" and "trend" only where asked for).

    Raises:
        DataError: a config event name never occurs in the data and looks like a typo of one
            that does (or any never-occurring name, with ``strict``); no event before ``as_of``.
        OptionError: ``since``, ``until`` or ``as_of`` is not a date, date-time or duration;
            ``by`` is not a column of ``events``; ``attribution`` names a step a funnel does not
            have; ``trend`` is not a period. Its ``option`` names the argument.
    """
    if not isinstance(events, Events):    # read on a Dask cluster: run there (run/dask.py)
        return events.analyze(config, quality=quality, funnels=funnels, strict=strict, since=since, until=until,
                              mature_only=mature_only, macro=macro, by=by, attribution=attribution, top=top,
                              trend=trend, control=control, as_of=as_of, reports=reports)
    options = Options(funnels=funnels, strict=strict, since=since, until=until, mature_only=mature_only,
                      macro=macro, by=by, attribution=attribution, top=top, trend=trend, control=control,
                      as_of=as_of, reports=reports)
    check_rows_suffice(config, events, options)
    if as_of is not None:
        events = cut_at(events, as_of, config.columns.timezone)
    # After the cut: a level counts what happened by as_of (8.5). One index for the levels and the run.
    events, index = with_engagement(config, events, last_timestamp(events))
    plan = plan_run(config, events, options)
    log = events.summary
    done = local.one_pass(plan, events, index, population=log.users)
    warnings = [*plan.warnings, *local.invalid_value_notes(plan, index)]
    return result_of(config, plan, done, log, events.sources, warnings, quality)


def result_of(config: Config, plan, done, log, sources: tuple[str, ...], warnings, quality) -> AnalysisResult:
    """The result of a run's finalized reports (``run.local`` or ``run.dask``) and its metadata."""
    per_funnel = tuple(FunnelReports(run.name, run.context.label, *reports)
                       for run, reports in zip(plan.funnels, done.funnels) if any(r is not None for r in reports))
    notes = tuple(quality.messages()) if quality else ()
    return AnalysisResult(per_funnel, run_meta(config, log, sources), done.micro, tuple(warnings), notes)


def run_meta(config: Config, log, sources: tuple[str, ...]) -> RunMeta:
    """What a report's header says of the run: the data's summary, the title, the currency, when."""
    stamp = (lambda ns: None if ns is None else pd.Timestamp(ns, tz="UTC"))
    return RunMeta(sources=sources, events=log.events, users=log.users,
                   first_ts=stamp(log.first_ts), last_ts=stamp(log.last_ts), title=report_title(config),
                   currency=config.currency, generated_at=generated_at())


def report_title(config: Config) -> str | None:
    """The config's ``title:``, else its file's name without the suffix (``funnels``)."""
    from pathlib import Path

    from .config import located_of

    file = located_of(config).file
    return config.title or (Path(file).stem if file else None)


def generated_at() -> pd.Timestamp:
    """Now, or ``SOURCE_DATE_EPOCH`` when set (reproducible-builds.org): the same run then gives the
    same report bytes, which golden tests and archived reports compared by hash need."""
    import os

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return pd.Timestamp(int(epoch), unit="s", tz="UTC")
    return pd.Timestamp.now(tz="UTC").floor("s")
