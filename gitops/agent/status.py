"""Where users see what the agent did: a status ConfigMap per application and Kubernetes Events.

Status lives in ``ConfigMap gitops-status-<app>`` in the agent's namespace (not on the ApplySet
parent, which the engine owns and which may sit in another cluster): ``kubectl get configmap
gitops-status-shop -o yaml`` shows it, and ``kubectl describe configmap gitops-status-shop`` lists
the Events (core/v1, ``involvedObject`` the ConfigMap) with reasons SyncSucceeded, SyncFailed,
DriftDetected and DriftHealed.

The builders are pure; :class:`StatusWriter` does the writing.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field
from dataclasses import fields as fields_of
from datetime import UTC, datetime
from typing import Any, Protocol

from gitops.agent.leader import micro_time
from gitops.agent.logging import fields
from gitops.errors import GitopsError
from gitops.objects import ObjectRef

log = logging.getLogger(__name__)

COMPONENT = "gitops-agent"
APP_LABEL = "gitops.io/application"
REQUEST_ANNOTATION = "gitops.io/reconcile-requested-at"
"""Set on a status ConfigMap (by a standby replica, or by hand) to ask the leader for a reconcile."""
MANAGED_BY = {"app.kubernetes.io/managed-by": COMPONENT}
_MAX_EVENT_MESSAGE = 1024
HISTORY_LIMIT = 20
"""Reconciles kept in an application's history (in memory and in its status: the Application's, or
the status ConfigMap of a configuration-file application)."""
_MAX_HISTORY_MESSAGE = 300


class Reason:
    SYNC_SUCCEEDED = "SyncSucceeded"
    SYNC_FAILED = "SyncFailed"
    DRIFT_DETECTED = "DriftDetected"
    DRIFT_HEALED = "DriftHealed"


@dataclass(frozen=True)
class HistoryEntry:
    """One reconcile worth remembering: it wrote something, or its result differs from the one before."""

    time: str
    revision: str
    result: str
    """``Synced``, ``OutOfSync`` or ``Failed``."""
    created: int = 0
    updated: int = 0
    pruned: int = 0
    drifted: int = 0
    """Objects that differed from Git and were left so (self-heal off)."""
    failed: int = 0
    message: str = ""

    def data(self) -> dict[str, Any]:
        return {
            "time": self.time, "revision": self.revision, "result": self.result,
            "created": self.created, "updated": self.updated, "pruned": self.pruned,
            "drifted": self.drifted, "failed": self.failed, "message": self.message,
        }

    @property
    def written(self) -> int:
        return self.created + self.updated + self.pruned

    def repeats(self, other: HistoryEntry) -> bool:
        """Says nothing new after ``other``: nothing written, and the same revision, result, drift and
        failures (and the same cause, when failing)."""
        same = (self.revision, self.result, self.drifted, self.failed) == (
            other.revision, other.result, other.drifted, other.failed
        )
        return not self.written and same and (self.result != "Failed" or self.message == other.message)


def add_history(history: tuple[HistoryEntry, ...], entry: HistoryEntry) -> tuple[HistoryEntry, ...]:
    """``history`` (newest first) with ``entry`` in front, unless it repeats the newest; at most HISTORY_LIMIT."""
    if history and entry.repeats(history[0]):
        return history
    message = entry.message
    if len(message) > _MAX_HISTORY_MESSAGE:
        entry = HistoryEntry(**{**entry.data(), "message": message[: _MAX_HISTORY_MESSAGE - 3] + "..."})
    return (entry, *history)[:HISTORY_LIMIT]


def recorded_history(configmap: dict[str, Any] | None) -> tuple[HistoryEntry, ...]:
    """The history an agent recorded in a status ConfigMap (a JSON list in ``data.history``)."""
    text = ((configmap or {}).get("data") or {}).get("history") or "[]"
    try:
        items = json.loads(text)
    except ValueError:
        return ()
    return history_entries(items)


def history_entries(items: Any) -> tuple[HistoryEntry, ...]:
    """History entries as recorded (in a status ConfigMap or an Application's status); entries that
    cannot be read are left out, and so are fields a later version adds, so its history still reads."""
    known = {f.name for f in fields_of(HistoryEntry)}
    entries = []
    for item in items if isinstance(items, list) else []:
        try:
            entries.append(HistoryEntry(**{key: value for key, value in item.items() if key in known}))
        except (AttributeError, TypeError):
            continue
    return tuple(entries[:HISTORY_LIMIT])


@dataclass
class AppStatus:
    """What the status ConfigMap says about one application."""

    application: str
    source: str = ""
    path: str = ""
    revision: str = ""
    """The revision the application follows (branch, tag, SHA) as configured."""
    last_attempted_revision: str = ""
    last_applied_revision: str = ""
    result: str = "Unknown"
    """``Synced``, ``OutOfSync`` (drift reported, self-heal off) or ``Failed``."""
    message: str = ""
    drift_count: int = 0
    health: str = "Unknown"
    last_attempt_time: str = ""
    last_sync_time: str = ""
    """When the application was last seen in sync with Git."""
    drifted: list[str] = field(default_factory=list)
    """The drifted objects (``Deployment shop/web``), at most a few dozen."""
    history: tuple[HistoryEntry, ...] = ()
    """Recent reconciles, newest first (stored as a JSON list)."""

    def data(self) -> dict[str, str]:
        return {
            "application": self.application,
            "source": self.source,
            "path": self.path,
            "revision": self.revision,
            "lastAttemptedRevision": self.last_attempted_revision,
            "lastAppliedRevision": self.last_applied_revision,
            "result": self.result,
            "message": self.message,
            "driftCount": str(self.drift_count),
            "health": self.health,
            "lastAttemptTime": self.last_attempt_time,
            "lastSyncTime": self.last_sync_time,
            "drifted": "\n".join(self.drifted[:50]),
            "history": json.dumps([entry.data() for entry in self.history], separators=(",", ":")),
        }

    @classmethod
    def from_configmap(cls, configmap: dict[str, Any]) -> AppStatus:
        """What another replica recorded, read back (unreadable numbers read as 0)."""
        data = configmap.get("data") or {}
        count = data.get("driftCount", "0")
        return cls(
            application=data.get("application", ""),
            source=data.get("source", ""),
            path=data.get("path", ""),
            revision=data.get("revision", ""),
            last_attempted_revision=data.get("lastAttemptedRevision", ""),
            last_applied_revision=data.get("lastAppliedRevision", ""),
            result=data.get("result", "Unknown"),
            message=data.get("message", ""),
            drift_count=int(count) if count.isdigit() else 0,
            health=data.get("health", "Unknown"),
            last_attempt_time=data.get("lastAttemptTime", ""),
            last_sync_time=data.get("lastSyncTime", ""),
            drifted=[line for line in data.get("drifted", "").splitlines() if line],
            history=recorded_history(configmap),
        )


def status_name(application: str) -> str:
    return f"gitops-status-{application}"


def status_ref(namespace: str, application: str) -> ObjectRef:
    return ObjectRef("", "ConfigMap", namespace, status_name(application), "v1")


def status_configmap(status: AppStatus, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": status_name(status.application),
            "namespace": namespace,
            "labels": {**MANAGED_BY, APP_LABEL: status.application},
        },
        "data": status.data(),
    }


def last_applied_revision(configmap: dict[str, Any] | None) -> str | None:
    """What an earlier agent recorded as applied (so a restart does not count as a new revision)."""
    data = (configmap or {}).get("data") or {}
    return data.get("lastAppliedRevision") or None


def reconcile_request(namespace: str, application: str, requested_at: str) -> dict[str, Any]:
    """The status ConfigMap fields that ask the leader to reconcile ``application`` (applied on its own)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": status_name(application),
            "namespace": namespace,
            "labels": {**MANAGED_BY, APP_LABEL: application},
            "annotations": {REQUEST_ANNOTATION: requested_at},
        },
    }


