"""What the dashboard shows, and the one interface it reads it through. Pure: no I/O.

The dashboard never reaches into the agent: a :class:`ApplicationProvider` hands it
:class:`AppSummary` rows and :class:`AppDetail` pages. The agent's provider
(:mod:`gitops.agent.dashboard.provider`) reads Application resources as the API server serves them,
the agent's memory, and the status ConfigMaps of configuration-file applications.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gitops.agent.status import HistoryEntry
from gitops.changeset import ChangeSet

RESULTS = ("Synced", "OutOfSync", "Failed", "Unknown")
"""Sync results; ``Unknown`` until an application's first reconcile is recorded."""


@dataclass(frozen=True)
class AppSummary:
    """One row of the overview."""

    name: str
    result: str = "Unknown"
    """One of :data:`RESULTS`."""
    health: str = "Unknown"
    revision: str = ""
    """The full commit SHA of the last reconcile ("" before the first, or for a plain directory)."""
    drifted: int = 0
    """Objects that differ from Git and were left so (self-heal off), or that failed to sync."""
    last_sync_time: str = ""
    """RFC 3339 time the application was last seen in sync with Git ("" never)."""
    message: str = ""
    """The failure message when ``Failed``, else a one-line summary of the last reconcile."""
    namespace: str = ""
    """The Application resource's namespace ("" for applications of the configuration file)."""
    replica: str = ""
    """The replica that reconciles this application, when known."""
    last_applied_revision: str = ""
    last_attempt_time: str = ""
    source: str = ""
    """The (redacted) repository URL."""
    path: str = ""

    @property
    def key(self) -> str:
        """How the routes name it: ``name``, or ``namespace/name`` for a namespaced resource."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True)
class AppDetail:
    """One application's page."""

    summary: AppSummary
    history: tuple[HistoryEntry, ...] = ()
    """Recent reconciles, newest first."""
    changeset: ChangeSet | None = None
    """The last change set that found or made a change; ``None`` when this replica does not hold it.
    Unmasked: every view masks Secret values before showing it."""
    recorded_changes: tuple[dict[str, str], ...] = ()
    """When this replica does not hold the change set (another replica reconciles the Application, or
    this one took it over and found it in sync): what its last sync wrote, as recorded in the
    Application's status (``{"action": "create", "object": "apps/v1 Deployment shop/web"}``)."""
    changeset_time: str = ""
    changeset_synced: bool = False
    """The change set was applied (a sync), not only planned (drift reported)."""


class ApplicationProvider(Protocol):
    """Where the dashboard reads applications from. Called from request threads: implementations
    must be safe to call concurrently, cheap (pages poll every few seconds), and never raise for an
    unreachable API server (return what is known)."""

    @property
    def replica(self) -> str:
        """This replica's identity, shown in the page header."""
        ...

    def applications(self) -> list[AppSummary]:
        """Every application, in display order."""
        ...

    def application(self, name: str) -> AppDetail | None:
        """One application by the name its summary carries (``namespace/name`` when namespaced);
        ``None`` when there is no such application."""
        ...
