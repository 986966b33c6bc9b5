"""Normalization, field changes (Secret values masked), FieldsV1 attribution, ignore rules (pure)."""

from __future__ import annotations

import pytest

from gitops import diff

DEPLOYMENT_MANAGED = [
    {
        "manager": "gitops",
        "operation": "Apply",
        "apiVersion": "apps/v1",
        "fieldsV1": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:template": {"f:spec": {"f:containers": {'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}}}}},
            },
        },
    },
    {
        "manager": "kubectl-scale",
        "operation": "Update",
        "subresource": "scale",
        "time": "2026-01-01T00:00:00Z",
        "fieldsV1": {"f:spec": {"f:replicas": {}}},
    },
    {
        "manager": "kubectl-edit",
        "operation": "Update",
        "time": "2026-01-02T00:00:00Z",
        "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
            'k:{"name":"web"}': {"f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}}},
        }}}}},
    },
]


def deployment(replicas: int = 3, image: str = "nginx:1", **metadata: object) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}, **metadata},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [
                {"name": "web", "image": image, "ports": [{"containerPort": 80, "protocol": "TCP"}]},
            ]}},
        },
    }


def test_normalize_drops_server_noise_but_keeps_content():
    live = deployment(
        resourceVersion="12", uid="u", generation=4, creationTimestamp="2026-01-01T00:00:00Z",
        managedFields=DEPLOYMENT_MANAGED,
        annotations={diff.LAST_APPLIED_ANNOTATION: "{}"},
    )
    live["status"] = {"replicas": 3}
    assert diff.normalize(live) == deployment()
    assert "managedFields" in live["metadata"], "the input is left untouched"


def test_equal_objects_have_no_changes():
    assert diff.field_changes(deployment(), deployment()) == []


def test_changes_are_attributed_to_the_manager_that_wrote_the_live_value():
    live = deployment(replicas=5)
    changes = diff.field_changes(
        live, deployment(replicas=3, image="nginx:2"), managed_fields=DEPLOYMENT_MANAGED, own_manager="gitops"
    )
    by_path = {change.path: change for change in changes}
    assert by_path["spec.replicas"].before == 5
    assert by_path["spec.replicas"].after == 3
    assert (by_path["spec.replicas"].manager, by_path["spec.replicas"].operation) == ("kubectl-scale", "Update")
    image = by_path["spec.template.spec.containers[name=web].image"]
    assert (image.before, image.after, image.manager) == ("nginx:1", "nginx:2", "gitops")


