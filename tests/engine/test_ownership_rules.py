"""Ownership decisions (pure): who claims a live object, adopt or conflict, what a namespace prune takes."""

from __future__ import annotations

import pytest

from gitops.changeset import Action, Entry
from gitops.engine import SyncOptions
from gitops.inventory import ApplySet
from gitops.objects import Manifest, ObjectRef, Origin
from gitops.ownership import NamespaceContents, NamespaceVerdict, Owner, foreign_owner, namespace_verdict
from gitops.plan import Item, decide, plan_prunes

OURS = ApplySet(name="inventory", namespace="home").id
THEIRS = "applyset-theirs-v1"
APPLIED = [{"manager": "gitops", "operation": "Apply"}]
"""managedFields of an object gitops applied."""


def configmap(name: str = "cfg", namespace: str = "shop", labels: dict | None = None,
              annotations: dict | None = None, **metadata: object) -> dict:
    meta = {"name": name, "namespace": namespace, "labels": labels or {}, "annotations": annotations or {}, **metadata}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"a": "1"}}


@pytest.mark.parametrize(("labels", "annotations", "owner"), [
    ({"applyset.kubernetes.io/part-of": THEIRS}, {}, Owner("ApplySet", "ConfigMap team-a/inventory")),
    ({"argocd.argoproj.io/instance": "shop"}, {}, Owner("Argo CD", "application shop")),
    ({}, {"argocd.argoproj.io/tracking-id": "shop:/ConfigMap:shop/cfg"}, Owner("Argo CD", "application shop")),
    ({"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}, {},
     Owner("Flux", "Kustomization flux-system/apps")),
    ({"helm.toolkit.fluxcd.io/name": "redis", "helm.toolkit.fluxcd.io/namespace": "data"}, {},
     Owner("Flux", "HelmRelease data/redis")),
    ({"kapp.k14s.io/app": "1700000000"}, {}, Owner("kapp", "app 1700000000")),
    ({"app.kubernetes.io/managed-by": "Helm"}, {"meta.helm.sh/release-name": "web", "meta.helm.sh/release-namespace": "shop"},
     Owner("Helm", "release shop/web")),
    ({"kubernetes.io/bootstrapping": "rbac-defaults"}, {},
     Owner("the API server's", "bootstrap policy (kubernetes.io/bootstrapping: rbac-defaults)")),
])
def test_tools_are_recognised_by_their_tracking_labels(labels, annotations, owner):
    live = configmap(labels=labels, annotations=annotations)
    assert foreign_owner(live, OURS, {THEIRS: "ConfigMap team-a/inventory"}) == owner


@pytest.mark.parametrize("labels", [
    {},  # created with kubectl: nobody's
    {"app.kubernetes.io/managed-by": "Helm"},  # a chart's label copied by hand, no release annotation
    {"applyset.kubernetes.io/part-of": OURS, "argocd.argoproj.io/instance": "old"},  # adopted before: ours
])
def test_objects_nobody_else_claims(labels):
    assert foreign_owner(configmap(labels=labels), OURS) is None


def test_an_object_a_controller_made_is_its_controllers():
    owner = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "name": "tls", "uid": "u", "controller": True}
    assert foreign_owner(configmap(ownerReferences=[owner]), OURS) == Owner("its controller", "cert-manager.io/v1 Certificate tls")
    only_for_collection = {**owner, "controller": False}  # an owner for garbage collection, no controller
    assert foreign_owner(configmap(ownerReferences=[only_for_collection]), OURS) is None
    assert foreign_owner(configmap(labels={"applyset.kubernetes.io/part-of": OURS}, ownerReferences=[owner]), OURS) is None


def item(live: dict | None) -> Item:
    body = configmap(labels={"applyset.kubernetes.io/part-of": OURS})
    ref = ObjectRef.from_object(body)
    return Item(manifest=Manifest(body, Origin("cfg.yaml")), entry=Entry(ref=ref, action=Action.UNCHANGED),
                body=body, live=live, predicted=body)


