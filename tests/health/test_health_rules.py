"""Health rules: one YAML fixture per state in testdata/, one row per fixture."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gitops.changeset import Health
from gitops.health import assess

TESTDATA = Path(__file__).parent / "testdata"

H, P, D, U = Health.HEALTHY, Health.PROGRESSING, Health.DEGRADED, Health.UNKNOWN

# fixture name -> (expected health, the message the user sees, exactly)
CASES: dict[str, tuple[Health, str]] = {
    "deployment-healthy": (H, 'deployment "web" successfully rolled out'),
    "deployment-progressing-available": (
        P,
        'Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...',
    ),
    "deployment-progressing-updating": (
        P,
        'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...',
    ),
    "deployment-progressing-terminating": (
        P,
        'Waiting for deployment "web" rollout to finish: 2 old replicas are pending termination...',
    ),
    "deployment-progressing-generation": (P, "Waiting for deployment spec update to be observed..."),
    "deployment-progressing-new": (P, "Waiting for deployment spec update to be observed..."),
    "deployment-degraded-deadline": (D, 'deployment "web" exceeded its progress deadline'),
    "deployment-paused": (H, 'deployment "web" is paused (rollouts wait until it is resumed)'),
    "statefulset-healthy": (H, "statefulset rolling update complete 3 pods at revision db-7f9c..."),
    "statefulset-progressing-ready": (P, "Waiting for 2 pods to be ready..."),
    "statefulset-progressing-revision": (
        P,
        "waiting for statefulset rolling update to complete 1 pods at revision db-86b4...",
    ),
    "statefulset-progressing-generation": (P, "Waiting for statefulset spec update to be observed..."),
    "statefulset-partition-progressing": (
        P,
        "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...",
    ),
    "statefulset-partition-healthy": (H, "partitioned roll out complete: 2 new pods have been updated..."),
    "statefulset-ondelete": (H, "statefulset has 2 ready pods (OnDelete: pods update when deleted)"),
    "daemonset-healthy": (H, 'daemon set "agent" successfully rolled out'),
    "daemonset-progressing-updated": (
        P,
        'Waiting for daemon set "agent" rollout to finish: 1 out of 3 new pods have been updated...',
    ),
    "daemonset-progressing-available": (
        P,
        'Waiting for daemon set "agent" rollout to finish: 2 of 3 updated pods are available...',
    ),
    "daemonset-progressing-generation": (P, "Waiting for daemon set spec update to be observed..."),
    "daemonset-ondelete": (H, "daemon set 1 out of 3 new pods have been updated (OnDelete)"),
    "job-complete": (H, 'job "migrate" completed'),
    "job-failed": (D, 'job "migrate" failed: Job has reached the specified backoff limit'),
    "job-running": (P, 'Waiting for job "migrate" to complete (1 active pods)...'),
    "job-suspended": (H, 'job "migrate" is suspended'),
    "pvc-bound": (H, 'persistentvolumeclaim "data" is bound'),
    "pvc-pending": (P, 'Waiting for persistentvolumeclaim "data" to be bound (phase Pending)...'),
    "pvc-lost": (D, 'persistentvolumeclaim "data" lost its volume'),
    "service-clusterip": (H, 'service "web" is ready'),
    "service-loadbalancer-pending": (
        P,
        'Waiting for service "web" load balancer to get an ingress address...',
    ),
    "service-loadbalancer-ready": (H, 'service "web" load balancer is ready at 203.0.113.10'),
    "crd-established": (H, 'customresourcedefinition "widgets.example.com" is established'),
    "crd-pending": (P, 'Waiting for customresourcedefinition "widgets.example.com" to be established...'),
    "crd-names-rejected": (
        D,
        'customresourcedefinition "widgets.example.com" names not accepted: "widgets" is already in use',
    ),
    "pod-ready": (H, 'pod "web-0" is running and ready'),
    "pod-not-ready": (P, 'Waiting for pod "web-0" to be ready...'),
    "pod-crashloop": (D, 'pod "web-0": container "web" is CrashLoopBackOff'),
    "pod-pending": (P, 'pod "web-0" is pending'),
    "pod-succeeded": (H, 'pod "migrate-x7k2" succeeded'),
    "pod-failed": (D, 'pod "migrate-x7k2" failed: The node was low on resource memory.'),
    "namespace-active": (H, 'namespace "shop" is active'),
    "namespace-terminating": (P, 'Namespace "shop" is being deleted'),
    "configmap-exists": (H, 'ConfigMap "settings" exists'),
    "secret-exists": (H, 'Secret "creds" exists'),
    "clusterrole-exists": (H, 'ClusterRole "reader" exists'),
    "serviceaccount-exists": (H, 'ServiceAccount "web" exists'),
    "custom-ready": (H, 'Widget "blue" is ready'),
    "custom-ready-without-observed-generation": (H, 'Widget "blue" is ready'),
    "custom-not-ready": (P, 'Waiting for Widget "blue" to be ready: waiting for the bucket'),
    "custom-stalled": (D, 'Widget "blue" is stalled: size must be positive'),
    "custom-generation": (P, 'Waiting for Widget "blue" spec update to be observed...'),
    "custom-deleting": (P, 'Widget "blue" is being deleted'),
    "apiservice-available": (H, 'apiservice "v1beta1.metrics.k8s.io" is available'),
    "apiservice-unavailable": (
        D,
        'apiservice "v1beta1.metrics.k8s.io" is not available: endpoints for service/metrics-server in "kube-system" have no addresses',
    ),
}


def load(name: str) -> dict:
    return yaml.safe_load((TESTDATA / f"{name}.yaml").read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixture_state(name: str) -> None:
    expected_health, expected_message = CASES[name]
    assert assess(load(name)) == (expected_health, expected_message)


def test_every_fixture_has_a_row() -> None:
    assert sorted(path.stem for path in TESTDATA.glob("*.yaml")) == sorted(CASES)


def test_fixture_kinds_follow_file_names() -> None:
    """<kind>-<state>.yaml: the file name starts with the object's kind (a mislabelled fixture tests nothing)."""
    aliases = {"pvc": "persistentvolumeclaim", "crd": "customresourcedefinition", "custom": "widget"}
    for name in CASES:
        prefix = name.split("-")[0]
        assert load(name)["kind"].lower() == aliases.get(prefix, prefix), name


def test_deployment_rule_ignores_api_version_but_not_group() -> None:
    """The check is picked by (group, kind): a Deployment of another group gets the generic check."""
    obj = load("deployment-progressing-available")
    obj["apiVersion"] = "example.com/v1"
    assert assess(obj) == (H, 'Deployment "web" exists')


def test_unknown_pod_phase_is_unknown() -> None:
    obj = load("pod-pending")
    obj["status"] = {"phase": "Unknown"}
    assert assess(obj) == (U, 'pod "web-0" is in phase Unknown')


def test_malformed_status_does_not_raise() -> None:
    """Garbage in a live object's status must not crash a --wait loop."""
    obj = load("deployment-healthy")
    obj["status"] = {"observedGeneration": "two", "conditions": ["not-a-dict"], "updatedReplicas": None}
    health, message = assess(obj)
    assert health is P
    assert message == "Waiting for deployment spec update to be observed..."
