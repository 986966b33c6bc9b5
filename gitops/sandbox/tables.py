"""``meta.k8s.io/v1`` Tables for ``kubectl get``: the columns kube-apiserver v1.28 prints per kind.

Pure. Columns and cells follow kubernetes/pkg/printers/internalversion/printers.go for the common kinds;
custom resources print their CRD's ``additionalPrinterColumns`` (JSONPath ``.a.b`` and ``[?(@.k=="v")]`` filters)
after Name, and Age when none are declared; other kinds print Name and Age.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

NONE = "<none>"


@dataclass(frozen=True)
class Column:
    name: str
    cell: Callable[[dict[str, Any]], Any]
    type: str = "string"
    priority: int = 0
    format: str = ""
    description: str = ""

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description or f"{self.name} of the object.",
            "priority": self.priority,
        }


def _get(obj: Any, *path: str) -> Any:
    for part in path:
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def _seconds_since(timestamp: str | None) -> int | None:
    if not timestamp:
        return None
    then = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    return max(0, int((datetime.datetime.now(datetime.UTC) - then).total_seconds()))


def human_duration(seconds: int) -> str:
    """``duration.HumanDuration`` as ``kubectl get`` prints ages."""
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y{days % 365}d" if days % 365 else f"{days // 365}y"


def age(obj: dict[str, Any]) -> str:
    seconds = _seconds_since(_get(obj, "metadata", "creationTimestamp"))
    return "<unknown>" if seconds is None else human_duration(seconds)


NAME = Column(
    "Name",
    lambda o: o["metadata"]["name"],
    format="name",
    description="Name must be unique within a namespace.",
)
AGE = Column(
    "Age",
    age,
    description="CreationTimestamp is a timestamp representing the server time when this object was created.",
)
CREATED_AT = Column("Created At", lambda o: _get(o, "metadata", "creationTimestamp"), type="date")


def _containers(spec_path: tuple[str, ...]) -> list[Column]:
    def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
        return _get(obj, *spec_path, "containers") or []

    return [
        Column("Containers", lambda o: ",".join(c.get("name", "") for c in containers(o)), priority=1),
        Column("Images", lambda o: ",".join(c.get("image", "") for c in containers(o)), priority=1),
    ]


def label_selector_text(selector: dict[str, Any] | None) -> str:
    """``metav1.FormatLabelSelector``."""
    if not selector:
        return NONE
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = (
            expression.get("key"),
            expression.get("operator"),
            expression.get("values") or [],
        )
        if operator == "Exists":
            parts.append(key)
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
        else:
            parts.append(f"{key} {operator.lower()} ({','.join(sorted(values))})")
    return ",".join(parts) or NONE


SELECTOR = Column("Selector", lambda o: label_selector_text(_get(o, "spec", "selector")), priority=1)


def _int(*path: str) -> Callable[[dict[str, Any]], int]:
    return lambda o: int(_get(o, *path) or 0)


def _ratio(ready: tuple[str, ...], desired: tuple[str, ...]) -> Callable[[dict[str, Any]], str]:
    return lambda o: f"{int(_get(o, *ready) or 0)}/{int(_get(o, *desired) or 0)}"


def _pod_status(pod: dict[str, Any]) -> str:
    if _get(pod, "metadata", "deletionTimestamp"):
        return "Terminating"
    return str(_get(pod, "status", "reason") or _get(pod, "status", "phase") or "")


def _pod_ready(pod: dict[str, Any]) -> str:
    statuses = _get(pod, "status", "containerStatuses") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    return f"{ready}/{len(_get(pod, 'spec', 'containers') or [])}"


def _service_external_ip(service: dict[str, Any]) -> str:
    spec = service.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    if kind == "ExternalName":
        return str(spec.get("externalName", ""))
    external = list(spec.get("externalIPs") or [])
    if kind == "LoadBalancer":
        ingress = _get(service, "status", "loadBalancer", "ingress") or []
        external += [i.get("ip") or i.get("hostname") for i in ingress]
        return ",".join(external) if external else "<pending>"
    return ",".join(external) if external else NONE


def _service_ports(service: dict[str, Any]) -> str:
    ports = _get(service, "spec", "ports") or []
    texts = []
    for port in ports:
        protocol = port.get("protocol", "TCP")
        if port.get("nodePort"):
            texts.append(f"{port.get('port')}:{port['nodePort']}/{protocol}")
        else:
            texts.append(f"{port.get('port')}/{protocol}")
    return ",".join(texts) if texts else NONE


def _job_duration(job: dict[str, Any]) -> str:
    start = _get(job, "status", "startTime")
    if not start:
        return ""
    end = _get(job, "status", "completionTime")
    started = _seconds_since(start) or 0
    finished = _seconds_since(end) if end else 0
    return human_duration(max(0, started - (finished or 0)))


def _ingress_hosts(ingress: dict[str, Any]) -> str:
    hosts = [r.get("host") for r in _get(ingress, "spec", "rules") or [] if r.get("host")]
    return ",".join(hosts) if hosts else "*"


def _ingress_ports(ingress: dict[str, Any]) -> str:
    return "80, 443" if _get(ingress, "spec", "tls") else "80"


def _binding_subjects(kind: str) -> Callable[[dict[str, Any]], str]:
    def cell(binding: dict[str, Any]) -> str:
        names = []
        for subject in binding.get("subjects") or []:
            if subject.get("kind") == kind:
                name = subject.get("name", "")
                names.append(f"{subject.get('namespace', '')}/{name}" if kind == "ServiceAccount" else name)
        return ", ".join(names)

    return cell


def _hpa_targets(hpa: dict[str, Any]) -> str:
    texts = []
    for metric in _get(hpa, "spec", "metrics") or []:
        target = _get(metric, "resource", "target") or {}
        if target.get("averageUtilization") is not None:
            texts.append(f"<unknown>/{target['averageUtilization']}%")
        elif target.get("averageValue") is not None:
            texts.append(f"<unknown>/{target['averageValue']}")
        else:
            texts.append("<unknown>")
    return ", ".join(texts) if texts else NONE


def _or_none(*path: str) -> Callable[[dict[str, Any]], str]:
    def cell(obj: dict[str, Any]) -> str:
        value = _get(obj, *path)
        return NONE if value in (None, "") else str(value)

    return cell


def _count(*paths: tuple[str, ...]) -> Callable[[dict[str, Any]], int]:
    return lambda o: sum(len(_get(o, *path) or {}) for path in paths)


COLUMNS: dict[tuple[str, str], list[Column]] = {
    ("", "pods"): [
        NAME,
        Column("Ready", _pod_ready),
        Column("Status", _pod_status),
        Column(
            "Restarts",
            lambda o: str(
                sum(int(s.get("restartCount") or 0) for s in _get(o, "status", "containerStatuses") or [])
            ),
        ),
        AGE,
        Column("IP", _or_none("status", "podIP"), priority=1),
        Column("Node", _or_none("spec", "nodeName"), priority=1),
        Column("Nominated Node", _or_none("status", "nominatedNodeName"), priority=1),
        Column("Readiness Gates", lambda o: NONE, priority=1),
    ],
    ("apps", "deployments"): [
        NAME,
        Column("Ready", _ratio(("status", "readyReplicas"), ("spec", "replicas"))),
        Column("Up-to-date", _int("status", "updatedReplicas"), type="integer"),
        Column("Available", _int("status", "availableReplicas"), type="integer"),
        AGE,
        *_containers(("spec", "template", "spec")),
        SELECTOR,
    ],
    ("apps", "replicasets"): [
        NAME,
        Column("Desired", _int("spec", "replicas"), type="integer"),
        Column("Current", _int("status", "replicas"), type="integer"),
        Column("Ready", _int("status", "readyReplicas"), type="integer"),
        AGE,
        *_containers(("spec", "template", "spec")),
        SELECTOR,
    ],
    ("apps", "statefulsets"): [
        NAME,
        Column("Ready", _ratio(("status", "readyReplicas"), ("spec", "replicas"))),
        AGE,
        *_containers(("spec", "template", "spec")),
    ],
    ("apps", "daemonsets"): [
        NAME,
        Column("Desired", _int("status", "desiredNumberScheduled"), type="integer"),
        Column("Current", _int("status", "currentNumberScheduled"), type="integer"),
        Column("Ready", _int("status", "numberReady"), type="integer"),
        Column("Up-to-date", _int("status", "updatedNumberScheduled"), type="integer"),
        Column("Available", _int("status", "numberAvailable"), type="integer"),
        Column(
            "Node Selector",
            lambda o: (
                ",".join(
                    f"{k}={v}"
                    for k, v in sorted((_get(o, "spec", "template", "spec", "nodeSelector") or {}).items())
                )
                or NONE
            ),
        ),
        AGE,
        *_containers(("spec", "template", "spec")),
        SELECTOR,
    ],
    ("", "services"): [
        NAME,
        Column("Type", lambda o: _get(o, "spec", "type") or "ClusterIP"),
        Column("Cluster-IP", _or_none("spec", "clusterIP")),
        Column("External-IP", _service_external_ip),
        Column("Port(s)", _service_ports),
        AGE,
        Column(
            "Selector",
            lambda o: (
                ",".join(f"{k}={v}" for k, v in sorted((_get(o, "spec", "selector") or {}).items())) or NONE
            ),
            priority=1,
        ),
    ],
    ("", "configmaps"): [NAME, Column("Data", _count(("data",), ("binaryData",)), type="integer"), AGE],
    ("", "secrets"): [
        NAME,
        Column("Type", lambda o: o.get("type", "")),
        Column("Data", _count(("data",)), type="integer"),
        AGE,
    ],
    ("", "namespaces"): [NAME, Column("Status", lambda o: _get(o, "status", "phase") or ""), AGE],
    ("", "serviceaccounts"): [NAME, Column("Secrets", _count(("secrets",)), type="integer"), AGE],
    ("", "persistentvolumeclaims"): [
        NAME,
        Column("Status", lambda o: _get(o, "status", "phase") or ""),
        Column("Volume", lambda o: _get(o, "spec", "volumeName") or ""),
        Column("Capacity", lambda o: (_get(o, "status", "capacity") or {}).get("storage", "")),
        Column(
            "Access Modes",
            lambda o: ",".join(
                {
                    "ReadWriteOnce": "RWO",
                    "ReadOnlyMany": "ROX",
                    "ReadWriteMany": "RWX",
                    "ReadWriteOncePod": "RWOP",
                }.get(m, m)
                for m in _get(o, "status", "accessModes") or []
            ),
        ),
        Column("StorageClass", lambda o: _get(o, "spec", "storageClassName") or ""),
        AGE,
        Column("VolumeMode", lambda o: _get(o, "spec", "volumeMode") or "", priority=1),
    ],
    ("batch", "jobs"): [
        NAME,
        Column(
            "Completions",
            lambda o: f"{int(_get(o, 'status', 'succeeded') or 0)}/{_get(o, 'spec', 'completions') or 1}",
        ),
        Column("Duration", _job_duration),
        AGE,
        *_containers(("spec", "template", "spec")),
        SELECTOR,
    ],
    ("batch", "cronjobs"): [
        NAME,
        Column("Schedule", lambda o: _get(o, "spec", "schedule") or ""),
        Column("Suspend", lambda o: "True" if _get(o, "spec", "suspend") else "False"),
        Column("Active", lambda o: len(_get(o, "status", "active") or []), type="integer"),
        Column(
            "Last Schedule",
            lambda o: (
                NONE
                if not _get(o, "status", "lastScheduleTime")
                else human_duration(_seconds_since(_get(o, "status", "lastScheduleTime")) or 0)
            ),
        ),
        AGE,
        *_containers(("spec", "jobTemplate", "spec", "template", "spec")),
        Column(
            "Selector",
            lambda o: label_selector_text(_get(o, "spec", "jobTemplate", "spec", "selector")),
            priority=1,
        ),
    ],
    ("networking.k8s.io", "ingresses"): [
        NAME,
        Column("Class", _or_none("spec", "ingressClassName")),
        Column("Hosts", _ingress_hosts),
        Column(
            "Address",
            lambda o: ",".join(
                i.get("ip") or i.get("hostname") or ""
                for i in _get(o, "status", "loadBalancer", "ingress") or []
            ),
        ),
        Column("Ports", _ingress_ports),
        AGE,
    ],
    ("networking.k8s.io", "networkpolicies"): [
        NAME,
        Column(
            "Pod-Selector", lambda o: label_selector_text(_get(o, "spec", "podSelector")).replace(NONE, "")
        ),
        AGE,
    ],
    ("rbac.authorization.k8s.io", "roles"): [NAME, CREATED_AT],
    ("rbac.authorization.k8s.io", "clusterroles"): [NAME, CREATED_AT],
    ("apiextensions.k8s.io", "customresourcedefinitions"): [NAME, CREATED_AT],
    ("autoscaling", "horizontalpodautoscalers"): [
        NAME,
        Column(
            "Reference",
            lambda o: (
                f"{_get(o, 'spec', 'scaleTargetRef', 'kind')}/{_get(o, 'spec', 'scaleTargetRef', 'name')}"
            ),
        ),
        Column("Targets", _hpa_targets),
        Column("MinPods", lambda o: _get(o, "spec", "minReplicas") or 1, type="integer"),
        Column("MaxPods", _int("spec", "maxReplicas"), type="integer"),
        Column("Replicas", _int("status", "currentReplicas"), type="integer"),
        AGE,
    ],
    ("policy", "poddisruptionbudgets"): [
        NAME,
        Column(
            "Min Available",
            lambda o: (
                "N/A" if _get(o, "spec", "minAvailable") is None else str(_get(o, "spec", "minAvailable"))
            ),
        ),
        Column(
            "Max Unavailable",
            lambda o: (
                "N/A" if _get(o, "spec", "maxUnavailable") is None else str(_get(o, "spec", "maxUnavailable"))
            ),
        ),
        Column("Allowed Disruptions", _int("status", "disruptionsAllowed"), type="integer"),
        AGE,
    ],
}
for _binding in ("rolebindings", "clusterrolebindings"):
    COLUMNS[("rbac.authorization.k8s.io", _binding)] = [
        NAME,
        Column("Role", lambda o: f"{_get(o, 'roleRef', 'kind')}/{_get(o, 'roleRef', 'name')}"),
        AGE,
        Column("Users", _binding_subjects("User"), priority=1),
        Column("Groups", _binding_subjects("Group"), priority=1),
        Column("ServiceAccounts", _binding_subjects("ServiceAccount"), priority=1),
    ]


_JSONPATH_STEP = re.compile(r'\.([A-Za-z0-9_-]+)|\[\?\(@\.([A-Za-z0-9_.-]+)=="([^"]*)"\)\]')


def json_path(obj: Any, path: str) -> Any:
    """The first value at a simple JSONPath (``.a.b``, ``.a[?(@.type=="Ready")].status``), as the
    CRD table convertor takes it; ``None`` when there is none."""
    values = [obj]
    for field_name, key, wanted in _JSONPATH_STEP.findall(path.strip("{}")):
        found = []
        for value in values:
            if field_name and isinstance(value, dict) and field_name in value:
                found.append(value[field_name])
            elif key and isinstance(value, list):
                found += [item for item in value if isinstance(item, dict) and str(item.get(key)) == wanted]
        values = found
    return values[0] if values else None


def _printer_column(spec: dict[str, Any]) -> Column:
    path = str(spec.get("jsonPath", ""))

    def cell(obj: dict[str, Any]) -> Any:
        value = json_path(obj, path)
        if value is None:
            return None
        if spec.get("type") == "date":
            return human_duration(_seconds_since(value) or 0) if isinstance(value, str) else None
        if spec.get("type") == "string" and not isinstance(value, str):
            return json.dumps(value, separators=(",", ":"))
        return value

    return Column(
        str(spec.get("name", "")),
        cell,
        type=str(spec.get("type", "string")),
        priority=int(spec.get("priority") or 0),
        format=str(spec.get("format") or ""),
        description=str(spec.get("description") or ""),
    )


def columns_for(
    group: str, resource: str, printer_columns: list[dict[str, Any]] | None = None
) -> list[Column]:
    if printer_columns:
        return [NAME, *(_printer_column(spec) for spec in printer_columns)]
    return COLUMNS.get((group, resource), [NAME, AGE])


def as_table(body: dict[str, Any], columns: list[Column]) -> dict[str, Any]:
    """The Table for a get or list response (rows carry PartialObjectMetadata, as ``includeObject=Metadata``)."""
    items = body.get("items", [body])
    rows = [
        {
            "cells": [column.cell(item) for column in columns],
            "object": {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": item["metadata"],
            },
        }
        for item in items
    ]
    metadata = (
        {
            k: v
            for k, v in body.get("metadata", {}).items()
            if k in ("resourceVersion", "continue", "remainingItemCount")
        }
        if "items" in body
        else {}
    )
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [column.definition() for column in columns],
        "rows": rows,
    }
