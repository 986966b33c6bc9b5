"""Validation of objects as the API server validates them, with its messages.

Pure. ``validate`` returns causes ``{"reason", "message", "field"}`` worded as k8s.io/apimachinery's
``field.Error`` words them (``Required value``, ``Invalid value: "Web": ...``, ``Unsupported value``,
``Forbidden``, ``Duplicate value``); ``invalid_status`` builds the 422 ``Invalid`` Status body.
``validate_custom`` checks a custom resource against its CRD's openAPIV3Schema and ``prune_unknown`` drops
the fields that schema does not know, as apiextensions-apiserver prunes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
FORBIDDEN = "FieldValueForbidden"
DUPLICATE = "FieldValueDuplicate"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"

_TYPE_TEXT = {
    REQUIRED: "Required value",
    INVALID: "Invalid value",
    NOT_SUPPORTED: "Unsupported value",
    FORBIDDEN: "Forbidden",
    DUPLICATE: "Duplicate value",
    TOO_LONG: "Too long",
    TOO_MANY: "Too many",
}

_OMIT = object()

DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN = DNS1123_LABEL + r"(\." + DNS1123_LABEL + r")*"
DNS1035_LABEL = r"[a-z]([-a-z0-9]*[a-z0-9])?"
QUALIFIED_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
CONFIG_KEY = r"[-._a-zA-Z0-9]+"

SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    f"'{DNS1123_SUBDOMAIN}')"
)
LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    f"end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '{DNS1123_LABEL}')"
)
DNS1035_MESSAGE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    f"character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    f"validation is '{DNS1035_LABEL}')"
)
QUALIFIED_NAME_MESSAGE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    f"alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '{QUALIFIED_NAME}')"
)
LABEL_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    f"for validation is '{LABEL_VALUE}')"
)
CONFIG_KEY_MESSAGE = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
    f"'KEY_NAME',  or 'key-name', regex used for validation is '{CONFIG_KEY}')"
)


@dataclass(frozen=True)
class _Error:
    reason: str
    field: str
    value: Any = _OMIT
    detail: str = ""

    def body(self) -> str:
        text = _TYPE_TEXT[self.reason]
        if self.reason not in (REQUIRED, FORBIDDEN, TOO_LONG) and self.value is not _OMIT:
            text += ": " + go_value(self.value)
        if self.detail:
            text += ": " + self.detail
        return text

    def cause(self) -> dict[str, Any]:
        return {"reason": self.reason, "message": self.body(), "field": self.field}


def go_value(value: Any) -> str:
    """A bad value as ``field.Error`` prints it: strings quoted, numbers plain, maps and lists as Go literals."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return _go_quote(value)
    if isinstance(value, GoLiteral):
        return value.text
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        items = ", ".join(f"{_go_quote(k)}:{_go_quote(v)}" for k, v in sorted(value.items()))
        return "map[string]string{" + items + "}"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[]string{" + ", ".join(_go_quote(v) for v in value) + "}"
    return repr(value)


def _go_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


@dataclass(frozen=True)
class GoLiteral:
    """A value printed as given (Go's ``%#v`` of a struct)."""

    text: str


def label_selector_literal(selector: Any) -> GoLiteral:
    """``%#v`` of a ``v1.LabelSelector`` (how immutable-selector errors print it)."""
    selector = selector if isinstance(selector, dict) else {}
    labels = selector.get("matchLabels")
    labels_text = (
        "map[string]string(nil)"
        if labels is None
        else "map[string]string{"
        + ", ".join(f"{_go_quote(k)}:{_go_quote(str(v))}" for k, v in sorted(labels.items()))
        + "}"
    )
    expressions = selector.get("matchExpressions")
    if not expressions:
        expressions_text = "[]v1.LabelSelectorRequirement(nil)"
    else:
        parts = []
        for expression in expressions:
            values = expression.get("values")
            values_text = (
                "[]string(nil)"
                if values is None
                else "[]string{" + ", ".join(_go_quote(str(v)) for v in values) + "}"
            )
            parts.append(
                f"v1.LabelSelectorRequirement{{Key:{_go_quote(str(expression.get('key', '')))}, "
                f"Operator:{_go_quote(str(expression.get('operator', '')))}, Values:{values_text}}}"
            )
        expressions_text = "[]v1.LabelSelectorRequirement{" + ", ".join(parts) + "}"
    return GoLiteral(f"v1.LabelSelector{{MatchLabels:{labels_text}, MatchExpressions:{expressions_text}}}")


