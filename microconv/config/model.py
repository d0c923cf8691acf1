"""The typed config model.

Shorthand (a bare string for a list of one, a scalar for equality, a conversion name for a
step) is expanded *before* validation, so that every pydantic error ``loc`` is a real path in
the YAML file and can be pointed at by line and column.
"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Discriminator, Field, PrivateAttr, Tag, field_validator, model_validator

from .alerts import Alert
from .presets import Counting
from .base import Constant, Duration, Name, Names, NamesOrConstant, Scalar, StrictModel, duration_text, parse_duration


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
    optional: bool = False           # may be skipped (4.12; checked against its place by parse_config)
    _what: ClassVar[str] = "step"

    @model_validator(mode="after")
    def _limits_overlap(self) -> Step:
        if self.within is not None and self.after is not None and self.after > self.within:
            raise ValueError(f"'after' ({duration_text(self.after)}) is longer than "
                             f"'within' ({duration_text(self.within)}): no event could match")
        return self

    @property
    def name(self) -> str:
        return self.label or self.ref or " | ".join(self.event or [])


class Exclusion(ConversionOrInline):
    """Events that spoil an attempt between two steps (docs/semantics.md 4.4)."""

    between: tuple[str | int, str | int] | None = None
    _what: ClassVar[str] = "exclusion"


ATTRIBUTIONS = ("first_touch", "last_touch", "first_defined", "last_defined", "step:N")


def parse_attribution(value: Any) -> str:
    """``first_touch``, ``last_touch``, ``first_defined``, ``last_defined``, ``step:N`` (also
    ``step N`` or ``{step: N}``), normalised to those spellings (docs/semantics.md 8.2)."""
    if isinstance(value, dict) and set(value) == {"step"}:
        value = f"step:{value['step']}"
    text = str(value).strip().lower().replace("-", "_")
    if text in ("first_touch", "last_touch", "first_defined", "last_defined"):
        return text
    match = re.fullmatch(r"step\s*[:= ]?\s*(\d+)", text)
    if match and int(match.group(1)) >= 1:
        return f"step:{int(match.group(1))}"
    raise ValueError(f"{value!r} is not an attribution; expected first_touch, last_touch, first_defined, "
                     "last_defined or step:N (e.g. step:2)")


Attribution = Annotated[str, BeforeValidator(parse_attribution)]


class Breakdown(StrictModel):
    """Split a funnel by a property's value, or by the combination of several (docs/semantics.md 8.2)."""

    by: tuple[str, ...] = Field(min_length=1)     # `by: a` is `by: [a]`
    attribution: Attribution = "first_touch"
    top: int = Field(10, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        data = {"by": data} if isinstance(data, (str, list, tuple)) else data
        if isinstance(data, dict) and isinstance(data.get("by"), str):
            data = {**data, "by": [data["by"]]}
        return data

    @field_validator("by")
    @classmethod
    def _properties(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if name in ("user", "ts", "$session"):
                raise ValueError(f"cannot break down by {name!r}: use a property (or 'event' for the event name)")
        return distinct_names(value, "a breakdown property", "the breakdown's by")


def distinct_names(value: tuple[str, ...], what: str, where: str) -> tuple[str, ...]:
    """``value`` when none of its names is empty or given twice."""
    if any(not name for name in value):
        raise ValueError(f"{what} name cannot be empty")
    twice = [name for i, name in enumerate(value) if name in value[:i]]
    if twice:
        raise ValueError(f"{twice[0]!r} is given twice in {where}")
    return value


class Funnel(StrictModel):
    steps: list[Step] = Field(min_length=1)
    window: Duration = timedelta(days=30)
    label: str | None = None
    order: Literal["ordered", "strict", "any", "unordered"] = "ordered"
    entry: Literal["best_attempt", "first"] = "best_attempt"
    count: Literal["users", "sessions", "totals"] = "users"
    exclude: list[Exclusion] = []
    breakdown: Breakdown | None = None  # attribution step:N <= len(steps) is checked by parse_config
    hold: tuple[str, ...] = ()          # properties every step of an attempt shares (semantics 4.11)
    open_windows: Literal["in_progress", "dropped"] = "in_progress"   # semantics 4.13
    counting: Counting | None = None    # the preset its unset rules came from (filled in by parse_config)

    @field_validator("hold", mode="before")
    @classmethod
    def _one_held(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("hold")
    @classmethod
    def _held(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if name in ("user", "ts"):
                raise ValueError(f"cannot hold {name!r} constant: every step of an attempt already has the same "
                                 "user, and times differ; hold a property (or $session, or event)")
        return distinct_names(value, "a held property", "hold")

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
    """A property computed from a column: a URL part, a JSON field, and/or one value per user (8.1);
    or, with ``count_of``, from conversions: each user's engagement level (8.5), which no file holds."""

    from_: Names = Field([], alias="from")      # [] only for an engagement level: it reads no column
    query: str | None = Field(None, min_length=1)
    url: Literal["path", "host"] | None = None
    json_: str | None = Field(None, alias="json")
    per_user: Literal["first", "last"] | None = None
    count_of: Names | None = None               # engagement: how many of these conversions ...
    before: Name | None = None                  # ... before the first of this one (None: ever)
    levels: int | None = Field(None, ge=1)      # "0" ... "levels-1", then "levels+"; see .top

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"from": data} if isinstance(data, (str, list)) else data

    @model_validator(mode="after")
    def _one_extraction(self) -> DerivedProperty:
        given = [k for k, v in (("query", self.query), ("url", self.url), ("json", self.json_)) if v is not None]
        if len(given) > 1:
            raise ValueError(f"use one of query, url and json, not {' and '.join(given)}")
        if self.count_of is not None:
            return self._engagement(given)
        if not self.from_:
            raise ValueError("missing required key 'from'")   # as pydantic says it: count_of is the exception
        extra = [k for k in ("before", "levels") if k in self.model_fields_set]
        if extra:
            raise ValueError(f"{' and '.join(map(repr, extra))} go with 'count_of' (an engagement level, "
                             "semantics 8.5)")
        return self

    def _engagement(self, given: list[str]) -> DerivedProperty:
        """An engagement level is computed, not read, and each of its levels can be reached."""
        read = [k for k, v in (("from", self.from_), ("per_user", self.per_user)) if v] + given
        if read:
            raise ValueError(f"an engagement level (count_of) is computed from conversions, not read from a "
                             f"column: remove {' and '.join(map(repr, read))}")
        names = distinct_names(tuple(self.count_of), "a counted conversion", "count_of")
        if self.before in names:
            raise ValueError(f"{self.before!r} is the 'before' conversion, so it cannot be counted before itself: "
                             "remove it from count_of")
        if self.levels is not None and self.levels > len(names):
            raise ValueError(f"levels: {self.levels} needs at least {self.levels} conversions in count_of (it has "
                             f"{len(names)}), or level {self.levels}+ can never be reached")
        return self

    @property
    def engagement(self) -> bool:
        """Whether this is an engagement level: a value per user computed after loading, not a column read."""
        return self.count_of is not None

    @property
    def top(self) -> int:
        """The engagement level counted as ``N+``: ``levels``, by default 3 (at most one per conversion
        counted, so that every level can be reached)."""
        return self.levels if self.levels is not None else min(3, len(self.count_of or ()))

    @property
    def labels(self) -> list[str]:
        """An engagement level's values in order: ``"0"``, ``"1"``, ... ``"N-1"``, ``"N+"`` (N = :attr:`top`)."""
        return [str(k) for k in range(self.top)] + [f"{self.top}+"]

    @property
    def columns(self) -> list[str]:
        """Column aliases to read, a JSON field folded in as a dotted path (``event_data.method``)."""
        return [f"{c}.{self.json_}" for c in self.from_] if self.json_ else list(self.from_)


class Identity(StrictModel):
    """One person behind several ids (docs/semantics.md 1.9): a row's user is its ``known`` id
    (aliases, the first present in a file wins); a row without one takes the known id its
    ``anonymous`` id was first seen with, else the anonymous id itself. Every ``anonymous``
    column is read, and a row's anonymous id is the first of them with a value on that row:
    a visitor's events before login join the account, as the analytics vendors' id merges do."""

    known: Names
    anonymous: Names


def _user_form(value: Any) -> str:
    return "identity" if isinstance(value, (dict, Identity)) else "aliases"


# One form's errors only, by the value's shape: a mapping is an Identity, anything else aliases.
UserIds = Annotated[Annotated[Identity, Tag("identity")] | Annotated[Names, Tag("aliases")], Discriminator(_user_form)]


class Columns(StrictModel):
    """How the export names things; a list gives aliases, the first present in a file wins."""

    user: UserIds = ["user_id", "userId", "client_id", "clientId", "distinct_id", "anonymous_id"]
    event: NamesOrConstant = ["event_name", "event", "event_type"]   # a {constant: NAME} entry: files without one
    timestamp: Names = ["timestamp", "event_timestamp", "event_time", "time"]
    timestamp_unit: Literal["s", "ms", "us", "ns"] | None = None
    timezone: str = "UTC"
    session: Names | None = None
    properties: dict[Name, DerivedProperty] = {}

    _reserved = field_validator("properties")(classmethod(lambda cls, v: _not_reserved(v)))

    @property
    def known_user(self) -> list[str]:
        """The user column's aliases (the known ids of an :class:`Identity`): what the plan resolves per file."""
        return list(self.user.known if isinstance(self.user, Identity) else self.user)

    @property
    def anonymous_user(self) -> list[str]:
        """The anonymous id columns, every one read (none unless ``user`` is an :class:`Identity`)."""
        return list(self.user.anonymous) if isinstance(self.user, Identity) else []

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like 'Europe/Berlin'") from None
        return value


class Config(StrictModel):
    counting: Counting = "microconv"      # every funnel's preset, unless it names its own (6.1)
    columns: Columns = Columns()
    conversions: dict[Name, Conversion] = {}
    funnels: dict[Name, Funnel] = {}
    alerts: list[Alert] = []
    session_timeout: Duration = timedelta(minutes=30)
    title: Annotated[str, Field(min_length=1)] | None = None   # the HTML report's title (else the file's name)
    currency: str | None = None           # ISO 4217 code printed on every money figure; None: plain "value"
    _located: Any = PrivateAttr(default=None)

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str | None) -> str | None:
        """A code, not a symbol: "EUR" reads the same in every locale and mail client, "€" does not say
        which dollar "$" is."""
        if value is not None and not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError(f"currency {value!r} is not an ISO 4217 code; use three capital letters like EUR or USD")
        return value

    def matchers(self):
        """Every inline event matcher with its path in the file: conversions, steps, exclusions."""
        for name, conv in self.conversions.items():
            yield ("conversions", name), conv
        for fname, funnel in self.funnels.items():
            for part, items in (("steps", funnel.steps), ("exclude", funnel.exclude)):
                for i, item in enumerate(items):
                    if item.event is not None:
                        yield ("funnels", fname, part, i), item
