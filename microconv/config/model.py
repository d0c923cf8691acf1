"""The typed config model.

Shorthand (a bare string for a list of one, a scalar for equality, a conversion name for a
step) is expanded *before* validation, so that every pydantic error ``loc`` is a real path in
the YAML file and can be pointed at by line and column.
"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, field_validator,
                      model_validator)

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*(ms|s|m|h|d|w)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_LONGEST = timedelta.max.total_seconds()    # 2.7 million years: far beyond any two timestamps (1677-2262)


def parse_duration(value: Any) -> timedelta:
    """``"7d"``, ``"1h30m"``, ``"500ms"``, ``"1e9d"`` or a number of seconds. Durations of any size
    are valid: one longer than timedelta's maximum is that maximum, unbounded in effect (every
    span of timestamps fits in it, semantics 1.5)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration like '7d', '30m', '1h30m' or a number of seconds")
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} is not a duration; expected a finite number of seconds "
                             "or a number with a unit, e.g. '7d', '30m', '1h30m'")
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return _clamped(value)
    text = str(value).strip().replace(" ", "")
    parts = _DURATION_PART.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(
            f"{value!r} is not a duration; expected a number with a unit "
            "(ms, s, m, h, d, w), e.g. '7d', '30m', '1h30m'"
        )
    return _clamped(sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))


def _clamped(seconds: float) -> timedelta:
    """``seconds`` (>= 0; inf from digits too many for a float) as a timedelta, at most its maximum
    (a second short of it is the maximum too: microsecond rounding could pass it)."""
    return timedelta.max if seconds >= _LONGEST - 1 else timedelta(seconds=seconds)


def _text(duration: timedelta) -> str:
    """The inverse of parse_duration, for messages: ``1h30m``, ``45s``."""
    rest, parts = duration.total_seconds(), []
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        if rest >= size:
            count = int(rest // size) if unit != "s" else rest
            parts.append(f"{count:g}{unit}")
            rest -= count * size
    return "".join(parts) or "0s"


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Names = Annotated[list[str], BeforeValidator(_as_list), Field(min_length=1)]
Scalar = str | int | float | bool


def _named(name: str) -> str:
    if not name.strip():
        raise ValueError("a name cannot be empty")
    return name


Name = Annotated[str, AfterValidator(_named)]    # a key naming a conversion, funnel or property


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Condition(StrictModel):
    """Tests on one property; several operators in one condition must all hold."""

    eq: Scalar | None = None
    ne: Scalar | None = None
    in_: list[Scalar] | None = Field(None, alias="in")
    not_in: list[Scalar] | None = None
    contains: str | None = None
    regex: str | None = None
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    exists: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"in": data}
        if not isinstance(data, dict):
            return {"eq": data}
        return data

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        if not self.model_fields_set:
            raise ValueError("a condition needs at least one operator: " + ", ".join(OPERATORS))
        return self

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            check_regex(value)
        return value


OPERATORS = ("eq", "ne", "in", "not_in", "contains", "regex", "gt", "gte", "lt", "lte", "exists")

# What RE2 says of a construct that needs backtracking, and what that construct is called.
_BACKTRACKING = (("(?=", "lookahead (?=...)"), ("(?!", "negative lookahead (?!...)"),
                 ("(?<=", "lookbehind (?<=...)"), ("(?<!", "negative lookbehind (?<!...)"),
                 ("(?>", "the atomic group (?>...)"), ("(?P=", "the named backreference (?P=name)"),
                 ("++", "the possessive quantifier ++"), ("*+", "the possessive quantifier *+"),
                 ("?+", "the possessive quantifier ?+"), ("}+", "a possessive quantifier {n}+"))
_RE2_SYNTAX = "regex conditions use RE2 syntax, which runs in linear time"


