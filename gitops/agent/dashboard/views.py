"""From the provider's data to what the pages and the JSON API show. Pure: no I/O.

Change sets go through :func:`gitops.report.mask` first (Secret values read ``***``), and objects
are worded like the CLI's text report: the same action words, field change lines and YAML diffs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitops.agent.dashboard.model import AppDetail, AppSummary
from gitops.agent.status import HistoryEntry
from gitops.changeset import Action, ChangeSet, Entry
from gitops.report import _common as common
from gitops.report import mask, to_dict

MARKERS = {Action.CREATE: "+", Action.UPDATE: "~", Action.PRUNE: "-", Action.FAILED: "!", Action.SKIPPED: " "}


# --- JSON ---------------------------------------------------------------------------------------


def summary_document(summary: AppSummary) -> dict[str, Any]:
    return {
        "name": summary.name,
        "namespace": summary.namespace or None,
        "result": summary.result,
        "health": summary.health,
        "revision": summary.revision or None,
        "drifted": summary.drifted,
        "lastSyncTime": summary.last_sync_time or None,
        "message": summary.message,
        "replica": summary.replica or None,
        "lastAppliedRevision": summary.last_applied_revision or None,
        "lastAttemptTime": summary.last_attempt_time or None,
        "source": summary.source,
        "path": summary.path,
    }


def detail_document(detail: AppDetail) -> dict[str, Any]:
    """The summary plus ``changes`` (objects of the last change set that are not unchanged, each with
    its field changes and YAML diff), ``changeSet`` (when and what it was) and ``history``. When another
    replica holds the change set, ``changes`` lists what its last sync wrote (object and action only)."""
    document = summary_document(detail.summary)
    document["changeSet"] = None
    document["changes"] = []
    cs = detail.changeset
    if cs is not None:
        masked = mask(cs)
        entries = to_dict(cs)["entries"]  # masks on its own
        document["changeSet"] = {
            "time": detail.changeset_time or None,
            "revision": cs.revision,
            "kind": "sync" if detail.changeset_synced else "plan",
            "summary": common.summary_line(masked),
            "counts": cs.counts(),
            "errors": list(masked.errors),
        }
        document["changes"] = [
            {"object": str(entry.ref), **data, "diff": common.unified_diff(entry)}
            for entry, data in zip(masked.entries, entries, strict=True)
            if entry.action is not Action.UNCHANGED
        ]
    else:
        document["changes"] = [
            {"object": entry.get("object", ""), "action": entry.get("action", "")} for entry in detail.recorded_changes
        ]
    document["history"] = [history_document(entry) for entry in detail.history]
    return document


def history_document(entry: HistoryEntry) -> dict[str, Any]:
    data = entry.data()
    return {
        "time": data["time"],
        "revision": data["revision"] or None,
        "result": data["result"],
        "counts": {key: data[key] for key in ("created", "updated", "pruned", "drifted", "failed")},
        "message": data["message"],
    }


# --- HTML ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRow:
    path: str
    before: str
    after: str
    manager: str
    """``kubectl-edit (Update)``: who last wrote the live value; "" when unknown."""


@dataclass(frozen=True)
class DiffLine:
    text: str
    kind: str
    """``add``, ``del``, ``hunk``, ``file`` or ``same``: the CSS class."""


@dataclass(frozen=True)
class ObjectView:
    """One object of a change set, worded as the CLI's text report words it."""

    anchor: str
    marker: str
    action: str
    """``update``, ``updated``, ``create (not applied)``..."""
    kind: str
    """The action's CSS class: ``create``, ``update``, ``prune``, ``failed``, ``skipped``."""
    ref: str
    where: str
    fields: tuple[FieldRow, ...]
    problem: str
    """Why it failed or was skipped."""
    health: str
    diff: tuple[DiffLine, ...]


@dataclass(frozen=True)
class ChangeSetView:
    heading: str
    """``Sync at 2026-01-01 12:00:00Z, revision 3f2a1bc``."""
    summary: str
    objects: tuple[ObjectView, ...]
    unchanged: tuple[str, ...]
    errors: tuple[str, ...]


def changeset_view(cs: ChangeSet, *, time: str, synced: bool) -> ChangeSetView:
    cs = mask(cs)
    objects = tuple(
        _object_view(cs, index, entry) for index, entry in enumerate(cs.entries) if entry.action is not Action.UNCHANGED
    )
    verb = "Sync" if synced else "Plan"
    when = f" at {display_time(time)}" if time else ""
    return ChangeSetView(
        heading=f"{verb}{when}, revision {common.revision_text(cs)}",
        summary=common.summary_line(cs),
        objects=objects,
        unchanged=tuple(str(entry.ref) for entry in cs.entries if entry.action is Action.UNCHANGED),
        errors=tuple(cs.errors),
    )


def _object_view(cs: ChangeSet, index: int, entry: Entry) -> ObjectView:
    problem = ""
    if entry.action is Action.FAILED:
        problem = f"{entry.reason}: {entry.error}" if entry.reason else entry.error or "failed"
    elif entry.action is Action.SKIPPED:
        problem = entry.reason or "no reason given"
    return ObjectView(
        anchor=f"object-{index}",
        marker=MARKERS[entry.action],
        action=common.action_word(cs, entry),
        kind=entry.action.value,
        ref=str(entry.ref),
        where=common.where(entry),
        fields=tuple(
            FieldRow(
                path=change.path,
                before=common.format_value(change.before),
                after=common.format_value(change.after),
                manager=f"{change.manager} ({change.operation})" if change.manager and change.operation
                else change.manager or "",
            )
            for change in entry.changes
        ),
        problem=problem,
        health=common.health_text(entry),
        diff=tuple(DiffLine(line, _diff_kind(line)) for line in common.unified_diff(entry)),
    )


def _diff_kind(line: str) -> str:
    if line.startswith(("---", "+++")):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "del"
    return "same"


def display_time(value: str) -> str:
    """``2026-01-01T12:00:00Z`` -> ``2026-01-01 12:00:00Z``; "" stays ""."""
    return value.replace("T", " ", 1)


def short_revision(revision: str) -> str:
    return revision[: common.SHORT_SHA]


def state_class(value: str) -> str:
    """The CSS class that colours a sync result or health status."""
    return {
        "Synced": "good", "Healthy": "good",
        "OutOfSync": "warn", "Progressing": "warn",
        "Failed": "bad", "Degraded": "bad", "Missing": "bad",
    }.get(value, "none")
