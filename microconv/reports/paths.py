"""Drop-off paths (docs/semantics.md 9): what units did after the step where they stopped, and
what the units that went on did between two steps.

Everything is read off the funnel's own :class:`~microconv.engine.funnel.Replay`, so the groups
are the table's numbers. The unit's events are the run's one sort by (unit, time, input order)
(``EventIndex.order_for``); each counted attempt's events become positions in that order, the
window's end a bisection over all units at once, and a path a few event codes per unit, counted
with one ``value_counts`` per (step, kind). The only Python loops are over steps, kinds, path
slots and bisection halvings.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import Config
from ..engine.clock import plus_ns
from ..engine.conversions import EventIndex
from ..engine.funnel import Replay
from ..engine.optional import optional_steps
from ..errors import OPTION, OptionError
from ..load.frame import Events
from ..run.plan import check_event_names, choose_funnels, entry_range_ns, last_timestamp, require_property, step_names
from ..run.replay import replay_funnel
from .breakdown import value_codes
from .funnel import FunnelContext
from .results import OTHER, PATHS_COLUMNS, PathsResult

NONE, DIRECT = "(none)", "(direct)"
ARROW = " → "
NEXT_DEPTH = 3       # events in a next_path (9.5)
BETWEEN_DEPTH = 5    # events shown in a between path before "… (+m more)" (9.6)
KINDS = ("next_event", "next_path", "next_page", "last_event", "between")
PAGE_PROPERTIES = ("page", "page_path")
_CORE = ("user", "ts", "event")


def page_property(config: Config, page: str | None = None) -> str | None:
    """The property whose values ``next_page`` counts (9.5): ``page``, else the config's ``page``
    or ``page_path`` property; None when there is none. Load it with ``extra_properties``."""
    if page:
        return page
    return next((p for p in PAGE_PROPERTIES if p in config.columns.properties), None)


def drop_off_paths(config: Config, events: Events, funnel: str, *, top: int = 10, since=None, until=None,
                   mature_only: bool = False, page: str | None = None, strict: bool = False) -> PathsResult:
    """Next events, next pages and last events of the units that dropped after each step of
    ``funnel``, and the paths of those that went on between consecutive steps (semantics 9).

    Args:
        config, events: as for :func:`microconv.analyze`.
        funnel: the funnel's name.
        top: paths listed per (step, kind); the rest are summed into ``(other)``; 0 lists all.
        since, until, mature_only: as for :func:`microconv.analyze` (4.7, 4.8).
        page: the property holding the page; default the config's ``page`` or ``page_path``
            property when ``events`` has it (load it with ``extra_properties=[...]``).
        strict: event names that never occur in the data are errors.

    Raises:
        ConfigError: no funnel of that name (with did-you-mean).
        DataError: a config event name never occurs and looks like a typo (any, with ``strict``).
        UsageError: ``page`` was not read from the events; ``top`` is negative; a bad date.
    """
    ctx, bounds, warnings = paths_context(config, events, funnel, top=top, since=since, until=until, page=page,
                                          strict=strict)
    if not isinstance(events, Events):      # read on a Dask cluster: the partials are made there (run/dask.py)
        p = events.partials(paths_partial, merge, config, ctx, bounds, mature_only)
    else:
        p = paths_partial(events, last_timestamp(events), config, ctx, bounds, mature_only)
    return finalize(p, ctx, warnings)


def paths_context(config: Config, events: Events, funnel: str, *, top: int, since, until, page: str | None,
                  strict: bool) -> tuple[PathsContext, tuple, tuple]:
    """The run's context, entry range and warnings, from the whole log (its columns, categories and end)."""
    frame = events.frame
    name = choose_funnels(config, [funnel])[0]
    warnings = check_event_names(config, frame, strict)
    if top < 0:
        raise OptionError(f"{OPTION} {top}: must be 0 (all) or more", option="top")
    prop = _page_column(config, frame, page)
    bounds = entry_range_ns(config, last_timestamp(events) if len(events) else None, since, until)
    spec = config.funnels[name]
    ctx = PathsContext(FunnelContext(name, spec.label or name, tuple(step_names(spec)), spec.window.total_seconds()),
                       top, prop)
    return ctx, bounds, tuple(warnings)


