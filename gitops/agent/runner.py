"""The agent: schedules every application, serves the HTTP endpoints, campaigns for the Lease,
and records each reconcile in logs, metrics, the status ConfigMap and Events.

    agent = Agent(load_config("agent.yaml"), kubeconfig=..., listen=("127.0.0.1", 0))
    agent.start()        # returns at once; work happens on background threads
    agent.stop()         # graceful: finish the runs under way, release the Lease
"""

from __future__ import annotations

import logging
import socket
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitops.agent.config import AgentConfig, AppConfig
from gitops.agent.kube import AgentApi
from gitops.agent.leader import LeaderElector
from gitops.agent.logging import fields
from gitops.agent.metrics import Metrics
from gitops.agent.reconciler import Outcome, Phase, Result, reconcile
from gitops.agent.scheduler import AppScheduler
from gitops.agent.server import AgentServer
from gitops.agent.status import (
    AppStatus,
    HistoryEntry,
    Reason,
    StatusWriter,
    add_history,
    last_applied_revision,
    recorded_history,
    time_now,
)
from gitops.changeset import Action, ChangeSet, Entry

if TYPE_CHECKING:
    from gitops.agent.dashboard import DashboardServer
    from gitops.cluster import Cluster

log = logging.getLogger("gitops.agent")

_LISTED_OBJECTS = 10  # objects named in one Event message


@dataclass(frozen=True)
class RecordedChangeSet:
    """The change set of the last reconcile that found or made a change (what the dashboard shows)."""

    changeset: ChangeSet
    time: str
    synced: bool
    """A sync (changes applied) rather than a plan (drift reported)."""


@dataclass
class AppState:
    """What the agent remembers about one application between reconciles."""

    last_applied: str | None = None
    restored: bool = False
    """``last_applied`` was read back from the status ConfigMap (once, on the first run as leader)."""
    last_attempted: str | None = None
    last_sync_time: str = ""
    failures: int = 0
    failure: str | None = None
    """The message of the current failure; ``None`` while the application is fine."""
    drift: frozenset[str] = frozenset()
    """The drifted objects last reported (an Event is recorded only when this set changes)."""
    cluster: Cluster | None = None
    status: AppStatus | None = None
    """What the last reconcile recorded; ``None`` before the first one."""
    history: tuple[HistoryEntry, ...] = ()
    """Recent reconciles, newest first (also in the status ConfigMap, read back on a new leader term)."""
    changes: RecordedChangeSet | None = None


