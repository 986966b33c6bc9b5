"""Watch, label/field selectors and pagination through the dynamic client."""

from __future__ import annotations

import json
import threading
import time

import pytest
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import BadRequestError


def _cm(name: str, labels: dict | None = None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}},
        "data": {},
    }


def _names(listed) -> list[str]:
    return [item["metadata"]["name"] for item in listed.to_dict()["items"]]


def _settled(configmaps, namespace: str) -> None:
    """Wait until the cluster's root CA publisher has written ``kube-root-ca.crt`` into the namespace.

    It does so asynchronously after the namespace is created; watches started before would see it.
    """
    deadline = time.monotonic() + 30
    selector = "metadata.name=kube-root-ca.crt"
    while not _names(configmaps.get(namespace=namespace, field_selector=selector)):
        assert time.monotonic() < deadline, f"kube-root-ca.crt never appeared in {namespace}"
        time.sleep(0.05)


UNLABELLED = "<every ConfigMap the cluster itself put in the namespace>"


@pytest.fixture(scope="module")
def labelled(client, configmaps, cluster):
    """A namespace with five labelled ConfigMaps (module-scoped: read-only tests share it)."""
    import secrets

    from kubernetes.client import CoreV1Api

    name = f"gt-{secrets.token_hex(4)}"
    core = CoreV1Api(cluster.api_client())
    core.create_namespace({"metadata": {"name": name}})
    for index, (tier, env) in enumerate(
        [("web", "prod"), ("web", "dev"), ("db", "prod"), ("cache", None), (None, None)]
    ):
        labels = {k: v for k, v in (("tier", tier), ("env", env)) if v}
        labels["n"] = str(index)
        configmaps.create(body=_cm(f"cm-{index}", labels), namespace=name)
    _settled(configmaps, name)
    yield name
    core.delete_namespace(name)


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("tier=web", ["cm-0", "cm-1"]),
        ("tier==web,env=prod", ["cm-0"]),
        ("tier!=web", ["cm-2", "cm-3", "cm-4", UNLABELLED]),
        ("tier in (db, cache)", ["cm-2", "cm-3"]),
        ("tier notin (web),n", ["cm-2", "cm-3", "cm-4"]),
        ("env", ["cm-0", "cm-1", "cm-2"]),
        ("!env,n", ["cm-3", "cm-4"]),
        ("n>2", ["cm-3", "cm-4"]),
    ],
)
def test_label_selectors(configmaps, labelled, selector, expected):
    if UNLABELLED in expected:
        # Objects without the label match too: the cluster's own (kube-root-ca.crt, and on some
        # distributions more), i.e. everything in the namespace that is not one of ours.
        everything = _names(configmaps.get(namespace=labelled))
        theirs = [name for name in everything if not name.startswith("cm-")]
        assert "kube-root-ca.crt" in theirs
        expected = [name for name in expected if name != UNLABELLED] + theirs
    assert sorted(_names(configmaps.get(namespace=labelled, label_selector=selector))) == sorted(expected)


def test_bad_label_selector_is_bad_request(configmaps, labelled):
    with pytest.raises(BadRequestError) as raised:
        configmaps.get(namespace=labelled, label_selector="tier in web")
    assert json.loads(raised.value.body)["reason"] == "BadRequest"


def test_field_selectors(configmaps, labelled):
    assert _names(configmaps.get(namespace=labelled, field_selector="metadata.name=cm-1")) == ["cm-1"]
    across = configmaps.get(
        field_selector=f"metadata.namespace={labelled},metadata.name!=cm-1", label_selector="n"
    )
    assert _names(across) == ["cm-0", "cm-2", "cm-3", "cm-4"]


def test_unsupported_field_selector_is_bad_request(configmaps, labelled):
    with pytest.raises(BadRequestError) as raised:
        configmaps.get(namespace=labelled, field_selector="data.x=1")
    assert "field label not supported: data.x" in json.loads(raised.value.body)["message"]


