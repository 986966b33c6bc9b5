"""Ordering, decisions, conflicts and prune guards (pure)."""

from __future__ import annotations

import pytest

from gitops.changeset import Action, Entry, Health
from gitops.engine import SyncOptions
from gitops.objects import Manifest, ObjectRef, Origin
from gitops.plan import (
    Conflict,
    Item,
    Tier,
    assess_unchanged,
    compare_renders,
    crd_scopes,
    decide,
    only_update_managers,
    order_key,
    parse_conflicts,
    plan_prunes,
    sync_wave,
    tier_of,
)


def obj(kind: str, name: str, namespace: str = "", api_version: str = "v1", **extra: object) -> dict:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **extra}


def ref(kind: str, name: str, namespace: str = "", api_version: str = "v1") -> ObjectRef:
    return ObjectRef.from_object(obj(kind, name, namespace, api_version))


def test_order_crds_namespaces_cluster_then_namespaced_within_a_wave():
    refs = [
        (ref("Deployment", "web", "shop", "apps/v1"), True),
        (ref("ConfigMap", "cfg", "shop"), True),
        (ref("ClusterRole", "reader", api_version="rbac.authorization.k8s.io/v1"), False),
        (ref("Namespace", "shop"), False),
        (ref("CustomResourceDefinition", "widgets.example.com", api_version="apiextensions.k8s.io/v1"), False),
        (ref("Widget", "w", "shop", "example.com/v1"), True),
    ]
    ordered = sorted(refs, key=lambda pair: order_key(pair[0], 0, tier_of(*pair)))
    assert [r.kind for r, _ in ordered] == [
        "CustomResourceDefinition", "Namespace", "ClusterRole", "ConfigMap", "Deployment", "Widget",
    ]


def test_waves_come_before_kinds():
    early = order_key(ref("Deployment", "db", "shop", "apps/v1"), -1, Tier.NAMESPACED)
    late = order_key(ref("Namespace", "shop"), 0, Tier.NAMESPACE)
    assert early < late


@pytest.mark.parametrize(("value", "wave"), [(None, 0), ("3", 3), ("-2", -2), (" 1 ", 1)])
def test_sync_wave(value, wave):
    annotations = {"gitops.io/sync-wave": value} if value is not None else {}
    assert sync_wave({"metadata": {"annotations": annotations}}) == wave


def test_sync_wave_must_be_an_integer():
    with pytest.raises(ValueError, match="must be an integer"):
        sync_wave({"metadata": {"annotations": {"gitops.io/sync-wave": "first"}}})


def test_crd_scopes_lists_served_versions():
    crd = obj("CustomResourceDefinition", "widgets.example.com", api_version="apiextensions.k8s.io/v1", spec={
        "group": "example.com", "scope": "Cluster", "names": {"kind": "Widget", "plural": "widgets"},
        "versions": [{"name": "v1", "served": True}, {"name": "v0", "served": False}],
    })
    assert crd_scopes([Manifest(crd, Origin("crd.yaml"))]) == {("example.com", "v1", "Widget"): False}


CONFLICT_CAUSES = [
    {"reason": "FieldManagerConflict", "message": 'conflict with "kubectl-edit" using apps/v1', "field": ".spec.replicas"},
    {"reason": "FieldManagerConflict", "message": 'conflict with "helm" using apps/v1', "field": ".spec.paused"},
]


def live_with_managers(*managers: tuple[str, str]) -> dict:
    return {"metadata": {"managedFields": [{"manager": m, "operation": op} for m, op in managers]}}


def test_conflicts_name_manager_field_and_operation():
    conflicts = parse_conflicts(CONFLICT_CAUSES, live_with_managers(("kubectl-edit", "Update"), ("helm", "Apply")))
    assert conflicts == [
        Conflict("kubectl-edit", ".spec.replicas", "Update"),
        Conflict("helm", ".spec.paused", "Apply"),
    ]
    assert not only_update_managers(conflicts)
    assert only_update_managers(conflicts[:1])