# ---------------------------------------------------------------------------------------------- Status


def group_kind(obj: dict[str, Any]) -> tuple[str, str]:
    api_version = str(obj.get("apiVersion", ""))
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    return group, str(obj.get("kind", ""))


def invalid_status(obj: dict[str, Any], causes: list[dict[str, Any]]) -> dict[str, Any]:
    """The 422 Invalid Status for ``obj`` (``errors.NewInvalid``)."""
    group, kind = group_kind(obj)
    name = str((obj.get("metadata") or {}).get("name", ""))
    qualified = f"{kind}.{group}" if group else kind
    lines: list[str] = []
    for cause in causes:
        text = f"{cause['field']}: {cause['message']}" if cause.get("field") else cause["message"]
        if text not in lines:
            lines.append(text)
    message = f'{qualified} "{name}" is invalid'
    if len(lines) == 1:
        message += ": " + lines[0]
    elif lines:
        message += ": [" + ", ".join(lines) + "]"
    details: dict[str, Any] = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    details["causes"] = causes
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "Invalid",
        "details": details,
        "code": 422,
    }


# ---------------------------------------------------------------------------------------------- metadata


# How each kind's name is validated (NameIsDNSSubdomain unless listed).
_NAME_RULES: dict[tuple[str, str], str] = {
    ("", "Namespace"): "label",
    ("", "Service"): "dns1035",
    ("apps", "StatefulSet"): "label",
    ("rbac.authorization.k8s.io", "Role"): "path",
    ("rbac.authorization.k8s.io", "ClusterRole"): "path",
    ("rbac.authorization.k8s.io", "RoleBinding"): "path",
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): "path",
    ("autoscaling", "HorizontalPodAutoscaler"): "path",
    ("apiextensions.k8s.io", "CustomResourceDefinition"): "skip",
}


def _name_errors(name: str, rule: str) -> list[str]:
    if rule == "path":
        if name in (".", ".."):
            return [f"may not be '{name}'"]
        return [f"may not contain '{c}'" for c in ("/", "%") if c in name]
    if rule == "label":
        return _regex_errors(name, DNS1123_LABEL, LABEL_MESSAGE, 63)
    if rule == "dns1035":
        return _regex_errors(name, DNS1035_LABEL, DNS1035_MESSAGE, 63)
    return _regex_errors(name, DNS1123_SUBDOMAIN, SUBDOMAIN_MESSAGE, 253)


def _regex_errors(text: str, pattern: str, message: str, max_length: int) -> list[str]:
    errors = []
    if len(text) > max_length:
        errors.append(f"must be no more than {max_length} characters")
    if not re.fullmatch(pattern, text):
        errors.append(message)
    return errors


def _qualified_name_errors(key: str) -> list[str]:
    prefix, slash, name = key.rpartition("/")
    errors: list[str] = []
    if slash and not prefix:
        errors.append("prefix part must be non-empty")
    elif slash:
        errors.extend(
            "prefix part " + e for e in _regex_errors(prefix, DNS1123_SUBDOMAIN, SUBDOMAIN_MESSAGE, 253)
        )
    if not name:
        errors.append("name part must be non-empty")
    else:
        if len(name) > 63:
            errors.append("name part must be no more than 63 characters")
        if not re.fullmatch(QUALIFIED_NAME, name):
            errors.append(QUALIFIED_NAME_MESSAGE)
    return errors


