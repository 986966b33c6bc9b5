"""Server-side apply and managedFields, checked against what kube-apiserver writes for the same requests."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from gitops.sandbox import fieldmanager as fm

DEPLOYMENT = ("apps", "v1", "Deployment")
SERVICE = ("", "v1", "Service")
CONFIGMAP = ("", "v1", "ConfigMap")
T0, T1, T2, T3 = (f"2024-01-01T00:0{i}:00Z" for i in range(4))


def deployment(**spec_changes: Any) -> dict[str, Any]:
    obj = yaml.safe_load(
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: shop, labels: {app: web}}
        spec:
          replicas: 2
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
              - name: web
                image: nginx:1.25
                ports: [{containerPort: 80}]
                env: [{name: A, value: "1"}]
        """
    )
    obj["spec"].update(spec_changes)
    return obj


def entries(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["metadata"]["managedFields"]


def entry(obj: dict[str, Any], manager: str) -> dict[str, Any]:
    return next(e for e in entries(obj) if e["manager"] == manager)


def test_apply_on_create_records_fieldsv1_as_upstream() -> None:
    obj = fm.apply(None, deployment(), manager="gitops", force=False, now=T0, gvk=DEPLOYMENT)

    assert entries(obj) == [
        {
            "manager": "gitops",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:template": {
                        "f:metadata": {"f:labels": {"f:app": {}}},
                        "f:spec": {
                            "f:containers": {
                                'k:{"name":"web"}': {
                                    ".": {},
                                    "f:env": {'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}}},
                                    "f:image": {},
                                    "f:name": {},
                                    "f:ports": {
                                        'k:{"containerPort":80,"protocol":"TCP"}': {
                                            ".": {},
                                            "f:containerPort": {},
                                        }
                                    },
                                }
                            }
                        },
                    },
                },
            },
        }
    ]
    assert obj["spec"]["replicas"] == 2


def test_conflict_with_update_manager_is_a_409_naming_manager_and_field() -> None:
    live = fm.apply(None, deployment(), manager="gitops", force=False, now=T0, gvk=DEPLOYMENT)
    edited = copy.deepcopy(live)
    edited["spec"]["replicas"] = 5
    live = fm.update(live, edited, manager="kubectl-edit", now=T1, gvk=DEPLOYMENT)

    with pytest.raises(fm.ApplyConflict) as caught:
        fm.apply(live, deployment(), manager="gitops", force=False, now=T2, gvk=DEPLOYMENT)

    assert caught.value.conflicts == [('"kubectl-edit" using apps/v1', ".spec.replicas")]
    assert caught.value.body() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas',
        "reason": "Conflict",
        "details": {
            "causes": [
                {
                    "reason": "FieldManagerConflict",
                    "message": 'conflict with "kubectl-edit" using apps/v1',
                    "field": ".spec.replicas",
                }
            ]
        },
        "code": 409,
    }


def test_conflicts_with_several_managers_are_listed_per_manager() -> None:
    live = fm.apply(None, deployment(), manager="a", force=False, now=T0, gvk=DEPLOYMENT)
    changed = deployment(replicas=3)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"

    with pytest.raises(fm.ApplyConflict) as caught:
        fm.apply(live, changed, manager="b", force=False, now=T1, gvk=DEPLOYMENT)

    assert caught.value.message == (
        'Apply failed with 2 conflicts: conflicts with "a"\n'
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="web"].image'
    )


def test_force_moves_ownership() -> None:
    live = fm.apply(None, deployment(), manager="a", force=False, now=T0, gvk=DEPLOYMENT)

    obj = fm.apply(live, deployment(replicas=7), manager="b", force=True, now=T1, gvk=DEPLOYMENT)

    assert obj["spec"]["replicas"] == 7
    assert "f:replicas" not in entry(obj, "a")["fieldsV1"]["f:spec"]
    assert "f:replicas" in entry(obj, "b")["fieldsV1"]["f:spec"]


def test_same_value_is_shared_without_conflict() -> None:
    live = fm.apply(None, deployment(), manager="a", force=False, now=T0, gvk=DEPLOYMENT)

    obj = fm.apply(live, deployment(), manager="b", force=False, now=T1, gvk=DEPLOYMENT)

    assert entry(obj, "a")["fieldsV1"] == entry(obj, "b")["fieldsV1"]
    # Nothing changed, so the new applier's entry has no time (managedFieldsUpdater only stamps changes).
    assert "time" not in entry(obj, "b")


