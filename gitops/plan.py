"""Planning: pair each desired object with its live object and the server's dry-run result,
decide its action, order everything into waves, and choose what to prune behind the guards.

Pure: no I/O. :mod:`gitops.observe` reads live objects and dry-run results and hands them here.

Order (as argo-cd's gitops-engine sorts sync tasks): sync wave (annotation
``gitops.io/sync-wave``), then tier (CRDs, Namespaces, other cluster-scoped objects, namespaced
objects), then kind rank, namespace and name. A wave's tiers are applied one after the other
(a namespace must exist before what lives in it); pruning runs in the reverse order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from gitops import diff, health, masking, ownership
from gitops.changeset import Action, ChangeSet, Entry
from gitops.errors import EXIT_SAFETY
from gitops.objects import Manifest, ObjectRef, Origin
from gitops.options import SyncOptions

WAVE_ANNOTATION = "gitops.io/sync-wave"
PRUNE_ANNOTATION = "gitops.io/prune"
DEFAULT_PRUNE_SHARE = 0.25
"""Default cap: refuse a prune of more than this share of the set..."""
DEFAULT_PRUNE_FLOOR = 5
"""... when it also deletes more than this many objects."""


class Tier(IntEnum):
    CRD = 0
    NAMESPACE = 1
    CLUSTER = 2
    NAMESPACED = 3


# Kind rank inside a tier, after gitops-engine's kindOrder (pkg/sync/sync_tasks.go); others come after.
KIND_ORDER = [
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
    "ServiceAccount", "Secret", "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
    "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Service",
    "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler",
    "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
]
_KIND_RANK = {kind: rank for rank, kind in enumerate(KIND_ORDER)}
# Admission webhooks last: applied early they can reject the very objects their service needs.
_LAST_KINDS = {"MutatingWebhookConfiguration": 1, "ValidatingWebhookConfiguration": 1}


def kind_rank(kind: str) -> int:
    return _KIND_RANK.get(kind, len(KIND_ORDER) + _LAST_KINDS.get(kind, 0))


def tier_of(ref: ObjectRef, namespaced: bool) -> Tier:
    if ref.kind == "CustomResourceDefinition" and ref.group == "apiextensions.k8s.io":
        return Tier.CRD
    if ref.kind == "Namespace" and ref.group == "":
        return Tier.NAMESPACE
    return Tier.NAMESPACED if namespaced else Tier.CLUSTER


def sync_wave(obj: dict[str, Any]) -> int:
    """The object's wave (default 0); raises ValueError for a value that is no integer."""
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(WAVE_ANNOTATION)
    if value is None or str(value).strip() == "":
        return 0
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError(f"annotation {WAVE_ANNOTATION} must be an integer, got {value!r}") from None


def order_key(ref: ObjectRef, wave: int, tier: Tier) -> tuple[int, int, int, str, str]:
    return (wave, int(tier), kind_rank(ref.kind), ref.namespace, ref.name)


# --- one desired object through planning ----------------------------------------------------


@dataclass
class Conflict:
    """One field another manager holds, from a 409 apply conflict."""

    manager: str
    field: str
    operation: str = ""
    """``Apply`` or ``Update`` (from the live managedFields); ``""`` when unknown."""


@dataclass
class Item:
    """A desired object being planned and applied. ``entry`` is its line in the change set."""

    manifest: Manifest
    entry: Entry
    body: dict[str, Any] = field(default_factory=dict)
    """What to apply: the manifest with its namespace, our ApplySet label and ignore rules applied."""
    namespaced: bool = True
    tier: Tier = Tier.NAMESPACED
    ignore: list[diff.Path] = field(default_factory=list)
    live: dict[str, Any] | None = None
    """The live object as read (raw), ``None`` when it does not exist."""
    predicted: dict[str, Any] | None = None
    """The server's dry-run result (raw)."""
    already_applied: bool = False
    """The live managedFields prove a re-apply changes nothing (:func:`gitops.diff.already_applied`):
    no dry run was made and there is nothing to compare."""
    pending: str = ""
    """Why the server could not dry-run it yet (its CRD or namespace is created by this sync)."""
    force: bool = False
    """Take over fields from Update managers (imperative drift) when applying."""
    conflicts: list[Conflict] = field(default_factory=list)
    """Conflicts with Apply managers (declarative owners): not taken without --force-conflicts."""
    immutable: str = ""
    """The server's message when the change touches immutable fields."""

    @property
    def ref(self) -> ObjectRef:
        return self.entry.ref

    @property
    def key(self) -> tuple[int, int, int, str, str]:
        return order_key(self.ref, self.entry.wave, self.tier)