def paths_partial(events: Events, last_ts: int, config: Config, ctx: PathsContext, bounds, mature_only: bool
                  ) -> PathsPartial:
    """The partial of the units of ``events``, against the whole log's end ``last_ts``."""
    frame = events.frame
    index = EventIndex(config, frame, last_ts)
    rep = replay_funnel(config, frame, ctx.funnel.name, index=index, entry_range=bounds, mature_only=mature_only)
    return partial(rep, index, frame, ctx)


@dataclass(frozen=True)
class PathsContext:
    funnel: FunnelContext
    top: int                  # paths per (step, kind) before (other); 0 = all
    page: str | None          # the page property of next_page rows


@dataclass(frozen=True, eq=False)
class PathsPartial:
    """Per step: units dropped, in progress and converted; and per (step, group, kind) the units
    of every distinct path (``paths``: a frame of step, group, kind, path, units), before the
    top-N cut, which needs every shard's counts."""

    unit: str
    order: str
    dropped: np.ndarray
    in_progress: np.ndarray
    converted: np.ndarray
    paths: pd.DataFrame
    following: tuple[int | None, ...] = ()    # per step: the step the units that went on reached next


def partial(rep: Replay, index: EventIndex, frame: pd.DataFrame, ctx: PathsContext) -> PathsPartial:
    """The paths of the counted units of ``rep`` (9.5, 9.6)."""
    n = len(ctx.funnel.step_names)
    timeline = _Timeline.of(rep, index, frame, ctx.page)
    counted = _Counted.of(rep, timeline)
    blocks = []
    dropped, waiting, converted = (np.zeros(n, dtype=np.int64) for _ in range(3))
    following = next_steps(rep.plan.previous)
    for k, to in enumerate(following, start=1):      # from step k to step ``to`` (1-based; past optional ones)
        if to is None:
            continue
        waiting[k - 1] = int((counted.waiting & (counted.best == k)).sum())
        gone = (counted.best == k) & ~counted.waiting
        dropped[k - 1] = int(gone.sum())
        on = counted.best > k
        converted[k - 1] = int(on.sum())
        if gone.any():
            for kind, table in _dropped_paths(timeline, counted, gone).items():
                blocks.append(table.assign(step=k, group="dropped", kind=kind))
        if on.any():
            table = _between_paths(timeline, counted, on, k, to, rep.plan.order)
            blocks.append(table.assign(step=k, group="converted", kind="between"))
    columns = ["step", "group", "kind", "path", "units"]
    paths = pd.concat(blocks, ignore_index=True)[columns] if blocks else pd.DataFrame(columns=columns)
    return PathsPartial(rep.kind, rep.plan.order, dropped, waiting, converted, paths, following)


def next_steps(previous: tuple[int, ...]) -> tuple[int | None, ...]:
    """Per step (1-based order): the step that units who went on from it reached next, 1-based
    (past optional steps, 4.12: paths run between required steps); None for an optional step and
    the last one."""
    out: list[int | None] = [None] * len(previous)
    for to, skip in enumerate(optional_steps(previous)):
        if to and not skip:                                       # a required step: some step's next
            out[previous[to]] = to + 1
    return tuple(out)


def merge(a: PathsPartial, b: PathsPartial) -> PathsPartial:
    return PathsPartial(a.unit, a.order, a.dropped + b.dropped, a.in_progress + b.in_progress,
                        a.converted + b.converted, pd.concat([a.paths, b.paths], ignore_index=True), a.following)


def finalize(p: PathsPartial, ctx: PathsContext, warnings: tuple = ()) -> PathsResult:
    """The ``top`` paths of every (step, group, kind), in the order of 9.7, with shares."""
    f = ctx.funnel
    names = f.step_names
    blocks = []
    for (k, group, kind), table in p.paths.groupby(["step", "group", "kind"], sort=False):
        to = p.following[k - 1]
        head = {"step": k, "name": names[k - 1] if group == "dropped" else f"{names[k - 1]}{ARROW}{names[to - 1]}"}
        total = p.dropped[k - 1] if group == "dropped" else p.converted[k - 1]
        blocks.append((k, group != "dropped", KINDS.index(kind),
                       _rows(table[["path", "units"]], ctx.top, int(total), head, group, kind)))
    blocks.sort(key=lambda b: b[:3])
    body = (pd.concat([b[3] for b in blocks], ignore_index=True) if blocks
            else pd.DataFrame(columns=PATHS_COLUMNS[1:]))
    body.insert(0, "funnel", f.name)
    body = body[PATHS_COLUMNS].astype({"step": "int64", "units": "int64", "share": "float64"})
    return PathsResult(f.name, f.label, p.unit, p.order, f.window_seconds, names,
                       tuple(int(x) for x in p.dropped), tuple(int(x) for x in p.in_progress),
                       tuple(int(x) for x in p.converted), ctx.top, ctx.page, body, tuple(warnings),
                       p.following)