def _metadata(
    obj: dict[str, Any], *, namespaced: bool, path: str = "metadata", template: bool = False
) -> list[_Error]:
    metadata = obj.get("metadata") if path == "metadata" else obj
    metadata = metadata if isinstance(metadata, dict) else {}
    errors: list[_Error] = []
    if not template:
        name = metadata.get("name")
        if not name and not metadata.get("generateName"):
            errors.append(_Error(REQUIRED, f"{path}.name", detail="name or generateName is required"))
        elif name:
            rule = _NAME_RULES.get(group_kind(obj), "subdomain")
            if rule != "skip":
                errors.extend(
                    _Error(INVALID, f"{path}.name", name, detail) for detail in _name_errors(str(name), rule)
                )
        namespace = metadata.get("namespace")
        if not namespaced and namespace:
            errors.append(_Error(FORBIDDEN, f"{path}.namespace", detail="not allowed on this type"))
    errors.extend(_labels(metadata.get("labels"), f"{path}.labels"))
    for key in metadata.get("annotations") or {}:
        errors.extend(_Error(INVALID, f"{path}.annotations", key, d) for d in _qualified_name_errors(key))
    return errors


def _labels(labels: Any, path: str) -> list[_Error]:
    errors: list[_Error] = []
    if not isinstance(labels, dict):
        return errors
    for key, value in labels.items():
        errors.extend(_Error(INVALID, path, key, detail) for detail in _qualified_name_errors(key))
        text = value if isinstance(value, str) else str(value)
        errors.extend(
            _Error(INVALID, path, text, d) for d in _regex_errors(text, LABEL_VALUE, LABEL_VALUE_MESSAGE, 63)
        )
    return errors


# ---------------------------------------------------------------------------------------------- pods


def _pod_spec(spec: Any, path: str, *, restart_policies: tuple[str, ...] | None = None) -> list[_Error]:
    spec = spec if isinstance(spec, dict) else {}
    errors: list[_Error] = []
    containers = spec.get("containers")
    if not containers:
        errors.append(_Error(REQUIRED, f"{path}.containers"))
    seen: set[str] = set()
    for list_name in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(list_name) or []):
            errors.extend(_container(container, f"{path}.{list_name}[{index}]", seen))
    volume_names: set[str] = set()
    for index, volume in enumerate(spec.get("volumes") or []):
        name = (volume or {}).get("name")
        if not name:
            errors.append(_Error(REQUIRED, f"{path}.volumes[{index}].name"))
        elif name in volume_names:
            errors.append(_Error(DUPLICATE, f"{path}.volumes[{index}].name", name))
        else:
            volume_names.add(name)
    restart = spec.get("restartPolicy")
    if restart_policies is not None and restart is not None and restart not in restart_policies:
        supported = ", ".join(_go_quote(p) for p in restart_policies)
        errors.append(
            _Error(NOT_SUPPORTED, f"{path}.restartPolicy", restart, f"supported values: {supported}")
        )
    return errors


def _container(container: Any, path: str, seen: set[str]) -> list[_Error]:
    container = container if isinstance(container, dict) else {}
    errors: list[_Error] = []
    name = container.get("name")
    if not name:
        errors.append(_Error(REQUIRED, f"{path}.name"))
    elif name in seen:
        errors.append(_Error(DUPLICATE, f"{path}.name", name))
    else:
        seen.add(name)
        errors.extend(
            _Error(INVALID, f"{path}.name", name, d)
            for d in _regex_errors(name, DNS1123_LABEL, LABEL_MESSAGE, 63)
        )
    if not container.get("image"):
        errors.append(_Error(REQUIRED, f"{path}.image"))
    policy = container.get("imagePullPolicy")
    if policy is not None and policy not in ("Always", "IfNotPresent", "Never"):
        errors.append(
            _Error(
                NOT_SUPPORTED,
                f"{path}.imagePullPolicy",
                policy,
                'supported values: "Always", "IfNotPresent", "Never"',
            )
        )
    for index, port in enumerate(container.get("ports") or []):
        number = (port or {}).get("containerPort")
        if number is None:
            errors.append(_Error(REQUIRED, f"{path}.ports[{index}].containerPort"))
        elif not isinstance(number, int) or not 1 <= number <= 65535:
            errors.append(
                _Error(
                    INVALID,
                    f"{path}.ports[{index}].containerPort",
                    number,
                    "must be between 1 and 65535, inclusive",
                )
            )
    return errors


