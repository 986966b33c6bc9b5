"""Strict YAML loading: libyaml speed, with the surprises PyYAML lets through turned into problems.

Pure apart from reading the text it is given: no file or cluster access.

- Duplicate keys in a mapping are reported (PyYAML keeps the last one silently).
- Aliases are refused outright: they load cheaply but explode when walked (alias bombs).
- Nesting deeper than MAX_DEPTH is refused: libyaml's composer recurses on the C stack and crashes
  (a 200 KB line of ``[`` brackets is enough).
- Timestamps stay strings, as Kubernetes reads them (``2026-01-01`` is text to the API server).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

MAX_DEPTH = 256
"""Deepest nesting of mappings and sequences accepted; real manifests stay far below."""


@dataclass
class Document:
    """One YAML document of a file."""

    index: int
    """0-based index of the document within the file, counting empty documents."""
    line: int
    """1-based line where the document's content starts."""
    data: Any
    node: yaml.Node | None = field(default=None, repr=False)
    """The composed node, for finding the lines of list items."""


@dataclass(frozen=True)
class YamlProblem:
    """Something wrong at one line of a YAML text."""

    line: int | None
    message: str


class YamlRefused(Exception):
    """The text cannot be loaded at all (syntax error, alias, deep nesting); carries the line."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _without_timestamps(resolvers: dict[str, list[tuple[str, Any]]]) -> dict[str, list[tuple[str, Any]]]:
    return {
        first: [(tag, regexp) for tag, regexp in entries if tag != "tag:yaml.org,2002:timestamp"]
        for first, entries in resolvers.items()
    }


_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_PLAIN_TAGS: dict[str, str] = {}
"""The implicit tag of short plain scalars already resolved (``app``, ``80``, ``true``), by text."""
_PLAIN_TAGS_MAX = 20_000


class StrictLoader(yaml.CSafeLoader):
    """A ``CSafeLoader`` that records duplicate keys instead of silently keeping the last value."""

    yaml_implicit_resolvers = _without_timestamps(yaml.CSafeLoader.yaml_implicit_resolvers)

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicate_keys: list[YamlProblem] = []

    # libyaml's composer calls these three for every node; PyYAML's versions rebuild the list of
    # candidate resolvers on every call and look for path resolvers, which this loader has none of
    # (a quarter of loading a manifest). Same tags, resolved once per distinct plain scalar.
    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if not implicit[0]:  # quoted, or tagged "!": a string
                return _STR_TAG
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(value) <= 64 and len(_PLAIN_TAGS) < _PLAIN_TAGS_MAX:
                    _PLAIN_TAGS[value] = tag
            return tag
        return _SEQ_TAG if kind is yaml.SequenceNode else _MAP_TAG

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass

    def construct_plain(self, node: yaml.Node) -> Any:
        """``construct_document`` with a direct path for the plain strings, mappings and sequences that
        make up nearly all of a manifest; anything else (numbers, booleans, other tags) goes the usual way.

        Twice as fast: PyYAML's path keeps per-node bookkeeping only aliases need, and they are refused.
        """
        data = self._construct(node)
        self.constructed_objects = {}
        self.recursive_objects = {}
        return data

    def _construct(self, node: yaml.Node) -> Any:
        kind, tag = type(node), node.tag
        if kind is yaml.ScalarNode and tag == _STR_TAG:
            return node.value
        if kind is yaml.MappingNode and tag == _MAP_TAG:
            return self.construct_mapping(node)
        if kind is yaml.SequenceNode and tag == _SEQ_TAG:
            return [self._construct(item) for item in node.value]
        return self.construct_object(node, deep=True)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # SafeConstructor.construct_mapping in one pass, noting duplicates (merge keys need aliases: refused).
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value if type(key_node) is yaml.ScalarNode and key_node.tag == _STR_TAG else \
                self._construct(key_node)
            try:
                duplicate = key in mapping
            except TypeError as err:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "found an unhashable key",
                    key_node.start_mark,
                ) from err
            if duplicate:
                line = key_node.start_mark.line + 1
                self.duplicate_keys.append(YamlProblem(line, f"duplicate key {key!r} at line {line}"))
            mapping[key] = self._construct(value_node)
        return mapping


def load_documents(text: str) -> tuple[list[Document], list[YamlProblem]]:
    """Load every document of ``text``. Raises YamlRefused on syntax errors and aliases.

    Returns the documents (empty ones included, with ``data`` None) and the duplicate keys found.
    """
    try:
        loader = StrictLoader(text)
    except UnicodeEncodeError as err:  # lone surrogates: text that was never decoded from UTF-8
        raise YamlRefused(None, f"not UTF-8 text ({err.reason} at character {err.start})") from err
    try:
        _check_events(text)
        documents = list(_documents(loader))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlRefused(line, f"invalid YAML: {err.problem or err.context}") from err
    except yaml.reader.ReaderError as err:  # a character YAML does not allow, before any token
        position = err.position if isinstance(err.position, int) else None
        line = text.count("\n", 0, position) + 1 if position is not None else None
        raise YamlRefused(line, f"invalid YAML: {_first_line(err.reason)} (character {position})") from err
    except yaml.YAMLError as err:
        raise YamlRefused(None, f"invalid YAML: {_first_line(str(err))}") from err
    finally:
        loader.dispose()
    return documents, loader.duplicate_keys


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "unreadable"


def _check_events(text: str) -> None:
    """Refuse aliases and deep nesting before composing, from libyaml's events (its parser does not recurse).

    Parsing for events costs a third of loading, so it is skipped when the text cannot hold either:
    an alias needs a ``*``, and every collection opens with an indicator of its own (``[``, ``{``, a
    sequence's first ``-``, a mapping's first ``:`` or ``?``), so a text with no more of those
    characters than MAX_DEPTH cannot nest deeper. ``- - - x`` and ``[[[x]]]`` still get the scan.
    """
    if "*" not in text and _indicator_count(text) <= MAX_DEPTH:
        return
    try:
        _check_event_stream(yaml.parse(text, Loader=yaml.CSafeLoader))
    except yaml.YAMLError:
        # Some libyaml versions refuse deep nesting themselves, scanning ahead of the events we count,
        # with a message of their own: find out with PyYAML's pure-Python parser (no limit, no
        # recursion; slower, so only on this error path) whether the text nests too deep.
        _check_event_stream(yaml.parse(text, Loader=yaml.SafeLoader))
        raise


def _check_event_stream(events: Iterator[yaml.Event]) -> None:
    depth = 0
    for event in events:
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1
                raise YamlRefused(line, f"nesting deeper than {MAX_DEPTH} levels; refusing to load it")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            line = event.start_mark.line + 1
            raise YamlRefused(
                line,
                f"YAML aliases are not allowed (*{event.anchor} at line {line}): write the values out in full",
            )


def _indicator_count(text: str) -> int:
    """How many characters of ``text`` could open a collection: an upper bound on its nesting depth."""
    return sum(text.count(indicator) for indicator in _COLLECTION_INDICATORS)


_COLLECTION_INDICATORS = ("[", "{", "-", ":", "?")


def _documents(loader: StrictLoader) -> Iterator[Document]:
    index = 0
    while loader.check_node():
        node = loader.get_node()
        data = loader.construct_plain(node)
        yield Document(index=index, line=node.start_mark.line + 1, data=data, node=node)
        index += 1


def item_lines(node: yaml.Node | None) -> list[int]:
    """Lines of the entries of a ``kind: List`` document's ``items`` sequence."""
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "items" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []
