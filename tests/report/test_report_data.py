"""JSON and YAML reports: the versioned document, validated against the shipped JSON Schema."""

from __future__ import annotations

import datetime
import json
from importlib import resources

import jsonschema
import pytest
import yaml
from report_samples import SHA, in_sync, plan, synced

from gitops import report
from gitops.changeset import Action, ChangeSet, Entry, FieldChange
from gitops.objects import ObjectRef


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = report.schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_ships_as_package_data() -> None:
    text = resources.files("gitops.report").joinpath("changeset.schema.json").read_text("utf-8")
    assert json.loads(text)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("build", [plan, synced, in_sync])
def test_documents_validate(validator: jsonschema.Draft202012Validator, build) -> None:
    validator.validate(report.to_dict(build()))
    validator.validate(json.loads(report.json(build())))
    validator.validate(yaml.safe_load(report.yaml(build())))


def test_schema_rejects_what_it_should(validator: jsonschema.Draft202012Validator) -> None:
    """The schema is strict enough to catch a renamed field or an unknown action."""
    document = report.to_dict(plan())
    document["entries"][0]["action"] = "replace"
    assert not validator.is_valid(document)
    document = report.to_dict(plan())
    document["dry_run"] = document.pop("dryRun")
    assert not validator.is_valid(document)


def test_document_top_level() -> None:
    document = report.to_dict(plan())
    assert {
        key: document[key] for key in ("schemaVersion", "source", "revision", "path", "dirty", "dryRun")
    } == {
        "schemaVersion": "gitops.io/changeset/v1",
        "source": "https://github.com/acme/deploy",
        "revision": SHA,
        "path": "apps",
        "dirty": True,
        "dryRun": True,
    }
    assert document["summary"] == {
        "create": 2,
        "update": 2,
        "adopt": 0,
        "unchanged": 40,
        "prune": 1,
        "skipped": 1,
        "failed": 1,
    }
    assert (document["inSync"], document["failed"]) == (False, True)
    assert len(document["entries"]) == 47


def test_entry_fields() -> None:
    entries = report.to_dict(synced())["entries"]
    assert entries[1] == {
        "ref": {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "shop", "name": "web"},
        "action": "update",
        "done": True,
        "orphan": False,
        "origin": {"file": "apps/web.yaml", "document": 0, "line": 1},
        "wave": 1,
        "changes": [
            {
                "path": "spec.replicas",
                "before": 5,
                "after": 3,
                "manager": "kubectl-edit",
                "operation": "Update",
            },
            {
                "path": "spec.template.spec.containers[name=web].image",
                "before": "nginx:1.24",
                "after": "nginx:1.25",
                "manager": None,
                "operation": None,
            },
        ],
        "reason": "",
        "error": "",
        "health": {
            "status": "Progressing",
            "message": 'Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...',
        },
    }
    assert entries[2]["origin"] is None
    assert entries[-1]["reason"] == "Conflict"
    assert entries[-1]["error"] == "conflict with helm"


def test_run_errors_and_in_sync() -> None:
    assert report.to_dict(synced())["errors"] == ["health: timed out after 300s waiting for 1 object"]
    document = report.to_dict(in_sync())
    assert (document["inSync"], document["failed"], document["revision"]) == (True, False, None)


def test_yaml_holds_the_same_data_as_json() -> None:
    assert yaml.safe_load(report.yaml(plan())) == json.loads(report.json(plan()))


def test_values_that_are_not_json_become_strings(validator: jsonschema.Draft202012Validator) -> None:
    """YAML 1.1 dates in a manifest must not crash the JSON report."""
    entry = Entry(
        ref=ObjectRef(group="", kind="ConfigMap", namespace="a", name="b", version="v1"),
        action=Action.UPDATE,
        changes=[FieldChange("data.day", None, datetime.date(2026, 1, 1))],
    )
    document = report.to_dict(ChangeSet(source="/s", revision=None, entries=[entry]))
    assert document["entries"][0]["changes"][0]["after"] == "2026-01-01"
    validator.validate(document)


def test_public_names_are_exported() -> None:
    assert sorted(report.__all__) == [
        "SCHEMA_VERSION",
        "json",
        "markdown",
        "mask",
        "schema",
        "text",
        "to_dict",
        "yaml",
    ]
    assert all(callable(getattr(report, name)) for name in report.__all__ if name != "SCHEMA_VERSION")
