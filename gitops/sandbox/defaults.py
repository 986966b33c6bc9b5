"""Defaults the API server fills in, by apiVersion and kind, as pkg/apis/*/v1/defaults.go do.

Pure. ``apply_defaults(obj)`` changes ``obj`` in place and canonicalises resource quantities the way
``resource.Quantity`` writes them (``cpu: 0.5`` is stored as ``"500m"``). A quantity that does not parse
raises ``DecodeError``, which the server answers with 400 BadRequest (``decode_message`` words it).
It also does what decoding into the internal type does to a Secret (``convert_secret``).
What strategies or allocators do on create (cluster IPs, node ports, Job selectors) is not here.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from typing import Any

from gitops.sandbox import quantity


class DecodeError(ValueError):
    """The object cannot be decoded into its type (a malformed quantity)."""


def decode_message(obj: dict[str, Any], err: Exception) -> str:
    """``Deployment in version "v1" cannot be handled as a Deployment: <cause>`` as the decoder says it."""
    kind = obj.get("kind", "")
    version = str(obj.get("apiVersion", "")).rpartition("/")[2]
    return f'{kind} in version "{version}" cannot be handled as a {kind}: {err}'


def apply_defaults(obj: dict[str, Any]) -> None:
    """Fill in the server-side defaults of ``obj`` in place (raises DecodeError for undecodable fields)."""
    check_decodable(obj)
    api_version = obj.get("apiVersion", "")
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    if (group, obj.get("kind", "")) == ("", "Secret"):
        convert_secret(obj)
    defaulter = _DEFAULTERS.get((group, obj.get("kind", "")))
    if defaulter is not None:
        defaulter(obj)


_STRING_MAPS = {("", "ConfigMap"): ("data", "binaryData"), ("", "Secret"): ("data", "stringData")}
_JSON_TYPE_NAMES = {bool: "bool", int: "number", float: "number", dict: "object", list: "array"}


def check_decodable(obj: dict[str, Any]) -> None:
    """Raise DecodeError where the JSON decoder of the API types would fail (non-string ConfigMap data)."""
    api_version = obj.get("apiVersion", "")
    kind = obj.get("kind", "")
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    for name in _STRING_MAPS.get((group, kind), ()):
        values = obj.get(name)
        if values is None:
            continue
        element = "[]uint8" if name == "binaryData" or (kind == "Secret" and name == "data") else "string"
        if not isinstance(values, dict):
            raise DecodeError(_unmarshal_message(values, f"{kind}.{name}", f"map[string]{element}"))
        for value in values.values():
            if not isinstance(value, str):
                raise DecodeError(_unmarshal_message(value, f"{kind}.{name}", element))


def convert_secret(obj: dict[str, Any]) -> None:
    """A v1 Secret as the server stores it (Convert_v1_Secret_To_core_Secret): ``data`` values decoded
    (DecodeError for invalid base64) and re-encoded canonically, ``stringData`` merged into ``data``
    (stringData winning) and dropped, so it is never stored or returned."""
    data = obj.get("data")
    if isinstance(data, dict):
        obj["data"] = {
            key: base64.b64encode(go_base64_decode(value)).decode("ascii") for key, value in data.items()
        }
    string_data = obj.pop("stringData", None)
    if string_data:
        merged = obj.get("data") if isinstance(obj.get("data"), dict) else {}
        for key, value in string_data.items():
            merged[key] = base64.b64encode(value.encode("utf-8")).decode("ascii")
        obj["data"] = merged


_BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def go_base64_decode(text: str) -> bytes:
    """Decode as Go's ``base64.StdEncoding`` does for a JSON ``[]byte``: padding required, CR/LF skipped,
    and the error names the offset Go names (``illegal base64 data at input byte 4``)."""
    raw = text.encode("utf-8")
    clean = raw.replace(b"\r", b"").replace(b"\n", b"")
    offset = _corrupt_offset(raw)
    if offset is not None:
        raise DecodeError(f"illegal base64 data at input byte {offset}")
    return base64.b64decode(clean)


def _corrupt_offset(src: bytes) -> int | None:
    """Where Go's decoder reports corrupt input (decodeQuantum), or None when ``src`` is valid."""
    position = 0
    while True:
        read = 0
        while read < 4:
            if position == len(src):
                if read == 0:
                    return None
                return position - read
            byte = src[position]
            position += 1
            if byte in _BASE64_ALPHABET:
                read += 1
                continue
            if byte in b"\r\n":
                continue
            if byte != ord("=") or read < 2:
                return position - 1
            if read == 2:
                position = _skip_newlines(src, position)
                if position == len(src):
                    return len(src)
                if src[position] != ord("="):
                    return position - 1
                position += 1
            position = _skip_newlines(src, position)
            return position if position < len(src) else None


