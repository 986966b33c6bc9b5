"""Comparing objects: normalization, field-level changes, attribution, ignore rules.

Secret masking has its own home, :mod:`gitops.masking`; field changes of a Secret are masked with it.

Pure: no I/O. Objects are plain ``dict`` trees as the API server returns them.

Drift is the difference between what the server *would make* of the manifest (a server-side
apply dry run) and the live object, so defaults and canonical forms are already on both sides;
normalization only removes what the server rewrites on every write (resourceVersion,
managedFields timestamps, generation) or what is not ours to compare (status).
"""

from __future__ import annotations

import base64
import copy
import functools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from gitops import masking
from gitops.changeset import FieldChange
from gitops.errors import ConfigError
from gitops.objects import ObjectRef

IGNORE_ANNOTATION = "gitops.io/ignore-differences"
LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"

# Metadata the server owns and rewrites: never drift.
_SERVER_METADATA = ("managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink")

Path = tuple[str | int, ...]


# --- normalization ------------------------------------------------------------------------


def copy_tree(value: Any) -> Any:
    """A deep copy of a JSON tree (dicts, lists, scalars), several times faster than ``copy.deepcopy``."""
    if isinstance(value, dict):
        return {key: copy_tree(child) for key, child in value.items()}
    if isinstance(value, list):
        return [copy_tree(child) for child in value]
    if value is None or isinstance(value, str | int | float):
        return value
    return copy.deepcopy(value)


