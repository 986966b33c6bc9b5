"""Carrying a plan out: apply waves with server-side apply, wait, prune in reverse order.

Rules (see the README's "Diff and sync" section):

- Only entries planned as CREATE or UPDATE are written; unchanged objects never are.
- A wave's tiers run one after the other (CRDs, then Namespaces, then other cluster-scoped
  objects, then namespaced ones), each tier concurrently. CRDs are waited for until Established
  so the custom resources after them can be applied.
- One failure does not stop its wave; later waves are skipped, and so is pruning.
- A 409 conflict with Update managers only (``kubectl edit``/``scale``) is taken over (force);
  one with an Apply manager fails the object unless ``--force-conflicts``.
- An immutable-field rejection fails the object unless ``--replace-immutable``: then it is
  deleted (foreground) and created again.
- A prune deletes only what is still ours and unchanged: the object is read again right before,
  must still carry our ``part-of`` label and the uid planned, and is deleted with preconditions on
  that uid and its resourceVersion (the server answers 409 Conflict when either moved); otherwise
  it is kept and reported as skipped. A Namespace (a CRD: its custom resources) is also listed again
  after the other prunes: anything that appeared in it since planning, or a member whose prune was
  kept, keeps it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from gitops import diff, health, inventory, observe, ownership
from gitops.changeset import Action, Entry, Health
from gitops.cluster import Cluster, is_immutable_error
from gitops.errors import EXIT_HEALTH, EXIT_SYNC, ApiError, ClusterError
from gitops.options import SyncOptions
from gitops.plan import Item, Plan, Tier, conflict_message, member_uids, only_update_managers, parse_conflicts

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.25


class Deadline:
    def __init__(self, seconds: float, *, stop: Callable[[], bool] | None = None) -> None:
        self.end = time.monotonic() + seconds
        self.stop = stop
        """Asked while waiting: True ends the wait early (the sync was stopped)."""

    @property
    def remaining(self) -> float:
        return self.end - time.monotonic()

    @property
    def stopped(self) -> bool:
        return self.stop is not None and self.stop()

    @property
    def passed(self) -> bool:
        return self.remaining <= 0 or self.stopped


STOPPED = "not written: the sync was stopped (no longer allowed to write)"


def _stopped(options: SyncOptions) -> bool:
    return options.may_write is not None and not options.may_write()


def execute(cluster: Cluster, plan: Plan, options: SyncOptions) -> None:
    """Apply the plan's waves, then prune. Fills each entry (done, FAILED, SKIPPED, health) and
    ``plan.changeset.errors``/``exit_code``.

    A cluster failure outside one object's own request (the connection lost while recording the
    ApplySet or waiting) fails every change not made yet, so the report still says what was done.
    """
    try:
        _execute(cluster, plan, options)
    except ClusterError as err:
        message = str(err)
        for entry in plan.changeset.entries:
            if entry.changed and not entry.done:
                entry.action, entry.reason, entry.error = Action.FAILED, "", message
        plan.changeset.errors.append(message)
        plan.changeset.exit_code = plan.changeset.exit_code or EXIT_SYNC


def _execute(cluster: Cluster, plan: Plan, options: SyncOptions) -> None:
    cs = plan.changeset
    deadline = Deadline(options.timeout, stop=lambda: _stopped(options))
    applyset = plan.applyset
    parent_pending = _record_members(cluster, plan, options, widen=True)
    stopped = ""
    for wave, items in plan.waves():
        if stopped:
            for item in items:
                if item.entry.changed:
                    item.entry.action, item.entry.reason = Action.SKIPPED, stopped
            continue
        for tier in Tier:
            if _stopped(options):
                stopped = STOPPED
            tier_items = [item for item in items if item.tier is tier and item.entry.changed]
            cluster.map(lambda item: _apply_item(cluster, item, options), tier_items)
            if tier is Tier.CRD and tier_items:
                _wait_established(cluster, tier_items, deadline)
                cluster.invalidate_discovery()
            if parent_pending and tier is Tier.NAMESPACE:
                parent_pending = _record_members(cluster, plan, options, widen=True)
        if stopped:
            continue
        if any(item.entry.action is Action.FAILED for item in items):
            stopped = f"not applied: an object in wave {wave} failed"
            continue
        if options.wait:
            late = _wait_healthy(cluster, items, deadline)
            if _stopped(options):
                stopped = STOPPED
            elif late:
                cs.errors.append(
                    f"timed out after {options.timeout:g}s waiting for wave {wave} to become healthy: " + "; ".join(late)
                )
                cs.exit_code = cs.exit_code or EXIT_HEALTH
                stopped = f"not applied: wave {wave} did not become healthy in time"
    if parent_pending:
        _record_members(cluster, plan, options, widen=True)
    if stopped:
        for entry in plan.prunes:
            if entry.action is Action.PRUNE:
                entry.action, entry.reason = Action.SKIPPED, "not pruned: the sync did not complete"
    else:
        _prune(cluster, plan, options)
        parent_namespace_gone = any(
            e.done and e.action is Action.PRUNE and e.ref.kind == "Namespace" and e.ref.group == ""
            and e.ref.name == getattr(applyset, "namespace", None) for e in plan.prunes
        )
        if applyset is not None and not parent_namespace_gone and not any(
            e.action is Action.FAILED for e in plan.prunes
        ):
            _record_members(cluster, plan, options, widen=False)
    if any(entry.action is Action.FAILED for entry in cs.entries):
        cs.exit_code = cs.exit_code or EXIT_SYNC


# --- the ApplySet parent ---------------------------------------------------------------------


def _record_members(cluster: Cluster, plan: Plan, options: SyncOptions, *, widen: bool) -> bool:
    """Write the parent's kinds and namespaces (widened before applying, exact after pruning).

    Returns True when its namespace does not exist yet (created by this sync): retry later.
    """
    if _stopped(options):
        return False
    applyset: inventory.ApplySet = plan.applyset
    kept = [item for item in plan.items if item.entry.action is not Action.FAILED or item.live is not None]
    kept_prunes = [e for e in plan.prunes if e.action is not Action.PRUNE or not e.done]
    group_kinds = {item.ref.group_kind for item in kept} | {e.ref.group_kind for e in kept_prunes}
    namespaces = {item.ref.namespace for item in kept} | {e.ref.namespace for e in kept_prunes}
    namespaces.discard("")
    if widen:
        group_kinds |= applyset.group_kinds
        namespaces |= applyset.namespaces
        if applyset.exists and group_kinds <= applyset.group_kinds and namespaces <= applyset.namespaces:
            return False
    elif applyset.exists and group_kinds == applyset.group_kinds and namespaces | {applyset.namespace} == applyset.namespaces:
        return False
    try:
        inventory.write_parent(cluster, applyset, group_kinds, namespaces, options.field_manager)
    except ApiError as err:
        if err.status == 404 and any(item.ref.kind == "Namespace" and item.ref.name == applyset.namespace
                                     for item in plan.items):
            return True
        raise
    return False


# --- applying one object ---------------------------------------------------------------------


def _apply_item(cluster: Cluster, item: Item, options: SyncOptions) -> None:
    entry = item.entry
    if _stopped(options):
        entry.action, entry.reason = Action.SKIPPED, STOPPED
        return
    secrets = diff.secret_values(item.body)
    try:
        if item.immutable and options.replace_immutable:
            item.live = _replace(cluster, item, options)
        else:
            item.live = _apply_resolving_conflicts(cluster, item, options)
        entry.done = True
    except ApiError as err:
        _fail(entry, err, secrets)
    except ClusterError as err:
        entry.action, entry.reason, entry.error = Action.FAILED, "", diff.scrub(str(err), secrets)


def _apply_resolving_conflicts(cluster: Cluster, item: Item, options: SyncOptions) -> dict[str, Any]:
    force = options.force_conflicts or item.force
    try:
        return cluster.apply(item.body, field_manager=options.field_manager, force=force)
    except ApiError as err:
        if err.status != 409 or force:
            if is_immutable_error(err) and options.replace_immutable:
                return _replace(cluster, item, options)
            raise
        live = cluster.get(item.ref)
        conflicts = parse_conflicts(err.causes, live)
        if not only_update_managers(conflicts):
            declarative = [c for c in conflicts if c.operation != "Update"]
            raise ApiError(
                conflict_message(declarative), status=409, reason="Conflict", ref=item.ref, causes=err.causes
            ) from err
        return cluster.apply(item.body, field_manager=options.field_manager, force=True)


def _replace(cluster: Cluster, item: Item, options: SyncOptions) -> dict[str, Any]:
    """Delete (foreground, waiting until gone) and create again."""
    cluster.delete(item.ref, propagation="Foreground")
    deadline = Deadline(options.timeout)
    while cluster.get(item.ref) is not None:
        if deadline.passed:
            raise ClusterError(f"{item.ref}: still being deleted after {options.timeout:g}s; not recreated")
        time.sleep(POLL_INTERVAL)
    return cluster.apply(item.body, field_manager=options.field_manager, force=True)


def _fail(entry: Entry, err: ApiError, secrets: list[str]) -> None:
    entry.action = Action.FAILED
    entry.reason = "Immutable" if is_immutable_error(err) else err.reason
    entry.error = diff.scrub(err.detail, secrets)
    if entry.reason == "Immutable":
        entry.error += " (use --replace-immutable to delete and recreate it)"


# --- waiting ---------------------------------------------------------------------------------


def _poll(
    cluster: Cluster, items: list[Item], deadline: Deadline, check: Callable[[dict[str, Any] | None], bool]
) -> list[Item]:
    """Re-read the items until ``check`` passes for each or the deadline passes; return the late ones."""
    waiting = list(items)
    while waiting:
        lives = cluster.map(lambda item: cluster.get(item.ref), waiting)
        still = []
        for item, live in zip(waiting, lives, strict=True):
            item.live = live if live is not None else item.live
            if not check(live):
                still.append(item)
        waiting = still
        if not waiting or deadline.passed:
            break
        time.sleep(min(POLL_INTERVAL, max(deadline.remaining, 0)))
    return waiting


def _established(live: dict[str, Any] | None) -> bool:
    conditions = ((live or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def _wait_established(cluster: Cluster, crds: list[Item], deadline: Deadline) -> None:
    ready = [item for item in crds if item.entry.action is not Action.FAILED]
    late = _poll(cluster, ready, deadline, _established)
    if deadline.stopped:
        return  # applied, not known to be Established: nothing after it is written anyway
    for item in late:
        item.entry.action, item.entry.reason = Action.FAILED, "Timeout"
        item.entry.error = "the CustomResourceDefinition did not become Established in time"


def _wait_healthy(cluster: Cluster, items: list[Item], deadline: Deadline) -> list[str]:
    """Wait for every object of a wave to be healthy; set each entry's health; list the late ones."""
    def check(live: dict[str, Any] | None) -> bool:
        return live is not None and health.assess(live)[0] is Health.HEALTHY

    late = _poll(cluster, [item for item in items if item.entry.action is not Action.FAILED], deadline, check)
    for item in items:
        if item.live is not None:
            item.entry.health, item.entry.health_message = health.assess(item.live)
        elif item.entry.action is not Action.FAILED:
            item.entry.health, item.entry.health_message = Health.MISSING, "not found"
    return [f"{item.ref.short}: {item.entry.health} ({item.entry.health_message})" for item in late]


