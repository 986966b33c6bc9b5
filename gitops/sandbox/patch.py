"""JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch, as the API server applies them.

Pure. Errors are ``PatchError`` with the ``code``, ``reason`` and ``message`` the real server answers with
(k8s.io/apiserver/pkg/endpoints/handlers/patch.go): a malformed patch is 400 BadRequest; a JSON patch that
does not apply (a failed ``test``, a missing path) is 422 Invalid with upstream's generic message; a strategic
merge patch on a kind without patch metadata (custom resources) is 415 UnsupportedMediaType.
"""

from __future__ import annotations

import copy
from typing import Any

from gitops.sandbox.builtin_schema import BUILTIN_TYPES
from gitops.sandbox.status import ApiStatus

REJECTED = "the server rejected our request due to an error in our request"
UNSUPPORTED_SMP = (
    "the body of the request was in an unknown format - accepted media types include: "
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
)


class PatchError(ApiStatus):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(code, reason, message, {} if code == 422 else None)


def _bad_request(message: str) -> PatchError:
    return PatchError(400, "BadRequest", message)


def _rejected() -> PatchError:
    return PatchError(422, "Invalid", REJECTED)


# ---------------------------------------------------------------------------------------------- merge patch


def json_merge_patch(obj: dict[str, Any], patch: Any) -> dict[str, Any]:
    """RFC 7386: maps merge recursively, null deletes, everything else replaces."""
    result = _merge_patch(copy.deepcopy(obj), patch)
    if not isinstance(result, dict):
        raise _bad_request("Invalid JSON Patch")
    return result


def _merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = _merge_patch(target.get(key), value)
    return target


# ---------------------------------------------------------------------------------------------- JSON patch


def json_patch(obj: dict[str, Any], ops: Any) -> dict[str, Any]:
    """RFC 6902 with add, remove, replace, move, copy and test, as evanphx/json-patch applies it."""
    if not isinstance(ops, list):
        raise _bad_request(f"json: cannot unmarshal {_json_kind(ops)} into Go value of type jsonpatch.Patch")
    document: Any = copy.deepcopy(obj)
    for op in ops:
        if not isinstance(op, dict):
            raise _bad_request(
                f"json: cannot unmarshal {_json_kind(op)} into Go value of type jsonpatch.Operation"
            )
        document = _apply_op(document, op)
    if not isinstance(document, dict):
        raise _rejected()
    return document


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "array" if isinstance(value, list) else "null"


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise _rejected()
    if path == "":
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _apply_op(document: Any, op: dict[str, Any]) -> Any:
    name = op.get("op")
    if name not in ("add", "remove", "replace", "move", "copy", "test"):
        raise _rejected()
    path = _pointer(op.get("path"))
    if name in ("add", "replace", "test") and "value" not in op:
        raise _rejected()
    if name == "test":
        if not _equal(_get(document, path), op["value"]):
            raise _rejected()
        return document
    if name == "add":
        return _add(document, path, copy.deepcopy(op["value"]))
    if name == "remove":
        return _remove(document, path)
    if name == "replace":
        _get(document, path)
        return _add(_remove(document, path), path, copy.deepcopy(op["value"]), replace=True)
    source = _pointer(op.get("from"))
    value = copy.deepcopy(_get(document, source))
    if name == "move":
        document = _remove(document, source)
    return _add(document, path, value)


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    return bool(left == right)


def _get(document: Any, path: list[str]) -> Any:
    current = document
    for part in path:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise _rejected()
    return current


