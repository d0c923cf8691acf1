"""The column plan: which column of a file (and which path inside it) each core column and
property is read from, checked before any row is read.

A plan maps ``user``, ``event``, ``timestamp`` and ``prop:NAME`` to ``(column, path)``: the first
alias the file has, a path into a JSON-string or struct column, or ``(None, ())`` for a property
this file lacks. With ``columns.user: {known, anonymous}`` it maps ``anon:0``, ``anon:1``... too,
one per anonymous column (``(None, ())`` where the file lacks it), and ``user`` may be ``(None,
())`` in a file that has an anonymous column. Files are planned one by one, so that aliases resolve per file.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyarrow as pa

from ..config import Config, located_of
from ..config.base import Constant
from ..config.model import RESERVED
from ..errors import DataError, Problem, did_you_mean
from .frame import CORE, SESSION
from .sources import Source


def needed_properties(config: Config, extra: Iterable[str] = ()) -> list[str]:
    """Property names to read that the config refers to (``where`` keys, ``value:``, ``breakdown.by``),
    plus ``extra``; not engagement levels (8.5): they are computed after loading, from no column."""
    names: dict[str, None] = {}
    for _, m in config.matchers():
        names.update(dict.fromkeys(m.where))
    names.update(dict.fromkeys(c.value for c in config.conversions.values() if c.value))
    names.update(dict.fromkeys(p for f in config.funnels.values() if f.breakdown for p in f.breakdown.by))
    names.update(dict.fromkeys(p for f in config.funnels.values() for p in f.hold))
    names.update(dict.fromkeys(extra))
    for name in [*RESERVED, *(p for p, spec in config.columns.properties.items() if spec.engagement)]:
        names.pop(name, None)
    if config.columns.session:
        names[SESSION] = None
    return list(names)


def _aliases(config: Config, prop: str) -> list[str]:
    if prop == SESSION:
        return list(config.columns.session or [])
    spec = config.columns.properties.get(prop)
    return spec.columns if spec else [prop]


def _config_loc(config: Config, prop: str) -> tuple:
    if prop in CORE:
        return ("columns", prop)
    if prop == SESSION:
        return ("columns", "session")
    if prop in config.columns.properties:
        return ("columns", "properties", prop)
    for path, m in config.matchers():
        if prop in m.where:
            return (*path, "where", prop)
        if getattr(m, "value", None) == prop:
            return (*path, "value")
    for name, funnel in config.funnels.items():
        if funnel.breakdown and prop in funnel.breakdown.by:
            return ("funnels", name, "breakdown", "by")
    return ()


CONSTANT = "\0constant"   # a plan's path (None, (CONSTANT, value)): every row of the file has ``value``


def _resolve(aliases: Sequence[str | Constant], columns: Sequence[str]) -> tuple[str | None, tuple[str, ...]] | None:
    """First alias present in the file: a column, ``column.path`` into a nested column, or a
    constant (always present)."""
    present = set(columns)
    for alias in aliases:
        if isinstance(alias, Constant):
            return None, (CONSTANT, alias.constant)
        if alias in present:
            return alias, ()
        head, *path = alias.split(".")
        if path and head in present:
            return head, tuple(path)
    return None


def plan_of(src: Source, config: Config, props: list[str]) -> dict[str, tuple[str | None, tuple[str, ...]]]:
    return plan_columns(src.columns, config, props, str(src.path))


def plan_columns(columns: list[str], config: Config, props: list[str], where: str):
    located = located_of(config)
    plan: dict[str, tuple[str | None, tuple[str, ...]]] = {}
    problems = []
    for core in CORE:
        aliases = config.columns.known_user if core == "user" else getattr(config.columns, core)
        hit = _resolve(aliases, columns)
        if core == "user" and config.columns.anonymous_user:
            anonymous = {f"{ANONYMOUS}{i}": _resolve([a], columns) or (None, ())
                         for i, a in enumerate(config.columns.anonymous_user)}
            plan.update(anonymous)
            if hit is None and any(col is not None for col, _ in anonymous.values()):
                hit = (None, ())                    # a file of anonymous ids only (rule 1.9)
            aliases = aliases + config.columns.anonymous_user
        if hit is None:
            guess = did_you_mean(aliases[0], columns, what="columns")
            fix = f"set columns.{core} in the config"
            message = f"no {core} column; looked for {', '.join(map(repr, map(str, aliases)))}"
            if located.has("columns", core):
                message, at = f"{where} has {message}", located.where("columns", core)
            else:
                at = where
            problems.append(Problem(message, at, f"{guess}; {fix}" if guess else fix))
        else:
            plan[core] = hit
    if problems:
        raise DataError(problems)
    for prop in props:
        plan[f"prop:{prop}"] = _resolve(_aliases(config, prop), columns) or (None, ())
    return plan


ANONYMOUS = "anon:"          # plan keys of the anonymous id columns: anon:0, anon:1, ...


def id_keys(plan) -> list[str]:
    """The plan's user id keys: ``user``, then the anonymous columns' in the config's order."""
    return ["user"] + [k for k in plan if k.startswith(ANONYMOUS)]