def _skip_newlines(src: bytes, position: int) -> int:
    while position < len(src) and src[position] in b"\r\n":
        position += 1
    return position


def _unmarshal_message(value: Any, field_name: str, go_type: str) -> str:
    return f"json: cannot unmarshal {_json_type(value)} into Go struct field {field_name} of type {go_type}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return _JSON_TYPE_NAMES.get(type(value), "string")


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    return spec


def _child(parent: dict[str, Any], name: str) -> dict[str, Any]:
    child = parent.get(name)
    if not isinstance(child, dict):
        child = parent[name] = {}
    return child


# ---------------------------------------------------------------------------------------------- pods


def _quantities(resources: Any, *names: str) -> None:
    if not isinstance(resources, dict):
        return
    for name in names:
        values = resources.get(name)
        if isinstance(values, dict):
            for key, raw in values.items():
                values[key] = canonical_quantity(raw)


def canonical_quantity(raw: Any) -> str:
    try:
        return quantity.canonical(raw)
    except quantity.QuantityError as err:
        raise DecodeError(str(err)) from err


def _probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    http_get = probe.get("httpGet")
    if isinstance(http_get, dict):
        if not http_get.get("path"):
            http_get["path"] = "/"
        if not http_get.get("scheme"):
            http_get["scheme"] = "HTTP"


def _image_pull_policy(image: str) -> str:
    # SetDefaults_Container: Always for ":latest" or no tag, IfNotPresent otherwise (digests count as tags).
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "Always"
    return "Always" if last.rsplit(":", 1)[1] == "latest" else "IfNotPresent"


def _container(container: Any) -> None:
    if not isinstance(container, dict):
        return
    if "imagePullPolicy" not in container or not container["imagePullPolicy"]:
        container["imagePullPolicy"] = _image_pull_policy(str(container.get("image", "")))
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    _quantities(container["resources"], "limits", "requests")
    for port in container.get("ports") or []:
        if isinstance(port, dict) and not port.get("protocol"):
            port["protocol"] = "TCP"
    for env in container.get("env") or []:
        field_ref = ((env or {}).get("valueFrom") or {}).get("fieldRef") if isinstance(env, dict) else None
        if isinstance(field_ref, dict) and not field_ref.get("apiVersion"):
            field_ref["apiVersion"] = "v1"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(container.get(probe))
    for hook in ("postStart", "preStop"):
        handler = (container.get("lifecycle") or {}).get(hook)
        http_get = handler.get("httpGet") if isinstance(handler, dict) else None
        if isinstance(http_get, dict):
            if not http_get.get("path"):
                http_get["path"] = "/"
            if not http_get.get("scheme"):
                http_get["scheme"] = "HTTP"


_VOLUME_SOURCES_WITH_MODE = ("configMap", "secret", "downwardAPI", "projected")


def _volume(volume: Any) -> None:
    if not isinstance(volume, dict):
        return
    if set(volume) <= {"name"}:
        volume["emptyDir"] = {}
    for source in _VOLUME_SOURCES_WITH_MODE:
        if isinstance(volume.get(source), dict):
            volume[source].setdefault("defaultMode", 420)
    if isinstance(volume.get("hostPath"), dict):
        volume["hostPath"].setdefault("type", "")
    empty_dir = volume.get("emptyDir")
    if isinstance(empty_dir, dict) and "sizeLimit" in empty_dir:
        empty_dir["sizeLimit"] = canonical_quantity(empty_dir["sizeLimit"])
    ephemeral = volume.get("ephemeral")
    if isinstance(ephemeral, dict) and isinstance(ephemeral.get("volumeClaimTemplate"), dict):
        _pvc_spec(_spec(ephemeral["volumeClaimTemplate"]))