def check_regex(pattern: str) -> None:
    """Raise ValueError unless RE2 (what regex conditions run on, engine/matching.py) compiles
    ``pattern``; a construct that needs backtracking is named, since it is the likely cause."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.match_substring_regex(pa.array([""], pa.string()), pattern)   # (an empty array compiles nothing)
    except pa.ArrowInvalid as exc:
        problem = str(exc).removeprefix("Invalid regular expression: ")
        operator = problem.rpartition(": ")[2]
        if re.fullmatch(r"\\[1-9]", operator):
            raise ValueError(f"the backreference {operator} is not supported: {_RE2_SYNTAX}") from None
        if operator == "(?P" and "(?P=" in pattern:
            operator = "(?P="
        for start, feature in _BACKTRACKING:
            if operator.startswith(start) or operator.endswith(start):
                raise ValueError(f"{feature} is not supported: {_RE2_SYNTAX}") from None
        raise ValueError(f"invalid regular expression {_short(pattern)}: {problem} (RE2 syntax, "
                         "github.com/google/re2/wiki/Syntax)") from None


def _short(text: str, chars: int = 60) -> str:
    return repr(text if len(text) <= chars else text[:chars] + "...")


RESERVED = ("user", "ts", "event", "$session")  # canonical columns of the events frame (microconv/events.py)


def _not_reserved(names: dict) -> dict:
    for name in names:
        if name in RESERVED:
            raise ValueError(f"{name!r} is the name of a canonical column; give the property another name in "
                             f"columns.properties, e.g. {name}_prop: {{from: {name}}}")
    return names


class EventMatch(StrictModel):
    """Which events count: any of these names, with every ``where`` condition true."""

    event: Names
    where: dict[str, Condition] = {}

    _reserved = field_validator("where")(classmethod(lambda cls, v: _not_reserved(v)))


_THRESHOLD = re.compile(r"^\s*(>=|>)?\s*(\S.*?)\s*$")


def parse_threshold(value: Any, *, duration: bool = False) -> tuple[str, float]:
    """``">= 3"``, ``"> 2"``, ``3`` (meaning ``>= 3``), or ``">= 2m"`` for durations, as (op, number)."""
    if isinstance(value, bool):
        raise ValueError("expected a threshold like '>= 3'")
    if isinstance(value, (int, float)):
        return ">=", float(value)
    match = _THRESHOLD.match(str(value))
    what = "'>= 2m'" if duration else "'>= 3'"
    if not match:
        raise ValueError(f"{value!r} is not a threshold; expected e.g. {what} or '> 2'")
    op, number = match.group(1) or ">=", match.group(2)
    try:
        amount = parse_duration(number).total_seconds() if duration else float(number)
    except ValueError:
        raise ValueError(f"{value!r} is not a threshold; expected e.g. {what} (only >= and > are allowed: "
                         "a conversion is the moment a level is reached)") from None
    if amount < 0:
        raise ValueError(f"{value!r}: a threshold cannot be negative")
    return op, amount


Threshold = Annotated[tuple[str, float], BeforeValidator(parse_threshold)]
DurationThreshold = Annotated[tuple[str, float], BeforeValidator(lambda v: parse_threshold(v, duration=True))]


class SessionThreshold(StrictModel):
    """A session reaching a number of pages and/or a duration (both must hold when both are given)."""

    pages: Threshold | None = None
    duration: DurationThreshold | None = None

    @model_validator(mode="after")
    def _something(self) -> SessionThreshold:
        if self.pages is None and self.duration is None:
            raise ValueError("a session threshold needs 'pages' and/or 'duration', e.g. {pages: '>= 3'}")
        return self


class Conversion(EventMatch):
    """A named conversion: events by name and ``where``, optionally a threshold over them.

    ``count`` is reached at the user's N-th matching event; ``session`` at the event where a
    session reaches that many page events (``event``, default ``page_view``) or that duration.
    """

    kind: Literal["milestone", "secondary", "macro"] = "milestone"
    value: str | None = None
    label: str | None = None
    event: Names | None = None  # type: ignore[assignment]
    count: Threshold | None = None
    session: SessionThreshold | None = None

    @model_validator(mode="after")
    def _event_or_session(self) -> Conversion:
        if self.event is None and self.session is None:
            raise ValueError("a conversion needs 'event' (or a 'session' threshold)")
        if self.count is not None and self.session is not None:
            raise ValueError("use either 'count' (per user) or 'session', not both")
        return self

    @property
    def events(self) -> list[str]:
        """The event names this conversion reads (page events for a session threshold)."""
        return self.event or list(PAGE_EVENTS)


PAGE_EVENTS = ("page_view",)


class ConversionOrInline(EventMatch):
    """A conversion named by ``conversion:`` (or a bare string), or an inline event match."""

    ref: str | None = Field(None, alias="conversion")
    event: Names | None = None  # type: ignore[assignment]
    _what: ClassVar[str] = "item"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"conversion": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _ref_or_event(self) -> ConversionOrInline:
        what = self._what
        if (self.ref is None) == (self.event is None):
            raise ValueError(f"a {what} is either a conversion name or an inline {{event: ..., where: ...}}")
        if self.ref is not None and self.where:
            raise ValueError(f"a {what} that names a conversion cannot add 'where'; put it in the conversion")
        return self


class Step(ConversionOrInline):
    """A funnel step, with optional limits on the time since the previous step (docs/semantics.md 4.3)."""

    label: str | None = None
    within: Duration | None = None
    after: Duration | None = None
    _what: ClassVar[str] = "step"

    @model_validator(mode="after")
    def _limits_overlap(self) -> Step:
        if self.within is not None and self.after is not None and self.after > self.within:
            raise ValueError(f"'after' ({_text(self.after)}) is longer than 'within' ({_text(self.within)}): "
                             "no event could match")
        return self

    @property
    def name(self) -> str:
        return self.label or self.ref or " | ".join(self.event or [])


class Exclusion(ConversionOrInline):
    """Events that spoil an attempt between two steps (docs/semantics.md 4.4)."""

    between: tuple[str | int, str | int] | None = None
    _what: ClassVar[str] = "exclusion"


ATTRIBUTIONS = ("first_touch", "last_touch", "step:N")


def parse_attribution(value: Any) -> str:
    """``first_touch``, ``last_touch``, ``step:N`` (also ``step N`` or ``{step: N}``), normalised to
    ``first_touch`` / ``last_touch`` / ``step:N`` (docs/semantics.md 8.2)."""
    if isinstance(value, dict) and set(value) == {"step"}:
        value = f"step:{value['step']}"
    text = str(value).strip().lower().replace("-", "_")
    if text in ("first_touch", "last_touch"):
        return text
    match = re.fullmatch(r"step\s*[:= ]?\s*(\d+)", text)
    if match and int(match.group(1)) >= 1:
        return f"step:{int(match.group(1))}"
    raise ValueError(f"{value!r} is not an attribution; expected first_touch, last_touch or step:N (e.g. step:2)")


Attribution = Annotated[str, BeforeValidator(parse_attribution)]


class Breakdown(StrictModel):
    """Split a funnel by a property's value (docs/semantics.md 8.2)."""

    by: str = Field(min_length=1)
    attribution: Attribution = "first_touch"
    top: int = Field(10, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"by": data} if isinstance(data, str) else data

    @field_validator("by")
    @classmethod
    def _a_property(cls, value: str) -> str:
        if value in ("user", "ts", "$session"):
            raise ValueError(f"cannot break down by {value!r}: use a property (or 'event' for the event name)")
        return value


