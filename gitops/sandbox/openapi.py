"""A minimal OpenAPI v3 description: enough for kubectl to see that every PATCH accepts ``fieldValidation``
(so it validates server-side instead of downloading schemas). Schemas themselves are not published.

Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

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
        "components": {"schemas": {}},
    }


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
