"""Ownership and isolation through the CLI: gitops never takes over, deletes or reads what is not its own."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
from kubernetes.dynamic.exceptions import ConflictError

from gitops import engine
from gitops.changeset import Action
from gitops.inventory import ID_LABEL, PARENT_CRD_LABEL, PART_OF_LABEL, applyset_id
from gitops.source import SourceSpec


def cm(name: str, namespace: str = "", value: str = "1", labels: str = "") -> str:
    where = f"\n  namespace: {namespace}" if namespace else ""
    extra = f"\n  labels: {{{labels}}}" if labels else ""
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}{where}{extra}\ndata:\n  v: \"{value}\"\n"


def ns(name: str) -> str:
    return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"


def label_of(kube, name: str, namespace: str) -> str | None:
    live = kube.get("v1", "ConfigMap", name, namespace)
    return ((live or {}).get("metadata", {}).get("labels") or {}).get(PART_OF_LABEL)


@contextlib.contextmanager
def extra_namespace(kube, base: str):
    """Another unique namespace name for the test; deleted afterwards whoever created it."""
    name = f"{base}-x"
    try:
        yield name
    finally:
        with contextlib.suppress(ConflictError):  # already terminating
            kube.delete("v1", "Namespace", name)


# --- 1. ownership -----------------------------------------------------------------------------


def test_another_applysets_object_is_not_taken_over_without_adopt(gitops, make_repo, kube, namespace):
    team_a, team_b = make_repo("a"), make_repo("b")
    team_a.write({"shared.yaml": cm("shared", value="a"), "a.yaml": cm("a-only")})
    team_b.write({"shared.yaml": cm("shared", value="b"), "b.yaml": cm("b-only")})
    assert gitops("sync", str(team_a), applyset="team-a").code == 0
    a_label = label_of(kube, "shared", namespace)

    planned = gitops("diff", str(team_b), applyset="team-b")
    assert planned.code == 6, planned.out
    line = f"v1 ConfigMap {namespace}/shared (shared.yaml:1): OwnerConflict: managed by ApplySet ConfigMap {namespace}/team-a"
    assert line in planned.out

    refused = gitops("sync", str(team_b), "-o", "json", applyset="team-b")
    assert refused.code == 6
    entry = refused.entries()["ConfigMap shared"]
    assert (entry["action"], entry["reason"]) == ("failed", "OwnerConflict")
    assert refused.entries()["ConfigMap b-only"]["done"] is True, "the rest of the set is applied"
    live = kube.get("v1", "ConfigMap", "shared", namespace)
    assert (label_of(kube, "shared", namespace), live["data"]) == (a_label, {"v": "a"}), "not relabelled, not changed"

    # B drops it and prunes: it was never B's, so nothing of A's is deleted.
    team_b.remove("shared.yaml")
    assert gitops("sync", str(team_b), "--prune", applyset="team-b").code == 0
    assert kube.get("v1", "ConfigMap", "shared", namespace) is not None

    team_b.write({"shared.yaml": cm("shared", value="b")})
    adopted = gitops("sync", str(team_b), "--adopt", "-o", "json", applyset="team-b")
    assert adopted.code == 0, adopted.out
    entry = adopted.entries()["ConfigMap shared"]
    assert (entry["action"], entry["done"]) == ("adopt", True)
    assert entry["reason"] == f"taken over from ApplySet ConfigMap {namespace}/team-a (--adopt)"
    back = gitops("diff", str(team_a), applyset="team-a")
    assert back.code == 6 and f"managed by ApplySet ConfigMap {namespace}/team-b" in back.out


def _kubectl_parent(kind: str, api_version: str, name: str, namespace: str, parent_id: str) -> dict:
    """An ApplySet parent as ``kubectl apply --prune --applyset=KIND/NAME`` writes it."""
    return {"apiVersion": api_version, "kind": kind, "metadata": {
        "name": name, "namespace": namespace, "labels": {ID_LABEL: parent_id},
        "annotations": {"applyset.kubernetes.io/tooling": "kubectl/v1.28.7",
                        "applyset.kubernetes.io/contains-group-kinds": "ConfigMap"}}}


def _kubectl_member(name: str, namespace: str, parent_id: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "data": {"v": "theirs"},
            "metadata": {"name": name, "namespace": namespace, "labels": {PART_OF_LABEL: parent_id}}}


def test_another_applysets_secret_parent_is_named_from_its_metadata(gitops, repo, kube, namespace):
    parent_id = applyset_id("kubectl-set", namespace, "Secret", "")
    secret = _kubectl_parent("Secret", "v1", "kubectl-set", namespace, parent_id) | {"stringData": {"token": "hunter2"}}
    kube.apply(secret, manager="kubectl")
    poser = _kubectl_parent("ConfigMap", "v1", "poser", namespace, parent_id)  # carries the id, is not its parent
    kube.apply(poser, manager="someone")
    kube.apply(_kubectl_member("shared", namespace, parent_id), manager="kubectl")
    repo.write({"shared.yaml": cm("shared")})

    refused = gitops("diff", str(repo))
    assert refused.code == 6, refused.out
    assert f"OwnerConflict: managed by ApplySet Secret {namespace}/kubectl-set; not taken over" in refused.out
    assert "hunter2" not in refused.out + refused.err


def test_another_applysets_custom_resource_parent_is_named(cluster, gitops, repo, kube, namespace):
    group = f"{namespace}.example.com"
    kube.apply({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {
        "name": f"sets.{group}", "labels": {PARENT_CRD_LABEL: "true"}}, "spec": {
        "group": group, "scope": "Namespaced", "names": {"plural": "sets", "singular": "set", "kind": "Set"},
        "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
            "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}, manager="kubectl")
    try:
        parent_id = applyset_id("team-set", namespace, "Set", group)
        _eventually_created(cluster, _kubectl_parent("Set", f"{group}/v1", "team-set", namespace, parent_id))
        kube.apply(_kubectl_member("shared", namespace, parent_id), manager="kubectl")
        repo.write({"shared.yaml": cm("shared")})

        refused = gitops("diff", str(repo))
        assert refused.code == 6, refused.out
        assert f"OwnerConflict: managed by ApplySet Set.{group} {namespace}/team-set; not taken over" in refused.out
    finally:
        kube.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"sets.{group}")


def _eventually_created(cluster, obj: dict, timeout: float = 60.0) -> None:
    """Apply a custom resource once its new CRD is served (discovery may lag behind Established)."""
    import time

    from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

    deadline = time.monotonic() + timeout
    while True:
        try:
            resource = cluster.dynamic().resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
            resource.server_side_apply(body=obj, name=obj["metadata"]["name"], namespace=obj["metadata"]["namespace"],
                                       field_manager="kubectl")
            return
        except (NotFoundError, ResourceNotFoundError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize(("labels", "annotations", "owner"), [
    ({"argocd.argoproj.io/instance": "shop"}, {}, "Argo CD application shop"),
    ({"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}, {},
     "Flux Kustomization flux-system/apps"),
    ({"kapp.k14s.io/app": "1700000000"}, {}, "kapp app 1700000000"),
    ({"app.kubernetes.io/managed-by": "Helm"}, {"meta.helm.sh/release-name": "web"}, "Helm release web"),
])
def test_objects_of_other_tools_fail_naming_the_tool(gitops, repo, kube, namespace, labels, annotations, owner):
    kube.apply({"apiVersion": "v1", "kind": "ConfigMap", "data": {"v": "theirs"},
                "metadata": {"name": "cfg", "namespace": namespace, "labels": labels, "annotations": annotations}},
               manager="other-tool")
    repo.write({"cfg.yaml": cm("cfg")})

    refused = gitops("sync", str(repo))
    assert refused.code == 6
    assert f"OwnerConflict: managed by {owner}; not taken over (use --adopt" in refused.out
    assert kube.get("v1", "ConfigMap", "cfg", namespace)["data"] == {"v": "theirs"}

    adopted = gitops("sync", str(repo), "--adopt", "--force-conflicts", "-o", "json")
    assert adopted.code == 0, adopted.out
    assert adopted.entries()["ConfigMap cfg"]["action"] == "adopt"
    assert kube.get("v1", "ConfigMap", "cfg", namespace)["data"] == {"v": "1"}


def test_an_object_a_controller_made_is_not_adopted_without_asking(gitops, repo, kube, namespace):
    kube.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner", "namespace": namespace}},
               manager="operator")
    uid = kube.get("v1", "ConfigMap", "owner", namespace)["metadata"]["uid"]
    kube.apply({"apiVersion": "v1", "kind": "ConfigMap", "data": {"v": "generated"}, "metadata": {
        "name": "made", "namespace": namespace, "ownerReferences": [
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid, "controller": True}]}},
        manager="operator")
    repo.write({"made.yaml": cm("made")})

    refused = gitops("sync", str(repo))
    assert refused.code == 6, refused.out
    assert "OwnerConflict: managed by its controller v1 ConfigMap owner; not taken over" in refused.out
    assert kube.get("v1", "ConfigMap", "made", namespace)["data"] == {"v": "generated"}


def test_the_api_servers_bootstrap_roles_are_not_adopted_without_asking(gitops, repo, kube, namespace):
    # cluster-admin and the system: roles carry this label; a role of the test's own stands in for them.
    name = f"{namespace}-bootstrap"
    kube.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "rules": [], "metadata": {
        "name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}}}, manager="kube-apiserver")
    try:
        repo.write({"role.yaml": f"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n"
                                 f"  name: {name}\nrules: []\n"})
        refused = gitops("diff", str(repo))
        assert refused.code == 6, refused.out
        assert (f"ClusterRole {name} (role.yaml:1): OwnerConflict: managed by the API server's bootstrap policy "
                "(kubernetes.io/bootstrapping: rbac-defaults); not taken over") in refused.out
    finally:
        kube.delete("rbac.authorization.k8s.io/v1", "ClusterRole", name)


def test_an_object_created_by_hand_is_adopted_and_the_plan_says_so(gitops, repo, kube, namespace):
    kube.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": namespace},
                "data": {"v": "1"}}, manager="kubectl")
    repo.write({"cfg.yaml": cm("cfg")})

    planned = gitops("diff", str(repo), "-o", "json")
    assert planned.code == 1
    entry = planned.entries()["ConfigMap cfg"]
    assert entry["action"] == "adopt"
    assert entry["reason"] == "exists without an owner (created outside any set); taken into this set"
    text = gitops("sync", str(repo))
    assert text.code == 0 and f"* adopted v1 ConfigMap {namespace}/cfg" in text.out
    assert gitops("diff", str(repo)).code == 0


# --- 7. orphans are differences -----------------------------------------------------------------


def test_orphans_make_diff_report_differences(gitops, repo, kube, namespace):
    repo.write({"a.yaml": cm("a"), "b.yaml": cm("b")})
    assert gitops("sync", str(repo)).code == 0
    repo.remove("b.yaml")

    off = gitops("diff", str(repo))
    assert off.code == 1, off.out
    assert f"v1 ConfigMap {namespace}/b: orphaned: no longer in Git; pruning is off (--prune)" in off.out
    would = gitops("diff", str(repo), "--prune")
    assert would.code == 1
    assert f"- would prune v1 ConfigMap {namespace}/b\n    orphaned: no longer in Git\n" in would.out
    done = gitops("sync", str(repo), "--prune")
    assert f"- pruned v1 ConfigMap {namespace}/b\n    orphaned: no longer in Git\n" in done.out, "every deletion says why"
    assert gitops("diff", str(repo)).code == 0


def test_a_copy_of_our_labels_made_by_a_controller_is_no_member(cluster, gitops, repo, kube, namespace):
    # The endpoints controller gives a Service's Endpoints the Service's labels, part-of included. With
    # Endpoints in Git (a selector-less Service's own), such a copy must not read as an orphan.
    service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: {0}\nspec:\n  ports:\n  - port: 5432\n"
    repo.write({"db.yaml": service.format("db"), "web.yaml": service.format("web"), "endpoints.yaml": """
        apiVersion: v1
        kind: Endpoints
        metadata:
          name: db
        subsets:
        - addresses: [{ip: 10.0.0.7}]
          ports: [{port: 5432}]
        """})
    assert gitops("sync", str(repo)).code == 0
    labels = kube.get("v1", "Service", "web", namespace)["metadata"]["labels"]
    kube.resource("v1", "Endpoints").create(body={"metadata": {"name": "web", "labels": labels}, "subsets": [
        {"addresses": [{"ip": "10.0.0.8"}], "ports": [{"port": 5432}]}]}, namespace=namespace,
        field_manager="kube-controller-manager")

    diff = gitops("diff", str(repo), "--prune")
    assert (diff.code, diff.out.count("orphaned")) == (0, 0), diff.out
    assert gitops("sync", str(repo), "--prune").code == 0
    assert kube.get("v1", "Endpoints", "web", namespace) is not None
    repo.remove("endpoints.yaml")
    pruned = gitops("sync", str(repo), "--prune")
    assert f"- pruned v1 Endpoints {namespace}/db" in pruned.out and f"Endpoints {namespace}/web" not in pruned.out


# --- 2-4. safe prune -----------------------------------------------------------------------------


def test_a_namespace_holding_foreign_objects_is_not_pruned(gitops, repo, kube, namespace):
    with extra_namespace(kube, namespace) as other:
        repo.write({"ns.yaml": ns(other), "inside.yaml": cm("inside", other), "home.yaml": cm("home")})
        assert gitops("sync", str(repo)).code == 0
        kube.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "foreign", "namespace": other}},
                   manager="kubectl")
        repo.remove("ns.yaml", "inside.yaml")

        kept = gitops("sync", str(repo), "--prune")
        assert kept.code == 0, kept.out
        assert (f"Namespace {other}: orphaned: no longer in Git; it holds 1 object gitops did not apply: "
                "v1 ConfigMap foreign; kept") in kept.out
        assert f"- pruned v1 ConfigMap {other}/inside" in kept.out
        live = kube.get("v1", "Namespace", other)
        assert live is not None and live["metadata"].get("deletionTimestamp") is None
        assert kube.get("v1", "ConfigMap", "foreign", other) is not None

        kube.delete("v1", "ConfigMap", "foreign", other)
        pruned = gitops("sync", str(repo), "--prune")
        assert pruned.code == 0 and f"- pruned v1 Namespace {other}" in pruned.out


@pytest.mark.faults
def test_a_namespace_is_kept_while_an_api_that_may_serve_its_contents_is_down(cluster, gitops, repo, kube, namespace):
    with extra_namespace(kube, namespace) as other:
        repo.write({"ns.yaml": ns(other), "inside.yaml": cm("inside", other), "home.yaml": cm("home")})
        assert gitops("sync", str(repo)).code == 0
        repo.remove("ns.yaml", "inside.yaml")
        down = cluster.sandbox.faults.add(verb="get", path_regex=r"^/apis/batch/v1$", status=503, count=0)
        try:
            kept = gitops("sync", str(repo), "--prune")
        finally:
            cluster.sandbox.faults.remove(down)
        assert kept.code == 0, kept.out
        assert f"Namespace {other}: orphaned: no longer in Git; it cannot list batch/v1 (unavailable) in it; kept" in kept.out
        assert kube.get("v1", "Namespace", other)["metadata"].get("deletionTimestamp") is None


def test_an_object_carrying_a_copy_of_our_label_keeps_its_namespace(gitops, repo, kube, namespace):
    with extra_namespace(kube, namespace) as other:
        repo.write({"ns.yaml": ns(other), "inside.yaml": cm("inside", other), "home.yaml": cm("home")})
        assert gitops("sync", str(repo)).code == 0
        copied = kube.get("v1", "ConfigMap", "inside", other)["metadata"]["labels"]  # `kubectl get -o yaml`, renamed
        kube.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "copy", "namespace": other,
                                                                          "labels": copied}}, manager="kubectl")
        repo.remove("ns.yaml", "inside.yaml")

        kept = gitops("sync", str(repo), "--prune")
        assert kept.code == 0, kept.out
        assert (f"Namespace {other}: orphaned: no longer in Git; it holds 1 object gitops did not apply: "
                "v1 ConfigMap copy; kept") in kept.out
        assert f"ConfigMap {other}/copy" not in kept.out, "no member: neither an orphan nor pruned"
        assert kube.get("v1", "ConfigMap", "copy", other) is not None


def test_what_a_namespace_deletion_takes_counts_against_the_prune_cap(gitops, repo, kube, namespace):
    with extra_namespace(kube, namespace) as other:
        repo.write({"ns.yaml": ns(other), "inside.yaml": cm("inside", other), "home.yaml": cm("home")})
        assert gitops("sync", str(repo)).code == 0
        owner = kube.get("v1", "ConfigMap", "inside", other)["metadata"]
        for i in range(2):  # dependents, as a controller creates them: they go with their owner
            kube.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
                "name": f"dependent-{i}", "namespace": other,
                "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "inside", "uid": owner["uid"]}],
            }}, manager="controller")
        repo.remove("ns.yaml", "inside.yaml")

        refused = gitops("sync", str(repo), "--prune", "--max-prune", "3")
        assert refused.code == 7
        assert "refusing to prune 4 objects, more than --max-prune 3" in refused.out
        assert kube.get("v1", "ConfigMap", "inside", other) is not None
        assert gitops("sync", str(repo), "--prune", "--max-prune", "4").code == 0


def test_the_inventory_namespace_is_not_pruned_while_the_set_has_members(gitops, repo, kube, namespace):
    repo.write({"ns.yaml": ns(namespace), "cfg.yaml": cm("cfg")})
    assert gitops("sync", str(repo)).code == 0
    repo.remove("ns.yaml")

    kept = gitops("sync", str(repo), "--prune")
    assert kept.code == 0, kept.out
    assert f"it holds this set's ApplySet parent (ConfigMap {namespace}/app)" in kept.out
    assert kube.get("v1", "Namespace", namespace)["metadata"].get("deletionTimestamp") is None
    assert kube.get("v1", "ConfigMap", "app", namespace) is not None
    assert gitops("sync", str(repo), "--prune").code == 0, "later syncs still work"


def test_a_crd_whose_custom_resources_are_not_all_ours_is_not_pruned(cluster, gitops, repo, kube, namespace, crd):
    group, definition = crd
    widget = f"apiVersion: {group}/v1\nkind: Widget\nmetadata:\n  name: ours\n"
    repo.write({"crd.yaml": definition, "widget.yaml": widget, "home.yaml": cm("home")})
    assert gitops("sync", str(repo)).code == 0
    _eventually_created(cluster, {"apiVersion": f"{group}/v1", "kind": "Widget",
                                  "metadata": {"name": "theirs", "namespace": namespace}})
    repo.remove("crd.yaml", "widget.yaml")

    kept = gitops("sync", str(repo), "--prune")
    assert kept.code == 0, kept.out
    assert f"- pruned {group}/v1 Widget {namespace}/ours" in kept.out
    assert (f"CustomResourceDefinition widgets.{group}: orphaned: no longer in Git; it holds 1 object gitops "
            f"did not apply: {group}/v1 Widget theirs; kept") in kept.out
    assert kube.get(f"{group}/v1", "Widget", "theirs", namespace) is not None


def _prune_with(cluster, repo, namespace, between):
    """Sync with --prune through the engine, running ``between`` once after planning, before the deletes."""
    calls = []

    def may_write() -> bool:
        if not calls:
            between()
        calls.append(1)
        return True

    desired = engine.load(SourceSpec(location=str(repo)))
    options = engine.SyncOptions(default_namespace=namespace, applyset="app", prune=True, may_write=may_write)
    with engine.connect(str(cluster.kubeconfig)) as connection:
        return engine.sync(connection, desired, options)


def test_a_member_relabelled_after_planning_is_kept(cluster, gitops, repo, kube, namespace):
    repo.write({"a.yaml": cm("a"), "b.yaml": cm("b")})
    assert gitops("sync", str(repo)).code == 0
    repo.remove("b.yaml")

    def relabel() -> None:
        kube.edit("v1", "ConfigMap", "b", namespace, {"metadata": {"labels": {PART_OF_LABEL: "applyset-other-v1"}}})

    changeset = _prune_with(cluster, repo, namespace, relabel)
    entry = next(e for e in changeset.entries if e.ref.name == "b")
    assert entry.action is Action.SKIPPED and "no longer carries this set's label" in entry.reason
    assert kube.get("v1", "ConfigMap", "b", namespace) is not None


def test_a_member_replaced_after_planning_is_kept(cluster, gitops, repo, kube, namespace):
    repo.write({"a.yaml": cm("a"), "b.yaml": cm("b")})
    assert gitops("sync", str(repo)).code == 0
    live = kube.get("v1", "ConfigMap", "b", namespace)
    repo.remove("b.yaml")

    def replace() -> None:
        kube.delete("v1", "ConfigMap", "b", namespace)
        kube.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "b", "namespace": namespace, "labels": live["metadata"]["labels"]}, "data": {"new": "object"}},
            manager="someone")

    changeset = _prune_with(cluster, repo, namespace, replace)
    entry = next(e for e in changeset.entries if e.ref.name == "b")
    assert entry.action is Action.SKIPPED and "replaced by another object" in entry.reason
    assert kube.get("v1", "ConfigMap", "b", namespace)["data"] == {"new": "object"}


@pytest.mark.faults
def test_a_member_changed_between_the_last_read_and_its_delete_is_kept(cluster, gitops, repo, kube, namespace):
    # The race (a write between the re-read and the DELETE) cannot be arranged through the API: the
    # sandbox answers that DELETE as the server does when its uid/resourceVersion preconditions fail.
    repo.write({"a.yaml": cm("a"), "b.yaml": cm("b")})
    assert gitops("sync", str(repo)).code == 0
    repo.remove("b.yaml")
    fault = cluster.sandbox.faults.add(verb="delete", path_regex=rf"/namespaces/{namespace}/configmaps/b$", status=409)
    try:
        kept = gitops("sync", str(repo), "--prune")
    finally:
        cluster.sandbox.faults.remove(fault)
    assert kept.code == 0, kept.out
    assert (f"v1 ConfigMap {namespace}/b: orphaned: no longer in Git; kept: it changed while being deleted "
            "(delete precondition failed)") in kept.out
    assert kube.get("v1", "ConfigMap", "b", namespace) is not None
    again = gitops("sync", str(repo), "--prune")
    assert f"- pruned v1 ConfigMap {namespace}/b" in again.out, "kept, not forgotten: the next sync prunes it"


def test_a_namespace_that_gains_a_foreign_object_after_planning_is_kept(cluster, gitops, repo, kube, namespace):
    with extra_namespace(kube, namespace) as other:
        repo.write({"ns.yaml": ns(other), "inside.yaml": cm("inside", other), "home.yaml": cm("home")})
        assert gitops("sync", str(repo)).code == 0
        repo.remove("ns.yaml", "inside.yaml")

        def arrive() -> None:  # another tool writes into the namespace while the sync runs
            kube.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late", "namespace": other}},
                       manager="kubectl")

        changeset = _prune_with(cluster, repo, namespace, arrive)
        found = {entry.ref.short: entry for entry in changeset.entries}
        assert found[f"ConfigMap {other}/inside"].done, "the namespaced prunes ran first"
        entry = found[f"Namespace {other}"]
        assert (entry.action, entry.done) == (Action.SKIPPED, False)
        assert entry.reason == ("orphaned: no longer in Git; kept: listed again right before its deletion, it holds "
                                "1 object gitops did not apply: v1 ConfigMap late")
        assert kube.get("v1", "Namespace", other)["metadata"].get("deletionTimestamp") is None
        assert kube.get("v1", "ConfigMap", "late", other) is not None


def test_members_already_being_deleted_are_not_deleted_again(gitops, repo, kube, namespace):
    with extra_namespace(kube, namespace) as other:
        repo.write({"ns.yaml": ns(other), "inside.yaml": cm("inside", other), "home.yaml": cm("home")})
        assert gitops("sync", str(repo)).code == 0
        hold = {"metadata": {"finalizers": ["example.com/hold"]}}
        kube.edit("v1", "ConfigMap", "inside", other, hold)
        # Deleted by hand, both held: the ConfigMap by its finalizer, the Namespace by the ConfigMap.
        kube.delete("v1", "ConfigMap", "inside", other)
        kube.delete("v1", "Namespace", other)
        try:
            repo.remove("ns.yaml", "inside.yaml")
            pruned = gitops("sync", str(repo), "--prune")
            assert pruned.code == 0, pruned.out
            assert (f"- pruned v1 ConfigMap {other}/inside\n    orphaned: no longer in Git; it was already being "
                    "deleted\n") in pruned.out
            assert f"- pruned v1 Namespace {other}\n    orphaned: no longer in Git; it was already being deleted" in pruned.out
        finally:
            kube.edit("v1", "ConfigMap", "inside", other, {"metadata": {"finalizers": None}})


@pytest.mark.faults
def test_an_applyset_parent_that_cannot_be_read_stops_the_sync_before_any_write(cluster, gitops, repo, kube, namespace):
    repo.write({"a.yaml": cm("a"), "b.yaml": cm("b")})
    assert gitops("sync", str(repo)).code == 0
    repo.remove("b.yaml")
    repo.write({"c.yaml": cm("c")})
    fault = cluster.sandbox.faults.add(verb="get", path_regex=rf"/namespaces/{namespace}/configmaps/app$", status=403)
    try:
        refused = gitops("sync", str(repo), "--prune")
    finally:
        cluster.sandbox.faults.remove(fault)
    assert refused.code == 5
    assert refused.err.startswith(f"error: v1 ConfigMap {namespace}/app: cannot read the ApplySet parent")
    assert kube.get("v1", "ConfigMap", "b", namespace) is not None and kube.get("v1", "ConfigMap", "c", namespace) is None


# --- 5. a stable inventory identity ---------------------------------------------------------------


def git(directory: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(directory), *args], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin", "HOME": str(directory)})


def test_two_checkouts_of_one_repository_are_one_set(cli, cluster, tmp_path, kube, namespace):
    first = tmp_path / "runner-1" / "deploy"
    first.mkdir(parents=True)
    (first / "apps").mkdir()
    (first / "apps" / "a.yaml").write_text(cm("a"))
    (first / "apps" / "b.yaml").write_text(cm("b"))
    git(first, "init", "-q")
    git(first, "remote", "add", "origin", f"https://example.com/org/deploy-{secrets.token_hex(3)}.git")
    git(first, "add", "-A")
    git(first, "commit", "-qm", "init")
    second = tmp_path / "container" / "work" / "checkout"
    shutil.copytree(first, second)
    flags = ["--kubeconfig", str(cluster.kubeconfig), "--namespace", namespace]

    assert cli("sync", str(first), "--path", "apps", *flags).code == 0
    again = cli("diff", str(second), "--path", "apps", *flags)
    assert (again.code, again.err) == (0, ""), again.out
    (second / "apps" / "b.yaml").unlink()
    git(second, "commit", "-qam", "drop b")
    pruned = cli("sync", str(second), "--path", "apps", "--prune", *flags)
    assert pruned.code == 0 and f"- pruned v1 ConfigMap {namespace}/b" in pruned.out
    assert kube.get("v1", "ConfigMap", "b", namespace) is None


def test_a_plain_directory_names_its_set_after_its_location_and_says_so(cli, cluster, tmp_path, namespace):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.yaml").write_text(cm("a"))
    result = cli("diff", str(plain), "--kubeconfig", str(cluster.kubeconfig), "--namespace", namespace)
    assert result.code == 1
    assert "is in no Git repository" in result.err and "pass --applyset NAME" in result.err


# --- 6. Kustomize stays inside the source ----------------------------------------------------------


def kustomization(*resources: str) -> str:
    return "resources:\n" + "".join(f"  - {resource}\n" for resource in resources)


@pytest.mark.parametrize(("reference", "why"), [
    ("../../elsewhere", "resolves outside the source"),
    ("escape", "resolves outside the source"),  # a symlink inside the repository to a directory outside it
    ("https://github.com/org/other//base?ref=v1", "is a remote base"),
    ("github.com/org/other//base", "is a remote base"),
    ("file:///srv/git/other.git", "is a remote base"),
])
def test_kustomize_references_must_stay_inside_the_source(gitops, tmp_path, make_repo, kube, namespace, reference, why):
    secret_dir = tmp_path / "elsewhere"
    secret_dir.mkdir()
    (secret_dir / "kustomization.yaml").write_text(kustomization("cm.yaml"))
    (secret_dir / "cm.yaml").write_text(cm("stolen"))
    repo = make_repo("repo")
    repo.write({"app/kustomization.yaml": kustomization("local.yaml", reference), "app/local.yaml": cm("local")})
    (repo.root / "app" / "escape").symlink_to(secret_dir)

    refused = gitops("sync", str(repo))
    assert refused.code == 4
    assert f"app/kustomization.yaml: resources {reference!r} {why}" in refused.err
    assert kube.get("v1", "ConfigMap", "local", namespace) is None, "nothing applied"
    assert kube.get("v1", "ConfigMap", "stolen", namespace) is None


def test_kustomize_files_inside_the_source_still_build(gitops, repo, kube, namespace):
    repo.write({"base/kustomization.yaml": kustomization("cm.yaml"), "base/cm.yaml": cm("base"),
                "overlay/kustomization.yaml": kustomization("../base") + "patches:\n  - path: patch.yaml\n",
                "overlay/patch.yaml": cm("base", value="patched")})
    result = gitops("sync", str(repo), "--path", "overlay")
    assert result.code == 0, result.err
    assert kube.get("v1", "ConfigMap", "base", namespace)["data"] == {"v": "patched"}


# --- 8. smaller leaks ---------------------------------------------------------------------------------


def test_render_masks_secret_values_inside_the_last_applied_annotation(cli, repo):
    last = '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"stringData":{"password":"hunter2"}}'
    repo.write({"secret.yaml": f"""
        apiVersion: v1
        kind: Secret
        metadata:
          name: db
          annotations:
            kubectl.kubernetes.io/last-applied-configuration: '{last}'
        stringData:
          password: hunter2
        """})
    for output in ("yaml", "json"):
        result = cli("render", str(repo), "-o", output)
        assert result.code == 0
        assert "hunter2" not in result.out and "<redacted>" in result.out
    assert "hunter2" in cli("render", str(repo), "--show-secrets").out


def test_a_kubeconfig_password_in_the_server_url_is_never_shown(cli, repo, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("""
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://admin:hunter2@127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
""")
    repo.write({"cfg.yaml": cm("cfg")})
    result = cli("diff", str(repo), "--kubeconfig", str(kubeconfig), "--applyset", "x")
    assert result.code == 5
    assert "hunter2" not in result.err + result.out
    assert "https://***@127.0.0.1:1" in result.err
