"""Pages (docs/semantics.md 12): where sessions end, and whether the macro goal followed a page.

Marketers ask which pages lose people. Per page: its views, the sessions that viewed it, the
sessions whose last page view it was (``exits``), ``exit_rate`` = exits / sessions, and the share
of its sessions in which the macro goal came after the page's first view there (``macro_after``).
With a funnel, the step table of that funnel beside the page each step is on: where the funnel's
drop-off happens, page by page.

Everything is read off the run's one sort of the events by (session, time, input order)
(``EventIndex.sorted_for(index.sessions)``): page views become positions in that order, a
session's exit page is the last of its run of positions, and a (session, page) pair's first view
one sort of pair keys. Counts are additive over disjoint sets of users (``partial`` / ``merge``);
rates, ranks and the top-N cut are made in ``finalize`` alone. No Python loop over sessions or
events: the only loops are over funnel steps.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..config import Config, located_of
from ..engine.conversions import EventIndex
from ..errors import OPTION, ConfigError, DataError, OptionError, UsageError, did_you_mean
from ..engine.engagement import with_engagement
from ..load.frame import Events
from ..run.plan import choose_funnels, last_timestamp, require_property, step_names
from ..run.replay import replay_funnel
from . import funnel as funnel_report
from .breakdown import value_codes
from .funnel import FunnelContext
from .micro import macro_goal
from .paths import NONE, page_property
from .results import MISSING

PAGE_EVENTS = ("page_view",)
ALL = "(all)"
TOP = 20
PAGES_COLUMNS = ["segment", "rank", "page", "views", "sessions", "exits", "exit_rate", "macro_sessions",
                 "macro_after"]
STEPS_COLUMNS = ["funnel", "step", "name", "page", "page_share", "unit", "reached", "went_on", "dropped",
                 "in_progress", "drop_off"]
_COUNTS = ["views", "sessions", "exits", "macro_sessions"]
_CORE = ("user", "ts", "event", "$session")


@dataclass(frozen=True, eq=False)
class PagesResult:
    """The page table (``frame``: PAGES_COLUMNS, the top ``top`` pages of each segment, ranked by
    exits), each segment's totals (``segments``: segment, sessions, views, pages; ``sessions`` are
    the segment's sessions with a page view, which is also its exits summed over every page), and
    with a funnel its step table (``steps``: STEPS_COLUMNS)."""

    page: str                          # the page property
    page_events: tuple[str, ...]       # the event names that are page views
    session_column: str | None         # columns.session, or None: sessions cut at gaps
    session_timeout_seconds: float
    macro: str | None                  # None: the config has no macro conversion (macro columns empty)
    by: str | None
    top: int
    frame: pd.DataFrame
    segments: pd.DataFrame
    funnel: str | None = None
    funnel_label: str | None = None
    steps: pd.DataFrame | None = None
    warnings: tuple = field(default=())

    def to_frame(self) -> pd.DataFrame:
        return self.frame

    @property
    def sessions(self) -> int:
        """Sessions with a page view, over every segment."""
        return int(self.segments["sessions"].sum())


def page_report(config: Config, events: Events, *, page: str | None = None,
                page_events: Sequence[str] | None = None, by: str | None = None, top: int = TOP,
                macro: str | None = None, funnel: str | None = None, mature_only: bool = False) -> PagesResult:
    """Views, sessions, exits, exit rate and the macro goal after each page (semantics 12).

    Args:
        config, events: as for :func:`microconv.analyze`; load ``page`` (and ``by``) with
            ``extra_properties=[...]``.
        page: the property holding the page (default: the config's ``page``, else ``page_path``).
        page_events: the event names that are page views (default ``page_view``); only their
            events with a page value count.
        by: a property: the same table per segment, a session taking its first value of it.
        top: pages listed per segment, by exits; 0 lists all.
        macro: the macro conversion (default: the first ``kind: macro`` one).
        funnel: also that funnel's step table, with the page of each step (12.7).
        mature_only: for the funnel's step table, as for :func:`microconv.analyze` (4.8).

    Raises:
        ConfigError: no page property is configured or given; ``macro`` or ``funnel`` is unknown.
        UsageError: ``page`` or ``by`` was not read from the events; ``top`` is negative;
            a ``page_events`` name never occurs.
        DataError: no event of the page-view names has a page value.
    """
    last_ts = last_timestamp(events)
    cluster = None if isinstance(events, Events) else events     # read on a Dask cluster (run/dask.py)
    events, index = with_engagement(config, cluster.empty if cluster else events, last_ts)  # a property like any (8.5)
    frame = events.frame
    if cluster is not None and funnel is not None:
        raise UsageError("pages --funnel does not run on a cluster yet", hint="run it without --workers/--scheduler")
    if top < 0:
        raise OptionError(f"{OPTION} {top}: must be 0 (all) or more", option="top")
    name = choose_funnels(config, [funnel])[0] if funnel is not None else None
    prop = _page_column(config, frame, page)
    names = _page_event_names(frame, page_events)
    if by is not None:
        _not_core(by, "by")
        require_property([c for c in frame.columns if c not in _CORE], by, f"{OPTION} {by!r}", option="by")
    goal = macro_goal(config, macro)
    p = cluster.partials(pages_partial, merge, config, prop, names, by, goal) if cluster else \
        partial(index, prop, names, by, goal)
    if not len(p.counts):
        raise DataError(f"no {' or '.join(repr(n) for n in names)} event has a {prop!r} value",
                        hint=f"the page views are the events named with --page-event (default {PAGE_EVENTS[0]}) "
                             "that have a value of the page property (--page)")
    steps = _steps(config, index, name, prop, mature_only) if name else None
    return finalize(p, PagesContext(prop, names, _session_column(config),
                                    config.session_timeout.total_seconds(), by, top), name,
                    (config.funnels[name].label or name) if name else None, steps)


@dataclass(frozen=True)
class PagesContext:
    page: str
    page_events: tuple[str, ...]
    session_column: str | None
    session_timeout_seconds: float
    by: str | None
    top: int


@dataclass(frozen=True, eq=False)
class PagesPartial:
    """Per (segment, page) text pair: views, sessions, exits and macro_sessions (``counts``); per
    segment: sessions with a page view and views (``totals``). All of it adds over disjoint users."""

    macro: str | None
    counts: pd.DataFrame
    totals: pd.DataFrame


def partial(index: EventIndex, prop: str, page_events: Sequence[str], by: str | None,
            macro: str | None) -> PagesPartial:
    """The page counts of every session of ``index`` (12.1-12.6)."""
    frame = index.frame
    units = index.sessions                          # (gap sessions: cut here, with their sort)
    srt = index.sorted_for(units)
    row, unit = srt.row, srt.unit.astype(np.int64)
    n_units = len(units.labels)
    page, texts = value_codes(frame[prop])
    wanted = frame["event"].cat.categories.get_indexer(list(page_events))
    is_view = np.isin(frame["event"].cat.codes.to_numpy(), wanted[wanted >= 0]) & (page >= 0)
    at = np.flatnonzero(is_view[row])               # positions of the page views, in session order
    s, c = unit[at], page[row[at]].astype(np.int64)
    n_pages = max(len(texts), 1)
    seg, seg_names = _segments(frame, by, row, unit, n_units)

    # views: one per page event; its cell is (segment of its session, page)
    cell_of, cells = pd.factorize(seg[s] * n_pages + c)
    views = np.bincount(cell_of, minlength=len(cells))
    cells = pd.Index(cells)
    # sessions: the first view of each (session, page) pair (a stable sort of pair keys)
    pair = s * n_pages + c
    by_pair = np.argsort(pair, kind="stable")
    keys = pair[by_pair]
    first = by_pair[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else by_pair
    pair_cell = cells.get_indexer(seg[s[first]] * n_pages + c[first])
    sessions = np.bincount(pair_cell, minlength=len(cells))
    # exits: each session's last page view (its run in ``s`` ends there)
    last = np.flatnonzero(np.r_[s[1:] != s[:-1], True]) if len(s) else np.zeros(0, dtype=np.int64)
    exits = np.bincount(cells.get_indexer(seg[s[last]] * n_pages + c[last]), minlength=len(cells))
    # macro_after: the session's last macro event comes after the pair's first view
    macro_sessions = np.zeros(len(cells), dtype=np.int64)
    if macro is not None:
        hit = np.flatnonzero(index.mask(macro)[row])
        final = np.full(n_units, -1, dtype=np.int64)
        ends = np.flatnonzero(np.r_[unit[hit][1:] != unit[hit][:-1], True]) if len(hit) else hit
        final[unit[hit[ends]]] = hit[ends]
        after = at[first] < final[s[first]]
        macro_sessions = np.bincount(pair_cell[after], minlength=len(cells))
    code = cells.to_numpy()
    seg_text = np.asarray(seg_names, dtype=object)
    counts = pd.DataFrame({"segment": seg_text[code // n_pages], "page": np.asarray(texts, dtype=object)[code % n_pages],
                           "views": views, "sessions": sessions, "exits": exits, "macro_sessions": macro_sessions})
    group = seg[s[last]]
    totals = pd.DataFrame({"segment": seg_text, "sessions": np.bincount(group, minlength=len(seg_names)),
                           "views": np.bincount(seg[s], minlength=len(seg_names))})
    return PagesPartial(macro, counts.astype({k: "int64" for k in _COUNTS}), totals[totals["sessions"] > 0])


def pages_partial(events: Events, last_ts: int, config: Config, prop: str, page_events: Sequence[str],
                  by: str | None, goal: str | None) -> PagesPartial:
    """One set of users' partial (a cluster's partition), against the whole log's end."""
    _, index = with_engagement(config, events, last_ts)
    return partial(index, prop, page_events, by, goal)


