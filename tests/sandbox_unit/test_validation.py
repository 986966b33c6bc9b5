"""Validation causes and the 422 Status, worded as the API server words them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from gitops.sandbox.validation import invalid_status, prune_unknown, validate, validate_custom


def deployment(**spec: Any) -> dict[str, Any]:
    obj = yaml.safe_load(
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: shop}
        spec:
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec: {containers: [{name: web, image: nginx}]}
        """
    )
    obj["spec"].update(spec)
    return obj


def test_valid_deployment_has_no_causes() -> None:
    assert validate(deployment(), None, namespaced=True) == []


def test_missing_selector_and_containers() -> None:
    obj = deployment(template={"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}})
    del obj["spec"]["selector"]

    causes = validate(obj, None, namespaced=True)

    assert causes == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.selector"},
        {
            "reason": "FieldValueRequired",
            "message": "Required value",
            "field": "spec.template.spec.containers",
        },
    ]
    assert invalid_status(obj, causes) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'Deployment.apps "web" is invalid: [spec.selector: Required value, spec.template.spec.containers: Required value]',
        "reason": "Invalid",
        "details": {"name": "web", "group": "apps", "kind": "Deployment", "causes": causes},
        "code": 422,
    }


def test_selector_must_match_template_labels() -> None:
    obj = deployment(selector={"matchLabels": {"app": "other"}})

    causes = validate(obj, None, namespaced=True)

    assert causes == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
            "field": "spec.template.metadata.labels",
        }
    ]
    assert invalid_status(obj, causes)["message"] == (
        'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"web"}: `selector` does not match template `labels`'
    )


@pytest.mark.parametrize(
    ("kind_doc", "name", "message"),
    [
        (
            {"apiVersion": "v1", "kind": "ConfigMap"},
            "Web_1",
            'Invalid value: "Web_1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '
            "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
            "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ),
        (
            {"apiVersion": "v1", "kind": "Namespace"},
            "a.b",
            'Invalid value: "a.b": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '
            "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
            "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        ),
        (
            {"apiVersion": "v1", "kind": "Service", "spec": {"ports": [{"port": 80}]}},
            "1web",
            "Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
            "with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex "
            "used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        ),
    ],
)
def test_names_are_validated_by_kind(kind_doc: dict[str, Any], name: str, message: str) -> None:
    obj = {**kind_doc, "metadata": {"name": name}}
    namespaced = kind_doc["kind"] != "Namespace"

    assert validate(obj, None, namespaced=namespaced) == [
        {"reason": "FieldValueInvalid", "message": message, "field": "metadata.name"}
    ]


def test_name_is_required() -> None:
    assert validate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}, None, namespaced=True) == [
        {
            "reason": "FieldValueRequired",
            "message": "Required value: name or generateName is required",
            "field": "metadata.name",
        }
    ]


def test_deployment_selector_is_immutable() -> None:
    old = deployment()
    new = deployment(selector={"matchLabels": {"app": "web", "tier": "x"}})
    new["spec"]["template"]["metadata"]["labels"]["tier"] = "x"

    assert validate(new, old, namespaced=True) == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"x"}, '
            "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
            "field": "spec.selector",
        }
    ]


def test_service_cluster_ip_may_not_change() -> None:
    old = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"ports": [{"port": 80}], "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"]},
    }
    new = copy.deepcopy(old)
    new["spec"]["clusterIP"] = "10.96.0.11"
    new["spec"]["clusterIPs"] = ["10.96.0.11"]

    assert validate(new, old, namespaced=True) == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: []string{"10.96.0.11"}: may not change once set',
            "field": "spec.clusterIPs[0]",
        }
    ]


def test_job_template_is_immutable() -> None:
    old = yaml.safe_load(
        "{apiVersion: batch/v1, kind: Job, metadata: {name: j}, spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: a}]}}}}"
    )
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "b"

    causes = validate(new, old, namespaced=True)

    assert [(c["reason"], c["field"]) for c in causes] == [("FieldValueInvalid", "spec.template")]
    assert causes[0]["message"].endswith(": field is immutable")


