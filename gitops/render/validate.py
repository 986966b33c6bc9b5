"""Offline validation of rendered objects, following the API server's rules where they can be known offline.

Pure: no I/O. Every check returns problems instead of raising, so that all of them are reported at once.
Messages never include Secret values.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterator
from typing import Any

from gitops.errors import Problem
from gitops.objects import Manifest, ObjectRef, Origin

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL = re.compile(_LABEL)
DNS1123_SUBDOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*")
QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
API_VERSION = re.compile(r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?v[a-z0-9]+")

RBAC_GROUP = "rbac.authorization.k8s.io"
ANNOTATIONS_MAX_BYTES = 256 * 1024

# Kinds whose names the API server checks as DNS-1123 labels (Service since Kubernetes 1.37,
# RelaxedServiceNameValidation; a DNS-1035 label before), or as path segments (RBAC). All others,
# custom resources included, as DNS-1123 subdomains.
LABEL_NAMED = frozenset({("", "Namespace"), ("", "Service")})
PATH_SEGMENT_NAMED = frozenset(
    (RBAC_GROUP, kind) for kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
)

# Built-in kinds known to be cluster-scoped. The scope of other kinds is left to the engine (discovery).
CLUSTER_SCOPED = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        (RBAC_GROUP, "ClusterRole"),
        (RBAC_GROUP, "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("networking.k8s.io", "IngressClass"),
        ("node.k8s.io", "RuntimeClass"),
    }
)


def is_cluster_scoped(ref: ObjectRef) -> bool:
    """True for the built-in cluster-scoped kinds listed above; False when unknown."""
    return (ref.group, ref.kind) in CLUSTER_SCOPED


def dns1123_label_errors(value: str) -> list[str]:
    if len(value) > 63:
        return ["must be no more than 63 characters"]
    if not DNS1123_LABEL.fullmatch(value):
        return [
            "must be a DNS-1123 label: lower case letters, digits and '-', starting and ending with a letter or digit"
        ]
    return []


def dns1123_subdomain_errors(value: str) -> list[str]:
    if len(value) > 253:
        return ["must be no more than 253 characters"]
    if not DNS1123_SUBDOMAIN.fullmatch(value):
        return [
            "must be a DNS-1123 subdomain: lower case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit"
        ]
    return []


def path_segment_errors(value: str) -> list[str]:
    if value in (".", ".."):
        return [f"may not be {value!r}"]
    return [f"may not contain {c!r}" for c in ("/", "%") if c in value]


def qualified_name_errors(value: str) -> list[str]:
    """Label and annotation keys: an optional DNS subdomain prefix and '/', then a name of up to 63 characters."""
    prefix, slash, name = value.rpartition("/")
    errors: list[str] = []
    if slash and not prefix:
        errors.append("prefix part must not be empty")
    elif slash:
        errors.extend(f"prefix part {e}" for e in dns1123_subdomain_errors(prefix))
    if not name:
        errors.append("name part must not be empty")
    elif len(name) > 63:
        errors.append("name part must be no more than 63 characters")
    elif not QUALIFIED_NAME.fullmatch(name):
        errors.append(
            "name part must consist of letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        )
    return errors


def label_value_errors(value: str) -> list[str]:
    if len(value) > 63:
        return ["must be no more than 63 characters"]
    if value and not QUALIFIED_NAME.fullmatch(value):
        return [
            "must be empty or letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        ]
    return []


def name_errors(ref: ObjectRef) -> list[str]:
    """The API server's name rule for the object's kind."""
    key = (ref.group, ref.kind)
    if key in LABEL_NAMED:
        return dns1123_label_errors(ref.name)
    if key in PATH_SEGMENT_NAMED:
        return path_segment_errors(ref.name)
    return dns1123_subdomain_errors(ref.name)


def type_name(value: Any) -> str:
    """How a YAML author would call the type of ``value``."""
    names = {bool: "boolean", int: "number", float: "number", str: "string", list: "list", dict: "mapping"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _quote_hint(value: Any) -> str:
    if isinstance(value, bool):
        return " (YAML reads yes/no/on/off/true/false unquoted as booleans)"
    if isinstance(value, int | float):
        return " (YAML reads unquoted numbers such as 0755 or 1.10 as numbers)"
    return ""


def validate(manifests: list[Manifest]) -> list[Problem]:
    """Every problem of every object, then objects defined twice."""
    problems: list[Problem] = []
    for manifest in manifests:
        problems.extend(validate_object(manifest.obj, manifest.origin))
    problems.extend(duplicate_objects(manifests))
    return problems


def validate_object(obj: Any, origin: Origin) -> list[Problem]:
    """The problems of one object; the object need not be well-formed."""
    if not isinstance(obj, dict):
        return [Problem(f"expected an object (a mapping), found a {type_name(obj)}", origin=origin)]
    ref = _safe_ref(obj)

    def problem(message: str) -> Problem:
        return Problem(message, origin=origin, ref=ref)

    messages = [*_type_meta(obj), *_object_meta(obj, ref), *([] if _plain_json(obj) else _not_json(obj))]
    if ref is not None:
        messages.extend(_kind_rules(obj, ref))
    return [problem(m) for m in messages]


def _safe_ref(obj: dict[str, Any]) -> ObjectRef | None:
    """The object's identity, when kind and name are strings (for messages and duplicates)."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return None
    fields = (obj.get("apiVersion"), obj.get("kind"), metadata.get("name"), metadata.get("namespace") or "")
    if not all(isinstance(f, str) for f in fields) or not obj.get("kind") or not metadata.get("name"):
        return None
    return ObjectRef.from_object(obj)


