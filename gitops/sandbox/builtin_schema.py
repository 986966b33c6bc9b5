"""Merge types of the built-in Kubernetes kinds, and of custom resources from their CRD schema.

Pure. Only what changes how server-side apply merges and tracks fields is spelled out: associative lists
(``+listType=map`` / ``+listMapKey``, or ``patchStrategy=merge`` with ``patchMergeKey`` where no list type is
given), sets, atomic structs (``+structType=atomic``) and atomic maps (``+mapType=atomic``), and maps of
arbitrary keys (labels, data, resource lists). Every other field is a granular struct field; lists not named
here are atomic, as upstream's default. Sources: k8s.io/api/*/v1/types.go markers, as served in the
OpenAPI ``x-kubernetes-list-type``/``x-kubernetes-list-map-keys``/``x-kubernetes-map-type`` extensions.
"""

from __future__ import annotations

from typing import Any

from gitops.sandbox.typed import DEDUCED, SCALAR, ListType, MapType, Node


def struct(**fields: Node) -> MapType:
    return MapType(fields=fields, lenient=True)


def atomic_struct() -> MapType:
    return MapType(atomic=True)


def string_map() -> MapType:
    return MapType(element=SCALAR)


def atomic_map() -> MapType:
    return MapType(element=SCALAR, atomic=True)


def keyed(element: Node, *keys: str, **key_defaults: Any) -> ListType:
    return ListType(element=element, list_type="map", keys=keys, key_defaults=tuple(key_defaults.items()))


def string_set() -> ListType:
    return ListType(element=SCALAR, list_type="set")


def atomic_list() -> ListType:
    return ListType(element=DEDUCED)


CONDITIONS = keyed(struct(), "type")
LABEL_SELECTOR = atomic_struct()
RESOURCE_LIST = string_map()

OBJECT_META = struct(
    labels=string_map(),
    annotations=string_map(),
    finalizers=string_set(),
    ownerReferences=keyed(struct(), "uid"),
    managedFields=atomic_list(),
)

RESOURCE_REQUIREMENTS = struct(limits=RESOURCE_LIST, requests=RESOURCE_LIST, claims=keyed(struct(), "name"))

CONTAINER = struct(
    ports=keyed(struct(), "containerPort", "protocol", protocol="TCP"),
    env=keyed(struct(), "name"),
    volumeMounts=keyed(struct(), "mountPath"),
    volumeDevices=keyed(struct(), "devicePath"),
    resources=RESOURCE_REQUIREMENTS,
    resizePolicy=atomic_list(),
)

VOLUME = struct(
    ephemeral=struct(volumeClaimTemplate=struct(metadata=OBJECT_META, spec=struct(selector=LABEL_SELECTOR))),
)

POD_SPEC = struct(
    volumes=keyed(VOLUME, "name"),
    initContainers=keyed(CONTAINER, "name"),
    containers=keyed(CONTAINER, "name"),
    ephemeralContainers=keyed(CONTAINER, "name"),
    imagePullSecrets=keyed(struct(), "name"),
    nodeSelector=atomic_map(),
    hostAliases=keyed(struct(), "ip"),
    topologySpreadConstraints=keyed(struct(labelSelector=LABEL_SELECTOR), "topologyKey", "whenUnsatisfiable"),
    schedulingGates=keyed(struct(), "name"),
    resourceClaims=keyed(struct(), "name"),
    overhead=RESOURCE_LIST,
    resources=RESOURCE_REQUIREMENTS,
)

POD_TEMPLATE = struct(metadata=OBJECT_META, spec=POD_SPEC)

PVC_SPEC = struct(selector=LABEL_SELECTOR, resources=struct(limits=RESOURCE_LIST, requests=RESOURCE_LIST))
PVC = struct(
    metadata=OBJECT_META, spec=PVC_SPEC, status=struct(conditions=CONDITIONS, capacity=RESOURCE_LIST)
)

WORKLOAD_STATUS = struct(conditions=CONDITIONS)

JOB_SPEC = struct(selector=LABEL_SELECTOR, template=POD_TEMPLATE)


def _kind(spec: Node | None = None, status: Node | None = None, **extra: Node) -> MapType:
    fields: dict[str, Node] = {"metadata": OBJECT_META, **extra}
    if spec is not None:
        fields["spec"] = spec
    if status is not None:
        fields["status"] = status
    return MapType(fields=fields, lenient=True)


