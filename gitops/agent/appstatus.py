"""An Application's ``status``, in the form kstatus (and ``kubectl wait --for=condition=Ready``) reads.

    conditions            Ready (True/False), plus Reconciling and Stalled while they hold (kstatus
                          "abnormal-true" conditions: absent when false), each with reason, message
                          and observedGeneration
    observedGeneration    the spec generation the last reconcile acted on
    lastAppliedRevision   full SHA last applied; lastAttemptedRevision: full SHA last tried
    result, health        Synced / OutOfSync / Failed; the worst object health
    driftedCount, drifted objects differing from Git at the last reconcile (at most 50 named)
    inventorySize         objects in the application's ApplySet after the last reconcile
    history               the last 20 reconciles that changed something or failed (revision, time,
                          result, counts), newest first (:func:`gitops.agent.status.add_history`)
    lastChangeSet         what the last sync wrote (at most 50 objects)
    shard, replica        who reconciles it

The builders are pure; :class:`ApplicationStatusWriter` writes through the ``status`` subresource
(server-side apply, its own field manager) and records Events about the Application.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from gitops.agent.application import API_VERSION, KIND
from gitops.agent.logging import fields
from gitops.agent.reconciler import Outcome, Phase, Result
from gitops.agent.status import HISTORY_LIMIT, HistoryEntry, event_object, history_entries
from gitops.errors import EXIT_SAFETY, GitopsError

log = logging.getLogger(__name__)

LISTED_LIMIT = 50
STATUS_FIELD_MANAGER = "gitops-agent-status"


class ConditionReason:
    SUCCEEDED = "Succeeded"
    DRIFT_DETECTED = "DriftDetected"
    PROGRESSING = "Progressing"
    RETRYING = "ProgressingWithRetry"
    INVALID_SPEC = "InvalidSpec"
    FETCH_FAILED = "FetchFailed"
    RENDER_FAILED = "RenderFailed"
    SYNC_FAILED = "SyncFailed"
    DELETE_REFUSED = "DeleteRefused"


@dataclass
class ApplicationStatus:
    """Everything ``status`` holds, built after each reconcile."""

    generation: int
    ready: bool | None
    """The Ready condition: True, False, or ``None`` for Unknown (a new generation being reconciled)."""
    reason: str
    message: str
    result: str = "Unknown"
    health: str = "Unknown"
    last_applied_revision: str = ""
    last_attempted_revision: str = ""
    last_attempt_time: str = ""
    last_sync_time: str = ""
    drifted: list[str] = field(default_factory=list)
    drifted_count: int = 0
    inventory_size: int = 0
    history: tuple[HistoryEntry, ...] = ()
    last_change_set: list[dict[str, str]] = field(default_factory=list)
    reconciling: str = ""
    """Reason of a Reconciling condition (``""``: none)."""
    stalled: str = ""
    """Reason of a Stalled condition (``""``: none)."""
    shard: int = 0
    replica: str = ""

    def conditions(self, now: str, previous: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """The conditions, keeping ``lastTransitionTime`` of those whose status did not change."""
        before = {str(c.get("type")): c for c in previous or []}

        def condition(kind: str, status: bool | None, reason: str, message: str) -> dict[str, Any]:
            value = "Unknown" if status is None else "True" if status else "False"
            old = before.get(kind) or {}
            since = old.get("lastTransitionTime") if old.get("status") == value else None
            return {
                "type": kind, "status": value, "reason": reason, "message": message[:1024],
                "observedGeneration": self.generation, "lastTransitionTime": since or now,
            }

        result = [condition("Ready", self.ready, self.reason, self.message)]
        if self.reconciling:
            result.append(condition("Reconciling", True, self.reconciling, self.message))
        if self.stalled:
            result.append(condition("Stalled", True, self.stalled, self.message))
        return result

    def body(self, now: str, previous: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``status`` object (``previous``: the status as read, for transition times)."""
        return {
            "observedGeneration": self.generation,
            "conditions": self.conditions(now, (previous or {}).get("conditions")),
            "result": self.result,
            "health": self.health,
            "message": self.message[:1024],
            "lastAppliedRevision": self.last_applied_revision,
            "lastAttemptedRevision": self.last_attempted_revision,
            "lastAttemptTime": self.last_attempt_time,
            "lastSyncTime": self.last_sync_time,
            "driftedCount": self.drifted_count,
            "drifted": self.drifted[:LISTED_LIMIT],
            "inventorySize": self.inventory_size,
            "history": [entry.data() for entry in self.history[:HISTORY_LIMIT]],
            "lastChangeSet": self.last_change_set[:LISTED_LIMIT],
            "shard": self.shard,
            "replica": self.replica,
        }


def readiness(result: Result) -> tuple[bool, str, str, str]:
    """(Ready, its reason, Stalled reason, Reconciling reason) after a reconcile (``""``: no such condition).

    A failure that needs a change to Git or the spec (a render error, a refused prune) stalls; other
    failures (fetching, the API) are retried with backoff, so the application is still reconciling.
    """
    if result.outcome is Outcome.FAILED:
        reason = {Phase.FETCH: ConditionReason.FETCH_FAILED, Phase.RENDER: ConditionReason.RENDER_FAILED}.get(
            result.phase, ConditionReason.SYNC_FAILED)
        refused = result.changeset is not None and result.changeset.exit_code == EXIT_SAFETY
        if refused or result.phase is Phase.RENDER:
            return False, reason, reason, ""
        return False, reason, "", ConditionReason.RETRYING
    if result.outcome is Outcome.DRIFTED:
        return False, ConditionReason.DRIFT_DETECTED, "", ""
    return True, ConditionReason.SUCCEEDED, "", ""


def history_of(status: dict[str, Any] | None) -> tuple[HistoryEntry, ...]:
    """The history recorded in an Application's status (newest first)."""
    return history_entries((status or {}).get("history"))


def status_patch(namespace: str, name: str, status: dict[str, Any]) -> dict[str, Any]:
    """The server-side apply body for the ``status`` subresource."""
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": name, "namespace": namespace}, "status": status}


class StatusApi(Protocol):
    def apply_status(self, obj: dict[str, Any], *, field_manager: str) -> dict[str, Any]: ...
    def create(self, obj: dict[str, Any]) -> dict[str, Any]: ...


class ApplicationStatusWriter:
    """Writes Application status and Events; failures are logged, never raised."""

    def __init__(self, api: StatusApi, instance: str) -> None:
        self.api = api
        self.instance = instance

    def write(
        self, namespace: str, name: str, status: dict[str, Any], events: list[tuple[str, str, bool]]
    ) -> dict[str, Any] | None:
        try:
            written = self.api.apply_status(status_patch(namespace, name, status), field_manager=STATUS_FIELD_MANAGER)
        except GitopsError as err:
            log.warning("cannot write Application status: %s", err, extra=fields(app=f"{namespace}/{name}"))
            return None
        self.record(written, events)
        return written

    def record(self, involved: dict[str, Any], events: list[tuple[str, str, bool]]) -> None:
        metadata = involved.get("metadata") or {}
        for reason, message, warning in events:
            try:
                self.api.create(
                    event_object(involved, reason=reason, message=message, warning=warning, instance=self.instance)
                )
            except GitopsError as err:
                log.warning(
                    "cannot record event %s: %s", reason, err,
                    extra=fields(app=f"{metadata.get('namespace')}/{metadata.get('name')}"),
                )
