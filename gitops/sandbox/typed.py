"""Typed values as structured-merge-diff walks them: field sets, comparison, merge and item removal.

Pure. A schema node is a ``Scalar``, a ``MapType`` (struct fields and/or map elements) or a ``ListType``
(atomic, set or map with keys). ``DEDUCED`` is upstream's ``__untyped_deduced_``: maps granular, lists atomic.
The walkers follow sigs.k8s.io/structured-merge-diff/v4/typed (tofieldset.go, compare.go, merge.go,
remove.go) closely enough to give the same sets and results for well-formed objects.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from gitops.sandbox import fieldpath as fp
from gitops.sandbox.fieldpath import FieldSet, Path, PathElement


@dataclass(frozen=True)
class Scalar:
    pass


@dataclass(frozen=True)
class MapType:
    """A struct (declared ``fields``) and/or a map (``element`` for undeclared keys).

    ``lenient``: undeclared keys without an ``element`` type are treated as declared fields of deduced type
    (our built-in schemas name only the fields whose merge rules matter).
    """

    fields: dict[str, Node] = field(default_factory=dict)
    element: Node | None = None
    atomic: bool = False
    lenient: bool = False

    def child(self, name: str) -> tuple[Node, bool]:
        """The type of key ``name`` and whether it is a declared field."""
        declared = self.fields.get(name)
        if declared is not None:
            return declared, True
        if self.element is not None:
            return self.element, False
        return DEDUCED, True


@dataclass(frozen=True)
class ListType:
    element: Node
    list_type: str = "atomic"
    """``atomic``, ``set`` or ``map``."""
    keys: tuple[str, ...] = ()
    key_defaults: tuple[tuple[str, Any], ...] = ()
    """Schema defaults of key fields, used when an item omits them (``protocol: TCP`` of ports)."""


class ListItemError(ValueError):
    """A list item cannot be identified (missing key field)."""


class Deduced:
    """Upstream's deduced type: its shape follows the value (maps granular, lists atomic)."""

    def __repr__(self) -> str:
        return "DEDUCED"


Node = Scalar | MapType | ListType | Deduced
SCALAR = Scalar()
DEDUCED = Deduced()
_DEDUCED_MAP = MapType(element=DEDUCED)
_DEDUCED_LIST = ListType(element=DEDUCED)


def resolve(node: Node, item: Any) -> Node:
    """The concrete type of ``item``: deduced types take the shape of the value."""
    if isinstance(node, Deduced):
        if isinstance(item, dict):
            return _DEDUCED_MAP
        if isinstance(item, list):
            return _DEDUCED_LIST
        return SCALAR
    return node


def is_atomic(node: Node) -> bool:
    return (isinstance(node, MapType) and node.atomic) or (
        isinstance(node, ListType) and node.list_type == "atomic"
    )


def item_element(list_type: ListType, item: Any, position: int) -> PathElement:
    """The path element naming a list item (``listItemToPathElement``)."""
    if list_type.list_type == "map" and list_type.keys:
        if not isinstance(item, dict):
            raise ListItemError("associative list with keys may only contain maps")
        fields: dict[str, Any] = {}
        defaults = dict(list_type.key_defaults)
        for name in list_type.keys:
            if item.get(name) is not None:
                fields[name] = item[name]
            elif name in item:
                raise ListItemError("key cannot be null")
            elif name in defaults:
                fields[name] = defaults[name]
            else:
                raise ListItemError(
                    f"associative list with keys has an element that omits key field {json.dumps(name)} "
                    "(and doesn't have default value)"
                )
        return fp.key(fields)
    if list_type.list_type == "set":
        return fp.value(item)
    if list_type.list_type == "map":
        # An associative list without keys holds one item at most: upstream names it by index.
        return fp.index(position)
    return fp.index(position)


# ---------------------------------------------------------------------------------------------- to field set


def to_field_set(item: Any, node: Node) -> FieldSet:
    """Every leaf, list item and undeclared map key of ``item`` (``TypedValue.ToFieldSet``)."""
    out: set[Path] = set()
    _to_set(item, node, (), out)
    return frozenset(out)


def _to_set(item: Any, node: Node, path: Path, out: set[Path]) -> None:
    node = resolve(node, item)
    if isinstance(node, Scalar) or is_atomic(node):
        out.add(path)
        return
    if isinstance(node, ListType):
        if isinstance(item, list):
            for position, child in enumerate(item):
                child_path = (*path, item_element(node, child, position))
                _to_set(child, node.element, child_path, out)
                out.add(child_path)
        return
    if isinstance(node, MapType) and isinstance(item, dict):
        for name, child in item.items():
            child_type, declared = node.child(name)
            child_path = (*path, fp.field(name))
            _to_set(child, child_type, child_path, out)
            if not declared:
                out.add(child_path)


# ---------------------------------------------------------------------------------------------- compare


@dataclass
class Comparison:
    added: set[Path] = field(default_factory=set)
    modified: set[Path] = field(default_factory=set)
    removed: set[Path] = field(default_factory=set)


_ABSENT = object()