def default_identity() -> str:
    """``<hostname>_<random>``, as client-go names lease holders (the pod name is the hostname)."""
    return f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        *,
        kubeconfig: str | None = None,
        context: str | None = None,
        listen: tuple[str, int] = ("0.0.0.0", 8080),
        identity: str | None = None,
        dashboard_listen: tuple[str, int] | None = None,
    ) -> None:
        self.config = config
        self.kubeconfig = kubeconfig
        self.context = context
        self.identity = identity or default_identity()
        self.metrics = Metrics()
        self.metrics.watch_engine_requests(self._engine_requests)
        self.states = {app.name: AppState() for app in config.applications}
        self.scheduler = AppScheduler(self._run, workers=min(8, len(config.applications)))
        self.server = AgentServer(self, *listen)
        self.dashboard: DashboardServer | None = None
        self.attach_dashboard(dashboard_listen)
        self.cache_dir = config.cache_dir or Path(tempfile.gettempdir()) / "gitops-agent-cache"
        self.elector: LeaderElector | None = None
        self.status: StatusWriter | None = None
        self._home: Cluster | None = None
        self._started = False
        self._stopping = threading.Event()
        self._may_reconcile = threading.Event()
        self._requests_seen: dict[str, str] | None = None
        self._request_poller = threading.Thread(target=self._poll_requests, name="agent-requests", daemon=True)

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def dashboard_url(self) -> str | None:
        return self.dashboard.url if self.dashboard is not None else None

    def attach_dashboard(self, address: tuple[str, int] | None) -> None:
        """Bind the read-only dashboard (before :meth:`start`); ``None`` leaves it off. OSError when it cannot."""
        if address is None:
            return
        from gitops.agent.dashboard import AgentProvider, DashboardServer

        self.dashboard = DashboardServer(AgentProvider(self), *address)

    def start(self) -> None:
        from gitops import engine

        self._home = engine.connect(self.kubeconfig, self.context)
        api = AgentApi(self._home, self.metrics)
        self.status = StatusWriter(api, self.config.namespace, self.identity)
        for app in self.config.applications:
            self.scheduler.add(app.name, app.interval, app.jitter)
        self.scheduler.start()
        self.server.start()
        if self.dashboard is not None:
            self.dashboard.start()
        settings = self.config.leader_election
        if settings.enabled:
            self.elector = LeaderElector(
                api, settings, namespace=self.config.namespace, identity=self.identity,
                on_started_leading=self._start_leading, on_stopped_leading=self._stop_leading,
            )
            self.elector.start()
        else:
            self._start_leading()
        self._request_poller.start()
        self._started = True
        log.info(
            "agent started",
            extra=fields(identity=self.identity, url=self.url, applications=[a.name for a in self.config.applications]),
        )

    def stop(self, *, release: bool = True) -> None:
        """Graceful stop; ``release=False`` stops renewing the Lease without handing it back (a crash)."""
        self._stopping.set()
        self.scheduler.pause_all()
        if not release:
            self._may_reconcile.clear()
        # Still the leader meanwhile: the run under way finishes, status and all.
        self.scheduler.shutdown(wait=release)
        self._may_reconcile.clear()
        if self.elector is not None:
            self.elector.stop(release=release)
        self.metrics.leader.set(0)
        self.server.stop()
        if self.dashboard is not None:
            self.dashboard.stop()
        if self._request_poller.is_alive():
            self._request_poller.join()
        for cluster in {id(c): c for c in [self._home, *(s.cluster for s in self.states.values())] if c}.values():
            cluster.close()
        log.info("agent stopped", extra=fields(identity=self.identity, released=release))

    def __enter__(self) -> Agent:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start_leading(self) -> None:
        if self._stopping.is_set():
            return
        # Requests made before this term are covered by its first runs, which start right away.
        self._requests_seen = self.status.requests() if self.status is not None else None
        self._may_reconcile.set()
        self.metrics.leader.set(1)
        self.scheduler.resume_all()

    def _stop_leading(self) -> None:
        self._may_reconcile.clear()
        self.metrics.leader.set(0)
        self.scheduler.pause_all()
        for state in self.states.values():
            state.restored = False  # the next leader term re-reads what the other replica recorded

    # --- what the HTTP endpoints ask ------------------------------------------------------

    def may_reconcile(self) -> bool:
        if not self._may_reconcile.is_set():
            return False
        return self.elector is None or self.elector.is_leader()

    def is_leader(self) -> bool:
        return self.may_reconcile()

    def alive(self) -> bool:
        return not self._stopping.is_set()

    def ready(self) -> tuple[bool, str]:
        if not self._started or self._stopping.is_set():
            return False, "starting" if not self._started else "stopping"
        if self.elector is None or self.elector.is_leader():
            return True, "leading"
        if self.elector.healthy():
            return True, f"standing by (leader: {self.elector.holder or 'none'})"
        return False, "cannot reach the API server to check the lease"

    def metrics_exposition(self) -> bytes:
        return self.metrics.exposition()

    def trigger(self, name: str, *, reason: str) -> str:
        if name not in self.states:
            return "unknown"
        if not self.may_reconcile():
            # A standby hands the request to the leader through the status ConfigMap.
            if self.status is not None and self.elector is not None and self.status.request(name):
                log.info("reconcile request forwarded to the leader", extra=fields(app=name, reason=reason))
                return "forwarded"
            return "standby"
        log.info("reconcile requested", extra=fields(app=name, reason=reason))
        self.scheduler.trigger(name)
        return "triggered"

    def _poll_requests(self) -> None:
        """While leading, pick up reconcile requests written on status ConfigMaps (by standbys or by hand)."""
        period = max(self.config.leader_election.retry_period, 1.0)
        while not self._stopping.wait(period):
            if self.status is None or not self.may_reconcile():
                continue
            requests = self.status.requests()
            if requests is None:
                continue
            seen, self._requests_seen = self._requests_seen, requests
            if seen is None:
                continue
            for name, value in requests.items():
                if name in self.states and seen.get(name) != value:
                    log.info("reconcile requested", extra=fields(app=name, reason="status annotation"))
                    self.scheduler.trigger(name)

    def _engine_requests(self) -> dict[str, int]:
        return {name: state.cluster.requests for name, state in self.states.items() if state.cluster is not None}

    # --- one run --------------------------------------------------------------------------

    def _run(self, name: str) -> None:
        """The scheduled job: reconcile, then record. Never raises (the scheduler would only log it)."""
        app = self.config.application(name)
        state = self.states[name]
        if app is None or not self.may_reconcile():
            return
        started = time.monotonic()
        try:
            if not state.restored and self.status is not None:
                recorded = self.status.read(name)
                state.last_applied = last_applied_revision(recorded) or state.last_applied
                state.history = recorded_history(recorded) or state.history
                state.restored = True
            result = reconcile(
                app,
                last_applied=state.last_applied,
                cluster=lambda: self._cluster_for(app, state),
                fetch_options=self._fetch_options(app),
                may_write=self.may_reconcile,
            )
        except Exception as err:  # a bug must not stop the schedule of this or other applications
            log.exception("reconcile crashed", extra=fields(app=name))
            # Only the type goes into cluster status: an unexpected error's text may hold object data.
            result = Result(Outcome.FAILED, Phase.SYNC, message=f"internal error: {type(err).__name__} (see the agent's log)")
        try:
            self._record(app, state, result, time.monotonic() - started)
        except Exception:
            log.exception("recording a reconcile crashed", extra=fields(app=name))

    def _cluster_for(self, app: AppConfig, state: AppState) -> Cluster:
        from gitops import engine

        if state.cluster is None:
            # One connection per application, so request counts and discovery stay per application.
            state.cluster = engine.connect(app.kubeconfig or self.kubeconfig, app.context or self.context)
            latency = self.metrics.engine_latency
            state.cluster.on_request = lambda method, code, seconds: latency.labels(
                app.name, method, str(code)
            ).observe(seconds)
        return state.cluster

    def _fetch_options(self, app: AppConfig) -> Any:
        from gitops.source import FetchOptions

        return FetchOptions(cache_dir=self.cache_dir, credentials=app.credentials.resolve())

    # --- recording ------------------------------------------------------------------------

    def _record(self, app: AppConfig, state: AppState, result: Result, seconds: float) -> None:
        if result.outcome is Outcome.ABANDONED:
            log.info("reconcile abandoned: no longer the leader", extra=fields(app=app.name))
            return
        self._count(app, result, seconds)
        events = self._transition(app, state, result)
        state.last_attempted = result.revision or state.last_attempted
        if result.outcome is not Outcome.FAILED:
            state.last_sync_time = time_now() if result.outcome is Outcome.SYNCED else state.last_sync_time
            if result.synced:
                state.last_applied = result.revision
        if result.changeset is not None and (
            state.changes is None or not result.changeset.in_sync or result.changeset.failed
        ):
            state.changes = RecordedChangeSet(result.changeset, time_now(), result.synced)
        status = self._status(app, state, result)
        state.history = status.history
        state.status = status
        if self.status is not None and self.may_reconcile():
            self.status.write(status, events)
        if result.outcome is Outcome.FAILED and not self._stopping.is_set():
            self.scheduler.run_later(app.name, app.backoff.delay(state.failures))

    def _count(self, app: AppConfig, result: Result, seconds: float) -> None:
        metrics = self.metrics
        metrics.reconciles.labels(app.name, result.outcome.value).inc()
        metrics.reconcile_duration.labels(app.name, result.outcome.value).observe(seconds)
        if result.phase is Phase.FETCH:
            metrics.fetch_errors.labels(app.name).inc()
        if result.changeset is not None:
            metrics.drifted_objects.labels(app.name).set(0 if result.synced and not result.changeset.failed
                                                         else len(result.drifted))
        for entry in result.written:
            metrics.applied_objects.labels(app.name, entry.action.value).inc()
        if result.outcome is Outcome.SYNCED:
            metrics.last_success.labels(app.name).set(time.time())

    def _transition(self, app: AppConfig, state: AppState, result: Result) -> list[tuple[str, str, bool]]:
        """Log and choose Events: once per change of state, not on every attempt."""
        base = fields(app=app.name, revision=result.revision)
        events: list[tuple[str, str, bool]] = []
        if result.outcome is Outcome.FAILED:
            state.failures += 1
            message = f"{result.phase.value} failed: {result.message}"
            if state.failure != message:
                log.warning("reconcile failed", extra={**base, "phase": result.phase.value, "error": result.message})
                events.append((Reason.SYNC_FAILED, _at(result.revision, message), True))
            else:
                log.debug("reconcile still failing", extra={**base, "failures": state.failures})
            state.failure = message
            return events
        if state.failure is not None:
            log.info("reconcile recovered", extra={**base, "after_failures": state.failures})
        state.failures, state.failure = 0, None
        for entry in result.written:
            log.info("object written", extra={**base, "action": entry.action.value, "object": str(entry.ref)})
        new_revision = result.revision != state.last_applied
        if result.synced and (new_revision or result.written):
            if new_revision or not result.written:
                log.info("synced", extra={**base, "changed": len(result.written)})
                events.append((Reason.SYNC_SUCCEEDED, _applied_message(result), False))
            else:
                log.info("drift healed", extra={**base, "objects": [str(e.ref) for e in result.written]})
                events.append((Reason.DRIFT_HEALED, _drift_message("Healed drift in", result.written), False))
        drift = frozenset(str(entry.ref) for entry in result.drifted) if result.outcome is Outcome.DRIFTED else frozenset()
        if drift and drift != state.drift:
            log.warning("drift detected", extra={**base, "objects": sorted(drift)})
            events.append((Reason.DRIFT_DETECTED, _drift_message("Drift (self-heal off) in", result.drifted), True))
        state.drift = drift
        return events

    def _status(self, app: AppConfig, state: AppState, result: Result) -> AppStatus:
        word = {Outcome.SYNCED: "Synced", Outcome.DRIFTED: "OutOfSync"}.get(result.outcome, "Failed")
        drift_count = len(result.drifted) if not result.synced or result.outcome is Outcome.FAILED else 0
        now = time_now()
        written = {action: sum(1 for e in result.written if e.action is action) for action in Action}
        reconciled = HistoryEntry(
            time=now, revision=result.revision or "", result=word,
            created=written[Action.CREATE], updated=written[Action.UPDATE], pruned=written[Action.PRUNE],
            drifted=drift_count if result.outcome is Outcome.DRIFTED else 0,
            failed=result.changeset.count(Action.FAILED) if result.changeset is not None else 0,
            message=state.failure or _summary(result),
        )
        return AppStatus(
            application=app.name,
            source=_display(app),
            path=app.source.path,
            revision=app.source.revision or "",
            last_attempted_revision=state.last_attempted or "",
            last_applied_revision=state.last_applied or "",
            result=word,
            message=state.failure or _summary(result),
            drift_count=drift_count,
            health=result.health,
            last_attempt_time=now,
            last_sync_time=state.last_sync_time,
            drifted=[entry.ref.short for entry in result.drifted] if result.outcome is Outcome.DRIFTED else [],
            history=add_history(state.history, reconciled),
        )