def _type_meta(obj: dict[str, Any]) -> Iterator[str]:
    api_version = obj.get("apiVersion")
    if api_version is None or api_version == "":
        yield "apiVersion is missing"
    elif not isinstance(api_version, str):
        yield f"apiVersion must be a string, found a {type_name(api_version)}{_quote_hint(api_version)}"
    elif not API_VERSION.fullmatch(api_version):
        yield f"apiVersion {api_version!r} is not of the form 'v1' or 'group/v1'"
    kind = obj.get("kind")
    if kind is None or kind == "":
        yield "kind is missing"
    elif not isinstance(kind, str):
        yield f"kind must be a string, found a {type_name(kind)}"


def _object_meta(obj: dict[str, Any], ref: ObjectRef | None) -> Iterator[str]:
    metadata = obj.get("metadata")
    if metadata is None:
        yield "metadata.name is missing (no metadata)"
        return
    if not isinstance(metadata, dict):
        yield f"metadata must be a mapping, found a {type_name(metadata)}"
        return
    yield from _name(metadata, ref)
    yield from _namespace(metadata, ref)
    yield from _labels(metadata.get("labels"))
    yield from _annotations(metadata.get("annotations"))


def _name(metadata: dict[str, Any], ref: ObjectRef | None) -> Iterator[str]:
    name = metadata.get("name")
    if name is None or name == "":
        hint = (
            " (generateName is not supported: gitops applies objects by name)"
            if metadata.get("generateName")
            else ""
        )
        yield f"metadata.name is missing{hint}"
    elif not isinstance(name, str):
        yield f"metadata.name must be a string, found a {type_name(name)}{_quote_hint(name)}"
    elif ref is not None:
        yield from (f"metadata.name {name!r} {e}" for e in name_errors(ref))


def _namespace(metadata: dict[str, Any], ref: ObjectRef | None) -> Iterator[str]:
    if "namespace" not in metadata:
        return
    namespace = metadata["namespace"]
    if not isinstance(namespace, str):
        yield f"metadata.namespace must be a string, found a {type_name(namespace)}{_quote_hint(namespace)}"
        return
    if namespace:
        yield from (f"metadata.namespace {namespace!r} {e}" for e in dns1123_label_errors(namespace))
    if namespace and ref is not None and is_cluster_scoped(ref):
        yield f"{ref.kind} is cluster-scoped and must not set metadata.namespace ({namespace!r})"


def _labels(labels: Any) -> Iterator[str]:
    if labels is None:
        return
    if not isinstance(labels, dict):
        yield f"metadata.labels must be a mapping, found a {type_name(labels)}"
        return
    for key, value in labels.items():
        if not isinstance(key, str):
            continue  # reported by _not_json
        yield from (f"label key {key!r}: {e}" for e in qualified_name_errors(key))
        if not isinstance(value, str):
            yield f"label {key!r} must be a string, found a {type_name(value)}: quote it{_quote_hint(value)}"
        else:
            yield from (f"label {key!r} value {value!r} {e}" for e in label_value_errors(value))


def _annotations(annotations: Any) -> Iterator[str]:
    if annotations is None:
        return
    if not isinstance(annotations, dict):
        yield f"metadata.annotations must be a mapping, found a {type_name(annotations)}"
        return
    size = 0
    for key, value in annotations.items():
        if not isinstance(key, str):
            continue
        yield from (f"annotation key {key!r}: {e}" for e in qualified_name_errors(key.lower()))
        if not isinstance(value, str):
            yield f"annotation {key!r} must be a string, found a {type_name(value)}: quote it{_quote_hint(value)}"
        else:
            size += len(key.encode()) + len(value.encode())
    if size > ANNOTATIONS_MAX_BYTES:
        yield f"annotations total {size} bytes, over the limit of {ANNOTATIONS_MAX_BYTES} bytes"