def test_an_object_of_another_owner_fails_naming_it_unless_adopt():
    live = configmap(labels={"argocd.argoproj.io/instance": "shop"})
    refused = item(live)
    decide(refused, SyncOptions())
    assert (refused.entry.action, refused.entry.reason) == (Action.FAILED, "OwnerConflict")
    assert "managed by Argo CD application shop" in refused.entry.error and "--adopt" in refused.entry.error
    adopted = item(live)
    decide(adopted, SyncOptions(adopt=True))
    assert adopted.entry.action is Action.ADOPT
    assert adopted.entry.reason == "taken over from Argo CD application shop (--adopt)"


def test_an_object_without_owner_is_adopted_not_updated():
    unowned = item(configmap())
    decide(unowned, SyncOptions())
    assert unowned.entry.action is Action.ADOPT and "without an owner" in unowned.entry.reason
    assert [change.path for change in unowned.entry.changes] == ["metadata.labels"], "only our label is added"
    assert unowned.entry.changes[0].after == {"applyset.kubernetes.io/part-of": OURS}


def test_our_own_object_is_updated_or_unchanged():
    ours = item(configmap(labels={"applyset.kubernetes.io/part-of": OURS}))
    decide(ours, SyncOptions())
    assert ours.entry.action is Action.UNCHANGED


# --- pruning --------------------------------------------------------------------------------


def namespace(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "uid": f"uid-{name}", "labels": {"applyset.kubernetes.io/part-of": OURS},
                         "managedFields": APPLIED}}


def member(name: str, ns: str, uid: str, **metadata: object) -> dict:
    return configmap(name, ns, labels={"applyset.kubernetes.io/part-of": OURS}, uid=uid, managedFields=APPLIED, **metadata)


def prune(members: list[dict], desired: set[ObjectRef], contents: dict | None = None, **options: object):
    applyset = ApplySet(name="inventory", namespace="home", exists=True)
    return plan_prunes(members, desired, options=SyncOptions(prune=True, **options), rendered=max(len(desired), 1),
                       applyset=applyset, contents=contents)


def entries(plan) -> dict[str, Entry]:
    return {entry.ref.short: entry for entry in plan.entries}


def test_orphans_are_marked_and_reasoned_whether_pruned_or_not():
    old = member("old", "home", "u1")
    off = plan_prunes([old], set(), options=SyncOptions(), rendered=1)
    assert off.entries[0].orphan and off.entries[0].action is Action.SKIPPED
    assert off.entries[0].reason == "orphaned: no longer in Git; pruning is off (--prune)"
    on = plan_prunes([old], set(), options=SyncOptions(prune=True), rendered=1)
    assert (on.entries[0].action, on.entries[0].reason, on.entries[0].orphan) == (Action.PRUNE, "orphaned: no longer in Git", True)


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public", "kube-node-lease"])
def test_the_cluster_namespaces_are_never_pruned(name):
    plan = prune([namespace(name)], {ObjectRef("", "ConfigMap", "x", "y")})
    assert plan.entries[0].action is Action.SKIPPED and "never pruned" in plan.entries[0].reason


def test_the_namespace_of_the_applyset_parent_is_kept_while_the_set_has_members():
    plan = prune([namespace("home")], {ObjectRef("", "ConfigMap", "elsewhere", "cfg")})
    assert plan.entries[0].action is Action.SKIPPED
    assert "ApplySet parent (ConfigMap home/inventory)" in plan.entries[0].reason


def test_a_namespace_holding_foreign_objects_is_kept_naming_a_few():
    held = [member("ours", "gone", "u1"), *(configmap(f"foreign{i}", "gone", uid=f"f{i}") for i in range(5)),
            configmap("kube-root-ca.crt", "gone", uid="ca"),
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "gone", "uid": "sa"}}]
    plan = prune([namespace("gone"), held[0]], {ObjectRef("", "ConfigMap", "x", "y")},
                 {"gone": NamespaceContents(objects=held)})
    found = entries(plan)
    assert found["ConfigMap gone/ours"].action is Action.PRUNE
    assert found["Namespace gone"].action is Action.SKIPPED
    assert found["Namespace gone"].reason == (
        "orphaned: no longer in Git; it holds 5 objects gitops did not apply: v1 ConfigMap foreign0, "
        "v1 ConfigMap foreign1, v1 ConfigMap foreign2, and 2 more; kept"
    )


