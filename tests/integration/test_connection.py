"""The connection's credentials: read again once after a 401 (a token that expired since it was read)."""

from __future__ import annotations

import pytest

from gitops.cluster import Cluster
from gitops.errors import ApiError


@pytest.mark.faults
def test_one_401_reads_the_credentials_again_and_retries(cluster, namespace):
    with Cluster.from_kubeconfig(cluster.kubeconfig) as connection:
        resource = connection.resource("v1", "ConfigMap")
        fault = cluster.sandbox.faults.add(verb="list", path_regex=f"/namespaces/{namespace}/configmaps$",
                                           status=401, count=1)
        try:
            assert isinstance(connection.list(resource, namespace=namespace), list)
        finally:
            cluster.sandbox.faults.remove(fault)


@pytest.mark.faults
def test_credentials_the_server_keeps_refusing_fail_with_401(cluster, namespace):
    with Cluster.from_kubeconfig(cluster.kubeconfig) as connection:
        resource = connection.resource("v1", "ConfigMap")
        fault = cluster.sandbox.faults.add(verb="list", path_regex=f"/namespaces/{namespace}/configmaps$",
                                           status=401, count=0)
        try:
            with pytest.raises(ApiError) as refused:
                connection.list(resource, namespace=namespace)
        finally:
            cluster.sandbox.faults.remove(fault)
    assert refused.value.status == 401


@pytest.mark.faults
def test_a_throttled_read_is_retried_after_retry_after_and_slows_the_connection(cluster, namespace):
    """429s on reads reach the limiter too (the HTTP library does not swallow them by retrying itself)."""
    with Cluster.from_kubeconfig(cluster.kubeconfig) as connection:
        resource = connection.resource("v1", "ConfigMap")
        fault = cluster.sandbox.faults.add(verb="list", path_regex=f"/namespaces/{namespace}/configmaps$",
                                           status=429, count=2)
        try:
            assert isinstance(connection.list(resource, namespace=namespace), list)
        finally:
            cluster.sandbox.faults.remove(fault)
        assert connection.limiter.throttled == 2