def test_fields_no_longer_applied_are_removed() -> None:
    live = fm.apply(None, deployment(), manager="gitops", force=False, now=T0, gvk=DEPLOYMENT)
    config = deployment()
    del config["spec"]["template"]["spec"]["containers"][0]["env"]
    del config["metadata"]["labels"]

    obj = fm.apply(live, config, manager="gitops", force=False, now=T1, gvk=DEPLOYMENT)

    assert "env" not in obj["spec"]["template"]["spec"]["containers"][0]
    assert "labels" not in obj["metadata"]
    assert "f:env" not in str(entries(obj))


def test_fields_another_manager_owns_survive_when_applier_drops_them() -> None:
    live = fm.apply(None, deployment(), manager="a", force=False, now=T0, gvk=DEPLOYMENT)
    live = fm.apply(live, deployment(), manager="b", force=False, now=T1, gvk=DEPLOYMENT)
    config = deployment()
    del config["spec"]["replicas"]

    obj = fm.apply(live, config, manager="a", force=False, now=T2, gvk=DEPLOYMENT)

    assert obj["spec"]["replicas"] == 2
    assert "f:replicas" not in entry(obj, "a")["fieldsV1"]["f:spec"]


def test_dropped_list_item_is_removed() -> None:
    config = deployment()
    config["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    live = fm.apply(None, config, manager="gitops", force=False, now=T0, gvk=DEPLOYMENT)

    obj = fm.apply(live, deployment(), manager="gitops", force=False, now=T1, gvk=DEPLOYMENT)

    assert [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["web"]


def test_fields_set_by_others_are_kept_when_merging() -> None:
    live = fm.apply(None, deployment(), manager="gitops", force=False, now=T0, gvk=DEPLOYMENT)
    edited = copy.deepcopy(live)
    edited["metadata"].setdefault("annotations", {})["note"] = "hand"
    live = fm.update(live, edited, manager="kubectl-annotate", now=T1, gvk=DEPLOYMENT)

    obj = fm.apply(live, deployment(), manager="gitops", force=False, now=T2, gvk=DEPLOYMENT)

    assert obj["metadata"]["annotations"] == {"note": "hand"}
    assert entry(obj, "kubectl-annotate")["fieldsV1"] == {
        "f:metadata": {"f:annotations": {".": {}, "f:note": {}}}
    }


def test_update_on_create_owns_every_field_with_map_nodes() -> None:
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "n", "labels": {"a": "b"}, "resourceVersion": "1", "uid": "u"},
        "data": {"k": "v"},
    }

    obj = fm.update(None, config_map, manager="kubectl-create", now=T0, gvk=CONFIGMAP)

    assert entries(obj) == [
        {
            "manager": "kubectl-create",
            "operation": "Update",
            "apiVersion": "v1",
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:data": {".": {}, "f:k": {}},
                "f:metadata": {"f:labels": {".": {}, "f:a": {}}},
            },
        }
    ]


def test_update_that_changes_nothing_keeps_entries_and_time() -> None:
    obj = fm.apply(None, deployment(), manager="gitops", force=False, now=T0, gvk=DEPLOYMENT)
    same = copy.deepcopy(obj)
    same["metadata"]["resourceVersion"] = "42"

    updated = fm.update(obj, same, manager="other", now=T1, gvk=DEPLOYMENT)

    assert entries(updated) == entries(obj)


def test_updates_by_the_same_manager_accumulate_in_one_entry() -> None:
    obj = fm.apply(None, deployment(), manager="gitops", force=False, now=T0, gvk=DEPLOYMENT)
    first = copy.deepcopy(obj)
    first["spec"]["replicas"] = 3
    obj = fm.update(obj, first, manager="scaler", now=T1, gvk=DEPLOYMENT)
    second = copy.deepcopy(obj)
    second["spec"]["paused"] = True

    obj = fm.update(obj, second, manager="scaler", now=T2, gvk=DEPLOYMENT)

    assert entry(obj, "scaler")["fieldsV1"] == {"f:spec": {"f:paused": {}, "f:replicas": {}}}
    assert entry(obj, "scaler")["time"] == T2
    assert [e["manager"] for e in entries(obj)] == ["gitops", "scaler"]


def test_status_is_not_tracked_on_the_main_resource_of_kinds_with_a_status_subresource() -> None:
    config = deployment()
    config["status"] = {"replicas": 9}

    obj = fm.apply(None, config, manager="gitops", force=False, now=T0, gvk=DEPLOYMENT)

    assert "f:status" not in entry(obj, "gitops")["fieldsV1"]