def _display(app: AppConfig) -> str:
    from gitops.source.urls import redact_url

    return redact_url(app.source.location)


def _at(revision: str | None, message: str) -> str:
    return f"revision {revision[:12]}: {message}" if revision else message


def _summary(result: Result) -> str:
    if result.changeset is None:
        return ""
    counts = {action: sum(1 for e in result.written if e.action is action)
              for action in (Action.CREATE, Action.UPDATE, Action.ADOPT, Action.PRUNE)}
    if result.outcome is Outcome.DRIFTED:
        return f"{len(result.drifted)} objects differ from Git (self-heal off)"
    adopted = f", {counts[Action.ADOPT]} adopted" if counts[Action.ADOPT] else ""
    return f"{counts[Action.CREATE]} created, {counts[Action.UPDATE]} updated{adopted}, {counts[Action.PRUNE]} pruned"


def _applied_message(result: Result) -> str:
    return _at(result.revision, f"applied: {_summary(result)}")


def _drift_message(prefix: str, entries: list[Entry]) -> str:
    described = []
    for entry in entries[:_LISTED_OBJECTS]:
        change = entry.changes[0] if entry.changes else None
        who = f" (changed by {change.manager})" if change is not None and change.manager else ""
        described.append(f"{entry.ref.short} [{entry.action.value}{': ' + change.path if change else ''}{who}]")
    more = f" and {len(entries) - _LISTED_OBJECTS} more" if len(entries) > _LISTED_OBJECTS else ""
    return f"{prefix} {len(entries)} objects: {', '.join(described)}{more}"