def _page_column(config: Config, frame: pd.DataFrame, page: str | None) -> str | None:
    """The page property to count, when the events carry it; asking for one they lack is an error."""
    prop = page_property(config, page)
    if prop is not None and (prop not in frame.columns or prop in _CORE):
        if page is None:
            return None  # the config's page property was not loaded: no next_page rows
        require_property([c for c in frame.columns if c not in _CORE], page, f"{OPTION} {page!r}", option="page")
    return prop


@dataclass(frozen=True)
class _Timeline:
    """Every event in (unit, time, input order): the order of rule 1.4 within each unit."""

    at: np.ndarray           # per frame row: its position in this order
    unit: np.ndarray         # per position: unit code (ascending)
    ts: np.ndarray           # per position: ns (ascending within a unit)
    event: np.ndarray        # per position: event code
    event_names: np.ndarray  # per event code: its name (object array)
    page: np.ndarray | None  # per position: page text code, -1 when missing
    page_names: np.ndarray | None

    @classmethod
    def of(cls, rep: Replay, index: EventIndex, frame: pd.DataFrame, prop: str | None) -> _Timeline:
        order = index.order_for(rep.units)
        at = np.empty(len(order), dtype=np.int64)
        at[order] = np.arange(len(order))
        ts = frame["ts"].to_numpy(dtype="datetime64[ns]").view("int64")[order]
        event = frame["event"].cat.codes.to_numpy().astype(np.int64)[order]
        event_names = np.asarray(frame["event"].cat.categories.astype(str), dtype=object)
        page = page_names = None
        if prop is not None:
            codes, texts = value_codes(frame[prop])
            page, page_names = codes[order], np.asarray(texts, dtype=object)
        return cls(at, rep.units.code[order], ts, event, event_names, page, page_names)

    def window_end(self, unit: np.ndarray, start: np.ndarray, until: np.ndarray) -> np.ndarray:
        """Per unit: the first position at or after ``start`` past its events at or before ``until``
        (``bisect_right`` within each unit's block, all units at once: one pass per halving)."""
        lo, hi = start.copy(), np.searchsorted(self.unit, unit, side="right")
        live = np.flatnonzero(lo < hi)
        while len(live):
            mid = (lo[live] + hi[live]) // 2
            right = self.ts[mid] <= until[live]
            lo[live[right]] = mid[right] + 1
            hi[live[~right]] = mid[~right]
            live = live[lo[live] < hi[live]]
        return lo


@dataclass(frozen=True)
class _Counted:
    """Per counted unit (``rep.kept``): its counted attempt's events as positions of the timeline."""

    best: np.ndarray      # furthest step
    waiting: np.ndarray   # in progress (4.8.2)
    steps: np.ndarray     # (units, steps): position of each step's event, -1 when not reached
    anchor: np.ndarray    # the attempt's last event (9.3)
    end: np.ndarray       # first position past the horizon (9.4)

    @classmethod
    def of(cls, rep: Replay, timeline: _Timeline) -> _Counted:
        kept = rep.kept
        pos = rep.counted_pos
        steps = np.where(pos >= 0, timeline.at[rep.events.row[np.maximum(pos, 0)]], -1)
        t1 = rep.events.ts[pos[:, 0]]
        anchor = steps.max(axis=1)
        end = timeline.window_end(rep.unit[kept], anchor + 1, plus_ns(t1, rep.plan.window))   # (saturating)
        return cls(rep.best[kept], rep.in_progress[kept], steps, anchor, end)


