"""The agent's own Kubernetes requests (Lease, status ConfigMaps, Events), timed and counted.

Goes through :class:`gitops.cluster.Cluster`'s generic verbs only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from gitops.agent.metrics import Metrics
from gitops.errors import ApiError
from gitops.objects import ObjectRef

if TYPE_CHECKING:
    from gitops.cluster import Cluster

T = TypeVar("T")
FIELD_MANAGER = "gitops-agent"
REQUEST_FIELD_MANAGER = "gitops-agent-request"
"""Writes reconcile requests; a manager of its own so the status applies never remove them."""


class AgentApi:
    def __init__(self, cluster: Cluster, metrics: Metrics) -> None:
        self.cluster = cluster
        self.metrics = metrics

    def get(self, ref: ObjectRef) -> dict[str, Any] | None:
        return self._timed("get", lambda: self.cluster.get(ref))

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        return self._timed("create", lambda: self.cluster.create(obj, field_manager=FIELD_MANAGER))

    def replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        """PUT with ``metadata.resourceVersion``: ApiError 409 when someone wrote it in between."""
        return self._timed("update", lambda: self.cluster.replace(obj, field_manager=FIELD_MANAGER))

    def apply(self, obj: dict[str, Any], *, field_manager: str = FIELD_MANAGER) -> dict[str, Any]:
        return self._timed("apply", lambda: self.cluster.apply(obj, field_manager=field_manager, force=True))

    def apply_status(self, obj: dict[str, Any], *, field_manager: str = FIELD_MANAGER) -> dict[str, Any]:
        return self._timed(
            "apply", lambda: self.cluster.apply(obj, field_manager=field_manager, force=True, subresource="status")
        )

    def list(self, api_version: str, kind: str, namespace: str, label_selector: str = "") -> list[dict[str, Any]]:
        def call() -> list[dict[str, Any]]:
            resource = self.cluster.resource(api_version, kind)
            return self.cluster.list(resource, namespace=namespace, label_selector=label_selector or None)

        return self._timed("list", call)

    def list_with_version(self, api_version: str, kind: str, namespace: str) -> tuple[list[dict[str, Any]], str]:
        """Every object and the list's resourceVersion (where a watch starts)."""

        def call() -> tuple[list[dict[str, Any]], str]:
            resource = self.cluster.resource(api_version, kind)
            body = self.cluster.request("GET", resource.path(namespace))
            items = body.get("items") or []
            for item in items:
                item.setdefault("apiVersion", resource.api_version)
                item.setdefault("kind", resource.kind)
            return items, str((body.get("metadata") or {}).get("resourceVersion") or "")

        return self._timed("list", call)

    def watch(
        self, api_version: str, kind: str, namespace: str, resource_version: str, timeout_seconds: int,
        stopped: Callable[[], bool],
    ) -> Iterator[dict[str, Any]]:
        """Watch events; the request is counted when it starts (its latency would be the watch's length)."""
        resource = self._timed("discovery", lambda: self.cluster.resource(api_version, kind))
        self.metrics.api_requests.labels("watch", "200").inc()
        return self.cluster.watch(
            resource, namespace=namespace, resource_version=resource_version, timeout_seconds=timeout_seconds,
            stopped=stopped,
        )

    def invalidate_discovery(self, api_version: str) -> None:
        self.cluster.invalidate_discovery(api_version)

    def _timed(self, verb: str, call: Callable[[], T]) -> T:
        started = time.monotonic()
        code = "200"
        try:
            return call()
        except ApiError as err:
            code = str(err.status or "error")
            raise
        except Exception:
            code = "error"
            raise
        finally:
            self.metrics.api_requests.labels(verb, code).inc()
            self.metrics.api_latency.labels(verb, code).observe(time.monotonic() - started)
