"""The built-in kinds' schemas (Kubernetes v1.28 OpenAPI), and the two ways the API server types an object.

Pure (the schemas are package data, read once). ``decode`` does what decoding a request body into the Go
type does (sigs.k8s.io/json, strict): the first value of the wrong JSON type fails the whole decode, worded
as encoding/json's ``UnmarshalTypeError``; fields the type does not have are "unknown fields", reported with
their path (``spec.template.spec.containers[0].colour``) and dropped. ``typed_errors`` does what server-side
apply's conversion to a typed value does (structured-merge-diff's validation, schemas converted as
kube-openapi's schemaconv does): undeclared fields and scalars of the wrong type, with SMD's paths
(``.spec.containers[name="web"].colour: field not declared in schema``). It serves custom resources too,
from their CRD's structural schema.

The schemas come from ``openapi-v1.28.json`` (see ``generate_openapi.py``); they are also what
``/openapi/v2`` and ``/openapi/v3`` publish for ``kubectl explain``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REF_PREFIX = "#/components/schemas/"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
ROOT_FIELDS = ("apiVersion", "kind", "metadata")


@functools.cache
def definitions() -> dict[str, dict[str, Any]]:
    """Every definition by its OpenAPI name (``io.k8s.api.apps.v1.Deployment``)."""
    path = Path(__file__).with_name("openapi-v1.28.json")
    return dict(json.loads(path.read_text(encoding="utf-8"))["definitions"])


@functools.cache
def _by_gvk() -> dict[tuple[str, str, str], str]:
    found: dict[tuple[str, str, str], str] = {}
    for name, schema in definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            found[(gvk.get("group", ""), gvk["version"], gvk["kind"])] = name
    return found


def definition_name(group: str, version: str, kind: str) -> str | None:
    return _by_gvk().get((group, version, kind))


def builtin_schema(group: str, version: str, kind: str) -> dict[str, Any] | None:
    """The schema of a built-in kind (a ``$ref`` to its definition), or None when it has none here."""
    name = definition_name(group, version, kind)
    return {"$ref": REF_PREFIX + name} if name else None


def custom_schema(openapi_v3_schema: dict[str, Any]) -> dict[str, Any]:
    """A CRD version's structural schema with the root fields every object has (metadata is ObjectMeta)."""
    properties = dict(openapi_v3_schema.get("properties") or {})
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    properties["metadata"] = {"$ref": REF_PREFIX + OBJECT_META}
    return {**openapi_v3_schema, "type": "object", "properties": properties}


def _ref_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref")
    return ref.removeprefix(REF_PREFIX) if isinstance(ref, str) else ""