def _dropped_paths(timeline: _Timeline, counted: _Counted, gone: np.ndarray) -> dict[str, pd.DataFrame]:
    """The four kinds of 9.5 for the dropped units ``gone``: each a frame of (path, units)."""
    anchor, end = counted.anchor[gone], counted.end[gone]
    ahead = np.stack([_code_at(timeline.event, anchor + 1 + j, end) for j in range(NEXT_DEPTH)], axis=1)
    out = {
        "next_event": _count(ahead[:, :1], timeline.event_names, NONE),
        "next_path": _count(ahead, timeline.event_names, NONE),
    }
    if timeline.page is not None:
        paged = np.flatnonzero(timeline.page >= 0)            # positions of events with a page
        after = np.searchsorted(paged, anchor, side="right")  # the first of them after the anchor
        found = after < len(paged)
        nxt = np.where(found, paged[np.minimum(after, len(paged) - 1)] if len(paged) else 0, end)
        out["next_page"] = _count(_code_at(timeline.page, nxt, end)[:, None], timeline.page_names, NONE)
    out["last_event"] = _count(timeline.event[end - 1][:, None], timeline.event_names, NONE)
    return out


def _between_paths(timeline: _Timeline, counted: _Counted, on: np.ndarray, k: int, to: int,
                   order: str) -> pd.DataFrame:
    """Paths of 9.6 for the units ``on`` that reached step ``to`` from step k (1-based)."""
    steps = counted.steps[on]
    if order == "any":  # the k-th and (k+1)-th events done, in time order
        steps = np.sort(np.where(steps >= 0, steps, np.iinfo(np.int64).max), axis=1)
    lo, hi = steps[:, k - 1], steps[:, to - 1]
    inside = np.maximum(hi - lo - 1, 0)
    codes = np.stack([_code_at(timeline.event, lo + 1 + j, lo + 1 + inside) for j in range(BETWEEN_DEPTH)], axis=1)
    return _count(codes, timeline.event_names, DIRECT, more=np.maximum(inside - BETWEEN_DEPTH, 0))


def _code_at(codes: np.ndarray, positions: np.ndarray, end: np.ndarray) -> np.ndarray:
    """``codes`` at ``positions`` where they are before ``end``, else -1."""
    ok = positions < end
    return np.where(ok, codes[np.where(ok, positions, 0)], -1)


def _count(codes: np.ndarray, names: np.ndarray, empty: str, more: np.ndarray | None = None) -> pd.DataFrame:
    """Units per path: ``codes`` is (units, slots) of name codes, -1 past the path's end; text is
    made once per distinct path, ``empty`` when the path has no event."""
    columns = {f"c{j}": codes[:, j] for j in range(codes.shape[1])}
    if more is not None:
        columns["more"] = more
    counts = pd.DataFrame(columns).value_counts(sort=False).reset_index(name="units")
    slots = [counts[f"c{j}"].to_numpy() for j in range(codes.shape[1])]
    names = np.append(np.asarray(names, dtype=object), "")      # -1 reads the last: a shard may have no names at all
    text = np.where(slots[0] >= 0, names[slots[0]], empty).astype(object)
    for slot in slots[1:]:
        text = np.where(slot >= 0, text + ARROW + names[slot], text)
    path = pd.Series(text, dtype=object)
    if more is not None:
        extra = counts["more"]
        path = path.where(extra == 0, path + " … (+" + extra.astype(str) + " more)")
    return pd.DataFrame({"path": path.astype(object), "units": counts["units"].to_numpy(dtype=np.int64)})


def _rows(table: pd.DataFrame, top: int, total: int, head: dict, group: str, kind: str) -> pd.DataFrame:
    """The ``top`` paths by units (ties by path), the rest as one (other) row, with shares (9.7)."""
    table = table.groupby("path", sort=False, as_index=False)["units"].sum()
    table = table.sort_values(["units", "path"], ascending=[False, True], kind="stable", ignore_index=True)
    if top and len(table) > top:
        rest = pd.DataFrame({"path": [OTHER], "units": [int(table["units"].iloc[top:].sum())]})
        table = pd.concat([table.iloc[:top], rest], ignore_index=True)
    return pd.DataFrame({**head, "group": group, "kind": kind, "path": table["path"].astype(object),
                         "units": table["units"].astype(np.int64), "share": table["units"] / total})
