"""Workload status as a cluster's controllers write it: rollouts complete, Jobs finish, PVCs stay Pending.

Every test here passes unchanged against a real cluster (the pause image runs anywhere; ``pause -v``
prints its version and exits 0); the one that turns the simulation off starts its own sandbox. Tests
marked ``nodes`` need Pods that run, and are deselected on a real cluster without a Ready node.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gitops.cli import cli as gitops_cli
from gitops.errors import GitopsError

IMAGE = "registry.k8s.io/pause:3.9"
WAIT_SECONDS = 180.0
"""Bound for polling (the sandbox answers within milliseconds; a real cluster pulls the image first)."""
REPLICA_SET_NAME = re.compile(
    r'^ReplicaSet "web-[bcdfghjklmnpqrstvwxz2456789]+" has successfully progressed\.$'
)


def wait_for(read: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
    """Poll ``read()`` until ``done(value)``; the last value when the bound runs out (the caller asserts)."""
    deadline = time.monotonic() + WAIT_SECONDS
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.05)
        value = read()
    return value


def pod_template(app: str, **container: Any) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": [{"name": "main", "image": IMAGE, **container}]},
    }


def workload(kind: str, name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": pod_template(name), **spec},
    }


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == kind]
    return found[0] if found else {}


def observed(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    return status.get("observedGeneration") == obj["metadata"]["generation"]


@pytest.fixture(scope="module")
def dynamic(cluster: Any) -> Any:
    return cluster.dynamic()


def resource(dynamic: Any, api_version: str, kind: str) -> Any:
    return dynamic.resources.get(api_version=api_version, kind=kind)


@pytest.mark.nodes
def test_a_deployment_reports_its_rollout_complete(dynamic, namespace):
    deployments = resource(dynamic, "apps/v1", "Deployment")
    created = deployments.create(
        body=workload("Deployment", "web", namespace, replicas=1), namespace=namespace
    )
    watch = deployments.watch(
        namespace=namespace,
        resource_version=created.metadata.resourceVersion,
        timeout=int(WAIT_SECONDS),
        field_selector="metadata.name=web",
    )
    event = next(
        e
        for e in watch
        if e["type"] == "MODIFIED"
        and observed(e["raw_object"])
        and (e["raw_object"]["status"].get("availableReplicas") == 1)
    )
    deployment = event["raw_object"]
    assert int(deployment["metadata"]["resourceVersion"]) > int(created.metadata.resourceVersion)
    status = deployment["status"]
    assert (status["replicas"], status["updatedReplicas"], status["readyReplicas"]) == (1, 1, 1)
    available, progressing = condition(deployment, "Available"), condition(deployment, "Progressing")
    assert (available["status"], available["reason"], available["message"]) == (
        "True",
        "MinimumReplicasAvailable",
        "Deployment has minimum availability.",
    )
    assert (progressing["status"], progressing["reason"]) == ("True", "NewReplicaSetAvailable")
    assert REPLICA_SET_NAME.match(progressing["message"])
    status_writers = [e for e in deployment["metadata"]["managedFields"] if e.get("subresource") == "status"]
    assert [(e["manager"], e["operation"]) for e in status_writers] == [("kube-controller-manager", "Update")]
    assert "f:availableReplicas" in status_writers[0]["fieldsV1"]["f:status"]


@pytest.mark.nodes
def test_a_new_generation_rolls_out_again(dynamic, namespace):
    deployments = resource(dynamic, "apps/v1", "Deployment")
    deployments.create(body=workload("Deployment", "web", namespace, replicas=1), namespace=namespace)
    first = wait_for(lambda: deployments.get(name="web", namespace=namespace).to_dict(), observed)
    first_message = condition(first, "Progressing")["message"]
    deployments.patch(
        name="web",
        namespace=namespace,
        body={"spec": {"replicas": 2, "template": {"metadata": {"labels": {"tier": "front"}}}}},
        content_type="application/merge-patch+json",
    )
    second = wait_for(
        lambda: deployments.get(name="web", namespace=namespace).to_dict(),
        lambda d: (
            observed(d) and d["status"].get("availableReplicas") == 2 and d["status"].get("replicas") == 2
        ),
    )
    assert second["metadata"]["generation"] == 2
    assert second["status"]["observedGeneration"] == 2
    assert second["status"]["updatedReplicas"] == 2
    assert REPLICA_SET_NAME.match(condition(second, "Progressing")["message"])
    assert condition(second, "Progressing")["message"] != first_message


@pytest.mark.nodes
def test_a_statefulset_reaches_its_update_revision(dynamic, namespace):
    statefulsets = resource(dynamic, "apps/v1", "StatefulSet")
    statefulsets.create(
        body=workload("StatefulSet", "db", namespace, replicas=1, serviceName="db"), namespace=namespace
    )
    sts = wait_for(
        lambda: statefulsets.get(name="db", namespace=namespace).to_dict(),
        lambda s: (
            observed(s) and s["status"].get("readyReplicas") == 1 and s["status"].get("currentReplicas") == 1
        ),
    )
    status = sts["status"]
    assert (status["replicas"], status["availableReplicas"], status["updatedReplicas"]) == (1, 1, 1)
    assert status["currentRevision"] == status["updateRevision"]
    assert status["updateRevision"].startswith("db-")


@pytest.mark.nodes
def test_a_daemonset_runs_on_every_node(dynamic, namespace):
    daemonsets = resource(dynamic, "apps/v1", "DaemonSet")
    daemonsets.create(body=workload("DaemonSet", "agent", namespace), namespace=namespace)
    ds = wait_for(
        lambda: daemonsets.get(name="agent", namespace=namespace).to_dict(),
        lambda d: (
            observed(d)
            and d["status"]["desiredNumberScheduled"] > 0
            and d["status"].get("numberAvailable") == d["status"]["desiredNumberScheduled"]
        ),
    )
    status = ds["status"]
    desired = status["desiredNumberScheduled"]
    assert desired >= 1
    assert status["currentNumberScheduled"] == status["numberReady"] == desired
    assert status["updatedNumberScheduled"] == desired
    assert status["numberMisscheduled"] == 0


@pytest.mark.nodes
def test_a_replicaset_has_its_replicas_ready(dynamic, namespace):
    replicasets = resource(dynamic, "apps/v1", "ReplicaSet")
    replicasets.create(body=workload("ReplicaSet", "rs", namespace, replicas=1), namespace=namespace)
    rs = wait_for(
        lambda: replicasets.get(name="rs", namespace=namespace).to_dict(),
        lambda r: observed(r) and r["status"].get("availableReplicas") == 1,
    )
    status = rs["status"]
    assert (status["replicas"], status["readyReplicas"], status["fullyLabeledReplicas"]) == (1, 1, 1)


@pytest.mark.nodes
def test_a_job_completes(dynamic, namespace):
    jobs = resource(dynamic, "batch/v1", "Job")
    template = pod_template("once", args=["-v"])
    template["spec"]["restartPolicy"] = "Never"
    jobs.create(
        body={
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "once", "namespace": namespace},
            "spec": {"backoffLimit": 0, "template": template},
        },
        namespace=namespace,
    )
    job = wait_for(
        lambda: jobs.get(name="once", namespace=namespace).to_dict(),
        lambda j: (
            condition(j, "Complete").get("status") == "True" or condition(j, "Failed").get("status") == "True"
        ),
    )
    assert condition(job, "Complete")["status"] == "True"
    assert job["status"]["succeeded"] == 1
    assert job["status"]["startTime"] <= job["status"]["completionTime"]


def test_serve_no_simulate_workloads_leaves_status_alone(tmp_path):
    """A bare API server again: nothing writes the Deployment's status."""
    from kubernetes import config
    from kubernetes import dynamic as kube_dynamic

    kubeconfig = tmp_path / "kubeconfig"
    command = [
        sys.executable,
        "-m",
        "gitops",
        "sandbox",
        "serve",
        "--no-simulate-workloads",
        "--state-dir",
        str(tmp_path / "state"),
        "--kubeconfig-out",
        str(kubeconfig),
    ]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: kubeconfig.exists() or process.poll() is not None, bool)
        assert kubeconfig.exists(), "serve never wrote its kubeconfig"
        api_client = config.new_client_from_config(config_file=str(kubeconfig))
        client = kube_dynamic.DynamicClient(api_client, cache_file=str(tmp_path / "discovery.json"))
        resource(client, "apps/v1", "Deployment").create(
            body=workload("Deployment", "web", "default", replicas=1), namespace="default"
        )
        # The controllers handle changes in order, workloads first: once the later namespace is
        # populated, they have seen the Deployment too.
        resource(client, "v1", "Namespace").create(body={"metadata": {"name": "later"}})
        accounts = resource(client, "v1", "ServiceAccount")
        listed = wait_for(lambda: accounts.get(namespace="later").to_dict()["items"], bool)
        assert [a["metadata"]["name"] for a in listed] == ["default"]
        deployment = resource(client, "apps/v1", "Deployment").get(name="web", namespace="default").to_dict()
        assert deployment["status"] == {}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