def test_list_items_are_matched_by_their_keys_in_fields_v1():
    live = deployment()
    live["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = 80
    desired = deployment()
    desired["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = 8080
    (change,) = diff.field_changes(live, desired, managed_fields=DEPLOYMENT_MANAGED)
    assert change.path == "spec.template.spec.containers[name=web].ports[0].containerPort"
    assert change.manager == "kubectl-edit"


def test_added_fields_have_no_manager():
    desired = deployment()
    desired["spec"]["paused"] = True
    (change,) = diff.field_changes(deployment(), desired, managed_fields=DEPLOYMENT_MANAGED)
    assert (change.path, change.before, change.after, change.manager) == ("spec.paused", None, True, None)


def test_fields_v1_atomic_leaf_owns_everything_below_it():
    fields = {"f:spec": {"f:selector": {}}}
    obj = {"spec": {"selector": {"matchLabels": {"app": "web"}}}}
    assert diff.fields_contain(fields, ("spec", "selector", "matchLabels", "app"), obj)
    assert not diff.fields_contain(fields, ("spec", "replicas"), obj)
    assert not diff.fields_contain({"f:spec": {"f:x": {}}}, ("metadata",), obj)


def test_fields_v1_set_items_by_value():
    fields = {"f:spec": {"f:finalizers": {'v:"kubernetes"': {}}}}
    assert diff.fields_contain(fields, ("spec", "finalizers", 0), {"spec": {"finalizers": ["kubernetes"]}})
    assert not diff.fields_contain(fields, ("spec", "finalizers", 0), {"spec": {"finalizers": ["other"]}})


@pytest.mark.parametrize(
    ("text", "path", "group", "kind"),
    [
        ("/spec/replicas", ("spec", "replicas"), None, None),
        ("apps/Deployment:/spec/replicas", ("spec", "replicas"), "apps", "Deployment"),
        ("ConfigMap:/data/a~1b", ("data", "a/b"), None, "ConfigMap"),
        ("/spec/template/spec/containers/0/image", ("spec", "template", "spec", "containers", 0, "image"), None, None),
    ],
)
def test_ignore_rules_parse(text, path, group, kind):
    rule = diff.IgnoreRule.parse(text)
    assert (rule.path, rule.group, rule.kind) == (path, group, kind)


def test_ignore_rule_rejects_a_non_pointer():
    with pytest.raises(ValueError, match="must start with '/'"):
        diff.IgnoreRule.parse("spec.replicas")


def test_ignored_paths_come_from_rules_in_scope_and_the_annotation():
    obj = deployment(annotations={diff.IGNORE_ANNOTATION: "/spec/paused, /metadata/labels/team"})
    rules = [diff.IgnoreRule.parse("apps/Deployment:/spec/replicas"), diff.IgnoreRule.parse("ConfigMap:/data")]
    assert diff.ignored_paths(obj, rules) == [("spec", "replicas"), ("spec", "paused"), ("metadata", "labels", "team")]


def test_ignored_fields_do_not_show_as_changes():
    changes = diff.field_changes(deployment(replicas=5), deployment(replicas=3), ignore=[("spec", "replicas")])
    assert changes == []


def test_respect_ignored_takes_the_live_value_or_leaves_the_field_out():
    live = deployment(replicas=7)
    body = deployment(replicas=3)
    body["spec"]["paused"] = True
    result = diff.respect_ignored(body, live, [("spec", "replicas"), ("spec", "paused")])
    assert result["spec"]["replicas"] == 7
    assert "paused" not in result["spec"]
    assert body["spec"]["replicas"] == 3, "the input is left untouched"


def secret(**data: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"}, "data": data}


def test_secret_changes_never_show_values():
    changes = diff.field_changes(secret(password="b2xk", user="YWRt"), secret(password="bmV3", user="YWRt"))
    (change,) = changes
    assert (change.path, change.before, change.after) == ("data.password", "*** (before)", "*** (after)")


def test_type_changes_are_reported():
    (change,) = diff.field_changes({"a": {"port": "8080"}}, {"a": {"port": 8080}})
    assert (change.path, change.before, change.after) == ("a.port", "8080", 8080)


def applied(fields: dict, **live_changes: object) -> tuple[dict, dict]:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n", "labels": {"a": "1"}},
            "data": {"x": "1", "y": "2"}}
    live = {**body, "metadata": {**body["metadata"], "uid": "u", "managedFields": [
        {"manager": "gitops", "operation": "Apply", "apiVersion": "v1", "fieldsV1": fields},
        {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "v1", "fieldsV1": {"f:data": {"f:z": {}}}},
    ]}, "data": {**body["data"], "z": "other"}, **live_changes}
    return body, live


OWN_FIELDS = {"f:metadata": {"f:labels": {"f:a": {}}}, "f:data": {"f:x": {}, "f:y": {}}}


def test_already_applied_when_we_own_exactly_the_body_fields_with_its_values():
    body, live = applied(OWN_FIELDS)
    assert diff.already_applied(body, live, "gitops")


def test_not_already_applied_when_a_value_differs_or_the_field_sets_differ():
    body, live = applied(OWN_FIELDS, data={"x": "1", "y": "changed"})
    assert not diff.already_applied(body, live, "gitops")
    extra = {**OWN_FIELDS, "f:data": {"f:x": {}, "f:y": {}, "f:gone": {}}}
    body, live = applied(extra)
    assert not diff.already_applied(body, live, "gitops"), "applying would remove a field we used to set"
    body, live = applied(OWN_FIELDS)
    assert not diff.already_applied(body, live, "someone-else")


def test_already_applied_follows_keyed_list_items():
    fields = {"f:spec": {"f:containers": {'k:{"name":"web"}': {".": {}, "f:name": {}, "f:image": {}}}}}
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "web", "image": "a"}]}}
    live = {**body, "metadata": {"name": "p", "managedFields": [
        {"manager": "gitops", "operation": "Apply", "apiVersion": "v1", "fieldsV1": fields}]},
        "spec": {"containers": [{"name": "web", "image": "a", "imagePullPolicy": "Always"}]}}
    assert diff.already_applied(body, live, "gitops")
    live["spec"]["containers"][0]["image"] = "b"
    assert not diff.already_applied(body, live, "gitops")


