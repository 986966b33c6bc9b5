"""The change set: one typed entry per object, flowing from planning through apply, prune and
health to every report format.

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gitops.errors import EXIT_DIFF, EXIT_OK, EXIT_SYNC
from gitops.objects import ObjectRef, Origin


class Action(StrEnum):
    """What the plan does (or did) with one object."""

    CREATE = "create"
    UPDATE = "update"
    ADOPT = "adopt"
    """Exists without our ApplySet label: applying takes it into the set (``reason`` says from whom)."""
    UNCHANGED = "unchanged"
    PRUNE = "prune"
    SKIPPED = "skipped"
    """Deliberately left alone (prune disabled, ignored, guard refused); ``reason`` says why."""
    FAILED = "failed"
    """Planning or applying it failed; ``error`` says why."""


class Health(StrEnum):
    """Ordered from best to worst (see :func:`worst`)."""

    HEALTHY = "Healthy"
    PROGRESSING = "Progressing"
    UNKNOWN = "Unknown"
    DEGRADED = "Degraded"
    MISSING = "Missing"


_HEALTH_ORDER = list(Health)


def worst(statuses: list[Health]) -> Health:
    """The worst of several health statuses (Healthy for none)."""
    return max(statuses, key=_HEALTH_ORDER.index, default=Health.HEALTHY)


@dataclass(frozen=True)
class FieldChange:
    """One field that differs between the live object and what the server would make of Git's."""

    path: str
    """Dotted path with list indices or keys: ``spec.template.spec.containers[name=web].image``."""
    before: Any
    """Live value (``None`` when added)."""
    after: Any
    """Desired value (``None`` when removed)."""
    manager: str | None = None
    """Field manager that last wrote the live value, from ``managedFields`` (who caused the drift)."""
    operation: str | None = None
    """That manager's operation: ``Apply`` or ``Update``."""


@dataclass
class Entry:
    """One object's line in the change set."""

    ref: ObjectRef
    action: Action
    origin: Origin | None = None
    """Where the object is defined in Git; ``None`` for objects only in the cluster (prune)."""
    changes: list[FieldChange] = field(default_factory=list)
    desired: dict[str, Any] | None = None
    """What the server would make of the manifest (dry-run result), normalized for display."""
    live: dict[str, Any] | None = None
    """The live object, normalized for display; ``None`` when it does not exist."""
    wave: int = 0
    reason: str = ""
    """Why it is skipped, or the API reason of a failure (``Conflict``, ``Invalid``, ...)."""
    error: str = ""
    """One-line error message for failed entries."""
    health: Health | None = None
    health_message: str = ""
    done: bool = False
    """True once sync carried the action out (False in plans and dry runs)."""
    orphan: bool = False
    """A member of our ApplySet that Git no longer has (pruned, or kept and reported): a difference."""

    @property
    def changed(self) -> bool:
        return self.action in (Action.CREATE, Action.UPDATE, Action.ADOPT, Action.PRUNE)


@dataclass
class ChangeSet:
    """The plan (or result) of one reconcile of one source against one cluster."""

    source: str
    """The (redacted) source location."""
    revision: str | None
    """Resolved commit SHA, ``None`` for a plain directory."""
    path: str = ""
    dirty: bool = False
    """The local work tree had uncommitted changes."""
    dry_run: bool = True
    entries: list[Entry] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Run-level errors and refusals (safety guards, health timeout) that belong to no single entry."""
    exit_code: int = 0
    """The run's exit code by :mod:`gitops.errors`' convention (0, or 6 failed, 7 refused, 8 timed out)."""
    sensitive: frozenset[str] = frozenset()
    """Values decrypted from SOPS files for this run: masked in every report, whatever object holds them."""
    baseline: str = "live"
    """What the desired state is compared with, as diffs label it: ``live`` (the cluster), or the
    render of a base revision (``base 1a2b3c4d5e6f``) when two renders are compared."""

    def count(self, action: Action) -> int:
        return sum(1 for entry in self.entries if entry.action is action)

    def counts(self) -> dict[str, int]:
        return {action.value: self.count(action) for action in Action}

    @property
    def in_sync(self) -> bool:
        """Nothing to create, update, adopt or prune, no orphan kept, and nothing failed."""
        return not any(entry.changed or entry.orphan or entry.action is Action.FAILED for entry in self.entries)

    @property
    def failed(self) -> bool:
        return bool(self.errors) or any(entry.action is Action.FAILED for entry in self.entries)

    @property
    def converged(self) -> bool:
        """Whether the cluster matches Git at the end of the run: for a plan, nothing to change; for a
        sync, every change carried out and nothing failed."""
        if self.dry_run:
            return self.in_sync
        return not self.failed and all(entry.done for entry in self.entries if entry.changed)

    def exit_status(self, *, drift_fails: bool = False) -> int:
        """The process exit code for this run: its own (refused, timed out), else 6 when something
        failed, else (with ``drift_fails``, kubectl diff's convention) 1 when not :attr:`converged`, else 0."""
        if self.exit_code:
            return self.exit_code
        if self.failed:
            return EXIT_SYNC
        return EXIT_DIFF if drift_fails and not self.converged else EXIT_OK
