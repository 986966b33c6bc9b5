"""`gitops diff` / `gitops sync` through the CLI against the test cluster: create, no-op, change, drift."""

from __future__ import annotations

import textwrap
import time

import pytest

APP = {
    "config.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: settings
        data:
          color: blue
    """,
    "web.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          replicas: 2
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
              - name: web
                image: registry.k8s.io/pause:3.9
                resources:
                  requests: {cpu: "0.5", memory: 64Mi}
                  limits: {cpu: "1", memory: "0.125Gi"}
                ports:
                - containerPort: 8080
    """,
    "svc.yaml": """
        apiVersion: v1
        kind: Service
        metadata:
          name: web
        spec:
          selector: {app: web}
          ports:
          - port: 80
            targetPort: 8080
    """,
}


def resource_versions(kube, namespace):
    return {
        kind: kube.get(api_version, kind, name, namespace)["metadata"]["resourceVersion"]
        for api_version, kind, name in [("v1", "ConfigMap", "settings"), ("apps/v1", "Deployment", "web"),
                                        ("v1", "Service", "web")]
    }


def rolled_out(kube, namespace) -> bool:
    """Whether the Deployment's rollout completed within the bound (the sandbox's at once)."""
    deadline = time.monotonic() + 180
    while True:
        live = kube.get("apps/v1", "Deployment", "web", namespace)
        status = live.get("status") or {}
        done = status.get("observedGeneration") == live["metadata"]["generation"] and all(
            status.get(field) == live["spec"]["replicas"]
            for field in ("replicas", "updatedReplicas", "availableReplicas")
        )
        if done or time.monotonic() > deadline:
            return done
        time.sleep(0.05)


@pytest.mark.nodes
def test_first_sync_creates_then_nothing_is_written_again(gitops, repo, kube, namespace):
    repo.write(APP)
    planned = gitops("diff", str(repo), "-o", "json")
    assert planned.code == 1, planned.err
    assert planned.json()["summary"]["create"] == 3
    assert gitops("sync", str(repo), "--dry-run").code == 0
    assert gitops("sync", str(repo), "--dry-run", "--exit-code").code == 1
    assert kube.get("v1", "ConfigMap", "settings", namespace) is None, "a dry run writes nothing"

    first = gitops("sync", str(repo), "-o", "json")
    assert first.code == 0, first.out + first.err
    entries = first.entries()
    assert {name: (e["action"], e["done"]) for name, e in entries.items()} == {
        "ConfigMap settings": ("create", True), "Deployment web": ("create", True), "Service web": ("create", True),
    }
    assert kube.get("v1", "ConfigMap", "settings", namespace)["data"] == {"color": "blue"}

    # Defaults filled in by the server and canonical quantities (0.5 CPU is 500m) are no drift.
    # A real cluster's controllers write the Deployment's status until its rollout is done.
    assert rolled_out(kube, namespace), kube.get("apps/v1", "Deployment", "web", namespace)["status"]
    before = resource_versions(kube, namespace)
    again = gitops("diff", str(repo))
    assert again.code == 0, again.out
    assert "in sync" in again.out
    resync = gitops("sync", str(repo), "-o", "json")
    assert resync.code == 0
    assert resync.json()["summary"]["unchanged"] == 3
    assert resource_versions(kube, namespace) == before, "a no-op sync must write nothing"


def test_a_change_in_git_is_shown_field_by_field_then_applied(gitops, repo, kube, namespace):
    repo.write(APP)
    assert gitops("sync", str(repo)).code == 0
    repo.write({"config.yaml": APP["config.yaml"].replace("color: blue", "color: green")})

    diff = gitops("diff", str(repo), "-o", "json")
    assert diff.code == 1
    entry = diff.entries()["ConfigMap settings"]
    assert entry["action"] == "update"
    assert [(c["path"], c["before"], c["after"]) for c in entry["changes"]] == [("data.color", "blue", "green")]
    assert diff.entries()["Deployment web"]["action"] == "unchanged"

    synced = gitops("sync", str(repo), "-o", "json")
    assert synced.code == 0
    assert synced.entries()["ConfigMap settings"]["done"] is True
    assert kube.get("v1", "ConfigMap", "settings", namespace)["data"] == {"color": "green"}


def test_drift_by_another_manager_is_attributed_and_healed(gitops, repo, kube, namespace):
    repo.write(APP)
    assert gitops("sync", str(repo)).code == 0
    kube.edit("apps/v1", "Deployment", "web", namespace, {"spec": {"replicas": 5}}, manager="kubectl-edit")

    diff = gitops("diff", str(repo), "-o", "json")
    assert diff.code == 1
    (change,) = diff.entries()["Deployment web"]["changes"]
    assert (change["path"], change["before"], change["after"]) == ("spec.replicas", 5, 2)
    assert (change["manager"], change["operation"]) == ("kubectl-edit", "Update")
    text = gitops("diff", str(repo))
    assert "kubectl-edit" in text.out

    # Imperative drift is healed without --force-conflicts: Git is the source of truth.
    synced = gitops("sync", str(repo))
    assert synced.code == 0, synced.out
    assert kube.get("apps/v1", "Deployment", "web", namespace)["spec"]["replicas"] == 2
    assert gitops("diff", str(repo)).code == 0


