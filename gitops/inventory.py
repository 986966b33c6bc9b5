"""The inventory of what gitops applied, stored in the cluster as an ApplySet (KEP-3659).

The parent is a ConfigMap (kubectl's default is a Secret; a ConfigMap holds nothing secret and
needs no Secret permissions to read) in the run's default namespace, labelled
``applyset.kubernetes.io/id`` and annotated with the tooling, the group-kinds and the extra
namespaces of its members. Members carry ``applyset.kubernetes.io/part-of: <id>``. The ids and
keys are kubectl's (``staging/src/k8s.io/kubectl/pkg/cmd/apply/applyset.go``), so
``kubectl apply --prune --applyset=configmaps/<name>`` recognises the same set.

As kubectl does, the parent's annotations are widened (union with the new members) before any
member is applied and narrowed to exactly the applied set only after a complete prune.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitops import __version__
from gitops.errors import ApiError, SafetyError
from gitops.objects import ObjectRef
from gitops.ownership import written_by
from gitops.source.urls import repository_identity

if TYPE_CHECKING:
    from gitops.cluster import Cluster

PART_OF_LABEL = "applyset.kubernetes.io/part-of"
ID_LABEL = "applyset.kubernetes.io/id"
TOOLING_ANNOTATION = "applyset.kubernetes.io/tooling"
GROUP_KINDS_ANNOTATION = "applyset.kubernetes.io/contains-group-kinds"
ADDITIONAL_NAMESPACES_ANNOTATION = "applyset.kubernetes.io/additional-namespaces"
TOOL_NAME = "gitops"
TOOLING = f"{TOOL_NAME}/v{__version__}"

PARENT_KIND = "ConfigMap"
PARENT_GROUP = ""


def applyset_id(name: str, namespace: str, kind: str = PARENT_KIND, group: str = PARENT_GROUP) -> str:
    """``applyset-<base64url(sha256(<name>.<namespace>.<kind>.<group>))>-v1``, as kubectl computes it."""
    digest = hashlib.sha256(".".join([name, namespace, kind, group]).encode()).digest()
    return f"applyset-{base64.urlsafe_b64encode(digest).decode().rstrip('=')}-v1"


def default_name(repository: str, path: str) -> str:
    """A stable parent name for a directory of a repository: ``gitops-<repo>-<path>-<hash>`` (a valid
    object name). ``repository`` is what the repository is (``github.com/org/repo``, see
    :func:`gitops.source.urls.repository_identity`), never where it is checked out, so every clone,
    CI runner and the Action name the same set. Pure."""
    path = path.strip("/")
    base = repository.rstrip("/").rsplit("/", 1)[-1] or "source"
    readable = re.sub(r"[^a-z0-9]+", "-", f"{base}-{path}".lower()).strip("-")[:40].strip("-")
    digest = hashlib.sha256(f"{repository}#{path}".encode()).hexdigest()[:8]
    return f"gitops-{readable}-{digest}"


def github_repository(env: Mapping[str, str]) -> str:
    """``github.com/org/repo`` from a GitHub Actions run's ``$GITHUB_REPOSITORY`` (and ``$GITHUB_SERVER_URL``
    for GitHub Enterprise); ``""`` outside Actions."""
    name = env.get("GITHUB_REPOSITORY", "")
    if not name:
        return ""
    server = env.get("GITHUB_SERVER_URL") or "https://github.com"
    return repository_identity(f"{server.rstrip('/')}/{name}")


def parse_group_kind(text: str) -> tuple[str, str]:
    """``Deployment.apps`` -> ``("apps", "Deployment")``."""
    kind, _, group = text.strip().partition(".")
    return group, kind


def _split(value: str | None) -> set[str]:
    return {item.strip() for item in (value or "").split(",") if item.strip()}


@dataclass
class ApplySet:
    """An ApplySet parent as found in the cluster (or about to be created)."""

    name: str
    namespace: str
    exists: bool = False
    group_kinds: set[str] = field(default_factory=set)
    """Group-kinds the parent says its members may have (``contains-group-kinds``)."""
    namespaces: set[str] = field(default_factory=set)
    """Namespaces members may live in: the parent's plus ``additional-namespaces``."""

    @property
    def id(self) -> str:
        return applyset_id(self.name, self.namespace)

    @property
    def parent_ref(self) -> ObjectRef:
        return ObjectRef(group=PARENT_GROUP, kind=PARENT_KIND, namespace=self.namespace, name=self.name, version="v1")

    def parent_body(self, group_kinds: Iterable[str], namespaces: Iterable[str]) -> dict[str, Any]:
        """The parent to apply, recording these group-kinds and namespaces."""
        extra = sorted(set(namespaces) - {self.namespace, ""})
        annotations = {
            TOOLING_ANNOTATION: TOOLING,
            GROUP_KINDS_ANNOTATION: ",".join(sorted(set(group_kinds))),
            ADDITIONAL_NAMESPACES_ANNOTATION: ",".join(extra),  # kubectl writes it even when empty
        }
        return {
            "apiVersion": "v1",
            "kind": PARENT_KIND,
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {ID_LABEL: self.id},
                "annotations": annotations,
            },
        }


