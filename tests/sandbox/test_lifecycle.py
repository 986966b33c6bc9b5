"""Finalizers, namespace deletion, status and scale subresources, generation, dry run."""

from __future__ import annotations

import contextlib
import json
import time

import pytest
from kubernetes.dynamic.exceptions import ForbiddenError, NotFoundError

MERGE = "application/merge-patch+json"


def _deployment(name: str, replicas: int = 1, image: str = "nginx:1.27") -> dict:
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
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
        },
    }


def _eventually(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        else:
            if result is not False:
                return result
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached")
        time.sleep(0.05)


def test_finalizer_holds_object_until_removed(configmaps, namespace):
    body = {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}, "data": {}}
    configmaps.create(body=body, namespace=namespace)

    answer = configmaps.delete(name="held", namespace=namespace).to_dict()

    assert answer["metadata"]["deletionTimestamp"]
    live = configmaps.get(name="held", namespace=namespace).to_dict()
    assert live["metadata"]["deletionTimestamp"] == answer["metadata"]["deletionTimestamp"]
    assert live["metadata"]["finalizers"] == ["example.com/hold"]
    configmaps.patch(
        name="held", namespace=namespace, body={"metadata": {"finalizers": None}}, content_type=MERGE
    )
    with pytest.raises(NotFoundError):
        configmaps.get(name="held", namespace=namespace)


def test_deleting_a_namespace_removes_its_objects(client, configmaps, cluster):
    import secrets

    namespaces = client.resources.get(api_version="v1", kind="Namespace")
    name = f"gt-{secrets.token_hex(4)}"
    namespaces.create(body={"metadata": {"name": name}})
    configmaps.create(body={"metadata": {"name": "inside"}, "data": {}}, namespace=name)

    answer = namespaces.delete(name=name).to_dict()

    assert answer["status"]["phase"] == "Terminating"
    assert answer["metadata"]["deletionTimestamp"]

    def gone() -> bool:
        try:
            namespaces.get(name=name)
        except NotFoundError:
            return True
        return False

    _eventually(gone, timeout=60)
    assert _eventually(lambda: configmaps.get(namespace=name).to_dict()["items"] == [])


def test_creating_in_a_terminating_namespace_is_forbidden(client, configmaps):
    import secrets

    namespaces = client.resources.get(api_version="v1", kind="Namespace")
    name = f"gt-{secrets.token_hex(4)}"
    namespaces.create(body={"metadata": {"name": name}})
    configmaps.create(body={"metadata": {"name": "hold", "finalizers": ["example.com/hold"]}}, namespace=name)
    namespaces.delete(name=name)
    try:
        # The finalizer holds the namespace in Terminating, which is what admission refuses writes for.
        _eventually(lambda: namespaces.get(name=name).status.phase == "Terminating")
        with pytest.raises(ForbiddenError) as raised:
            configmaps.create(body={"metadata": {"name": "late"}}, namespace=name)
        status = json.loads(raised.value.body)
        assert status["message"] == (
            f'configmaps "late" is forbidden: unable to create new content in namespace {name} '
            "because it is being terminated"
        )
        assert status["details"]["causes"][0]["reason"] == "NamespaceTerminating"
    finally:
        configmaps.patch(
            name="hold", namespace=name, body={"metadata": {"finalizers": None}}, content_type=MERGE
        )


def test_main_resource_writes_do_not_change_status(deployments, namespace):
    created = deployments.create(body=_deployment("web"), namespace=namespace).to_dict()
    assert created["metadata"]["generation"] == 1
    assert created["status"] == {}

    # Values no controller writes for a one-replica Deployment at generation 1 (a real cluster's
    # deployment controller writes this status concurrently).
    status_patch = {"status": {"unavailableReplicas": 7, "observedGeneration": 1}}
    via_status = deployments.status.patch(
        name="web", namespace=namespace, body=status_patch, content_type=MERGE
    ).to_dict()
    assert via_status["status"]["unavailableReplicas"] == 7
    via_main = deployments.patch(
        name="web",
        namespace=namespace,
        body={"status": {"replicas": 5, "observedGeneration": 9}},
        content_type=MERGE,
    ).to_dict()
    assert via_main["status"].get("replicas") != 5
    assert via_main["status"].get("observedGeneration") != 9
    assert via_main["metadata"]["generation"] == 1