def merge(a: PagesPartial, b: PagesPartial) -> PagesPartial:
    return PagesPartial(a.macro, pd.concat([a.counts, b.counts], ignore_index=True),
                        pd.concat([a.totals, b.totals], ignore_index=True))


def finalize(p: PagesPartial, ctx: PagesContext, funnel: str | None = None, label: str | None = None,
             steps: pd.DataFrame | None = None) -> PagesResult:
    """Rates, each segment's pages ranked by exits (then sessions, views, page text), the top cut."""
    counts = p.counts.groupby(["segment", "page"], as_index=False, sort=False)[_COUNTS].sum()
    totals = p.totals.groupby("segment", as_index=False, sort=False)[["sessions", "views"]].sum()
    totals["pages"] = counts.groupby("segment", sort=False).size().reindex(totals["segment"]).to_numpy()
    totals = totals.sort_values(["sessions", "segment"], ascending=[False, True], ignore_index=True)
    totals = pd.concat([totals[totals["segment"] != MISSING], totals[totals["segment"] == MISSING]],
                       ignore_index=True)
    counts["exit_rate"] = counts["exits"] / counts["sessions"]
    counts["macro_after"] = counts["macro_sessions"] / counts["sessions"] if p.macro is not None else np.nan
    counts["_segment"] = counts["segment"].map({s: i for i, s in enumerate(totals["segment"])})
    counts = counts.sort_values(["_segment", "exits", "sessions", "views", "page"],
                                ascending=[True, False, False, False, True], kind="stable", ignore_index=True)
    counts["rank"] = counts.groupby("_segment", sort=False).cumcount() + 1
    if ctx.top:
        counts = counts[counts["rank"] <= ctx.top]
    frame = counts[PAGES_COLUMNS].reset_index(drop=True).astype({"rank": "int64", **{k: "int64" for k in _COUNTS}})
    return PagesResult(ctx.page, ctx.page_events, ctx.session_column, ctx.session_timeout_seconds, p.macro, ctx.by,
                       ctx.top, frame, totals.astype({"sessions": "int64", "views": "int64", "pages": "int64"}),
                       funnel, label, steps)


