"""OpenAPI v3 per group-version, as ``kubectl`` reads it: every PATCH accepts ``fieldValidation`` (so kubectl
validates server-side), and ``components.schemas`` holds the kinds' schemas for ``kubectl explain`` (built-in
kinds from the v1.28 definitions, custom resources from their CRD). OpenAPI v2 (``/openapi/v2``, which
kubectl asks for as protobuf) is not served.

Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from gitops.sandbox import schemas
from gitops.sandbox.crd import Registry
from gitops.sandbox.resources import ResourceType

_QUERY_PARAMETERS = ("dryRun", "fieldManager", "fieldValidation", "force")


def _prefix(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def group_version_document(registry: Registry, group: str, version: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for rt in registry.types_in(group, version):
        if "patch" in rt.verbs:
            paths[_item_path(rt)] = {"patch": _patch_operation(rt)}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.28.7"},
        "paths": paths,
        "components": {"schemas": _component_schemas(registry.types_in(group, version))},
    }


def _component_schemas(types: list[ResourceType]) -> dict[str, Any]:
    """The kinds' schemas and every definition they refer to (names as the real server's, refs resolved here)."""
    found: dict[str, Any] = {}
    pending: list[str] = []
    for rt in types:
        if rt.custom:
            name = _custom_name(rt)
            found[name] = _custom_component(rt)
            pending.extend(_refs(found[name]))
            continue
        builtin = schemas.definition_name(rt.group, rt.version, rt.kind)
        if builtin:
            pending.append(builtin)
    definitions = schemas.definitions()
    while pending:
        name = pending.pop()
        if name not in found and name in definitions:
            found[name] = _v3(definitions[name])
            pending.extend(_refs(definitions[name]))
    return found


def _v3(node: Any) -> Any:
    """OpenAPI 3.0 ignores a ``$ref``'s siblings: wrap the reference in ``allOf`` as the real server does."""
    if isinstance(node, list):
        return [_v3(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _v3(value) for key, value in node.items()}
    ref = converted.get("$ref")
    if isinstance(ref, str) and len(converted) > 1:
        del converted["$ref"]
        converted["allOf"] = [{"$ref": ref}]
    return converted


def _custom_name(rt: ResourceType) -> str:
    """``com.example.v1.Widget``: the reversed group, then version and kind, as apiextensions names it."""
    return ".".join([*reversed(rt.group.split(".")), rt.version, rt.kind])


def _custom_component(rt: ResourceType) -> dict[str, Any]:
    schema = schemas.custom_schema(rt.schema) if rt.schema else {"type": "object"}
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    return {**schema, "x-kubernetes-group-version-kind": [gvk]}


def _refs(node: Any) -> list[str]:
    if isinstance(node, list):
        return [name for item in node for name in _refs(item)]
    if not isinstance(node, dict):
        return []
    ref = node.get("$ref")
    own = [ref.removeprefix(schemas.REF_PREFIX)] if isinstance(ref, str) else []
    return own + [name for value in node.values() for name in _refs(value)]


def _item_path(rt: ResourceType) -> str:
    namespace = "/namespaces/{namespace}" if rt.namespaced else ""
    return f"/{_prefix(rt.group, rt.version)}{namespace}/{rt.name}/{{name}}"


def _patch_operation(rt: ResourceType) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
        for name in _QUERY_PARAMETERS
    ]
    return {
        "operationId": f"patch{rt.kind}",
        "parameters": parameters,
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
    }


def root_document(registry: Registry) -> dict[str, Any]:
    versions = [("", "v1")] + [(g.name, v) for g in registry.groups() for v in g.versions]
    paths = {}
    for group, version in versions:
        digest = (
            hashlib.sha512(
                json.dumps(group_version_document(registry, group, version), sort_keys=True).encode()
            )
            .hexdigest()[:128]
            .upper()
        )
        paths[_prefix(group, version)] = {
            "serverRelativeURL": f"/openapi/v3/{_prefix(group, version)}?hash={digest}"
        }
    return {"paths": paths}


def document_for_path(registry: Registry, path: str) -> dict[str, Any] | None:
    """``/openapi/v3`` or ``/openapi/v3/apis/<group>/<version>`` (``/openapi/v3/api/v1``)."""
    if path == "/openapi/v3":
        return root_document(registry)
    parts = path.removeprefix("/openapi/v3/").split("/")
    if parts == ["api", "v1"]:
        return group_version_document(registry, "", "v1")
    if len(parts) == 3 and parts[0] == "apis" and registry.types_in(parts[1], parts[2]):
        return group_version_document(registry, parts[1], parts[2])
    return None