def test_generation_moves_only_on_spec_changes(deployments, namespace):
    deployments.create(body=_deployment("gen"), namespace=namespace)
    labelled = deployments.patch(
        name="gen", namespace=namespace, body={"metadata": {"labels": {"a": "b"}}}, content_type=MERGE
    )
    assert labelled.metadata.generation == 1
    scaled = deployments.patch(
        name="gen", namespace=namespace, body={"spec": {"replicas": 3}}, content_type=MERGE
    )
    assert scaled.metadata.generation == 2


def test_scale_subresource(deployments, namespace):
    deployments.create(body=_deployment("scaled", replicas=2), namespace=namespace)
    scale = deployments.scale.get(name="scaled", namespace=namespace).to_dict()
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 2}
    assert scale["status"]["selector"] == "app=scaled"

    answer = deployments.scale.patch(
        name="scaled", namespace=namespace, body={"spec": {"replicas": 4}}, content_type=MERGE
    ).to_dict()
    assert answer["spec"] == {"replicas": 4}
    assert deployments.get(name="scaled", namespace=namespace).spec.replicas == 4


def test_dry_run_create_stores_nothing(configmaps, namespace):
    answer = configmaps.create(
        body={"metadata": {"name": "dry"}, "data": {"a": "1"}}, namespace=namespace, dry_run="All"
    )
    assert answer.metadata.name == "dry" and answer.data.a == "1"
    with pytest.raises(NotFoundError):
        configmaps.get(name="dry", namespace=namespace)


def test_dry_run_patch_and_delete_change_nothing(configmaps, namespace):
    created = configmaps.create(body={"metadata": {"name": "wet"}, "data": {"a": "1"}}, namespace=namespace)
    patched = configmaps.patch(
        name="wet", namespace=namespace, body={"data": {"a": "2"}}, content_type=MERGE, dry_run="All"
    )
    assert patched.data.a == "2"
    configmaps.delete(name="wet", namespace=namespace, dry_run="All")
    live = configmaps.get(name="wet", namespace=namespace)
    assert live.data.a == "1"
    assert live.metadata.resourceVersion == created.metadata.resourceVersion


