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
    may_write: Callable[[], bool] | None = None
    """Asked before every write of a sync; once it answers False, nothing more is written and what is left
    is reported as skipped (the agent passes its leadership check, so a leader that loses its lease stops)."""
    concurrency: int = 8
    """Concurrent API requests."""
    qps: float = 200.0
    """Client-side rate limit (token bucket, 0: none): bounds a large sync, not a typical one."""
    burst: int = 1000
    """Requests allowed at once above ``qps``: a sync of about 1,000 objects (a request each) never waits."""
