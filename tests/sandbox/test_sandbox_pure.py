"""Pure pieces of the sandbox, without a server: selectors, version order, protobuf frames, discovery entries."""

from __future__ import annotations

import pytest

from gitops.sandbox import protobuf
from gitops.sandbox.crd import accepted_names, crd_status, validate_crd
from gitops.sandbox.resources import BUILTIN_TYPES, version_priority
from gitops.sandbox.selectors import field_matcher, label_matcher
from gitops.sandbox.status import ApiStatus


def _obj(**labels: str) -> dict:
    return {"metadata": {"name": "x", "namespace": "ns", "labels": labels}}


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        ("a=b", {"a": "b"}, True),
        ("a=b", {}, False),
        ("a!=b", {}, True),
        ("a notin (b,c)", {"a": "c"}, False),
        ("a in (b, c)", {"a": "c"}, True),
        ("a=", {"a": ""}, True),
        ("example.com/tier", {"example.com/tier": "x"}, True),
        ("!a", {"a": "1"}, False),
        ("a<3", {"a": "2"}, True),
        ("a<3", {"a": "x"}, False),
    ],
)
def test_label_selector_semantics(selector, labels, matches):
    matcher = label_matcher(selector)
    assert matcher is not None
    assert matcher(_obj(**labels)) is matches


@pytest.mark.parametrize("selector", ["a in b", "a in ()", "a=b,", "=b", "a>x", "Bad Key=1"])
def test_label_selector_syntax_errors_are_bad_requests(selector):
    with pytest.raises(ApiStatus) as raised:
        label_matcher(selector)
    assert (raised.value.code, raised.value.reason) == (400, "BadRequest")


def test_field_selector_allows_only_known_fields():
    matcher = field_matcher("metadata.namespace=ns,metadata.name!=y", ())
    assert matcher is not None and matcher(_obj())
    with pytest.raises(ApiStatus, match=r"field label not supported: spec\.x"):
        field_matcher("spec.x=1", ())


def test_version_priority_orders_as_kubernetes():
    versions = ["v1alpha1", "v2", "v1beta1", "foo", "v1", "v1beta2"]
    assert sorted(versions, key=version_priority) == ["v2", "v1", "v1beta2", "v1beta1", "v1alpha1", "foo"]


def test_discovery_entry_of_deployments_matches_a_real_server():
    deployments = next(t for t in BUILTIN_TYPES if t.name == "deployments")
    entries = deployments.discovery()
    assert entries[0] == {
        "name": "deployments",
        "singularName": "deployment",
        "namespaced": True,
        "kind": "Deployment",
        "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        "shortNames": ["deploy"],
        "categories": ["all"],
    }
    assert entries[1] == {
        "name": "deployments/scale",
        "singularName": "",
        "namespaced": True,
        "group": "autoscaling",
        "version": "v1",
        "kind": "Scale",
        "verbs": ["get", "patch", "update"],
    }


def test_crd_names_conflict_is_not_established():
    def crd(name: str, plural: str) -> dict:
        return {
            "metadata": {"name": name},
            "spec": {"group": "example.com", "names": {"plural": plural, "kind": "Thing"}},
        }

    first, second = crd("things.example.com", "things"), crd("things2.example.com", "things")
    status = crd_status(second, [first, second], "2024-01-01T00:00:00Z")
    conditions = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
    assert conditions == {
        "NamesAccepted": ("False", "PluralConflict"),
        "Established": ("False", "NotAccepted"),
    }
    assert accepted_names(first)["listKind"] == "ThingList"
    assert any(c["field"] == "metadata.name" for c in validate_crd(second))


def test_protobuf_namespace_frame_from_kubectl():
    frame = (
        b'k8s\x00\n\x0f\n\x02v1\x12\tNamespace\x12\x1d\n\x15\n\x05demo3\x12\x00\x1a\x00"\x00*\x002\x008\x00B\x00'
        b'\x12\x00\x1a\x02\n\x00\x1a\x00"\x00'
    )
    assert protobuf.decode(frame) == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo3"}}
    with pytest.raises(protobuf.Unsupported):
        protobuf.decode(b"k8s\x00\n\x16\n\x07apps/v1\x12\x0bDeployment\x12\x00")
