"""Health: is a live object done rolling out, still progressing, or broken?

Pure: no I/O. One small check per (group, kind), picked from :data:`CHECKS`; anything else gets the
generic check (``Ready``/``Stalled`` conditions and ``observedGeneration``). The rules follow
``kubectl rollout status`` and argo-cd's gitops-engine ``pkg/health``, and the messages use
kubectl's words so users recognise them.

Deliberate differences from gitops-engine, which has a ``Suspended`` status we do not: a paused
Deployment and a suspended Job are Healthy (with a message saying so), because the user asked for
them to stand still and ``--wait`` must not wait for them forever.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gitops.changeset import Health

Assessment = tuple[Health, str]
Check = Callable[[dict[str, Any]], Assessment]


def assess(obj: dict[str, Any]) -> Assessment:
    """The health of one live object and a one-line message explaining it."""
    metadata = obj.get("metadata") or {}
    if metadata.get("deletionTimestamp"):
        return Health.PROGRESSING, f"{_describe(obj)} is being deleted"
    group = str(obj.get("apiVersion") or "").rpartition("/")[0]
    check = CHECKS.get((group, str(obj.get("kind") or "")), _generic)
    return check(obj)


# --- helpers -----------------------------------------------------------------------------------


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _describe(obj: dict[str, Any]) -> str:
    return f'{obj.get("kind") or "object"} "{_name(obj)}"'


def _status(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("status") or {}


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("spec") or {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _condition(obj: dict[str, Any], condition_type: str) -> dict[str, Any] | None:
    for condition in _status(obj).get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == condition_type:
            return condition
    return None


def _condition_is(obj: dict[str, Any], condition_type: str, value: str) -> bool:
    condition = _condition(obj, condition_type)
    return condition is not None and condition.get("status") == value


def _generation_observed(obj: dict[str, Any]) -> bool:
    """The controller has seen the latest spec (observedGeneration >= generation)."""
    generation = _int((obj.get("metadata") or {}).get("generation"))
    return generation <= _int(_status(obj).get("observedGeneration"))


def _with_detail(text: str, condition: dict[str, Any] | None) -> str:
    detail = (condition or {}).get("message") or (condition or {}).get("reason") or ""
    return f"{text}: {detail}" if detail else text


# --- workloads (kubectl rollout status) ------------------------------------------------------


def _deployment(obj: dict[str, Any]) -> Assessment:
    name, spec, status = _name(obj), _spec(obj), _status(obj)
    if spec.get("paused"):
        return Health.HEALTHY, f'deployment "{name}" is paused (rollouts wait until it is resumed)'
    if not _generation_observed(obj):
        return Health.PROGRESSING, "Waiting for deployment spec update to be observed..."
    progressing = _condition(obj, "Progressing")
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Health.DEGRADED, f'deployment "{name}" exceeded its progress deadline'
    wanted = spec.get("replicas")
    updated = _int(status.get("updatedReplicas"))
    replicas = _int(status.get("replicas"))
    available = _int(status.get("availableReplicas"))
    prefix = f'Waiting for deployment "{name}" rollout to finish'
    if isinstance(wanted, int) and updated < wanted:
        return Health.PROGRESSING, f"{prefix}: {updated} out of {wanted} new replicas have been updated..."
    if replicas > updated:
        return Health.PROGRESSING, f"{prefix}: {replicas - updated} old replicas are pending termination..."
    if available < updated:
        return Health.PROGRESSING, f"{prefix}: {available} of {updated} updated replicas are available..."
    return Health.HEALTHY, f'deployment "{name}" successfully rolled out'


def _statefulset(obj: dict[str, Any]) -> Assessment:
    spec, status = _spec(obj), _status(obj)
    if _int(status.get("observedGeneration")) == 0 or not _generation_observed(obj):
        return Health.PROGRESSING, "Waiting for statefulset spec update to be observed..."
    wanted = spec.get("replicas")
    ready = _int(status.get("readyReplicas"))
    updated = _int(status.get("updatedReplicas"))
    if isinstance(wanted, int) and ready < wanted:
        return Health.PROGRESSING, f"Waiting for {wanted - ready} pods to be ready..."
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") == "OnDelete":
        return Health.HEALTHY, f"statefulset has {ready} ready pods (OnDelete: pods update when deleted)"
    partition = (strategy.get("rollingUpdate") or {}).get("partition")
    if isinstance(wanted, int) and isinstance(partition, int) and partition > 0:
        target = wanted - partition
        if updated < target:
            return (
                Health.PROGRESSING,
                f"Waiting for partitioned roll out to finish: {updated} out of {target} new pods have been updated...",
            )
        return Health.HEALTHY, f"partitioned roll out complete: {updated} new pods have been updated..."
    update_revision = status.get("updateRevision")
    if update_revision != status.get("currentRevision"):
        return (
            Health.PROGRESSING,
            f"waiting for statefulset rolling update to complete {updated} pods at revision {update_revision}...",
        )
    current = _int(status.get("currentReplicas"))
    return (
        Health.HEALTHY,
        f"statefulset rolling update complete {current} pods at revision {update_revision}...",
    )


def _daemonset(obj: dict[str, Any]) -> Assessment:
    name, status = _name(obj), _status(obj)
    if not _generation_observed(obj):
        return Health.PROGRESSING, "Waiting for daemon set spec update to be observed..."
    desired = _int(status.get("desiredNumberScheduled"))
    updated = _int(status.get("updatedNumberScheduled"))
    available = _int(status.get("numberAvailable"))
    if (_spec(obj).get("updateStrategy") or {}).get("type") == "OnDelete":
        return Health.HEALTHY, f"daemon set {updated} out of {desired} new pods have been updated (OnDelete)"
    prefix = f'Waiting for daemon set "{name}" rollout to finish'
    if updated < desired:
        return Health.PROGRESSING, f"{prefix}: {updated} out of {desired} new pods have been updated..."
    if available < desired:
        return Health.PROGRESSING, f"{prefix}: {available} of {desired} updated pods are available..."
    return Health.HEALTHY, f'daemon set "{name}" successfully rolled out'


def _job(obj: dict[str, Any]) -> Assessment:
    name = _name(obj)
    failed = _condition(obj, "Failed")
    if failed is not None and failed.get("status") == "True":
        return Health.DEGRADED, _with_detail(f'job "{name}" failed', failed)
    complete = _condition(obj, "Complete")
    if complete is not None and complete.get("status") == "True":
        return Health.HEALTHY, f'job "{name}" completed'
    if _spec(obj).get("suspend"):
        return Health.HEALTHY, f'job "{name}" is suspended'
    active = _int(_status(obj).get("active"))
    return Health.PROGRESSING, f'Waiting for job "{name}" to complete ({active} active pods)...'


def _pod(obj: dict[str, Any]) -> Assessment:
    name, status = _name(obj), _status(obj)
    phase = status.get("phase") or ""
    detail = status.get("message") or status.get("reason") or ""
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting") or {}
        reason = str(waiting.get("reason") or "")
        if reason.startswith("Err") or reason.endswith(("Error", "BackOff")):
            return Health.DEGRADED, f'pod "{name}": container "{container.get("name")}" is {reason}'
    if phase == "Succeeded":
        return Health.HEALTHY, f'pod "{name}" succeeded'
    if phase == "Failed":
        return Health.DEGRADED, f'pod "{name}" failed' + (f": {detail}" if detail else "")
    if phase == "Running":
        if _condition_is(obj, "Ready", "True"):
            return Health.HEALTHY, f'pod "{name}" is running and ready'
        return Health.PROGRESSING, f'Waiting for pod "{name}" to be ready...'
    if phase == "Pending":
        return Health.PROGRESSING, f'pod "{name}" is pending' + (f": {detail}" if detail else "")
    return Health.UNKNOWN, f'pod "{name}" is in phase {phase or "(none)"}'


# --- other built-in kinds --------------------------------------------------------------------


def _pvc(obj: dict[str, Any]) -> Assessment:
    name, phase = _name(obj), _status(obj).get("phase") or ""
    if phase == "Bound":
        return Health.HEALTHY, f'persistentvolumeclaim "{name}" is bound'
    if phase == "Lost":
        return Health.DEGRADED, f'persistentvolumeclaim "{name}" lost its volume'
    return (
        Health.PROGRESSING,
        f'Waiting for persistentvolumeclaim "{name}" to be bound (phase {phase or "Pending"})...',
    )


def _service(obj: dict[str, Any]) -> Assessment:
    name = _name(obj)
    if _spec(obj).get("type") != "LoadBalancer":
        return Health.HEALTHY, f'service "{name}" is ready'
    ingress = (_status(obj).get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        addresses = ", ".join(str(i.get("ip") or i.get("hostname") or "?") for i in ingress)
        return Health.HEALTHY, f'service "{name}" load balancer is ready at {addresses}'
    return Health.PROGRESSING, f'Waiting for service "{name}" load balancer to get an ingress address...'


def _crd(obj: dict[str, Any]) -> Assessment:
    name = _name(obj)
    names_accepted = _condition(obj, "NamesAccepted")
    if names_accepted is not None and names_accepted.get("status") == "False":
        return Health.DEGRADED, _with_detail(
            f'customresourcedefinition "{name}" names not accepted', names_accepted
        )
    if _condition_is(obj, "Established", "True"):
        return Health.HEALTHY, f'customresourcedefinition "{name}" is established'
    return Health.PROGRESSING, f'Waiting for customresourcedefinition "{name}" to be established...'


def _namespace(obj: dict[str, Any]) -> Assessment:
    name, phase = _name(obj), _status(obj).get("phase")
    if phase == "Terminating":
        return Health.PROGRESSING, f'namespace "{name}" is terminating'
    return Health.HEALTHY, f'namespace "{name}" is active'


def _api_service(obj: dict[str, Any]) -> Assessment:
    name, available = _name(obj), _condition(obj, "Available")
    if available is not None and available.get("status") == "True":
        return Health.HEALTHY, f'apiservice "{name}" is available'
    if available is not None and available.get("status") == "False":
        return Health.DEGRADED, _with_detail(f'apiservice "{name}" is not available', available)
    return Health.PROGRESSING, f'Waiting for apiservice "{name}" to be available...'


def _generic(obj: dict[str, Any]) -> Assessment:
    """Custom resources and config-like kinds: ``Stalled``/``Ready`` conditions (kstatus), generations.

    An object without status (ConfigMap, Secret, RBAC, ServiceAccount, ...) is healthy once it exists.
    """
    what = _describe(obj)
    # As kstatus: a status without observedGeneration says nothing about which generation it describes.
    if "observedGeneration" in _status(obj) and not _generation_observed(obj):
        return Health.PROGRESSING, f"Waiting for {what} spec update to be observed..."
    stalled = _condition(obj, "Stalled")
    if stalled is not None and stalled.get("status") == "True":
        return Health.DEGRADED, _with_detail(f"{what} is stalled", stalled)
    ready = _condition(obj, "Ready")
    if ready is None:
        return Health.HEALTHY, f"{what} exists"
    if ready.get("status") == "True":
        return Health.HEALTHY, f"{what} is ready"
    return Health.PROGRESSING, _with_detail(f"Waiting for {what} to be ready", ready)


CHECKS: dict[tuple[str, str], Check] = {
    ("apps", "Deployment"): _deployment,
    ("extensions", "Deployment"): _deployment,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "DaemonSet"): _daemonset,
    ("extensions", "DaemonSet"): _daemonset,
    ("batch", "Job"): _job,
    ("", "Pod"): _pod,
    ("", "PersistentVolumeClaim"): _pvc,
    ("", "Service"): _service,
    ("", "Namespace"): _namespace,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
    ("apiregistration.k8s.io", "APIService"): _api_service,
}
"""(API group, kind) -> its check; kinds not listed get the generic check."""
