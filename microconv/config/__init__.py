"""Load and validate a funnels config, reporting every problem with its place in the file."""
from __future__ import annotations

import hashlib
import re
import reprlib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import ConfigError, Problem, did_you_mean
from .base import parse_duration
from .presets import apply_presets
from .model import (OPERATORS, Condition, Config, Conversion, Exclusion, Funnel, Step, check_attribution_step,
                    parse_attribution)
from .yaml_source import SourceMap, YamlSyntaxError, load_yaml

__all__ = ["Config", "Conversion", "Exclusion", "Funnel", "Step", "Condition", "load_config", "parse_config",
           "parse_duration", "Located"]


class Located:
    """A validated config plus where each of its parts came from, for error messages."""

    def __init__(self, file: str | None, source: SourceMap | None, data: Any = None, sha256: str | None = None):
        self.file = file
        self.source = source
        self.data = data
        self.sha256 = sha256    # of the bytes that were parsed: a manifest must not re-read a file edited since

    def has(self, *loc: str | int) -> bool:
        """Whether the config itself spells out ``loc`` (rather than relying on a default)."""
        node = self.data
        for part in loc:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                return False
        return True

    def where(self, *loc: str | int, value: bool = False) -> str | None:
        """``file:line:column`` of the key at ``loc`` (of its value with ``value=True``)."""
        if self.source is None:
            return ".".join(str(p) for p in loc) if loc else self.file
        locate = self.source.locate_value if value else self.source.locate
        return str(locate(tuple(loc)))

    def sort(self, problems: list[Problem]) -> list[Problem]:
        """Problems in the order they appear in the file."""
        return sorted(problems, key=self._position)

    def _position(self, problem: Problem) -> tuple:
        if self.source is None or not problem.where:
            return (0, 0)
        parts = problem.where.rsplit(":", 2)
        return tuple(int(p) if p.isdigit() else 0 for p in parts[1:])


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file.

    Raises:
        ConfigError: the file is missing, not YAML, or not a valid config; lists every problem.
    """
    path = Path(path)
    try:
        raw = _read_bounded(path)   # once: `-c <(...)` is a pipe, and the manifest hashes these bytes
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")   # as read_text's newlines
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}",
                          hint="pass one with -c FILE, or write a starter config from your log with "
                               "microconv init EVENTS; funnels.example.yaml shows every feature") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config: {exc}", where=str(path)) from None
    try:
        data, source = load_yaml(text, str(path))
    except YamlSyntaxError as exc:
        hint = exc.hint or ("remove or rename one of them" if exc.message.startswith("duplicate key")
                            else "check the indentation and quoting on that line")
        raise ConfigError(exc.message, where=str(exc.location), hint=hint) from None
    return parse_config(data, located=Located(str(path), source, data, hashlib.sha256(raw).hexdigest()))


MAX_CONFIG_BYTES = 1 << 20   # a config of every feature is about 10 KB


def _read_bounded(path: Path) -> bytes:
    """The file's bytes, refused past MAX_CONFIG_BYTES: ``-c /dev/zero`` would otherwise fill memory."""
    with open(path, "rb") as f:
        raw = f.read(MAX_CONFIG_BYTES + 1)
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"the config is larger than {MAX_CONFIG_BYTES >> 20} MiB", where=str(path),
                          hint="is this the right file? a config is a few KB of YAML")
    return raw


def parse_config(data: Any, *, located: Located | None = None) -> Config:
    """Validate plain data (as from YAML) into a :class:`Config`.

    Raises:
        ConfigError: every schema and cross-reference problem, each with its location.
    """
    located = located or Located(None, None, data)
    if data is None:
        raise ConfigError("the config is empty", where=located.file,
                          hint="define at least one funnel; see funnels.example.yaml")
    resolved = apply_presets(data)      # located keeps what the user wrote: has() tells set from preset
    problems = list(_cross_reference(resolved, located))
    try:
        config = Config.model_validate(resolved)
    except ValidationError as exc:
        problems += [_problem(err, located) for err in exc.errors()]
    if problems:
        raise ConfigError(_bounded(located.sort(problems)))
    config._located = located
    return config


def located_of(config: Config) -> Located:
    return config._located or Located(None, None)


