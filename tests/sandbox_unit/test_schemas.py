"""Typed decoding (create/update/patch) and typed conversion (server-side apply) of built-in kinds."""

from __future__ import annotations

import copy

from gitops.sandbox import schemas, tables

DEPLOYMENT = schemas.builtin_schema("apps", "v1", "Deployment")


def deployment(**container: object) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx",
                            "ports": [{"containerPort": 80}],
                            "resources": {"requests": {"cpu": 0.5}},
                            **container,
                        }
                    ]
                },
            },
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}},
        },
    }


def test_every_served_builtin_kind_has_a_schema() -> None:
    from gitops.sandbox.resources import BUILTIN_TYPES

    assert [
        rt.kind for rt in BUILTIN_TYPES if schemas.builtin_schema(rt.group, rt.version, rt.kind) is None
    ] == []


def test_a_valid_object_decodes_unchanged_except_empty_optional_maps() -> None:
    obj = deployment()
    decoded = schemas.decode(obj, DEPLOYMENT, "Deployment")
    assert (decoded.type_error, decoded.unknown) == (None, [])
    expected = deployment()
    del expected["metadata"]["labels"]  # omitempty
    assert obj == expected


def test_the_first_wrong_type_is_worded_as_encoding_json_does() -> None:
    decoded = schemas.decode(deployment(env=[{"name": "A", "value": True}]), DEPLOYMENT, "Deployment")
    assert decoded.type_error == (
        "json: cannot unmarshal bool into Go struct field EnvVar.spec.template.spec.containers.env.value "
        "of type string"
    )
    replicas = deployment()
    replicas["spec"]["replicas"] = 1.5
    assert schemas.decode(replicas, DEPLOYMENT, "Deployment").type_error == (
        "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"
    )


def test_unknown_fields_are_listed_with_indices_and_dropped() -> None:
    obj = deployment(colour="red")
    obj["spec"]["paused_"] = True
    decoded = schemas.decode(obj, DEPLOYMENT, "Deployment")
    assert decoded.unknown == ["spec.template.spec.containers[0].colour", "spec.paused_"]
    assert "colour" not in obj["spec"]["template"]["spec"]["containers"][0]
    assert "paused_" not in obj["spec"]


def test_apply_conversion_names_list_items_by_key() -> None:
    obj = deployment(colour="red", env=[{"name": "A", "value": 1}])
    obj["spec"]["replicas"] = "two"
    assert sorted(schemas.typed_errors(obj, DEPLOYMENT)) == [
        ".spec.replicas: expected numeric (int or float), got string",
        '.spec.template.spec.containers[name="web"].colour: field not declared in schema',
        '.spec.template.spec.containers[name="web"].env[name="A"].value: expected string, got '
        "&value.valueUnstructured{Value:1}",
    ]
    assert schemas.typed_errors(deployment(), DEPLOYMENT) == [], "quantities and int-or-strings are untyped"


def test_apply_conversion_of_a_custom_resource_respects_preserved_fields() -> None:
    schema = schemas.custom_schema(
        {
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "size": {"type": "integer"},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    },
                }
            },
        }
    )
    widget = {
        "apiVersion": "x/v1",
        "kind": "W",
        "metadata": {"name": "w"},
        "spec": {"size": 1, "free": {"a": [1]}},
    }
    assert schemas.typed_errors(copy.deepcopy(widget), schema) == []
    widget["spec"]["colour"] = "red"
    widget["metadata"]["labels"] = {"a": 1}
    assert sorted(schemas.typed_errors(widget, schema)) == [
        ".metadata.labels.a: expected string, got &value.valueUnstructured{Value:1}",
        ".spec.colour: field not declared in schema",
    ]
    assert schemas.typed_message(["a", "b"]) == "errors:\n  a\n  b"


def test_table_cells_for_a_deployment_and_a_service() -> None:
    live = deployment()
    live["metadata"]["creationTimestamp"] = "2020-01-01T00:00:00Z"
    live["status"] = {"readyReplicas": 1, "updatedReplicas": 2, "availableReplicas": 1}
    columns = tables.columns_for("apps", "deployments")
    row = tables.as_table(live, columns)["rows"][0]["cells"]
    assert row[:4] == ["web", "1/2", 2, 1]
    assert row[5:] == ["web", "nginx", "app=web"]
    service = {
        "metadata": {"name": "web"},
        "spec": {
            "type": "NodePort",
            "clusterIP": "10.96.0.9",
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}],
        },
    }
    cells = tables.as_table(service, tables.columns_for("", "services"))["rows"][0]["cells"]
    assert cells[:5] == ["web", "NodePort", "10.96.0.9", "<none>", "80:30080/TCP"]
    assert tables.human_duration(3 * 3600 + 60) == "3h1m"
