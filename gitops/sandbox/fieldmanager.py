"""Server-side apply and managedFields as kube-apiserver's field manager computes them.

Pure. ``apply`` is ``PATCH`` with ``application/apply-patch+yaml``; ``update`` records the ``Update`` manager
of a create, update or non-apply patch. Both return the new object with ``metadata.managedFields`` encoded
in ``FieldsV1``. Follows k8s.io/apimachinery/pkg/util/managedfields/internal (fieldmanager chain: strip
meta, managed-fields updater, skip-non-applied "before-first-apply", managers cap "ancient-changes") and
sigs.k8s.io/structured-merge-diff/v4/merge/update.go (conflicts, pruning of fields a manager stops applying).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from gitops.sandbox import fieldpath as fp
from gitops.sandbox import typed
from gitops.sandbox.builtin_schema import STATUS_SUBRESOURCE_KINDS, type_for
from gitops.sandbox.fieldpath import FieldSet, Path
from gitops.sandbox.status import ApiStatus

__all__ = ["ApplyConflict", "ApplyError", "ManagedFieldsError", "apply", "decode_managed_fields", "update"]

APPLY = "Apply"
UPDATE = "Update"
BEFORE_FIRST_APPLY = "before-first-apply"
ANCIENT_CHANGES = "ancient-changes"
MAX_UPDATE_MANAGERS = 10
KUBECTL = "kubectl"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# stripmeta.go: fields no manager ever owns.
_STRIPPED: frozenset[Path] = frozenset(
    {
        (fp.field("apiVersion"),),
        (fp.field("kind"),),
        (fp.field("metadata"),),
        *(
            (fp.field("metadata"), fp.field(name))
            for name in (
                "name",
                "namespace",
                "creationTimestamp",
                "selfLink",
                "uid",
                "clusterName",
                "generation",
                "managedFields",
                "resourceVersion",
            )
        ),
    }
)
# Written only by the server (deletion), never through the field manager: never owned.
_SERVER_ONLY: frozenset[Path] = frozenset(
    (fp.field("metadata"), fp.field(name)) for name in ("deletionTimestamp", "deletionGracePeriodSeconds")
)
_STATUS: Path = (fp.field("status"),)


class ApplyError(ApiStatus):
    """A request the field manager refuses, with the Status the server answers with."""

    def __init__(self, message: str, *, code: int = 400, reason: str = "BadRequest") -> None:
        super().__init__(code, reason, message)


class ManagedFieldsError(ApplyError):
    """``metadata.managedFields`` could not be decoded (400 BadRequest)."""


@dataclass(frozen=True)
class ManagerKey:
    """What makes two managedFields entries the same entry (``BuildManagerIdentifier``)."""

    manager: str
    operation: str
    api_version: str
    """Only for Update entries: an applier keeps one entry whatever version it applies."""
    subresource: str

    def describe(self) -> str:
        """The manager as conflict messages print it (``printManager``)."""
        text = json.dumps(self.manager, ensure_ascii=False)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource, ensure_ascii=False)}"
        if self.operation == UPDATE:
            text += f" using {self.api_version}"
        return text


@dataclass
class Managed:
    fields: FieldSet
    api_version: str
    time: str | None

    @property
    def applied(self) -> bool:
        return False


Managers = dict[ManagerKey, Managed]


class ApplyConflict(ApiStatus):
    """Server-side apply would take fields other managers own: 409 Conflict (``errors.NewApplyConflict``),
    whose details hold only the causes."""

    def __init__(self, conflicts: list[tuple[str, str]]) -> None:
        self.conflicts = conflicts
        """(manager as printed, field path) pairs, in the order the causes list them."""
        causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {manager}", "field": path}
                  for manager, path in conflicts]
        super().__init__(409, "Conflict", self._message(conflicts), {"causes": causes})

    @staticmethod
    def _message(conflicts: list[tuple[str, str]]) -> str:
        if len(conflicts) == 1:
            manager, path = conflicts[0]
            return f"Apply failed with 1 conflict: conflict with {manager}: {path}"
        by_manager: dict[str, list[str]] = {}
        for manager, path in conflicts:
            by_manager.setdefault(manager, []).append(path)
        lines: list[str] = []
        for manager in sorted(by_manager):
            lines.append(f"conflicts with {manager}")
            lines.extend(f"- {path}" for path in by_manager[manager])
        return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)


class _Conflicts(Exception):
    """Conflicts by manager, before they are worded (kubectl may still be allowed to take them)."""

    def __init__(self, by_manager: dict[ManagerKey, FieldSet]) -> None:
        super().__init__("conflicts")
        self.by_manager = by_manager


# ---------------------------------------------------------------------------------------------- encoding


def decode_managed_fields(obj: dict[str, Any] | None) -> Managers:
    """The managers recorded in ``obj``'s ``metadata.managedFields``."""
    entries = ((obj or {}).get("metadata") or {}).get("managedFields") or []
    if not isinstance(entries, list):
        raise ManagedFieldsError("managed fields must be a list")
    managers: Managers = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise ManagedFieldsError("managed fields entries must be objects")
        operation = entry.get("operation", "")
        if operation not in (APPLY, UPDATE):
            raise ManagedFieldsError(f'invalid operation "{operation}"')
        if entry.get("fieldsType", "FieldsV1") != "FieldsV1":
            raise ManagedFieldsError(f'invalid fieldsType "{entry.get("fieldsType")}"')
        api_version = entry.get("apiVersion", "")
        manager_key = ManagerKey(
            manager=entry.get("manager", ""),
            operation=operation,
            api_version=api_version if operation == UPDATE else "",
            subresource=entry.get("subresource", ""),
        )
        try:
            fields = fp.from_fields_v1(entry.get("fieldsV1") or {})
        except (ValueError, TypeError, AttributeError) as err:
            raise ManagedFieldsError(f"error decoding fieldsV1: {err}") from err
        managers[manager_key] = Managed(fields=fields, api_version=api_version, time=entry.get("time"))
    return managers


