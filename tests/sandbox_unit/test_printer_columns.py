"""The sandbox's Table output for custom resources with additionalPrinterColumns (pure)."""

from __future__ import annotations

from gitops.sandbox.tables import as_table, columns_for, json_path

OBJECT = {
    "metadata": {"name": "web", "creationTimestamp": "2020-01-01T00:00:00Z"},
    "status": {"result": "Synced", "conditions": [{"type": "Reconciling", "status": "True"},
                                                   {"type": "Ready", "status": "False"}]},
}


def test_json_path_follows_fields_and_filters() -> None:
    assert json_path(OBJECT, ".status.result") == "Synced"
    assert json_path(OBJECT, '.status.conditions[?(@.type=="Ready")].status') == "False"
    assert json_path(OBJECT, ".status.missing") is None


def test_columns_of_a_custom_resource() -> None:
    columns = [{"name": "Sync", "type": "string", "jsonPath": ".status.result"},
               {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
               {"name": "Revision", "type": "string", "jsonPath": ".status.lastAppliedRevision"},
               {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
    table = as_table({"items": [OBJECT], "metadata": {}}, columns_for("gitops.io", "applications", columns))
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Sync", "Ready", "Revision", "Age"]
    name, sync, ready, revision, age = table["rows"][0]["cells"]
    assert (name, sync, ready, revision) == ("web", "Synced", "False", None)
    assert age.startswith("6y") or age.startswith("7y")  # created 2020-01-01
