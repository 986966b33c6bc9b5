"""Create, read, update, delete through the official dynamic client, as a real API server answers."""

from __future__ import annotations

import json

import pytest
from kubernetes.dynamic.exceptions import ConflictError, DynamicApiError, NotFoundError


def _configmap(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def test_create_sets_server_metadata(configmaps, namespace):
    created = configmaps.create(body=_configmap("one", a="1"), namespace=namespace)

    metadata = created.to_dict()["metadata"]
    assert metadata["namespace"] == namespace
    assert metadata["uid"] and metadata["creationTimestamp"] and metadata["resourceVersion"]
    assert "generation" not in metadata
    assert created.data.a == "1"


def test_create_twice_is_already_exists(configmaps, namespace):
    configmaps.create(body=_configmap("twice"), namespace=namespace)

    with pytest.raises(ConflictError) as raised:
        configmaps.create(body=_configmap("twice"), namespace=namespace)

    status = json.loads(raised.value.body)
    assert status["reason"] == "AlreadyExists"
    assert status["message"] == 'configmaps "twice" already exists'
    assert status["details"] == {"name": "twice", "kind": "configmaps"}


def test_get_missing_is_not_found_status(configmaps, namespace):
    with pytest.raises(NotFoundError) as raised:
        configmaps.get(name="missing", namespace=namespace)

    status = json.loads(raised.value.body)
    assert status == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'configmaps "missing" not found',
        "reason": "NotFound",
        "details": {"name": "missing", "kind": "configmaps"},
        "code": 404,
    }


def test_update_with_stale_resource_version_conflicts(configmaps, namespace):
    first = configmaps.create(body=_configmap("stale", a="1"), namespace=namespace).to_dict()
    changed = dict(first, data={"a": "2"})
    second = configmaps.replace(body=changed, namespace=namespace).to_dict()
    assert second["metadata"]["resourceVersion"] != first["metadata"]["resourceVersion"]

    with pytest.raises(ConflictError) as raised:
        configmaps.replace(body=dict(first, data={"a": "3"}), namespace=namespace)

    status = json.loads(raised.value.body)
    assert status["reason"] == "Conflict"
    assert status["message"] == (
        'Operation cannot be fulfilled on configmaps "stale": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    assert configmaps.get(name="stale", namespace=namespace).data.a == "2"


def test_delete_answers_success_status_then_object_is_gone(configmaps, namespace):
    created = configmaps.create(body=_configmap("gone"), namespace=namespace)

    answer = configmaps.delete(name="gone", namespace=namespace).to_dict()

    assert answer["kind"] == "Status" and answer["status"] == "Success"
    assert answer["details"] == {"name": "gone", "kind": "configmaps", "uid": created.metadata.uid}
    with pytest.raises(NotFoundError):
        configmaps.get(name="gone", namespace=namespace)


def test_group_resources_name_their_group(client, namespace):
    deployments = client.resources.get(api_version="apps/v1", kind="Deployment")
    with pytest.raises(NotFoundError) as raised:
        deployments.get(name="nothing", namespace=namespace)
    status = json.loads(raised.value.body)
    assert status["message"] == 'deployments.apps "nothing" not found'
    assert status["details"] == {"name": "nothing", "group": "apps", "kind": "deployments"}


def test_create_in_missing_namespace_is_not_found(configmaps):
    with pytest.raises(NotFoundError) as raised:
        configmaps.create(body=_configmap("x"), namespace="gt-does-not-exist")
    assert json.loads(raised.value.body)["message"] == 'namespaces "gt-does-not-exist" not found'


def test_list_across_namespaces(configmaps, namespace):
    configmaps.create(body=_configmap("everywhere"), namespace=namespace)
    listed = configmaps.get().to_dict()
    assert listed["kind"] == "ConfigMapList"
    names = {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in listed["items"]}
    assert (namespace, "everywhere") in names


def test_cluster_scoped_namespace_gets_name_label(client, namespace):
    namespaces = client.resources.get(api_version="v1", kind="Namespace")
    live = namespaces.get(name=namespace).to_dict()
    assert live["metadata"]["labels"]["kubernetes.io/metadata.name"] == namespace
    assert live["status"]["phase"] == "Active"
    assert live["spec"]["finalizers"] == ["kubernetes"]


def test_post_to_a_named_path_is_method_not_allowed(client, namespace):
    with pytest.raises(DynamicApiError) as raised:
        client.request("POST", f"/api/v1/namespaces/{namespace}/configmaps/x", body={})
    assert raised.value.status == 405
    assert json.loads(raised.value.body)["reason"] == "MethodNotAllowed"


def test_delete_collection_by_label(configmaps, namespace):
    for name, tier in (("c1", "a"), ("c2", "a"), ("c3", "b")):
        configmaps.create(body={"metadata": {"name": name, "labels": {"tier": tier}}}, namespace=namespace)

    configmaps.delete(namespace=namespace, label_selector="tier=a")

    left = sorted(
        i["metadata"]["name"]
        for i in configmaps.get(namespace=namespace, label_selector="tier").to_dict()["items"]
    )
    assert left == ["c3"]


def test_generate_name(configmaps, namespace):
    created = configmaps.create(body={"metadata": {"generateName": "gen-"}}, namespace=namespace).to_dict()
    assert created["metadata"]["name"].startswith("gen-") and len(created["metadata"]["name"]) == 9


def test_an_update_that_changes_nothing_keeps_the_resource_version(configmaps, namespace):
    created = configmaps.create(body=_configmap("steady", a="1"), namespace=namespace).to_dict()
    again = configmaps.replace(body=created, namespace=namespace).to_dict()
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
