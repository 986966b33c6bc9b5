"""The one module that talks to the Kubernetes API (through the official ``kubernetes`` client).

Everything above it (plan, apply, inventory, agent) calls the typed methods of :class:`Cluster`
with plain ``dict`` objects and :class:`~gitops.objects.ObjectRef` identities; no other module
imports the client. Error answers and connection failures are translated here, once, into
:class:`~gitops.errors.ApiError` / :class:`~gitops.errors.ClusterError`.

Requests go through the official client's connection pool (its ``RESTClientObject``: TLS, client
certificates, proxies, retries on dropped connections), with the credentials its configuration
holds (refreshed every few seconds and after a 401), and the JSON encoded and decoded by us: the
generated models and the per-request serialization of ``ApiClient`` are not needed for arbitrary
kinds and cost more client time than the requests themselves at 10,000 objects.
Discovery is our own, in memory, behind a lock: the dynamic client's discovery writes a shared
cache file keyed only by host and is not thread-safe.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import urllib3
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from gitops import jsoncodec
from gitops.errors import ApiError, ClusterError, ConfigError
from gitops.limits import AdaptiveLimiter
from gitops.objects import ObjectRef

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

APPLY_PATCH = "application/apply-patch+yaml"

_IN_CLUSTER_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
_MAX_THROTTLE_RETRIES = 5
_METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
_CREDENTIALS_SECONDS = 10.0


@dataclass
class _Shared:
    """State every :meth:`Cluster.share` handle of one connection shares."""

    preferred: dict[str, str] | None = None
    pool: ThreadPoolExecutor | None = None
    pool_lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class ResourceType:
    """One kind the cluster serves, from discovery."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str = "", name: str = "") -> str:
        """The REST path of the collection (or of one object when ``name`` is given)."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{self.plural}"
        return f"{base}/{quote(name, safe='')}" if name else base


class UnknownKind(ClusterError):
    """The cluster does not serve this kind (at this API version)."""

    def __init__(self, api_version: str, kind: str) -> None:
        self.api_version = api_version
        self.kind = kind
        super().__init__(f"the cluster does not serve kind {kind} in {api_version or 'v1'}")


@dataclass(frozen=True)
class ClusterOptions:
    concurrency: int = 8
    """Worker threads for :meth:`Cluster.map` (and the HTTP connection pool size)."""
    qps: float = 0.0
    """Hard cap on requests a second (0: none); below it the pace adapts to the server (:mod:`gitops.limits`)."""
    burst: int = 100
    """Requests allowed at once above ``qps``."""
    request_timeout: float = 30.0
    page_size: int = 500
    """Objects per LIST page (``limit``); a larger collection is read in pages (``continue``)."""


class Cluster:
    """A connection to one cluster. Thread-safe; use :meth:`map` for concurrent requests."""

    def __init__(
        self,
        api_client: k8s_client.ApiClient,
        *,
        options: ClusterOptions | None = None,
        description: str = "",
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.api_client = api_client
        self.options = options or ClusterOptions()
        self.host = api_client.configuration.host
        self.description = description or _redact_host(self.host)
        self.limiter = AdaptiveLimiter(self.options.qps, self.options.burst)
        self.requests = 0
        """Number of API requests made (for the benchmark)."""
        self.writes = 0
        """Of those, requests that change something: not GET, not a dry run (for the benchmark)."""
        self.on_request: Callable[[str, int, float], None] | None = None
        """Called after every request with the HTTP method, status code (0: no answer) and seconds taken."""
        self._count_lock = threading.Lock()
        self._headers_lock = threading.Lock()
        self._direct: urllib3.HTTPConnectionPool | None = None
        self._prefix = urlsplit(self.host).path.rstrip("/")
        """The path the server is served under (``https://proxy/k8s/clusters/c-1``), if any."""
        self._base_headers: dict[str, str] = {}
        self._headers_until = -math.inf
        self._discovery_lock = threading.RLock()
        self._group_versions: dict[str, dict[str, ResourceType] | None] = {}
        self._discovering: dict[str, Future[dict[str, ResourceType] | None]] = {}
        self._shared = _Shared()
        self._on_close = on_close
        self._owner = True

    # --- construction -------------------------------------------------------------------

    @staticmethod
    def _configuration(options: ClusterOptions) -> k8s_client.Configuration:
        configuration = k8s_client.Configuration()
        # Connections to spare for every worker avoid urllib3's "pool is full" churn.
        configuration.connection_pool_maxsize = max(4, options.concurrency * 2)
        # Retry only connections that could not be made; a 429 with Retry-After is the limiter's to
        # handle (urllib3 would otherwise retry reads itself, hiding the server's pushback from it).
        configuration.retries = urllib3.Retry(
            total=2, connect=2, read=0, backoff_factor=0.1, respect_retry_after_header=False
        )
        return configuration

    @classmethod
    def from_kubeconfig(
        cls, kubeconfig: str | os.PathLike[str] | None = None, context: str | None = None,
        options: ClusterOptions | None = None,
    ) -> Cluster:
        """From a kubeconfig file (``None``: ``$KUBECONFIG`` or ``~/.kube/config``), without global state."""
        options = options or ClusterOptions()
        where = str(kubeconfig) if kubeconfig else os.environ.get("KUBECONFIG") or "~/.kube/config"
        config_file = str(kubeconfig) if kubeconfig else None
        _check_kubeconfig(config_file, where, context)
        try:
            api_client = k8s_config.new_client_from_config(
                config_file=config_file,
                context=context,
                persist_config=False,
                client_configuration=cls._configuration(options),
            )
        except _KUBECONFIG_ERRORS as err:
            raise ConfigError(f"kubeconfig {where}: cannot load it: {_one_line(err)}") from err
        label = f"{where} (context {context})" if context else where
        return cls(api_client, options=options, description=label)

    @classmethod
    def in_cluster(cls, options: ClusterOptions | None = None) -> Cluster:
        """From the pod's service account."""
        options = options or ClusterOptions()
        configuration = cls._configuration(options)
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)
        except ConfigException as err:
            raise ClusterError(f"cannot load in-cluster configuration: {_one_line(err)}") from err
        return cls(k8s_client.ApiClient(configuration), options=options, description="in-cluster")

    @classmethod
    def sandbox(cls, state_dir: Path | None = None, options: ClusterOptions | None = None) -> Cluster:
        """Start the embedded sandbox API server for the life of this connection; or, when a
        ``gitops sandbox serve`` already serves that state directory, connect to it through the
        kubeconfig it wrote there (two servers on one state would overwrite each other's objects)."""
        from gitops.sandbox import SandboxServer, default_state_dir
        from gitops.sandbox.store import StateInUse

        state_dir = state_dir or default_state_dir()
        try:
            server = SandboxServer(state_dir=state_dir)
        except StateInUse:
            served = state_dir / "kubeconfig"
            if not served.is_file():
                raise
            cluster = cls.from_kubeconfig(str(served), options=options)
            cluster.description = f"sandbox {cluster.host} (gitops sandbox serve)"
            return cluster
        server.start()
        try:
            with tempfile.TemporaryDirectory(prefix="gitops-sandbox-") as tmp:
                kubeconfig = server.write_kubeconfig(Path(tmp) / "kubeconfig")
                cluster = cls.from_kubeconfig(kubeconfig, options=options)
        except BaseException:
            server.stop()
            raise
        cluster.description = f"sandbox {server.url}"
        cluster._on_close = server.stop
        return cluster

    @staticmethod
    def running_in_pod() -> bool:
        return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and _IN_CLUSTER_TOKEN.exists()

    def close(self) -> None:
        if not self._owner:
            return
        if self._shared.pool is not None:
            self._shared.pool.shutdown(wait=True)
            self._shared.pool = None
        self.api_client.close()
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close()

    def share(self) -> Cluster:
        """Another handle on this connection: the same client, connection pool, workers, rate limit and
        discovery, with a request count and ``on_request`` of its own (one per application of an agent,
        so hundreds of applications cost one connection). Closing it does nothing; close the original."""
        other = Cluster(self.api_client, options=self.options, description=self.description)
        other.limiter = self.limiter
        other._discovery_lock = self._discovery_lock
        other._group_versions = self._group_versions
        other._discovering = self._discovering
        other._shared = self._shared
        other._owner = False
        return other

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- concurrency --------------------------------------------------------------------

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``[function(item) for item in items]`` on the worker pool, results in input order.

        The function should catch its own errors if one failure must not hide the others.
        """
        items = list(items)
        if len(items) <= 1 or self.options.concurrency <= 1:
            return [function(item) for item in items]
        with self._shared.pool_lock:
            if self._shared.pool is None:
                self._shared.pool = ThreadPoolExecutor(max_workers=self.options.concurrency, thread_name_prefix="gitops")
            pool = self._shared.pool
        return list(pool.map(function, items))

    # --- raw requests -------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, Any]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        ref: ObjectRef | None = None,
        timeout: float | None = None,
        accept: str = "application/json",
    ) -> Any:
        """One API request; returns the decoded JSON body. Errors become ApiError/ClusterError."""
        refreshed = False
        for attempt in range(_MAX_THROTTLE_RETRIES + 1):
            response = self._send(method, path, query, body, content_type, ref, timeout, accept)
            data = response.data
            if response.status == 429 and attempt < _MAX_THROTTLE_RETRIES:
                # API Priority and Fairness asks us to come back later: the limiter slows down and
                # holds every request (this retry included) until Retry-After has passed.
                self.limiter.throttled_for(response.headers.get("Retry-After"), attempt)
                continue
            if response.status == 401 and not refreshed:
                refreshed = True  # the token may have expired since it was read: read it again once
                self._headers(refresh=True)
                continue
            if not 200 <= response.status <= 299:
                raise api_error(response.status, data, ref=ref, method=method, path=path)
            return jsoncodec.loads(data) if data else {}
        raise AssertionError("unreachable")

    def _send(
        self, method: str, path: str, query: list[tuple[str, Any]] | None, body: Any, content_type: str,
        ref: ObjectRef | None, timeout: float | tuple[float, float] | None, accept: str = "application/json",
        *, stream: bool = False,
    ) -> urllib3.BaseHTTPResponse:
        self.limiter.acquire()
        writes = method != "GET" and ("dryRun", "All") not in (query or ())
        with self._count_lock:
            self.requests += 1
            self.writes += writes
        headers = {**self._headers(), "Accept": accept}
        payload = None
        if body is not None:
            headers["Content-Type"] = content_type
            payload = jsoncodec.dumps_compact(body)  # JSON is valid YAML for apply patches
        target = f"{path}?{urlencode(query)}" if query else path
        started, code = time.monotonic(), 0
        try:
            response = self._urlopen(method, target, payload, headers, timeout or self.options.request_timeout, stream)
            code = response.status
            return response
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise ClusterError(f"cannot reach the cluster at {_redact_host(self.host)}: {_connection_cause(err)}") from err
        finally:
            seconds = time.monotonic() - started
            self.limiter.answered(code, seconds)
            if self.on_request is not None:
                self.on_request(method, code, seconds)

    def _urlopen(
        self, method: str, target: str, payload: bytes | None, headers: dict[str, str],
        timeout: float | tuple[float, float], stream: bool,
    ) -> urllib3.BaseHTTPResponse:
        """``stream``: the body is left unread (a watch), to be read and released by the caller;
        a ``(connect, read)`` timeout then bounds each read rather than the whole answer."""
        limit = urllib3.Timeout(connect=timeout[0], read=timeout[1]) if isinstance(timeout, tuple) else \
            _total_timeout(timeout)
        manager = self.api_client.rest_client.pool_manager
        if type(manager) is not urllib3.PoolManager:
            # Through a proxy: the proxy manager decides how each URL is reached.
            return manager.request(method, f"{self.host}{target}", body=payload, headers=headers,
                                   preload_content=not stream, timeout=limit)
        # Straight to the server's connection pool: the manager would parse the URL and look the
        # pool up again on every request (a sixth of the client's time per request).
        if self._direct is None:
            self._direct = manager.connection_from_url(self.host)
        return self._direct.urlopen(method, f"{self._prefix}{target}", body=payload, headers=headers,
                                    preload_content=not stream, timeout=limit)

    def _headers(self, *, refresh: bool = False) -> dict[str, str]:
        """The client's default headers and credentials, read from its configuration at most every
        few seconds: the kubeconfig loader's token-refresh hook rewrites the configuration on every
        read (a fifth of the client's CPU time in a sync of 10,000 objects)."""
        now = time.monotonic()
        with self._headers_lock:
            if refresh or now >= self._headers_until:
                headers = dict(self.api_client.default_headers)
                for setting in self.api_client.configuration.auth_settings().values():
                    if setting.get("in") == "header" and setting.get("value"):
                        headers[setting["key"]] = setting["value"]
                self._base_headers, self._headers_until = headers, now + _CREDENTIALS_SECONDS
            return self._base_headers

    # --- discovery ----------------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> ResourceType:
        """The served resource for ``kind`` in ``api_version``; raises UnknownKind."""
        resources = self._group_version(api_version or "v1")
        if resources is None or kind not in resources:
            raise UnknownKind(api_version, kind)
        return resources[kind]

    def resource_for(self, ref: ObjectRef) -> ResourceType:
        """Resolve a ref; without a version, the group's preferred version."""
        if ref.version:
            return self.resource(ref.api_version, ref.kind)
        return self.resource_for_group_kind(ref.group, ref.kind)

    def resource_for_group_kind(self, group: str, kind: str) -> ResourceType:
        version = self.preferred_version(group)
        if version is None:
            raise UnknownKind(group, kind)
        return self.resource(f"{group}/{version}" if group else version, kind)

    def preferred_version(self, group: str) -> str | None:
        with self._discovery_lock:
            preferred = self._shared.preferred
        if preferred is None:
            # Not under the lock: group-versions load meanwhile (a race costs one extra request).
            preferred = {"": "v1"}
            for entry in self.request("GET", "/apis").get("groups", []):
                version = (entry.get("preferredVersion") or {}).get("version")
                if version:
                    preferred[entry["name"]] = version
            with self._discovery_lock:
                self._shared.preferred = preferred
        return preferred.get(group)

    def invalidate_discovery(self, api_version: str | None = None) -> None:
        """Forget discovery (after a CRD was established): everything, or one group-version."""
        with self._discovery_lock:
            self._shared.preferred = None
            if api_version is None:
                self._group_versions.clear()
            else:
                self._group_versions.pop(api_version, None)

    def discover(self, api_versions: Iterable[str]) -> None:
        """Start a run's discovery: forget what earlier runs on this connection learned (the agent
        keeps a connection for its lifetime, while CRDs come and go), then fetch the discovery
        documents of these group-versions (and the group list) concurrently, so resolving kinds
        afterwards makes no request. Only what is asked is fetched; other group-versions are
        fetched on first use, once."""
        self.invalidate_discovery()
        wanted = sorted({version or "v1" for version in api_versions})
        tasks: list[Callable[[], object]] = [lambda v=v: self._group_version(v) for v in wanted]
        tasks.append(lambda: self.preferred_version(""))
        self.map(lambda task: task(), tasks)

    def _group_version(self, api_version: str) -> dict[str, ResourceType] | None:
        """One group-version's kinds, fetched once even when several threads ask at the same time
        (without holding the lock over the request, so different group-versions load in parallel)."""
        with self._discovery_lock:
            if api_version in self._group_versions:
                return self._group_versions[api_version]
            pending = self._discovering.get(api_version)
            owner = pending is None
            if pending is None:
                pending = self._discovering[api_version] = Future()
        if not owner:
            return pending.result()
        try:
            resources = self._discover(api_version)
        except BaseException as err:
            with self._discovery_lock:
                self._discovering.pop(api_version, None)
            pending.set_exception(err)
            raise
        with self._discovery_lock:
            self._group_versions[api_version] = resources
            self._discovering.pop(api_version, None)
        pending.set_result(resources)
        return resources

    def _discover(self, api_version: str) -> dict[str, ResourceType] | None:
        group, _, version = api_version.rpartition("/")
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        try:
            listing = self.request("GET", path)
        except ApiError as err:
            if err.status == 404:
                return None
            raise
        resources: dict[str, ResourceType] = {}
        for entry in listing.get("resources", []):
            if "/" in entry.get("name", ""):
                continue  # subresources (deployments/status)
            resources.setdefault(entry["kind"], ResourceType(
                group=group, version=version, kind=entry["kind"], plural=entry["name"],
                namespaced=bool(entry.get("namespaced")),
            ))
        return resources

    # --- typed verbs --------------------------------------------------------------------

    def _target(self, obj: dict[str, Any]) -> tuple[ObjectRef, ResourceType]:
        ref = ObjectRef.from_object(obj)
        return ref, self.resource(ref.api_version, ref.kind)

    def get(self, ref: ObjectRef) -> dict[str, Any] | None:
        """The live object, or ``None`` when it does not exist."""
        resource = self.resource_for(ref)
        try:
            return self.request("GET", resource.path(ref.namespace, ref.name), ref=ref)
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    def list(
        self,
        resource: ResourceType,
        *,
        namespace: str = "",
        label_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every object of a kind (across namespaces unless ``namespace``), following pagination."""
        items: list[dict[str, Any]] = []
        query: list[tuple[str, Any]] = [("limit", self.options.page_size)]
        if label_selector:
            query.append(("labelSelector", label_selector))
        token = ""
        while True:
            page = self.request("GET", resource.path(namespace), query=[*query, *([("continue", token)] if token else [])])
            for item in page.get("items") or []:
                # List items carry no apiVersion/kind; give them theirs back.
                item.setdefault("apiVersion", resource.api_version)
                item.setdefault("kind", resource.kind)
                items.append(item)
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    def watch(
        self,
        resource: ResourceType,
        *,
        namespace: str = "",
        resource_version: str = "",
        timeout_seconds: int = 300,
        stopped: Callable[[], bool] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Watch events (``{"type", "object"}``, BOOKMARKs included) from ``resource_version``, read line
        by line until the server ends the watch (``timeoutSeconds``) or ``stopped()`` turns true.

        An ERROR event becomes :class:`ApiError` (410 Gone when the version is too old: list again).
        """
        query: list[tuple[str, Any]] = [
            ("watch", "true"), ("allowWatchBookmarks", "true"), ("timeoutSeconds", timeout_seconds),
        ]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        path = resource.path(namespace)
        # The read timeout only guards against a silent peer: the server ends the watch itself.
        raw = self._send("GET", path, query, None, "application/json", None, (10.0, timeout_seconds + 30.0),
                         stream=True)
        try:
            if not 200 <= raw.status <= 299:
                raise api_error(raw.status, raw.read(), method="GET", path=path)
            buffer = b""
            for chunk in raw.stream(65536, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield self._watch_event(jsoncodec.loads(line), path)
                if stopped is not None and stopped():
                    return
            if buffer.strip():
                yield self._watch_event(jsoncodec.loads(buffer), path)
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise ClusterError(f"watch of {path} broke off: {_connection_cause(err)}") from err
        finally:
            raw.release_conn()

    @staticmethod
    def _watch_event(event: dict[str, Any], path: str) -> dict[str, Any]:
        if event.get("type") == "ERROR":
            status = event.get("object") or {}
            raise api_error(int(status.get("code") or 500), json.dumps(status), method="GET", path=path)
        return event

    def list_metadata(
        self, resource: ResourceType, *, namespace: str = "", label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """Every object of a kind, metadata only (``PartialObjectMetadataList``): reads no Secret's
        data, and no spec of objects that are not ours."""
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            query: list[tuple[str, Any]] = [("limit", self.options.page_size), *([("continue", token)] if token else [])]
            if label_selector:
                query.append(("labelSelector", label_selector))
            page = self.request("GET", resource.path(namespace), query=query, accept=_METADATA_LIST)
            items.extend({"apiVersion": resource.api_version, "kind": resource.kind, "metadata": item.get("metadata") or {}}
                         for item in page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    def namespaced_listable(self, unavailable: list[str] | None = None) -> list[ResourceType]:
        """Every namespaced kind the server serves that can be listed and deleted, in each group's preferred
        version: what a Namespace's deletion takes (the namespace controller deletes only kinds with the
        ``delete`` verb; read-only views such as ``metrics.k8s.io`` PodMetrics are not contents).

        Group-versions whose discovery answers 503 (an aggregated API that is down) are appended to
        ``unavailable``: what they serve is unknown."""
        groups = self.request("GET", "/apis").get("groups", [])
        versions = ["v1"] + [f"{group['name']}/{(group.get('preferredVersion') or {}).get('version')}"
                             for group in groups if (group.get("preferredVersion") or {}).get("version")]

        def listable(api_version: str) -> list[ResourceType]:
            group, _, version = api_version.rpartition("/")
            try:
                listing = self.request("GET", f"/apis/{api_version}" if group else f"/api/{version}")
            except ApiError as err:
                if err.status == 503 and unavailable is not None:  # an aggregated API that is down
                    unavailable.append(api_version)
                if err.status in (404, 503):
                    return []
                raise
            return [
                ResourceType(group=group, version=version, kind=entry["kind"], plural=entry["name"], namespaced=True)
                for entry in listing.get("resources", [])
                if "/" not in entry.get("name", "") and entry.get("namespaced") and {"list", "delete"} <= set(entry.get("verbs") or [])
            ]

        return [resource for found in self.map(listable, versions) for resource in found]

    def apply(
        self,
        obj: dict[str, Any],
        *,
        field_manager: str = "gitops",
        dry_run: bool = False,
        force: bool = False,
        subresource: str = "",
    ) -> dict[str, Any]:
        """Server-side apply (to ``subresource``, such as ``status``, when given); returns what the
        server made (or would make, with ``dry_run``) of it."""
        ref, resource = self._target(obj)
        query = _write_query(field_manager, dry_run)
        if force:
            query.append(("force", "true"))
        path = resource.path(ref.namespace, ref.name) + (f"/{subresource}" if subresource else "")
        return self.request("PATCH", path, query=query, body=obj, content_type=APPLY_PATCH, ref=ref)

    def create(
        self, obj: dict[str, Any], *, field_manager: str | None = None, dry_run: bool = False
    ) -> dict[str, Any]:
        ref, resource = self._target(obj)
        return self.request("POST", resource.path(ref.namespace), query=_write_query(field_manager, dry_run), body=obj, ref=ref)

    def replace(
        self, obj: dict[str, Any], *, field_manager: str | None = None, dry_run: bool = False
    ) -> dict[str, Any]:
        """PUT (needs ``metadata.resourceVersion`` for optimistic concurrency)."""
        ref, resource = self._target(obj)
        return self.request(
            "PUT", resource.path(ref.namespace, ref.name), query=_write_query(field_manager, dry_run), body=obj, ref=ref
        )

    def delete(
        self,
        ref: ObjectRef,
        *,
        propagation: str = "Background",
        dry_run: bool = False,
        preconditions: dict[str, str] | None = None,
    ) -> bool:
        """Delete; ``False`` when it was already gone."""
        resource = self.resource_for(ref)
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
        if preconditions:
            body["preconditions"] = preconditions
        try:
            self.request(
                "DELETE", resource.path(ref.namespace, ref.name), query=_write_query(None, dry_run), body=body, ref=ref
            )
        except ApiError as err:
            if err.status == 404:
                return False
            raise
        return True


@functools.lru_cache(maxsize=16)
def _total_timeout(seconds: float) -> urllib3.Timeout:
    """One (immutable) Timeout per value rather than one per request: urllib3 clones it per request anyway."""
    return urllib3.Timeout(total=seconds)


_KUBECONFIG_ERRORS = (ConfigException, OSError, ValueError, TypeError, AttributeError, KeyError, yaml.YAMLError)


def _check_kubeconfig(config_file: str | None, where: str, context: str | None) -> None:
    """A kubeconfig that is missing, is not YAML or lacks the context asked for is a configuration
    error naming the file (exit 2), told apart before the client's own, vaguer, complaints."""
    paths = [config_file] if config_file else [p for p in where.split(os.pathsep) if p]
    existing = [path for path in paths if _is_file(path)]
    if not existing:
        raise ConfigError(f"kubeconfig {where}: no such file")
    contexts: list[str] = []
    current = ""
    for path in existing:
        try:
            data = yaml.safe_load(Path(path).expanduser().read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            at = f" (line {mark.line + 1})" if mark is not None else ""
            raise ConfigError(f"kubeconfig {path}: not valid YAML{at}") from err
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"kubeconfig {path}: cannot read it: {_one_line(err)}") from err
        if data is None:
            continue
        if not isinstance(data, dict):
            raise ConfigError(f"kubeconfig {path}: not a kubeconfig (a mapping of clusters, contexts and users)")
        entries = data.get("contexts") if isinstance(data.get("contexts"), list) else []
        contexts += [str(entry.get("name")) for entry in entries if isinstance(entry, dict)]
        current = current or str(data.get("current-context") or "")
    listed = ", ".join(sorted(set(contexts))) or "none"
    if context is not None and context not in contexts:
        raise ConfigError(f"kubeconfig {where}: no context named {context!r} (it has: {listed})")
    if context is None and not current:
        raise ConfigError(f"kubeconfig {where}: no current-context; choose one with --context (it has: {listed})")


def _is_file(path: str) -> bool:
    try:
        return Path(path).expanduser().is_file()
    except (OSError, ValueError):  # a name too long, a NUL byte
        return False


def _write_query(field_manager: str | None, dry_run: bool) -> list[tuple[str, Any]]:
    query: list[tuple[str, Any]] = []
    if field_manager:
        query.append(("fieldManager", field_manager))
    if dry_run:
        query.append(("dryRun", "All"))
    return query


def api_error(
    status: int, data: bytes | str | None, *, ref: ObjectRef | None = None, method: str = "", path: str = ""
) -> ApiError:
    """Translate a failed response (its ``Status`` body) into ApiError."""
    body: dict[str, Any] = {}
    if data:
        with contextlib.suppress(ValueError):
            decoded = json.loads(data)
            if isinstance(decoded, dict):
                body = decoded
    reason = str(body.get("reason") or "")
    message = str(body.get("message") or "").strip()
    if not message:
        message = f"{method} {path} answered HTTP {status}".strip()
    causes = list((body.get("details") or {}).get("causes") or [])
    return ApiError(_one_line(message), status=status, reason=reason, ref=ref, causes=causes)


def is_immutable_error(err: BaseException) -> bool:
    """An update rejected because it changes a field that cannot change after creation.

    The API server answers 422 Invalid with ``FieldValueForbidden``/``FieldValueInvalid`` causes
    reading "field is immutable" (Service clusterIP, Job template, Deployment selector, ...).
    """
    if not isinstance(err, ApiError) or err.status != 422:
        return False
    texts = [str(err)] + [str(cause.get("message", "")) for cause in err.causes]
    return any("immutable" in text.lower() for text in texts)


def _connection_cause(err: BaseException) -> str:
    if isinstance(err, urllib3.exceptions.ProtocolError):
        inner = err.args[1] if len(err.args) > 1 and isinstance(err.args[1], BaseException) else None
        return "the connection was lost before the answer was complete" + (
            f" ({type(inner).__name__})" if inner is not None else ""
        )
    reason = getattr(err, "reason", None)
    return _one_line(reason if reason is not None else err)


def _redact_host(host: str) -> str:
    """A server URL without the ``user:password@`` a kubeconfig may carry in it."""
    scheme, separator, rest = host.partition("://")
    authority, slash, path = rest.partition("/")
    if separator and "@" in authority:
        return f"{scheme}://***@{authority.rpartition('@')[2]}{slash}{path}"
    return host


_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s'\"]+@")


def _one_line(value: object) -> str:
    """One line, with any ``user:password@`` of a URL in it redacted."""
    return _USERINFO.sub(r"\g<scheme>***@", " ".join(str(value).split()))
