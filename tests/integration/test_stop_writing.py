"""A sync told to stop writing (the agent after losing its lease) writes nothing more and says so."""

from __future__ import annotations

from gitops import engine
from gitops.changeset import Action
from gitops.source import SourceSpec

CONFIGMAPS = "".join(
    f"""
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: cm-{i}}}
data: {{index: "{i}"}}
"""
    for i in range(4)
)


def _sync(cluster, repo, namespace, may_write):
    desired = engine.load(SourceSpec(location=str(repo)))
    options = engine.SyncOptions(default_namespace=namespace, applyset="app", concurrency=1, may_write=may_write)
    return engine.sync(engine.connect(str(cluster.kubeconfig)), desired, options)


def test_a_sync_that_may_no_longer_write_stops_and_reports_what_it_left(cluster, repo, kube, namespace):
    repo.write({"cms.yaml": CONFIGMAPS})

    def may_write() -> bool:
        """Leadership is lost as soon as the first ConfigMap was written."""
        return kube.get("v1", "ConfigMap", "cm-0", namespace) is None

    changeset = _sync(cluster, repo, namespace, may_write)

    written = [e for e in changeset.entries if e.done]
    skipped = [e for e in changeset.entries if e.action is Action.SKIPPED]
    assert written and skipped, [(e.ref.name, e.action, e.reason) for e in changeset.entries]
    assert all("stopped" in e.reason for e in skipped)
    for entry in skipped:
        assert kube.get("v1", "ConfigMap", entry.ref.name, namespace) is None
    for entry in written:
        assert kube.get("v1", "ConfigMap", entry.ref.name, namespace) is not None


def test_a_sync_that_may_not_write_at_all_writes_nothing(cluster, repo, kube, namespace):
    repo.write({"cms.yaml": CONFIGMAPS})

    changeset = _sync(cluster, repo, namespace, lambda: False)

    assert {e.action for e in changeset.entries} == {Action.SKIPPED}
    assert all(kube.get("v1", "ConfigMap", f"cm-{i}", namespace) is None for i in range(4))
