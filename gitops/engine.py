"""The engine: the one sequencer of the stages. Front ends (CLI, agent, Action) call only this.

    load(spec)            source.fetch -> render.render            -> Desired
    plan(cluster, d, o)   dry-run apply + live objects -> diff     -> ChangeSet
    sync(cluster, d, o)   plan -> apply waves -> prune -> health   -> ChangeSet
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitops.changeset import Action, ChangeSet, Entry
from gitops.errors import EXIT_SAFETY, ApiError, ClusterError, ConfigError, RenderError
from gitops.objects import Manifest, ObjectRef
from gitops.source import Checkout, SourceSpec

if TYPE_CHECKING:
    from gitops.cluster import Cluster
    from gitops.diff import IgnoreRule
    from gitops.plan import Item, Plan
    from gitops.render import RenderOptions
    from gitops.source import FetchOptions


@dataclass(frozen=True)
class SyncOptions:
    """Everything that shapes a plan or a sync. Front ends build it from flags or config."""

    dry_run: bool = False
    prune: bool = False
    allow_empty: bool = False
    """Let a render with no objects prune the whole set."""
    max_prune: int | None = None
    """Refuse to prune more objects than this; ``None``: the default cap (a share of the set)."""
    confirm_prune: bool = False
    """Lift the prune cap."""
    force_conflicts: bool = False
    replace_immutable: bool = False
    wait: bool = False
    timeout: float = 300.0
    field_manager: str = "gitops"
    default_namespace: str = "default"
    ignore: tuple[str, ...] = ()
    """JSON pointers to ignore in diffs, optionally scoped: ``/spec/replicas`` or ``apps/Deployment:/spec/replicas``."""
    applyset: str | None = None
    """Name of the ApplySet (inventory); ``None``: derived from the source."""
    may_write: Callable[[], bool] | None = None
    """Asked before every write of a sync; once it answers False, nothing more is written and what is left
    is reported as skipped (the agent passes its leadership check, so a leader that loses its lease stops)."""
    concurrency: int = 8
    """Concurrent API requests."""
    qps: float = 200.0
    """Client-side rate limit (token bucket, 0: none): bounds a large sync, not a typical one."""
    burst: int = 1000
    """Requests allowed at once above ``qps``: a sync of about 1,000 objects (a request each) never waits."""


@dataclass
class Desired:
    """The rendered desired state of one source at one revision."""

    checkout: Checkout
    manifests: list[Manifest] = field(default_factory=list)


# --- the facade ---------------------------------------------------------------------------------
# Stage modules are imported inside the functions: gitops.plan imports SyncOptions from here, and
# commands that never reach a cluster should not pay for importing the Kubernetes client.


def load(
    spec: SourceSpec,
    *,
    fetch_options: FetchOptions | None = None,
    render_options: RenderOptions | None = None,
) -> Desired:
    """Fetch the source and render it. Raises SourceError or RenderError (nothing is half-loaded)."""
    from gitops.render import render
    from gitops.source import fetch

    checkout = fetch(spec, fetch_options)
    try:
        manifests = render(checkout.directory, root=checkout.root, options=render_options)
    except RenderError as err:
        err.revision = checkout.revision
        raise
    return Desired(checkout=checkout, manifests=manifests)


def connect(
    kubeconfig: str | None = None,
    context: str | None = None,
    *,
    sandbox: bool = False,
    options: SyncOptions | None = None,
) -> Cluster:
    """A cluster connection: the embedded sandbox, a kubeconfig, or the pod's service account
    (when running in a pod and no kubeconfig is given). Close it (or use ``with``) when done."""
    from gitops.cluster import Cluster, ClusterOptions

    options = options or SyncOptions()
    cluster_options = ClusterOptions(concurrency=options.concurrency, qps=options.qps, burst=options.burst)
    if sandbox:
        return Cluster.sandbox(options=cluster_options)
    if kubeconfig is None and context is None and Cluster.running_in_pod():
        return Cluster.in_cluster(options=cluster_options)
    return Cluster.from_kubeconfig(kubeconfig, context, options=cluster_options)


def plan(cluster: Cluster, desired: Desired, options: SyncOptions) -> ChangeSet:
    """What sync would do: one entry per desired object and per orphaned ApplySet member."""
    return build_plan(cluster, desired, options).changeset


def sync(cluster: Cluster, desired: Desired, options: SyncOptions) -> ChangeSet:
    """Plan, then (unless ``options.dry_run``) apply, prune and wait. ``exit_code`` says how it went."""
    from gitops.apply import execute

    the_plan = build_plan(cluster, desired, options)
    cs = the_plan.changeset
    cs.dry_run = options.dry_run
    if options.dry_run:
        return cs
    if the_plan.refusal:
        cs.exit_code = EXIT_SAFETY
        return cs
    execute(cluster, the_plan, options)
    return cs


def compare(old: Desired, new: Desired, options: SyncOptions | None = None) -> ChangeSet:
    """The change set between two renders (``gitops diff --against``): no cluster involved."""
    from gitops.plan import compare_renders

    options = options or SyncOptions()
    cs = _empty_changeset(new, dry_run=True)
    cs.baseline = f"base {old.checkout.revision[:12]}" if old.checkout.revision else "base"
    cs.entries = compare_renders(old.manifests, new.manifests, rules=ignore_rules(options))
    return cs


def applyset_name(desired: Desired, options: SyncOptions) -> str:
    from gitops.inventory import default_name

    return options.applyset or default_name(desired.checkout.spec)


def build_plan(cluster: Cluster, desired: Desired, options: SyncOptions) -> Plan:
    """The plan with everything sync needs (I/O: discovery, GET, dry-run apply, member lists)."""
    from concurrent.futures import ThreadPoolExecutor

    from gitops import inventory
    from gitops.plan import Plan, decide, plan_prunes

    rules = ignore_rules(options)
    cs = _empty_changeset(desired, dry_run=options.dry_run)
    cluster.discover({manifest.ref.api_version for manifest in desired.manifests} | {"v1"})
    applyset = inventory.read(cluster, applyset_name(desired, options), options.default_namespace)
    items = _prepare(cluster, desired.manifests, options, rules, applyset.id)
    observable = [item for item in items if item.entry.action is not Action.FAILED and not item.pending]
    lives, listed = _read_live(cluster, observable)
    to_dry_run = [item for item in observable if _needs_dry_run(item, lives.get(item.ref), options)]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gitops-members") as side:
        # The set's members (for pruning) come from the lists just read, plus lists of the kinds
        # and namespaces not read yet, fetched while the dry runs go on.
        members = side.submit(inventory.members, cluster, applyset, listed)
        cluster.map(lambda item: _observe(cluster, item, options, items), to_dry_run)
        for item in items:
            decide(item, options)
        items.sort(key=lambda item: item.key)
        prunes = plan_prunes(
            members.result(),
            {item.ref for item in items},
            options=options,
            rendered=len(desired.manifests),
        )
    cs.entries = [item.entry for item in items] + prunes.entries
    if prunes.refusal:
        cs.errors.append(prunes.refusal)
        cs.exit_code = EXIT_SAFETY
    return Plan(changeset=cs, items=items, prunes=prunes.entries, applyset=applyset, refusal=prunes.refusal)


def ignore_rules(options: SyncOptions) -> list[IgnoreRule]:
    from gitops.diff import IgnoreRule

    rules = []
    for text in options.ignore:
        try:
            rules.append(IgnoreRule.parse(text))
        except ValueError as err:
            raise ConfigError(f"--ignore {text!r}: {err}") from err
    return rules


def _empty_changeset(desired: Desired, *, dry_run: bool) -> ChangeSet:
    checkout = desired.checkout
    return ChangeSet(
        source=checkout.display or checkout.spec.location,
        revision=checkout.revision,
        path=checkout.spec.path,
        dirty=checkout.dirty,
        dry_run=dry_run,
    )


def _prepare(
    cluster: Cluster, manifests: list[Manifest], options: SyncOptions, rules: list[IgnoreRule], applyset_id: str
) -> list[Item]:
    """One item per manifest: kind resolved, namespace defaulted, ApplySet label set, wave read."""
    from gitops.cluster import UnknownKind
    from gitops.diff import ignored_paths, secret_string_data_as_data
    from gitops.inventory import PART_OF_LABEL
    from gitops.plan import Item, crd_scopes, failed, sync_wave, tier_of

    crd_defined = crd_scopes(manifests)
    items: list[Item] = []
    seen: dict[ObjectRef, Manifest] = {}
    for manifest in manifests:
        body = _copy_metadata(manifest.obj)
        ref = ObjectRef.from_object(body)
        item = Item(manifest=manifest, entry=Entry(ref=ref, action=Action.UNCHANGED, origin=manifest.origin))
        items.append(item)
        try:
            item.namespaced = cluster.resource(ref.api_version, ref.kind).namespaced
        except UnknownKind as err:
            defined = crd_defined.get((ref.group, ref.version, ref.kind))
            if defined is None:
                item.entry = failed(ref, manifest.origin, str(err), "UnknownKind")
                continue
            item.namespaced = defined
            item.pending = "its CustomResourceDefinition is created by this sync (no server dry run yet)"
        metadata = body.setdefault("metadata", {})
        if item.namespaced and not metadata.get("namespace"):
            metadata["namespace"] = options.default_namespace
        elif not item.namespaced:
            metadata.pop("namespace", None)
        ref = ObjectRef.from_object(body)
        item.entry.ref = ref
        if ref in seen:
            item.entry = failed(ref, manifest.origin, f"defined twice (also at {seen[ref].origin})", "Duplicate")
            continue
        seen[ref] = manifest
        try:
            item.entry.wave = sync_wave(body)
            item.ignore = ignored_paths(body, rules)
        except ValueError as err:
            item.entry = failed(ref, manifest.origin, str(err), "Invalid")
            continue
        metadata.setdefault("labels", {})[PART_OF_LABEL] = applyset_id
        item.body = secret_string_data_as_data(body)
        item.tier = tier_of(ref, item.namespaced)
    return items


def _copy_metadata(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of the manifest whose metadata (and labels) may be changed; the rest is shared, as
    nothing downstream changes a body in place (copying 1,000 whole manifests cost 70 ms)."""
    body = dict(obj)
    metadata = body["metadata"] = dict(obj["metadata"]) if isinstance(obj.get("metadata"), dict) else {}
    if isinstance(metadata.get("labels"), dict):
        metadata["labels"] = dict(metadata["labels"])
    return body