def test_a_namespace_holding_objects_still_in_git_is_kept():
    kept = member("kept", "gone", "u1")
    plan = prune([namespace("gone"), kept], {ObjectRef.from_object(kept)}, {"gone": NamespaceContents(objects=[kept])})
    assert "holds 1 object still in Git: v1 ConfigMap kept" in entries(plan)["Namespace gone"].reason


def test_a_namespace_that_could_not_be_listed_is_kept():
    plan = prune([namespace("gone")], {ObjectRef("", "ConfigMap", "x", "y")},
                 {"gone": NamespaceContents(unlisted=["secrets"])})
    assert "cannot list secrets in it" in plan.entries[0].reason
    unlisted = prune([namespace("gone")], {ObjectRef("", "ConfigMap", "x", "y")}, {})
    assert unlisted.entries[0].action is Action.SKIPPED


def test_what_a_namespace_deletion_takes_along_counts_against_the_cap():
    ours = member("ours", "gone", "u1")
    dependents = [configmap(f"dep{i}", "gone", uid=f"d{i}", ownerReferences=[{"uid": "u1"}]) for i in range(3)]
    contents = {"gone": NamespaceContents(objects=[ours, *dependents])}
    desired = {ObjectRef("", "ConfigMap", "x", "y")}
    assert namespace_verdict(contents["gone"], OURS, desired, {ObjectRef.from_object(ours)}).takes == 3
    allowed = prune([namespace("gone"), ours], desired, contents, max_prune=5)
    assert {e.action for e in allowed.entries} == {Action.PRUNE}
    refused = prune([namespace("gone"), ours], desired, contents, max_prune=4)
    assert refused.refusal == "refusing to prune 5 objects, more than --max-prune 4 (use --confirm-prune)"


def test_the_whole_set_pruned_may_take_the_parents_namespace():
    applyset = ApplySet(name="inventory", namespace="home", exists=True)
    parent = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inventory", "namespace": "home", "uid": "p"}}
    plan = plan_prunes([namespace("home")], set(), options=SyncOptions(prune=True, allow_empty=True), rendered=0,
                       applyset=applyset, contents={"home": NamespaceContents(objects=[parent])})
    assert plan.entries[0].action is Action.PRUNE


def test_a_namespace_holding_a_member_kept_from_pruning_is_kept():
    kept = member("keep", "gone", "u1", annotations={"gitops.io/prune": "disabled"})
    plan = prune([namespace("gone"), kept], {ObjectRef("", "ConfigMap", "x", "y")},
                 {"gone": NamespaceContents(objects=[kept])})
    found = entries(plan)
    assert found["ConfigMap gone/keep"].action is Action.SKIPPED
    assert found["Namespace gone"].action is Action.SKIPPED
    assert found["Namespace gone"].reason == (
        "orphaned: no longer in Git; it holds 1 object of this set kept from pruning: v1 ConfigMap keep; kept"
    )


def test_dependents_of_members_outside_the_namespace_go_with_it():
    # Owned by a cluster-scoped member, or by a member the garbage collector has not caught up with.
    cluster_owner = {"apiVersion": "example.com/v1", "kind": "Tenant",
                     "metadata": {"name": "t", "uid": "c1", "labels": {"applyset.kubernetes.io/part-of": OURS}}}
    dependent = configmap("dep", "gone", uid="d1", ownerReferences=[{"uid": "c1"}])
    contents = NamespaceContents(objects=[dependent])
    desired = {ObjectRef("", "ConfigMap", "x", "y")}
    assert "gitops did not apply" in namespace_verdict(contents, OURS, desired, set()).keep
    assert namespace_verdict(contents, OURS, desired, set(), owners={"c1"}) == NamespaceVerdict(
        takes=1, dependents=frozenset({"d1"}))
    plan = prune([namespace("gone"), cluster_owner], desired, {"gone": contents}, confirm_prune=True)
    assert {e.ref.short: e.action for e in plan.entries} == {"Tenant t": Action.PRUNE, "Namespace gone": Action.PRUNE}