def _segments(frame: pd.DataFrame, by: str | None, row: np.ndarray, unit: np.ndarray,
              n_units: int) -> tuple[np.ndarray, list[str]]:
    """Per session: its segment code, the first value of ``by`` in the session (rule 1.4's order),
    ``(missing)`` when none of its events has one; and the segment names."""
    if by is None:
        return np.zeros(n_units, dtype=np.int64), [ALL]
    codes, texts = value_codes(frame[by])
    value = codes[row]
    has = np.flatnonzero(value >= 0)
    firsts = has[np.r_[True, unit[has][1:] != unit[has][:-1]]] if len(has) else has
    seg = np.full(n_units, len(texts), dtype=np.int64)
    seg[unit[firsts]] = value[firsts]
    return seg, [*texts, MISSING]


def page_name(config: Config, page: str | None = None) -> str:
    """The page property (12.1): ``page``, else the config's ``page`` or ``page_path``; a
    ConfigError when there is none (the CLI asks before reading the events, to load it)."""
    prop = page_property(config, page)
    if prop is None:
        raise ConfigError("no page property: the config's columns.properties has no 'page' or 'page_path'",
                          where=located_of(config).file,
                          hint="name the property holding the page with --page PROPERTY, or add e.g. "
                               "page_path: {from: page_url, url: path} to columns.properties")
    _not_core(prop, "page")
    return prop