def _read_live(
    cluster: Cluster, items: list[Item]
) -> tuple[dict[ObjectRef, dict[str, Any] | None], dict[tuple[str, str, str], list[dict[str, Any]]]]:
    """The live objects: one LIST per kind and namespace holding several of them, else a GET.

    Also returns the complete lists by ``(group, kind, namespace)``, for finding ApplySet members.
    """
    groups: dict[tuple[str, str, str], list[Item]] = {}
    for item in items:
        groups.setdefault((item.ref.api_version, item.ref.kind, item.ref.namespace), []).append(item)
    listed: dict[tuple[str, str, str], list[dict[str, Any]]] = {}

    def read(group: list[Item]) -> dict[ObjectRef, dict[str, Any] | None]:
        first = group[0].ref
        if len(group) > 1:
            try:
                resource = cluster.resource(first.api_version, first.kind)
                objects = cluster.list(resource, namespace=first.namespace)
            except ApiError as err:
                if err.status not in (403, 405):
                    raise
            else:
                listed[(first.group, first.kind, first.namespace)] = objects
                found = {obj["metadata"]["name"]: obj for obj in objects}
                return {item.ref: found.get(item.ref.name) for item in group}
        return {item.ref: cluster.get(item.ref) for item in group}

    lives: dict[ObjectRef, dict[str, Any] | None] = {}
    for part in cluster.map(read, list(groups.values())):
        lives.update(part)
    return lives, listed