def _is_reset(entries: Any) -> bool:
    """``managedFields: [{}]`` asks the server to drop every entry."""
    return isinstance(entries, list) and len(entries) == 1 and entries[0] == {}


def _encode(managers: Managers) -> list[dict[str, Any]]:
    entries: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    for manager_key, managed in managers.items():
        if not managed.fields:
            continue
        entry: dict[str, Any] = {"manager": manager_key.manager, "operation": manager_key.operation}
        entry["apiVersion"] = managed.api_version
        if managed.time is not None:
            entry["time"] = managed.time
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = fp.to_fields_v1(managed.fields)
        if manager_key.subresource:
            entry["subresource"] = manager_key.subresource
        # sortEncodedManagedFields: operation, time, manager, apiVersion, subresource.
        order = (
            manager_key.operation,
            managed.time or "",
            manager_key.manager,
            managed.api_version,
            manager_key.subresource,
        )
        entries.append((order, entry))
    entries.sort(key=lambda pair: pair[0])
    return [entry for _, entry in entries]


def _set_managed_fields(obj: dict[str, Any], managers: Managers) -> dict[str, Any]:
    metadata = obj.setdefault("metadata", {})
    encoded = _encode(managers)
    if encoded:
        metadata["managedFields"] = encoded
    else:
        metadata.pop("managedFields", None)
    return obj


def _without_managed_fields(obj: dict[str, Any] | None) -> dict[str, Any]:
    clean = copy.deepcopy(obj) if obj else {}
    metadata = clean.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
    return clean


# ---------------------------------------------------------------------------------------------- tracking


@dataclass(frozen=True)
class _Context:
    root: typed.Node
    api_version: str
    ignored: frozenset[Path]
    """Subtrees no manager of this request owns (the other half of a status subresource)."""
    only: frozenset[Path] | None
    """When set, the only subtrees this request's managers own (a subresource's own fields)."""

    def track(self, fields: FieldSet) -> FieldSet:
        fields = fields - _STRIPPED - _SERVER_ONLY
        fields = fp.recursive_difference(fields, self.ignored)
        if self.only is not None:
            fields = fp.only_below(fields, self.only)
        return frozenset(fields)


