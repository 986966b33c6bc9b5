"""The status the workload controllers of kube-controller-manager write once a rollout has completed.

Pure. The sandbox runs no nodes, kubelets or pods; ``status_for`` says what the status subresource of a
Deployment, ReplicaSet, StatefulSet, DaemonSet or Job would read on a healthy one-node cluster once the
controller caught up with the object's generation, or None when the controller has nothing to write.
Conditions keep their ``lastTransitionTime`` while their status stays the same, as the controllers do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from gitops.sandbox.store import GroupResource

SAFE_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
"""k8s.io/apimachinery/pkg/util/rand.SafeEncodeString's alphabet (no vowels, no look-alike digits)."""
FNV32_OFFSET = 0x811C9DC5
FNV32_PRIME = 0x01000193

Status = dict[str, Any]


def template_hash(template: Any) -> str:
    """A pod-template-hash-like name suffix: fnv32a of the template, safe-encoded as the controllers do.

    The real hash is over Go's printed struct, so the value differs from a real cluster's; its form does not.
    """
    value = FNV32_OFFSET
    for byte in json.dumps(template, sort_keys=True, separators=(",", ":")).encode():
        value = ((value ^ byte) * FNV32_PRIME) & 0xFFFFFFFF
    return "".join(SAFE_ALPHANUMS[ord(c) % len(SAFE_ALPHANUMS)] for c in str(value))


def status_for(resource: GroupResource, obj: dict[str, Any], now: str) -> Status | None:
    """The status to write for ``obj`` of ``resource``, or None (not a workload, up to date, finished, deleting)."""
    writer = STATUS_WRITERS.get(resource)
    metadata = obj.get("metadata") or {}
    if writer is None or metadata.get("deletionTimestamp"):
        return None
    return writer(obj, now)


def _generation(obj: dict[str, Any]) -> int:
    return int((obj.get("metadata") or {}).get("generation") or 1)


def _observed(obj: dict[str, Any]) -> bool:
    return (obj.get("status") or {}).get("observedGeneration") == _generation(obj)


def _replicas(obj: dict[str, Any]) -> int:
    replicas = (obj.get("spec") or {}).get("replicas")
    return replicas if isinstance(replicas, int) else 1


def _condition(
    previous: Status, kind: str, reason: str, message: str, now: str, *, times: tuple[str, ...]
) -> dict[str, Any]:
    """A True condition; ``lastTransitionTime`` kept from an earlier True one, other times set to ``now``."""
    earlier = next((c for c in previous.get("conditions") or [] if c.get("type") == kind), None)
    transition = now
    if earlier is not None and earlier.get("status") == "True" and earlier.get("lastTransitionTime"):
        transition = earlier["lastTransitionTime"]
    stamps = {name: now for name in times}
    stamps["lastTransitionTime"] = transition
    return {"type": kind, "status": "True", **stamps, "reason": reason, "message": message}


def _without_zeros(status: Status, *optional: str) -> Status:
    """Drop the ``omitempty`` counters that are 0, as the Go types serialise them."""
    return {k: v for k, v in status.items() if not (k in optional and v == 0)}


def deployment_status(obj: dict[str, Any], now: str) -> Status | None:
    if _observed(obj):
        return None
    previous = obj.get("status") or {}
    replicas = _replicas(obj)
    name = obj["metadata"]["name"]
    new_replica_set = f"{name}-{template_hash((obj.get('spec') or {}).get('template'))}"
    timestamps = ("lastUpdateTime",)
    counters = _without_zeros(
        {
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
        },
        "replicas",
        "updatedReplicas",
        "readyReplicas",
        "availableReplicas",
    )
    return {
        "observedGeneration": _generation(obj),
        **counters,
        "conditions": [
            _condition(
                previous,
                "Available",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                now,
                times=timestamps,
            ),
            _condition(
                previous,
                "Progressing",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{new_replica_set}" has successfully progressed.',
                now,
                times=timestamps,
            ),
        ],
    }


def replica_set_status(obj: dict[str, Any], now: str) -> Status | None:
    if _observed(obj):
        return None
    replicas = _replicas(obj)
    return _without_zeros(
        {
            "replicas": replicas,
            "fullyLabeledReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
            "observedGeneration": _generation(obj),
        },
        "fullyLabeledReplicas",
        "readyReplicas",
        "availableReplicas",
    )


def stateful_set_status(obj: dict[str, Any], now: str) -> Status | None:
    if _observed(obj):
        return None
    replicas = _replicas(obj)
    revision = f"{obj['metadata']['name']}-{template_hash((obj.get('spec') or {}).get('template'))}"
    return _without_zeros(
        {
            "observedGeneration": _generation(obj),
            "replicas": replicas,
            "readyReplicas": replicas,
            "currentReplicas": replicas,
            "updatedReplicas": replicas,
            "currentRevision": revision,
            "updateRevision": revision,
            "collisionCount": 0,
            "availableReplicas": replicas,
        },
        "readyReplicas",
        "currentReplicas",
        "updatedReplicas",
    )


def daemon_set_status(obj: dict[str, Any], now: str) -> Status | None:
    """One schedulable node: one pod, current, updated, ready and available."""
    if _observed(obj):
        return None
    return {
        "currentNumberScheduled": 1,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 1,
        "numberReady": 1,
        "observedGeneration": _generation(obj),
        "updatedNumberScheduled": 1,
        "numberAvailable": 1,
    }


def job_status(obj: dict[str, Any], now: str) -> Status | None:
    """A Job completes once (succeeded = completions, or 1); a finished or suspended Job is left alone."""
    previous = obj.get("status") or {}
    spec = obj.get("spec") or {}
    finished = any(
        c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
        for c in previous.get("conditions") or []
    )
    if finished or spec.get("suspend"):
        return None
    completions = spec.get("completions")
    succeeded = completions if isinstance(completions, int) else 1
    # v1.28's job controller: one Complete condition without reason or message (SuccessCriteriaMet and
    # CompletionsReached came with 1.31); ``terminating`` only with the alpha JobPodReplacementPolicy gate.
    conditions = [{"type": "Complete", "status": "True", "lastProbeTime": now, "lastTransitionTime": now}]
    status: Status = {
        "conditions": conditions,
        "startTime": previous.get("startTime") or now,
        "completionTime": now,
        "succeeded": succeeded,
        "uncountedTerminatedPods": {},
        "ready": 0,
    }
    if spec.get("completionMode") == "Indexed" and succeeded:
        status["completedIndexes"] = "0" if succeeded == 1 else f"0-{succeeded - 1}"
    return _without_zeros(status, "succeeded")


STATUS_WRITERS: dict[GroupResource, Callable[[dict[str, Any], str], Status | None]] = {
    ("apps", "deployments"): deployment_status,
    ("apps", "replicasets"): replica_set_status,
    ("apps", "statefulsets"): stateful_set_status,
    ("apps", "daemonsets"): daemon_set_status,
    ("batch", "jobs"): job_status,
}
"""The resources whose status the simulated controllers write."""