# --- gitops sync --wait end to end -------------------------------------------------------------------


def sync(cluster: Any, namespace: str, source: Path, *flags: str) -> tuple[int, dict[str, Any]]:
    args = [
        "sync",
        str(source),
        "--wait",
        *flags,
        "-o",
        "json",
        "--kubeconfig",
        str(cluster.kubeconfig),
        "--namespace",
        namespace,
        "--applyset",
        "workloads",
    ]
    result = CliRunner().invoke(gitops_cli, args)
    code = result.exit_code
    if isinstance(result.exception, GitopsError):
        code = result.exception.exit_code
    elif result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return code, json.loads(result.stdout)


def write(directory: Path, name: str, obj: dict[str, Any]) -> Path:
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(json.dumps(obj))
    return directory


@pytest.mark.nodes
def test_sync_wait_reports_a_deployment_healthy(cluster, namespace, tmp_path):
    deployment = workload("Deployment", "web", namespace, replicas=1)
    del deployment["metadata"]["namespace"]
    source = write(tmp_path / "repo", "web.yaml", deployment)
    code, report = sync(cluster, namespace, source, "--timeout", str(int(WAIT_SECONDS)))
    assert code == 0, report
    (entry,) = [e for e in report["entries"] if e["ref"]["kind"] == "Deployment"]
    assert entry["health"]["status"] == "Healthy"


def test_sync_wait_times_out_on_a_claim_nothing_binds(cluster, namespace, tmp_path):
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {
            "storageClassName": "gitops-test-no-such-class",
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Mi"}},
        },
    }
    source = write(tmp_path / "repo", "data.yaml", claim)
    code, report = sync(cluster, namespace, source, "--timeout", "3")
    assert code == 8, report
    assert any(f"PersistentVolumeClaim {namespace}/data" in error for error in report["errors"]), report
