"""deploy/: valid manifests that `gitops render` accepts, with the hardening the README promises,
and an example configuration that the agent accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops.agent.config import parse_config
from gitops.render import render

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture(scope="module")
def objects() -> dict[str, dict[str, Any]]:
    return {f"{m.ref.kind}/{m.ref.name}": m.obj for m in render(DEPLOY)}


def test_every_piece_is_there(objects: dict[str, dict[str, Any]]) -> None:
    assert {
        "Namespace/gitops-system", "ServiceAccount/gitops-agent", "ClusterRole/gitops-agent-read",
        "ClusterRole/gitops-agent-write", "ClusterRoleBinding/gitops-agent-read", "Role/gitops-agent-state",
        "Role/gitops-agent-tenant", "RoleBinding/gitops-agent-tenant", "Deployment/gitops-agent",
        "Service/gitops-agent", "ConfigMap/gitops-agent-config",
    } <= set(objects)


def test_the_agent_runs_hardened(objects: dict[str, dict[str, Any]]) -> None:
    pod = objects["Deployment/gitops-agent"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"]
    empty_dirs = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts["/var/cache/gitops"] in empty_dirs and mounts["/tmp"] in empty_dirs


def test_the_agent_may_keep_its_own_state(objects: dict[str, dict[str, Any]]) -> None:
    rules = objects["Role/gitops-agent-state"]["rules"]
    granted = {(g, r) for rule in rules for g in rule["apiGroups"] for r in rule["resources"]}
    assert {("coordination.k8s.io", "leases"), ("", "configmaps"), ("", "events")} <= granted


def test_the_service_exposes_the_container_port(objects: dict[str, dict[str, Any]]) -> None:
    service = objects["Service/gitops-agent"]["spec"]
    pod = objects["Deployment/gitops-agent"]["spec"]["template"]
    assert service["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["ports"][0]["targetPort"] == pod["spec"]["containers"][0]["ports"][0]["name"]


def test_the_example_configuration_is_valid(objects: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    text = objects["ConfigMap/gitops-agent-config"]["data"]["agent.yaml"]
    for name in ("github-secret", "reconcile-token"):
        (tmp_path / name).write_text("x")
    config = parse_config(text.replace("/etc/gitops/webhook/", f"{tmp_path}/"), file="agent.yaml", environ={})
    deployment = objects["Deployment/gitops-agent"]["spec"]["template"]["spec"]["containers"][0]
    assert str(config.cache_dir) in {m["mountPath"] for m in deployment["volumeMounts"]}
    assert [app.name for app in config.applications] == ["shop"]
    assert yaml.safe_load(text)["applications"][0]["destination"]["namespace"] == "shop"


def test_the_application_crd(objects: dict[str, dict[str, Any]]) -> None:
    crd = objects["CustomResourceDefinition/applications.gitops.io"]["spec"]
    assert crd["group"] == "gitops.io" and crd["scope"] == "Namespaced"
    assert crd["names"]["kind"] == "Application" and crd["names"]["plural"] == "applications"
    version = next(v for v in crd["versions"] if v["name"] == "v1alpha1")
    assert version["served"] and version["storage"] and "status" in version["subresources"]
    columns = [c["name"] for c in version["additionalPrinterColumns"] if not c.get("priority")]
    assert columns == ["Revision", "Sync", "Ready", "Age"]
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert spec["required"] == ["source"] and spec["properties"]["source"]["required"] == ["url"]
    assert set(spec["properties"]) == {
        "source", "destination", "interval", "jitter", "prune", "selfHeal", "ignore", "applySet", "sync", "retry",
    }
    credentials = spec["properties"]["source"]["properties"]["credentials"]["properties"]
    assert set(credentials) == {"secretRef"}, "credentials are referenced from a Secret, never inlined"


def test_the_agent_may_manage_applications(objects: dict[str, dict[str, Any]]) -> None:
    rules = objects["ClusterRole/gitops-agent-applications"]["rules"]
    granted = {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    assert {("gitops.io", "applications", "watch"), ("gitops.io", "applications/status", "patch"),
            ("gitops.io", "applications", "update")} <= granted
    state = objects["Role/gitops-agent-state"]["rules"]
    assert any("leases" in rule["resources"] and "list" in rule["verbs"] for rule in state)


def test_the_sharded_variant(objects: dict[str, dict[str, Any]]) -> None:
    workload = objects["StatefulSet/gitops-agent"]["spec"]
    container = workload["template"]["spec"]["containers"][0]
    assert "--shards=4" in container["args"] and "--replica-id=$(POD_NAME)" in container["args"]
    env = {e["name"]: e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") for e in container["env"]}
    assert env["POD_NAME"] == "metadata.name"
    assert objects[f"Service/{workload['serviceName']}"]["spec"]["clusterIP"] == "None"