# --- pruning ---------------------------------------------------------------------------------


def _prune(cluster: Cluster, plan: Plan, options: SyncOptions) -> None:
    """Delete in the given (reverse apply) order; one tier at a time (namespaced before cluster-scoped)."""
    prunes = plan.prunes
    todo = [entry for entry in prunes if entry.action is Action.PRUNE]

    def delete(entry: Entry) -> None:
        if _stopped(options):
            entry.action, entry.reason = Action.SKIPPED, STOPPED
            return
        try:
            kept = _delete_if_still_ours(cluster, entry, plan, options.field_manager)
            if kept:
                entry.action, entry.reason = Action.SKIPPED, f"{entry.reason}; {kept}"
            else:
                entry.done = True
        except ApiError as err:
            _fail(entry, err, [])
        except ClusterError as err:
            entry.action, entry.error = Action.FAILED, str(err)

    def rank(entry: Entry) -> tuple[bool, bool]:
        return entry.ref.kind in ("CustomResourceDefinition", "Namespace"), bool(entry.ref.namespace)

    groups: list[list[Entry]] = []
    for entry in todo:
        if groups and rank(groups[-1][0]) == rank(entry):
            groups[-1].append(entry)
        else:
            groups.append([entry])
    for group in groups:
        if rank(group[0])[0]:
            # Namespaces and CRDs one by one: each lists what it holds on the worker pool first.
            for entry in group:
                delete(entry)
        else:
            cluster.map(delete, group)