def _context(
    gvk: tuple[str, str, str],
    schema: dict[str, Any] | None,
    subresource: str,
    status_subresource: bool | None,
) -> _Context:
    group, version, kind = gvk
    has_status = (
        (group, kind) in STATUS_SUBRESOURCE_KINDS if status_subresource is None else status_subresource
    )
    api_version = f"{group}/{version}" if group else version
    ignored: frozenset[Path] = frozenset()
    only: frozenset[Path] | None = None
    if subresource == "status":
        only = frozenset({_STATUS})
    elif subresource == "" and has_status:
        ignored = frozenset({_STATUS})
    return _Context(type_for(group, kind, schema), api_version, ignored, only)


def _apply_changes(
    old: Any,
    new: Any,
    managers: Managers,
    current: ManagerKey,
    context: _Context,
    *,
    force: bool,
) -> tuple[Managers, typed.Comparison]:
    """Take modified fields away from other managers, or raise the conflicts (``Updater.update``)."""
    comparison = typed.compare(old, new, context.root)
    changed = context.track(frozenset(comparison.modified | comparison.added))
    removed = context.track(frozenset(comparison.removed))
    conflicts: dict[ManagerKey, FieldSet] = {}
    for manager_key, managed in managers.items():
        if manager_key == current:
            continue
        taken = managed.fields & changed
        if taken:
            conflicts[manager_key] = taken
    if conflicts and not force:
        raise _Conflicts(conflicts)
    result: Managers = {}
    for manager_key, managed in managers.items():
        fields = managed.fields
        if manager_key != current:
            fields = fields - conflicts.get(manager_key, frozenset()) - removed
        if fields:
            result[manager_key] = Managed(frozenset(fields), managed.api_version, managed.time)
    return result, comparison


def _conflict_list(conflicts: dict[ManagerKey, FieldSet]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for manager_key in sorted(
        conflicts, key=lambda k: (k.manager, k.operation, k.api_version, k.subresource)
    ):
        for path in sorted(conflicts[manager_key], key=_path_sort_key):
            out.append((manager_key.describe(), fp.path_string(path)))
    return out


def _path_sort_key(path: Path) -> tuple[Any, ...]:
    return tuple(fp.element_sort_key(element) for element in path)


def _record_update(
    old: dict[str, Any],
    new: dict[str, Any],
    managers: Managers,
    manager_key: ManagerKey,
    context: _Context,
    now: str,
) -> Managers:
    """The Update operation of ``manager_key`` (``Updater.Update`` + ``managedFieldsUpdater``)."""
    current = ManagerKey("current-operation", UPDATE, context.api_version, manager_key.subresource)
    managers, comparison = _apply_changes(old, new, managers, current, context, force=True)
    taken = context.track(frozenset(comparison.modified | comparison.added)) - comparison.removed
    if not taken:
        return managers
    previous = managers.get(manager_key)
    fields = taken | (previous.fields if previous else frozenset())
    managers[manager_key] = Managed(frozenset(fields), context.api_version, now)
    return _cap_update_managers(managers, context, now)


def _cap_update_managers(managers: Managers, context: _Context, now: str) -> Managers:
    """At most ten Update entries; the oldest merge into "ancient-changes" (capmanagers.go)."""
    updates = [key for key in managers if key.operation == UPDATE]
    if len(updates) <= MAX_UPDATE_MANAGERS:
        return managers
    updates.sort(key=lambda key: managers[key].time or "")
    excess = len(updates) - MAX_UPDATE_MANAGERS + 1
    ancient_key = ManagerKey(ANCIENT_CHANGES, UPDATE, context.api_version, "")
    fields: FieldSet = managers[ancient_key].fields if ancient_key in managers else frozenset()
    for key in updates:
        if excess == 0:
            break
        if key == ancient_key:
            continue
        fields = fields | managers.pop(key).fields
        excess -= 1
    managers[ancient_key] = Managed(frozenset(fields), context.api_version, None)
    return managers


# ---------------------------------------------------------------------------------------------- public API


def update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    manager: str,
    now: str,
    gvk: tuple[str, str, str],
    subresource: str = "",
    schema: dict[str, Any] | None = None,
    status_subresource: bool | None = None,
) -> dict[str, Any]:
    """``new`` with the Update manager ``manager`` recorded: the fields that changed since ``old`` are its.

    ``old`` is None for a create. Managed fields sent in ``new`` replace the recorded ones (as a client may
    edit them); an empty list keeps the recorded ones, ``[{}]`` clears them all. ``status_subresource``
    overrides whether the kind has a status subresource (built-in kinds are known; custom ones are not).
    """
    context = _context(gvk, schema, subresource, status_subresource)
    sent = (new.get("metadata") or {}).get("managedFields")
    if _is_reset(sent) and not subresource:
        return _without_managed_fields(new)
    managers: Managers = {}
    if sent and not subresource:
        try:
            managers = decode_managed_fields(new)
        except ManagedFieldsError:
            managers = {}  # as upstream: undecodable managed fields sent by a client fall back to the live ones
    if not managers:
        managers = decode_managed_fields(old)
    old_clean, new_clean = _without_managed_fields(old), _without_managed_fields(new)
    manager_key = ManagerKey(manager, UPDATE, context.api_version, subresource)
    managers = _record_update(old_clean, new_clean, managers, manager_key, context, now)
    return _set_managed_fields(new_clean, managers)