def _resolve(schema: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(definition name or "", the schema with its ``$ref`` followed)."""
    name = _ref_name(schema)
    if not name:
        return "", schema
    return name, definitions()[name]


def _json_kind(value: Any) -> str:
    """The JSON kind as encoding/json names it in ``UnmarshalTypeError.Value``."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# ---------------------------------------------------------------------------------------------- decode


@dataclass
class Decoded:
    type_error: str | None = None
    """encoding/json's message for the first value of a wrong type (the decode fails)."""
    unknown: list[str] = field(default_factory=list)
    """Paths of unknown fields, in document order (dropped from the object)."""


def decode(obj: dict[str, Any], schema: dict[str, Any], struct: str) -> Decoded:
    """Decode ``obj`` as the Go type of ``schema`` (root struct name ``struct``, e.g. ``Deployment``).

    Unknown fields are removed from ``obj`` in place.
    """
    result = Decoded()
    _Decoder(result).walk(obj, schema, (), "", struct)
    return result


def go_type(schema: dict[str, Any]) -> str:
    """The Go type a schema stands for, as ``reflect.Type.String()`` prints it (``[]v1.Container``)."""
    name, schema = _resolve(schema)
    if name == INT_OR_STRING:
        return "int32"
    kind = schema.get("type")
    if kind == "array":
        return "[]" + go_type(schema.get("items") or {})
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return "map[string]" + go_type(schema["additionalProperties"])
    if kind == "object" or schema.get("properties"):
        parts = name.split(".")
        return f"{parts[-2]}.{parts[-1]}" if len(parts) >= 2 else "map[string]interface {}"
    if kind == "string":
        return "[]uint8" if schema.get("format") == "byte" else "string"
    if kind == "integer":
        return "int32" if schema.get("format") == "int32" else "int64"
    if kind == "number":
        return "float64"
    if kind == "boolean":
        return "bool"
    return "interface {}"


@dataclass
class _Decoder:
    result: Decoded

    def fail(
        self, value: Any, target: str, fields: tuple[str, ...], struct: str, literal: bool = False
    ) -> None:
        if self.result.type_error is not None:
            return  # encoding/json keeps the first
        kind = _json_kind(value)
        if literal:
            kind = f"number {value}"
        self.result.type_error = (
            f"json: cannot unmarshal {kind} into Go struct field {struct}.{'.'.join(fields)} of type {target}"
        )

    def walk(
        self, value: Any, schema: dict[str, Any], fields: tuple[str, ...], path: str, struct: str
    ) -> None:
        if value is None:
            return  # null leaves the zero value
        name, resolved = _resolve(schema)
        if name == QUANTITY or resolved.get("format") == "date-time":
            return  # custom unmarshalers: quantities are checked where they are canonicalised
        if name == INT_OR_STRING or resolved.get("format") == "int-or-string":
            if isinstance(value, bool) or not isinstance(value, int | str):
                self.fail(value, "int32", fields, struct, literal=isinstance(value, float))
            return
        kind = resolved.get("type")
        properties = resolved.get("properties")
        additional = resolved.get("additionalProperties")
        if properties is not None or (kind == "object" and isinstance(additional, dict)):
            if not isinstance(value, dict):
                self.fail(value, go_type(schema), fields, struct)
                return
            if properties is not None:
                inner = name.rsplit(".", 1)[-1] if name else struct
                required = set(resolved.get("required") or ())
                for key in list(value):
                    child_path = f"{path}.{key}" if path else key
                    if key not in properties:
                        self.result.unknown.append(child_path)
                        del value[key]
                        continue
                    self.walk(value[key], properties[key], (*fields, key), child_path, inner)
                    if key not in required and _omitted(value[key], properties[key]):
                        del value[key]
            else:
                for key, child in value.items():
                    self.walk(child, additional, fields, f"{path}[{key}]", struct)
            return
        if kind == "array":
            if not isinstance(value, list):
                self.fail(value, go_type(schema), fields, struct)
                return
            for index, item in enumerate(value):
                self.walk(item, resolved.get("items") or {}, fields, f"{path}[{index}]", struct)
            return
        expected = _SCALARS.get(str(kind))
        if expected is not None and (
            not isinstance(value, expected) or (bool not in expected and isinstance(value, bool))
        ):
            self.fail(
                value, go_type(schema), fields, struct, literal=kind == "integer" and isinstance(value, float)
            )


def _omitted(value: Any, schema: dict[str, Any]) -> bool:
    """An optional slice or map that is nil or empty: ``omitempty`` leaves it out when the object is encoded."""
    if value not in (None, [], {}):
        return False
    _, resolved = _resolve(schema)
    return resolved.get("type") == "array" or (
        resolved.get("type") == "object" and isinstance(resolved.get("additionalProperties"), dict)
    )


_SCALARS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


# ---------------------------------------------------------------------------------------------- typed (SSA)


def typed_errors(obj: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Why ``obj`` cannot be converted to a typed value of ``schema`` (``.spec.x: field not declared in schema``)."""
    errors: list[str] = []
    _typed(obj, schema, "", errors)
    return errors


def typed_message(errors: list[str]) -> str:
    """``ValidationErrors.Error()``: one error as is, several under ``errors:``."""
    if len(errors) == 1:
        return errors[0]
    return "\n".join(["errors:", *(f"  {error}" for error in errors)])


def _go_value(value: Any) -> str:
    """``%v`` of an unstructured value.Value, as SMD prints the offending value."""
    if isinstance(value, bool):
        inner = "true" if value else "false"
    elif isinstance(value, str):
        inner = json.dumps(value)
    elif isinstance(value, int | float):
        inner = str(value)
    else:
        inner = json.dumps(value, separators=(",", ":"))
    return f"&value.valueUnstructured{{Value:{inner}}}"


def _go_type_name(value: Any) -> str:
    """``%T`` of the unstructured Go value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    return "map[string]interface {}"


def _key_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _element(schema: dict[str, Any], item: Any, index: int) -> str:
    list_type = schema.get("x-kubernetes-list-type")
    keys = schema.get("x-kubernetes-list-map-keys") or []
    if list_type is None and "merge" in str(schema.get("x-kubernetes-patch-strategy", "")):
        merge_key = schema.get("x-kubernetes-patch-merge-key")
        if merge_key:
            list_type, keys = "map", [merge_key]
    if list_type == "map" and keys and isinstance(item, dict):
        return "[" + ",".join(f"{k}={_key_text(item.get(k))}" for k in keys if k in item) + "]"
    if list_type == "set":
        return f"[={_key_text(item)}]"
    return f"[{index}]"


def _typed(value: Any, schema: dict[str, Any], path: str, errors: list[str]) -> None:
    if value is None:
        return
    name, resolved = _resolve(schema)
    if name == QUANTITY or resolved.get("x-kubernetes-int-or-string"):
        return  # untyped scalars
    kind = resolved.get("type")
    fmt = resolved.get("format", "")
    properties = resolved.get("properties")
    additional = resolved.get("additionalProperties")
    preserve = resolved.get("x-kubernetes-preserve-unknown-fields") or additional is True
    if kind == "object" or properties is not None:
        if not isinstance(value, dict):
            errors.append(f"{path}: expected map, got {_go_value(value)}")
            return
        embedded = resolved.get("x-kubernetes-embedded-resource")
        for key, child in value.items():
            child_path = f"{path}.{key}"
            if properties is not None and key in properties:
                _typed(child, properties[key], child_path, errors)
            elif isinstance(additional, dict):
                _typed(child, additional, child_path, errors)
            elif embedded and key in ROOT_FIELDS:
                if key == "metadata":
                    _typed(child, {"$ref": REF_PREFIX + OBJECT_META}, child_path, errors)
            elif not preserve and (properties is not None or additional is False):
                errors.append(f"{child_path}: field not declared in schema")
        return
    if kind == "array":
        if not isinstance(value, list):
            errors.append(f"{path}: expected list, got {_go_value(value)}")
            return
        for index, item in enumerate(value):
            _typed(item, resolved.get("items") or {}, path + _element(resolved, item, index), errors)
        return
    scalar = isinstance(value, str | int | float)
    if kind in ("integer", "number") and (isinstance(value, bool) or not isinstance(value, int | float)):
        errors.append(f"{path}: expected numeric (int or float), got {_go_type_name(value)}")
    elif kind == "string" and fmt in ("", "byte") and not isinstance(value, str):
        errors.append(f"{path}: expected string, got {_go_value(value)}")
    elif kind == "boolean" and not isinstance(value, bool):
        errors.append(f"{path}: expected boolean, got {_go_value(value)}")
    elif kind == "string" and not scalar:
        errors.append(f"{path}: expected any scalar, got {_go_value(value)}")
