"""The provider over today's agent: applications from its configuration file, state from its memory.

The replica that reconciles (the leader) knows everything: status, history and the last change set.
A standby has reconciled nothing itself, so it shows what the leader recorded in the status
ConfigMaps (status and history; the change set stays with the leader, whose identity it names).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from gitops.agent.dashboard.model import AppDetail, AppSummary
from gitops.agent.status import APP_LABEL, AppStatus

if TYPE_CHECKING:
    from gitops.agent.config import AppConfig
    from gitops.agent.runner import Agent, AppState

RECORDED_TTL = 2.0
"""Seconds a standby reuses the status ConfigMaps it read (every open page polls)."""


class AgentProvider:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self._lock = threading.Lock()
        self._recorded: tuple[float, dict[str, AppStatus]] = (float("-inf"), {})

    @property
    def replica(self) -> str:
        return self.agent.identity

    def applications(self) -> list[AppSummary]:
        statuses = self._statuses()
        return [self._summary(app, statuses.get(app.name)) for app in self.agent.config.applications]

    def application(self, name: str) -> AppDetail | None:
        app = self.agent.config.application(name)
        if app is None:
            return None
        status = self._statuses().get(name)
        # A standby's own change set (from an earlier term) is stale; the leader holds the current one.
        changes = self.agent.states[name].changes if self._leading() else None
        return AppDetail(
            summary=self._summary(app, status),
            history=status.history if status is not None else (),
            changeset=changes.changeset if changes is not None else None,
            changeset_time=changes.time if changes is not None else "",
            changeset_synced=changes.synced if changes is not None else False,
        )

    def _leading(self) -> bool:
        return self.agent.elector is None or self.agent.is_leader()

    def _statuses(self) -> dict[str, AppStatus]:
        """The leader knows; a standby reads what the leader recorded."""
        states: dict[str, AppState] = self.agent.states
        if self._leading():
            return {name: state.status for name, state in states.items() if state.status is not None}
        return self._recorded_statuses()

    def _summary(self, app: AppConfig, status: AppStatus | None) -> AppSummary:
        if status is None:
            return AppSummary(name=app.name, replica=self._owner(), source=_source(app), path=app.source.path)
        return AppSummary(
            name=app.name,
            result=status.result,
            health=status.health,
            revision=status.last_attempted_revision,
            drifted=status.drift_count,
            last_sync_time=status.last_sync_time,
            message=status.message,
            replica=self._owner(),
            last_applied_revision=status.last_applied_revision,
            last_attempt_time=status.last_attempt_time,
            source=status.source or _source(app),
            path=status.path,
        )

    def _owner(self) -> str:
        """One replica reconciles every application: the leader (this one when not electing)."""
        elector = self.agent.elector
        if elector is None or self.agent.is_leader():
            return self.agent.identity
        return elector.holder or ""

    def _recorded_statuses(self) -> dict[str, AppStatus]:
        """What the leader recorded in the status ConfigMaps (read at most every RECORDED_TTL seconds)."""
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


def _by_application(configmaps: list[dict[str, Any]]) -> dict[str, AppStatus]:
    statuses = {}
    for configmap in configmaps:
        name = ((configmap.get("metadata") or {}).get("labels") or {}).get(APP_LABEL)
        if name and (configmap.get("data") or {}).get("result"):
            statuses[str(name)] = AppStatus.from_configmap(configmap)
    return statuses


def _source(app: AppConfig) -> str:
    from gitops.source.urls import redact_url

    return redact_url(app.source.location)