def apply(
    live: dict[str, Any] | None,
    config: dict[str, Any],
    *,
    manager: str,
    force: bool,
    now: str,
    gvk: tuple[str, str, str],
    schema: dict[str, Any] | None = None,
    subresource: str = "",
    status_subresource: bool | None = None,
) -> dict[str, Any]:
    """Merge the applied ``config`` into ``live`` (None: the object does not exist yet) as ``manager``.

    Raises ApplyConflict when the config changes a field another manager owns and ``force`` is false.
    ``subresource`` is ``"status"`` for applies to /status; ``status_subresource`` as for ``update``.
    """
    context = _context(gvk, schema, subresource, status_subresource)
    _check_config(config, gvk, context)
    managers = decode_managed_fields(live)
    live_clean = _without_managed_fields(live)
    if live is not None and not managers:
        # skipnonapplied.go: fields set before the first apply belong to "before-first-apply".
        first_key = ManagerKey(BEFORE_FIRST_APPLY, UPDATE, context.api_version, subresource)
        managers = _record_update({}, live_clean, managers, first_key, context, now)
    config_clean = _without_managed_fields(config)
    apply_key = ManagerKey(manager, APPLY, "", subresource)
    try:
        merged, managers = _apply_as(live_clean, config_clean, managers, apply_key, context, now, force=force)
    except _Conflicts as conflicts:
        if manager != KUBECTL:
            raise ApplyConflict(_conflict_list(conflicts.by_manager)) from None
        # lastappliedmanager.go: kubectl may take over what its client-side apply annotation owns.
        remaining = _not_allowed_by_last_applied(conflicts.by_manager, live_clean, context)
        if remaining:
            raise ApplyConflict(_conflict_list(remaining)) from None
        merged, managers = _apply_as(live_clean, config_clean, managers, apply_key, context, now, force=True)
    if manager == KUBECTL:
        _sync_last_applied(merged, config_clean)
    return _set_managed_fields(merged, managers)


def _apply_as(
    live: dict[str, Any],
    config: dict[str, Any],
    managers: Managers,
    apply_key: ManagerKey,
    context: _Context,
    now: str,
    *,
    force: bool,
) -> tuple[dict[str, Any], Managers]:
    """The structured-merge-diff Apply plus the time stamp of ``managedFieldsUpdater``."""
    managers = dict(managers)
    previous = managers.get(apply_key)
    merged = typed.merge(live, config, context.root)
    applied_fields = context.track(typed.to_field_set(config, context.root))
    # Upstream tracks the config's apiVersion/kind/metadata.name while pruning and strips them afterwards.
    pruning_fields = typed.to_field_set(config, context.root)
    managers[apply_key] = Managed(pruning_fields, context.api_version, previous.time if previous else None)
    if previous is not None:
        merged = _prune(merged, managers, apply_key, previous.fields, context.root)
    managers, _ = _apply_changes(live, merged, managers, apply_key, context, force=force)
    merged = _drop_nulls(merged)
    changed = merged != live
    # managedFieldsUpdater stamps the time only when the object changed; a no-op keeps the old stamp (or none).
    time = now if changed else (previous.time if previous else None)
    if applied_fields:
        managers[apply_key] = Managed(applied_fields, context.api_version, time)
    else:
        managers.pop(apply_key, None)
    return merged, managers