# ---------------------------------------------------------------------------------------------- workloads


def _selector_matches(selector: dict[str, Any], labels: dict[str, Any]) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _workload(
    obj: dict[str, Any], *, kind: str, restart_policies: tuple[str, ...] = ("Always",)
) -> list[_Error]:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    errors: list[_Error] = []
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and replicas < 0:
        errors.append(_Error(INVALID, "spec.replicas", replicas, "must be greater than or equal to 0"))
    selector = spec.get("selector")
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if selector is None:
        errors.append(_Error(REQUIRED, "spec.selector"))
    elif not (selector.get("matchLabels") or selector.get("matchExpressions")):
        errors.append(
            _Error(
                INVALID,
                "spec.selector",
                label_selector_literal(selector),
                f"empty selector is invalid for {kind}",
            )
        )
    elif not _selector_matches(selector, labels):
        errors.append(
            _Error(
                INVALID,
                "spec.template.metadata.labels",
                labels,
                "`selector` does not match template `labels`",
            )
        )
    errors.extend(
        _metadata(
            template.get("metadata") or {}, namespaced=True, path="spec.template.metadata", template=True
        )
    )
    errors.extend(_pod_spec(template.get("spec"), "spec.template.spec", restart_policies=restart_policies))
    return errors


def _job(obj: dict[str, Any]) -> list[_Error]:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    errors: list[_Error] = []
    restart = (template.get("spec") or {}).get("restartPolicy")
    if restart is None:
        errors.append(
            _Error(REQUIRED, "spec.template.spec.restartPolicy", detail='valid values: "OnFailure", "Never"')
        )
    errors.extend(
        _metadata(
            template.get("metadata") or {}, namespaced=True, path="spec.template.metadata", template=True
        )
    )
    errors.extend(
        _pod_spec(template.get("spec"), "spec.template.spec", restart_policies=("OnFailure", "Never"))
    )
    return errors


def _cron_job(obj: dict[str, Any]) -> list[_Error]:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    errors: list[_Error] = []
    name = str((obj.get("metadata") or {}).get("name") or "")
    if len(name) > 52:
        errors.append(_Error(INVALID, "metadata.name", name, "must be no more than 52 characters"))
    if not spec.get("schedule"):
        errors.append(_Error(REQUIRED, "spec.schedule"))
    job_spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = job_spec.get("template") or {}
    errors.extend(
        _pod_spec(
            template.get("spec"),
            "spec.jobTemplate.spec.template.spec",
            restart_policies=("OnFailure", "Never"),
        )
    )
    return errors


_SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


def _service(obj: dict[str, Any]) -> list[_Error]:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    errors: list[_Error] = []
    service_type = spec.get("type", "ClusterIP")
    if service_type not in _SERVICE_TYPES:
        supported = ", ".join(_go_quote(t) for t in _SERVICE_TYPES)
        errors.append(_Error(NOT_SUPPORTED, "spec.type", service_type, f"supported values: {supported}"))
    ports = spec.get("ports") or []
    headless = spec.get("clusterIP") == "None"
    if not ports and service_type != "ExternalName" and not headless:
        errors.append(_Error(REQUIRED, "spec.ports"))
    names: set[str] = set()
    for index, port in enumerate(ports):
        port = port if isinstance(port, dict) else {}
        name = port.get("name")
        if len(ports) > 1 and not name:
            errors.append(_Error(REQUIRED, f"spec.ports[{index}].name"))
        elif name and name in names:
            errors.append(_Error(DUPLICATE, f"spec.ports[{index}].name", name))
        elif name:
            names.add(name)
        number = port.get("port")
        if number is None:
            errors.append(_Error(REQUIRED, f"spec.ports[{index}].port"))
        elif not isinstance(number, int) or not 1 <= number <= 65535:
            errors.append(
                _Error(INVALID, f"spec.ports[{index}].port", number, "must be between 1 and 65535, inclusive")
            )
    if service_type == "ExternalName" and not spec.get("externalName"):
        errors.append(_Error(REQUIRED, "spec.externalName"))
    return errors