def failed(ref: ObjectRef, origin: Origin | None, error: str, reason: str = "") -> Entry:
    return Entry(ref=ref, action=Action.FAILED, origin=origin, error=error, reason=reason)


def decide(item: Item, options: SyncOptions, parents: dict[str, str] | None = None) -> None:
    """Fill ``item.entry`` from what was observed (live, dry-run result, conflicts, pending).

    ``parents``: other ApplySets' ids -> their parent objects, to name them in ownership conflicts.
    """
    entry = item.entry
    if entry.action is Action.FAILED and not (item.conflicts or item.immutable):
        return
    our_id = str(((item.body.get("metadata") or {}).get("labels") or {}).get(ownership.PART_OF_LABEL) or "")
    owner = ownership.foreign_owner(item.live, our_id, parents) if item.live is not None and our_id else None
    if owner is not None and not options.adopt:
        entry.action, entry.reason, entry.changes = Action.FAILED, "OwnerConflict", []
        entry.error = f"managed by {owner}; not taken over (use --adopt to take it into this set)"
        return
    if item.already_applied:
        entry.action, entry.changes = Action.UNCHANGED, []
        return
    if item.pending:
        entry.action, entry.reason = Action.CREATE, item.pending
        entry.live, entry.desired = masking.mask_pair(None, diff.normalize(item.body))
        return
    live = diff.normalize(item.live) if item.live is not None else None
    if item.immutable and item.live is not None:
        # No dry run is possible: show the manifest's own fields that differ from the live object.
        desired = diff.normalize(_overlay(item.live, item.body))
    else:
        desired = diff.normalize(item.predicted if item.predicted is not None else item.body)
    managed = ((item.live or {}).get("metadata") or {}).get("managedFields") or []
    changes = [] if live is None else diff.field_changes(
        live, desired, managed_fields=managed, ignore=item.ignore, own_manager=options.field_manager
    )
    entry.changes = changes
    if item.live is None:
        entry.action = Action.CREATE
    elif item.conflicts:
        entry.action, entry.reason = Action.FAILED, "Conflict"
        entry.error = conflict_message(item.conflicts)
    elif item.immutable:
        if options.replace_immutable:
            entry.action, entry.reason = Action.UPDATE, "replace: immutable fields change (delete and recreate)"
        else:
            entry.action, entry.reason = Action.FAILED, "Immutable"
            entry.error = f"{item.immutable} (use --replace-immutable to delete and recreate it)"
    else:
        entry.action = Action.UPDATE if changes else Action.UNCHANGED
    if entry.action in (Action.UPDATE, Action.UNCHANGED) and our_id and not _labelled(item.live, our_id):
        entry.action = Action.ADOPT
        entry.reason = (f"taken over from {owner} (--adopt)" if owner is not None
                        else "exists without an owner (created outside any set); taken into this set")
    if entry.action is not Action.UNCHANGED:
        entry.live, entry.desired = masking.mask_pair(live, desired)


def _labelled(live: dict[str, Any] | None, our_id: str) -> bool:
    return ((((live or {}).get("metadata") or {}).get("labels") or {}).get(ownership.PART_OF_LABEL)) == our_id


