"""Plain result types. Every renderer is a view of ``to_frame()``; nothing here formats."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from ..errors import Problem

STEP_COLUMNS = [
    "funnel", "step", "name", "users", "rate_from_start", "rate_from_previous",
    "dropped", "median_seconds_from_previous", "in_progress", "unit", "value_lost",
]


@dataclass(frozen=True)
class StepRow:
    step: int
    name: str
    users: int
    rate_from_start: float
    rate_from_previous: float
    dropped: int
    median_seconds_from_previous: float
    in_progress: int = 0
    value_lost: float = float("nan")


@dataclass(frozen=True)
class Reached:
    """Each counted unit's furthest step, labelled when first read: the labels are an id's text
    per entrant, a gather of millions of strings per funnel, and no table, chart or test of a
    run reads them (a notebook may). Each part is (furthest steps, a function giving their labels)."""

    parts: tuple[tuple[np.ndarray, Callable[[], pd.Index]], ...]

    def series(self) -> pd.Series:
        """The furthest steps as one Series indexed by unit label, parts in order."""
        series = [pd.Series(best, index=labels(), name="reached", dtype="int64") for best, labels in self.parts]
        return series[0] if len(series) == 1 else pd.concat(series)

    def __add__(self, other: Reached) -> Reached:
        return Reached(self.parts + other.parts)


@dataclass(frozen=True, eq=False)
class FunnelResult:
    """Counts for one funnel; ``reached`` is each entrant's furthest step, indexed by user id
    (or by (user, session) when counting sessions), made from ``furthest`` when first read;
    ``excluded`` counts units whose every attempt an exclusion spoiled (docs/semantics.md 4.4).
    ``reached`` is None for a run on a Dask cluster: a row per unit would travel to the client,
    which no report needs (``run/dask.py``)."""

    name: str
    label: str
    window_seconds: float
    steps: tuple[StepRow, ...]
    furthest: Reached | pd.Series | None
    order: str = "ordered"
    unit: str = "users"
    excluded: int = 0
    revenue: float | None = None  # the last step's value over completers; None when it has no value
    optional: tuple[int, ...] = ()  # the optional steps, 1-based (4.12)

    @cached_property
    def reached(self) -> pd.Series | None:
        return self.furthest.series() if isinstance(self.furthest, Reached) else self.furthest

    @property
    def revenue_per_entrant(self) -> float | None:
        return None if self.revenue is None or not self.entrants else self.revenue / self.entrants

    @property
    def entrants(self) -> int:
        return self.steps[0].users if self.steps else 0

    @property
    def in_progress(self) -> int:
        return sum(s.in_progress for s in self.steps)

    @property
    def largest_drop_step(self) -> int | None:
        """The step with the most users lost (the first on a tie); None when nobody dropped."""
        best = max(self.steps, key=lambda s: s.dropped, default=None)
        return best.step if best is not None and best.dropped > 0 else None

    def to_frame(self) -> pd.DataFrame:
        rows = [{"funnel": self.name, **vars(s), "unit": self.unit} for s in self.steps]
        return pd.DataFrame(rows, columns=STEP_COLUMNS)


MICRO_COLUMNS = [
    "conversion", "kind", "label", "segment", "period", "open", "population", "users", "share", "share_low",
    "share_high", "macro", "macro_rate_with", "macro_rate_without", "lift", "lift_low", "lift_high", "p_value",
    "p_adjusted", "significant", "too_few", "implied", "adjusted_odds_ratio", "adjusted_low", "adjusted_high",
    "adjusted_p", "adjusted_significant", "incremental_value", "value_per_user_with", "revenue", "share_rest",
    "p_segment", "p_segment_adjusted", "segment_significant", "macro_rate", "macro_rate_low", "macro_rate_high",
    "macro_expected", "macro_expected_low", "macro_expected_high",
]
MICRO_FLAGS = ("open", "significant", "too_few", "implied", "adjusted_significant", "segment_significant")
# Filled on the rows of one kind only (docs/semantics.md 7.4): the rest are empty there.
MICRO_SEGMENT_ONLY = ("segment", "share_rest", "p_segment", "p_segment_adjusted", "segment_significant")
MICRO_PERIOD_ONLY = ("period", "open")
MICRO_OVERALL_ONLY = ("lift", "lift_low", "lift_high", "p_value", "p_adjusted", "significant", "too_few",
                      "adjusted_odds_ratio", "adjusted_low", "adjusted_high", "adjusted_p", "adjusted_significant",
                      "incremental_value", "value_per_user_with", "revenue")


@dataclass(frozen=True, eq=False)
class MicroReport:
    """Micro-conversions against one macro goal (docs/semantics.md 7): ``rows`` has one row per
    conversion over everyone; ``segments`` one per (conversion, segment of ``by``), ``periods``
    one per (conversion, cohort period), None when not asked. All have MICRO_COLUMNS."""

    macro: str
    users: int                     # everyone with an event: the population
    converters: int                # users with the macro conversion
    average_value: float | None    # mean ``value`` per macro event (None without ``value:``)
    rows: pd.DataFrame
    segments: pd.DataFrame | None = None
    periods: pd.DataFrame | None = None
    by: str | None = None          # the --by properties as one name
    control: str | None = None     # the segment the others are tested against (None: the rest)
    period: str | None = None      # day | week | month
    model_note: str | None = None  # what the joint model left out, or why it has no estimate
    segment_note: str | None = None  # what the early read by segment left out (7.6.6)

    def groups(self, kind: str) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
        """The ``segments`` or ``periods`` rows reshaped for a table: one row per group (its label,
        users, macro rate observed and expected, ``open``), in the report's order; beside it each
        group's share per conversion and whether it differs (columns: the conversions' labels,
        the secondary ones and the milestones that are not implied)."""
        rows = self.segments if kind == "segments" else self.periods
        key = "segment" if kind == "segments" else "period"
        first = rows[rows["conversion"] == rows["conversion"].iloc[0]]
        head = first[[key, "open", "population", "macro_rate", "macro_rate_low", "macro_rate_high",
                      "macro_expected", "macro_expected_low", "macro_expected_high"]].reset_index(drop=True)
        shown = rows[~rows["implied"].astype(bool)]
        names = list(dict.fromkeys(shown["conversion"]))
        share = shown.pivot(index=key, columns="conversion", values="share").reindex(index=head[key], columns=names)
        mark = (shown.pivot(index=key, columns="conversion", values="segment_significant")
                .reindex(index=head[key], columns=names) if kind == "segments" else None)
        cells = pd.DataFrame({c: list(zip(share[c], mark[c] if mark is not None else [None] * len(share)))
                              for c in names})
        labels = shown.drop_duplicates("conversion").set_index("conversion")["label"].reindex(names).tolist()
        return head, cells, labels

    def to_frame(self) -> pd.DataFrame:
        """Every row: the overall ones, then the segments', then the periods' (the micro CSV)."""
        parts = [f for f in (self.rows, self.segments, self.periods) if f is not None and len(f)]
        if not parts:
            return pd.DataFrame(columns=MICRO_COLUMNS)
        frame = pd.concat([p.astype({c: object for c in MICRO_FLAGS}) for p in parts], ignore_index=True)
        return frame[MICRO_COLUMNS]


SEGMENT_COLUMNS = [
    "funnel", "by", "attribution", "segment", "entrants", "share", "converted", "rate", "rate_low", "rate_high",
    "rate_rest", "p_value", "p_adjusted", "test", "significant", "too_small",
]
SEGMENT_STEP_COLUMNS = [
    "funnel", "by", "attribution", "segment", "step", "name", "users", "rate_from_start", "rate_from_previous",
    "dropped", "median_seconds_from_previous", "in_progress",
]
OTHER, MISSING, NOT_REACHED = "(other)", "(missing)", "(not reached)"


@dataclass(frozen=True, eq=False)
class BreakdownResult:
    """A funnel split by a property (docs/semantics.md 8.2): ``segments`` has one row per segment
    (SEGMENT_COLUMNS), ``steps`` one row per segment and step (SEGMENT_STEP_COLUMNS)."""

    funnel: str
    label: str
    by: str
    attribution: str
    top: int
    unit: str
    segments: pd.DataFrame
    steps: pd.DataFrame
    properties: tuple[str, ...] = ()                      # the properties of ``by``, one or several
    values: tuple[tuple[str, ...] | None, ...] = ()      # per segment its texts; None when pooled

    @property
    def missing_share(self) -> float:
        """Share of entrants whose attributed event had no value."""
        hit = self.segments.loc[self.segments["segment"] == MISSING, "share"]
        return float(hit.iloc[0]) if len(hit) else 0.0


TREND_COLUMNS = ["funnel", "period", "open", "step", "name", "users", "rate_from_start", "rate_from_previous",
                 "in_progress"]


@dataclass(frozen=True, eq=False)
class TrendResult:
    """Step numbers per entry cohort (8.3): one row per (period, step), TREND_COLUMNS."""

    funnel: str
    label: str
    period: str          # day | week | month
    unit: str
    frame: pd.DataFrame


BUCKETS = (  # (column, lower bound in seconds), 8.4.3; each bucket runs up to the next one's bound
    ("under_1m", 0), ("1m_5m", 60), ("5m_15m", 300), ("15m_1h", 900), ("1h_6h", 3600), ("6h_1d", 21600),
    ("1d_3d", 86400), ("3d_7d", 259200), ("7d_14d", 604800), ("14d_30d", 1209600), ("30d_plus", 2592000),
)
TIME_COLUMNS = ["funnel", "from_step", "to_step", "name", "units", "p25_seconds", "median_seconds", "p75_seconds",
                "p90_seconds", *(b for b, _ in BUCKETS)]


@dataclass(frozen=True, eq=False)
class TimeResult:
    """Time to convert (8.4): one row per step transition, then the whole funnel, TIME_COLUMNS."""

    funnel: str
    label: str
    unit: str
    frame: pd.DataFrame


@dataclass(frozen=True)
class RunMeta:
    sources: tuple[str, ...] = ()
    events: int = 0
    users: int | None = 0          # None: not counted (a CSV of funnel steps does not show it)
    first_ts: pd.Timestamp | None = None
    last_ts: pd.Timestamp | None = None
    title: str | None = None       # the config's title, else its file's name (None: not from a file)
    currency: str | None = None    # the config's ISO 4217 code for money figures (None: plain numbers)
    # when the run was made, for a report's header: not part of what the run found, so two runs
    # of the same data compare equal
    generated_at: pd.Timestamp | None = field(default=None, compare=False)


@dataclass(frozen=True, eq=False)
class FunnelReports:
    """Everything one run computed for one funnel, in one place; None where it was not asked
    (a run may hold a funnel's breakdown or trend without its step table)."""

    name: str
    label: str
    steps: FunnelResult | None = None
    time: TimeResult | None = None
    breakdown: BreakdownResult | None = None
    trend: TrendResult | None = None


@dataclass(frozen=True, eq=False)
class AnalysisResult:
    """A run's results: ``per_funnel`` in config (or asked) order, each funnel's reports together,
    so that renderers walk it once; the flat tuples (``funnels``, ``times``, ...) are views of it."""

    per_funnel: tuple[FunnelReports, ...] = ()
    meta: RunMeta = RunMeta()
    micro: MicroReport | None = None
    warnings: tuple[Problem, ...] = ()
    quality_notes: tuple[str, ...] = field(default=())

    @property
    def funnels(self) -> tuple[FunnelResult, ...]:
        return tuple(f.steps for f in self.per_funnel if f.steps is not None)

    @property
    def times(self) -> tuple[TimeResult, ...]:
        return tuple(f.time for f in self.per_funnel if f.time is not None)

    @property
    def breakdowns(self) -> tuple[BreakdownResult, ...]:
        return tuple(f.breakdown for f in self.per_funnel if f.breakdown is not None)

    @property
    def trends(self) -> tuple[TrendResult, ...]:
        return tuple(f.trend for f in self.per_funnel if f.trend is not None)

    def funnel(self, name: str) -> FunnelResult:
        return next(f for f in self.funnels if f.name == name)

    def funnel_names(self) -> list[str]:
        return [f.name for f in self.per_funnel]

    def steps_frame(self) -> pd.DataFrame:
        """All funnels' steps, one row per (funnel, step), the tidy CSV."""
        return _stack([f.to_frame() for f in self.funnels], STEP_COLUMNS)

    def segments_frame(self) -> pd.DataFrame:
        return _stack([b.segments for b in self.breakdowns], SEGMENT_COLUMNS)

    def segment_steps_frame(self) -> pd.DataFrame:
        return _stack([b.steps for b in self.breakdowns], SEGMENT_STEP_COLUMNS)

    def trends_frame(self) -> pd.DataFrame:
        return _stack([t.frame for t in self.trends], TREND_COLUMNS)

    def times_frame(self) -> pd.DataFrame:
        return _stack([t.frame for t in self.times], TIME_COLUMNS)


def _stack(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


PATHS_COLUMNS = ["funnel", "step", "name", "group", "kind", "path", "units", "share"]


@dataclass(frozen=True, eq=False)
class PathsResult:
    """Drop-off paths of one funnel (docs/semantics.md 9): ``frame`` has one row per (step, group,
    kind, path), PATHS_COLUMNS. Per step k: ``dropped`` units stopped there (not in progress),
    ``in_progress`` units stopped there whose window is still open (left out of the groups),
    ``converted`` units that went on to step k+1 (all three are 0 at the last step)."""

    funnel: str
    label: str
    unit: str                        # users | sessions
    order: str
    window_seconds: float
    step_names: tuple[str, ...]
    dropped: tuple[int, ...]
    in_progress: tuple[int, ...]
    converted: tuple[int, ...]
    top: int                         # paths per (step, kind) before (other); 0 = all
    page: str | None                 # the page property of next_page rows; None: no such rows
    frame: pd.DataFrame
    warnings: tuple[Problem, ...] = ()
    following: tuple[int | None, ...] = ()   # per step: the step that those who went on reached (4.12)

    def next_step(self, step: int) -> int:
        """The step (1-based) after ``step`` that the units going on from it reached: the next one,
        or past optional steps the next required one."""
        return self.following[step - 1] if self.following and self.following[step - 1] else step + 1

    def to_frame(self) -> pd.DataFrame:
        return self.frame