def _config_map(obj: dict[str, Any]) -> list[_Error]:
    errors: list[_Error] = []
    for field_name in ("data", "binaryData"):
        for key in obj.get(field_name) or {}:
            errors.extend(
                _Error(INVALID, f"{field_name}[{key}]", key, d)
                for d in _regex_errors(key, CONFIG_KEY, CONFIG_KEY_MESSAGE, 253)
            )
    return errors


def _secret(obj: dict[str, Any]) -> list[_Error]:
    errors: list[_Error] = []
    for field_name in ("data", "stringData"):
        for key in obj.get(field_name) or {}:
            errors.extend(
                _Error(INVALID, f"{field_name}[{key}]", key, d)
                for d in _regex_errors(key, CONFIG_KEY, CONFIG_KEY_MESSAGE, 253)
            )
    return errors


_VALIDATORS: dict[tuple[str, str], Any] = {
    ("apps", "Deployment"): lambda o: _workload(o, kind="deployment"),
    ("apps", "ReplicaSet"): lambda o: _workload(o, kind="replicaset"),
    ("apps", "DaemonSet"): lambda o: _workload(o, kind="daemonset"),
    ("apps", "StatefulSet"): lambda o: _workload(o, kind="statefulset"),
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cron_job,
    ("", "Pod"): lambda o: _pod_spec(
        o.get("spec"), "spec", restart_policies=("Always", "OnFailure", "Never")
    ),
    ("", "Service"): _service,
    ("", "ConfigMap"): _config_map,
    ("", "Secret"): _secret,
}


# ---------------------------------------------------------------------------------------------- updates


_IMMUTABLE_SELECTOR = frozenset(
    {
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "DaemonSet"),
        ("apps", "StatefulSet"),
        ("batch", "Job"),
    }
)


def _update(obj: dict[str, Any], old: dict[str, Any]) -> list[_Error]:
    key = group_kind(obj)
    spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    errors: list[_Error] = []
    if key in _IMMUTABLE_SELECTOR and spec.get("selector") != old_spec.get("selector"):
        errors.append(
            _Error(
                INVALID, "spec.selector", label_selector_literal(spec.get("selector")), "field is immutable"
            )
        )
    if key == ("batch", "Job"):
        if spec.get("template") != old_spec.get("template"):
            errors.append(
                _Error(INVALID, "spec.template", GoLiteral("core.PodTemplateSpec{...}"), "field is immutable")
            )
        if spec.get("completions") != old_spec.get("completions"):
            errors.append(_Error(INVALID, "spec.completions", spec.get("completions"), "field is immutable"))
    if key == ("", "Service"):
        errors.extend(_service_update(spec, old_spec))
    if key == ("", "PersistentVolumeClaim"):
        errors.extend(_pvc_update(spec, old_spec))
    if key in (("", "ConfigMap"), ("", "Secret")):
        errors.extend(_immutable_data(obj, old, key[1]))
    return errors


def _cluster_ips(spec: dict[str, Any]) -> list[str]:
    if spec.get("clusterIPs"):
        return list(spec["clusterIPs"])
    return [spec["clusterIP"]] if spec.get("clusterIP") else []


def _service_update(spec: dict[str, Any], old_spec: dict[str, Any]) -> list[_Error]:
    if "ExternalName" in (spec.get("type"), old_spec.get("type")):
        return []
    new_ips, old_ips = _cluster_ips(spec), _cluster_ips(old_spec)
    if new_ips and old_ips and new_ips[0] != old_ips[0]:
        return [_Error(INVALID, "spec.clusterIPs[0]", new_ips, "may not change once set")]
    return []