def _plain_json(value: Any) -> bool:
    """Whether ``value`` is made of JSON types only: the common case, checked without building the
    paths :func:`_not_json` reports problems with (most of validating a manifest's time)."""
    kind = type(value)
    if kind is dict:
        for key, child in value.items():
            leaf = type(child)
            if type(key) is not str or not (leaf is str or leaf is int or leaf is bool or child is None
                                            or _plain_json(child)):
                return False
        return True
    if kind is list:
        for item in value:
            leaf = type(item)
            if not (leaf is str or leaf is int or leaf is bool or item is None or _plain_json(item)):
                return False
        return True
    if kind is str or kind is int or kind is bool or value is None:
        return True
    return kind is float and math.isfinite(value)


def _not_json(value: Any, path: str = "") -> Iterator[str]:
    """What YAML read that JSON (and so the API server) cannot hold: ``on:`` or ``1:`` keys, ``!!binary``, ``.nan``."""
    where = f" in {path}" if path else ""
    if isinstance(value, dict):
        for key, child in value.items():
            if not isinstance(key, str):
                yield f"key {key!r}{where} is a {type_name(key)}, not a string: quote it{_quote_hint(key)}"
                continue
            yield from _not_json(child, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _not_json(item, f"{path}[{index}]")
    elif isinstance(value, float) and not math.isfinite(value):
        yield f"{path} is {value}, which JSON cannot hold"
    elif not isinstance(value, str | int | float | bool | None):
        yield f"{path} is a {type_name(value)} (a YAML tag such as !!binary or !!set), which JSON cannot hold"


def _kind_rules(obj: dict[str, Any], ref: ObjectRef) -> Iterator[str]:
    if ref.group == "" and ref.kind == "ConfigMap":
        yield from _string_map(obj, "data", secret=False)
        yield from _string_map(obj, "binaryData", secret=False, base64_values=True)
    elif ref.group == "" and ref.kind == "Secret":
        yield from _string_map(obj, "data", secret=True, base64_values=True)
        yield from _string_map(obj, "stringData", secret=True)
    elif ref.group == "apiextensions.k8s.io" and ref.kind == "CustomResourceDefinition":
        yield from _crd_name(obj, ref)


def _string_map(
    obj: dict[str, Any], field: str, *, secret: bool, base64_values: bool = False
) -> Iterator[str]:
    """ConfigMap/Secret data: string keys and string values (never echoing a Secret's values)."""
    data = obj.get(field)
    if data is None:
        return
    if not isinstance(data, dict):
        yield f"{field} must be a mapping of strings, found a {type_name(data)}"
        return
    for key, value in data.items():
        if not isinstance(key, str):
            continue
        if len(key) > 253 or not CONFIG_KEY.fullmatch(key):
            yield f"{field} key {key!r} must consist of letters, digits, '-', '_' or '.' (at most 253)"
        if not isinstance(value, str):
            shown = "" if secret else f" ({value!r})"
            yield (
                f"{field}.{key} must be a string, found a {type_name(value)}{shown}: "
                f"quote the value{_quote_hint(value)}"
            )
        elif base64_values and not _is_base64(value):
            plain = " (use stringData for plain text)" if secret else ""
            yield f"{field}.{key} is not valid base64{plain}"


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _crd_name(obj: dict[str, Any], ref: ObjectRef) -> Iterator[str]:
    spec = obj.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("names"), dict):
        return
    plural, group = spec["names"].get("plural"), spec.get("group")
    if isinstance(plural, str) and isinstance(group, str) and ref.name != f"{plural}.{group}":
        yield f"metadata.name must be spec.names.plural + '.' + spec.group ({plural}.{group!s})"


def duplicate_objects(manifests: list[Manifest]) -> list[Problem]:
    """One problem per object defined more than once, naming where it was defined first."""
    first_seen: dict[ObjectRef, Origin] = {}
    problems: list[Problem] = []
    for manifest in manifests:
        ref = _safe_ref(manifest.obj) if isinstance(manifest.obj, dict) else None
        if ref is None:
            continue
        if ref in first_seen:
            problems.append(
                Problem(f"defined twice: also at {first_seen[ref]}", origin=manifest.origin, ref=ref)
            )
        else:
            first_seen[ref] = manifest.origin
    return problems
