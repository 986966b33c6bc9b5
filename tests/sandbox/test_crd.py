"""CustomResourceDefinitions: established, served, validated, pruned, removed with their objects."""

from __future__ import annotations

import contextlib
import json
import secrets
import time

import pytest
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError, UnprocessibleEntityError

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {"size": {"type": "integer"}, "color": {"type": "string"}},
        },
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
    },
}


def _crd(group: str, scope: str = "Namespaced") -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wdg"]},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": SCHEMA},
                    "subresources": {"status": {}},
                }
            ],
        },
    }


def _wait_established(crds, name: str) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        live = crds.get(name=name).to_dict()
        conditions = {c["type"]: c["status"] for c in (live.get("status") or {}).get("conditions") or []}
        if conditions.get("Established") == "True":
            return live
        time.sleep(0.05)
    raise AssertionError(f"CRD {name} never became Established")


def _widgets(cluster, group: str):
    deadline = time.monotonic() + 30
    while True:
        try:
            return cluster.dynamic().resources.get(api_version=f"{group}/v1", kind="Widget")
        except ResourceNotFoundError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def crd_group(cluster):
    """A CRD in a unique group, deleted after the test."""
    client = cluster.dynamic()
    crds = client.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    group = f"gt{secrets.token_hex(3)}.example.com"
    crds.create(body=_crd(group))
    live = _wait_established(crds, f"widgets.{group}")
    yield group, live
    with contextlib.suppress(NotFoundError):
        crds.delete(name=f"widgets.{group}")


def test_crd_becomes_established_and_discoverable(cluster, crd_group):
    group, live = crd_group
    conditions = {c["type"]: (c["status"], c["reason"]) for c in live["status"]["conditions"]}
    assert conditions["NamesAccepted"] == ("True", "NoConflicts")
    assert conditions["Established"] == ("True", "InitialNamesAccepted")
    assert live["status"]["acceptedNames"]["kind"] == "Widget"
    assert live["status"]["storedVersions"] == ["v1"]

    _widgets(cluster, group)  # discovery catches up with the Established condition asynchronously
    resources = cluster.dynamic().request("GET", f"/apis/{group}/v1")
    entries = {r["name"]: r for r in json.loads(json.dumps(resources.to_dict()))["resources"]}
    assert entries["widgets"]["kind"] == "Widget"
    assert entries["widgets"]["namespaced"] is True
    assert entries["widgets"]["shortNames"] == ["wdg"]
    assert entries["widgets/status"]["verbs"] == ["get", "patch", "update"]


def test_custom_resources_are_served_and_listed_with_kind(cluster, crd_group, namespace):
    group, _ = crd_group
    widgets = _widgets(cluster, group)
    body = {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 3}}
    created = widgets.create(body=body, namespace=namespace).to_dict()
    assert created["metadata"]["generation"] == 1
    listed = widgets.get(namespace=namespace).to_dict()
    assert listed["kind"] == "WidgetList"
    assert listed["items"][0]["kind"] == "Widget"
    assert listed["items"][0]["apiVersion"] == f"{group}/v1"


def test_deleting_the_crd_removes_its_objects(cluster, crd_group, namespace):
    group, _ = crd_group
    widgets = _widgets(cluster, group)
    body = {
        "apiVersion": f"{group}/v1",
        "kind": "Widget",
        "metadata": {"name": "doomed"},
        "spec": {"size": 1},
    }
    widgets.create(body=body, namespace=namespace)
    crds = cluster.dynamic().resources.get(
        api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition"
    )

    crds.delete(name=f"widgets.{group}")

    deadline = time.monotonic() + 60
    while True:
        try:
            crds.get(name=f"widgets.{group}")
        except NotFoundError:
            break
        assert time.monotonic() < deadline, "the CRD was never removed"
        time.sleep(0.05)
    client = cluster.dynamic()
    with pytest.raises(ResourceNotFoundError):
        client.resources.get(api_version=f"{group}/v1", kind="Widget")


