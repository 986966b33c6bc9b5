"""Machine-readable reports: the versioned ``gitops.io/changeset/v1`` document as dict, JSON or YAML.

The schema is ``changeset.schema.json`` beside this module (JSON Schema draft 2020-12); every field is
documented there. Adding optional fields keeps ``v1``; removing or changing one needs ``v2``. Pure.
"""

from __future__ import annotations

import json as jsonlib
from typing import Any

import yaml as yamllib

from gitops import jsoncodec
from gitops.changeset import ChangeSet, Entry, FieldChange
from gitops.masking import mask
from gitops.objects import ObjectRef, Origin

SCHEMA_VERSION = "gitops.io/changeset/v1"


def to_dict(cs: ChangeSet) -> dict[str, Any]:
    """The change set as plain JSON data (Secret values masked)."""
    # Field values come from manifests and may hold YAML-only types (dates); make them plain JSON.
    return jsonlib.loads(jsonlib.dumps(_document(cs), default=str))


def json(cs: ChangeSet) -> str:
    # Straight from the document: the same text as dumping to_dict(cs), without its round trip.
    return jsoncodec.dumps_pretty(_document(cs)) + "\n"


def yaml(cs: ChangeSet) -> str:
    return yamllib.safe_dump(to_dict(cs), sort_keys=False, allow_unicode=True, default_flow_style=False)


def _document(cs: ChangeSet) -> dict[str, Any]:
    """The versioned document, Secret values masked; values may still need ``default=str`` to be JSON."""
    cs = mask(cs)
    return {
        "schemaVersion": SCHEMA_VERSION,
        "source": cs.source,
        "revision": cs.revision,
        "path": cs.path,
        "dirty": cs.dirty,
        "dryRun": cs.dry_run,
        "inSync": cs.in_sync,
        "failed": cs.failed,
        "summary": cs.counts(),
        "entries": [_entry(entry) for entry in cs.entries],
        "errors": list(cs.errors),
    }


def _entry(entry: Entry) -> dict[str, Any]:
    return {
        "ref": _ref(entry.ref),
        "action": entry.action.value,
        "done": entry.done,
        "orphan": entry.orphan,
        "origin": _origin(entry.origin),
        "wave": entry.wave,
        "changes": [_change(change) for change in entry.changes],
        "reason": entry.reason,
        "error": entry.error,
        "health": (
            {"status": entry.health.value, "message": entry.health_message}
            if entry.health is not None
            else None
        ),
    }


def _ref(ref: ObjectRef) -> dict[str, str]:
    return {
        "group": ref.group,
        "version": ref.version,
        "kind": ref.kind,
        "namespace": ref.namespace,
        "name": ref.name,
    }


def _origin(origin: Origin | None) -> dict[str, Any] | None:
    if origin is None:
        return None
    return {"file": origin.file, "document": origin.document, "line": origin.line}


def _change(change: FieldChange) -> dict[str, Any]:
    return {
        "path": change.path,
        "before": change.before,
        "after": change.after,
        "manager": change.manager,
        "operation": change.operation,
    }