def normalize(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy without server-owned noise: status, server metadata, last-applied annotation, empty maps."""
    result = copy_tree(obj)
    result.pop("status", None)
    metadata = result.get("metadata")
    if isinstance(metadata, dict):
        for key in _SERVER_METADATA:
            metadata.pop(key, None)
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict):
            # kubectl's client-side apply record: a full copy of the object (Secrets included).
            annotations.pop(LAST_APPLIED_ANNOTATION, None)
        for key in ("annotations", "labels"):
            if not metadata.get(key):
                metadata.pop(key, None)
    return result


def secret_string_data_as_data(body: dict[str, Any]) -> dict[str, Any]:
    """A Secret's ``stringData`` sent as base64 ``data`` (the top level of ``body`` is changed; nested
    values are not mutated, they may be shared with the manifest).

    ``stringData`` is write-only: the server merges it into ``data`` and never returns it, but
    server-side apply records the applier as owner of ``stringData`` and of no ``data`` key, so a
    key removed from ``stringData`` in Git would stay in the cluster for ever (kubernetes#108008),
    and the live object could never compare equal to the manifest. Sending ``data`` avoids both.
    """
    string_data = body.get("stringData")
    if not masking.is_secret_object(body) or not isinstance(string_data, dict):
        return body
    data = dict(body["data"]) if isinstance(body.get("data"), dict) else {}  # may be shared with the manifest
    for key, value in string_data.items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    body["data"] = data
    del body["stringData"]
    return body


# --- JSON pointers and ignore rules -------------------------------------------------------


def parse_pointer(pointer: str) -> Path:
    """``/spec/template/spec/containers/0/image`` -> ``("spec", ..., 0, "image")`` (RFC 6901 escapes)."""
    if not pointer.startswith("/"):
        raise ValueError(f"JSON pointer {pointer!r} must start with '/'")
    tokens: list[str | int] = []
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        tokens.append(int(token) if token.isdigit() else token)
    return tuple(tokens)


@dataclass(frozen=True)
class IgnoreRule:
    """Ignore one field (subtree) in diffs and leave it to its owner at sync."""

    path: Path
    group: str | None = None
    """``None``: any group."""
    kind: str | None = None
    """``None``: any kind."""

    @classmethod
    def parse(cls, text: str) -> IgnoreRule:
        """``/spec/replicas``, ``Deployment:/spec/replicas`` or ``apps/Deployment:/spec/replicas``."""
        text = text.strip()
        scope, separator, pointer = text.partition(":/")
        if not separator:
            return cls(parse_pointer(text))
        group, _, kind = scope.rpartition("/")
        return cls(parse_pointer("/" + pointer), group=group if "/" in scope else None, kind=kind or None)

    def applies_to(self, ref: ObjectRef) -> bool:
        return (self.kind is None or self.kind == ref.kind) and (self.group is None or self.group == ref.group)


def ignore_rules(texts: Iterable[str]) -> list[IgnoreRule]:
    """Parse the run's ignore rules (``--ignore``, an application's ``ignore``)."""
    rules = []
    for text in texts:
        try:
            rules.append(IgnoreRule.parse(text))
        except ValueError as err:
            raise ConfigError(f"--ignore {text!r}: {err}") from err
    return rules


def ignored_paths(obj: dict[str, Any], rules: Iterable[IgnoreRule]) -> list[Path]:
    """Paths ignored for this object: the run's rules that apply to it plus its annotation's."""
    rules = list(rules)
    ref = ObjectRef.from_object(obj) if rules else None
    paths = [rule.path for rule in rules if ref is not None and rule.applies_to(ref)]
    annotation = ((obj.get("metadata") or {}).get("annotations") or {}).get(IGNORE_ANNOTATION, "")
    for item in str(annotation).split(","):
        if item.strip():
            paths.append(IgnoreRule.parse(item).path)
    return paths


def remove_paths(obj: dict[str, Any], paths: Iterable[Path]) -> dict[str, Any]:
    """A copy without the given subtrees (missing paths are fine). List items are removed last-first."""
    result = copy_tree(obj)
    for path in sorted(paths, key=lambda p: [str(t) for t in p], reverse=True):
        parent = _lookup(result, path[:-1])
        key = path[-1]
        if isinstance(parent, dict) and isinstance(key, str):
            parent.pop(key, None)
        elif isinstance(parent, list) and isinstance(key, int) and key < len(parent):
            parent.pop(key)
    return result


def respect_ignored(body: dict[str, Any], live: dict[str, Any], paths: Iterable[Path]) -> dict[str, Any]:
    """The body to apply to an existing object: ignored fields take the live value (or are left out).

    Applying the live value keeps the field as it is whoever owns it (an HPA's replicas), as
    Argo CD's ``RespectIgnoreDifferences`` does, instead of fighting the other writer.
    """
    result = copy_tree(body)
    for path in paths:
        found, value = _get(live, path)
        if found:
            _set(result, path, copy_tree(value))
        else:
            result = remove_paths(result, [path])
    return result


def _lookup(obj: Any, path: Path) -> Any:
    found, value = _get(obj, path)
    return value if found else None


def _get(obj: Any, path: Path) -> tuple[bool, Any]:
    node = obj
    for token in path:
        if isinstance(node, dict) and isinstance(token, str) and token in node:
            node = node[token]
        elif isinstance(node, dict) and isinstance(token, int) and str(token) in node:
            node = node[str(token)]
        elif isinstance(node, list) and isinstance(token, int) and token < len(node):
            node = node[token]
        else:
            return False, None
    return True, node


def _set(obj: Any, path: Path, value: Any) -> None:
    node = obj
    for token, following in zip(path, [*path[1:], None], strict=True):
        last = following is None
        if isinstance(node, list):
            if not isinstance(token, int) or token >= len(node):
                return  # no such list item in the body: nothing to keep
            if last:
                node[token] = value
                return
            node = node[token]
            continue
        if not isinstance(node, dict):
            return
        key = str(token)
        if last:
            node[key] = value
            return
        if key not in node:
            node[key] = [] if isinstance(following, int) else {}
        node = node[key]


# --- field-level changes ------------------------------------------------------------------


def field_changes(
    live: dict[str, Any] | None,
    desired: dict[str, Any] | None,
    *,
    managed_fields: list[dict[str, Any]] | None = None,
    ignore: Iterable[Path] = (),
    own_manager: str = "",
) -> list[FieldChange]:
    """Changes from ``live`` to ``desired`` (both normalized), attributed to the live field's manager.

    Secret values are masked. Compares with ``==`` first: DeepDiff is slow even on equal inputs.
    """
    ignore = list(ignore)
    before = remove_paths(live or {}, ignore) if ignore else (live or {})
    after = remove_paths(desired or {}, ignore) if ignore else (desired or {})
    if before == after:
        return []
    from deepdiff import DeepDiff

    secret = masking.is_secret_object(live) or masking.is_secret_object(desired)
    tree = DeepDiff(before, after, view="tree", verbose_level=2)
    changes: list[FieldChange] = []
    for level in _levels(tree):
        path: Path = tuple(level.path(output_format="list"))
        old = _present(level.t1)
        new = _present(level.t2)
        if secret:
            old, new = masking.masked_change_values(path, old, new)
        manager, operation = attribute(managed_fields or [], path, live or {}, own_manager) if old is not None else (None, None)
        changes.append(FieldChange(
            path=format_path(path, before, after), before=old, after=new, manager=manager, operation=operation,
        ))
    changes.sort(key=lambda change: change.path)
    return changes


def _levels(tree: Any) -> Iterator[Any]:
    for report_type in (
        "values_changed", "type_changes", "dictionary_item_added", "dictionary_item_removed",
        "iterable_item_added", "iterable_item_removed", "set_item_added", "set_item_removed",
    ):
        yield from tree.get(report_type, ())


def _present(value: Any) -> Any:
    from deepdiff.helper import NotPresent

    return None if isinstance(value, NotPresent) else value


def format_path(path: Path, before: Any, after: Any) -> str:
    """``spec.template.spec.containers[name=web].image``: list items by name when they have one."""
    text = ""
    node_before, node_after = before, after
    for token in path:
        if isinstance(token, int):
            item = _index(node_before, token) or _index(node_after, token)
            name = item.get("name") if isinstance(item, dict) else None
            text += f"[name={name}]" if isinstance(name, str) else f"[{token}]"
        elif isinstance(token, str) and token.replace("-", "").replace("_", "").isalnum() and "." not in token:
            text += f".{token}" if text else token
        else:
            text += f"[{json.dumps(token)}]"
        node_before = _child(node_before, token)
        node_after = _child(node_after, token)
    return text


def _index(node: Any, index: int) -> Any:
    return node[index] if isinstance(node, list) and index < len(node) else None


def _child(node: Any, token: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(token)
    if isinstance(node, list) and isinstance(token, int):
        return _index(node, token)
    return None


# --- attribution from managedFields -------------------------------------------------------


def attribute(
    managed_fields: list[dict[str, Any]], path: Path, live: dict[str, Any], own_manager: str = ""
) -> tuple[str | None, str | None]:
    """The manager (and operation) owning ``path`` of the live object, most recent first.

    When several share it, another manager is named before ``own_manager`` (drift is someone else's).
    """
    owners = [entry for entry in managed_fields if fields_contain(entry.get("fieldsV1") or {}, path, live)]
    if not owners:
        return None, None
    owners.sort(key=lambda e: (e.get("manager") != own_manager, str(e.get("time") or "")), reverse=True)
    best = owners[0]
    return best.get("manager"), best.get("operation")


def fields_contain(fields: dict[str, Any], path: Path, obj: Any) -> bool:
    """Whether a FieldsV1 set owns ``path`` of ``obj`` (or an atomic ancestor of it).

    Keys: ``f:<field>``, ``k:<json of key fields>`` (list item by keys), ``v:<json value>``
    (set item), ``i:<index>``, and ``.`` (the node itself).
    """
    node: dict[str, Any] = fields
    current = obj
    for token in path:
        if isinstance(token, int):
            item = current[token] if isinstance(current, list) and token < len(current) else None
            child = _list_item_fields(node, token, item)
            current = item
        else:
            child = node.get(f"f:{token}")
            current = current.get(token) if isinstance(current, dict) else None
        if child is None:
            # An owned leaf with nothing below it: the manager owns the whole (atomic) value.
            return node is not fields and not (set(node) - {"."})
        node = child
    return True


def _list_item_fields(node: dict[str, Any], index: int, item: Any) -> dict[str, Any] | None:
    if f"i:{index}" in node:
        return node[f"i:{index}"]
    for key, child in node.items():
        if key.startswith("k:") and isinstance(item, dict):
            try:
                keys = json.loads(key[2:])
            except ValueError:
                continue
            if isinstance(keys, dict) and all(item.get(k) == v for k, v in keys.items()):
                return child
        elif key.startswith("v:"):
            try:
                if json.loads(key[2:]) == item:
                    return child
            except ValueError:
                continue
    return None


# --- canonical forms: named normalizations -------------------------------------------------
# As fluxcd/pkg/ssa keeps its normalizations: each one named, saying why it is needed, unit-tested.
# They serve only the no-op fast path below: a value that differs from the live one only in a
# spelling the server canonicalises on every write is not drift. Anything not listed here is
# compared exactly, and whatever cannot be proved a no-op goes to the server's dry run.


@dataclass(frozen=True)
class Normalization:
    """A field whose value the API server stores in a canonical spelling of its own."""

    name: str
    why: str
    kinds: frozenset[tuple[str, str]]
    """``(group, kind)`` of the built-in types that have such fields (custom resources never do)."""
    paths: tuple[tuple[str, ...], ...]
    """Field paths (list indices left out, ``*`` for any map key) holding such values."""
    canonical: Callable[[Any], Any]
    """The stored spelling of a manifest value; raises ValueError when it has none."""

    def covers(self, group: str, kind: str, path: Path) -> bool:
        if (group, kind) not in self.kinds:
            return False
        names = tuple(token for token in path if isinstance(token, str))
        return any(_path_matches(pattern, names) for pattern in self.paths)


def _path_matches(pattern: tuple[str, ...], names: tuple[str, ...]) -> bool:
    return len(pattern) == len(names) and all(p in ("*", n) for p, n in zip(pattern, names, strict=True))


def _canonical_quantity(value: Any) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError(f"not a quantity: {value!r}")
    return _cached_canonical_quantity(value)


@functools.lru_cache(maxsize=4096, typed=True)
def _cached_canonical_quantity(value: str | int | float) -> str:
    from gitops.quantity import canonical

    return canonical(value)


_POD_SPEC = {
    ("", "Pod"): ("spec",),
    ("", "PodTemplate"): ("template", "spec"),
    ("", "ReplicationController"): ("spec", "template", "spec"),
    ("apps", "Deployment"): ("spec", "template", "spec"),
    ("apps", "ReplicaSet"): ("spec", "template", "spec"),
    ("apps", "StatefulSet"): ("spec", "template", "spec"),
    ("apps", "DaemonSet"): ("spec", "template", "spec"),
    ("batch", "Job"): ("spec", "template", "spec"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template", "spec"),
}
_IN_POD_SPEC = (
    *((containers, "resources", limit, "*") for containers in ("containers", "initContainers", "ephemeralContainers")
      for limit in ("limits", "requests")),
    ("resources", "limits", "*"), ("resources", "requests", "*"),  # pod-level resources
    ("overhead", "*"),
    ("volumes", "emptyDir", "sizeLimit"),
    ("volumes", "ephemeral", "volumeClaimTemplate", "spec", "resources", "limits", "*"),
    ("volumes", "ephemeral", "volumeClaimTemplate", "spec", "resources", "requests", "*"),
)
_QUANTITY_PATHS: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    kind: tuple((*root, *inner) for inner in _IN_POD_SPEC) for kind, root in _POD_SPEC.items()
}
_QUANTITY_PATHS[("apps", "StatefulSet")] += (
    ("spec", "volumeClaimTemplates", "spec", "resources", "limits", "*"),
    ("spec", "volumeClaimTemplates", "spec", "resources", "requests", "*"),
)
_QUANTITY_PATHS[("", "PersistentVolumeClaim")] = (
    ("spec", "resources", "limits", "*"), ("spec", "resources", "requests", "*"),
)
_QUANTITY_PATHS[("", "PersistentVolume")] = (("spec", "capacity", "*"),)
_QUANTITY_PATHS[("", "ResourceQuota")] = (("spec", "hard", "*"),)
_QUANTITY_PATHS[("", "LimitRange")] = tuple(
    ("spec", "limits", bound, "*") for bound in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio")
)

NORMALIZATIONS: tuple[Normalization, ...] = tuple(
    Normalization(
        name=f"resource-quantity:{group or 'core'}/{kind}",
        why=("resource.Quantity is decoded and written back in canonical form (apimachinery "
             "pkg/api/resource/quantity.go, CanonicalizeBytes): cpu \"0.1\" is stored as \"100m\", "
             "0.5 as \"500m\", 1024Mi as \"1Gi\"; re-applying the manifest's spelling writes the same value"),
        kinds=frozenset({(group, kind)}),
        paths=paths,
        canonical=_canonical_quantity,
    )
    for (group, kind), paths in _QUANTITY_PATHS.items()
)
"""Every normalization the no-op fast path may use."""


def stored_form_equal(
    value: Any, live: Any, path: Path, group: str, kind: str,
    normalizations: Iterable[Normalization] = NORMALIZATIONS,
) -> bool:
    """Whether the server would store ``value`` at ``path`` exactly as ``live``: equal (same JSON
    type), or equal once a normalization that covers the field gives the stored spelling."""
    if value == live and type(value) is type(live):
        return True
    for normalization in normalizations:
        if normalization.covers(group, kind, path):
            try:
                stored = normalization.canonical(value)
            except ValueError:
                return False  # the server will reject it or store something else: ask it
            return stored == live and type(stored) is type(live)
    return False


# --- the no-op fast path ------------------------------------------------------------------

_UNTRACKED = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")}


def already_applied(body: dict[str, Any], live: dict[str, Any], manager: str) -> bool:
    """Whether applying ``body`` again would change nothing, decided without asking the server.

    True only when ``manager``'s Apply entry in the live managedFields (same API version) owns
    exactly the fields of ``body`` and every one of them already holds the body's value (or its
    canonical spelling, see :data:`NORMALIZATIONS`). Server-side apply of such a configuration is
    a no-op, so no dry run is needed. Anything else (a null, a field we stopped setting, a value
    someone changed) answers False: ask the server.
    """
    entries = [
        entry for entry in ((live.get("metadata") or {}).get("managedFields") or [])
        if entry.get("manager") == manager and entry.get("operation") == "Apply" and not entry.get("subresource")
    ]
    if len(entries) != 1 or entries[0].get("apiVersion") != body.get("apiVersion"):
        return False
    api_version = str(body.get("apiVersion") or "")
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    kind = str(body.get("kind") or "")
    normalizations = _normalizations_of(group, kind)

    def same_value(value: Any, live_value: Any, path: Path) -> bool:
        if value == live_value and type(value) is type(live_value):
            return True
        return bool(normalizations) and stored_form_equal(value, live_value, path, group, kind, normalizations)

    return _same_fields(body, live, entries[0].get("fieldsV1") or {}, (), same_value)


@functools.lru_cache(maxsize=256)
def _normalizations_of(group: str, kind: str) -> tuple[Normalization, ...]:
    return tuple(n for n in NORMALIZATIONS if (group, kind) in n.kinds)


def _is_leaf(fields: dict[str, Any]) -> bool:
    """A FieldsV1 node that owns a whole value (``{}`` or ``{".": {}}``)."""
    return not fields or (len(fields) == 1 and "." in fields)


def _same_fields(body: Any, live: Any, fields: dict[str, Any], path: Path, same_value: Callable[..., bool]) -> bool:
    if isinstance(body, dict):
        if not isinstance(live, dict):
            return False
        if len(path) <= 1:  # only the top level and metadata hold fields managedFields never lists
            tracked = [key for key in body if (*path, key) not in _UNTRACKED]
            if path == () and "metadata" in tracked and not set(body["metadata"] or {}) - {"name", "namespace"}:
                tracked.remove("metadata")  # nothing in it that managedFields tracks
        else:
            tracked = list(body)
        # The same keys as the owned fields: as many, each of them owned ("." is the node itself).
        if len(fields) - ("." in fields) != len(tracked):
            return False
        for key in tracked:
            child = fields.get(f"f:{key}")
            if child is None or key not in live:
                return False
            if _is_leaf(child):
                value, live_value = body[key], live[key]
                if (value != live_value or type(value) is not type(live_value)) and \
                        not same_value(value, live_value, (*path, key)):
                    return False
            elif not _same_fields(body[key], live[key], child, (*path, key), same_value):
                return False
        return True
    if isinstance(body, list):
        if not isinstance(live, list) or len(fields) - ("." in fields) != len(body):
            return False
        for index, item in enumerate(body):
            match = _matching_live_item(item, live, index, fields)
            if match is None:
                return False
            child, live_item = match
            if not _is_leaf(child):
                if not _same_fields(item, live_item, child, (*path, index), same_value):
                    return False
            elif not same_value(item, live_item, (*path, index)):
                return False
        return True
    return same_value(body, live, path)


def _matching_live_item(item: Any, live: list[Any], index: int, fields: dict[str, Any]) -> tuple[dict, Any] | None:
    for key, child in fields.items():
        if key.startswith("k:") and isinstance(item, dict):
            keys = json.loads(key[2:])
            # A key field the body leaves out may have been defaulted (a port's protocol: TCP).
            if any(k in item for k in keys) and all(item.get(k, v) == v for k, v in keys.items()):
                found = [x for x in live if isinstance(x, dict) and all(x.get(k) == v for k, v in keys.items())]
                return (child, found[0]) if len(found) == 1 else None
        elif key.startswith("v:") and json.loads(key[2:]) == item:
            return (child, item) if item in live else None
        elif key == f"i:{index}" and index < len(live):
            return child, live[index]
    return None