def _last_applied(obj: dict[str, Any]) -> str:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(LAST_APPLIED)
    return value if isinstance(value, str) else ""


def _not_allowed_by_last_applied(
    conflicts: dict[ManagerKey, FieldSet], live: dict[str, Any], context: _Context
) -> dict[ManagerKey, FieldSet]:
    """Conflicts outside the fields the last-applied annotation set and the live object still holds."""
    text = _last_applied(live)
    try:
        last_applied = json.loads(text) if text else None
    except ValueError:
        last_applied = None
    if not isinstance(last_applied, dict) or last_applied.get("apiVersion") != context.api_version:
        return conflicts
    comparison = typed.compare(last_applied, live, context.root)
    allowed = (
        typed.to_field_set(last_applied, context.root)
        - comparison.modified
        - comparison.added
        - comparison.removed
    )
    remaining = {key: frozenset(paths - allowed) for key, paths in conflicts.items()}
    return {key: paths for key, paths in remaining.items() if paths}


def _sync_last_applied(merged: dict[str, Any], config: dict[str, Any]) -> None:
    """lastappliedupdater.go: kubectl's server-side apply keeps an existing annotation up to date."""
    if not _last_applied(merged):
        return
    applied = copy.deepcopy(config)
    annotations = (applied.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
    # runtime.Encode writes Go's JSON (sorted keys) and a trailing newline, as client-side apply does.
    merged["metadata"]["annotations"][LAST_APPLIED] = fp.canonical_json(applied) + "\n"


def _check_config(config: dict[str, Any], gvk: tuple[str, str, str], context: _Context) -> None:
    """What the server refuses in an apply patch before merging it."""
    group, version, kind = gvk
    sent_version = config.get("apiVersion", "")
    if sent_version != context.api_version:
        raise ApplyError(
            "Incorrect version specified in apply patch. "
            f"Specified patch version: {sent_version}, expected: {context.api_version}"
        )
    metadata = config.get("metadata") or {}
    if metadata.get("managedFields") is not None:
        raise ApplyError("metadata.managedFields must be nil")
    errors = typed.applied_errors(config, context.root)
    if errors:
        detail = errors[0] if len(errors) == 1 else "errors:\n" + "\n".join(f"  {e}" for e in errors)
        described = (
            f"{metadata.get('namespace', '')}/{metadata.get('name', '')}; {group}/{version}, Kind={kind}"
        )
        raise ApplyError(f"failed to create typed patch object ({described}): {detail}", code=500, reason="")


def _prune(
    merged: dict[str, Any], managers: Managers, applier: ManagerKey, last: FieldSet, root: typed.Node
) -> dict[str, Any]:
    """Remove what ``applier`` applied last time, no longer applies and nobody else owns (``Updater.prune``)."""
    last_named = typed.ensure_named_fields_are_members(last, root)
    pruned = typed.remove_items(merged, root, last_named) or {}
    owned: set[Path] = set()
    for managed in managers.values():
        owned |= managed.fields
    owned_named = typed.ensure_named_fields_are_members(frozenset(owned), root)
    merged_set = typed.ensure_named_fields_are_members(typed.to_field_set(merged, root), root)
    pruned_set = typed.ensure_named_fields_are_members(typed.to_field_set(pruned, root), root)
    # addBackOwnedItems, then addBackDanglingItems: only remove what the applier owned last time.
    removable = (merged_set - (pruned_set | owned_named)) & last_named
    return typed.remove_items(merged, root, frozenset(removable)) or {}


def _drop_nulls(item: Any) -> Any:
    """Nulls do not survive the round trip through the API types (omitempty)."""
    if isinstance(item, dict):
        return {name: _drop_nulls(child) for name, child in item.items() if child is not None}
    if isinstance(item, list):
        return [_drop_nulls(child) for child in item]
    return item