def pod_spec_defaults(spec: dict[str, Any]) -> None:
    """SetDefaults_PodSpec and the defaults of its containers and volumes."""
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("restartPolicy", "Always")
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("schedulerName", "default-scheduler")
    for name in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(name) or []:
            _container(container)
    for volume in spec.get("volumes") or []:
        _volume(volume)
    if isinstance(spec.get("overhead"), dict):
        _quantities(spec, "overhead")
    if isinstance(spec.get("resources"), dict):
        _quantities(spec["resources"], "limits", "requests")
    if spec.get("hostNetwork"):
        for container in spec.get("containers") or []:
            for port in (container or {}).get("ports") or []:
                if isinstance(port, dict) and "hostPort" not in port and "containerPort" in port:
                    port["hostPort"] = port["containerPort"]


def _embedded_meta(holder: dict[str, Any]) -> None:
    """An embedded ObjectMeta as v1.28 encodes it: its zero ``creationTimestamp`` is written as null.

    ``metav1.Time`` is a struct, so ``omitempty`` never drops it (later versions stopped writing it).
    """
    _child(holder, "metadata").setdefault("creationTimestamp", None)


def _template(spec: dict[str, Any]) -> None:
    template = _child(spec, "template")
    _embedded_meta(template)
    pod_spec_defaults(_child(template, "spec"))


def _pod(obj: dict[str, Any]) -> None:
    spec = _spec(obj)
    pod_spec_defaults(spec)
    spec.setdefault("enableServiceLinks", True)
    for name in ("initContainers", "containers"):
        for container in spec.get(name) or []:
            resources = (container or {}).get("resources")
            if isinstance(resources, dict) and isinstance(resources.get("limits"), dict):
                requests = resources.setdefault("requests", {})
                for resource, value in resources["limits"].items():
                    requests.setdefault(resource, value)


# ---------------------------------------------------------------------------------------------- workloads