def test_status_subresource_update_owns_only_status() -> None:
    obj = fm.apply(None, deployment(), manager="gitops", force=False, now=T0, gvk=DEPLOYMENT)
    new = copy.deepcopy(obj)
    new["status"] = {"replicas": 2, "conditions": [{"type": "Available", "status": "True"}]}

    obj = fm.update(obj, new, manager="kube-controller-manager", now=T1, gvk=DEPLOYMENT, subresource="status")

    controller = entry(obj, "kube-controller-manager")
    assert controller["subresource"] == "status"
    assert controller["fieldsV1"] == {
        "f:status": {
            ".": {},
            "f:conditions": {
                ".": {},
                'k:{"type":"Available"}': {".": {}, "f:status": {}, "f:type": {}},
            },
            "f:replicas": {},
        }
    }


def test_first_apply_to_an_object_without_managed_fields_records_before_first_apply() -> None:
    live = deployment()

    obj = fm.apply(live, deployment(replicas=4), manager="gitops", force=True, now=T1, gvk=DEPLOYMENT)

    managers = [(e["manager"], e["operation"]) for e in entries(obj)]
    assert managers == [("gitops", "Apply"), ("before-first-apply", "Update")]
    assert "f:replicas" not in entry(obj, "before-first-apply")["fieldsV1"]["f:spec"]


def test_first_apply_conflicts_with_before_first_apply() -> None:
    with pytest.raises(fm.ApplyConflict) as caught:
        fm.apply(deployment(), deployment(replicas=4), manager="gitops", force=False, now=T1, gvk=DEPLOYMENT)

    assert caught.value.conflicts == [('"before-first-apply" using apps/v1', ".spec.replicas")]


def test_sending_one_empty_entry_clears_managed_fields() -> None:
    obj = fm.apply(None, deployment(), manager="gitops", force=False, now=T0, gvk=DEPLOYMENT)
    new = copy.deepcopy(obj)
    new["metadata"]["managedFields"] = [{}]

    cleared = fm.update(obj, new, manager="kubectl", now=T1, gvk=DEPLOYMENT)

    assert "managedFields" not in cleared["metadata"]


def test_service_ports_are_keyed_by_port_and_protocol() -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
    }

    obj = fm.apply(None, service, manager="gitops", force=False, now=T0, gvk=SERVICE)

    assert entry(obj, "gitops")["fieldsV1"] == {
        "f:spec": {
            "f:ports": {'k:{"port":80,"protocol":"TCP"}': {".": {}, "f:port": {}, "f:targetPort": {}}},
            "f:selector": {},
        }
    }


def test_list_merge_keeps_live_only_items_and_follows_config_order() -> None:
    live = deployment()
    live["spec"]["template"]["spec"]["containers"] = [
        {"name": "a", "image": "a"},
        {"name": "b", "image": "b"},
        {"name": "c", "image": "c"},
    ]
    live = fm.update(None, live, manager="creator", now=T0, gvk=DEPLOYMENT)
    config = deployment()
    config["spec"]["template"]["spec"]["containers"] = [
        {"name": "c", "image": "c2"},
        {"name": "a", "image": "a"},
    ]

    obj = fm.apply(live, config, manager="gitops", force=True, now=T1, gvk=DEPLOYMENT)

    # merge.go's visitListItems: "b" keeps its place before the shared items, which follow the config's order.
    assert [(c["name"], c["image"]) for c in obj["spec"]["template"]["spec"]["containers"]] == [
        ("b", "b"),
        ("c", "c2"),
        ("a", "a"),
    ]


