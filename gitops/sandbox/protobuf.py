"""Just enough of Kubernetes' protobuf encoding for kubectl's ``create`` generators (namespace, configmap,
secret, serviceaccount, deployment, service, job, cronjob, role, clusterrole, rolebinding,
clusterrolebinding), which send ``application/vnd.kubernetes.protobuf``. Any other protobuf body (another
kind, or a field these tables do not name) is refused with 415, as by a server that does not speak protobuf.
Field numbers are the ``protobuf:"..."`` tags of k8s.io/api's types.go.

Pure: no I/O.
"""

from __future__ import annotations

import base64
from typing import Any

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"


class Unsupported(ValueError):
    """The body is not a protobuf object this module can decode."""


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if position >= len(data):
            raise Unsupported("truncated varint")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs; length-delimited values as bytes, varints as int."""
    fields: list[tuple[int, int | bytes]] = []
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(data, position)
            fields.append((number, value))
        elif wire == 2:
            length, position = _varint(data, position)
            fields.append((number, data[position : position + length]))
            position += length
        else:
            raise Unsupported(f"wire type {wire}")
    return fields


def _text(value: int | bytes) -> str:
    if not isinstance(value, bytes):
        raise Unsupported("expected a string")
    return value.decode("utf-8")


def _map_entry(value: int | bytes, *, binary: bool) -> tuple[str, str]:
    if not isinstance(value, bytes):
        raise Unsupported("expected a map entry")
    entry = dict(_fields(value))
    raw = entry.get(2, b"")
    if not isinstance(raw, bytes):
        raise Unsupported("expected a map value")
    text = base64.b64encode(raw).decode("ascii") if binary else raw.decode("utf-8")
    return _text(entry.get(1, b"")), text


def _object_meta(data: bytes) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    scalar = {1: "name", 2: "generateName", 3: "namespace"}
    for number, value in _fields(data):
        if number in scalar:
            if _text(value):
                metadata[scalar[number]] = _text(value)
        elif number in (11, 12):
            key, text = _map_entry(value, binary=False)
            metadata.setdefault("labels" if number == 11 else "annotations", {})[key] = text
        elif number == 14:
            metadata.setdefault("finalizers", []).append(_text(value))
        elif not _blank(value):
            raise Unsupported(f"ObjectMeta field {number}")
    return metadata


def _blank(value: int | bytes) -> bool:
    """A zero value as gogo-protobuf writes unset non-pointer fields (0, "", or a message of such)."""
    if isinstance(value, int):
        return value == 0
    if not value:
        return True
    try:
        return all(
            _blank(inner) if isinstance(inner, int) or not inner else False for _, inner in _fields(value)
        )
    except Unsupported:
        return False


def _decode_kind(kind: str, raw: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for number, value in _fields(raw):
        if number == 1 and isinstance(value, bytes):
            obj["metadata"] = _object_meta(value)
        elif kind == "Namespace" and number in (2, 3) and _blank(value):
            continue
        elif kind == "ConfigMap" and number in (2, 3):
            key, text = _map_entry(value, binary=number == 3)
            obj.setdefault("data" if number == 2 else "binaryData", {})[key] = text
        elif kind in ("ConfigMap", "Secret") and number == (4 if kind == "ConfigMap" else 5):
            obj["immutable"] = bool(value)
        elif kind == "Secret" and number in (2, 4):
            key, text = _map_entry(value, binary=number == 2)
            obj.setdefault("data" if number == 2 else "stringData", {})[key] = text
        elif kind == "Secret" and number == 3:
            if _text(value):
                obj["type"] = _text(value)
        elif not _blank(value):
            raise Unsupported(f"{kind} field {number}")
    return obj


# Message tables: field number -> (JSON name, type). Types: "string", "int", "bool", "strings" (repeated),
# "map" (map<string,string>), "meta" (ObjectMeta), a message name, or "[]" + a message name (repeated).
# gogo-protobuf writes non-pointer zero values ("", 0, false, empty messages): they read as absent.
MESSAGES: dict[str, dict[int, tuple[str, str]]] = {
    "Deployment": {1: ("metadata", "meta"), 2: ("spec", "DeploymentSpec"), 3: ("status", "Empty")},
    "DeploymentSpec": {
        1: ("replicas", "int"),
        2: ("selector", "LabelSelector"),
        3: ("template", "PodTemplateSpec"),
        4: ("strategy", "DeploymentStrategy"),
        5: ("minReadySeconds", "int"),
        6: ("revisionHistoryLimit", "int"),
        7: ("paused", "bool"),
        9: ("progressDeadlineSeconds", "int"),
    },
    "DeploymentStrategy": {1: ("type", "string"), 2: ("rollingUpdate", "Empty")},
    "LabelSelector": {1: ("matchLabels", "map"), 2: ("matchExpressions", "[]LabelSelectorRequirement")},
    "LabelSelectorRequirement": {1: ("key", "string"), 2: ("operator", "string"), 3: ("values", "strings")},
    "PodTemplateSpec": {1: ("metadata", "meta"), 2: ("spec", "PodSpec")},
    "PodSpec": {2: ("containers", "[]Container"), 3: ("restartPolicy", "string")},
    "Container": {
        1: ("name", "string"),
        2: ("image", "string"),
        3: ("command", "strings"),
        4: ("args", "strings"),
        6: ("ports", "[]ContainerPort"),
        8: ("resources", "Empty"),
    },
    "ContainerPort": {
        1: ("name", "string"),
        2: ("hostPort", "int"),
        3: ("containerPort", "int"),
        4: ("protocol", "string"),
    },
    "Service": {1: ("metadata", "meta"), 2: ("spec", "ServiceSpec"), 3: ("status", "Empty")},
    "ServiceSpec": {
        1: ("ports", "[]ServicePort"),
        2: ("selector", "map"),
        3: ("clusterIP", "string"),
        4: ("type", "string"),
        10: ("externalName", "string"),
    },
    "ServicePort": {
        1: ("name", "string"),
        2: ("protocol", "string"),
        3: ("port", "int"),
        4: ("targetPort", "intstr"),
        5: ("nodePort", "int"),
    },
    "Job": {1: ("metadata", "meta"), 2: ("spec", "JobSpec"), 3: ("status", "Empty")},
    "JobSpec": {
        1: ("parallelism", "int"),
        2: ("completions", "int"),
        3: ("activeDeadlineSeconds", "int"),
        4: ("selector", "LabelSelector"),
        6: ("template", "PodTemplateSpec"),
        7: ("backoffLimit", "int"),
        10: ("suspend", "bool"),
    },
    "CronJob": {1: ("metadata", "meta"), 2: ("spec", "CronJobSpec"), 3: ("status", "Empty")},
    "CronJobSpec": {1: ("schedule", "string"), 5: ("jobTemplate", "JobTemplateSpec")},
    "JobTemplateSpec": {1: ("metadata", "meta"), 2: ("spec", "JobSpec")},
    "Role": {1: ("metadata", "meta"), 2: ("rules", "[]PolicyRule")},
    "ClusterRole": {1: ("metadata", "meta"), 2: ("rules", "[]PolicyRule")},
    "PolicyRule": {
        1: ("verbs", "strings"),
        2: ("apiGroups", "strings"),
        3: ("resources", "strings"),
        4: ("resourceNames", "strings"),
        5: ("nonResourceURLs", "strings"),
    },
    "RoleBinding": {1: ("metadata", "meta"), 2: ("subjects", "[]Subject"), 3: ("roleRef", "RoleRef")},
    "ClusterRoleBinding": {1: ("metadata", "meta"), 2: ("subjects", "[]Subject"), 3: ("roleRef", "RoleRef")},
    "Subject": {
        1: ("kind", "string"),
        2: ("apiGroup", "string"),
        3: ("name", "string"),
        4: ("namespace", "string"),
    },
    "RoleRef": {1: ("apiGroup", "string"), 2: ("kind", "string"), 3: ("name", "string")},
    "Empty": {},
}
RBAC = "rbac.authorization.k8s.io/v1"
KINDS = {
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    (RBAC, "Role"),
    (RBAC, "ClusterRole"),
    (RBAC, "RoleBinding"),
    (RBAC, "ClusterRoleBinding"),
}
"""The kinds decoded through the tables above (the others through ``_decode_kind``)."""


def _int_or_string(raw: bytes) -> int | str:
    fields = dict(_fields(raw))
    if fields.get(1, 0) == 1:
        return _text(fields.get(3, b""))
    value = fields.get(2, 0)
    return value if isinstance(value, int) else 0


def _message(name: str, raw: bytes) -> dict[str, Any]:
    table = MESSAGES[name]
    obj: dict[str, Any] = {}
    for number, value in _fields(raw):
        if number not in table:
            if _blank(value):
                continue
            raise Unsupported(f"{name} field {number}")
        key, kind = table[number]
        if kind == "meta":
            obj[key] = _object_meta(value if isinstance(value, bytes) else b"")
        elif kind == "map":
            entry_key, text = _map_entry(value, binary=False)
            obj.setdefault(key, {})[entry_key] = text
        elif kind == "strings":
            obj.setdefault(key, []).append(_text(value))
        elif kind.startswith("[]"):
            obj.setdefault(key, []).append(_message(kind[2:], value if isinstance(value, bytes) else b""))
        elif kind in ("string", "int", "bool"):
            scalar = _text(value) if kind == "string" else value if kind == "int" else bool(value)
            if scalar not in ("", 0, False) or key == "replicas":
                obj[key] = scalar
        elif kind == "intstr":
            if not _blank(value):
                obj[key] = _int_or_string(value if isinstance(value, bytes) else b"")
        elif kind == "Empty":
            if not _blank(value):
                raise Unsupported(f"{name}.{key}")
        else:
            nested = _message(kind, value if isinstance(value, bytes) else b"")
            if nested or key in ("template", "spec"):
                obj[key] = nested
    return obj


def decode(body: bytes) -> dict[str, Any]:
    """The object a ``k8s\\0``-framed protobuf body holds; raises Unsupported for anything else."""
    if not body.startswith(MAGIC):
        raise Unsupported("missing the k8s protobuf prefix")
    envelope = dict(_fields(body[len(MAGIC) :]))
    type_meta = envelope.get(1, b"")
    raw = envelope.get(2, b"")
    if not isinstance(type_meta, bytes) or not isinstance(raw, bytes) or not _blank(envelope.get(3, b"")):
        raise Unsupported("not a plain Unknown envelope")
    meta = {number: _text(value) for number, value in _fields(type_meta)}
    api_version, kind = meta.get(1, ""), meta.get(2, "")
    if (api_version, kind) not in {
        ("v1", "Namespace"),
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "ServiceAccount"),
        *KINDS,
    }:
        raise Unsupported(f"{api_version} {kind}")
    decoded = _message(kind, raw) if (api_version, kind) in KINDS else _decode_kind(kind, raw)
    return {"apiVersion": api_version, "kind": kind, **decoded}