def test_custom_resources_are_validated_against_the_schema(cluster, crd_group, namespace):
    group, _ = crd_group
    widgets = _widgets(cluster, group)
    body = {
        "apiVersion": f"{group}/v1",
        "kind": "Widget",
        "metadata": {"name": "bad"},
        "spec": {"size": "big"},
    }
    with pytest.raises(UnprocessibleEntityError) as raised:
        widgets.create(body=body, namespace=namespace)
    status = json.loads(raised.value.body)
    assert status["reason"] == "Invalid"
    assert status["details"]["kind"] == "Widget" and status["details"]["group"] == group
    assert any(c["field"] == "spec.size" for c in status["details"]["causes"])

    body["spec"] = {"color": "red"}
    with pytest.raises(UnprocessibleEntityError) as raised:
        widgets.create(body=body, namespace=namespace)
    assert any(
        c["reason"] == "FieldValueRequired" for c in json.loads(raised.value.body)["details"]["causes"]
    )


def test_unknown_fields_are_pruned(cluster, crd_group, namespace):
    group, _ = crd_group
    widgets = _widgets(cluster, group)
    body = {
        "apiVersion": f"{group}/v1",
        "kind": "Widget",
        "metadata": {"name": "pruned"},
        "spec": {"size": 2, "extra": "dropped"},
        "unknown": True,
    }
    created = widgets.create(body=body, namespace=namespace).to_dict()
    assert created["spec"] == {"size": 2}
    assert "unknown" not in created


def test_status_subresource_of_custom_resources(cluster, crd_group, namespace):
    group, _ = crd_group
    widgets = _widgets(cluster, group)
    body = {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "st"}, "spec": {"size": 1}}
    widgets.create(body={**body, "status": {"ready": True}}, namespace=namespace)
    assert "status" not in widgets.get(name="st", namespace=namespace).to_dict()
    widgets.status.patch(
        name="st",
        namespace=namespace,
        body={"status": {"ready": True}},
        content_type="application/merge-patch+json",
    )
    live = widgets.get(name="st", namespace=namespace).to_dict()
    assert live["status"] == {"ready": True}
    assert live["metadata"]["generation"] == 1


def test_cluster_scoped_crd(cluster):
    client = cluster.dynamic()
    crds = client.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    group = f"gt{secrets.token_hex(3)}.example.com"
    crds.create(body=_crd(group, scope="Cluster"))
    try:
        _wait_established(crds, f"widgets.{group}")
        widgets = _widgets(cluster, group)
        assert widgets.namespaced is False
        body = {
            "apiVersion": f"{group}/v1",
            "kind": "Widget",
            "metadata": {"name": "global"},
            "spec": {"size": 1},
        }
        created = widgets.create(body=body).to_dict()
        assert "namespace" not in created["metadata"]
        assert [i["metadata"]["name"] for i in widgets.get().to_dict()["items"]] == ["global"]
    finally:
        crds.delete(name=f"widgets.{group}")


def test_invalid_crd_is_rejected(cluster):
    crds = cluster.dynamic().resources.get(
        api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition"
    )
    group = f"gt{secrets.token_hex(3)}.example.com"
    body = _crd(group)
    body["metadata"]["name"] = f"wrong.{group}"
    try:
        with pytest.raises(UnprocessibleEntityError) as raised:
            crds.create(body=body)
    finally:
        with contextlib.suppress(NotFoundError):
            crds.delete(name=f"wrong.{group}")
    status = json.loads(raised.value.body)
    assert status["details"]["kind"] == "CustomResourceDefinition"
    assert any(c["field"] == "metadata.name" for c in status["details"]["causes"])


def test_strict_field_validation_refuses_unknown_fields(cluster, crd_group, namespace):
    from rawhttp import call

    group, _ = crd_group
    _widgets(cluster, group)
    body = {
        "apiVersion": f"{group}/v1",
        "kind": "Widget",
        "metadata": {"name": "strict"},
        "spec": {"size": 1, "x": 1},
    }
    path = f"/apis/{group}/v1/namespaces/{namespace}/widgets"
    refused = call(cluster.api_client(), "POST", path, body, query=[("fieldValidation", "Strict")])
    assert refused.status == 400
    assert refused.body["message"].endswith('strict decoding error: unknown field "spec.x"')
    warned = call(cluster.api_client(), "POST", path, body, query=[("fieldValidation", "Warn")])
    assert warned.status == 201
    assert warned.headers["Warning"] == '299 - "unknown field \\"spec.x\\""'
