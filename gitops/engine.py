"""The engine: the one sequencer of the stages. Front ends (CLI, agent, Action) call only this.

    load(spec)            source.fetch -> render.render            -> Desired
    plan(cluster, d, o)   dry-run apply + live objects -> diff     -> ChangeSet
    sync(cluster, d, o)   plan -> apply waves -> prune -> health   -> ChangeSet
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gitops.objects import Manifest
from gitops.source import Checkout


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
    concurrency: int = 8
    qps: float = 50.0
    burst: int = 100


@dataclass
class Desired:
    """The rendered desired state of one source at one revision."""

    checkout: Checkout
    manifests: list[Manifest] = field(default_factory=list)