def test_already_applied_matches_list_keys_the_server_defaulted():
    fields = {"f:spec": {"f:ports": {'k:{"port":80,"protocol":"TCP"}': {".": {}, "f:port": {}, "f:targetPort": {}}}}}
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 80, "targetPort": 8080}]}}
    live = {**body, "metadata": {"name": "s", "managedFields": [
        {"manager": "gitops", "operation": "Apply", "apiVersion": "v1", "fieldsV1": fields}]},
        "spec": {"ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}}
    assert diff.already_applied(body, live, "gitops")


# --- named normalizations (the no-op fast path's canonical forms) -----------------------------


def test_every_normalization_is_named_and_says_why():
    names = [normalization.name for normalization in diff.NORMALIZATIONS]
    assert len(names) == len(set(names))
    assert all(normalization.why and normalization.kinds and normalization.paths for normalization in diff.NORMALIZATIONS)


@pytest.mark.parametrize(("group", "kind", "path", "covered"), [
    ("apps", "Deployment", ("spec", "template", "spec", "containers", 0, "resources", "requests", "cpu"), True),
    ("apps", "Deployment", ("spec", "template", "spec", "initContainers", 1, "resources", "limits", "memory"), True),
    ("batch", "CronJob", ("spec", "jobTemplate", "spec", "template", "spec", "overhead", "cpu"), True),
    ("", "Pod", ("spec", "volumes", 0, "emptyDir", "sizeLimit"), True),
    ("apps", "StatefulSet", ("spec", "volumeClaimTemplates", 0, "spec", "resources", "requests", "storage"), True),
    ("", "ResourceQuota", ("spec", "hard", "requests.cpu"), True),
    ("", "LimitRange", ("spec", "limits", 0, "defaultRequest", "cpu"), True),
    # Same-looking fields elsewhere are plain strings the server keeps as written.
    ("", "ConfigMap", ("data", "cpu"), False),
    ("apps", "Deployment", ("spec", "template", "metadata", "labels", "cpu"), False),
    ("apps", "Deployment", ("spec", "template", "spec", "containers", 0, "resources", "requests"), False),
    ("example.com", "Deployment", ("spec", "template", "spec", "containers", 0, "resources", "requests", "cpu"), False),
])
def test_quantity_normalization_covers_only_resource_quantity_fields(group, kind, path, covered):
    assert any(n.covers(group, kind, path) for n in diff.NORMALIZATIONS) is covered


QUANTITY_FIELDS = {"f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"app"}': {
    ".": {}, "f:name": {}, "f:image": {},
    "f:resources": {"f:requests": {"f:cpu": {}, "f:memory": {}}, "f:limits": {"f:cpu": {}}},
}}}}}}