def _needs_dry_run(item: Item, live: dict[str, Any] | None, options: SyncOptions) -> bool:
    """Attach the live object; False when no dry run is needed: the live managedFields prove a
    re-apply is a no-op, or the object is missing and a sync creates it (a dry run first would
    only double the requests). Pure, so it runs inline rather than on the worker pool."""
    from gitops.diff import already_applied, respect_ignored

    item.live = live
    if live is None:
        return options.dry_run
    if item.ignore:
        item.body = respect_ignored(item.body, live, item.ignore)
    if already_applied(item.body, live, options.field_manager):
        item.predicted, item.already_applied = live, True
        return False
    return True


def _observe(cluster: Cluster, item: Item, options: SyncOptions, items: list[Item]) -> None:
    """Dry-run the apply; record conflicts, immutability, failures."""
    from gitops.cluster import is_immutable_error
    from gitops.diff import scrub, secret_values
    from gitops.plan import only_update_managers, parse_conflicts

    try:
        item.predicted = _dry_run(cluster, item, options, force=options.force_conflicts)
    except ApiError as err:
        if err.status == 409 and err.reason == "Conflict":
            conflicts = parse_conflicts(err.causes, item.live)
            if only_update_managers(conflicts):
                item.force = True
            else:
                item.conflicts = [c for c in conflicts if c.operation != "Update"]
            try:
                item.predicted = _dry_run(cluster, item, options, force=True)
                return
            except ApiError as again:
                err = again
        if is_immutable_error(err):
            item.immutable = err.detail
            return
        if err.status == 404 and _namespace_created_here(item, items, str(err)):
            item.pending = f"its namespace {item.ref.namespace} is created by this sync (no server dry run yet)"
            return
        _fail(item, scrub(err.detail, secret_values(item.body)), err.reason)
    except ClusterError as err:
        _fail(item, str(err), "")


def _fail(item: Item, message: str, reason: str) -> None:
    from gitops.plan import failed

    wave = item.entry.wave
    item.entry = failed(item.ref, item.entry.origin, message, reason)
    item.entry.wave = wave


def _dry_run(cluster: Cluster, item: Item, options: SyncOptions, *, force: bool) -> dict[str, Any]:
    return cluster.apply(item.body, field_manager=options.field_manager, dry_run=True, force=force)


def _namespace_created_here(item: Item, items: list[Item], message: str) -> bool:
    namespace = item.ref.namespace
    return bool(namespace) and f'namespaces "{namespace}" not found' in message and any(
        other.ref.kind == "Namespace" and other.ref.group == "" and other.ref.name == namespace for other in items
    )