def check_properties_somewhere(config, props, plans, sources) -> None:
    """A property (or anonymous id column) no file has is a typo, not a messy export: say so, with did-you-mean."""
    located = located_of(config)
    all_columns = sorted({c for s in sources for c in s.columns})
    problems = [
        Problem(f"{'the session column' if p == SESSION else f'property {p!r}'} is not a column of any input file (looked for "
                f"{', '.join(map(repr, _aliases(config, p)))})",
                located.where(*_config_loc(config, p)) if _config_loc(config, p) else
                ", ".join(str(s.path) for s in sources),
                did_you_mean(_aliases(config, p)[0], all_columns + list(config.columns.properties),
                             what="columns"))
        for p in props if all(plan[f"prop:{p}"][0] is None for plan in plans)
    ] + [
        Problem(f"the anonymous id column {name!r} is not a column of any input file",
                located.where("columns", "user", "anonymous") if located.has("columns", "user", "anonymous")
                else ", ".join(str(s.path) for s in sources), did_you_mean(name, all_columns, what="columns"))
        for i, name in enumerate(config.columns.anonymous_user)
        if all(plan[f"{ANONYMOUS}{i}"][0] is None for plan in plans)
    ]
    if problems:
        raise DataError(problems)


_EXPECTED = {"user": "text or integer ids", "event": "text (or integer) event names",
             "timestamp": "timestamps, date-time text or epoch numbers"}


def check_core_types(schema: pa.Schema | None, plan, where: str) -> None:
    """A list, struct or map where ids, event names or timestamps belong (a wrong column, or an export
    that nests them) is named with what was expected, before a cast of it fails somewhere deeper."""
    problems = []
    for key in id_keys(plan) + ["event", "timestamp"]:
        col, path = plan[key]
        core = "user" if key.startswith(ANONYMOUS) else key
        kind = _type_at(schema, col, path) if schema is not None and col is not None else None
        if kind is not None and (pa.types.is_nested(kind) or
                                 pa.types.is_dictionary(kind) and pa.types.is_nested(kind.value_type)):
            name = ".".join((col, *path))
            field = f", or to a field inside this one as {name}.FIELD" if pa.types.is_struct(kind) else ""
            problems.append(Problem(f"column {name!r} ({core}) holds {kind}, not plain values: expected {_EXPECTED[core]}",
                                    where, f"set columns.{core} to a column of single values{field}"))
    if problems:
        raise DataError(problems)


def _type_at(schema: pa.Schema, col: str, path: tuple[str, ...]) -> pa.DataType | None:
    """The Arrow type at ``col.path`` (through struct fields); None where it is not known up front."""
    if schema.get_field_index(col) < 0:
        return None
    kind = schema.field(col).type
    for key in path:
        if not pa.types.is_struct(kind) or kind.get_field_index(key) < 0:
            return None                                 # a JSON string, parsed later
        kind = kind.field(key).type
    return kind
