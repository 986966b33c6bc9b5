"""Who owns a live object, and what a namespace deletion would take with it. Pure: no I/O.

gitops takes an object into its ApplySet only when nobody else claims it. Claims are read from the
labels and annotations the common tools write on every object they manage:

    another ApplySet   applyset.kubernetes.io/part-of: <other id>        (kubectl, KEP-3659)
    Argo CD            label argocd.argoproj.io/instance, annotation argocd.argoproj.io/tracking-id
    Flux               kustomize.toolkit.fluxcd.io/name (+ /namespace), helm.toolkit.fluxcd.io/name
    kapp               kapp.k14s.io/app
    Helm               app.kubernetes.io/managed-by: Helm with annotation meta.helm.sh/release-name
    the API server     kubernetes.io/bootstrapping (its default RBAC roles and bindings, cluster-admin included)
    a controller       an ownerReference with controller: true (a Deployment's ReplicaSet, an operator's Secret)

An object with none of them (created with kubectl) may be adopted; the plan says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from typing import Any

from gitops.objects import ObjectRef

PART_OF_LABEL = "applyset.kubernetes.io/part-of"

PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
"""Never pruned, whatever the set says: the cluster's own namespaces."""

# Objects the control plane puts into every namespace, and kinds that are records rather than
# state: they neither keep a namespace alive nor count as what a deletion takes.
_CONTROL_PLANE_OBJECTS = {("", "ConfigMap", "kube-root-ca.crt"), ("", "ServiceAccount", "default")}
_RECORD_KINDS = {("", "Event"), ("events.k8s.io", "Event")}
NAMED_IN_MESSAGES = 3
"""How many foreign objects a refusal names."""


@dataclass(frozen=True)
class Owner:
    """Another tool (or ApplySet) that manages an object."""

    tool: str
    """``ApplySet``, ``Argo CD``, ``Flux``, ``kapp``, ``Helm``, ``the API server's`` or ``its controller``."""
    name: str
    """What identifies it within that tool: the parent object, application, release..."""

    def __str__(self) -> str:
        return f"{self.tool} {self.name}"


def _metadata(obj: Mapping[str, Any]) -> tuple[Mapping[str, str], Mapping[str, str]]:
    metadata = obj.get("metadata") or {}
    return metadata.get("labels") or {}, metadata.get("annotations") or {}


def foreign_owner(obj: Mapping[str, Any], our_id: str, parents: Mapping[str, str] | None = None) -> Owner | None:
    """The tool or other ApplySet that claims ``obj``; ``None`` when it is ours or nobody's.

    ``parents``: other ApplySets' ids -> their parent (``ConfigMap team-a/inventory``), when known.
    An object labelled part of our set is ours, whatever else it carries (it was adopted).
    """
    labels, annotations = _metadata(obj)
    part_of = labels.get(PART_OF_LABEL)
    if part_of == our_id:
        return None
    if part_of:
        return Owner("ApplySet", (parents or {}).get(part_of) or part_of)
    if labels.get("argocd.argoproj.io/instance") or annotations.get("argocd.argoproj.io/tracking-id"):
        application = labels.get("argocd.argoproj.io/instance") or str(
            annotations.get("argocd.argoproj.io/tracking-id")
        ).split(":", 1)[0]
        return Owner("Argo CD", f"application {application}")
    for kind in ("kustomize", "helm"):
        name = labels.get(f"{kind}.toolkit.fluxcd.io/name")
        if name:
            namespace = labels.get(f"{kind}.toolkit.fluxcd.io/namespace")
            resource = "Kustomization" if kind == "kustomize" else "HelmRelease"
            return Owner("Flux", f"{resource} {namespace}/{name}" if namespace else f"{resource} {name}")
    if labels.get("kapp.k14s.io/app"):
        return Owner("kapp", f"app {labels['kapp.k14s.io/app']}")
    release = annotations.get("meta.helm.sh/release-name")
    if str(labels.get("app.kubernetes.io/managed-by", "")).lower() == "helm" and release:
        namespace = annotations.get("meta.helm.sh/release-namespace")
        return Owner("Helm", f"release {namespace}/{release}" if namespace else f"release {release}")
    if labels.get("kubernetes.io/bootstrapping"):
        # The API server's own RBAC roles and bindings (cluster-admin, system:*), reconciled on every start.
        return Owner("the API server's", f"bootstrap policy (kubernetes.io/bootstrapping: {labels['kubernetes.io/bootstrapping']})")
    for reference in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(reference, dict) and reference.get("controller") is True:
            # Made and kept up to date by a controller (a Deployment's ReplicaSet, cert-manager's Secret).
            return Owner("its controller", f"{reference.get('apiVersion', '')} {reference.get('kind', '')} "
                                           f"{reference.get('name', '')}".strip())
    return None


def written_by(obj: Mapping[str, Any], field_manager: str) -> bool:
    """The object's managedFields hold an entry of this field manager: it was applied through it.

    Controllers copy labels onto what they make (the endpoints controller gives a Service's Endpoints
    the Service's labels, ``part-of`` included), and so does anyone applying a copy of a live object:
    a label alone does not make an object ours."""
    managed = (obj.get("metadata") or {}).get("managedFields") or []
    return any(isinstance(entry, dict) and entry.get("manager") == field_manager for entry in managed)


def other_applyset_ids(objects: Iterable[Mapping[str, Any] | None], our_id: str) -> set[str]:
    """The ids of other ApplySets these objects are labelled part of."""
    ids = set()
    for obj in objects:
        if obj is not None:
            part_of = _metadata(obj)[0].get(PART_OF_LABEL)
            if part_of and part_of != our_id:
                ids.add(part_of)
    return ids


