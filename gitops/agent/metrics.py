"""Prometheus metrics of one agent, in a registry of its own (not the process-wide default),
so several agents can run in one process (tests) without colliding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.reconciles = Counter(
            "gitops_reconcile",
            "Reconciles by application and result (synced, drifted, unchanged, failed).",
            ["namespace", "application", "result"],
            registry=self.registry,
        )
        self.reconcile_duration = Histogram(
            "gitops_reconcile_duration_seconds",
            "Time one reconcile took (fetch, render, plan, apply).",
            ["namespace", "application", "result"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
            registry=self.registry,
        )
        self.drifted_objects = Gauge(
            "gitops_drifted_objects",
            "Objects that differ from Git (to create, update or prune) at the last reconcile.",
            ["namespace", "application"],
            registry=self.registry,
        )
        self.applied_objects = Counter(
            "gitops_applied_objects",
            "Objects written to the cluster by action (create, update, prune).",
            ["namespace", "application", "action"],
            registry=self.registry,
        )
        self.last_success = Gauge(
            "gitops_last_successful_sync_timestamp_seconds",
            "Unix time of the last reconcile that ended in sync with Git.",
            ["namespace", "application"],
            registry=self.registry,
        )
        self.fetch_errors = Counter(
            "gitops_git_fetch_errors",
            "Failed Git fetches.",
            ["namespace", "application"],
            registry=self.registry,
        )
        self.api_requests = Counter(
            "gitops_agent_api_requests",
            "Kubernetes API requests the agent made for its own state (Lease, status, Events).",
            ["verb", "code"],
            registry=self.registry,
        )
        self.api_latency = Histogram(
            "gitops_agent_api_request_duration_seconds",
            "Latency of the agent's own Kubernetes API requests.",
            ["verb", "code"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.engine_latency = Histogram(
            "gitops_api_request_duration_seconds",
            "Latency of the Kubernetes API requests made while reconciling, by application, method and code.",
            ["namespace", "application", "method", "code"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.leader = Gauge(
            "gitops_agent_leader", "1 while this replica holds at least one shard Lease.", registry=self.registry
        )
        self.shards_held = Gauge(
            "gitops_agent_shards_held", "Shard Leases this replica holds.", registry=self.registry
        )
        self.shard_held = Gauge(
            "gitops_agent_shard_held", "1 for each shard this replica holds, 0 for the others.", ["shard"],
            registry=self.registry,
        )
        self.live_replicas = Gauge(
            "gitops_agent_live_replicas", "Replicas this one sees alive (by their replica Leases).",
            registry=self.registry,
        )

    def watch_engine_requests(self, source: Callable[[], dict[tuple[str, str], int]]) -> None:
        """Export the engine's request counts per application, read from ``source`` at scrape time."""
        self.registry.register(EngineRequests(source))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class EngineRequests(Collector):
    """``gitops_api_requests_total{namespace,application}``: requests each application's connection made."""

    def __init__(self, source: Callable[[], dict[tuple[str, str], int]]) -> None:
        self.source = source

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "gitops_api_requests",
            "Kubernetes API requests made while reconciling (fetching live objects, dry runs, applies).",
            labels=["namespace", "application"],
        )
        for (namespace, application), requests in sorted(self.source().items()):
            family.add_metric([namespace, application], requests)
        yield family