def test_pagination_with_limit_and_continue(configmaps, labelled):
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = configmaps.get(namespace=labelled, label_selector="n", limit=2, _continue=token).to_dict()
        pages += 1
        seen += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"].get("continue")
        if not token:
            break
        assert len(page["items"]) == 2
    assert pages == 3
    assert seen == ["cm-0", "cm-1", "cm-2", "cm-3", "cm-4"]


def test_watch_reports_added_modified_deleted(configmaps, namespace):
    _settled(configmaps, namespace)
    start = configmaps.get(namespace=namespace).metadata.resourceVersion
    events: list[tuple[str, str]] = []

    def watch() -> None:
        for event in configmaps.watch(namespace=namespace, resource_version=start, timeout=10):
            events.append((event["type"], event["raw_object"]["metadata"]["name"]))
            if event["type"] == "DELETED":
                return

    watcher = threading.Thread(target=watch)
    watcher.start()
    configmaps.create(body=_cm("watched"), namespace=namespace)
    configmaps.patch(
        name="watched",
        namespace=namespace,
        body={"data": {"a": "1"}},
        content_type="application/merge-patch+json",
    )
    configmaps.delete(name="watched", namespace=namespace)
    watcher.join(timeout=15)
    assert events == [("ADDED", "watched"), ("MODIFIED", "watched"), ("DELETED", "watched")]


def test_watch_with_selector_sees_objects_leave_it(configmaps, namespace):
    start = configmaps.get(namespace=namespace).metadata.resourceVersion
    configmaps.create(body=_cm("mover", {"watched": "yes"}), namespace=namespace)
    configmaps.patch(
        name="mover",
        namespace=namespace,
        body={"metadata": {"labels": {"watched": "no"}}},
        content_type="application/merge-patch+json",
    )
    seen = []
    for event in configmaps.watch(
        namespace=namespace, resource_version=start, label_selector="watched=yes", timeout=2
    ):
        seen.append(event["type"])
        if len(seen) == 2:
            break
    assert seen == ["ADDED", "DELETED"]


def test_watch_without_version_starts_with_current_objects(configmaps, namespace):
    configmaps.create(body=_cm("present"), namespace=namespace)
    first = next(
        iter(configmaps.watch(namespace=namespace, field_selector="metadata.name=present", timeout=2))
    )
    assert (first["type"], first["raw_object"]["metadata"]["name"]) == ("ADDED", "present")


def test_watch_from_too_old_version_is_gone(configmaps, namespace):
    with pytest.raises(ApiException) as raised:
        for _ in configmaps.watch(namespace=namespace, resource_version="1", timeout=2):
            pass
    assert raised.value.status == 410
    assert raised.value.reason.startswith("Expired: too old resource version: 1 (")


def test_watch_bookmarks(cluster, configmaps, namespace):
    """A BOOKMARK carries only the type and a resourceVersion; the stream is read line by line."""
    from kubernetes.client import CoreV1Api
    from kubernetes.watch import Watch

    _settled(configmaps, namespace)
    start = configmaps.get(namespace=namespace).metadata.resourceVersion
    with cluster.api_client() as api_client:
        events = list(
            Watch().stream(
                CoreV1Api(api_client).list_namespaced_config_map,
                namespace,
                resource_version=start,
                allow_watch_bookmarks=True,
                timeout_seconds=4,
            )
        )
    assert events, "a bookmark arrives within the watch's timeout"
    assert {event["type"] for event in events} == {"BOOKMARK"}
    for event in events:
        bookmark = event["raw_object"]
        assert (bookmark["kind"], bookmark["apiVersion"]) == ("ConfigMap", "v1")
        assert set(bookmark) == {"kind", "apiVersion", "metadata"}, bookmark
        assert "name" not in bookmark["metadata"]
    assert int(events[-1]["raw_object"]["metadata"]["resourceVersion"]) >= int(start)
