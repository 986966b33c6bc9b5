"""Wording and diffs shared by the text and Markdown formats. Pure: no I/O."""

from __future__ import annotations

import difflib
import json
from typing import Any

import yaml

from gitops.changeset import Action, ChangeSet, Entry, FieldChange
from gitops.report.masking import AFTER, BEFORE, MASK

SHORT_SHA = 7

PLANNED = {
    Action.CREATE: "to create",
    Action.UPDATE: "to update",
    Action.ADOPT: "to adopt",
    Action.PRUNE: "to prune",
    Action.UNCHANGED: "unchanged",
    Action.SKIPPED: "skipped",
    Action.FAILED: "failed",
}
DONE = {
    Action.CREATE: "created",
    Action.UPDATE: "updated",
    Action.ADOPT: "adopted",
    Action.PRUNE: "pruned",
    Action.UNCHANGED: "unchanged",
    Action.SKIPPED: "skipped",
    Action.FAILED: "failed",
}
NOT_APPLIED = "not applied"
VALUE_WIDTH = 80


def past_tense(cs: ChangeSet) -> bool:
    """A sync that ran (not a plan, diff or dry run) reports what it did."""
    return not cs.dry_run


def summary_counts(cs: ChangeSet) -> list[tuple[str, int]]:
    """(label, count) in reading order, zero counts left out.

    After a sync, changes it did not carry out (a later wave after a failure) count as "not applied".
    """
    labels = DONE if past_tense(cs) else PLANNED
    counts = {label: 0 for label in (*labels.values(), NOT_APPLIED)}
    for entry in cs.entries:
        pending = past_tense(cs) and entry.changed and not entry.done
        counts[NOT_APPLIED if pending else labels[entry.action]] += 1
    order = [labels[action] for action in (Action.CREATE, Action.UPDATE, Action.ADOPT, Action.PRUNE)]
    order += [NOT_APPLIED, *(labels[a] for a in (Action.UNCHANGED, Action.SKIPPED, Action.FAILED))]
    return [(label, counts[label]) for label in order if counts[label]]


def summary_line(cs: ChangeSet) -> str:
    """``2 to create, 1 to update, 40 unchanged``; ``in sync: 40 unchanged`` when nothing differs."""
    counted = ", ".join(f"{count} {label}" for label, count in summary_counts(cs)) or "no objects"
    return f"in sync: {counted}" if cs.in_sync and not cs.failed else counted


def status_word(cs: ChangeSet) -> str:
    if cs.failed:
        return "failed"
    if cs.in_sync:
        return "in sync"
    return "synced" if past_tense(cs) else "out of sync"


def revision_text(cs: ChangeSet) -> str:
    if not cs.revision:
        return "none (not a Git work tree)"
    short = cs.revision[:SHORT_SHA]
    return f"{short}-dirty (uncommitted changes)" if cs.dirty else short


def source_text(cs: ChangeSet) -> str:
    return f"{cs.source}, path {cs.path}" if cs.path else cs.source


def action_word(cs: ChangeSet, entry: Entry) -> str:
    if not past_tense(cs):
        return "would prune" if entry.action is Action.PRUNE else entry.action.value
    if entry.changed and not entry.done:
        return f"{entry.action.value} ({NOT_APPLIED})"
    return DONE[entry.action]


def where(entry: Entry) -> str:
    """``apps/web.yaml:3, wave 2``: where the object is defined in Git, and its wave when not 0."""
    parts = [str(entry.origin)] if entry.origin else []
    if entry.wave:
        parts.append(f"wave {entry.wave}")
    return ", ".join(parts)


def format_value(value: Any) -> str:
    if value is None:
        return "(absent)"
    if value in (MASK, BEFORE, AFTER):
        return value
    rendered = json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))
    return rendered if len(rendered) <= VALUE_WIDTH else rendered[: VALUE_WIDTH - 3] + "..."


def describe_change(change: FieldChange) -> str:
    """``spec.replicas: 5 -> 3 (live value last written by kubectl-edit, Update)``."""
    line = f"{change.path}: {format_value(change.before)} -> {format_value(change.after)}"
    if change.manager:
        operation = f", {change.operation}" if change.operation else ""
        line += f" (live value last written by {change.manager}{operation})"
    return line


def health_text(entry: Entry) -> str:
    if entry.health is None:
        return ""
    return f"{entry.health.value}: {entry.health_message}" if entry.health_message else entry.health.value


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Block style, multi-line strings as literal blocks (readable diffs), never anchors or aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: _Dumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


def to_yaml(obj: Any) -> str:
    return yaml.dump(
        obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096
    )


def unified_diff(entry: Entry, baseline: str = "live") -> list[str]:
    """The object's YAML as live (``-``, labelled ``baseline``) against desired (``+``); a create or a
    prune diffs against nothing."""
    before = to_yaml(entry.live).splitlines() if entry.live is not None else []
    after = to_yaml(entry.desired).splitlines() if entry.desired is not None else []
    if before == after:
        return []
    git = f"git {entry.origin}" if entry.origin else "git"
    return list(
        difflib.unified_diff(
            before,
            after,
            fromfile=f"{baseline} {entry.ref.short}" if entry.live is not None else f"{baseline} (absent)",
            tofile=f"{git} {entry.ref.short}" if entry.desired is not None else f"{git} (absent)",
            lineterm="",
        )
    )