def test_subresource_managers_are_told_apart():
    causes = [{"message": 'conflict with "kubectl" with subresource "scale" using apps/v1', "field": ".spec.replicas"}]
    live = {"metadata": {"managedFields": [
        {"manager": "kubectl", "operation": "Apply"},
        {"manager": "kubectl", "operation": "Update", "subresource": "scale"},
    ]}}
    assert parse_conflicts(causes, live) == [Conflict("kubectl", ".spec.replicas", "Update")]


def item_for(live: dict | None, predicted: dict | None, **fields: object) -> Item:
    desired = predicted or live or {}
    r = ObjectRef.from_object(desired)
    return Item(manifest=Manifest(desired, Origin("x.yaml")), entry=Entry(ref=r, action=Action.UNCHANGED),
                live=live, predicted=predicted, body=desired, **fields)


def cm(**data: str) -> dict:
    return obj("ConfigMap", "cfg", "shop", data=data, metadata={"name": "cfg", "namespace": "shop", "resourceVersion": "5"})


def test_decide_unchanged_update_create():
    options = SyncOptions()
    same = item_for(cm(a="1"), cm(a="1"))
    decide(same, options)
    assert same.entry.action is Action.UNCHANGED and same.entry.desired is None
    changed = item_for(cm(a="1"), cm(a="2"))
    decide(changed, options)
    assert changed.entry.action is Action.UPDATE
    assert [(c.path, c.before, c.after) for c in changed.entry.changes] == [("data.a", "1", "2")]
    assert "resourceVersion" not in changed.entry.live["metadata"]
    new = item_for(None, cm(a="1"))
    decide(new, options)
    assert new.entry.action is Action.CREATE