def _deployment(obj: dict[str, Any]) -> None:
    spec = _spec(obj)
    spec.setdefault("replicas", 1)
    strategy = _child(spec, "strategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = _child(strategy, "rollingUpdate")
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(spec)


def _replica_set(obj: dict[str, Any]) -> None:
    spec = _spec(obj)
    spec.setdefault("replicas", 1)
    _template(spec)


def _daemon_set(obj: dict[str, Any]) -> None:
    spec = _spec(obj)
    strategy = _child(spec, "updateStrategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = _child(strategy, "rollingUpdate")
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    _template(spec)


def _stateful_set(obj: dict[str, Any]) -> None:
    spec = _spec(obj)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = _child(spec, "updateStrategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        _child(strategy, "rollingUpdate").setdefault("partition", 0)
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    retention = _child(spec, "persistentVolumeClaimRetentionPolicy")
    retention.setdefault("whenDeleted", "Retain")
    retention.setdefault("whenScaled", "Retain")
    for claim in spec.get("volumeClaimTemplates") or []:
        if isinstance(claim, dict):
            _embedded_meta(claim)
            _pvc(claim)
    _template(spec)


def _job_spec(spec: dict[str, Any], obj: dict[str, Any] | None) -> None:
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    spec.setdefault("parallelism", 1)
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
    if obj is not None and template_labels and not (obj.get("metadata") or {}).get("labels"):
        _child(obj, "metadata")["labels"] = dict(template_labels)
    _template(spec)


def _job(obj: dict[str, Any]) -> None:
    _job_spec(_spec(obj), obj)


def _cron_job(obj: dict[str, Any]) -> None:
    spec = _spec(obj)
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_template = _child(spec, "jobTemplate")
    _embedded_meta(job_template)
    _template(_child(job_template, "spec"))


# ---------------------------------------------------------------------------------------------- core


def _service(obj: dict[str, Any]) -> None:
    spec = _spec(obj)
    spec.setdefault("sessionAffinity", "None")
    if spec["sessionAffinity"] == "ClientIP":
        client_ip = _child(_child(spec, "sessionAffinityConfig"), "clientIP")
        client_ip.setdefault("timeoutSeconds", 10800)
    spec.setdefault("type", "ClusterIP")
    for port in spec.get("ports") or []:
        if not isinstance(port, dict):
            continue
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    service_type = spec["type"]
    if service_type in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if service_type == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    if service_type != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("ipFamilies", ["IPv4"])


def _namespace(obj: dict[str, Any]) -> None:
    metadata = _child(obj, "metadata")
    name = metadata.get("name")
    if name:
        _child(metadata, "labels")["kubernetes.io/metadata.name"] = name
    spec = _spec(obj)
    spec.setdefault("finalizers", ["kubernetes"])
    _child(obj, "status").setdefault("phase", "Active")


def _secret(obj: dict[str, Any]) -> None:
    if not obj.get("type"):
        obj["type"] = "Opaque"


def _pvc_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("volumeMode", "Filesystem")
    _quantities(spec.get("resources"), "limits", "requests")


def _pvc(obj: dict[str, Any]) -> None:
    _pvc_spec(_spec(obj))
    _child(obj, "status").setdefault("phase", "Pending")


def _network_policy(obj: dict[str, Any]) -> None:
    spec = _spec(obj)
    for direction in ("ingress", "egress"):
        for rule in spec.get(direction) or []:
            for port in (rule or {}).get("ports") or []:
                if isinstance(port, dict) and not port.get("protocol"):
                    port["protocol"] = "TCP"
    if not spec.get("policyTypes"):
        types = ["Ingress"]
        if spec.get("egress"):
            types.append("Egress")
        spec["policyTypes"] = types


def _subjects(obj: dict[str, Any]) -> None:
    for subject in obj.get("subjects") or []:
        if (
            isinstance(subject, dict)
            and not subject.get("apiGroup")
            and subject.get("kind") in ("User", "Group")
        ):
            subject["apiGroup"] = "rbac.authorization.k8s.io"


_HPA_SCALE_UP = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ],
}
_HPA_SCALE_DOWN = {
    "selectPolicy": "Max",
    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
}


def _hpa(obj: dict[str, Any]) -> None:
    spec = _spec(obj)
    spec.setdefault("minReplicas", 1)
    if obj.get("apiVersion") == "autoscaling/v2" and not spec.get("metrics"):
        spec["metrics"] = [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
            }
        ]
    behavior = spec.get("behavior")
    if obj.get("apiVersion") == "autoscaling/v2" and isinstance(behavior, dict):
        # SetDefaults_HorizontalPodAutoscalerBehavior: a given behavior gets both rules, unset fields filled.
        for name, default in (("scaleUp", _HPA_SCALE_UP), ("scaleDown", _HPA_SCALE_DOWN)):
            rules = behavior.get(name) if isinstance(behavior.get(name), dict) else {}
            behavior[name] = {**copy.deepcopy(default), **{k: v for k, v in rules.items() if v is not None}}


_DEFAULTERS: dict[tuple[str, str], Callable[[dict[str, Any]], None]] = {
    ("apps", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replica_set,
    ("apps", "DaemonSet"): _daemon_set,
    ("apps", "StatefulSet"): _stateful_set,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cron_job,
    ("", "Pod"): _pod,
    ("", "Service"): _service,
    ("", "Namespace"): _namespace,
    ("", "Secret"): _secret,
    ("", "PersistentVolumeClaim"): _pvc,
    ("networking.k8s.io", "NetworkPolicy"): _network_policy,
    ("rbac.authorization.k8s.io", "RoleBinding"): _subjects,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _subjects,
    ("autoscaling", "HorizontalPodAutoscaler"): _hpa,
}