def from_parent(name: str, namespace: str, parent: dict[str, Any] | None) -> ApplySet:
    """Validate an existing parent (or none) and read its member kinds and namespaces.

    Raises SafetyError when the object belongs to another tool or is no ApplySet parent of this id.
    Pure.
    """
    applyset = ApplySet(name=name, namespace=namespace)
    if parent is None:
        return applyset
    metadata = parent.get("metadata") or {}
    labels = metadata.get("labels") or {}
    annotations = metadata.get("annotations") or {}
    where = f"ApplySet parent {applyset.parent_ref}"
    tooling = annotations.get(TOOLING_ANNOTATION)
    if tooling is None:
        raise SafetyError(f"{where} exists but is no ApplySet (no {TOOLING_ANNOTATION} annotation); refusing to adopt it")
    tool = tooling.rpartition("/")[0] if "/" in tooling else tooling
    if tool != TOOL_NAME:
        raise SafetyError(f"{where} belongs to another tool ({tooling}); refusing to change it")
    if labels.get(ID_LABEL) != applyset.id:
        raise SafetyError(f"{where} has label {ID_LABEL}={labels.get(ID_LABEL)!r}, expected {applyset.id!r}")
    applyset.exists = True
    applyset.group_kinds = _split(annotations.get(GROUP_KINDS_ANNOTATION))
    applyset.namespaces = _split(annotations.get(ADDITIONAL_NAMESPACES_ANNOTATION)) | {namespace}
    return applyset


def read(cluster: Cluster, name: str, namespace: str) -> ApplySet:
    """The set as its parent records it. Raises ApiError when the parent cannot be read: without it
    nothing can be told apart as ours, so nothing is planned."""
    ref = ApplySet(name=name, namespace=namespace).parent_ref
    try:
        parent = cluster.get(ref)
    except ApiError as err:
        raise ApiError(
            f"cannot read the ApplySet parent, which records what this set owns: {err.detail}",
            status=err.status, reason=err.reason, ref=err.ref, causes=err.causes,
        ) from err
    return from_parent(name, namespace, parent)


def members(
    cluster: Cluster, applyset: ApplySet, listed: Mapping[tuple[str, str, str], list[dict[str, Any]]] | None = None,
    field_manager: str | None = None,
) -> list[dict[str, Any]]:
    """Every live object labelled part of the set, over its recorded group-kinds and namespaces.

    Kinds the cluster no longer serves (a deleted CRD) have no members left to prune. ``listed``:
    complete, unfiltered lists the caller already made, by ``(group, kind, namespace)``; those are
    filtered here instead of being listed again. With ``field_manager``, only objects applied through
    it are members: controllers copy labels onto objects they make (the endpoints controller gives a
    Service's Endpoints the Service's labels, ``part-of`` included), and such a copy is not ours to prune.
    """
    from gitops.cluster import UnknownKind

    if not applyset.exists:
        return []
    selector = f"{PART_OF_LABEL}={applyset.id}"
    queries: list[tuple[Any, str]] = []
    for text in sorted(applyset.group_kinds):
        group, kind = parse_group_kind(text)
        try:
            resource = cluster.resource_for_group_kind(group, kind)
        except UnknownKind:
            continue
        if resource.namespaced:
            queries.extend((resource, namespace) for namespace in sorted(applyset.namespaces))
        else:
            queries.append((resource, ""))
    listed = listed or {}
    known = [listed.get((resource.group, resource.kind, namespace)) for resource, namespace in queries]
    missing = [query for query, page in zip(queries, known, strict=True) if page is None]
    fetched = iter(cluster.map(
        lambda query: cluster.list(query[0], namespace=query[1], label_selector=selector), missing
    ))
    found: list[dict[str, Any]] = []
    for page in known:
        if page is None:
            found.extend(next(fetched))
        else:
            found.extend(obj for obj in page
                         if ((obj.get("metadata") or {}).get("labels") or {}).get(PART_OF_LABEL) == applyset.id)
    return found if field_manager is None else [obj for obj in found if written_by(obj, field_manager)]