def _add(document: Any, path: list[str], value: Any, *, replace: bool = False) -> Any:
    if not path:
        return value
    parent = _get(document, path[:-1])
    last = path[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-" and not replace:
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise _rejected()
    else:
        raise _rejected()
    return document


def _remove(document: Any, path: list[str]) -> Any:
    if not path:
        raise _rejected()
    parent = _get(document, path[:-1])
    last = path[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        del parent[int(last)]
    else:
        raise _rejected()
    return document


# ---------------------------------------------------------------------------------------------- strategic merge


_POD_SPEC_KEYS: dict[tuple[str, ...], str] = {
    ("volumes",): "name",
    ("initContainers",): "name",
    ("containers",): "name",
    ("ephemeralContainers",): "name",
    ("imagePullSecrets",): "name",
    ("hostAliases",): "ip",
    ("topologySpreadConstraints",): "topologyKey",
    ("schedulingGates",): "name",
    ("resourceClaims",): "name",
}
_CONTAINER_KEYS: dict[tuple[str, ...], str] = {
    ("ports",): "containerPort",
    ("env",): "name",
    ("volumeMounts",): "mountPath",
    ("volumeDevices",): "devicePath",
}
_METADATA_KEYS: dict[tuple[str, ...], str] = {("finalizers",): "", ("ownerReferences",): "uid"}


def _pod_spec_keys(prefix: tuple[str, ...]) -> dict[tuple[str, ...], str]:
    keys = {prefix + path: key for path, key in _POD_SPEC_KEYS.items()}
    for containers in ("initContainers", "containers", "ephemeralContainers"):
        keys.update({(*prefix, containers, *path): key for path, key in _CONTAINER_KEYS.items()})
    return keys


def _template_keys(prefix: tuple[str, ...]) -> dict[tuple[str, ...], str]:
    keys = _pod_spec_keys((*prefix, "spec"))
    keys.update({(*prefix, "metadata", *path): key for path, key in _METADATA_KEYS.items()})
    return keys


def _merge_keys(group: str, kind: str) -> dict[tuple[str, ...], str]:
    """``patchMergeKey`` of every list with ``patchStrategy: merge`` ("" for merged primitive lists)."""
    keys = {("metadata", *path): key for path, key in _METADATA_KEYS.items()}
    keys[("status", "conditions")] = "type"
    if (group, kind) in (
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "DaemonSet"),
        ("apps", "StatefulSet"),
        ("batch", "Job"),
    ):
        keys.update(_template_keys(("spec", "template")))
    elif (group, kind) == ("batch", "CronJob"):
        keys.update(_template_keys(("spec", "jobTemplate", "spec", "template")))
    elif (group, kind) == ("", "Pod"):
        keys.update(_pod_spec_keys(("spec",)))
    elif (group, kind) == ("", "Service"):
        keys[("spec", "ports")] = "port"
    elif (group, kind) == ("", "ServiceAccount"):
        keys[("secrets",)] = "name"
    if (group, kind) == ("batch", "Job"):
        keys.pop(("status", "conditions"))
    return keys


def strategic_merge_patch(obj: dict[str, Any], patch: Any, gvk: tuple[str, str, str]) -> dict[str, Any]:
    """Apply a strategic merge patch to a built-in object (raises PatchError 415 for other kinds)."""
    group, _, kind = gvk
    if (group, kind) not in BUILTIN_TYPES:
        raise PatchError(415, "UnsupportedMediaType", UNSUPPORTED_SMP)
    if not isinstance(patch, dict):
        raise _bad_request("invalid JSON document")
    merged = _smp_map(copy.deepcopy(obj), patch, (), _merge_keys(group, kind))
    return merged if isinstance(merged, dict) else {}


def _smp_map(
    target: Any, patch: dict[str, Any], path: tuple[str, ...], keys: dict[tuple[str, ...], str]
) -> Any:
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive is not None:
        raise _bad_request(f"Unknown patch type: {directive}")
    target = target if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    before: dict[str, Any] = {}
    """Merged lists as they were, for ``$setElementOrder`` (upstream orders against the original)."""
    for key, value in patch.items():
        if key in ("$retainKeys",) or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            current = target.get(name)
            if isinstance(current, list) and isinstance(value, list):
                target[name] = [item for item in current if item not in value]
            continue
        child_path = (*path, key)
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            merged = _smp_map(target.get(key), value, child_path, keys)
            if merged is None:
                target.pop(key, None)
            else:
                target[key] = merged
        elif isinstance(value, list) and child_path in keys:
            before[key] = target.get(key)
            target[key] = _smp_list(target.get(key), value, child_path, keys)
        else:
            target[key] = copy.deepcopy(value)
    for key, value in patch.items():
        if key.startswith("$setElementOrder/"):
            name = key.split("/", 1)[1]
            if isinstance(target.get(name), list) and isinstance(value, list):
                original = before.get(name, target[name])
                target[name] = _ordered(
                    target[name],
                    value,
                    original if isinstance(original, list) else [],
                    keys.get((*path, name), ""),
                )
    if isinstance(retain, list):
        if not all(isinstance(k, str) for k in retain):
            raise _bad_request("invalid patch: $retainKeys must be a list of strings")
        target = {k: v for k, v in target.items() if k in retain}
    return target


def _smp_list(
    target: Any, patch: list[Any], path: tuple[str, ...], keys: dict[tuple[str, ...], str]
) -> list[Any]:
    """``mergeSlice``: merge by key (or union primitives), then upstream's element order."""
    merge_key = keys[path]
    original = list(target) if isinstance(target, list) else []
    if not merge_key:
        merged: list[Any] = []
        for item in original + patch:
            if item not in merged:
                merged.append(copy.deepcopy(item))
        return _ordered(merged, patch, original, "")
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [copy.deepcopy(item) for item in patch if not (isinstance(item, dict) and "$patch" in item)]
    plain: list[Any] = []
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            raise _bad_request(f"map: {item} does not contain declared merge key: {merge_key}")
        if item.get("$patch") == "delete":
            original = [
                o for o in original if not (isinstance(o, dict) and o.get(merge_key) == item[merge_key])
            ]
        else:
            plain.append(item)
    merged = list(original)
    for item in plain:
        position = next(
            (
                i
                for i, existing in enumerate(merged)
                if isinstance(existing, dict) and existing.get(merge_key) == item[merge_key]
            ),
            None,
        )
        if position is None:
            merged.append(_smp_map({}, item, path, keys))
        else:
            merged[position] = _smp_map(merged[position], item, path, keys)
    return _ordered(merged, plain, original, merge_key)


def _ordered(merged: list[Any], order: list[Any], original: list[Any], merge_key: str) -> list[Any]:
    """Upstream's ``normalizeElementOrder``: the items named in ``order`` in that order, the others in
    their ``original`` order, interleaved where both were in ``original``; new items go first."""

    def identity(item: Any) -> Any:
        return item.get(merge_key) if merge_key and isinstance(item, dict) else item

    def index(items: list[Any], item: Any) -> int:
        wanted = identity(item)
        return next((i for i, candidate in enumerate(items) if identity(candidate) == wanted), -1)

    named = {_hashable(identity(item)) for item in order}
    in_order = sorted(
        (item for item in merged if _hashable(identity(item)) in named), key=lambda item: index(order, item)
    )
    server_only = sorted(
        (item for item in merged if _hashable(identity(item)) not in named),
        key=lambda item: index(original, item),
    )
    out: list[Any] = []
    left = right = 0
    while left < len(server_only) or right < len(in_order):
        if right >= len(in_order):
            out.append(server_only[left])
            left += 1
        elif left >= len(server_only):
            out.append(in_order[right])
            right += 1
        else:
            left_at, right_at = index(original, server_only[left]), index(original, in_order[right])
            if left_at >= 0 and right_at >= 0 and left_at < right_at:
                out.append(server_only[left])
                left += 1
            else:
                out.append(in_order[right])
                right += 1
    return out


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, dict | list) else (type(value).__name__, value)