class Funnel(StrictModel):
    steps: list[Step] = Field(min_length=1)
    window: Duration = timedelta(days=30)
    label: str | None = None
    order: Literal["ordered", "strict", "any"] = "ordered"
    entry: Literal["best_attempt", "first"] = "best_attempt"
    count: Literal["users", "sessions"] = "users"
    exclude: list[Exclusion] = []
    breakdown: Breakdown | None = None  # attribution step:N <= len(steps) is checked by parse_config

    def step_index(self, ref: str | int) -> int | None:
        """0-based index of a step named by 1-based number, conversion name or label."""
        if isinstance(ref, int):
            return ref - 1 if 1 <= ref <= len(self.steps) else None
        for i, step in enumerate(self.steps):
            if ref in (step.ref, step.label, step.name):
                return i
        return None

    def exclusion_bounds(self, exclusion: Exclusion) -> tuple[int, int]:
        """0-based (from, to) steps of an exclusion; the first and last step by default."""
        if exclusion.between is None:
            return 0, len(self.steps) - 1
        lo, hi = (self.step_index(b) for b in exclusion.between)
        assert lo is not None and hi is not None, "checked by parse_config"
        return lo, hi


def check_attribution_step(attribution: str, steps: int) -> None:
    if attribution.startswith("step:") and int(attribution[5:]) > steps:
        raise ValueError(f"attribution {attribution} names a step the funnel does not have ({steps} steps)")


class DerivedProperty(StrictModel):
    """A property computed from a column: a URL part, a JSON field, and/or one value per user (8.1)."""

    from_: Names = Field(alias="from")
    query: str | None = Field(None, min_length=1)
    url: Literal["path", "host"] | None = None
    json_: str | None = Field(None, alias="json")
    per_user: Literal["first", "last"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"from": data} if isinstance(data, (str, list)) else data

    @model_validator(mode="after")
    def _one_extraction(self) -> DerivedProperty:
        given = [k for k, v in (("query", self.query), ("url", self.url), ("json", self.json_)) if v is not None]
        if len(given) > 1:
            raise ValueError(f"use one of query, url and json, not {' and '.join(given)}")
        return self

    @property
    def columns(self) -> list[str]:
        """Column aliases to read, a JSON field folded in as a dotted path (``event_data.method``)."""
        return [f"{c}.{self.json_}" for c in self.from_] if self.json_ else list(self.from_)