def crd(name: str, uid: str) -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": name, "uid": uid, "labels": {"applyset.kubernetes.io/part-of": OURS},
                         "managedFields": APPLIED}}


def widget(name: str, ns: str, uid: str, labels: dict | None = None) -> dict:
    return {"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": name, "namespace": ns, "uid": uid, "labels": labels or {},
                         "managedFields": APPLIED if labels else []}}


def test_a_crd_is_pruned_only_when_every_custom_resource_of_it_is_ours_to_delete():
    ours = widget("ours", "shop", "w1", {"applyset.kubernetes.io/part-of": OURS})
    desired = {ObjectRef("", "ConfigMap", "x", "y")}
    alone = prune([crd("widgets.example.com", "c"), ours], desired,
                  {"widgets.example.com": NamespaceContents(objects=[ours])}, confirm_prune=True)
    assert {e.ref.short: e.action for e in alone.entries} == {
        "Widget shop/ours": Action.PRUNE, "CustomResourceDefinition widgets.example.com": Action.PRUNE}
    foreign = widget("theirs", "other", "w2")
    kept = prune([crd("widgets.example.com", "c"), ours], desired,
                 {"widgets.example.com": NamespaceContents(objects=[ours, foreign])}, confirm_prune=True)
    entry = entries(kept)["CustomResourceDefinition widgets.example.com"]
    assert entry.action is Action.SKIPPED
    assert entry.reason == "orphaned: no longer in Git; it holds 1 object gitops did not apply: example.com/v1 Widget theirs; kept"
    unlisted = prune([crd("widgets.example.com", "c")], desired, {}, confirm_prune=True)
    assert unlisted.entries[0].action is Action.SKIPPED


def test_dependents_found_at_planning_still_count_when_their_owner_is_gone_at_deletion():
    # Planning sees Deployment -> ReplicaSet -> Pod; right before the namespace's deletion the garbage
    # collector has removed the ReplicaSet but not yet its Pod.
    deployment = member("web", "gone", "dep")
    replicaset = configmap("web-1", "gone", uid="rs", ownerReferences=[{"uid": "dep", "controller": True}])
    pod = configmap("web-1-a", "gone", uid="pod", ownerReferences=[{"uid": "rs", "controller": True}])
    desired = {ObjectRef("", "ConfigMap", "x", "y")}
    plan = prune([namespace("gone"), deployment], desired,
                 {"gone": NamespaceContents(objects=[deployment, replicaset, pod])}, confirm_prune=True)
    assert plan.dependents == frozenset({"rs", "pod"})
    later = NamespaceContents(objects=[pod])
    assert "gitops did not apply" in namespace_verdict(later, OURS, desired, set(), owners={"dep"}).keep
    assert not namespace_verdict(later, OURS, desired, set(), owners={"dep"} | plan.dependents).keep


def test_a_copy_of_our_label_is_not_ours_in_a_namespace():
    # `kubectl get -o yaml` of one of ours, renamed and applied by hand: it carries our label.
    copy = configmap("copy", "gone", labels={"applyset.kubernetes.io/part-of": OURS}, uid="c",
                     managedFields=[{"manager": "kubectl-client-side-apply", "operation": "Update"}])
    desired = {ObjectRef("", "ConfigMap", "x", "y")}
    contents = NamespaceContents(objects=[copy])
    assert namespace_verdict(contents, OURS, desired, set(), manager="gitops").keep == (
        "holds 1 object gitops did not apply: v1 ConfigMap copy; kept")
    plan = prune([namespace("gone")], desired, {"gone": contents})
    assert entries(plan)["Namespace gone"].action is Action.SKIPPED
