"""A read-only view of each application's state, for dashboards and other readers.

Two sources, one shape (:class:`ApplicationView`):

- :func:`view_of_object`: from an ``Application`` object as read from the cluster (its ``status``
  is written by whichever replica holds the application's shard). Pure; a dashboard lists
  ``gitops.io/v1alpha1`` Applications and maps each through it.
- :func:`views`: what one running :class:`~gitops.agent.runner.Agent` knows right now, including
  the applications of its configuration file (whose status lives in ConfigMaps).

Nothing here holds secrets: source URLs are shown redacted, and no Secret is ever read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gitops.agent.appstatus import history_of
from gitops.agent.status import HistoryEntry

if TYPE_CHECKING:
    from gitops.agent.runner import Agent


@dataclass(frozen=True)
class ApplicationView:
    """One application as a dashboard shows it."""

    name: str
    namespace: str
    """The Application's namespace; for a configuration-file application, the agent's namespace."""
    result: str = "Unknown"
    """``Synced``, ``OutOfSync`` (drift reported, self-heal off), ``Failed`` or ``Unknown`` (not reconciled yet)."""
    health: str = "Unknown"
    """The worst health of its objects (``Healthy``, ``Progressing``, ``Degraded``, ...)."""
    revision: str = ""
    """The full SHA last applied."""
    drifted_count: int = 0
    last_sync_time: str = ""
    """When it was last seen in sync with Git (RFC 3339)."""
    message: str = ""
    ready: bool | None = None
    """The Ready condition (``None``: no status yet, or a configuration-file application)."""
    history: tuple[HistoryEntry, ...] = ()
    """The last reconciles that changed something or failed, newest first (at most 20)."""
    last_change_set: tuple[dict[str, str], ...] = ()
    """What the last sync wrote: ``{"action": "create"|"update"|"prune", "object": "apps/v1 Deployment shop/web"}``."""
    replica: str = ""
    """The replica that reconciles it (the holder of its shard)."""
    shard: int | None = None
    source: str = ""
    """The repository URL, credentials redacted."""
    path: str = ""
    attempted_revision: str = ""
    """The full SHA of the last reconcile (it may have failed)."""
    last_attempt_time: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "namespace": self.namespace, "result": self.result, "health": self.health,
            "revision": self.revision, "driftedCount": self.drifted_count, "lastSyncTime": self.last_sync_time,
            "message": self.message, "ready": self.ready, "history": [h.data() for h in self.history],
            "lastChangeSet": [dict(entry) for entry in self.last_change_set], "replica": self.replica,
            "shard": self.shard, "source": self.source, "path": self.path,
            "lastAttemptedRevision": self.attempted_revision, "lastAttemptTime": self.last_attempt_time,
        }


def view_of_object(obj: dict[str, Any]) -> ApplicationView:
    """The view of an Application object (as listed from the cluster). Pure."""
    from gitops.source.urls import redact_url

    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    source = spec.get("source") or {}
    ready_condition = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    changes = tuple(
        {"action": str(c.get("action") or ""), "object": str(c.get("object") or "")}
        for c in status.get("lastChangeSet") or [] if isinstance(c, dict)
    )
    shard = status.get("shard")
    return ApplicationView(
        name=str(metadata.get("name") or ""),
        namespace=str(metadata.get("namespace") or ""),
        result=str(status.get("result") or "Unknown"),
        health=str(status.get("health") or "Unknown"),
        revision=str(status.get("lastAppliedRevision") or ""),
        drifted_count=int(status.get("driftedCount") or 0),
        last_sync_time=str(status.get("lastSyncTime") or ""),
        message=str(status.get("message") or (ready_condition or {}).get("message") or ""),
        ready=None if ready_condition is None else ready_condition.get("status") == "True",
        history=tuple(history_of(status)),
        last_change_set=changes,
        replica=str(status.get("replica") or ""),
        shard=shard if isinstance(shard, int) else None,
        source=redact_url(str(source.get("url") or "")),
        path=str(source.get("path") or ""),
        attempted_revision=str(status.get("lastAttemptedRevision") or ""),
        last_attempt_time=str(status.get("lastAttemptTime") or ""),
    )


def views(agent: Agent) -> list[ApplicationView]:
    """What ``agent`` knows of every application right now (Applications as last seen through its
    watch, configuration-file applications from its memory), sorted by namespace and name."""
    with agent._lock:
        objects = list(agent.objects.values())
    result = [view_of_object(obj) for obj in objects] + configured_views(agent)
    return sorted(result, key=lambda view: (view.namespace, view.name))


def configured_views(agent: Agent) -> list[ApplicationView]:
    """The applications of ``agent``'s configuration file, from its memory (``Unknown`` until this
    replica reconciled them: another replica's results are in their status ConfigMaps)."""
    from gitops.source.urls import redact_url

    with agent._lock:
        configured = [(app, agent.states.get(app.key)) for app in agent.config.applications]
    holders = agent.coordinator.holders() if agent.coordinator else {}
    result = []
    for app, state in configured:
        shard = agent.shard_of(app.key)
        result.append(ApplicationView(
            name=app.name, namespace=agent.config.namespace,
            result=state.result if state else "Unknown", health=state.health if state else "Unknown",
            revision=(state.last_applied or "") if state else "", drifted_count=state.drift_count if state else 0,
            last_sync_time=state.last_sync_time if state else "", message=state.message if state else "",
            history=tuple(state.history) if state else (), last_change_set=tuple(state.last_change_set) if state else (),
            replica=agent.identity if agent.holds(app.key) else holders.get(shard, ""), shard=shard,
            source=redact_url(app.source.location), path=app.source.path,
            attempted_revision=(state.last_attempted or "") if state else "",
            last_attempt_time=state.last_attempt_time if state else "",
        ))
    return result
