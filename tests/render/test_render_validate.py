"""Validation rules, pure (no files), plus duplicates through render()."""

from __future__ import annotations

from typing import Any

import pytest
from render_helpers import WriteTree, configmap

from gitops.errors import RenderError
from gitops.objects import Manifest, Origin
from gitops.render import render
from gitops.render.validate import validate, validate_object

ORIGIN = Origin("app.yaml", line=3)


def obj(
    kind: str, name: Any, *, api_version: str = "v1", namespace: Any = None, **fields: Any
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}


def messages(o: Any) -> list[str]:
    return [str(p) for p in validate_object(o, ORIGIN)]


@pytest.mark.parametrize(
    ("o", "name"),
    [
        (obj("ConfigMap", "web.config-1"), "dots allowed in a subdomain"),
        (obj("Namespace", "shop"), "label"),
        (obj("Service", "1web", namespace="shop"), "Service names may start with a digit since 1.37"),
        (
            obj("Role", "system:web", api_version="rbac.authorization.k8s.io/v1"),
            "RBAC names are path segments",
        ),
        (obj("Widget", "a.b", api_version="example.com/v1", namespace="shop"), "custom resources: subdomain"),
        (obj("ClusterRole", "view", api_version="rbac.authorization.k8s.io/v1"), "no namespace"),
        (
            obj("Widget", "w", api_version="example.com/v1", namespace="x"),
            "unknown kinds may carry a namespace",
        ),
    ],
)
def test_valid_objects_have_no_problems(o: dict[str, Any], name: str) -> None:
    assert messages(o) == [], name


@pytest.mark.parametrize(
    ("o", "expected"),
    [
        ({"kind": "ConfigMap", "metadata": {"name": "a"}}, "app.yaml:3: apiVersion is missing"),
        ({"apiVersion": "v1", "metadata": {"name": "a"}}, "app.yaml:3: kind is missing"),
        ({"apiVersion": "v1", "kind": "ConfigMap"}, "app.yaml:3: metadata.name is missing (no metadata)"),
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "a-"}},
            "app.yaml:3: metadata.name is missing (generateName is not supported: gitops applies objects by name)",
        ),
        (obj("ConfigMap", 1234), "app.yaml:3: metadata.name must be a string, found a number (YAML reads"),
        (obj("ConfigMap", "a", api_version="apps/v1/x"), "apiVersion 'apps/v1/x' is not of the form"),
        (obj("ConfigMap", "a", api_version=1), "apiVersion must be a string, found a number"),
        (
            obj("Deployment", "Web", api_version="apps/v1", namespace="shop"),
            "app.yaml:3: apps/v1 Deployment shop/Web: metadata.name 'Web' must be a DNS-1123 subdomain",
        ),
        (
            obj("Namespace", "shop.prod"),
            "v1 Namespace shop.prod: metadata.name 'shop.prod' must be a DNS-1123 label",
        ),
        (obj("Service", "web.api", namespace="shop"), "metadata.name 'web.api' must be a DNS-1123 label"),
        (obj("Service", "w" * 64, namespace="shop"), "must be no more than 63 characters"),
        (obj("ConfigMap", "c" * 254), "must be no more than 253 characters"),
        (
            obj("Role", "a/b", api_version="rbac.authorization.k8s.io/v1"),
            "metadata.name 'a/b' may not contain '/'",
        ),
        (
            obj("Widget", "my_widget", api_version="example.com/v1"),
            "metadata.name 'my_widget' must be a DNS-1123",
        ),
        (
            obj("ConfigMap", "a", namespace="Shop"),
            "ConfigMap Shop/a: metadata.namespace 'Shop' must be a DNS-1123 label",
        ),
        (obj("ConfigMap", "a", namespace=5), "metadata.namespace must be a string, found a number"),
        (
            obj("ClusterRole", "view", api_version="rbac.authorization.k8s.io/v1", namespace="shop"),
            "ClusterRole is cluster-scoped and must not set metadata.namespace ('shop')",
        ),
        (obj("Namespace", "shop", namespace="shop"), "Namespace is cluster-scoped"),
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name", "a"]}, "metadata must be a mapping"),
    ],
)
def test_identity_rules(o: dict[str, Any], expected: str) -> None:
    found = messages(o)
    assert len(found) == 1, found
    assert expected in found[0]


def test_not_a_mapping() -> None:
    assert messages(["a"]) == ["app.yaml:3: expected an object (a mapping), found a list"]


def test_labels_and_annotations() -> None:
    o = obj("ConfigMap", "a", namespace="shop")
    o["metadata"]["labels"] = {
        "good/key": "ok",
        "bad key": "x",
        "tier": "front end",
        "enabled": True,
        "a/": "x",
    }
    o["metadata"]["annotations"] = {"note": "any text, spaces fine", "replicas": 3, "Bad_/x": "y"}
    assert messages(o) == [
        "app.yaml:3: v1 ConfigMap shop/a: label key 'bad key': name part must consist of letters, digits, "
        "'-', '_' or '.', starting and ending with a letter or digit",
        "app.yaml:3: v1 ConfigMap shop/a: label 'tier' value 'front end' must be empty or letters, digits, "
        "'-', '_' or '.', starting and ending with a letter or digit",
        "app.yaml:3: v1 ConfigMap shop/a: label 'enabled' must be a string, found a boolean: quote it "
        "(YAML reads yes/no/on/off/true/false unquoted as booleans)",
        "app.yaml:3: v1 ConfigMap shop/a: label key 'a/': name part must not be empty",
        "app.yaml:3: v1 ConfigMap shop/a: annotation 'replicas' must be a string, found a number: quote it "
        "(YAML reads unquoted numbers such as 0755 or 1.10 as numbers)",
        "app.yaml:3: v1 ConfigMap shop/a: annotation key 'Bad_/x': prefix part must be a DNS-1123 subdomain: "
        "lower case letters, digits, '-' and '.', starting and ending with a letter or digit",
    ]