def _not_core(name: str, option: str) -> None:
    """The page and the segments are properties: user, ts, event and $session are not (8.1.4)."""
    if name in _CORE:
        raise OptionError(f"{OPTION} {name!r}: a property is needed here, not the canonical column {name!r}",
                          option=option)


def _page_column(config: Config, frame: pd.DataFrame, page: str | None) -> str:
    """The page property, which must have been read from the events."""
    prop = page_name(config, page)
    require_property([c for c in frame.columns if c not in _CORE], prop, f"{OPTION} {prop!r}", option="page")
    return prop


def _session_column(config: Config) -> str | None:
    """columns.session as the results name it: the column, or its aliases joined."""
    column = config.columns.session
    return None if not column else column if isinstance(column, str) else " | ".join(column)


def _page_event_names(frame: pd.DataFrame, page_events: Sequence[str] | None) -> tuple[str, ...]:
    """The page-view event names (12.2); a name given that never occurs is a usage error."""
    names = tuple(dict.fromkeys(page_events or PAGE_EVENTS))
    known = [str(c) for c in frame["event"].cat.categories]
    for name in names:
        if page_events and name not in known:
            raise OptionError(f"{OPTION} {name!r}: no event of that name in the data", option="page_event",
                              hint=did_you_mean(name, known, what="event names"))
    return names


def _steps(config: Config, index: EventIndex, name: str, prop: str, mature_only: bool) -> pd.DataFrame:
    """The funnel's step table (section 5, as ``analyze`` counts it) with each step's page: the most
    common page value of the counted attempts' step events (12.7)."""
    spec = config.funnels[name]
    frame = index.frame
    rep = replay_funnel(config, frame, name, index=index, mature_only=mature_only)
    ctx = FunnelContext(name, spec.label or name, tuple(step_names(spec)), spec.window.total_seconds())
    rows = funnel_report.finalize(funnel_report.partial(rep, ctx), ctx).steps
    page, texts = value_codes(frame[prop])
    pos = rep.counted_pos
    pages, shares = [], []
    for k in range(len(rows)):      # (a loop over steps)
        done = pos[:, k][pos[:, k] >= 0]
        on = page[rep.events.row[done]]
        on = on[on >= 0]
        tally = np.bincount(on, minlength=len(texts))
        if not len(on):
            pages.append(NONE)
            shares.append(np.nan)
            continue
        best = np.flatnonzero(tally == tally.max())
        pick = min(best, key=lambda i: texts[i])   # (ties: the first page in text order)
        pages.append(texts[pick])
        shares.append(tally[pick] / len(done))
    n = len(rows)
    went = [rows[k + 1].users if k + 1 < n else pd.NA for k in range(n)]
    dropped = [rows[k + 1].dropped if k + 1 < n else pd.NA for k in range(n)]
    out = pd.DataFrame({
        "funnel": name, "step": [r.step for r in rows], "name": [r.name for r in rows], "page": pages,
        "page_share": shares, "unit": rep.kind, "reached": [r.users for r in rows],
        "went_on": pd.array(went, dtype="Int64"), "dropped": pd.array(dropped, dtype="Int64"),
        "in_progress": [r.in_progress for r in rows],
    })
    out["drop_off"] = (out["dropped"].astype("Float64") / out["reached"]).astype(float)
    return out[STEPS_COLUMNS]
