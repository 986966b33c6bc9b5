"""ApplySet ids, parents and guards (pure)."""

from __future__ import annotations

import pytest

from gitops import inventory
from gitops.errors import SafetyError
from gitops.source.urls import repository_identity


def test_id_matches_kubectl():
    # kubectl's own test (staging/src/k8s.io/kubectl/pkg/cmd/apply/apply_test.go): Secret test/my-set.
    assert inventory.applyset_id("my-set", "test", "Secret", "") == "applyset-0eFHV8ySqp7XoShsGvyWFQD3s96yqwHmzc4e0HR1dsY-v1"


def test_parent_body_records_kinds_and_other_namespaces():
    applyset = inventory.ApplySet(name="shop", namespace="default")
    body = applyset.parent_body({"Deployment.apps", "ConfigMap"}, {"default", "shop", "web"})
    assert body["kind"] == "ConfigMap"
    assert body["metadata"]["labels"] == {inventory.ID_LABEL: inventory.applyset_id("shop", "default")}
    annotations = body["metadata"]["annotations"]
    assert annotations[inventory.TOOLING_ANNOTATION] == f"gitops/v{inventory.__version__}"
    assert annotations[inventory.GROUP_KINDS_ANNOTATION] == "ConfigMap,Deployment.apps"
    assert annotations[inventory.ADDITIONAL_NAMESPACES_ANNOTATION] == "shop,web"


def test_existing_parent_is_read_back():
    applyset = inventory.ApplySet(name="shop", namespace="default")
    parent = applyset.parent_body({"Service", "Deployment.apps"}, {"web"})
    found = inventory.from_parent("shop", "default", parent)
    assert found.exists
    assert found.group_kinds == {"Service", "Deployment.apps"}
    assert found.namespaces == {"default", "web"}


def test_missing_parent_is_an_empty_set():
    found = inventory.from_parent("shop", "default", None)
    assert not found.exists and found.group_kinds == set()


@pytest.mark.parametrize(
    ("annotations", "labels", "message"),
    [
        ({inventory.TOOLING_ANNOTATION: "kubectl/v1.30"}, {}, "belongs to another tool"),
        ({}, {}, "is no ApplySet"),
        ({inventory.TOOLING_ANNOTATION: "gitops/v0.0.1"}, {inventory.ID_LABEL: "applyset-x-v1"}, "expected"),
    ],
)
def test_foreign_or_broken_parents_are_refused(annotations, labels, message):
    parent = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "shop", "namespace": "default", "annotations": annotations, "labels": labels}}
    with pytest.raises(SafetyError, match=message):
        inventory.from_parent("shop", "default", parent)


def test_default_name_is_a_valid_stable_object_name():
    name = inventory.default_name("github.com/acme/shop", "apps/web")
    assert name.startswith("gitops-shop-apps-web-")
    assert name == inventory.default_name("github.com/acme/shop", "apps/web/")
    assert name != inventory.default_name("github.com/acme/shop", "apps/db")
    assert name != inventory.default_name("github.com/other/shop", "apps/web")
    assert len(name) <= 63 and name.replace("-", "").isalnum()


@pytest.mark.parametrize("url", [
    "https://github.com/Acme/Shop.git", "https://x-access-token:tok@github.com/acme/shop",
    "git@github.com:acme/shop.git", "ssh://git@github.com:22/acme/shop/", "http://github.com/acme/shop.git/",
])
def test_every_spelling_of_a_repository_is_one_identity(url):
    assert repository_identity(url) == "github.com/acme/shop"


def test_the_action_names_the_set_a_clone_of_the_repository_names():
    from_env = inventory.github_repository({"GITHUB_REPOSITORY": "Acme/Shop", "GITHUB_SERVER_URL": "https://github.com"})
    assert from_env == repository_identity("https://github.com/acme/shop.git")
    assert inventory.github_repository({}) == ""


def test_group_kind_spelling():
    assert inventory.parse_group_kind("Deployment.apps") == ("apps", "Deployment")
    assert inventory.parse_group_kind("ConfigMap") == ("", "ConfigMap")
    assert inventory.parse_group_kind("Widget.example.com") == ("example.com", "Widget")
