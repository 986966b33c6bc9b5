"""The simulated controllers' status (pure) and the Secret conversion the decoder does."""

from __future__ import annotations

import pytest

from gitops.sandbox.defaults import DecodeError, apply_defaults, go_base64_decode
from gitops.sandbox.workloads import status_for, template_hash

NOW = "2026-01-01T00:00:00Z"
LATER = "2026-01-01T00:05:00Z"


def deployment(generation: int = 1, replicas: int | None = 3, status: dict | None = None) -> dict:
    spec: dict = {"template": {"metadata": {"labels": {"app": "web"}}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"metadata": {"name": "web", "generation": generation}, "spec": spec, "status": status or {}}


def test_a_deployment_gets_the_status_of_a_completed_rollout():
    status = status_for(("apps", "deployments"), deployment(), NOW)
    assert status is not None
    assert {
        k: status[k]
        for k in ("observedGeneration", "replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
    } == {
        "observedGeneration": 1,
        "replicas": 3,
        "updatedReplicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
    }
    available, progressing = status["conditions"]
    assert available == {
        "type": "Available",
        "status": "True",
        "lastUpdateTime": NOW,
        "lastTransitionTime": NOW,
        "reason": "MinimumReplicasAvailable",
        "message": "Deployment has minimum availability.",
    }
    suffix = template_hash(deployment()["spec"]["template"])
    assert progressing["message"] == f'ReplicaSet "web-{suffix}" has successfully progressed.'


def test_an_observed_deployment_needs_no_write_and_a_new_generation_keeps_transition_times():
    first = status_for(("apps", "deployments"), deployment(), NOW)
    assert status_for(("apps", "deployments"), deployment(status=first), LATER) is None
    second = status_for(("apps", "deployments"), deployment(generation=2, status=first), LATER)
    assert second is not None and second["observedGeneration"] == 2
    assert [(c["lastTransitionTime"], c["lastUpdateTime"]) for c in second["conditions"]] == [
        (NOW, LATER)
    ] * 2


def test_zero_replicas_omit_the_zero_counters_a_go_client_omits():
    status = status_for(("apps", "deployments"), deployment(replicas=0), NOW)
    assert status is not None and set(status) == {"observedGeneration", "conditions"}
    rs = status_for(("apps", "replicasets"), deployment(replicas=0), NOW)
    assert rs == {"replicas": 0, "observedGeneration": 1}


def test_statefulset_revisions_follow_the_template():
    one = status_for(("apps", "statefulsets"), deployment(), NOW)
    other = deployment()
    other["spec"]["template"]["metadata"]["labels"]["v"] = "2"
    two = status_for(("apps", "statefulsets"), other, NOW)
    assert one is not None and two is not None
    assert one["currentRevision"] == one["updateRevision"] != two["updateRevision"]
    assert (one["replicas"], one["availableReplicas"], one["collisionCount"]) == (3, 3, 0)


def test_a_daemonset_pretends_one_node():
    status = status_for(("apps", "daemonsets"), deployment(), NOW)
    assert status == {
        "currentNumberScheduled": 1,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 1,
        "numberReady": 1,
        "observedGeneration": 1,
        "updatedNumberScheduled": 1,
        "numberAvailable": 1,
    }


@pytest.mark.parametrize(
    ("spec", "succeeded", "indexes"),
    [
        ({}, 1, None),
        ({"completions": 3}, 3, None),
        ({"completions": 3, "completionMode": "Indexed"}, 3, "0-2"),
    ],
)
def test_a_job_completes_once(spec, succeeded, indexes):
    job = {"metadata": {"name": "j", "generation": 1}, "spec": spec, "status": {}}
    status = status_for(("batch", "jobs"), job, NOW)
    assert status is not None
    assert status["succeeded"] == succeeded
    assert status.get("completedIndexes") == indexes
    # v1.28 writes one Complete condition, without reason (SuccessCriteriaMet came with 1.31).
    assert [(c["type"], c.get("reason")) for c in status["conditions"]] == [("Complete", None)]
    assert status_for(("batch", "jobs"), {**job, "status": status}, LATER) is None


def test_suspended_jobs_deleting_objects_and_other_kinds_get_nothing():
    suspended = {"metadata": {"name": "j"}, "spec": {"suspend": True}}
    assert status_for(("batch", "jobs"), suspended, NOW) is None
    deleting = deployment()
    deleting["metadata"]["deletionTimestamp"] = NOW
    assert status_for(("apps", "deployments"), deleting, NOW) is None
    assert status_for(("", "persistentvolumeclaims"), {"metadata": {"name": "c"}}, NOW) is None


def test_secret_string_data_is_merged_into_data():
    obj = {"apiVersion": "v1", "kind": "Secret", "data": {"a": "eA==", "b": "eQ=="}, "stringData": {"a": "é"}}
    apply_defaults(obj)
    assert obj == {"apiVersion": "v1", "kind": "Secret", "data": {"a": "w6k=", "b": "eQ=="}, "type": "Opaque"}


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("admin", 4),
        ("wombat", 4),
        ("a===", 1),
        ("ab=c", 2),
        ("YQ==x", 4),
        ("YQ=", 3),
        ("YW*u", 2),
    ],
)
def test_invalid_base64_names_the_offset_go_names(text, offset):
    with pytest.raises(DecodeError, match=f"^illegal base64 data at input byte {offset}$"):
        go_base64_decode(text)


def test_base64_with_line_breaks_is_decoded():
    assert go_base64_decode("YWRt\naW4=") == b"admin"
    assert go_base64_decode("") == b""
