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