def _pvc_update(spec: dict[str, Any], old_spec: dict[str, Any]) -> list[_Error]:
    def comparable(pvc_spec: dict[str, Any]) -> dict[str, Any]:
        copy = {k: v for k, v in pvc_spec.items() if k not in ("volumeAttributesClassName", "volumeName")}
        resources = dict(copy.get("resources") or {})
        resources.pop("requests", None)
        copy["resources"] = resources
        return copy

    if comparable(spec) != comparable(old_spec):
        return [
            _Error(
                FORBIDDEN,
                "spec",
                detail="spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
            )
        ]
    return []


def _immutable_data(obj: dict[str, Any], old: dict[str, Any], kind: str) -> list[_Error]:
    if not old.get("immutable"):
        return []
    errors: list[_Error] = []
    if not obj.get("immutable"):
        errors.append(_Error(FORBIDDEN, "immutable", detail="field is immutable when `immutable` is set"))
    fields = ("data", "binaryData") if kind == "ConfigMap" else ("data",)
    for field_name in fields:
        if (obj.get(field_name) or {}) != (old.get(field_name) or {}):
            errors.append(_Error(FORBIDDEN, field_name, detail="field is immutable when `immutable` is set"))
    return errors


def _secret_type(obj: dict[str, Any], old: dict[str, Any]) -> list[_Error]:
    if group_kind(obj) == ("", "Secret") and obj.get("type", "Opaque") != old.get("type", "Opaque"):
        return [_Error(INVALID, "type", obj.get("type"), "field is immutable")]
    return []


def _no_new_finalizers(obj: dict[str, Any], old: dict[str, Any]) -> list[_Error]:
    """ValidateNoNewFinalizers: an object being deleted may lose finalizers, not gain them."""
    old_meta = old.get("metadata") or {}
    if not old_meta.get("deletionTimestamp"):
        return []
    added = sorted(
        set((obj.get("metadata") or {}).get("finalizers") or []) - set(old_meta.get("finalizers") or [])
    )
    if not added:
        return []
    listed = GoLiteral("[]string{" + ", ".join(_go_quote(f) for f in added) + "}").text
    detail = f"no new finalizers can be added if the object is being deleted, found new finalizers {listed}"
    return [_Error(FORBIDDEN, "metadata.finalizers", detail=detail)]


def validate(obj: dict[str, Any], old: dict[str, Any] | None, *, namespaced: bool) -> list[dict[str, Any]]:
    """The validation causes for creating (``old`` None) or updating ``obj``; empty when valid."""
    errors = _metadata(obj, namespaced=namespaced)
    validator = _VALIDATORS.get(group_kind(obj))
    if validator is not None:
        errors.extend(validator(obj))
    if old is not None:
        errors.extend(_update(obj, old))
        errors.extend(_secret_type(obj, old))
        errors.extend(_no_new_finalizers(obj, old))
    return [error.cause() for error in errors]


# ---------------------------------------------------------------------------------------------- custom resources


_ROOT_FIELDS = ("apiVersion", "kind", "metadata")
_JSON_TYPES = {"string": str, "boolean": bool, "object": dict, "array": list}


def _json_type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _type_ok(value: Any, expected: str) -> bool:
    if expected == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if expected == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    python_type = _JSON_TYPES.get(expected)
    return python_type is None or (
        isinstance(value, python_type) and not (python_type is not bool and isinstance(value, bool))
    )