def test_immutable_configmap_data_is_forbidden() -> None:
    old = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "immutable": True,
        "data": {"a": "1"},
    }
    new = {**old, "data": {"a": "2"}}

    assert validate(new, old, namespaced=True) == [
        {
            "reason": "FieldValueForbidden",
            "message": "Forbidden: field is immutable when `immutable` is set",
            "field": "data",
        }
    ]


def test_pvc_spec_is_immutable_except_requests() -> None:
    old = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "p"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    grown = copy.deepcopy(old)
    grown["spec"]["resources"]["requests"]["storage"] = "2Gi"
    changed = copy.deepcopy(old)
    changed["spec"]["accessModes"] = ["ReadWriteMany"]

    assert validate(grown, old, namespaced=True) == []
    assert validate(changed, old, namespaced=True) == [
        {
            "reason": "FieldValueForbidden",
            "message": "Forbidden: spec is immutable after creation except resources.requests and "
            "volumeAttributesClassName for bound claims",
            "field": "spec",
        }
    ]


def test_container_errors_and_restart_policy() -> None:
    obj = deployment(
        template={
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "restartPolicy": "OnFailure",
                "containers": [{"name": "web"}, {"name": "web", "image": "x"}],
            },
        }
    )

    assert validate(obj, None, namespaced=True) == [
        {
            "reason": "FieldValueRequired",
            "message": "Required value",
            "field": "spec.template.spec.containers[0].image",
        },
        {
            "reason": "FieldValueDuplicate",
            "message": 'Duplicate value: "web"',
            "field": "spec.template.spec.containers[1].name",
        },
        {
            "reason": "FieldValueNotSupported",
            "message": 'Unsupported value: "OnFailure": supported values: "Always"',
            "field": "spec.template.spec.restartPolicy",
        },
    ]


def test_cluster_scoped_objects_refuse_a_namespace() -> None:
    obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "namespace": "b"}}
    assert validate(obj, None, namespaced=False) == [
        {
            "reason": "FieldValueForbidden",
            "message": "Forbidden: not allowed on this type",
            "field": "metadata.namespace",
        }
    ]


def test_core_kinds_have_no_group_in_status() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    cause = {"reason": "FieldValueRequired", "message": "Required value", "field": "data"}
    assert invalid_status(obj, [cause])["details"] == {"name": "c", "kind": "ConfigMap", "causes": [cause]}
    assert invalid_status(obj, [cause])["message"] == 'ConfigMap "c" is invalid: data: Required value'


SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "integer", "minimum": 1},
                "mode": {"type": "string", "enum": ["fast", "slow"]},
                "nested": {"type": "object", "properties": {"keep": {"type": "string"}}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "items": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"a": {"type": "string"}}},
                },
            },
        },
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
    },
}


def test_custom_resource_schema_validation() -> None:
    obj = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": "big", "mode": "medium"},
    }

    assert validate_custom(obj, SCHEMA) == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: "string": spec.size in body must be of type integer: "string"',
            "field": "spec.size",
        },
        {
            "reason": "FieldValueNotSupported",
            "message": 'Unsupported value: "medium": supported values: "fast", "slow"',
            "field": "spec.mode",
        },
    ]
    assert validate_custom({**obj, "spec": {}}, SCHEMA) == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.size"}
    ]
    assert validate_custom({**obj, "spec": {"size": 0}}, SCHEMA) == [
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: 0: spec.size in body should be greater than or equal to 1",
            "field": "spec.size",
        }
    ]


def test_unknown_fields_are_pruned() -> None:
    obj = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "labels": {"a": "b"}},
        "spec": {
            "size": 1,
            "unknown": 1,
            "nested": {"keep": "x", "drop": "y"},
            "free": {"any": {"thing": 1}},
            "items": [{"a": "x", "b": "y"}],
        },
        "extra": True,
    }

    prune_unknown(obj, SCHEMA)

    assert obj == {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "labels": {"a": "b"}},
        "spec": {"size": 1, "nested": {"keep": "x"}, "free": {"any": {"thing": 1}}, "items": [{"a": "x"}]},
    }
