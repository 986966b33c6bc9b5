"""Discovery is read once per run: a connection kept across runs (as the agent keeps one per
application) sees a CustomResourceDefinition another tool installed in between."""

from __future__ import annotations

import time

from gitops import engine
from gitops.changeset import Action
from gitops.source import SourceSpec


def test_a_kind_installed_between_runs_is_found_by_the_next_run(cluster, repo, kube, namespace):
    group = f"{namespace}.example.com"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"gadgets.{group}"},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                     "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
    }
    repo.write({"gadget.yaml": f"apiVersion: {group}/v1\nkind: Gadget\nmetadata: {{name: g1}}\nspec: {{size: 1}}\n"})
    desired = engine.load(SourceSpec(location=str(repo)))
    options = engine.SyncOptions(default_namespace=namespace, applyset="app", dry_run=True)
    try:
        with engine.connect(str(cluster.kubeconfig)) as connection:
            (before,) = engine.plan(connection, desired, options).entries
            assert (before.action, before.reason) == (Action.FAILED, "UnknownKind")

            kube.apply(crd, manager="another-tool")
            deadline = time.monotonic() + 60
            while True:  # the API server serves the new kind once the CRD is Established
                (after,) = engine.plan(connection, desired, options).entries
                if after.action is not Action.FAILED or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert after.action is Action.CREATE, (after.action, after.reason, after.error)
    finally:
        kube.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"gadgets.{group}")