BUILTIN_TYPES: dict[tuple[str, str], MapType] = {
    ("", "Namespace"): _kind(struct(), struct(conditions=CONDITIONS)),
    ("", "ConfigMap"): _kind(data=string_map(), binaryData=string_map()),
    ("", "Secret"): _kind(data=string_map(), stringData=string_map()),
    ("", "ServiceAccount"): _kind(secrets=keyed(struct(), "name")),
    ("", "Service"): _kind(
        struct(ports=keyed(struct(), "port", "protocol", protocol="TCP"), selector=atomic_map()),
        struct(conditions=CONDITIONS),
    ),
    ("", "Pod"): _kind(POD_SPEC, struct(conditions=CONDITIONS)),
    ("", "PersistentVolumeClaim"): PVC,
    ("", "Event"): _kind(),
    ("apps", "Deployment"): _kind(struct(selector=LABEL_SELECTOR, template=POD_TEMPLATE), WORKLOAD_STATUS),
    ("apps", "ReplicaSet"): _kind(struct(selector=LABEL_SELECTOR, template=POD_TEMPLATE), WORKLOAD_STATUS),
    ("apps", "DaemonSet"): _kind(struct(selector=LABEL_SELECTOR, template=POD_TEMPLATE), WORKLOAD_STATUS),
    ("apps", "StatefulSet"): _kind(
        struct(selector=LABEL_SELECTOR, template=POD_TEMPLATE, volumeClaimTemplates=atomic_list()),
        WORKLOAD_STATUS,
    ),
    ("batch", "Job"): _kind(JOB_SPEC, struct()),
    ("batch", "CronJob"): _kind(struct(jobTemplate=struct(metadata=OBJECT_META, spec=JOB_SPEC)), struct()),
    ("networking.k8s.io", "Ingress"): _kind(struct(), struct()),
    ("networking.k8s.io", "NetworkPolicy"): _kind(struct(podSelector=LABEL_SELECTOR)),
    ("rbac.authorization.k8s.io", "Role"): _kind(),
    ("rbac.authorization.k8s.io", "ClusterRole"): _kind(),
    ("rbac.authorization.k8s.io", "RoleBinding"): _kind(),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _kind(),
    ("autoscaling", "HorizontalPodAutoscaler"): _kind(struct(), struct(conditions=CONDITIONS)),
    ("policy", "PodDisruptionBudget"): _kind(
        struct(selector=LABEL_SELECTOR), struct(conditions=CONDITIONS, disruptedPods=string_map())
    ),
    ("coordination.k8s.io", "Lease"): _kind(struct()),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _kind(struct(), struct(conditions=CONDITIONS)),
}

STATUS_SUBRESOURCE_KINDS = frozenset(
    {
        ("", "Namespace"),
        ("", "Service"),
        ("", "Pod"),
        ("", "PersistentVolumeClaim"),
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "DaemonSet"),
        ("apps", "StatefulSet"),
        ("batch", "Job"),
        ("batch", "CronJob"),
        ("networking.k8s.io", "Ingress"),
        ("autoscaling", "HorizontalPodAutoscaler"),
        ("policy", "PodDisruptionBudget"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
    }
)

UNKNOWN_KIND = MapType(fields={"metadata": OBJECT_META}, element=DEDUCED)


def type_for(group: str, kind: str, schema: dict[str, Any] | None = None) -> MapType:
    """The merge type of an object: from its CRD schema, the built-in table, or deduced from the value."""
    if schema is not None:
        root = from_openapi(schema)
        fields = dict(root.fields) if isinstance(root, MapType) else {}
        fields.setdefault("apiVersion", SCALAR)
        fields.setdefault("kind", SCALAR)
        fields["metadata"] = OBJECT_META
        element = root.element if isinstance(root, MapType) else None
        return MapType(fields=fields, element=element)
    return BUILTIN_TYPES.get((group, kind), UNKNOWN_KIND)


def from_openapi(schema: dict[str, Any]) -> Node:
    """Convert a structural openAPIV3Schema to a merge type (as kube-openapi's schemaconv does).

    Lists are atomic unless ``x-kubernetes-list-type`` says ``set`` or ``map``; maps and objects are granular
    unless ``x-kubernetes-map-type: atomic``; ``x-kubernetes-preserve-unknown-fields`` and
    ``x-kubernetes-int-or-string`` fall back to deduced types.
    """
    if schema.get("x-kubernetes-int-or-string"):
        return SCALAR
    schema_type = schema.get("type")
    if schema_type == "array":
        items = schema.get("items")
        element = from_openapi(items) if isinstance(items, dict) else DEDUCED
        list_type = schema.get("x-kubernetes-list-type", "atomic")
        if list_type == "map":
            return ListType(
                element=element, list_type="map", keys=tuple(schema.get("x-kubernetes-list-map-keys", ()))
            )
        if list_type == "set":
            return ListType(element=element, list_type="set")
        return ListType(element=element)
    if schema_type == "object" or "properties" in schema or "additionalProperties" in schema:
        atomic = schema.get("x-kubernetes-map-type") == "atomic"
        fields = {name: from_openapi(sub) for name, sub in (schema.get("properties") or {}).items()}
        if schema.get("x-kubernetes-embedded-resource"):
            fields.setdefault("apiVersion", SCALAR)
            fields.setdefault("kind", SCALAR)
            fields.setdefault("metadata", OBJECT_META)
        additional = schema.get("additionalProperties")
        element: Node | None = None
        if isinstance(additional, dict):
            element = from_openapi(additional)
        elif additional is True or schema.get("x-kubernetes-preserve-unknown-fields"):
            element = DEDUCED
        if not fields and element is None:
            element = DEDUCED
        return MapType(fields=fields, element=element, atomic=atomic)
    if schema_type is None and schema.get("x-kubernetes-preserve-unknown-fields"):
        return DEDUCED
    return SCALAR
