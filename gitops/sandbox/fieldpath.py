"""Field paths and field sets as structured-merge-diff (sigs.k8s.io/structured-merge-diff/fieldpath) has them.

Pure. A path element is a tuple ``(kind, payload)``:

- ``("f", "spec")``: a struct field or map key,
- ``("k", '{"name":"web"}')``: an associative list item, by its key fields as canonical JSON,
- ``("v", '"a"')``: a set item, by its value as canonical JSON,
- ``("i", 3)``: a list index (not used for atomic lists).

A field set is a ``frozenset`` of paths (tuples of elements). As upstream, owning ``.a.b`` does not imply
owning ``.a``: a path is a member only when it was inserted. ``to_fields_v1`` and ``from_fields_v1`` convert a
set to and from the ``FieldsV1`` JSON of ``metadata.managedFields``, in upstream's order (``.`` first, then
field names, keys, values and indices, each sorted as ``PathElement.Compare`` sorts them).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from typing import Any

PathElement = tuple[str, Any]
Path = tuple[PathElement, ...]
FieldSet = frozenset[Path]

_KIND_ORDER = {"f": 0, "k": 1, "v": 2, "i": 3}


def canonical_json(value: Any) -> str:
    """JSON as Go's encoding/json writes it: no spaces, sorted keys, HTML characters escaped."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def field(name: str) -> PathElement:
    return ("f", name)


def key(fields: dict[str, Any]) -> PathElement:
    return ("k", canonical_json(dict(sorted(fields.items()))))


def value(item: Any) -> PathElement:
    return ("v", canonical_json(item))


def index(position: int) -> PathElement:
    return ("i", position)


def _type_rank(item: Any) -> int:
    # value.Compare's total order: numbers < strings < bools < lists < maps < null.
    if isinstance(item, bool):
        return 2
    if isinstance(item, int | float):
        return 0
    if isinstance(item, str):
        return 1
    if isinstance(item, list):
        return 3
    if isinstance(item, dict):
        return 4
    return 5


def compare_values(left: Any, right: Any) -> int:
    """structured-merge-diff's ``value.Compare``: a total order over JSON values."""
    left_rank, right_rank = _type_rank(left), _type_rank(right)
    if left_rank != right_rank:
        return -1 if left_rank < right_rank else 1
    if left_rank in (0, 1, 2):
        return (left > right) - (left < right)
    if left_rank == 3:
        for left_item, right_item in zip(left, right, strict=False):
            if result := compare_values(left_item, right_item):
                return result
        return (len(left) > len(right)) - (len(left) < len(right))
    if left_rank == 4:
        return _compare_field_lists(sorted(left.items()), sorted(right.items()))
    return 0


def _compare_field_lists(left: list[tuple[str, Any]], right: list[tuple[str, Any]]) -> int:
    for (left_name, left_value), (right_name, right_value) in zip(left, right, strict=False):
        if left_name != right_name:
            return -1 if left_name < right_name else 1
        if result := compare_values(left_value, right_value):
            return result
    return (len(left) > len(right)) - (len(left) < len(right))


def compare_elements(left: PathElement, right: PathElement) -> int:
    """``PathElement.Compare``: field names, then keys, then values, then indices."""
    if left[0] != right[0]:
        return -1 if _KIND_ORDER[left[0]] < _KIND_ORDER[right[0]] else 1
    kind = left[0]
    if kind in ("f", "i"):
        return (left[1] > right[1]) - (left[1] < right[1])
    left_value, right_value = json.loads(left[1]), json.loads(right[1])
    if kind == "k":
        return _compare_field_lists(sorted(left_value.items()), sorted(right_value.items()))
    return compare_values(left_value, right_value)


element_sort_key = functools.cmp_to_key(compare_elements)


def element_string(element: PathElement) -> str:
    """``PathElement.String()``: ``.name``, ``[name="web"]``, ``[="a"]``, ``[3]``."""
    kind, payload = element
    if kind == "f":
        return "." + payload
    if kind == "k":
        parts = [f"{name}={_value_string(item)}" for name, item in sorted(json.loads(payload).items())]
        return "[" + ",".join(parts) + "]"
    if kind == "v":
        return f"[={_value_string(json.loads(payload))}]"
    return f"[{payload}]"


def _value_string(item: Any) -> str:
    # value.ToString: strings quoted as Go's %q, everything else as its JSON text.
    if isinstance(item, str):
        return json.dumps(item, ensure_ascii=False)
    return canonical_json(item)


def path_string(path: Path) -> str:
    return "".join(element_string(element) for element in path)


def serialize_element(element: PathElement) -> str:
    kind, payload = element
    return f"{kind}:{payload}"


def parse_element(text: str) -> PathElement:
    kind, _, payload = text.partition(":")
    if kind == "f":
        return ("f", payload)
    if kind == "i":
        return ("i", int(payload))
    if kind == "k":
        return key(json.loads(payload))
    if kind == "v":
        return value(json.loads(payload))
    raise ValueError(f"invalid path element {text!r}")


def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    """Serialize a field set to FieldsV1 (nested dicts, ``{}`` for leaves, ``.`` for member parents)."""
    tree: dict[PathElement, Any] = {}
    members: set[Path] = set()
    for path in paths:
        if not path:
            continue
        members.add(path)
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    return _emit(tree, (), members)


def _emit(tree: dict[PathElement, Any], prefix: Path, members: set[Path]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for element in sorted(tree, key=element_sort_key):
        path = (*prefix, element)
        children = tree[element]
        if children:
            node: dict[str, Any] = {}
            if path in members:
                node["."] = {}
            node.update(_emit(children, path, members))
            out[serialize_element(element)] = node
        else:
            out[serialize_element(element)] = {}
    return out


def from_fields_v1(fields: dict[str, Any]) -> FieldSet:
    """Parse FieldsV1 back into a field set."""
    paths: set[Path] = set()
    _parse(fields, (), paths)
    return frozenset(paths)


def _parse(node: dict[str, Any], prefix: Path, paths: set[Path]) -> None:
    for text, child in node.items():
        if text == ".":
            if prefix:
                paths.add(prefix)
            continue
        path = (*prefix, parse_element(text))
        if not isinstance(child, dict) or not child:
            paths.add(path)
        else:
            _parse(child, path, paths)


def with_prefix(paths: Iterable[Path], prefix: Path) -> FieldSet:
    """Paths strictly below ``prefix``, with the prefix cut off (``Set.WithPrefix``)."""
    size = len(prefix)
    return frozenset(path[size:] for path in paths if len(path) > size and path[:size] == prefix)


def recursive_difference(paths: Iterable[Path], removed: Iterable[Path]) -> FieldSet:
    """Drop every path equal to or below a path of ``removed``."""
    removed_set = set(removed)
    return frozenset(
        path for path in paths if not any(path[:size] in removed_set for size in range(1, len(path) + 1))
    )


def only_below(paths: Iterable[Path], kept: Iterable[Path]) -> FieldSet:
    """Keep only paths equal to or below a path of ``kept``."""
    kept_set = set(kept)
    return frozenset(
        path for path in paths if any(path[:size] in kept_set for size in range(1, len(path) + 1))
    )