def _overlay(live: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """``live`` with the manifest's fields written over it (maps merged, lists replaced)."""
    if not isinstance(live, dict) or not isinstance(body, dict):
        return body
    result = dict(live)
    for key, value in body.items():
        result[key] = _overlay(live[key], value) if isinstance(live.get(key), dict) else value
    return result


def conflict_message(conflicts: list[Conflict]) -> str:
    by_manager: dict[str, list[str]] = {}
    for conflict in conflicts:
        by_manager.setdefault(conflict.manager, []).append(conflict.field)
    parts = [f"{manager!r} owns {', '.join(fields)}" for manager, fields in by_manager.items()]
    return "conflict with another declarative owner: " + "; ".join(parts) + " (use --force-conflicts to take them)"


def parse_conflicts(causes: list[dict[str, Any]], live: dict[str, Any] | None) -> list[Conflict]:
    """Conflicts from a 409's Status causes (``conflict with "kubectl-edit" using apps/v1``), each
    with the manager's operation read from the live object's managedFields."""
    managed = ((live or {}).get("metadata") or {}).get("managedFields") or []
    conflicts = []
    for cause in causes:
        message = str(cause.get("message") or "")
        if "conflict with" not in message:
            continue
        manager = message.split('"')[1] if message.count('"') >= 2 else message
        subresource = ""
        if "with subresource" in message and message.count('"') >= 4:
            subresource = message.split('"')[3]
        operations = {
            str(entry.get("operation") or "") for entry in managed
            if entry.get("manager") == manager and str(entry.get("subresource") or "") == subresource
        }
        operation = "Apply" if "Apply" in operations else ("Update" if operations else "")
        conflicts.append(Conflict(manager=manager, field=str(cause.get("field") or ""), operation=operation))
    return conflicts


def only_update_managers(conflicts: list[Conflict]) -> bool:
    """Every conflicting manager wrote imperatively (Update): Git wins without asking."""
    return bool(conflicts) and all(conflict.operation == "Update" for conflict in conflicts)


# --- CRDs in the same set ------------------------------------------------------------------


def crd_scopes(manifests: Iterable[Manifest]) -> dict[tuple[str, str, str], bool]:
    """``(group, version, kind) -> namespaced`` for every kind the set's own CRDs define."""
    defined: dict[tuple[str, str, str], bool] = {}
    for manifest in manifests:
        obj = manifest.obj
        if obj.get("kind") != "CustomResourceDefinition" or not str(obj.get("apiVersion", "")).startswith(
            "apiextensions.k8s.io/"
        ):
            continue
        spec = obj.get("spec") or {}
        kind = str((spec.get("names") or {}).get("kind") or "")
        namespaced = spec.get("scope", "Namespaced") == "Namespaced"
        for version in spec.get("versions") or []:
            if isinstance(version, dict) and version.get("served", True):
                defined[(str(spec.get("group") or ""), str(version.get("name") or ""), kind)] = namespaced
    return defined


# --- pruning --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrunePlan:
    entries: list[Entry]
    refusal: str = ""
    """Why a guard refused the whole prune (the entries are then SKIPPED)."""
    dependents: frozenset[str] = frozenset()
    """Uids of what the Namespace and CRD prunes take along as dependents of the set's objects."""


ORPHANED_PRUNE_OFF = "orphaned: no longer in Git; pruning is off (--prune)"
ORPHANED = "orphaned: no longer in Git"


def plan_prunes(
    members: list[dict[str, Any]],
    desired: set[ObjectRef],
    *,
    options: SyncOptions,
    rendered: int,
    applyset: Any = None,
    contents: dict[str, ownership.NamespaceContents] | None = None,
) -> PrunePlan:
    """Members of our ApplySet that Git no longer has, each PRUNE or SKIPPED with the reason.

    Kept (SKIPPED): ``gitops.io/prune: disabled``, ``--prune`` not given, the cluster's own
    namespaces, the namespace of our ApplySet parent while the set has members, and a namespace
    or CustomResourceDefinition that holds anything not ours to delete (``contents``: what each
    orphaned namespace holds and each orphaned CRD's custom resources, by name; one not listed is
    kept). Guards that refuse every prune: an empty render without ``--allow-empty``, and the cap
    (``--max-prune N``, default: more than 25% of the set and more than 5 objects, counting what
    namespace deletions would take with them) without ``--confirm-prune``.
    """
    contents = contents or {}
    our_id = getattr(applyset, "id", "")
    orphans: list[tuple[ObjectRef, dict[str, Any]]] = []
    for member in members:
        ref = ObjectRef.from_object(member)
        if ref not in desired:
            orphans.append((ref, member))
    orphans.sort(key=lambda pair: _order_key_from_ref(pair[0], 0), reverse=True)
    owners = member_uids(members)
    entries: list[Entry] = []
    candidates: list[Entry] = []
    taken = 0
    dependents: set[str] = set()
    for ref, member in orphans:
        annotations = (member.get("metadata") or {}).get("annotations") or {}
        entry = Entry(ref=ref, action=Action.PRUNE, live=masking.mask_pair(diff.normalize(member), None)[0],
                      reason=ORPHANED, orphan=True)
        is_namespace = ref.group == "" and ref.kind == "Namespace"
        if str(annotations.get(PRUNE_ANNOTATION, "")).lower() == "disabled":
            entry.action, entry.reason = Action.SKIPPED, f"{ORPHANED}; kept: {PRUNE_ANNOTATION}: disabled"
        elif not options.prune:
            entry.action, entry.reason = Action.SKIPPED, ORPHANED_PRUNE_OFF
        elif is_namespace and ref.name in ownership.PROTECTED_NAMESPACES:
            entry.action, entry.reason = Action.SKIPPED, f"{ORPHANED}; kept: a namespace of the cluster itself is never pruned"
        elif is_namespace and applyset is not None and ref.name == applyset.namespace and desired:
            entry.action = Action.SKIPPED
            entry.reason = f"{ORPHANED}; kept: it holds this set's ApplySet parent ({applyset.parent_ref.short})"
        elif is_namespace or ownership.is_crd(ref):
            found = contents.get(ref.name) or ownership.NamespaceContents(unlisted=["its contents"])
            parent = applyset.parent_ref if applyset is not None else None
            # What they hold comes first (reverse apply order): each is decided by now.
            verdict = ownership.namespace_verdict(
                found, our_id, desired, {e.ref for e in candidates}, parent,
                kept={e.ref for e in entries if e.action is Action.SKIPPED}, owners=owners,
                manager=options.field_manager,
            )
            if verdict.keep:
                entry.action, entry.reason = Action.SKIPPED, f"{ORPHANED}; it {verdict.keep}"
            else:
                taken += verdict.takes
                dependents |= verdict.dependents
                candidates.append(entry)
        else:
            candidates.append(entry)
        entries.append(entry)
    refusal = prune_refusal(len(candidates) + taken, len(members) + taken, options, rendered)
    if refusal:
        for entry in candidates:
            entry.action, entry.reason = Action.SKIPPED, f"{ORPHANED}; {refusal}"
    return PrunePlan(entries=entries, refusal=refusal, dependents=frozenset(dependents))


def member_uids(members: Iterable[dict[str, Any]]) -> set[str]:
    """The uids of the set's live members (owners of what a namespace deletion may take along)."""
    return {str(uid) for member in members if (uid := (member.get("metadata") or {}).get("uid"))}


def prune_refusal(count: int, set_size: int, options: SyncOptions, rendered: int) -> str:
    """Why the whole prune is refused; ``count`` includes what namespace deletions would take along."""
    if count == 0:
        return ""
    if rendered == 0 and not options.allow_empty:
        return f"the source rendered no objects; refusing to prune all {count} (use --allow-empty)"
    if options.confirm_prune:
        return ""
    if options.max_prune is not None:
        if count > options.max_prune:
            return f"refusing to prune {count} objects, more than --max-prune {options.max_prune} (use --confirm-prune)"
        return ""
    if count > DEFAULT_PRUNE_FLOOR and count > DEFAULT_PRUNE_SHARE * set_size:
        return (
            f"refusing to prune {count} of {set_size} objects (more than {int(DEFAULT_PRUNE_SHARE * 100)}% of the set "
            f"and more than {DEFAULT_PRUNE_FLOOR}); use --confirm-prune or --max-prune"
        )
    return ""


# --- comparing two renders (no cluster) ----------------------------------------------------


def compare_renders(
    old: list[Manifest], new: list[Manifest], *, rules: Iterable[diff.IgnoreRule] = ()
) -> list[Entry]:
    """The change set between two renders of a source: creates, updates (field by field), deletes."""
    rules = list(rules)
    before = {manifest.ref: manifest for manifest in old}
    after = {manifest.ref: manifest for manifest in new}
    entries: list[Entry] = []
    for ref, manifest in after.items():
        previous = before.get(ref)
        desired = diff.normalize(manifest.obj)
        wave = _wave_or_zero(manifest.obj)
        if previous is None:
            entry = Entry(ref=ref, action=Action.CREATE, origin=manifest.origin, wave=wave)
            entry.live, entry.desired = masking.mask_pair(None, desired)
            entries.append(entry)
            continue
        live = diff.normalize(previous.obj)
        try:
            ignore = diff.ignored_paths(manifest.obj, rules)
        except ValueError as err:  # a malformed ignore annotation, reported as planning reports it
            entries.append(failed(ref, manifest.origin, str(err), "Invalid"))
            continue
        changes = diff.field_changes(live, desired, ignore=ignore)
        entry = Entry(ref=ref, action=Action.UPDATE if changes else Action.UNCHANGED, origin=manifest.origin,
                      changes=changes, wave=wave)
        if changes:
            entry.live, entry.desired = masking.mask_pair(live, desired)
        entries.append(entry)
    for ref, manifest in before.items():
        if ref not in after:
            entry = Entry(ref=ref, action=Action.PRUNE, origin=manifest.origin)
            entry.live = masking.mask_pair(diff.normalize(manifest.obj), None)[0]
            entries.append(entry)
    entries.sort(key=lambda e: (e.action is Action.PRUNE, _order_key_from_ref(e.ref, e.wave)))
    return entries


def _order_key_from_ref(ref: ObjectRef, wave: int) -> tuple[int, int, int, str, str]:
    """:func:`order_key` without discovery: an object with a namespace is namespaced."""
    return order_key(ref, wave, tier_of(ref, bool(ref.namespace)))


def _wave_or_zero(obj: dict[str, Any]) -> int:
    try:
        return sync_wave(obj)
    except ValueError:
        return 0


# --- the whole plan --------------------------------------------------------------------------


@dataclass
class Plan:
    """Everything sync needs after planning: the change set and the state behind each entry."""

    changeset: ChangeSet
    items: list[Item]
    """Desired objects in apply order."""
    prunes: list[Entry]
    """Orphaned members in prune order (reverse apply order)."""
    applyset: Any
    """The :class:`gitops.inventory.ApplySet` (typed loosely: this module stays free of I/O imports)."""
    refusal: str = ""
    """A guard refused the run (prune cap, empty render): sync must write nothing."""
    members: dict[ObjectRef, dict[str, Any]] = field(default_factory=dict)
    """The set's live members as planned (their uid is a precondition of each deletion)."""
    dependents: frozenset[str] = frozenset()
    """Uids of the dependents of the set's objects that Namespace and CRD prunes take along (as planned)."""

    def waves(self) -> list[tuple[int, list[Item]]]:
        waves: dict[int, list[Item]] = {}
        for item in self.items:
            waves.setdefault(item.entry.wave, []).append(item)
        return sorted(waves.items())


def assess_unchanged(item: Item) -> None:
    """An unchanged object's health is its live object's: nothing this run writes changes it."""
    entry = item.entry
    if entry.action is Action.UNCHANGED and item.live is not None and entry.health is None:
        entry.health, entry.health_message = health.assess(item.live)


def decide_plan(
    cs: ChangeSet,
    items: list[Item],
    members: list[dict[str, Any]],
    applyset: Any,
    *,
    options: SyncOptions,
    rendered: int,
    parents: dict[str, str] | None = None,
    contents: dict[str, ownership.NamespaceContents] | None = None,
) -> Plan:
    """Decide every observed item and the prunes, and fill the change set. Pure.

    ``parents``: other ApplySets' parents by id; ``contents``: what each orphaned namespace holds.
    """
    for item in items:
        decide(item, options, parents)
        if options.assess_health:
            assess_unchanged(item)
    items.sort(key=lambda item: item.key)
    prunes = plan_prunes(members, {item.ref for item in items}, options=options, rendered=rendered,
                         applyset=applyset, contents=contents)
    cs.entries = [item.entry for item in items] + prunes.entries
    if prunes.refusal:
        cs.errors.append(prunes.refusal)
        cs.exit_code = EXIT_SAFETY
    live = {ObjectRef.from_object(member): member for member in members}
    return Plan(changeset=cs, items=items, prunes=prunes.entries, applyset=applyset, refusal=prunes.refusal,
                members=live, dependents=prunes.dependents)