# --- what a namespace holds ----------------------------------------------------------------


def is_crd(ref: ObjectRef) -> bool:
    """A CustomResourceDefinition: deleting it deletes every custom resource of its kind, anyone's."""
    return ref.group == "apiextensions.k8s.io" and ref.kind == "CustomResourceDefinition"


@dataclass
class NamespaceContents:
    """What a namespace held when it was listed before a prune."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    """Every object (metadata at least) of every namespaced kind that could be listed."""
    unlisted: list[str] = field(default_factory=list)
    """Kinds that could not be listed (forbidden): what they hold is unknown."""


@dataclass(frozen=True)
class NamespaceVerdict:
    keep: str = ""
    """Why the namespace must not be deleted; ``""`` when it may be."""
    takes: int = 0
    """Objects the deletion would take with it beyond the set's own orphans (for the prune cap)."""
    dependents: frozenset[str] = frozenset()
    """The uids of those that depend on our objects: owners of dependents listed later, when the
    garbage collector may already have removed the object between them and us."""


def namespace_verdict(
    contents: NamespaceContents, our_id: str, desired: set[ObjectRef], orphans: set[ObjectRef],
    parent: ObjectRef | None = None, *, kept: Set[ObjectRef] = frozenset(), owners: Set[str] = frozenset(),
    manager: str | None = None,
) -> NamespaceVerdict:
    """Whether deleting a namespace would take only what is ours to delete.

    Ours: labelled part of our set and no longer in Git, or dependent (``ownerReferences``) on
    something that is. Anything else (another tool's object, one created by hand, one still in Git,
    a member of the set this sync keeps) keeps the namespace. Objects the control plane creates in
    every namespace, and Events, are ignored; so is our ApplySet ``parent`` (a namespace holding it is
    only pruned with the whole set).

    ``orphans``: the members this sync prunes; ``kept``: members it keeps (``gitops.io/prune: disabled``,
    or found changed right before their deletion). ``owners``: uids of the set's members anywhere, so
    that dependents of a cluster-scoped member, or of a member deleted just before whose dependents the
    garbage collector has not removed yet, count as ours. ``manager``: our field manager; an object
    labelled part of our set counts as ours only when it was applied through it (:func:`written_by`).
    """
    if contents.unlisted:
        return NamespaceVerdict(keep=f"cannot list {', '.join(sorted(contents.unlisted))} in it; kept")
    ours: set[str] = set()
    by_uid: dict[str, dict[str, Any]] = {}
    for obj in contents.objects:
        metadata = obj.get("metadata") or {}
        by_uid[str(metadata.get("uid") or id(obj))] = obj
        if (metadata.get("labels") or {}).get(PART_OF_LABEL) == our_id and (
            manager is None or written_by(obj, manager)
        ):
            ours.add(str(metadata.get("uid") or id(obj)))
    # The endpoints controller writes a Service's Endpoints without an owner reference.
    our_services = {("", "Endpoints", ObjectRef.from_object(by_uid[uid]).name) for uid in ours
                    if ObjectRef.from_object(by_uid[uid]).group_kind == "Service"}
    still_desired: list[str] = []
    dependents: set[str] = set()
    members_kept: list[str] = []
    foreign: list[str] = []
    takes = 0
    for uid, obj in by_uid.items():
        ref = ObjectRef.from_object(obj)
        if (ref.group, ref.kind, ref.name) in _CONTROL_PLANE_OBJECTS or (ref.group, ref.kind) in _RECORD_KINDS:
            continue
        if ref == parent:
            continue
        if uid in ours:
            if ref in desired:
                still_desired.append(_describe(ref))
            elif ref in kept:
                members_kept.append(_describe(ref))
            elif ref not in orphans:
                takes += 1
            continue
        if _depends_on(obj, ours | set(owners), by_uid) or (ref.group, ref.kind, ref.name) in our_services:
            takes += 1
            dependents.add(uid)
            continue
        foreign.append(_describe(ref))
    if still_desired:
        return NamespaceVerdict(keep=_holds(still_desired, "still in Git"))
    if members_kept:
        return NamespaceVerdict(keep=_holds(members_kept, "of this set kept from pruning"))
    if foreign:
        return NamespaceVerdict(keep=_holds(foreign, "gitops did not apply"))
    return NamespaceVerdict(takes=takes, dependents=frozenset(dependents))


def _depends_on(obj: Mapping[str, Any], ours: set[str], by_uid: Mapping[str, Mapping[str, Any]]) -> bool:
    """Every owner reference leads (through owners in the same namespace) to an object of ours."""
    seen: set[str] = set()

    def owned(current: Mapping[str, Any]) -> bool:
        references = (current.get("metadata") or {}).get("ownerReferences") or []
        if not references:
            return False
        for reference in references:
            uid = str(reference.get("uid") or "")
            if uid in ours:
                continue
            if uid in seen or uid not in by_uid:
                return False
            seen.add(uid)
            if not owned(by_uid[uid]):
                return False
        return True

    return owned(obj)


def _describe(ref: ObjectRef) -> str:
    return f"{ref.api_version} {ref.kind} {ref.name}"


def _holds(objects: list[str], what: str) -> str:
    named = ", ".join(sorted(objects)[:NAMED_IN_MESSAGES])
    more = f", and {len(objects) - NAMED_IN_MESSAGES} more" if len(objects) > NAMED_IN_MESSAGES else ""
    noun = "object" if len(objects) == 1 else "objects"
    return f"holds {len(objects)} {noun} {what}: {named}{more}; kept"
