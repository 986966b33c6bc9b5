"""Server-side apply, patches, defaults and validation end to end through the official dynamic client.

Everything asserted here is what a real API server answers; these tests run unchanged against one.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.dynamic.exceptions import ConflictError, DynamicApiError


def deployment(name: str = "web", *, replicas: int | None = 2, env: bool = True) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}
    if env:
        container["env"] = [{"name": "MODE", "value": "fast"}]
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [container]},
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": spec}


def managed(obj: Any) -> dict[str, dict[str, Any]]:
    return {entry["manager"]: entry for entry in obj.to_dict()["metadata"]["managedFields"]}


def status_body(err: DynamicApiError) -> dict[str, Any]:
    return json.loads(err.body)


def test_apply_records_apply_manager_and_server_defaults(deployments, namespace):
    applied = deployments.server_side_apply(
        body=deployment(), name="web", namespace=namespace, field_manager="gitops"
    )

    entry = managed(applied)["gitops"]
    assert (entry["operation"], entry["apiVersion"], entry["fieldsType"]) == ("Apply", "apps/v1", "FieldsV1")
    fields = entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']
    assert 'k:{"containerPort":80,"protocol":"TCP"}' in fields["f:ports"]
    assert fields["."] == {}
    spec = applied.to_dict()["spec"]
    assert spec["strategy"]["type"] == "RollingUpdate"
    assert spec["revisionHistoryLimit"] == 10
    container = spec["template"]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]


def test_conflict_then_force(deployments, namespace):
    deployments.server_side_apply(body=deployment(), name="web", namespace=namespace, field_manager="gitops")
    deployments.patch(
        body={"spec": {"replicas": 5}},
        name="web",
        namespace=namespace,
        content_type="application/merge-patch+json",
        field_manager="kubectl-edit",
    )

    with pytest.raises(ConflictError) as raised:
        deployments.server_side_apply(
            body=deployment(), name="web", namespace=namespace, field_manager="gitops"
        )

    body = status_body(raised.value)
    assert body["reason"] == "Conflict"
    assert (
        body["message"]
        == 'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas'
    )
    assert body["details"]["causes"] == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "kubectl-edit" using apps/v1',
            "field": ".spec.replicas",
        }
    ]

    forced = deployments.server_side_apply(
        body=deployment(), name="web", namespace=namespace, field_manager="gitops", force_conflicts=True
    )
    assert forced.spec.replicas == 2
    assert "kubectl-edit" not in managed(forced)


def test_fields_dropped_from_the_config_are_removed(deployments, namespace):
    deployments.server_side_apply(body=deployment(), name="web", namespace=namespace, field_manager="gitops")

    again = deployments.server_side_apply(
        body=deployment(env=False), name="web", namespace=namespace, field_manager="gitops"
    )

    assert "env" not in again.to_dict()["spec"]["template"]["spec"]["containers"][0]


def test_dry_run_apply_changes_nothing(deployments, namespace):
    deployments.server_side_apply(body=deployment(), name="web", namespace=namespace, field_manager="gitops")

    dry = deployments.server_side_apply(
        body=deployment(replicas=4), name="web", namespace=namespace, field_manager="gitops", dry_run="All"
    )

    assert dry.spec.replicas == 4
    assert deployments.get(name="web", namespace=namespace).spec.replicas == 2


def test_json_patch_and_strategic_merge_patch(deployments, namespace):
    deployments.server_side_apply(body=deployment(), name="web", namespace=namespace, field_manager="gitops")

    patched = deployments.patch(
        body=[
            {"op": "test", "path": "/spec/replicas", "value": 2},
            {"op": "replace", "path": "/spec/replicas", "value": 3},
        ],
        name="web",
        namespace=namespace,
        content_type="application/json-patch+json",
    )
    assert patched.spec.replicas == 3

    patched = deployments.patch(
        body={"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "busybox:1.36"}]}}}},
        name="web",
        namespace=namespace,
        content_type="application/strategic-merge-patch+json",
    )
    # A real v1.28 server puts the new container first.
    assert [c.name for c in patched.spec.template.spec.containers] == ["sidecar", "web"]

    with pytest.raises(DynamicApiError) as raised:
        deployments.patch(
            body=[{"op": "test", "path": "/spec/replicas", "value": 99}],
            name="web",
            namespace=namespace,
            content_type="application/json-patch+json",
        )
    assert raised.value.status == 422


def test_invalid_deployment_is_422_with_causes(deployments, namespace):
    body = deployment()
    body["spec"]["selector"] = {"matchLabels": {"app": "other"}}

    with pytest.raises(DynamicApiError) as raised:
        deployments.create(body=body, namespace=namespace)

    status = status_body(raised.value)
    assert raised.value.status == 422
    assert status["reason"] == "Invalid"
    assert status["message"] == (
        'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"web"}: `selector` does not match template `labels`'
    )
    assert status["details"]["causes"][0]["field"] == "spec.template.metadata.labels"


def test_selector_is_immutable(deployments, namespace):
    deployments.server_side_apply(body=deployment(), name="web", namespace=namespace, field_manager="gitops")
    changed = deployment()
    changed["spec"]["selector"]["matchLabels"]["tier"] = "front"
    changed["spec"]["template"]["metadata"]["labels"]["tier"] = "front"

    with pytest.raises(DynamicApiError) as raised:
        deployments.server_side_apply(body=changed, name="web", namespace=namespace, field_manager="gitops")

    status = status_body(raised.value)
    assert raised.value.status == 422
    assert [c["field"] for c in status["details"]["causes"]] == ["spec.selector"]
    assert status["details"]["causes"][0]["message"].endswith("field is immutable")


def test_configmap_update_manager_and_quantity_free_data(configmaps, namespace):
    created = configmaps.create(
        body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}},
        namespace=namespace,
        field_manager="creator",
    )

    entry = managed(created)["creator"]
    assert entry["operation"] == "Update"
    assert entry["fieldsV1"] == {"f:data": {".": {}, "f:a": {}}}


def test_resource_quantities_are_stored_canonically(deployments, namespace):
    body = deployment()
    body["spec"]["template"]["spec"]["containers"][0]["resources"] = {
        "requests": {"cpu": 0.5, "memory": "1024Mi"},
        "limits": {"cpu": "1000m"},
    }

    applied = deployments.server_side_apply(
        body=body, name="web", namespace=namespace, field_manager="gitops"
    )

    assert applied.to_dict()["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "1"},
    }
