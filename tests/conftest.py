"""Shared fixtures: a cluster for integration tests.

By default an in-process sandbox API server on a free port; when ``GITOPS_TEST_KUBECONFIG`` names a
kubeconfig, that cluster instead. Tests marked ``faults`` need the sandbox's fault injection and are
deselected (not skipped) on a real cluster. Tests marked ``nodes`` need Pods that run (a scheduler and a
Ready node); on a real cluster without a Ready node they are deselected too, and the header says so.
"""

from __future__ import annotations

import functools
import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REAL_CLUSTER_ENV = "GITOPS_TEST_KUBECONFIG"
NODES_MARKER = "nodes"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{NODES_MARKER}: needs Pods that run (a Ready node); deselected against a real cluster without one",
    )


@functools.cache
def _no_ready_node() -> str:
    """Why the real cluster cannot run Pods ("" when it has a Ready, schedulable node)."""
    from kubernetes import config
    from kubernetes.client import CoreV1Api
    from kubernetes.client.exceptions import ApiException

    try:
        with config.new_client_from_config(config_file=os.environ[REAL_CLUSTER_ENV]) as api_client:
            nodes = CoreV1Api(api_client).list_node().items
    except ApiException as err:
        return f"its nodes cannot be listed ({err.status})"
    for node in nodes:
        conditions = (node.status.conditions if node.status else None) or []
        ready = any(c.type == "Ready" and c.status == "True" for c in conditions)
        if ready and not (node.spec and node.spec.unschedulable):
            return ""
    return "it has no Ready node"


def _deselected_markers() -> tuple[str, ...]:
    if not os.environ.get(REAL_CLUSTER_ENV):
        return ()
    return ("faults", NODES_MARKER) if _no_ready_node() else ("faults",)


def pytest_report_header(config: pytest.Config) -> str | None:
    if NODES_MARKER in _deselected_markers():
        return f"{REAL_CLUSTER_ENV}: {_no_ready_node()}; tests marked '{NODES_MARKER}' (running Pods) are deselected"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    markers = _deselected_markers()
    if not markers:
        return
    kept = [item for item in items if not any(item.get_closest_marker(m) for m in markers)]
    deselected = [item for item in items if any(item.get_closest_marker(m) for m in markers)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@dataclass
class Cluster:
    """The cluster the integration tests run against."""

    kubeconfig: Path
    sandbox: Any | None
    """The in-process SandboxServer, or None on a real cluster."""
    workdir: Path
    _counter: list[int] = field(default_factory=lambda: [0])

    def api_client(self) -> Any:
        """A new kubernetes ApiClient for this cluster."""
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig))

    def dynamic(self) -> Any:
        """A new DynamicClient with a private discovery cache."""
        from kubernetes import dynamic

        self._counter[0] += 1
        cache = self.workdir / f"discovery-{self._counter[0]}.json"
        return dynamic.DynamicClient(self.api_client(), cache_file=str(cache))


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    workdir = Path(tempfile.mkdtemp(prefix="gitops-test-cluster-"))
    real = os.environ.get(REAL_CLUSTER_ENV)
    if real:
        yield Cluster(kubeconfig=Path(real), sandbox=None, workdir=workdir)
        return
    from gitops.sandbox import SandboxServer

    server = SandboxServer()
    server.start()
    try:
        yield Cluster(
            kubeconfig=server.write_kubeconfig(workdir / "kubeconfig"), sandbox=server, workdir=workdir
        )
    finally:
        server.stop()


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    """A fresh uniquely named namespace (``gt-<random>``), deleted after the test."""
    from kubernetes.client import CoreV1Api
    from kubernetes.client.exceptions import ApiException

    name = f"gt-{secrets.token_hex(4)}"
    with cluster.api_client() as api_client:
        core = CoreV1Api(api_client)
        core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        try:
            yield name
        finally:
            try:
                core.delete_namespace(name)
            except ApiException as err:
                # 404: the test deleted it; 409: it is still Terminating (the namespace controller of a
                # real cluster empties it first, and answers a second delete with Conflict).
                if err.status not in (404, 409):
                    raise


@pytest.fixture(scope="session")
def client(cluster: Cluster) -> Any:
    """The official DynamicClient on the test cluster."""
    return cluster.dynamic()


@pytest.fixture(scope="session")
def configmaps(client: Any) -> Any:
    return client.resources.get(api_version="v1", kind="ConfigMap")


@pytest.fixture(scope="session")
def deployments(client: Any) -> Any:
    return client.resources.get(api_version="apps/v1", kind="Deployment")