def test_services_get_a_cluster_ip_that_sticks(client, namespace):
    services = client.resources.get(api_version="v1", kind="Service")
    body = {"metadata": {"name": "svc"}, "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}}
    created = services.create(body=body, namespace=namespace).to_dict()
    ip = created["spec"]["clusterIP"]
    assert ip and ip != "None"
    assert created["spec"]["clusterIPs"] == [ip]
    replaced = services.replace(
        body={**body, "metadata": {**created["metadata"]}}, namespace=namespace
    ).to_dict()
    assert replaced["spec"]["clusterIP"] == ip


def test_foreground_deletion_removes_dependents_first(configmaps, namespace):
    owner = configmaps.create(body={"metadata": {"name": "owner"}}, namespace=namespace)
    reference = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    configmaps.create(
        body={"metadata": {"name": "dependent", "ownerReferences": [reference]}}, namespace=namespace
    )

    configmaps.delete(name="owner", namespace=namespace, propagation_policy="Foreground")

    def both_gone() -> bool:
        names = {i["metadata"]["name"] for i in configmaps.get(namespace=namespace).to_dict()["items"]}
        return not names & {"owner", "dependent"}

    _eventually(both_gone, timeout=60)


def test_background_deletion_collects_dependents(configmaps, namespace):
    owner = configmaps.create(body={"metadata": {"name": "parent"}}, namespace=namespace)
    reference = {"apiVersion": "v1", "kind": "ConfigMap", "name": "parent", "uid": owner.metadata.uid}
    configmaps.create(
        body={"metadata": {"name": "child", "ownerReferences": [reference]}}, namespace=namespace
    )

    configmaps.delete(name="parent", namespace=namespace)

    def child_gone() -> bool:
        try:
            configmaps.get(name="child", namespace=namespace)
        except NotFoundError:
            return True
        return False

    _eventually(child_gone, timeout=60)


def _conflict_of(call) -> dict:
    from kubernetes.dynamic.exceptions import ConflictError

    with pytest.raises(ConflictError) as raised:
        call()
    status = json.loads(raised.value.body)
    assert (status["code"], status["reason"]) == (409, "Conflict")
    return status


def test_delete_preconditions_fail_as_the_generic_registry_words_it(configmaps, deployments, namespace):
    # rest.BeforeDelete checks preconditions first and names the kind, not the resource.
    made = configmaps.create(body={"metadata": {"name": "kept"}}, namespace=namespace).to_dict()["metadata"]

    def delete(precondition: dict) -> None:
        configmaps.delete(name="kept", namespace=namespace, body={"preconditions": precondition})

    status = _conflict_of(lambda: delete({"uid": "00000000-0000-0000-0000-000000000000"}))
    assert status["message"] == (
        'Operation cannot be fulfilled on ConfigMap "kept": the UID in the precondition '
        f"(00000000-0000-0000-0000-000000000000) does not match the UID in record ({made['uid']}). "
        "The object might have been deleted and then recreated"
    )
    assert status["details"] == {"name": "kept", "kind": "ConfigMap"}
    status = _conflict_of(lambda: delete({"uid": made["uid"], "resourceVersion": "1"}))
    assert status["message"] == (
        'Operation cannot be fulfilled on ConfigMap "kept": the ResourceVersion in the precondition (1) does not '
        f"match the ResourceVersion in record ({made['resourceVersion']}). The object might have been modified"
    )
    deployments.create(body=_deployment("web"), namespace=namespace)
    status = _conflict_of(lambda: deployments.delete(name="web", namespace=namespace,
                                                      body={"preconditions": {"resourceVersion": "1"}}))
    assert status["message"].startswith('Operation cannot be fulfilled on Deployment.apps "web": the ResourceVersion')
    assert status["details"] == {"name": "web", "group": "apps", "kind": "Deployment"}
    assert configmaps.get(name="kept", namespace=namespace).metadata.uid == made["uid"], "nothing deleted"
    configmaps.delete(name="kept", namespace=namespace,
                      body={"preconditions": {"uid": made["uid"], "resourceVersion": made["resourceVersion"]}})
    with pytest.raises(NotFoundError):
        configmaps.get(name="kept", namespace=namespace)


def test_namespace_delete_preconditions_and_a_second_delete_while_terminating(client, configmaps):
    import secrets

    namespaces = client.resources.get(api_version="v1", kind="Namespace")
    name = f"gt-{secrets.token_hex(4)}"
    made = namespaces.create(body={"metadata": {"name": name}}).to_dict()["metadata"]
    configmaps.create(body={"metadata": {"name": "hold", "finalizers": ["example.com/hold"]}}, namespace=name)
    try:
        status = _conflict_of(lambda: namespaces.delete(name=name, body={"preconditions": {"uid": "other"}}))
        assert status["message"] == (
            f'Operation cannot be fulfilled on namespaces "{name}": '
            f"Precondition failed: UID in precondition: other, UID in object meta: {made['uid']}"
        )
        assert status["details"] == {"name": name, "kind": "namespaces"}
        namespaces.delete(name=name, body={"preconditions": {"uid": made["uid"]}})
        # The finalizer holds the namespace in Terminating: deleting it again is refused.
        _eventually(lambda: namespaces.get(name=name).status.phase == "Terminating")
        status = _conflict_of(lambda: namespaces.delete(name=name))
        assert status["message"] == (
            f'Operation cannot be fulfilled on namespaces "{name}": The system is ensuring all content is removed '
            "from this namespace.  Upon completion, this namespace will automatically be purged by the system."
        )
    finally:
        configmaps.patch(name="hold", namespace=name, body={"metadata": {"finalizers": None}}, content_type=MERGE)
        with contextlib.suppress(Exception):
            namespaces.delete(name=name)