def test_unchanged_objects_get_their_live_health_changed_ones_none():
    rolling = obj("Deployment", "web", "shop", "apps/v1", spec={"replicas": 2},
                  status={"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1})
    rolling["metadata"]["generation"] = 1
    same = item_for(rolling, rolling)
    decide(same, SyncOptions())
    assess_unchanged(same)
    assert same.entry.health is Health.PROGRESSING and "1 of 2 updated replicas are available" in same.entry.health_message
    changed = item_for(cm(a="1"), cm(a="2"))
    decide(changed, SyncOptions())
    assess_unchanged(changed)
    assert changed.entry.action is Action.UPDATE and changed.entry.health is None


def test_decide_conflict_with_an_apply_manager_fails_naming_it():
    conflicted = item_for(cm(a="1"), cm(a="2"), conflicts=[Conflict("helm", ".data.a", "Apply")])
    decide(conflicted, SyncOptions())
    assert conflicted.entry.action is Action.FAILED
    assert conflicted.entry.reason == "Conflict"
    assert "'helm' owns .data.a" in conflicted.entry.error
    assert conflicted.entry.changes, "the diff is still shown"


def test_decide_immutable_fails_unless_replace_is_asked():
    live = obj("Service", "web", "shop", spec={"clusterIP": "10.0.0.1", "type": "ClusterIP"})
    body = obj("Service", "web", "shop", spec={"clusterIP": "10.0.0.2"})
    refused = item_for(live, None, immutable="spec.clusterIP: field is immutable")
    refused.body = body
    decide(refused, SyncOptions())
    assert refused.entry.action is Action.FAILED and refused.entry.reason == "Immutable"
    assert "--replace-immutable" in refused.entry.error
    assert [(c.path, c.before, c.after) for c in refused.entry.changes] == [("spec.clusterIP", "10.0.0.1", "10.0.0.2")]
    replaced = item_for(live, None, immutable="spec.clusterIP: field is immutable")
    replaced.body = body
    decide(replaced, SyncOptions(replace_immutable=True))
    assert replaced.entry.action is Action.UPDATE and "replace" in replaced.entry.reason


def test_decide_pending_is_a_create_with_the_reason():
    pending = item_for(None, None, pending="its CustomResourceDefinition is created by this sync")
    pending.body = obj("Widget", "w", "shop", "example.com/v1")
    decide(pending, SyncOptions())
    assert pending.entry.action is Action.CREATE
    assert "CustomResourceDefinition" in pending.entry.reason


def members(count: int, **annotations: str) -> list[dict]:
    return [
        {**obj("ConfigMap", f"cm{i}", "shop"), "metadata": {"name": f"cm{i}", "namespace": "shop", "annotations": annotations}}
        for i in range(count)
    ]


def desired_refs(count: int) -> set[ObjectRef]:
    return {ref("ConfigMap", f"cm{i}", "shop") for i in range(count)}


def test_prune_only_orphans_when_asked():
    plan = plan_prunes(members(10), desired_refs(8), options=SyncOptions(prune=True), rendered=8)
    assert [(e.ref.name, e.action) for e in plan.entries] == [("cm9", Action.PRUNE), ("cm8", Action.PRUNE)]
    assert not plan.refusal
    off = plan_prunes(members(10), desired_refs(8), options=SyncOptions(), rendered=8)
    assert {e.action for e in off.entries} == {Action.SKIPPED}
    assert "--prune" in off.entries[0].reason


def test_prune_disabled_annotation_keeps_the_object():
    plan = plan_prunes(members(2, **{"gitops.io/prune": "disabled"}), desired_refs(1),
                       options=SyncOptions(prune=True), rendered=1)
    (entry,) = plan.entries
    assert entry.action is Action.SKIPPED and "disabled" in entry.reason


def test_empty_render_prunes_nothing_without_allow_empty():
    plan = plan_prunes(members(3), set(), options=SyncOptions(prune=True), rendered=0)
    assert "--allow-empty" in plan.refusal
    assert {e.action for e in plan.entries} == {Action.SKIPPED}
    allowed = plan_prunes(members(3), set(), options=SyncOptions(prune=True, allow_empty=True), rendered=0)
    assert not allowed.refusal and {e.action for e in allowed.entries} == {Action.PRUNE}


def test_default_cap_refuses_more_than_a_quarter_and_more_than_five():
    refused = plan_prunes(members(20), desired_refs(14), options=SyncOptions(prune=True), rendered=14)
    assert "refusing to prune 6 of 20" in refused.refusal
    small = plan_prunes(members(8), desired_refs(3), options=SyncOptions(prune=True), rendered=3)
    assert not small.refusal, "five or fewer objects are always allowed"
    share = plan_prunes(members(40), desired_refs(33), options=SyncOptions(prune=True), rendered=33)
    assert not share.refusal, "seven of forty is under a quarter"
    confirmed = plan_prunes(members(20), desired_refs(14), options=SyncOptions(prune=True, confirm_prune=True),
                            rendered=14)
    assert not confirmed.refusal


def test_explicit_max_prune():
    refused = plan_prunes(members(10), desired_refs(7), options=SyncOptions(prune=True, max_prune=2), rendered=7)
    assert "--max-prune 2" in refused.refusal
    allowed = plan_prunes(members(10), desired_refs(7), options=SyncOptions(prune=True, max_prune=3), rendered=7)
    assert not allowed.refusal


def test_prunes_run_in_reverse_apply_order():
    found = [
        obj("Namespace", "old"),
        obj("ConfigMap", "c", "old"),
        obj("Deployment", "d", "old", "apps/v1"),
        obj("ClusterRole", "r", api_version="rbac.authorization.k8s.io/v1"),
    ]
    plan = plan_prunes(found, set(), options=SyncOptions(prune=True, allow_empty=True), rendered=0)
    assert [e.ref.kind for e in plan.entries] == ["Deployment", "ConfigMap", "ClusterRole", "Namespace"]


def test_compare_renders_creates_updates_and_deletes():
    old = [Manifest(cm(a="1"), Origin("a.yaml")), Manifest(obj("ConfigMap", "gone", "shop"), Origin("b.yaml"))]
    new = [Manifest(cm(a="2"), Origin("a.yaml")), Manifest(obj("Service", "web", "shop"), Origin("c.yaml"))]
    entries = compare_renders(old, new)
    assert [(e.ref.kind, e.ref.name, e.action) for e in entries] == [
        ("ConfigMap", "cfg", Action.UPDATE), ("Service", "web", Action.CREATE), ("ConfigMap", "gone", Action.PRUNE),
    ]
    assert [(c.path, c.before, c.after) for c in entries[0].changes] == [("data.a", "1", "2")]
