"""Safe YAML loading that remembers where every value came from.

Config validation (pydantic) reports errors as paths into the data, such as
``("funnels", "checkout", "steps", 1)``.  To show them as ``file:line:column``
we keep the composed YAML node tree and map such paths back to node positions.

Only plain YAML types are built (``yaml.SafeLoader``); anchors, aliases and
merge keys (``<<``) work as there.  Duplicate keys, which PyYAML silently
resolves to the last value, are rejected.  So are explicit tags other than the
plain ones (``!!set`` would make step order depend on the hash seed, ``!!binary``
and ``!!python/...`` have no meaning in a config), nesting deeper than
MAX_DEPTH, and documents whose aliases expand to more than MAX_NODES nodes: the
parsed data is a graph that shares aliased nodes, but validation, error messages
and every walk over the data see the expanded tree, so a 1 KB file of nested
aliases (a "billion laughs") would take gigabytes.  Both bounds are checked while
composing, before anything is built.  Keys follow YAML 1.1 like the rest
of SafeLoader: ``1:`` is an int key and ``on:``/``yes:``/``no:`` are booleans,
so such keys must be quoted to stay strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, SequenceNode

_MERGE_TAG = "tag:yaml.org,2002:merge"
_YAML_TAG = "tag:yaml.org,2002:"
PLAIN_TAGS = frozenset(_YAML_TAG + t for t in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp"))
MAX_DEPTH = 64           # nested maps and lists; a real config is less than 10 deep
MAX_NODES = 100_000      # nodes after expanding aliases; funnels.example.yaml has about 300
_Entries = dict[Node, dict[object, tuple[Node, Node]]]


@dataclass(frozen=True)
class SourceLocation:
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


def _location(file: str, mark: yaml.Mark | None) -> SourceLocation:
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return SourceLocation(file, line, column)


class YamlSyntaxError(Exception):
    """Malformed YAML, a duplicate mapping key, or YAML beyond what a config may hold (``hint`` says what to do)."""

    def __init__(self, location: SourceLocation, message: str, hint: str | None = None) -> None:
        super().__init__(f"{location}: {message}")
        self.location = location
        self.message = message
        self.hint = hint


class _NotAConfig(ComposerError):
    """YAML that parses but that no config is: a tag, too deep, too large."""

    def __init__(self, message: str, mark: yaml.Mark, hint: str) -> None:
        super().__init__(None, None, message, mark)
        self.hint = hint


class _Loader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys while composing (before merge keys are
    flattened into ``node.value``) and records, per mapping node, which key and value
    node each constructed key came from."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.entries: _Entries = {}
        self._depth = 0
        self._nodes = 0                      # nodes composed so far, an alias counting as its expansion
        self._expanded: dict[Node, int] = {}  # per finished node, its size expanded

    def compose_node(self, parent, index):
        """PyYAML's, bounded: an alias adds the expanded size of the node it names (a node still being
        composed, named from inside itself, would be infinite), and nesting is counted on the way down."""
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            node = self.anchors.get(event.anchor)
            if node is not None:
                if node not in self._expanded:
                    raise _NotAConfig(f"alias *{event.anchor} refers to the node that contains it, which would "
                                      "be infinitely large", event.start_mark, "point it at a finished node")
                self._count(self._expanded[node], event.start_mark)
            return super().compose_node(parent, index)
        if event.tag not in (None, "!") and event.tag not in PLAIN_TAGS:
            tag = event.tag.replace(_YAML_TAG, "!!")
            raise _NotAConfig(f"the tag {tag} is not allowed: a config holds only plain maps, lists and scalars",
                              event.start_mark, "remove the tag; write a list as [a, b] and a map as {k: v}")
        if self._depth >= MAX_DEPTH:
            raise _NotAConfig(f"nested more than {MAX_DEPTH} levels deep", event.start_mark,
                              "a config is a few levels deep; see funnels.example.yaml")
        self._depth += 1
        start = self._nodes
        node = super().compose_node(parent, index)
        self._depth -= 1
        self._count(1, event.start_mark)
        self._expanded[node] = self._nodes - start
        return node

    def _count(self, nodes: int, mark: yaml.Mark) -> None:
        self._nodes += nodes
        if self._nodes > MAX_NODES:
            raise _NotAConfig(f"the document expands to more than {MAX_NODES:,} values (an alias counts as "
                              "what it stands for)", mark, "write the values out, or use fewer nested aliases")

    def construct_mapping(self, node, deep=False):
        mapping = super().construct_mapping(node, deep=deep)
        self.entries[node] = {self.construct_object(k, deep=True): (k, v) for k, v in node.value}
        return mapping

    def compose_mapping_node(self, anchor):
        node = super().compose_mapping_node(anchor)
        first: dict[object, Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                previous = first.setdefault(key, key_node)
            except TypeError:
                continue  # unhashable: construct_mapping reports it
            if previous is not key_node:
                line = previous.start_mark.line + 1
                message = f"duplicate key {key!r} (first defined at line {line})"
                raise ConstructorError(problem=message, problem_mark=key_node.start_mark)
        return node


class SourceMap:
    """Resolves pydantic-style ``loc`` paths to positions in the source."""

    def __init__(self, file: str, root: Node | None, entries: _Entries) -> None:
        self.file, self._root, self._entries = file, root, entries

    def _walk(self, loc: tuple[str | int, ...]) -> tuple[Node | None, Node | None]:
        """(key or item node, value node) of the deepest step along ``loc``; Nones for the root."""
        target, node = None, self._root
        for part in loc:
            if isinstance(node, MappingNode) and part in self._entries.get(node, {}):
                target, node = self._entries[node][part]
            elif isinstance(node, SequenceNode) and part in range(len(node.value)):
                target = node = node.value[part]
            else:
                break
        return target, (node if target else None)

    def locate(self, loc: tuple[str | int, ...]) -> SourceLocation:
        """Position of the deepest existing node on ``loc``; the key for a mapping entry."""
        target, _ = self._walk(loc)
        return _location(self.file, target and target.start_mark)

    def locate_value(self, loc: tuple[str | int, ...]) -> SourceLocation:
        """Like :meth:`locate`, but the value's position for a mapping entry."""
        _, node = self._walk(loc)
        return _location(self.file, node and node.start_mark)


def _syntax_error(exc: yaml.YAMLError, text: str, file: str) -> YamlSyntaxError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if isinstance(exc, yaml.reader.ReaderError):
        before = text[: exc.position]
        line, column = before.count("\n"), len(before) - before.rfind("\n") - 1
        mark = yaml.Mark(file, exc.position, line, column, None, None)
    message = getattr(exc, "problem", None) or str(exc).partition("\n")[0]
    if getattr(exc, "context", None):
        where = f" at line {exc.context_mark.line + 1}" if exc.context_mark else ""
        message += f" ({exc.context}{where})"
    return YamlSyntaxError(_location(file, mark), message, getattr(exc, "hint", None))


def load_yaml(text: str, file: str) -> tuple[object, SourceMap]:
    """Parse one YAML document; an empty document gives ``None``."""
    try:
        loader = _Loader(text)
        root = loader.get_single_node()
        data = None if root is None else loader.construct_document(root)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text, file) from exc
    return data, SourceMap(file, root, loader.entries)


def load_yaml_file(path: str | Path) -> tuple[object, SourceMap]:
    return load_yaml(Path(path).read_text(encoding="utf-8"), str(path))