def deployment_applied(requests: dict, limits: dict, live_requests: dict, live_limits: dict) -> tuple[dict, dict]:
    def deployment(req: dict, lim: dict) -> dict:
        container = {"name": "app", "image": "pause", "resources": {"requests": req, "limits": lim}}
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"},
                "spec": {"template": {"spec": {"containers": [container]}}}}

    live = deployment(live_requests, live_limits)
    live["metadata"]["managedFields"] = [
        {"manager": "gitops", "operation": "Apply", "apiVersion": "apps/v1", "fieldsV1": QUANTITY_FIELDS}]
    return deployment(requests, limits), live


def test_already_applied_sees_canonical_quantities_as_the_same_value():
    body, live = deployment_applied({"cpu": "0.1", "memory": "1024Mi"}, {"cpu": 0.5},
                                    {"cpu": "100m", "memory": "1Gi"}, {"cpu": "500m"})
    assert diff.already_applied(body, live, "gitops")
    body, live = deployment_applied({"cpu": 1, "memory": "32Mi"}, {"cpu": "1000m"},
                                    {"cpu": "1", "memory": "32Mi"}, {"cpu": "1"})
    assert diff.already_applied(body, live, "gitops")


def test_a_quantity_changed_by_someone_else_is_still_drift():
    # Even when our managedFields still claim the field, the value decides.
    body, live = deployment_applied({"cpu": "0.1", "memory": "32Mi"}, {"cpu": "1"},
                                    {"cpu": "200m", "memory": "32Mi"}, {"cpu": "1"})
    assert not diff.already_applied(body, live, "gitops")
    # As the server records it: the Update manager took the field from us.
    body, live = deployment_applied({"cpu": "0.1", "memory": "32Mi"}, {"cpu": "1"},
                                    {"cpu": "100m", "memory": "32Mi"}, {"cpu": "1"})
    fields = live["metadata"]["managedFields"][0]["fieldsV1"]
    del fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']["f:resources"]["f:requests"]["f:cpu"]
    assert not diff.already_applied(body, live, "gitops")


def test_values_that_are_not_canonical_forms_of_each_other_go_to_the_server():
    for manifest_value, live_value in [("lots", "100m"), ("0.1", 0.1), (True, "1"), ({"a": 1}, "1")]:
        body, live = deployment_applied({"cpu": manifest_value, "memory": "32Mi"}, {"cpu": "1"},
                                        {"cpu": live_value, "memory": "32Mi"}, {"cpu": "1"})
        assert not diff.already_applied(body, live, "gitops"), (manifest_value, live_value)


def test_outside_quantity_fields_only_exact_values_are_the_same():
    body, live = applied(OWN_FIELDS, data={"x": "100m", "y": "2"})
    body["data"]["x"] = "0.1"
    assert not diff.already_applied(body, live, "gitops"), "ConfigMap data is kept as written: drift"
    assert not diff.stored_form_equal(8080, "8080", ("spec", "ports", 0, "targetPort"), "", "Service")
    assert diff.stored_form_equal("0.5", "500m", ("spec", "hard", "cpu"), "", "ResourceQuota")


def test_copy_tree_is_a_deep_copy():
    original = {"a": [{"b": 1}], "c": "d"}
    copied = diff.copy_tree(original)
    copied["a"][0]["b"] = 2
    assert copied != original and original == {"a": [{"b": 1}], "c": "d"}


def test_secret_string_data_is_sent_as_data_without_touching_the_manifest() -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "data": {"user": "YWRtaW4="},
        "stringData": {"password": "s3cret", "user": "root"},
    }
    body = dict(manifest)

    converted = diff.secret_string_data_as_data(body)

    assert converted["data"] == {"user": "cm9vdA==", "password": "czNjcmV0"}, "stringData wins, as on the server"
    assert "stringData" not in converted
    assert manifest["data"] == {"user": "YWRtaW4="} and "stringData" in manifest


def test_string_data_of_other_kinds_is_left_alone() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Secret", "metadata": {"name": "x"}, "stringData": {"a": "b"}}
    assert diff.secret_string_data_as_data(dict(widget)) == widget