def compare(old: Any, new: Any, node: Node) -> Comparison:
    """Fields added, modified and removed between two values (``TypedValue.Compare``)."""
    result = Comparison()
    _compare(old, new, node, (), result, in_leaf=False)
    return result


def _compare(old: Any, new: Any, node: Node, path: Path, result: Comparison, *, in_leaf: bool) -> None:
    sample = new if new is not _ABSENT else old
    node = resolve(node, sample)
    if old is not _ABSENT and new is not _ABSENT and not _shapes_match(old, new, node):
        node = SCALAR  # a value that changed shape is a modified leaf
    leaf = _compare_node(old, new, node, path, result)
    if not leaf and not in_leaf:
        if old is _ABSENT:
            result.added.add(path)
        elif new is _ABSENT:
            result.removed.add(path)


def _shapes_match(old: Any, new: Any, node: Node) -> bool:
    if isinstance(node, MapType) and not node.atomic:
        return isinstance(old, dict | None) and isinstance(new, dict | None)
    if isinstance(node, ListType) and node.list_type != "atomic":
        return isinstance(old, list | None) and isinstance(new, list | None)
    return True


def _leaf(old: Any, new: Any, path: Path, result: Comparison) -> bool:
    if old is _ABSENT:
        result.added.add(path)
    elif new is _ABSENT:
        result.removed.add(path)
    elif old != new or (type(old) is not type(new) and not _same_number(old, new)):
        result.modified.add(path)
    return True


def _same_number(old: Any, new: Any) -> bool:
    return (
        isinstance(old, int | float)
        and isinstance(new, int | float)
        and not isinstance(old, bool)
        and not isinstance(new, bool)
        and old == new
    )


def _compare_node(old: Any, new: Any, node: Node, path: Path, result: Comparison) -> bool:
    """Compare below ``path``; True when the node was handled as a leaf."""
    if isinstance(node, Scalar) or is_atomic(node):
        return _leaf(old, new, path, result)
    if isinstance(node, ListType):
        old_list = old if isinstance(old, list) else []
        new_list = new if isinstance(new, list) else []
        if not old_list and not new_list:
            return _leaf(old, new, path, result)
        _compare_lists(old_list, new_list, node, path, result)
        return False
    assert isinstance(node, MapType)
    old_map = old if isinstance(old, dict) else {}
    new_map = new if isinstance(new, dict) else {}
    if not old_map and not new_map:
        return _leaf(old, new, path, result)
    for name in {**old_map, **new_map}:
        child_type, _ = node.child(name)
        _compare(
            old_map.get(name, _ABSENT),
            new_map.get(name, _ABSENT),
            child_type,
            (*path, fp.field(name)),
            result,
            in_leaf=False,
        )
    return False


def _index_items(items: list[Any], node: ListType) -> dict[PathElement, list[Any]]:
    indexed: dict[PathElement, list[Any]] = {}
    for position, item in enumerate(items):
        indexed.setdefault(item_element(node, item, position), []).append(item)
    return indexed


def _compare_lists(old: list[Any], new: list[Any], node: ListType, path: Path, result: Comparison) -> None:
    old_items, new_items = _index_items(old, node), _index_items(new, node)
    for element in {**old_items, **new_items}:
        old_list, new_list = old_items.get(element, []), new_items.get(element, [])
        child_path = (*path, element)
        if len(old_list) <= 1 and len(new_list) <= 1:
            _compare(
                old_list[0] if old_list else _ABSENT,
                new_list[0] if new_list else _ABSENT,
                node.element,
                child_path,
                result,
                in_leaf=False,
            )
        elif len(old_list) >= 2 and len(new_list) >= 2:
            if old_list != new_list:
                result.modified.add(child_path)
        elif len(old_list) >= 2:
            if new_list:
                _compare(_ABSENT, new_list[0], node.element, child_path, result, in_leaf=False)
            result.removed.add(child_path)
        else:
            if old_list:
                _compare(old_list[0], _ABSENT, node.element, child_path, result, in_leaf=False)
            result.added.add(child_path)


# ---------------------------------------------------------------------------------------------- merge


def merge(live: Any, config: Any, node: Node) -> Any:
    """Merge an applied configuration into the live value (``TypedValue.Merge`` with keep-RHS rule)."""
    return _merge(live, config, node)


def _merge(live: Any, config: Any, node: Node) -> Any:
    if config is _ABSENT:
        return copy.deepcopy(live)
    node = resolve(node, config)
    if isinstance(node, Scalar) or is_atomic(node):
        return copy.deepcopy(config)
    if isinstance(node, ListType):
        live_list = live if isinstance(live, list) else []
        config_list = config if isinstance(config, list) else []
        if not live_list and not config_list:
            return copy.deepcopy(config)
        if not isinstance(config, list) and config is not None:
            return copy.deepcopy(config)
        return _merge_lists(live_list, config_list, node)
    assert isinstance(node, MapType)
    if not isinstance(config, dict) and config is not None:
        return copy.deepcopy(config)
    live_map = live if isinstance(live, dict) else {}
    config_map = config if isinstance(config, dict) else {}
    if not live_map and not config_map:
        return copy.deepcopy(config)
    out: dict[str, Any] = {}
    for name in {**live_map, **config_map}:
        child_type, _ = node.child(name)
        out[name] = _merge(live_map.get(name, _ABSENT), config_map.get(name, _ABSENT), child_type)
    return out


