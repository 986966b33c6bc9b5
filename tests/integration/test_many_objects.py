"""Reading and writing many objects: large namespaces are read in pages (``limit``/``continue``),
nothing missed or read twice; a server that throttles (429) is followed, not hammered."""

from __future__ import annotations

import math

import pytest

from gitops import engine
from gitops.changeset import Action
from gitops.cluster import Cluster, ClusterOptions
from gitops.source import SourceSpec

PAGE = 3
COUNT = 8  # with the kube-root-ca.crt a real cluster adds, 8 or 9 ConfigMaps: always several pages


def configmap(i: int, namespace: str = "") -> dict:
    metadata = {"name": f"cm-{i}", **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {"index": str(i)}}


def paged_cluster(cluster) -> tuple[Cluster, list[str]]:
    """A connection reading PAGE objects a page, and the methods of the requests it makes."""
    connection = Cluster.from_kubeconfig(cluster.kubeconfig, options=ClusterOptions(page_size=PAGE))
    methods: list[str] = []
    connection.on_request = lambda method, status, seconds: methods.append(method)
    return connection, methods


def test_a_list_larger_than_a_page_is_read_whole_in_pages(cluster, kube, namespace):
    for i in range(COUNT):
        kube.apply(configmap(i, namespace), manager="other")
    connection, methods = paged_cluster(cluster)
    with connection:
        resource = connection.resource("v1", "ConfigMap")
        methods.clear()
        items = connection.list(resource, namespace=namespace)

    names = [item["metadata"]["name"] for item in items]
    assert len(names) == len(set(names)), names
    assert {f"cm-{i}" for i in range(COUNT)} <= set(names)
    assert all(item["kind"] == "ConfigMap" and item["apiVersion"] == "v1" for item in items)
    assert methods == ["GET"] * math.ceil(len(names) / PAGE)


def test_a_plan_over_several_pages_sees_every_object(cluster, repo, namespace):
    repo.write({"cms.yaml": "".join(f"---\n{configmap_yaml(i)}" for i in range(COUNT))})
    desired = engine.load(SourceSpec(location=str(repo)))
    options = engine.SyncOptions(default_namespace=namespace, applyset="app")
    connection, methods = paged_cluster(cluster)
    with connection:
        first = engine.sync(connection, desired, options)
        assert {e.action for e in first.entries} == {Action.CREATE}
        assert first.exit_code == 0

        methods.clear()
        again = engine.plan(connection, desired, engine.SyncOptions(default_namespace=namespace, applyset="app",
                                                                    dry_run=True))

    assert len(again.entries) == COUNT
    assert {e.action for e in again.entries} == {Action.UNCHANGED}, [(e.ref.name, e.action) for e in again.entries]
    assert "PATCH" not in methods  # every live object was found in the pages: no dry run, no write


def configmap_yaml(i: int) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}}}\ndata: {{index: \"{i}\"}}\n"


@pytest.mark.faults
def test_a_sync_the_server_throttles_slows_down_and_completes(cluster, repo, kube, namespace):
    """API Priority and Fairness answers 429 with Retry-After: the requests are retried after it,
    and the connection's pace comes down from unlimited instead of hammering the server."""
    repo.write({"cms.yaml": "".join(f"---\n{configmap_yaml(i)}" for i in range(COUNT))})
    desired = engine.load(SourceSpec(location=str(repo)))
    fault = cluster.sandbox.faults.add(verb="PATCH", path_regex=f"/namespaces/{namespace}/configmaps/",
                                       status=429, count=3)
    try:
        with engine.connect(str(cluster.kubeconfig)) as connection:
            synced = engine.sync(connection, desired, engine.SyncOptions(default_namespace=namespace, applyset="app"))
            throttled, rate = connection.limiter.throttled, connection.limiter.rate
    finally:
        cluster.sandbox.faults.remove(fault)

    assert synced.exit_code == 0, [(e.ref.name, e.action, e.error) for e in synced.entries]
    assert all(e.done for e in synced.entries)
    assert all(kube.get("v1", "ConfigMap", f"cm-{i}", namespace) is not None for i in range(COUNT))
    assert throttled == 3
    assert math.isfinite(rate)