PARENT_CRD_LABEL = "applyset.kubernetes.io/is-parent-type"
"""On a CustomResourceDefinition: its custom resources may be ApplySet parents (kubectl's ``ApplysetParentCRDLabel``)."""


def find_parents(cluster: Cluster, ids: Iterable[str]) -> dict[str, str]:
    """Other ApplySets' ids -> their parent (``Secret team-a/inventory``), for naming them in conflicts.

    Best effort and metadata only (``PartialObjectMetadataList``: no Secret's data is read): ConfigMaps
    (gitops), then Secrets (kubectl's default), then custom resources whose CRD is labelled
    ``applyset.kubernetes.io/is-parent-type``, each listed cluster-wide by the ``applyset.kubernetes.io/id``
    label. A kind that cannot be listed (RBAC) is passed over. A candidate counts only when the id is
    the hash of its own name, namespace, kind and group, so no object can pose as another set's parent.
    An id whose parent is not found stays unnamed.
    """
    from gitops.cluster import UnknownKind

    wanted = set(ids)
    found: dict[str, str] = {}

    def candidates() -> Iterable[Any]:
        yield cluster.resource("v1", "ConfigMap")
        yield cluster.resource("v1", "Secret")
        crds = cluster.resource_for_group_kind("apiextensions.k8s.io", "CustomResourceDefinition")
        for crd in cluster.list(crds, label_selector=PARENT_CRD_LABEL):
            spec = crd.get("spec") or {}
            try:
                yield cluster.resource_for_group_kind(str(spec.get("group") or ""), str((spec.get("names") or {}).get("kind") or ""))
            except UnknownKind:
                continue

    try:
        for resource in candidates():
            missing = sorted(wanted - found.keys())
            if not missing:
                break
            try:
                parents = cluster.list_metadata(resource, label_selector=f"{ID_LABEL} in ({','.join(missing)})")
            except ApiError:
                continue
            for parent in parents:
                ref = ObjectRef.from_object(parent)
                claimed = str(((parent.get("metadata") or {}).get("labels") or {}).get(ID_LABEL) or "")
                if claimed in wanted and claimed == applyset_id(ref.name, ref.namespace, ref.kind, ref.group):
                    where = f"{ref.namespace}/{ref.name}" if ref.namespace else ref.name
                    found[claimed] = f"{ref.group_kind} {where}"
    except (ApiError, UnknownKind):
        pass  # the CustomResourceDefinitions cannot be listed: what was found so far stands
    return found


def write_parent(
    cluster: Cluster, applyset: ApplySet, group_kinds: Iterable[str], namespaces: Iterable[str], field_manager: str
) -> None:
    """Create or update the parent (server-side apply, forced: the parent is ours alone)."""
    body = applyset.parent_body(group_kinds, namespaces)
    try:
        cluster.apply(body, field_manager=field_manager, force=True)
    except ApiError as err:
        raise ApiError(
            f"cannot record the ApplySet: {err.detail}", status=err.status, reason=err.reason, ref=err.ref,
            causes=err.causes,
        ) from err
    applyset.exists = True
    applyset.group_kinds = set(group_kinds)
    applyset.namespaces = set(namespaces) | {applyset.namespace}
