"""The agent: schedules every application, serves the HTTP endpoints, holds its share of the shard
Leases, and records each reconcile in logs, metrics, status and Events.

Applications come from the configuration file and from ``gitops.io/v1alpha1 Application`` objects
(watched). Each application belongs to one shard (:func:`gitops.agent.application.shard_of`); a
replica reconciles only the applications of the shards it holds (:mod:`gitops.agent.shards`).

    agent = Agent(load_config("agent.yaml"), kubeconfig=..., listen=("127.0.0.1", 0))
    agent = Agent(None, namespace="gitops-system", shards=4, identity="agent-0")   # Applications only
    agent.start()        # returns at once; work happens on background threads
    agent.stop()         # graceful: finish the runs under way, release the Leases
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitops.agent import application as appres
from gitops.agent.appstatus import (
    ApplicationStatus,
    ApplicationStatusWriter,
    ConditionReason,
    history_of,
    readiness,
)
from gitops.agent.config import AgentConfig, AppConfig, LeaderElection, SecretRef, own_namespace
from gitops.agent.kube import REQUEST_FIELD_MANAGER, AgentApi
from gitops.agent.logging import fields
from gitops.agent.metrics import Metrics
from gitops.agent.reconciler import Outcome, Phase, Result, failure_message, reconcile
from gitops.agent.scheduler import AppScheduler
from gitops.agent.server import AgentServer
from gitops.agent.shards import ShardCoordinator
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
from gitops.agent.watch import ApplicationWatcher
from gitops.changeset import Action, ChangeSet, Entry
from gitops.errors import GitopsError, SourceError
from gitops.objects import ObjectRef

if TYPE_CHECKING:
    from gitops.agent.dashboard import DashboardServer
    from gitops.cluster import Cluster
    from gitops.source import Credentials

log = logging.getLogger("gitops.agent")

_LISTED_OBJECTS = 10  # objects named in one Event message
_STATUS_REFRESH = 600.0  # an unchanged Application status is rewritten at most this often (seconds)
_INVALID_SPEC_INTERVAL = 60.0


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
    """``last_applied`` was read back from the cluster (once, on the first run after taking the shard)."""
    last_attempted: str | None = None
    last_attempt_time: str = ""
    last_sync_time: str = ""
    failures: int = 0
    failure: str | None = None
    """The message of the current failure; ``None`` while the application is fine."""
    drift: frozenset[str] = frozenset()
    """The drifted objects last reported (an Event is recorded only when this set changes)."""
    cluster: Cluster | None = None
    history: tuple[HistoryEntry, ...] = ()
    """Recent reconciles, newest first (also in the status: the Application's, or the status ConfigMap)."""
    changes: RecordedChangeSet | None = None
    """The last change set that found or made a change (what the dashboard shows in full)."""
    last_change_set: list[dict[str, str]] = field(default_factory=list)
    result: str = "Unknown"
    health: str = "Unknown"
    message: str = ""
    drift_count: int = 0
    running: bool = False
    written_status: dict[str, Any] | None = None
    """The last Application status written (to skip writing an unchanged one)."""
    written_at: float = 0.0


def default_identity() -> str:
    """The replica's identity: ``$POD_NAME`` (from the downward API), else in a pod its host name (the
    pod's name); outside a pod ``<hostname>_<random>``, so two agents on one machine never share one."""
    if os.environ.get("POD_NAME"):
        return os.environ["POD_NAME"]
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return socket.gethostname()
    return f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"


class Agent:
    def __init__(
        self,
        config: AgentConfig | None = None,
        *,
        kubeconfig: str | None = None,
        context: str | None = None,
        listen: tuple[str, int] = ("0.0.0.0", 8080),
        identity: str | None = None,
        namespace: str | None = None,
        watch_namespaces: list[str] | None = None,
        shards: int = 1,
        lease: LeaderElection | None = None,
        webhook_secret: str | None = None,
        dashboard_listen: tuple[str, int] | None = None,
    ) -> None:
        """``config``: the configuration file (``None``: Application objects only). ``namespace``
        overrides its namespace (Leases, status ConfigMaps, Events). ``watch_namespaces``: where to
        watch Application objects (default: ``namespace``; ``[""]``: all namespaces; ``[]``: none).
        ``webhook_secret``: a Secret in ``namespace`` with keys ``github-secret`` and ``reconcile-token``."""
        if config is None:
            config = AgentConfig(file="(command line)", namespace=namespace or own_namespace(os.environ), applications=())
        elif namespace:
            config = dataclasses.replace(config, namespace=namespace)
        if lease is not None:
            config = dataclasses.replace(config, leader_election=lease)
        self.config = config
        self.kubeconfig = kubeconfig
        self.context = context
        self.identity = identity or default_identity()
        self.shards = max(1, shards)
        self.watch_namespaces = [config.namespace] if watch_namespaces is None else list(watch_namespaces)
        self.webhook_secret = webhook_secret
        self.metrics = Metrics()
        self.metrics.watch_engine_requests(self._engine_requests)
        self.apps: dict[str, AppConfig] = {app.key: app for app in config.applications}
        self.invalid: dict[str, tuple[str, int]] = {}
        """Application objects whose spec is invalid: key -> (message, generation)."""
        self.objects: dict[str, dict[str, Any]] = {}
        """The Application objects as last seen (key ``namespace/name``)."""
        self.states: dict[str, AppState] = {key: AppState() for key in self.apps}
        self.scheduler = AppScheduler(self._run, workers=8)
        self.server = AgentServer(self, *listen)
        self.dashboard: DashboardServer | None = None
        self.attach_dashboard(dashboard_listen)
        self.cache_dir = config.cache_dir or Path(tempfile.gettempdir()) / "gitops-agent-cache"
        self.coordinator: ShardCoordinator | None = None
        self.watcher: ApplicationWatcher | None = None
        self.status: StatusWriter | None = None
        self.app_status: ApplicationStatusWriter | None = None
        self.api: AgentApi | None = None
        self._home: Cluster | None = None
        self._started = False
        self._lock = threading.RLock()
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
        self.api = AgentApi(self._home, self.metrics)
        if self.webhook_secret:
            self.config = dataclasses.replace(
                self.config,
                github_secret=SecretRef(reader=lambda: self._secret_value(self.webhook_secret, "github-secret")),
                reconcile_token=SecretRef(reader=lambda: self._secret_value(self.webhook_secret, "reconcile-token")),
            )
        self.status = StatusWriter(self.api, self.config.namespace, self.identity)
        self.app_status = ApplicationStatusWriter(self.api, self.identity)
        for key, app in self.apps.items():
            self.scheduler.add(key, app.interval, app.jitter)
        self._may_reconcile.set()
        self.scheduler.start()
        self.server.start()
        if self.dashboard is not None:
            self.dashboard.start()
        self.coordinator = ShardCoordinator(
            self.api, self.config.leader_election, namespace=self.config.namespace, identity=self.identity,
            shards=self.shards, on_acquired=self._shard_acquired, on_lost=self._shard_lost,
        )
        for shard in range(self.shards):
            self.metrics.shard_held.labels(str(shard)).set(0)
        if self.watch_namespaces:
            self.watcher = ApplicationWatcher(
                self.api, self.watch_namespaces, on_object=self._on_object, on_deleted=self._on_deleted,
                on_listed=self._on_listed, retry_period=max(self.config.leader_election.retry_period, 1.0),
            )
            self.watcher.start()
        self.coordinator.start()
        self._request_poller.start()
        self._started = True
        log.info(
            "agent started",
            extra=fields(identity=self.identity, url=self.url, shards=self.shards,
                         applications=[a.name for a in self.config.applications],
                         watching=[n or "*" for n in self.watch_namespaces]),
        )

    def stop(self, *, release: bool = True) -> None:
        """Graceful stop; ``release=False`` stops renewing the Leases without handing them back (a crash)."""
        self._stopping.set()
        if self.watcher is not None:
            self.watcher.stop()
        if not release:
            self._may_reconcile.clear()
        self.scheduler.pause_all()
        # Still holding the shards meanwhile: the runs under way finish, status and all.
        self.scheduler.shutdown(wait=release)
        self._may_reconcile.clear()
        if self.coordinator is not None:
            self.coordinator.stop(release=release)
        self.metrics.leader.set(0)
        self.metrics.shards_held.set(0)
        self.server.stop()
        if self.dashboard is not None:
            self.dashboard.stop()
        if self._request_poller.is_alive():
            self._request_poller.join()
        for state in self.states.values():
            if state.cluster is not None:
                state.cluster.close()
        if self._home is not None:
            self._home.close()
        log.info("agent stopped", extra=fields(identity=self.identity, released=release))

    def __enter__(self) -> Agent:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- shards ---------------------------------------------------------------------------

    def shard_of(self, key: str) -> int:
        return appres.shard_of(key, self.shards)

    def _keys_in(self, shard: int) -> list[str]:
        with self._lock:
            keys = list(self.apps) + list(self.invalid)
        return [key for key in keys if self.shard_of(key) == shard]

    def _shard_acquired(self, shard: int) -> None:
        if self._stopping.is_set():
            return
        if self.status is not None and self._requests_seen is None:
            # Requests made before this term are covered by its first runs, which start right away.
            self._requests_seen = self.status.requests()
        self.metrics.shard_held.labels(str(shard)).set(1)
        self._count_shards()
        for key in self._keys_in(shard):
            self.scheduler.resume(key)

    def _shard_lost(self, shard: int) -> None:
        """Stop the shard's applications. Called before a Lease is handed over: writes already stopped
        (``holds`` is false), and the runs under way are given a moment to end, so the next holder
        does not start while this replica still works on the same application."""
        self.metrics.shard_held.labels(str(shard)).set(0)
        self._count_shards()
        keys = self._keys_in(shard)
        for key in keys:
            self.scheduler.pause(key)
            state = self.states.get(key)
            if state is not None:
                state.restored = False  # the next holder's runs re-read what the other replica recorded
        deadline = time.monotonic() + self.config.leader_election.renew_deadline / 2
        while time.monotonic() < deadline and any((s := self.states.get(k)) is not None and s.running for k in keys):
            time.sleep(0.02)

    def _count_shards(self) -> None:
        held = self.coordinator.held() if self.coordinator is not None else []
        self.metrics.shards_held.set(len(held))
        self.metrics.leader.set(1 if held else 0)

    def holds(self, key: str) -> bool:
        """Whether this replica may reconcile (and write for) ``key`` right now."""
        if not self._may_reconcile.is_set() or self.coordinator is None:
            return False
        return self.coordinator.holds(self.shard_of(key))

    # --- Application objects (from the watch) ---------------------------------------------

    def _on_object(self, obj: dict[str, Any]) -> None:
        key = appres.key_of(obj)
        metadata = obj.get("metadata") or {}
        generation = int(metadata.get("generation") or 0)
        with self._lock:
            before = self.objects.get(key)
            self.objects[key] = obj
            known = self.apps.get(key)
            try:
                app: AppConfig | None = appres.app_from_object(obj, field_manager=self.config.field_manager)
            except GitopsError as err:
                app = None
                changed = self.invalid.get(key, ("", -1))[1] != generation
                self.invalid[key] = (str(err), generation)
                self.apps.pop(key, None)
                if changed:
                    log.warning("invalid Application", extra=fields(app=key, error=str(err)))
                    self.scheduler.add(key, _INVALID_SPEC_INTERVAL, 0)
            if app is not None:
                self.invalid.pop(key, None)
                self.apps[key] = app
                self.states.setdefault(key, AppState())
        if app is None:
            if changed and self.holds(key):
                self.scheduler.resume(key)
            return
        new_spec = known is None or known.generation != app.generation or known.delete_objects != app.delete_objects
        requested = before is not None and appres.request_of(before) != appres.request_of(obj)
        deleting = appres.is_deleting(obj) and not appres.is_deleting(before or {})
        if known is None or (new_spec and (known.interval, known.jitter) != (app.interval, app.jitter)):
            self.scheduler.add(key, app.interval, app.jitter)
        if self.holds(key) and (known is None or new_spec or requested or deleting):
            reason = "new" if known is None else "spec changed" if new_spec else "requested" if requested else "deleted"
            log.info("reconcile requested", extra=fields(app=key, reason=reason))
            self.scheduler.resume(key)

    def _on_deleted(self, key: str) -> None:
        with self._lock:
            self.objects.pop(key, None)
            self.invalid.pop(key, None)
            app = self.apps.pop(key, None)
            state = self.states.pop(key, None)
        self.scheduler.remove(key)
        if app is not None:
            log.info("Application deleted", extra=fields(app=key, objects="deleted" if app.delete_objects else "kept"))
        if state is not None and state.cluster is not None:
            state.cluster.close()

    def _on_listed(self, namespace: str, keys: set[str]) -> None:
        with self._lock:
            gone = [
                key for key in self.objects
                if key not in keys and (not namespace or key.startswith(f"{namespace}/"))
            ]
        for key in gone:
            self._on_deleted(key)

    # --- what the HTTP endpoints ask ------------------------------------------------------

    def applications(self) -> list[AppConfig]:
        with self._lock:
            return list(self.apps.values())

    def may_reconcile(self) -> bool:
        """Holds at least one shard (with a single shard: leads)."""
        return self._may_reconcile.is_set() and self.coordinator is not None and bool(self.coordinator.held())

    def is_leader(self) -> bool:
        return self.may_reconcile()

    def alive(self) -> bool:
        return not self._stopping.is_set()

    def ready(self) -> tuple[bool, str]:
        if not self._started or self._stopping.is_set():
            return False, "starting" if not self._started else "stopping"
        coordinator = self.coordinator
        assert coordinator is not None
        if coordinator.problem:
            return False, coordinator.problem
        watcher = self.watcher
        if watcher is not None and watcher.problem and (not self.config.applications or not watcher.missing_crd):
            return False, watcher.problem
        if not coordinator.enabled:
            return True, "leading"
        if not coordinator.healthy():
            return False, "cannot reach the API server to check the leases"
        held = coordinator.held()
        if self.shards == 1:
            if held:
                return True, "leading"
            return True, f"standing by (leader: {coordinator.holders().get(0) or 'none'})"
        live = coordinator.live_replicas()
        shards = ",".join(str(s) for s in held) or "none"
        return True, f"holding shards {shards} of {self.shards} ({live} live replicas)"

    def metrics_exposition(self) -> bytes:
        if self.coordinator is not None:
            self.metrics.live_replicas.set(self.coordinator.live_replicas())
        return self.metrics.exposition()

    def trigger(self, name: str, *, reason: str) -> str:
        with self._lock:
            app = self.apps.get(name)
        if app is None:
            return "unknown"
        if not self.holds(name):
            # Another replica holds the shard: hand the request over through the cluster.
            if self._forward(app):
                log.info("reconcile request forwarded", extra=fields(app=name, reason=reason))
                return "forwarded"
            return "standby"
        log.info("reconcile requested", extra=fields(app=name, reason=reason))
        self.scheduler.trigger(name)
        return "triggered"

    def _forward(self, app: AppConfig) -> bool:
        if app.resource is None:
            return self.status is not None and self.coordinator is not None and self.coordinator.enabled \
                and self.status.request(app.name)
        assert self.api is not None
        from gitops.agent.leader import micro_time

        namespace, name = app.resource
        patch = {
            "apiVersion": appres.API_VERSION, "kind": appres.KIND,
            "metadata": {"name": name, "namespace": namespace,
                         "annotations": {appres.REQUEST_ANNOTATION: micro_time()}},
        }
        try:
            self.api.apply(patch, field_manager=REQUEST_FIELD_MANAGER)
        except GitopsError as err:
            log.warning("cannot forward a reconcile request: %s", err, extra=fields(app=app.key))
            return False
        return True

    def _poll_requests(self) -> None:
        """Pick up reconcile requests written on status ConfigMaps (configuration-file applications)."""
        if not self.config.applications:
            return
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
                if name in self.apps and seen.get(name) != value and self.holds(name):
                    log.info("reconcile requested", extra=fields(app=name, reason="status annotation"))
                    self.scheduler.trigger(name)

    def _engine_requests(self) -> dict[tuple[str, str], int]:
        with self._lock:
            pairs = [(key, state.cluster) for key, state in self.states.items() if state.cluster is not None]
        return {self._labels_of(key): cluster.requests for key, cluster in pairs if cluster is not None}

    def _labels_of(self, key: str) -> tuple[str, str]:
        """(namespace, application) metric labels: an Application's own; the agent's namespace for the
        configuration file's applications."""
        namespace, _, name = key.rpartition("/")
        return (namespace or self.config.namespace, name)

    # --- secrets --------------------------------------------------------------------------

    def _secret_data(self, namespace: str, name: str) -> dict[str, str]:
        """A Secret's values (decoded). Raises SourceError naming the Secret, never its values."""
        assert self.api is not None
        try:
            secret = self.api.get(ObjectRef("", "Secret", namespace, name, "v1"))
        except GitopsError as err:
            raise SourceError(f"cannot read Secret {namespace}/{name}: {err}") from None
        if secret is None:
            raise SourceError(f"Secret {namespace}/{name} not found")
        values = {}
        for key, value in (secret.get("data") or {}).items():
            try:
                values[key] = base64.b64decode(value).decode()
            except (ValueError, UnicodeDecodeError):
                raise SourceError(f"Secret {namespace}/{name}: key {key} is not UTF-8 text") from None
        return values

    def _secret_value(self, name: str | None, key: str) -> str:
        if not name:
            return ""
        try:
            return self._secret_data(self.config.namespace, name).get(key, "").strip()
        except SourceError as err:
            log.error("cannot read the webhook secret: %s", err)
            return ""

    def _credentials(self, app: AppConfig) -> Credentials:
        """Git credentials: from the Application's Secret, else as the configuration file says."""
        if app.credentials_secret is None or app.resource is None:
            return app.credentials.resolve()
        from gitops.source import Credentials
        from gitops.source.credentials import DEFAULT_USERNAME

        namespace, name = app.resource
        data = self._secret_data(namespace, app.credentials_secret)
        files: dict[str, Path] = {}
        for key in ("identity", "known_hosts"):
            if data.get(key):
                directory = self.cache_dir / "credentials" / namespace / name
                directory.mkdir(parents=True, exist_ok=True, mode=0o700)
                path = directory / key
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(data[key] if data[key].endswith("\n") else data[key] + "\n")
                files[key] = path
        return Credentials(
            token=(data.get("password") or data.get("token") or "").strip() or None,
            username=data.get("username", "").strip() or DEFAULT_USERNAME,
            ssh_key_file=files.get("identity"),
            known_hosts_file=files.get("known_hosts"),
        )

    # --- one run --------------------------------------------------------------------------

    def _run(self, key: str) -> None:
        """The scheduled job: reconcile, then record. Never raises (the scheduler would only log it)."""
        with self._lock:
            app = self.apps.get(key)
            invalid = self.invalid.get(key)
            obj = self.objects.get(key)
            state = self.states.setdefault(key, AppState())
        # Marked before the check, so a shard handed over meanwhile waits for this run (_shard_lost).
        state.running = True
        try:
            if not self.holds(key):
                return
            if invalid is not None:
                self._report_invalid(key, invalid, obj)
                return
            if app is not None:
                log.debug("reconcile started", extra=fields(app=key, identity=self.identity))
                try:
                    self._reconcile(app, state, obj)
                finally:
                    log.debug("reconcile finished", extra=fields(app=key, identity=self.identity))
        finally:
            state.running = False

    def _reconcile(self, app: AppConfig, state: AppState, obj: dict[str, Any] | None) -> None:
        key = app.key
        started = time.monotonic()
        try:
            self._restore(app, state, obj)
            if obj is not None and appres.is_deleting(obj):
                if app.delete_objects:
                    self._delete_objects(app, state, obj)
                return
            if obj is not None and (obj.get("status") or {}).get("observedGeneration") != app.generation:
                # kstatus: a new generation is in progress until this run reports on it.
                message = f"reconciling generation {app.generation}"
                self._write_status(app, state, self._application_status(
                    app, state, ready=None, reason=ConditionReason.PROGRESSING, message=message,
                    reconciling=ConditionReason.PROGRESSING,
                ), [])
            try:
                credentials = self._credentials(app)
            except GitopsError as err:
                result = Result(Outcome.FAILED, Phase.FETCH, message=str(err))
            else:
                from gitops.source import FetchOptions

                result = reconcile(
                    app,
                    last_applied=state.last_applied,
                    cluster=lambda: self._cluster_for(app, state),
                    fetch_options=FetchOptions(cache_dir=self.cache_dir, credentials=credentials),
                    may_write=lambda: self.holds(key),
                )
        except Exception as err:  # a bug must not stop the schedule of this or other applications
            log.exception("reconcile crashed", extra=fields(app=key))
            # Only the type goes into cluster status: an unexpected error's text may hold object data.
            result = Result(Outcome.FAILED, Phase.SYNC, message=f"internal error: {type(err).__name__} (see the agent's log)")
        try:
            self._record(app, state, result, time.monotonic() - started)
        except Exception:
            log.exception("recording a reconcile crashed", extra=fields(app=key))

    def _restore(self, app: AppConfig, state: AppState, obj: dict[str, Any] | None) -> None:
        """Once per term: what the previous holder recorded (so a takeover is not a new revision)."""
        if state.restored:
            return
        if app.resource is not None:
            status = (obj or {}).get("status") or {}
            state.last_applied = status.get("lastAppliedRevision") or state.last_applied
            state.last_sync_time = status.get("lastSyncTime") or state.last_sync_time
            state.history = history_of(status) or state.history
            recorded_changes = [c for c in status.get("lastChangeSet") or [] if isinstance(c, dict)]
            state.last_change_set = recorded_changes or state.last_change_set
            state.written_status = None
        elif self.status is not None:
            recorded = self.status.read(app.name)
            state.last_applied = last_applied_revision(recorded) or state.last_applied
            state.history = recorded_history(recorded) or state.history
        state.restored = True

    def _cluster_for(self, app: AppConfig, state: AppState) -> Cluster:
        from gitops import engine

        if state.cluster is None:
            if app.kubeconfig is None and app.context is None and self._home is not None:
                # One connection for every application of this cluster; a request count per application.
                state.cluster = self._home.share()
            else:
                state.cluster = engine.connect(app.kubeconfig or self.kubeconfig, app.context or self.context)
            latency = self.metrics.engine_latency
            namespace, name = self._labels_of(app.key)
            state.cluster.on_request = lambda method, code, seconds: latency.labels(
                namespace, name, method, str(code)
            ).observe(seconds)
        return state.cluster

    # --- deletion (the finalizer) ---------------------------------------------------------

    def _delete_objects(self, app: AppConfig, state: AppState, obj: dict[str, Any]) -> None:
        """Delete what the application applied (prune of everything, through prune's guards), then let
        the Application go by removing the finalizer."""
        from gitops import engine
        from gitops.source import Checkout

        key = app.key
        checkout = Checkout(spec=app.source, root=self.cache_dir, directory=self.cache_dir, revision=None)
        options = dataclasses.replace(
            app.sync, dry_run=False, prune=True, allow_empty=True, may_write=lambda: self.holds(key)
        )
        try:
            changeset = engine.sync(self._cluster_for(app, state), engine.Desired(checkout=checkout), options)
            problem = failure_message(changeset) if changeset.failed or changeset.exit_code else ""
        except GitopsError as err:
            problem = str(err)
        if not self.holds(key):
            return
        assert self.app_status is not None and self.api is not None
        if problem:
            message = f"deleting its objects failed: {problem}"
            log.warning("deleting an Application's objects failed", extra=fields(app=key, error=problem))
            state.result = "Failed"
            status = self._application_status(app, state, ready=False, reason=ConditionReason.DELETE_REFUSED,
                                              message=message, stalled=ConditionReason.DELETE_REFUSED)
            events = [] if state.failure == message else [("DeleteFailed", message, True)]
            state.failure = message
            self._write_status(app, state, status, events, force=bool(events))
            self.scheduler.run_later(key, app.backoff.delay(max(1, state.failures)))
            return
        pruned = [entry.ref.short for entry in changeset.entries if entry.action is Action.PRUNE and entry.done]
        log.info("deleted an Application's objects", extra=fields(app=key, objects=pruned))
        self.app_status.record(obj, [("ObjectsDeleted", f"deleted {len(pruned)} objects", False)])
        metadata = obj.get("metadata") or {}
        remaining = [f for f in metadata.get("finalizers") or [] if f != appres.FINALIZER]
        try:
            self.api.replace({**obj, "metadata": {**metadata, "finalizers": remaining}})
        except GitopsError as err:
            # 409: changed meanwhile; the watch brings the new version and the next run retries.
            log.info("cannot remove the finalizer yet: %s", err, extra=fields(app=key))
            self.scheduler.run_later(key, 1.0)

    def _report_invalid(self, key: str, invalid: tuple[str, int], obj: dict[str, Any] | None) -> None:
        message, generation = invalid
        status = (obj or {}).get("status") or {}
        stalled = [c for c in status.get("conditions") or [] if c.get("type") == "Stalled"]
        if status.get("observedGeneration") == generation and stalled and stalled[0].get("message") == message:
            return  # already reported
        namespace, _, name = key.partition("/")
        report = ApplicationStatus(
            generation=generation, ready=False, reason=ConditionReason.INVALID_SPEC, message=message,
            result="Failed", stalled=ConditionReason.INVALID_SPEC, shard=self.shard_of(key), replica=self.identity,
            last_applied_revision=str(status.get("lastAppliedRevision") or ""),
            last_attempted_revision=str(status.get("lastAttemptedRevision") or ""),
            history=history_of(status),
        )
        assert self.app_status is not None
        self.app_status.write(namespace, name, report.body(time_now(), status), [("InvalidSpec", message, True)])

    # --- recording ------------------------------------------------------------------------

    def _record(self, app: AppConfig, state: AppState, result: Result, seconds: float) -> None:
        if result.outcome is Outcome.ABANDONED:
            log.info("reconcile abandoned: the shard was lost", extra=fields(app=app.key))
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
        legacy = self._status(app, state, result)
        state.result, state.health, state.message = legacy.result, legacy.health, legacy.message
        state.drift_count, state.history = legacy.drift_count, legacy.history
        state.last_attempt_time = legacy.last_attempt_time
        if result.written:
            state.last_change_set = [
                {"action": entry.action.value, "object": str(entry.ref)} for entry in result.written[:50]
            ]
        if self.holds(app.key):
            if app.resource is not None:
                self._write_status(app, state, self._from_result(app, state, result, legacy), events)
            elif self.status is not None:
                self.status.write(legacy, events)
        if result.outcome is Outcome.FAILED and not self._stopping.is_set():
            self.scheduler.run_later(app.key, app.backoff.delay(state.failures))

    def _from_result(self, app: AppConfig, state: AppState, result: Result, legacy: AppStatus) -> ApplicationStatus:
        ready, reason, stalled, reconciling = readiness(result)
        message = legacy.message or (f"applied revision {result.revision}" if result.revision else "in sync")
        return self._application_status(app, state, ready=ready, reason=reason, message=message,
                                        stalled=stalled, reconciling=reconciling, result=result, legacy=legacy)

    def _application_status(
        self, app: AppConfig, state: AppState, *, ready: bool | None, reason: str, message: str, stalled: str = "",
        reconciling: str = "", result: Result | None = None, legacy: AppStatus | None = None,
    ) -> ApplicationStatus:
        inventory = 0
        if result is not None and result.changeset is not None:
            inventory = sum(1 for e in result.changeset.entries if e.action is not Action.PRUNE or not e.done)
        elif state.written_status:
            inventory = int(state.written_status.get("inventorySize") or 0)
        return ApplicationStatus(
            generation=app.generation, ready=ready, reason=reason, message=message,
            result=legacy.result if legacy else state.result, health=legacy.health if legacy else state.health,
            last_applied_revision=state.last_applied or "", last_attempted_revision=state.last_attempted or "",
            last_attempt_time=time_now(), last_sync_time=state.last_sync_time,
            drifted=legacy.drifted if legacy else [], drifted_count=legacy.drift_count if legacy else state.drift_count,
            inventory_size=inventory, history=state.history, last_change_set=state.last_change_set,
            reconciling=reconciling, stalled=stalled, shard=self.shard_of(app.key), replica=self.identity,
        )

    def _write_status(
        self, app: AppConfig, state: AppState, status: ApplicationStatus, events: list[tuple[str, str, bool]],
        *, force: bool = False,
    ) -> None:
        assert app.resource is not None and self.app_status is not None
        namespace, name = app.resource
        with self._lock:
            previous = (self.objects.get(app.key) or {}).get("status")
        body = status.body(time_now(), previous)
        comparable = {k: v for k, v in body.items() if k not in ("lastAttemptTime", "lastSyncTime", "conditions")}
        conditions = [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in body["conditions"]]
        signature = {**comparable, "conditions": conditions}
        fresh = time.monotonic() - state.written_at < _STATUS_REFRESH
        if not force and not events and fresh and state.written_status == signature:
            return  # nothing new to say: an idle application costs no write
        if self.app_status.write(namespace, name, body, events) is not None:
            state.written_status, state.written_at = signature, time.monotonic()

    def _count(self, app: AppConfig, result: Result, seconds: float) -> None:
        metrics = self.metrics
        labels = self._labels_of(app.key)
        metrics.reconciles.labels(*labels, result.outcome.value).inc()
        metrics.reconcile_duration.labels(*labels, result.outcome.value).observe(seconds)
        if result.phase is Phase.FETCH:
            metrics.fetch_errors.labels(*labels).inc()
        if result.changeset is not None:
            metrics.drifted_objects.labels(*labels).set(0 if result.synced and not result.changeset.failed
                                                        else len(result.drifted))
        for entry in result.written:
            metrics.applied_objects.labels(*labels, entry.action.value).inc()
        if result.outcome is Outcome.SYNCED:
            metrics.last_success.labels(*labels).set(time.time())

    def _transition(self, app: AppConfig, state: AppState, result: Result) -> list[tuple[str, str, bool]]:
        """Log and choose Events: once per change of state, not on every attempt."""
        base = fields(app=app.key, revision=result.revision)
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
        count = len(result.drifted)
        return f"{count} object{'s differ' if count != 1 else ' differs'} from Git (self-heal off)"
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