def requests_in(configmaps: list[dict[str, Any]]) -> dict[str, str]:
    """Application -> the value of its reconcile request, from the status ConfigMaps."""
    found = {}
    for configmap in configmaps:
        metadata = configmap.get("metadata") or {}
        application = (metadata.get("labels") or {}).get(APP_LABEL)
        value = (metadata.get("annotations") or {}).get(REQUEST_ANNOTATION)
        if application and value:
            found[str(application)] = str(value)
    return found


def time_now() -> str:
    """A Kubernetes Time (RFC 3339, seconds)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_object(
    involved: dict[str, Any], *, reason: str, message: str, warning: bool, instance: str
) -> dict[str, Any]:
    """A core/v1 Event about ``involved`` (the status ConfigMap or Application as the server returned it)."""
    metadata = involved.get("metadata") or {}
    now = time_now()
    text = message if len(message) <= _MAX_EVENT_MESSAGE else message[: _MAX_EVENT_MESSAGE - 3] + "..."
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{metadata.get('name')}.{secrets.token_hex(8)}",
            "namespace": metadata.get("namespace"),
            "labels": dict(MANAGED_BY),
        },
        "involvedObject": {
            "apiVersion": involved.get("apiVersion") or "v1",
            "kind": involved.get("kind") or "ConfigMap",
            "name": metadata.get("name"),
            "namespace": metadata.get("namespace"),
            "uid": metadata.get("uid"),
            "resourceVersion": metadata.get("resourceVersion"),
        },
        "reason": reason,
        "message": text,
        "type": "Warning" if warning else "Normal",
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": instance,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


class ObjectWriter(Protocol):
    def get(self, ref: ObjectRef) -> dict[str, Any] | None: ...
    def apply(self, obj: dict[str, Any], *, field_manager: str = ...) -> dict[str, Any]: ...
    def create(self, obj: dict[str, Any]) -> dict[str, Any]: ...
    def list(self, api_version: str, kind: str, namespace: str, label_selector: str) -> list[dict[str, Any]]: ...


class StatusWriter:
    """Writes status and Events; failures are logged, never raised (status must not break reconciling)."""

    def __init__(self, api: ObjectWriter, namespace: str, instance: str) -> None:
        self.api = api
        self.namespace = namespace
        self.instance = instance

    def read(self, application: str) -> dict[str, Any] | None:
        """The application's status ConfigMap as recorded (``None`` when absent or unreadable)."""
        try:
            return self.api.get(status_ref(self.namespace, application))
        except GitopsError as err:
            log.warning("cannot read status: %s", err, extra=fields(app=application))
            return None

    def read_all(self) -> list[dict[str, Any]] | None:
        """Every status ConfigMap in the namespace; ``None`` when they cannot be read."""
        selector = ",".join(f"{key}={value}" for key, value in MANAGED_BY.items())
        try:
            return self.api.list("v1", "ConfigMap", self.namespace, selector)
        except GitopsError as err:
            log.debug("cannot read status: %s", err)
            return None

    def write(self, status: AppStatus, events: list[tuple[str, str, bool]]) -> None:
        """Apply the status ConfigMap, then record ``events`` (reason, message, warning) about it."""
        try:
            written = self.api.apply(status_configmap(status, self.namespace))
        except GitopsError as err:
            log.warning("cannot write status: %s", err, extra=fields(app=status.application))
            return
        for reason, message, warning in events:
            try:
                self.api.create(
                    event_object(written, reason=reason, message=message, warning=warning, instance=self.instance)
                )
            except GitopsError as err:
                log.warning("cannot record event %s: %s", reason, err, extra=fields(app=status.application))

    def request(self, application: str) -> bool:
        """Ask the leader (through the status ConfigMap) to reconcile ``application``; False when that failed."""
        from gitops.agent.kube import REQUEST_FIELD_MANAGER

        stamp = micro_time()
        try:
            self.api.apply(reconcile_request(self.namespace, application, stamp), field_manager=REQUEST_FIELD_MANAGER)
        except GitopsError as err:
            log.warning("cannot forward a reconcile request: %s", err, extra=fields(app=application))
            return False
        return True

    def requests(self) -> dict[str, str] | None:
        """The reconcile requests recorded on status ConfigMaps; ``None`` when they cannot be read."""
        configmaps = self.read_all()
        return None if configmaps is None else requests_in(configmaps)
