"""Options that shape a plan or a sync: one frozen dataclass every stage reads and no stage writes.

Its own module so that the stages (``observe``, ``plan``, ``apply``) and the engine that sequences
them all import it without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


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
    adopt: bool = False
    """Take objects another tool or ApplySet manages into this set (by default such an object fails)."""
    replace_immutable: bool = False
    wait: bool = False
    timeout: float = 300.0
    field_manager: str = "gitops"
    default_namespace: str = "default"
    ignore: tuple[str, ...] = ()
    """JSON pointers to ignore in diffs, optionally scoped: ``/spec/replicas`` or ``apps/Deployment:/spec/replicas``."""
    applyset: str | None = None
    """Name of the ApplySet (inventory); ``None``: derived from the source."""
    assess_health: bool = False
    """Give each unchanged object the health of the live object planning read (no extra request).
    The agent asks for it so that an application has a health between syncs without ``wait``;
    an object the run changes gets its health only from ``wait``."""
    may_write: Callable[[], bool] | None = None
    """Asked before every write of a sync; once it answers False, nothing more is written and what is left
    is reported as skipped (the agent passes its leadership check, so a leader that loses its lease stops)."""
    concurrency: int = 8
    """Concurrent API requests."""
    qps: float = 0.0
    """Hard cap on API requests a second (0: none). Below it the pace adapts to the server: it
    slows down on 429 and Retry-After and opens up while answers come quickly (:mod:`gitops.limits`)."""
    burst: int = 100
    """Requests allowed at once above ``qps`` (only with a cap)."""