def _merge_lists(live: list[Any], config: list[Any], node: ListType) -> list[Any]:
    """Upstream's list merge: shared items follow the config's order, live-only items keep their place."""
    live_elements = [item_element(node, item, i) for i, item in enumerate(live)]
    config_elements = [item_element(node, item, i) for i, item in enumerate(config)]
    live_by_element = dict(zip(live_elements, live, strict=True))
    config_by_element = dict(zip(config_elements, config, strict=True))
    shared = [element for element in config_elements if element in live_by_element]
    next_shared = shared.pop(0) if shared else None
    merged_config: set[PathElement] = set()
    out: list[Any] = []
    live_index = config_index = 0
    while live_index < len(live_elements) or config_index < len(config_elements):
        if live_index < len(live_elements) and config_index < len(config_elements):
            element = live_elements[live_index]
            if element == config_elements[config_index]:
                merged_config.add(element)
                out.append(_merge(live_by_element[element], config_by_element[element], node.element))
                live_index += 1
                config_index += 1
                next_shared = shared.pop(0) if shared else None
                continue
            if element in config_by_element and next_shared is not None and next_shared != element:
                live_index += 1
                continue
        if live_index < len(live_elements):
            element = live_elements[live_index]
            if element not in config_by_element:
                out.append(copy.deepcopy(live[live_index]))
                live_index += 1
                continue
            if element in merged_config:
                live_index += 1
                continue
        if config_index < len(config_elements):
            element = config_elements[config_index]
            merged_config.add(element)
            out.append(
                _merge(live_by_element.get(element, _ABSENT), config_by_element[element], node.element)
            )
            config_index += 1
            if next_shared is not None and next_shared == element:
                next_shared = shared.pop(0) if shared else None
    return out


# ---------------------------------------------------------------------------------------------- remove


_REMOVED = object()


def remove_items(item: Any, node: Node, paths: FieldSet) -> Any:
    """``item`` without the fields and list items in ``paths`` (their whole subtrees go)."""
    if not paths:
        return item
    result = _remove(item, node, paths)
    return None if result is _REMOVED else result


def _remove(item: Any, node: Node, paths: FieldSet) -> Any:
    node = resolve(node, item)
    if isinstance(node, Scalar) or is_atomic(node):
        return item
    if isinstance(node, ListType):
        if not isinstance(item, list) or not item:
            return _REMOVED
        kept: list[Any] = []
        for position, child in enumerate(item):
            element = item_element(node, child, position)
            if (element,) in paths:
                continue
            below = fp.with_prefix(paths, (element,))
            if below:
                child = _remove(child, node.element, below)
                if child is _REMOVED:
                    child = None
            kept.append(child)
        return kept if kept else _REMOVED
    assert isinstance(node, MapType)
    if not isinstance(item, dict) or not item:
        return _REMOVED
    out: dict[str, Any] = {}
    for name, child in item.items():
        element = fp.field(name)
        if (element,) in paths:
            continue
        below = fp.with_prefix(paths, (element,))
        if below:
            child_type, _ = node.child(name)
            child = _remove(child, child_type, below)
            if child is _REMOVED:
                continue
        out[name] = child
    return out if out else _REMOVED


def ensure_named_fields_are_members(paths: FieldSet, node: Node) -> FieldSet:
    """Add every declared struct field that has a member below it (``Set.EnsureNamedFieldsAreMembers``)."""
    out = set(paths)
    for path in paths:
        current: Node = node
        for size, element in enumerate(path[:-1], start=1):
            if isinstance(current, MapType) and element[0] == "f":
                current, declared = current.child(element[1])
                if declared:
                    out.add(path[:size])
            elif isinstance(current, ListType):
                current = current.element
            else:
                break
    return frozenset(out)


def applied_errors(item: Any, node: Node) -> list[str]:
    """Why an applied configuration cannot be typed: duplicate or unidentifiable list items."""
    errors: list[str] = []
    _check(item, node, (), errors)
    return errors


def _check(item: Any, node: Node, path: Path, errors: list[str]) -> None:
    node = resolve(node, item)
    if isinstance(node, ListType) and node.list_type != "atomic" and isinstance(item, list):
        seen: set[PathElement] = set()
        for position, child in enumerate(item):
            try:
                element = item_element(node, child, position)
            except ListItemError as err:
                errors.append(f"{fp.path_string(path)}: element {position}: {err}")
                continue
            if element in seen:
                errors.append(
                    f"{fp.path_string(path)}: duplicate entries for key {fp.element_string(element)}"
                )
                continue
            seen.add(element)
            _check(child, node.element, (*path, element), errors)
    elif isinstance(node, MapType) and not node.atomic and isinstance(item, dict):
        for name, child in item.items():
            child_type, _ = node.child(name)
            _check(child, child_type, (*path, fp.field(name)), errors)
