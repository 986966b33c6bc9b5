"""The engine: the one sequencer of the stages. Front ends (CLI, agent, Action) call only this.

    load(spec)            source.fetch -> render.render                      -> Desired
    plan(cluster, d, o)   observe.observe (all I/O) -> plan.decide_plan (pure) -> ChangeSet
    sync(cluster, d, o)   plan -> apply.execute (waves, prune, health)         -> ChangeSet

It only sequences: what each stage does lives in the stage's module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gitops.changeset import ChangeSet
from gitops.errors import EXIT_SAFETY, RenderError
from gitops.objects import Manifest
from gitops.options import SyncOptions
from gitops.source import Checkout, SourceSpec

if TYPE_CHECKING:
    from gitops.cluster import Cluster
    from gitops.plan import Plan
    from gitops.render import RenderOptions
    from gitops.source import FetchOptions

__all__ = ["Desired", "SyncOptions", "applyset_name", "compare", "connect", "load", "plan", "sync"]


@dataclass
class Desired:
    """The rendered desired state of one source at one revision."""

    checkout: Checkout
    manifests: list[Manifest] = field(default_factory=list)


# --- the facade ---------------------------------------------------------------------------------
# Stage modules are imported inside the functions: commands that never reach a cluster should not
# pay for importing the Kubernetes client.


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
    from gitops.diff import ignore_rules
    from gitops.plan import compare_renders

    options = options or SyncOptions()
    cs = _empty_changeset(new, dry_run=True)
    cs.sensitive |= _sensitive(old)
    cs.baseline = f"base {old.checkout.revision[:12]}" if old.checkout.revision else "base"
    cs.entries = compare_renders(old.manifests, new.manifests, rules=ignore_rules(options.ignore))
    return cs


def applyset_name(desired: Desired, options: SyncOptions) -> str:
    """``--applyset``, else a name derived from what the repository is and the path inside it; a
    directory outside Git (or a work tree without a remote) can only be named by its location."""
    from gitops.inventory import default_name

    checkout = desired.checkout
    if options.applyset:
        return options.applyset
    return default_name(checkout.repository or str(checkout.root), checkout.path_in_repository)


def applyset_is_local(desired: Desired, options: SyncOptions) -> bool:
    """The default ApplySet name comes from the directory's location: another checkout names another set."""
    return not options.applyset and not desired.checkout.repository


def build_plan(cluster: Cluster, desired: Desired, options: SyncOptions) -> Plan:
    """Observe the cluster, then decide: the plan with everything sync needs."""
    from gitops.observe import observe
    from gitops.plan import decide_plan

    observation = observe(cluster, desired.manifests, options, applyset_name(desired, options))
    return decide_plan(
        _empty_changeset(desired, dry_run=options.dry_run),
        observation.items,
        observation.members,
        observation.applyset,
        options=options,
        rendered=len(desired.manifests),
        parents=observation.parents,
        contents=observation.contents,
    )


def _empty_changeset(desired: Desired, *, dry_run: bool) -> ChangeSet:
    checkout = desired.checkout
    return ChangeSet(
        source=checkout.display or checkout.spec.location,
        revision=checkout.revision,
        path=checkout.spec.path,
        dirty=checkout.dirty,
        dry_run=dry_run,
        sensitive=_sensitive(desired),
    )


def _sensitive(desired: Desired) -> frozenset[str]:
    """Every value the render decrypted from SOPS files (for masking)."""
    return frozenset().union(*(manifest.sensitive for manifest in desired.manifests))
