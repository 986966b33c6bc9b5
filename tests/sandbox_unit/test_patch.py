"""Merge patch, JSON patch and strategic merge patch, with the API server's error codes."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from gitops.sandbox.patch import PatchError, json_merge_patch, json_patch, strategic_merge_patch

DEPLOYMENT = ("apps", "v1", "Deployment")


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [  # RFC 7386 appendix A
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_json_merge_patch(target: dict[str, Any], patch: dict[str, Any], result: dict[str, Any]) -> None:
    assert json_merge_patch(target, patch) == result


def test_json_patch_operations() -> None:
    doc = {"metadata": {"labels": {"a": "1"}}, "spec": {"list": [1, 2]}}
    ops = [
        {"op": "test", "path": "/metadata/labels/a", "value": "1"},
        {"op": "add", "path": "/metadata/labels/b~1c", "value": "2"},
        {"op": "replace", "path": "/spec/list/0", "value": 9},
        {"op": "add", "path": "/spec/list/-", "value": 3},
        {"op": "remove", "path": "/metadata/labels/a"},
        {"op": "copy", "from": "/spec/list", "path": "/spec/copy"},
        {"op": "move", "from": "/spec/copy", "path": "/spec/moved"},
    ]

    assert json_patch(doc, ops) == {
        "metadata": {"labels": {"b/c": "2"}},
        "spec": {"list": [9, 2, 3], "moved": [9, 2, 3]},
    }
    assert doc["spec"]["list"] == [1, 2]


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "test", "path": "/a", "value": 2}],
        [{"op": "remove", "path": "/missing"}],
        [{"op": "replace", "path": "/missing", "value": 1}],
        [{"op": "add", "path": "/list/5", "value": 1}],
        [{"op": "jump", "path": "/a"}],
    ],
)
def test_json_patch_that_does_not_apply_is_422(ops: list[dict[str, Any]]) -> None:
    with pytest.raises(PatchError) as caught:
        json_patch({"a": 1, "list": []}, ops)

    assert (caught.value.code, caught.value.reason, caught.value.message) == (
        422,
        "Invalid",
        "the server rejected our request due to an error in our request",
    )


def test_malformed_json_patch_is_400() -> None:
    with pytest.raises(PatchError) as caught:
        json_patch({}, {"op": "add"})
    assert (caught.value.code, caught.value.reason) == (400, "BadRequest")
    assert caught.value.message == "json: cannot unmarshal object into Go value of type jsonpatch.Patch"


def live_deployment() -> dict[str, Any]:
    return yaml.safe_load(
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, finalizers: [a]}
        spec:
          replicas: 1
          strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1}}
          template:
            spec:
              containers:
              - name: web
                image: nginx:1
                args: [a, b]
                env: [{name: A, value: "1"}, {name: B, value: "2"}]
              - name: side
                image: busybox
              tolerations: [{key: x}]
        """
    )


def test_strategic_merge_merges_keyed_lists_and_replaces_others() -> None:
    patch = {
        "metadata": {"finalizers": ["b"]},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:2",
                            "args": ["c"],
                            "env": [{"name": "C", "value": "3"}],
                        }
                    ],
                    "tolerations": [{"key": "y"}],
                }
            }
        },
    }

    result = strategic_merge_patch(live_deployment(), patch, DEPLOYMENT)

    containers = result["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["web", "side"]
    assert containers[0]["image"] == "nginx:2"
    assert containers[0]["args"] == ["c"]
    # New items come first (strategicpatch normalizeElementOrder; measured on v1.28.7).
    assert [e["name"] for e in containers[0]["env"]] == ["C", "A", "B"]
    assert result["spec"]["template"]["spec"]["tolerations"] == [{"key": "y"}]
    assert result["metadata"]["finalizers"] == ["b", "a"]


def test_strategic_merge_directives() -> None:
    patch = {
        "spec": {
            "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
            "template": {
                "spec": {
                    "containers": [
                        {"name": "side", "$patch": "delete"},
                        {"name": "web", "env": [{"name": "A", "$patch": "delete"}]},
                    ]
                }
            },
        },
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]},
    }

    result = strategic_merge_patch(live_deployment(), patch, DEPLOYMENT)

    assert result["spec"]["strategy"] == {"type": "Recreate"}
    containers = result["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["web"]
    assert containers[0]["env"] == [{"name": "B", "value": "2"}]
    assert result["metadata"]["finalizers"] == []


def test_strategic_merge_replace_directive() -> None:
    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "only", "image": "x"}, {"$patch": "replace"}]}}
        }
    }

    result = strategic_merge_patch(live_deployment(), patch, DEPLOYMENT)

    assert result["spec"]["template"]["spec"]["containers"] == [{"name": "only", "image": "x"}]


def test_strategic_merge_on_custom_resources_is_415() -> None:
    with pytest.raises(PatchError) as caught:
        strategic_merge_patch({}, {}, ("example.com", "v1", "Widget"))
    assert (caught.value.code, caught.value.reason) == (415, "UnsupportedMediaType")