@pytest.mark.parametrize(
    ("config_change", "message"),
    [
        (
            lambda c: c["spec"]["template"]["spec"]["containers"][0].__setitem__(
                "env", [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]
            ),
            "failed to create typed patch object (shop/web; apps/v1, Kind=Deployment): "
            '.spec.template.spec.containers[name="web"].env: duplicate entries for key [name="A"]',
        ),
        (
            lambda c: c["spec"]["template"]["spec"]["containers"].append({"image": "x"}),
            "failed to create typed patch object (shop/web; apps/v1, Kind=Deployment): "
            ".spec.template.spec.containers: element 1: associative list with keys has an element that omits "
            'key field "name" (and doesn\'t have default value)',
        ),
    ],
)
def test_untypable_apply_configs_are_refused_as_upstream(config_change: Any, message: str) -> None:
    config = deployment()
    config_change(config)

    with pytest.raises(fm.ApplyError) as caught:
        fm.apply(None, config, manager="gitops", force=False, now=T0, gvk=DEPLOYMENT)

    assert caught.value.message == message
    assert caught.value.body()["code"] == 500


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["metadata"].__setitem__("managedFields", []), "metadata.managedFields must be nil"),
        (
            lambda c: c.__setitem__("apiVersion", "apps/v1beta1"),
            "Incorrect version specified in apply patch. Specified patch version: apps/v1beta1, expected: apps/v1",
        ),
    ],
)
def test_bad_apply_requests_are_400(change: Any, message: str) -> None:
    config = deployment()
    change(config)

    with pytest.raises(fm.ApplyError) as caught:
        fm.apply(None, config, manager="gitops", force=False, now=T0, gvk=DEPLOYMENT)

    assert (caught.value.code, caught.value.reason, caught.value.message) == (400, "BadRequest", message)


CRD_SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "size": {"type": "integer"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "ports": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "port": {"type": "integer"}},
                    },
                },
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        }
    },
}
WIDGET = ("example.com", "v1", "Widget")


def test_custom_resources_follow_their_schema_list_types() -> None:
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "n"},
        "spec": {
            "size": 1,
            "tags": ["a", "b"],
            "ports": [{"name": "http", "port": 80}],
            "extra": {"x": {"y": 1}},
        },
    }

    obj = fm.apply(None, widget, manager="gitops", force=False, now=T0, gvk=WIDGET, schema=CRD_SCHEMA)

    assert entry(obj, "gitops")["fieldsV1"] == {
        "f:spec": {
            "f:extra": {"f:x": {".": {}, "f:y": {}}},
            "f:ports": {'k:{"name":"http"}': {".": {}, "f:name": {}, "f:port": {}}},
            "f:size": {},
            "f:tags": {},
        }
    }


def test_update_managers_beyond_ten_merge_into_ancient_changes() -> None:
    obj = fm.apply(None, deployment(), manager="gitops", force=False, now=T0, gvk=DEPLOYMENT)
    for number in range(11):
        new = copy.deepcopy(obj)
        new["metadata"].setdefault("annotations", {})[f"a{number}"] = "x"
        obj = fm.update(
            obj, new, manager=f"m{number:02}", now=f"2024-01-01T01:{number:02}:00Z", gvk=DEPLOYMENT
        )

    updates = [e["manager"] for e in entries(obj) if e["operation"] == "Update"]
    assert len(updates) == 10
    assert "ancient-changes" in updates
    assert "m00" not in updates


def client_side_applied() -> dict[str, Any]:
    """A Deployment as ``kubectl apply`` (client-side) creates it: annotation plus an Update manager."""
    obj = deployment()
    obj["metadata"]["annotations"] = {fm.LAST_APPLIED: fm.fp.canonical_json(deployment()) + "\n"}
    return fm.update(None, obj, manager="kubectl-client-side-apply", now=T0, gvk=DEPLOYMENT)


def test_kubectl_server_side_apply_takes_over_fields_of_its_client_side_apply() -> None:
    obj = fm.apply(
        client_side_applied(), deployment(replicas=3), manager="kubectl", force=False, now=T1, gvk=DEPLOYMENT
    )

    assert obj["spec"]["replicas"] == 3
    assert (
        obj["metadata"]["annotations"][fm.LAST_APPLIED] == fm.fp.canonical_json(deployment(replicas=3)) + "\n"
    )


def test_other_managers_still_conflict_with_client_side_apply() -> None:
    with pytest.raises(fm.ApplyConflict) as caught:
        fm.apply(
            client_side_applied(),
            deployment(replicas=3),
            manager="gitops",
            force=False,
            now=T1,
            gvk=DEPLOYMENT,
        )

    assert caught.value.conflicts == [('"kubectl-client-side-apply" using apps/v1', ".spec.replicas")]


def test_kubectl_still_conflicts_on_fields_changed_since_the_last_client_side_apply() -> None:
    live = client_side_applied()
    edited = copy.deepcopy(live)
    edited["spec"]["replicas"] = 9
    live = fm.update(live, edited, manager="kubectl-client-side-apply", now=T1, gvk=DEPLOYMENT)

    with pytest.raises(fm.ApplyConflict):
        fm.apply(live, deployment(replicas=3), manager="kubectl", force=False, now=T2, gvk=DEPLOYMENT)