def _delete_if_still_ours(cluster: Cluster, entry: Entry, plan: Plan, manager: str) -> str:
    """Delete the member if it is still the object planned and still ours; else say why it is kept."""
    live = cluster.get(entry.ref)
    if live is None:
        return ""  # already gone: nothing left to do
    metadata = live.get("metadata") or {}
    planned = (plan.members.get(entry.ref) or {}).get("metadata") or {}
    if (metadata.get("labels") or {}).get(inventory.PART_OF_LABEL) != plan.applyset.id:
        return "kept: it no longer carries this set's label (changed since it was planned)"
    if planned.get("uid") and metadata.get("uid") != planned.get("uid"):
        return "kept: it was replaced by another object since it was planned"
    if metadata.get("deletionTimestamp"):
        # Deleted by someone else and held by finalizers: deleting again changes nothing (a terminating
        # Namespace even answers 409).
        entry.reason += "; it was already being deleted"
        return ""
    if entry.ref.group == "" and entry.ref.kind == "Namespace":
        held = _now_holds(observe.namespace_contents(cluster, [entry.ref.name])[entry.ref.name], plan, manager)
        if held:
            return held
    if ownership.is_crd(entry.ref):
        held = _now_holds(observe.custom_resources(cluster, live), plan, manager)
        if held:
            return held
    preconditions = {"uid": str(metadata.get("uid") or ""), "resourceVersion": str(metadata.get("resourceVersion") or "")}
    try:
        cluster.delete(entry.ref, preconditions={k: v for k, v in preconditions.items() if v})
    except ApiError as err:
        if err.status == 409:
            return "kept: it changed while being deleted (delete precondition failed)"
        raise
    return ""


def _now_holds(contents: ownership.NamespaceContents, plan: Plan, manager: str) -> str:
    """What a Namespace (or a CRD: its custom resources) holds, listed again right before its deletion,
    after this sync's other prunes ran: what appeared since planning, or a member kept by a prune,
    keeps it. ``""``: nothing does."""
    verdict = ownership.namespace_verdict(
        contents, plan.applyset.id, {item.ref for item in plan.items},
        {e.ref for e in plan.prunes if e.action is Action.PRUNE}, plan.applyset.parent_ref,
        kept={e.ref for e in plan.prunes if e.action is not Action.PRUNE},
        owners=member_uids(plan.members.values()) | plan.dependents, manager=manager,
    )
    if not verdict.keep:
        return ""
    return f"kept: listed again right before its deletion, it {verdict.keep.removesuffix('; kept')}"