def _cross_reference(data: Any, located: Located):
    """Checks across sections, run on the raw data so they are reported beside schema errors."""
    if not isinstance(data, dict):
        return
    funnels = data.get("funnels") if isinstance(data.get("funnels"), dict) else {}
    conversions = data.get("conversions") if isinstance(data.get("conversions"), dict) else {}
    if not funnels and not conversions:
        yield Problem("the config defines no funnels and no conversions", located.where(),
                      "add a 'funnels:' section; see funnels.example.yaml")
    columns = data.get("columns") if isinstance(data.get("columns"), dict) else {}
    for fname, funnel in funnels.items():
        if isinstance(funnel, dict):
            yield from _check_funnel(fname, funnel, conversions, located)
            held = funnel.get("hold")
            if (held == "$session" or isinstance(held, list) and "$session" in held) and not columns.get("session"):
                yield Problem(f"funnel {fname!r} holds $session constant, but the config names no session column",
                              located.where("funnels", fname, "hold"),
                              "set columns.session to the export's session id column, or use count: sessions "
                              "(sessions by inactivity)")
    properties = columns.get("properties") if isinstance(columns.get("properties"), dict) else {}
    yield from _check_engagement(properties, conversions, funnels, located)
    alerts = data.get("alerts") if isinstance(data.get("alerts"), list) else []
    for i, alert in enumerate(alerts):
        if isinstance(alert, dict):
            yield from _check_alert(i, alert, funnels, conversions, located)


def _check_alert(i: int, alert: dict, funnels: dict, conversions: dict, located: Located):
    """An alert names a funnel and step, or a micro-conversion, that exist."""
    loc = ("alerts", i)
    fname, cname = alert.get("funnel"), alert.get("conversion")
    if isinstance(fname, str) and fname not in funnels:
        yield Problem(f"alert {i + 1}: unknown funnel {fname!r}", located.where(*loc, "funnel", value=True),
                      did_you_mean(fname, funnels, what="funnels"))
    elif isinstance(fname, str) and "step" in alert and isinstance(funnels[fname], dict):
        steps = funnels[fname].get("steps") if isinstance(funnels[fname].get("steps"), list) else []
        names = [_step_names(s) for s in steps]
        if steps and _find_step(alert["step"], names) is None:
            known = [n for group in names for n in group]
            yield Problem(f"alert {i + 1}: {alert['step']!r} is not a step of funnel {fname!r}",
                          located.where(*loc, "step", value=True),
                          did_you_mean(alert["step"], known, what="steps") if isinstance(alert["step"], str)
                          else f"steps are numbered 1 to {len(steps)}")
    if isinstance(cname, str):
        if cname not in conversions:
            yield Problem(f"alert {i + 1}: unknown conversion {cname!r}", located.where(*loc, "conversion", value=True),
                          did_you_mean(cname, conversions, what="conversions"))
        elif isinstance(conversions[cname], dict) and conversions[cname].get("kind") == "macro":
            yield Problem(f"alert {i + 1}: {cname!r} is the macro goal; the micro-conversion report has a row "
                          "per milestone and secondary conversion", located.where(*loc, "conversion", value=True),
                          "watch the goal through a funnel's last step instead")


def _check_engagement(properties: dict, conversions: dict, funnels: dict, located: Located):
    """An engagement level (semantics 8.5) counts conversions that exist; and as it is computed
    from conversions after loading, no event matcher may test it, nor a funnel hold it."""
    levels = [name for name, spec in properties.items() if isinstance(spec, dict) and "count_of" in spec]
    for name in levels:
        spec, loc = properties[name], ("columns", "properties", name)
        counted = spec["count_of"]
        refs = [(c, (*loc, "count_of", k)) for k, c in enumerate(counted)] if isinstance(counted, list) else \
            [(counted, (*loc, "count_of"))]
        refs += [(spec["before"], (*loc, "before"))] if "before" in spec else []
        for conv, at in refs:
            if isinstance(conv, str) and conv not in conversions:
                yield Problem(f"engagement property {name!r} names unknown conversion {conv!r}",
                              located.where(*at, value=True),
                              did_you_mean(conv, conversions, what="conversions") or "define it under 'conversions:'")
    if not levels:
        return
    for at, where in _where_maps(conversions, funnels):
        for name in levels:
            if name in where:
                yield Problem(f"{name!r} is an engagement level, computed from the conversions after loading: "
                              "an event condition cannot test it", located.where(*at, "where", name),
                              f"break down by it instead (--by {name}, or breakdown: {{by: {name}}})")
    for fname, funnel in funnels.items():
        held = funnel.get("hold") if isinstance(funnel, dict) else None
        for name in levels:
            if held == name or isinstance(held, list) and name in held:
                yield Problem(f"funnel {fname!r} holds {name!r}, an engagement level: it is one value per user, "
                              "so holding it changes nothing", located.where("funnels", fname, "hold"),
                              f"remove it from hold; break down by it instead (--by {name})")


