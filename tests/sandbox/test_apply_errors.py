"""Server-side apply, patch content types and error Status bodies as a real API server answers them."""

from __future__ import annotations

import pytest
from rawhttp import call

APPLY = "application/apply-patch+yaml"


def _deployment(name: str, replicas: int = 1) -> dict:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "main", "image": "nginx"}]},
            },
        },
    }


@pytest.fixture(scope="module")
def api_client(cluster):
    return cluster.api_client()


def _apply(api_client, namespace: str, obj: dict, manager: str, **query: str):
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/{obj['metadata']['name']}"
    params = [("fieldManager", manager), *query.items()]
    return call(api_client, "PATCH", path, obj, content_type=APPLY, query=params)


def test_apply_creates_with_201_then_updates_with_200(api_client, namespace):
    created = _apply(api_client, namespace, _deployment("ssa"), "gitops")
    assert created.status == 201
    entries = created.body["metadata"]["managedFields"]
    assert [(e["manager"], e["operation"]) for e in entries] == [("gitops", "Apply")]
    assert created.body["spec"]["strategy"]["type"] == "RollingUpdate"

    updated = _apply(api_client, namespace, _deployment("ssa", replicas=2), "gitops")
    assert updated.status == 200
    assert updated.body["spec"]["replicas"] == 2
    assert updated.body["metadata"]["generation"] == 2


def test_apply_conflict_names_the_other_manager_unless_forced(api_client, namespace):
    assert _apply(api_client, namespace, _deployment("contested", replicas=1), "first").status == 201

    refused = _apply(api_client, namespace, _deployment("contested", replicas=3), "second")

    assert refused.status == 409
    assert refused.body["reason"] == "Conflict"
    assert '"first"' in refused.body["message"] and ".spec.replicas" in refused.body["message"]
    forced = _apply(api_client, namespace, _deployment("contested", replicas=3), "second", force="true")
    assert forced.status == 200 and forced.body["spec"]["replicas"] == 3


def test_apply_without_field_manager_is_invalid(api_client, namespace):
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/x"
    answer = call(api_client, "PATCH", path, _deployment("x"), content_type=APPLY)
    assert answer.status == 422
    assert answer.body["reason"] == "Invalid"
    assert "fieldManager: Required value: is required for apply patch" in answer.body["message"]


def test_dry_run_apply_is_fully_processed_but_not_stored(api_client, namespace):
    answer = _apply(api_client, namespace, _deployment("dry"), "gitops", dryRun="All")
    assert answer.status == 201
    assert answer.body["spec"]["revisionHistoryLimit"] == 10
    assert call(api_client, "GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/dry").status == 404


def test_unknown_patch_type_is_unsupported_media_type(api_client, namespace):
    call(api_client, "POST", f"/api/v1/namespaces/{namespace}/configmaps", {"metadata": {"name": "p"}})
    answer = call(
        api_client,
        "PATCH",
        f"/api/v1/namespaces/{namespace}/configmaps/p",
        {"data": {}},
        content_type="text/plain",
    )
    assert answer.status == 415
    assert answer.body["reason"] == "UnsupportedMediaType"


def test_merge_json_and_strategic_patches(api_client, namespace):
    base = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    assert call(api_client, "POST", base, _deployment("patched")).status == 201
    merged = call(
        api_client,
        "PATCH",
        f"{base}/patched",
        {"metadata": {"labels": {"a": "b"}}},
        content_type="application/merge-patch+json",
    )
    assert merged.status == 200 and merged.body["metadata"]["labels"] == {"a": "b"}
    ops = [{"op": "replace", "path": "/spec/replicas", "value": 4}]
    jsoned = call(api_client, "PATCH", f"{base}/patched", ops, content_type="application/json-patch+json")
    assert jsoned.body["spec"]["replicas"] == 4
    sidecar = {"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox"}]}}}}
    strategic = call(
        api_client, "PATCH", f"{base}/patched", sidecar, content_type="application/strategic-merge-patch+json"
    )
    names = [c["name"] for c in strategic.body["spec"]["template"]["spec"]["containers"]]
    assert sorted(names) == ["main", "side"]


def test_invalid_name_is_422_with_causes(api_client, namespace):
    answer = call(
        api_client, "POST", f"/api/v1/namespaces/{namespace}/configmaps", {"metadata": {"name": "Bad_Name"}}
    )
    assert answer.status == 422
    assert answer.body["kind"] == "Status" and answer.body["reason"] == "Invalid"
    assert answer.body["details"]["name"] == "Bad_Name" and answer.body["details"]["kind"] == "ConfigMap"
    assert answer.body["details"]["causes"][0]["field"] == "metadata.name"
    assert answer.body["message"].startswith(
        'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"'
    )


def test_deployment_selector_is_immutable(api_client, namespace):
    base = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    call(api_client, "POST", base, _deployment("fixed"))
    changed = _deployment("fixed")
    changed["spec"]["selector"]["matchLabels"] = {"app": "other"}
    changed["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    answer = call(api_client, "PUT", f"{base}/fixed", changed)
    assert answer.status == 422
    assert any(c["field"] == "spec.selector" for c in answer.body["details"]["causes"])


def test_namespaced_kind_posted_to_cluster_path_is_not_allowed(api_client):
    answer = call(api_client, "POST", "/apis/apps/v1/deployments", _deployment("nowhere"))
    assert answer.status in (404, 405)
    assert answer.body["kind"] == "Status"


def test_unknown_resource_is_not_found(api_client):
    answer = call(api_client, "GET", "/apis/apps/v1/namespaces/default/gizmos")
    assert answer.status == 404 and answer.body["reason"] == "NotFound"
