"""The resource types the sandbox serves and how discovery describes them.

Pure: no I/O. Names, short names, verbs and subresources are those a real
Kubernetes 1.28 API server reports (``kubectl api-resources``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SUBRESOURCE_VERBS = ("get", "patch", "update")
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


@dataclass(frozen=True)
class ResourceType:
    """One served resource (``deployments`` in ``apps/v1``)."""

    group: str
    version: str
    name: str
    """Plural resource name used in URLs."""
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    """Subresources the sandbox serves (``status``, ``scale``)."""
    listed_subresources: tuple[tuple[str, str], ...] = ()
    """Other subresources discovery lists but the sandbox does not serve: (name, kind)."""
    categories: tuple[str, ...] = ()
    generation: bool = False
    """Whether ``metadata.generation`` is maintained (only for types whose spec it tracks)."""
    return_deleted: bool = False
    """Whether DELETE answers with the object instead of a Success Status."""
    field_selectors: tuple[str, ...] = ()
    """Field labels accepted by ``fieldSelector`` besides metadata.name/namespace."""
    custom: bool = False
    """Served from a CustomResourceDefinition."""
    schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    """The CRD version's openAPIV3Schema (custom resources only)."""
    list_kind: str = ""
    singular: str = ""
    storage_version: str = ""
    """For custom resources: the version objects are stored in."""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """``deployments.apps`` as error messages name it (``configmaps`` for the core group)."""
        return f"{self.name}.{self.group}" if self.group else self.name

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()

    @property
    def list_kind_name(self) -> str:
        return self.list_kind or f"{self.kind}List"

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def discovery(self) -> list[dict[str, Any]]:
        """The APIResource entries for this type and its subresources."""
        entry: dict[str, Any] = {
            "name": self.name,
            "singularName": self.singular_name,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        entries = [entry]
        subresources: list[tuple[str, dict[str, Any]]] = []
        for sub in self.subresources:
            if sub == "scale":
                subresources.append(
                    (
                        sub,
                        {
                            "group": "autoscaling",
                            "version": "v1",
                            "kind": "Scale",
                            "verbs": list(SUBRESOURCE_VERBS),
                        },
                    )
                )
            else:
                subresources.append((sub, {"kind": self.kind, "verbs": list(SUBRESOURCE_VERBS)}))
        for sub, kind in self.listed_subresources:
            verbs = ["update"] if sub == "finalize" else ["create"] if kind != self.kind else ["get"]
            subresources.append((sub, {"kind": kind, "verbs": verbs}))
        for sub, extra in sorted(subresources):
            entries.append(
                {"name": f"{self.name}/{sub}", "singularName": "", "namespaced": self.namespaced, **extra}
            )
        return entries


def _core(name: str, kind: str, namespaced: bool = True, **kwargs: Any) -> ResourceType:
    return ResourceType("", "v1", name, kind, namespaced, **kwargs)


_POD_FIELDS = (
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
)
_EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)

BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _core("configmaps", "ConfigMap", short_names=("cm",)),
    _core("endpoints", "Endpoints", short_names=("ep",)),
    _core("events", "Event", short_names=("ev",), field_selectors=_EVENT_FIELDS),
    _core("limitranges", "LimitRange", short_names=("limits",)),
    _core(
        "namespaces",
        "Namespace",
        namespaced=False,
        short_names=("ns",),
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
        subresources=("status",),
        listed_subresources=(("finalize", "Namespace"),),
        return_deleted=True,
        field_selectors=("status.phase",),
    ),
    _core(
        "nodes",
        "Node",
        namespaced=False,
        short_names=("no",),
        subresources=("status",),
        listed_subresources=(("proxy", "NodeProxyOptions"),),
    ),
    _core(
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        short_names=("pvc",),
        subresources=("status",),
        return_deleted=True,
    ),
    _core(
        "persistentvolumes",
        "PersistentVolume",
        namespaced=False,
        short_names=("pv",),
        subresources=("status",),
        return_deleted=True,
    ),
    _core(
        "pods",
        "Pod",
        short_names=("po",),
        categories=("all",),
        subresources=("status",),
        listed_subresources=(
            ("attach", "PodAttachOptions"),
            ("binding", "Binding"),
            ("ephemeralcontainers", "Pod"),
            ("eviction", "Eviction"),
            ("exec", "PodExecOptions"),
            ("log", "Pod"),
            ("portforward", "PodPortForwardOptions"),
            ("proxy", "PodProxyOptions"),
        ),
        return_deleted=True,
        field_selectors=_POD_FIELDS,
    ),
    _core("podtemplates", "PodTemplate"),
    _core(
        "replicationcontrollers",
        "ReplicationController",
        short_names=("rc",),
        categories=("all",),
        subresources=("scale", "status"),
        generation=True,
    ),
    _core("resourcequotas", "ResourceQuota", short_names=("quota",), subresources=("status",)),
    _core("secrets", "Secret", field_selectors=("type",)),
    _core(
        "serviceaccounts",
        "ServiceAccount",
        short_names=("sa",),
        listed_subresources=(("token", "TokenRequest"),),
        return_deleted=True,
    ),
    _core(
        "services",
        "Service",
        short_names=("svc",),
        categories=("all",),
        subresources=("status",),
        listed_subresources=(("proxy", "ServiceProxyOptions"),),
        return_deleted=True,
    ),
    ResourceType(
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        False,
        categories=("api-extensions",),
        generation=True,
    ),
    ResourceType(
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        False,
        categories=("api-extensions",),
        generation=True,
    ),
    ResourceType(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        short_names=("crd", "crds"),
        categories=("api-extensions",),
        subresources=("status",),
        generation=True,
        return_deleted=True,
    ),
    ResourceType("apps", "v1", "controllerrevisions", "ControllerRevision", True),
    ResourceType(
        "apps",
        "v1",
        "daemonsets",
        "DaemonSet",
        True,
        short_names=("ds",),
        categories=("all",),
        subresources=("status",),
        generation=True,
    ),
    ResourceType(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        True,
        short_names=("deploy",),
        categories=("all",),
        subresources=("scale", "status"),
        generation=True,
    ),
    ResourceType(
        "apps",
        "v1",
        "replicasets",
        "ReplicaSet",
        True,
        short_names=("rs",),
        categories=("all",),
        subresources=("scale", "status"),
        generation=True,
    ),
    ResourceType(
        "apps",
        "v1",
        "statefulsets",
        "StatefulSet",
        True,
        short_names=("sts",),
        categories=("all",),
        subresources=("scale", "status"),
        generation=True,
    ),
    ResourceType(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        True,
        short_names=("hpa",),
        categories=("all",),
        subresources=("status",),
    ),
    ResourceType(
        "batch",
        "v1",
        "cronjobs",
        "CronJob",
        True,
        short_names=("cj",),
        categories=("all",),
        subresources=("status",),
        generation=True,
    ),
    ResourceType(
        "batch",
        "v1",
        "jobs",
        "Job",
        True,
        categories=("all",),
        subresources=("status",),
        generation=True,
        field_selectors=("status.successful",),
    ),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True),
    ResourceType("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    ResourceType("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False),
    ResourceType(
        "networking.k8s.io",
        "v1",
        "ingresses",
        "Ingress",
        True,
        short_names=("ing",),
        subresources=("status",),
        generation=True,
    ),
    ResourceType(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
        True,
        short_names=("netpol",),
        generation=True,
    ),
    ResourceType(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        True,
        short_names=("pdb",),
        subresources=("status",),
        generation=True,
    ),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    ResourceType("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    ResourceType("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, short_names=("pc",)),
    ResourceType(
        "storage.k8s.io",
        "v1",
        "storageclasses",
        "StorageClass",
        False,
        short_names=("sc",),
        return_deleted=True,
    ),
)

# Group order as a real server lists it in /apis (legacy groups first, then the rest).
BUILTIN_GROUP_ORDER: tuple[str, ...] = (
    "apiregistration.k8s.io",
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "node.k8s.io",
    "discovery.k8s.io",
    "flowcontrol.apiserver.k8s.io",
)


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key putting versions in Kubernetes order: v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > other."""
    import re

    match = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not match:
        return (3, 0, 0, version)
    major, stage, minor = int(match[1]), match[2], int(match[3] or 0)
    rank = 0 if stage is None else 1 if stage == "beta" else 2
    return (rank, -major, -minor, "")