def _where_maps(conversions: dict, funnels: dict):
    """(location, where mapping) of every conversion, funnel step and exclusion written with ``where``."""
    for cname, conv in conversions.items():
        if isinstance(conv, dict) and isinstance(conv.get("where"), dict):
            yield ("conversions", cname), conv["where"]
    for fname, funnel in funnels.items():
        for part in ("steps", "exclude"):
            items = funnel.get(part) if isinstance(funnel, dict) and isinstance(funnel.get(part), list) else []
            for i, item in enumerate(items):
                if isinstance(item, dict) and isinstance(item.get("where"), dict):
                    yield ("funnels", fname, part, i), item["where"]


def _check_funnel(fname: str, funnel: dict, conversions: dict, located: Located):
    steps = funnel.get("steps") if isinstance(funnel.get("steps"), list) else []
    for i, step in enumerate(steps):
        yield from _check_ref(step, conversions, located, ("funnels", fname, "steps", i),
                              f"step {i + 1} of funnel {fname!r}")
        if not isinstance(step, dict):
            continue
        for limit in ("within", "after"):
            if limit not in step:
                continue
            if i == 0:
                yield Problem(f"step 1 of funnel {fname!r} has no previous step, so it cannot have {limit!r}",
                              located.where("funnels", fname, "steps", 0, limit),
                              "limits apply to the time since the previous step; use the funnel's 'window'")
            elif funnel.get("order") in ("any", "unordered"):
                yield Problem(f"{limit!r} needs a previous step, which order: {funnel['order']} does not have",
                              located.where("funnels", fname, "steps", i, limit),
                              "remove it, or use order: ordered or strict")
    optional = [i for i, step in enumerate(steps) if isinstance(step, dict) and step.get("optional") is True]
    for i in optional:
        yield from _check_optional(fname, funnel, i, len(steps), located)
    names = [_step_names(s) for s in steps]
    split = funnel.get("breakdown")
    if isinstance(split, dict) and "attribution" in split and steps:
        try:
            attribution = parse_attribution(split["attribution"])
        except ValueError:
            attribution = None                       # the schema reports it
        try:
            if attribution:
                check_attribution_step(attribution, len(steps))
        except ValueError as exc:
            yield Problem(str(exc), located.where("funnels", fname, "breakdown", "attribution", value=True))
    exclude = funnel.get("exclude") if isinstance(funnel.get("exclude"), list) else []
    if exclude and len(steps) < 2:
        yield Problem(f"funnel {fname!r} has exclusions but one step: an exclusion needs a step before and after",
                      located.where("funnels", fname, "exclude"), "add steps, or remove 'exclude'")
    if exclude and funnel.get("order") == "unordered":
        yield Problem(f"funnel {fname!r} has exclusions, which order: unordered does not support (semantics 4.9.5)",
                      located.where("funnels", fname, "exclude"),
                      "its steps have no fixed order for 'between' to name; remove 'exclude', or use order: any")
    for j, item in enumerate(exclude):
        loc = ("funnels", fname, "exclude", j)
        yield from _check_ref(item, conversions, located, loc, f"exclusion {j + 1} of funnel {fname!r}")
        between = item.get("between") if isinstance(item, dict) else None
        if not isinstance(between, list) or len(between) != 2 or not steps:
            continue
        found = [_find_step(b, names) for b in between]
        for k, (b, idx) in enumerate(zip(between, found)):
            if idx is None:
                known = [n for group in names for n in group]
                yield Problem(f"{b!r} is not a step of funnel {fname!r}", located.where(*loc, "between", k, value=True),
                              did_you_mean(b, known, what="steps") if isinstance(b, str)
                              else f"steps are numbered 1 to {len(steps)}")
        if None not in found and found[0] >= found[1]:
            yield Problem(f"'between' must name an earlier step first, got steps {found[0] + 1} and {found[1] + 1}",
                          located.where(*loc, "between", value=True))
        for k, idx in enumerate(found):
            if idx in optional:
                yield Problem(f"'between' names step {idx + 1}, which is optional: an attempt may not have done it",
                              located.where(*loc, "between", k, value=True),
                              "name the required step before or after it")


def _check_optional(fname: str, funnel: dict, i: int, n: int, located: Located):
    """Rule 4.12.1: an optional step sits between two required ones, in an ordered funnel, without
    limits of its own."""
    loc = ("funnels", fname, "steps", i, "optional")
    if i in (0, n - 1):
        yield Problem(f"step {i + 1} of funnel {fname!r} is its {'first' if i == 0 else 'last'} step, which cannot "
                      "be optional", located.where(*loc), "an optional step lies between two required steps")
    order = funnel.get("order", "ordered")
    if order != "ordered":
        yield Problem(f"funnel {fname!r} has an optional step, which order: {order} does not support "
                      "(semantics 4.12.1)", located.where(*loc), "use order: ordered, or make the step required")
    for limit in ("within", "after"):
        if limit in funnel["steps"][i]:
            yield Problem(f"step {i + 1} of funnel {fname!r} is optional and cannot have {limit!r}",
                          located.where("funnels", fname, "steps", i, limit),
                          "limits on the next required step run from the required step before it")


