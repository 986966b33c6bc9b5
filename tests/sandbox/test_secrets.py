"""Secrets as the API server stores them: stringData merged into base64 data on every write path."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from kubernetes.dynamic.exceptions import BadRequestError


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(namespace: str, **fields: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": namespace},
        **fields,
    }


@pytest.fixture(scope="module")
def secrets(cluster: Any) -> Any:
    return cluster.dynamic().resources.get(api_version="v1", kind="Secret")


def fields_of(obj: dict[str, Any], manager: str) -> dict[str, Any]:
    (entry,) = [e for e in obj["metadata"]["managedFields"] if e["manager"] == manager]
    return entry["fieldsV1"]


def test_create_merges_string_data_into_data_and_defaults_the_type(secrets, namespace):
    created = secrets.create(
        body=secret(namespace, data={"user": b64("old"), "keep": b64("kept")}, stringData={"user": "admin"}),
        namespace=namespace,
    ).to_dict()
    read = secrets.get(name="creds", namespace=namespace).to_dict()
    for obj in (created, read):
        assert obj["data"] == {"user": b64("admin"), "keep": b64("kept")}
        assert "stringData" not in obj
        assert obj["type"] == "Opaque"


def test_update_and_patches_merge_string_data(secrets, namespace):
    secrets.create(body=secret(namespace, data={"a": b64("1")}), namespace=namespace)
    live = secrets.get(name="creds", namespace=namespace).to_dict()
    live["stringData"] = {"b": "2"}
    replaced = secrets.replace(body=live, namespace=namespace).to_dict()
    assert replaced["data"] == {"a": b64("1"), "b": b64("2")}
    merged = secrets.patch(
        name="creds",
        namespace=namespace,
        body={"stringData": {"a": "one"}},
        content_type="application/merge-patch+json",
        field_manager="merger",
    ).to_dict()
    assert merged["data"] == {"a": b64("one"), "b": b64("2")}
    assert "stringData" not in merged
    # An Update's managed fields are computed on the stored object: they name data, not stringData.
    assert fields_of(merged, "merger") == {"f:data": {"f:a": {}}}
    strategic = secrets.patch(
        name="creds",
        namespace=namespace,
        body={"stringData": {"c": "3"}},
        content_type="application/strategic-merge-patch+json",
    ).to_dict()
    assert strategic["data"] == {"a": b64("one"), "b": b64("2"), "c": b64("3")}
    json_patched = secrets.patch(
        name="creds",
        namespace=namespace,
        body=[{"op": "add", "path": "/stringData", "value": {"c": "three"}}],
        content_type="application/json-patch+json",
    ).to_dict()
    assert json_patched["data"]["c"] == b64("three")
    assert "stringData" not in secrets.get(name="creds", namespace=namespace).to_dict()


def test_server_side_apply_merges_string_data_and_the_applier_owns_it(secrets, namespace):
    applied = secrets.server_side_apply(
        body=secret(namespace, stringData={"user": "admin", "pass": "s3cret"}),
        name="creds",
        namespace=namespace,
        field_manager="applier",
    ).to_dict()
    assert applied["data"] == {"user": b64("admin"), "pass": b64("s3cret")}
    assert "stringData" not in applied
    # The apply is merged before conversion, so the applier owns stringData keys and no one owns data.
    owned = fields_of(applied, "applier")
    assert owned["f:stringData"] == {"f:pass": {}, "f:user": {}}
    assert "f:data" not in owned
    # Hence kubernetes/kubernetes#108008: a key dropped from stringData stays in data.
    renamed = secrets.server_side_apply(
        body=secret(namespace, stringData={"username": "admin", "pass": "s3cret"}),
        name="creds",
        namespace=namespace,
        field_manager="applier",
    ).to_dict()
    assert renamed["data"] == {"user": b64("admin"), "username": b64("admin"), "pass": b64("s3cret")}


def test_data_must_be_base64(secrets, namespace):
    with pytest.raises(BadRequestError) as raised:
        secrets.create(body=secret(namespace, data={"user": "admin"}), namespace=namespace)
    status = json.loads(raised.value.body)
    assert status["reason"] == "BadRequest"
    assert status["message"].startswith('Secret in version "v1" cannot be handled as a Secret: ')
    assert status["message"].endswith("illegal base64 data at input byte 4")
    assert secrets.get(namespace=namespace).to_dict()["items"] == []
