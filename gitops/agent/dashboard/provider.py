"""The provider over a running agent: every application it knows, whoever reconciles it.

- Application resources: as the API server serves them (the agent's watch of its namespaces keeps
  every Application there, whichever shard it falls in), each through
  :func:`gitops.agent.state.view_of_object`: status, history and the replica that owns it.
- Configuration-file applications: this replica's memory when it holds their shard, else what the
  holder recorded in their status ConfigMaps.

The full change set (field changes, diffs) lives in the memory of the replica that reconciled it;
another replica's dashboard shows what that replica recorded in the Application's status
(``lastChangeSet``: action and object).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gitops.agent.dashboard.model import AppDetail, AppSummary
from gitops.agent.state import ApplicationView, configured_views, view_of_object
from gitops.agent.status import APP_LABEL, AppStatus, HistoryEntry

if TYPE_CHECKING:
    from gitops.agent.runner import Agent

RECORDED_TTL = 2.0
"""Seconds the status ConfigMaps read are reused (every open page polls)."""


@dataclass(frozen=True)
class _Entry:
    summary: AppSummary
    history: tuple[HistoryEntry, ...] = ()
    recorded_changes: tuple[dict[str, str], ...] = ()
    """An Application's ``status.lastChangeSet``, as its holder recorded it."""


class AgentProvider:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self._lock = threading.Lock()
        self._recorded: tuple[float, dict[str, AppStatus]] = (float("-inf"), {})

    @property
    def replica(self) -> str:
        return self.agent.identity

    def applications(self) -> list[AppSummary]:
        return [entry.summary for entry in self._entries()]

    def application(self, name: str) -> AppDetail | None:
        entry = next((entry for entry in self._entries() if entry.summary.key == name), None)
        if entry is None:
            return None
        state = self.agent.states.get(name) if self.agent.holds(name) else None
        changes = state.changes if state is not None else None
        if changes is not None and changes.changeset.in_sync and not changes.changeset.failed and entry.recorded_changes:
            # This replica only found it in sync (it took the shard over): what the last sync wrote says more.
            changes = None
        return AppDetail(
            summary=entry.summary,
            history=entry.history,
            changeset=changes.changeset if changes is not None else None,
            changeset_time=changes.time if changes is not None else "",
            changeset_synced=changes.synced if changes is not None else False,
            recorded_changes=entry.recorded_changes if changes is None else (),
        )

    def _entries(self) -> list[_Entry]:
        """Every application: Application resources by namespace and name, then the configuration file's."""
        with self.agent._lock:
            objects = list(self.agent.objects.values())
        views = sorted(map(view_of_object, objects), key=lambda view: (view.namespace, view.name))
        entries = [_Entry(_summary(view, namespace=view.namespace), view.history, view.last_change_set) for view in views]
        recorded: dict[str, AppStatus] | None = None
        for view in configured_views(self.agent):
            if self.agent.holds(view.name):
                entries.append(_Entry(_summary(view), view.history))
                continue
            recorded = self._recorded_statuses() if recorded is None else recorded
            status = recorded.get(view.name)
            if status is None:
                entries.append(_Entry(_summary(view), view.history))
            else:
                entries.append(_Entry(_recorded_summary(view, status), status.history))
        return entries

    def _recorded_statuses(self) -> dict[str, AppStatus]:
        """What the holders recorded in the status ConfigMaps (read at most every RECORDED_TTL seconds)."""
        if self.agent.status is None:
            return {}
        with self._lock:
            read_at, statuses = self._recorded
            if time.monotonic() - read_at < RECORDED_TTL:
                return statuses
            configmaps = self.agent.status.read_all()
            if configmaps is not None:
                statuses = _by_application(configmaps)
            self._recorded = (time.monotonic(), statuses)
            return statuses


def _summary(view: ApplicationView, *, namespace: str = "") -> AppSummary:
    """``namespace``: the Application's (a configuration-file application has none: its key is its name)."""
    return AppSummary(
        name=view.name,
        result=view.result,
        health=view.health,
        revision=view.attempted_revision or view.revision,
        drifted=view.drifted_count,
        last_sync_time=view.last_sync_time,
        message=view.message,
        namespace=namespace,
        replica=view.replica,
        last_applied_revision=view.revision,
        last_attempt_time=view.last_attempt_time,
        source=view.source,
        path=view.path,
    )


def _recorded_summary(view: ApplicationView, status: AppStatus) -> AppSummary:
    return AppSummary(
        name=view.name,
        result=status.result,
        health=status.health,
        revision=status.last_attempted_revision,
        drifted=status.drift_count,
        last_sync_time=status.last_sync_time,
        message=status.message,
        replica=view.replica,
        last_applied_revision=status.last_applied_revision,
        last_attempt_time=status.last_attempt_time,
        source=status.source or view.source,
        path=status.path or view.path,
    )


def _by_application(configmaps: list[dict[str, Any]]) -> dict[str, AppStatus]:
    statuses = {}
    for configmap in configmaps:
        name = ((configmap.get("metadata") or {}).get("labels") or {}).get(APP_LABEL)
        if name and (configmap.get("data") or {}).get("result"):
            statuses[str(name)] = AppStatus.from_configmap(configmap)
    return statuses