def _check_ref(item: Any, conversions: dict, located: Located, loc: tuple, what: str):
    name = item if isinstance(item, str) else item.get("conversion") if isinstance(item, dict) else None
    if isinstance(name, str) and name not in conversions:
        at = loc if isinstance(item, str) else (*loc, "conversion")
        yield Problem(f"{what} names unknown conversion {name!r}", located.where(*at, value=not isinstance(item, str)),
                      did_you_mean(name, conversions, what="conversions")
                      or "define it under 'conversions:' or write it as {event: NAME}")


def _step_names(step: Any) -> list[str]:
    """What a step may be called in 'between': its conversion name, label or inline event name."""
    if isinstance(step, str):
        return [step]
    if not isinstance(step, dict):
        return []
    event = step.get("event")
    inline = " | ".join(map(str, event)) if isinstance(event, list) else event
    return [str(n) for n in (step.get("conversion"), step.get("label"), inline) if n]


def _find_step(ref: Any, names: list[list[str]]) -> int | None:
    if isinstance(ref, bool):
        return None
    if isinstance(ref, int):
        return ref - 1 if 1 <= ref <= len(names) else None
    return next((i for i, group in enumerate(names) if str(ref) in group), None)


def _problem(err: Mapping[str, Any], located: Located) -> Problem:
    loc = tuple(err["loc"])
    where = located.where(*loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        key = loc[-1]
        allowed = _allowed_keys(loc[:-1])
        return Problem(f"unknown key {shown(key)}", where, did_you_mean(key, allowed, what="keys"))
    if kind == "missing":
        return Problem(f"missing required key {loc[-1]!r}", where)
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", err.get("ctx", {}).get("expected", ""))
        given = err.get("input")
        return Problem(f"{loc[-1]} must be one of {', '.join(map(repr, choices))}, got {shown(given)}", where,
                       did_you_mean(given, choices, what="values") if isinstance(given, str) and len(given) <= 80
                       else None)
    msg = err["msg"].removeprefix("Value error, ")
    if kind.startswith(("string_", "int_", "float_", "bool_", "list_", "dict_", "literal_", "timedelta")):
        msg = f"{msg}, got {shown(err.get('input'))}"
    return Problem(msg, where)


SHOWN_CHARS = 80         # of a value echoed in a message
MESSAGE_CHARS = 400      # of a whole message (a validator may quote a value at length)
MAX_PROBLEMS = 50        # listed of one config; the rest are counted


def shown(value: Any) -> str:
    """``repr(value)``, cut to SHOWN_CHARS: a config's value may be huge (a long list, or an alias
    standing for one), and the message only needs to say which it is."""
    short = reprlib.Repr()
    short.maxstring = short.maxother = SHOWN_CHARS
    short.maxlist = short.maxdict = short.maxtuple = short.maxset = 6
    short.maxlevel = 3
    text = short.repr(value)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 3] + "..."


def _bounded(problems: list[Problem]) -> list[Problem]:
    """At most MAX_PROBLEMS problems of at most MESSAGE_CHARS each, so that stderr stays readable
    however large the config is."""
    out = [p if len(p.message) <= MESSAGE_CHARS else Problem(p.message[:MESSAGE_CHARS - 3] + "...", p.where, p.hint)
           for p in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        out.append(Problem(f"... and {len(problems) - MAX_PROBLEMS:,} more problems", problems[MAX_PROBLEMS].where))
    return out


def _allowed_keys(loc: tuple) -> list[str]:
    """The keys the model accepts at ``loc``, for did-you-mean on an unknown key."""
    node: Any = Config
    for part in loc:
        node = _child_type(node, part)
        if node is None:
            return []
    node = _unwrap(node)
    if node is Condition:
        return list(OPERATORS)
    if isinstance(node, type) and issubclass(node, BaseModel):
        return [f.alias or name for name, f in node.model_fields.items()]
    return []


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and len(args) == 1:
        return _unwrap(args[0])
    return tp


def _child_type(tp: Any, part: str | int) -> Any:
    tp = _unwrap(tp)
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        return typing.get_args(tp)[0]
    if origin is dict:
        return typing.get_args(tp)[1]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, field in tp.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
    return None