def test_ignored_fields_are_neither_shown_nor_reverted(gitops, repo, kube, namespace):
    repo.write(APP)
    assert gitops("sync", str(repo)).code == 0
    kube.edit("apps/v1", "Deployment", "web", namespace, {"spec": {"replicas": 4}}, manager="hpa-controller")

    ignore = ("--ignore", "apps/Deployment:/spec/replicas")
    diff = gitops("diff", str(repo), *ignore)
    assert diff.code == 0, diff.out
    assert gitops("sync", str(repo), *ignore).code == 0
    assert kube.get("apps/v1", "Deployment", "web", namespace)["spec"]["replicas"] == 4

    # The same through the object's annotation.
    repo.write({"web.yaml": textwrap.dedent(APP["web.yaml"]).replace(
        "  name: web\n", '  name: web\n  annotations:\n    gitops.io/ignore-differences: "/spec/replicas"\n', 1)})
    synced = gitops("sync", str(repo), "-o", "json")
    assert synced.code == 0
    (change,) = synced.entries()["Deployment web"]["changes"]
    assert change["path"].startswith("metadata.annotations")
    assert kube.get("apps/v1", "Deployment", "web", namespace)["spec"]["replicas"] == 4


def test_conflict_with_another_declarative_owner_needs_force(gitops, repo, kube, namespace):
    repo.write(APP)
    assert gitops("sync", str(repo)).code == 0
    kube.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": namespace},
                "data": {"color": "red"}}, manager="helm")

    refused = gitops("sync", str(repo), "-o", "json")
    assert refused.code == 6
    entry = refused.entries()["ConfigMap settings"]
    assert entry["action"] == "failed"
    assert entry["reason"] == "Conflict"
    assert "helm" in entry["error"] and "data.color" in entry["error"]
    assert kube.get("v1", "ConfigMap", "settings", namespace)["data"] == {"color": "red"}

    forced = gitops("sync", str(repo), "--force-conflicts")
    assert forced.code == 0, forced.out
    assert kube.get("v1", "ConfigMap", "settings", namespace)["data"] == {"color": "blue"}


def test_a_failing_object_does_not_stop_the_others(gitops, repo, kube, namespace):
    repo.write({
        **APP,
        "broken.yaml": """
            apiVersion: apiextensions.k8s.io/v1
            kind: CustomResourceDefinition
            metadata:
              name: gadgets.nodot
            spec:
              group: nodot
              scope: Namespaced
              names: {plural: gadgets, singular: gadget, kind: Gadget}
              versions:
              - name: v1
                served: true
                storage: true
                schema:
                  openAPIV3Schema: {type: object}
        """,
        "unknown.yaml": f"""
            apiVersion: {namespace}.example.com/v1
            kind: Gadget
            metadata:
              name: thing
        """,
    })
    planned = gitops("sync", str(repo), "--dry-run")
    assert planned.code == 6, "a dry run with objects the server rejects must not pass in CI"
    assert kube.get("v1", "ConfigMap", "settings", namespace) is None

    result = gitops("sync", str(repo), "-o", "json")
    assert result.code == 6
    entries = result.entries()
    broken = entries["CustomResourceDefinition gadgets.nodot"]
    assert (broken["action"], broken["reason"]) == ("failed", "Invalid")
    assert "spec.group" in broken["error"]
    assert entries["Gadget thing"]["action"] == "failed"
    assert "does not serve kind Gadget" in entries["Gadget thing"]["error"]
    assert entries["Gadget thing"]["origin"]["file"] == "unknown.yaml"
    assert kube.get("v1", "ConfigMap", "settings", namespace) is not None
    assert kube.get("apps/v1", "Deployment", "web", namespace) is not None


def test_immutable_fields_fail_clearly_or_are_replaced(gitops, repo, kube, namespace):
    frozen = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: frozen
        immutable: true
        data:
          version: "1"
    """
    repo.write({"frozen.yaml": frozen})
    assert gitops("sync", str(repo)).code == 0
    uid = kube.get("v1", "ConfigMap", "frozen", namespace)["metadata"]["uid"]
    repo.write({"frozen.yaml": frozen.replace('version: "1"', 'version: "2"')})

    refused = gitops("sync", str(repo), "-o", "json")
    assert refused.code == 6
    entry = refused.entries()["ConfigMap frozen"]
    assert (entry["action"], entry["reason"]) == ("failed", "Immutable")
    assert "--replace-immutable" in entry["error"]

    replaced = gitops("sync", str(repo), "--replace-immutable", "-o", "json")
    assert replaced.code == 0, replaced.out
    live = kube.get("v1", "ConfigMap", "frozen", namespace)
    assert live["data"] == {"version": "2"}
    assert live["metadata"]["uid"] != uid, "recreated"


def test_bad_cluster_settings_are_one_line_errors(cli, repo, tmp_path):
    repo.write(APP)
    missing = cli("diff", str(repo), "--kubeconfig", str(tmp_path / "nope"))
    assert missing.code == 2  # a configuration error, not the cluster's
    assert "nope" in missing.err and missing.err.count("\n") == 1