def validate_custom(obj: dict[str, Any], openapi_schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Causes for a custom resource that does not match its CRD's openAPIV3Schema (types, required, enum, bounds)."""
    errors: list[_Error] = []
    schema = dict(openapi_schema)
    properties = {k: v for k, v in (schema.get("properties") or {}).items() if k not in _ROOT_FIELDS}
    schema["properties"] = properties
    body = {k: v for k, v in obj.items() if k not in _ROOT_FIELDS}
    _check_schema(body, schema, "", errors)
    return [error.cause() for error in errors]


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _check_schema(value: Any, schema: dict[str, Any], path: str, errors: list[_Error]) -> None:
    if value is None:
        if not schema.get("nullable") and path:
            expected = schema.get("type")
            if expected:
                errors.append(
                    _Error(INVALID, path, "null", f'{path} in body must be of type {expected}: "null"')
                )
        return
    expected = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        if not (isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))):
            errors.append(
                _Error(
                    INVALID,
                    path,
                    _json_type_name(value),
                    f'{path} in body must be of type integer,string: "{_json_type_name(value)}"',
                )
            )
        return
    if expected and not _type_ok(value, expected):
        actual = _json_type_name(value)
        errors.append(_Error(INVALID, path, actual, f'{path} in body must be of type {expected}: "{actual}"'))
        return
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(go_value(item) for item in schema["enum"])
        errors.append(_Error(NOT_SUPPORTED, path, value, f"supported values: {supported}"))
    _check_bounds(value, schema, path, errors)
    if isinstance(value, dict):
        for name in schema.get("required") or []:
            if name not in value:
                errors.append(_Error(REQUIRED, _join(path, name)))
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for name, child in value.items():
            if name in properties:
                _check_schema(child, properties[name], _join(path, name), errors)
            elif isinstance(additional, dict):
                _check_schema(child, additional, _join(path, name), errors)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            _check_schema(item, schema["items"], f"{path}[{index}]", errors)


def _check_bounds(value: Any, schema: dict[str, Any], path: str, errors: list[_Error]) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(
                _Error(
                    INVALID,
                    path,
                    value,
                    f"{path} in body should be greater than or equal to {schema['minimum']}",
                )
            )
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(
                _Error(
                    INVALID,
                    path,
                    value,
                    f"{path} in body should be less than or equal to {schema['maximum']}",
                )
            )
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(_Error(TOO_LONG, path, value, f"may not be more than {schema['maxLength']} bytes"))
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(
                _Error(
                    INVALID,
                    path,
                    value,
                    f"{path} in body should be at least {schema['minLength']} chars long",
                )
            )
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(_Error(INVALID, path, value, f"{path} in body should match '{schema['pattern']}'"))
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(_Error(TOO_MANY, path, len(value), f"must have at most {schema['maxItems']} items"))
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(
                _Error(
                    INVALID,
                    path,
                    len(value),
                    f"{path} in body should have at least {schema['minItems']} items",
                )
            )


def prune_unknown(obj: dict[str, Any], openapi_schema: dict[str, Any]) -> None:
    """Drop, in place, the fields a structural schema does not specify (apiextensions pruning).

    apiVersion, kind and metadata at the root (and in ``x-kubernetes-embedded-resource`` objects) are kept;
    ``x-kubernetes-preserve-unknown-fields`` keeps unknown fields at its level; nulls in non-nullable fields go.
    """
    for name in list(obj):
        if name in _ROOT_FIELDS:
            continue
        properties = openapi_schema.get("properties") or {}
        if name in properties:
            obj[name] = _prune(obj[name], properties[name])
            if obj[name] is _DROP:
                del obj[name]
        elif not openapi_schema.get("x-kubernetes-preserve-unknown-fields"):
            del obj[name]


_DROP = object()


def _prune(value: Any, schema: dict[str, Any]) -> Any:
    if value is None:
        return None if schema.get("nullable") else _DROP
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") or additional is True
        embedded = schema.get("x-kubernetes-embedded-resource")
        for name in list(value):
            if embedded and name in _ROOT_FIELDS:
                continue
            if name in properties:
                child = _prune(value[name], properties[name])
            elif isinstance(additional, dict):
                child = _prune(value[name], additional)
            elif preserve:
                continue
            else:
                child = _DROP
            if child is _DROP:
                del value[name]
            else:
                value[name] = child
        return value
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        kept = [_prune(item, schema["items"]) for item in value]
        return [item for item in kept if item is not _DROP]
    return value