class Columns(StrictModel):
    """How the export names things; a list gives aliases, the first present in a file wins."""

    user: Names = ["user_id", "userId", "client_id", "clientId", "distinct_id", "anonymous_id"]
    event: Names = ["event_name", "event", "event_type"]
    timestamp: Names = ["timestamp", "event_timestamp", "event_time", "time"]
    timestamp_unit: Literal["s", "ms", "us", "ns"] | None = None
    timezone: str = "UTC"
    session: Names | None = None
    properties: dict[Name, DerivedProperty] = {}

    _reserved = field_validator("properties")(classmethod(lambda cls, v: _not_reserved(v)))

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like 'Europe/Berlin'") from None
        return value


_CHANGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(pp|%)?\s*$")


def parse_change(value: Any) -> tuple[float, str]:
    """``5pp`` (percentage points of a rate), ``10%`` (relative) or a number (in the metric's unit)."""
    if isinstance(value, bool):
        raise ValueError("expected a change like '5pp', '10%' or a number")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("a change cannot be negative; use 'drop' or 'rise'")
        return float(value), ""
    match = _CHANGE.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a change; expected e.g. '5pp' (points), '10%' (relative) or a number")
    return float(match.group(1)), match.group(2) or ""


Change = Annotated[tuple[float, str], BeforeValidator(parse_change)]


class Limit(StrictModel):
    """Bounds on a metric: ``min``/``max`` on this run's value, ``drop``/``rise`` against ``--baseline``."""

    min: float | None = None
    max: float | None = None
    drop: Change | None = None
    rise: Change | None = None

    @model_validator(mode="after")
    def _something(self) -> Limit:
        if not self.model_fields_set:
            raise ValueError("a limit needs min, max, drop and/or rise, e.g. {min: 0.35} or {drop: 5pp}")
        return self


FUNNEL_METRICS = ("users", "rate_from_start", "rate_from_previous", "dropped", "median_seconds_from_previous")
CONVERSION_METRICS = ("users", "share", "macro_rate_with", "lift")
RATE_METRICS = ("rate_from_start", "rate_from_previous", "share", "macro_rate_with")


class Alert(StrictModel):
    """One metric of a funnel step or of a micro-conversion, and its limit (docs/semantics.md 10)."""

    name: str | None = None
    funnel: str | None = None
    conversion: str | None = None
    step: str | int | None = None
    users: Limit | None = None
    rate_from_start: Limit | None = None
    rate_from_previous: Limit | None = None
    dropped: Limit | None = None
    median_seconds_from_previous: Limit | None = None
    share: Limit | None = None
    macro_rate_with: Limit | None = None
    lift: Limit | None = None

    @model_validator(mode="after")
    def _one_target_one_metric(self) -> Alert:
        if (self.funnel is None) == (self.conversion is None):
            raise ValueError("an alert watches either a 'funnel' (with an optional 'step') or a 'conversion'")
        if self.conversion is not None and self.step is not None:
            raise ValueError("'step' belongs to funnel alerts")
        allowed = FUNNEL_METRICS if self.funnel is not None else CONVERSION_METRICS
        given = [m for m in dict.fromkeys(FUNNEL_METRICS + CONVERSION_METRICS) if getattr(self, m) is not None]
        if len(given) != 1 or given[0] not in allowed:
            what = "funnel" if self.funnel is not None else "conversion"
            raise ValueError(f"a {what} alert needs exactly one metric of: {', '.join(allowed)}"
                             + (f" (got {', '.join(given)})" if given else ""))
        changes = [c for c in (self.limit.drop, self.limit.rise) if c is not None]
        if any(unit == "pp" for _, unit in changes) and given[0] not in RATE_METRICS:
            raise ValueError(f"'pp' (percentage points) is for rates; {given[0]} takes a number or a relative '10%'")
        return self

    @property
    def metric(self) -> str:
        return next(m for m in dict.fromkeys(FUNNEL_METRICS + CONVERSION_METRICS) if getattr(self, m) is not None)

    @property
    def limit(self) -> Limit:
        return getattr(self, self.metric)


class Config(StrictModel):
    columns: Columns = Columns()
    conversions: dict[Name, Conversion] = {}
    funnels: dict[Name, Funnel] = {}
    alerts: list[Alert] = []
    session_timeout: Duration = timedelta(minutes=30)
    _located: Any = PrivateAttr(default=None)

    def matchers(self):
        """Every inline event matcher with its path in the file: conversions, steps, exclusions."""
        for name, conv in self.conversions.items():
            yield ("conversions", name), conv
        for fname, funnel in self.funnels.items():
            for part, items in (("steps", funnel.steps), ("exclude", funnel.exclude)):
                for i, item in enumerate(items):
                    if item.event is not None:
                        yield ("funnels", fname, part, i), item