def test_oversized_annotations() -> None:
    o = obj("ConfigMap", "a")
    o["metadata"]["annotations"] = {"big": "x" * (256 * 1024)}
    assert messages(o) == [
        "app.yaml:3: v1 ConfigMap a: annotations total 262147 bytes, over the limit of 262144 bytes"
    ]


def test_configmap_data_must_be_strings_and_says_quoting_fixes_it() -> None:
    o = obj(
        "ConfigMap",
        "a",
        data={"enabled": True, "mode": 493, "name": "ok", "bad key": "x"},
        binaryData={"b": "!!"},
    )
    assert messages(o) == [
        "app.yaml:3: v1 ConfigMap a: data.enabled must be a string, found a boolean (True): quote the value "
        "(YAML reads yes/no/on/off/true/false unquoted as booleans)",
        "app.yaml:3: v1 ConfigMap a: data.mode must be a string, found a number (493): quote the value "
        "(YAML reads unquoted numbers such as 0755 or 1.10 as numbers)",
        "app.yaml:3: v1 ConfigMap a: data key 'bad key' must consist of letters, digits, '-', '_' or '.' (at most 253)",
        "app.yaml:3: v1 ConfigMap a: binaryData.b is not valid base64",
    ]


def test_secret_problems_never_show_values() -> None:
    o = obj("Secret", "creds", data={"password": 987654321, "token": "not base64!"}, stringData={"pin": 4242})
    found = messages(o)
    assert found == [
        "app.yaml:3: v1 Secret creds: data.password must be a string, found a number: quote the value "
        "(YAML reads unquoted numbers such as 0755 or 1.10 as numbers)",
        "app.yaml:3: v1 Secret creds: data.token is not valid base64 (use stringData for plain text)",
        "app.yaml:3: v1 Secret creds: stringData.pin must be a string, found a number: quote the value "
        "(YAML reads unquoted numbers such as 0755 or 1.10 as numbers)",
    ]
    assert not any(secret in line for line in found for secret in ("987654321", "not base64!", "4242"))


def test_what_yaml_read_but_json_cannot_hold() -> None:
    spec = {"triggers": [{True: "push"}], 1: "one", "blob": b"\x00", "tags": {"a"}, "ratio": float("nan")}
    o = obj("Widget", "w", api_version="example.com/v1", spec=spec)
    assert messages(o) == [
        "app.yaml:3: example.com/v1 Widget w: key True in spec.triggers[0] is a boolean, not a string: quote it "
        "(YAML reads yes/no/on/off/true/false unquoted as booleans)",
        "app.yaml:3: example.com/v1 Widget w: key 1 in spec is a number, not a string: quote it "
        "(YAML reads unquoted numbers such as 0755 or 1.10 as numbers)",
        "app.yaml:3: example.com/v1 Widget w: spec.blob is a bytes (a YAML tag such as !!binary or !!set), "
        "which JSON cannot hold",
        "app.yaml:3: example.com/v1 Widget w: spec.tags is a set (a YAML tag such as !!binary or !!set), "
        "which JSON cannot hold",
        "app.yaml:3: example.com/v1 Widget w: spec.ratio is nan, which JSON cannot hold",
    ]


def test_crd_name_must_be_plural_dot_group() -> None:
    o = obj(
        "CustomResourceDefinition",
        "widget.example.com",
        api_version="apiextensions.k8s.io/v1",
        spec={"group": "example.com", "names": {"plural": "widgets", "kind": "Widget"}},
    )
    assert messages(o) == [
        "app.yaml:3: apiextensions.k8s.io/v1 CustomResourceDefinition widget.example.com: "
        "metadata.name must be spec.names.plural + '.' + spec.group (widgets.example.com)"
    ]


def test_duplicates_compare_group_kind_namespace_name_not_version() -> None:
    def manifest(api_version: str, kind: str, namespace: str, file: str) -> Manifest:
        return Manifest(obj(kind, "web", api_version=api_version, namespace=namespace), Origin(file, line=1))

    manifests = [
        manifest("apps/v1", "Deployment", "shop", "a.yaml"),
        manifest("apps/v1beta2", "Deployment", "shop", "b.yaml"),
        manifest("apps/v1", "Deployment", "other", "c.yaml"),
        manifest("v1", "Service", "shop", "d.yaml"),
        manifest("extensions/v1beta1", "Deployment", "shop", "e.yaml"),
    ]
    assert [str(p) for p in validate(manifests)] == [
        "b.yaml:1: apps/v1beta2 Deployment shop/web: defined twice: also at a.yaml:1",
    ]


def test_duplicate_across_files_names_both_origins(write_tree: WriteTree) -> None:
    root = write_tree({"a.yaml": configmap("web"), "sub/b.yaml": "---\n" + configmap("web")})
    with pytest.raises(RenderError) as caught:
        render(root)
    assert [str(p) for p in caught.value.problems] == [
        "sub/b.yaml:2: v1 ConfigMap shop/web: defined twice: also at a.yaml:1"
    ]
