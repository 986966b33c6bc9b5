"""The few controllers a bare API server relies on, run in one background thread:

- CRDs: names accepted and Established; their custom resources served; deleting a CRD removes its objects.
- Namespaces: the ``default`` ServiceAccount and ``kube-root-ca.crt`` ConfigMap in each new namespace;
  deleting a namespace deletes what it contains, then the namespace.
- Garbage collection by ownerReferences: background, foreground (``foregroundDeletion``) and ``orphan``.
- Simulated workload controllers (on unless ``simulate_workloads=False``): no pods ever run, but shortly
  after a Deployment, ReplicaSet, StatefulSet or DaemonSet is created or its generation moves, and after
  a Job is created, the status reads as kube-controller-manager writes it once the rollout completed
  (see workloads.py). The write is an Update of the status subresource by manager
  ``kube-controller-manager``: it moves the resourceVersion and sends a MODIFIED watch event. Only
  objects named by the store's change feed are looked at. PersistentVolumeClaims stay Pending (no
  provisioner) and LoadBalancer Services get no ingress, as on kind without a load-balancer.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import Any

from gitops.sandbox.api import NAMESPACE_RESOURCE, Api, Request, now
from gitops.sandbox.crd import CLEANUP_FINALIZER, CRD_RESOURCE, crd_status
from gitops.sandbox.status import ApiStatus
from gitops.sandbox.store import Event, GroupResource, TooOld, copy_object
from gitops.sandbox.workloads import STATUS_WRITERS, status_for

log = logging.getLogger(__name__)

ROOT_CA = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhnaXRvcHMt\n"
    "c2FuZGJveC1jYUAxNzAwMDAwMDAwMB4XDTI0MDEwMTAwMDAwMFoXDTM0MDEwMTAw\n"
    "-----END CERTIFICATE-----\n"
)
GC_FINALIZERS = ("foregroundDeletion", "orphan")
CONTROLLER_USER_AGENT = (
    "kube-controller-manager/v1.28.7 (linux/amd64) kubernetes/c8dcb00/system:serviceaccount:kube-system:"
)
"""The controllers' user agent; the field manager is its first part, ``kube-controller-manager``."""


class Controllers:
    def __init__(self, api: Api, *, simulate_workloads: bool = True) -> None:
        self.api = api
        self.simulate_workloads = simulate_workloads
        self.store = api.store
        self.registry = api.registry
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.reconcile_crds()
        self._thread = threading.Thread(target=self._run, name="sandbox-controllers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self.store.lock:
            self.store.changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        cursor = self.store.resource_version
        self._resync()
        while not self._stop.is_set():
            self.store.wait_for_change(cursor, 0.5)
            if self._stop.is_set():
                return
            try:
                events = self.store.all_events_after(cursor)
                cursor = events[-1].resource_version if events else cursor
                self._handle(events)
            except TooOld:
                cursor = self.store.resource_version
                self._resync()
            except Exception:  # a controller bug must not kill the server
                log.exception("sandbox controller failed")

    def _resync(self) -> None:
        try:
            self.reconcile_crds()
            namespaces, _ = self.store.list(NAMESPACE_RESOURCE)
            for ns in namespaces:
                self._populate_namespace(ns["metadata"]["name"])
            self._terminate_namespaces()
            self._collect_garbage(set())
            if self.simulate_workloads:
                for resource in STATUS_WRITERS:
                    objects, _ = self.store.list(resource)
                    self._write_workload_status(resource, objects)
        except Exception:
            log.exception("sandbox controller resync failed")

    def _handle(self, events: list[Event]) -> None:
        resources = {e.resource for e in events}
        if CRD_RESOURCE in resources:
            self.reconcile_crds()
        if self.simulate_workloads:
            for resource in STATUS_WRITERS:
                changed = [e.obj for e in events if e.resource == resource and e.type != "DELETED"]
                if changed:
                    self._write_workload_status(resource, changed)
        for event in events:
            if event.resource == NAMESPACE_RESOURCE and event.type == "ADDED":
                self._populate_namespace(event.obj["metadata"]["name"])
        if NAMESPACE_RESOURCE in resources or any(e.obj["metadata"].get("namespace") for e in events):
            self._terminate_namespaces()
        deleted = {str(e.obj["metadata"].get("uid")) for e in events if e.type == "DELETED"}
        marked = any(
            set(e.obj["metadata"].get("finalizers") or ()) & set(GC_FINALIZERS)
            for e in events
            if e.obj["metadata"].get("deletionTimestamp")
        )
        if deleted or marked:
            self._collect_garbage(deleted)

    # simulated workload controllers

    def _write_workload_status(self, resource: GroupResource, objects: list[dict[str, Any]]) -> None:
        """Write the completed-rollout status of each object that needs one, as its controller would."""
        rt = self.registry.storage_type(*resource)
        if rt is None:
            return
        seen: set[tuple[str, str]] = set()
        for obj in objects:
            namespace, name = obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
            if (namespace, name) in seen:
                continue
            seen.add((namespace, name))
            current = self.store.get(resource, namespace, name)
            status = status_for(resource, current, now()) if current is not None else None
            if current is None or status is None:
                continue
            body = {**current, "status": status}
            controller = f"{rt.kind.lower()}-controller"
            request = Request(
                "update",
                rt,
                namespace,
                name,
                "status",
                body=json.dumps(body).encode(),
                content_type="application/json",
                user_agent=CONTROLLER_USER_AGENT + controller,
            )
            try:
                self.api.update(request)
            except ApiStatus as err:
                # A conflict means a newer write, whose own event brings the object back here.
                log.debug("simulated %s status of %s/%s not written: %s", rt.kind, namespace, name, err)

    # CRDs

    def reconcile_crds(self) -> None:
        crds, _ = self.store.list(CRD_RESOURCE)
        for crd in crds:
            if crd["metadata"].get("deletionTimestamp"):
                self._finalize_crd(crd)
                continue
            status = crd_status(crd, crds, now())
            if status != crd.get("status"):
                self._put_if_unchanged(CRD_RESOURCE, crd, {**crd, "status": status})
        crds, _ = self.store.list(CRD_RESOURCE)
        self.registry.refresh(crds)

    def _finalize_crd(self, crd: dict[str, Any]) -> None:
        spec = crd.get("spec") or {}
        resource = (str(spec.get("group")), str((spec.get("names") or {}).get("plural")))
        remaining, _ = self.store.list(resource)
        rt = self.registry.storage_type(*resource)
        for obj in remaining:
            if rt is not None and not obj["metadata"].get("deletionTimestamp"):
                self.api.delete_object(rt, obj)
        remaining, _ = self.store.list(resource)
        if not remaining:
            finalizers = [f for f in crd["metadata"].get("finalizers") or [] if f != CLEANUP_FINALIZER]
            self._set_finalizers(CRD_RESOURCE, crd, finalizers)

    # namespaces

    def _populate_namespace(self, namespace: str) -> None:
        for resource, obj in (
            (
                ("", "serviceaccounts"),
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}},
            ),
            (
                ("", "configmaps"),
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {
                        "name": "kube-root-ca.crt",
                        "annotations": {
                            "kubernetes.io/description": (
                                "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
                                "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
                                "distributions of Kubernetes clusters."
                            )
                        },
                    },
                    "data": {"ca.crt": ROOT_CA},
                },
            ),
        ):
            with self.store.lock:
                ns = self.store.get(NAMESPACE_RESOURCE, "", namespace)
                if ns is None or ns["metadata"].get("deletionTimestamp"):
                    return
                if self.store.get(resource, namespace, obj["metadata"]["name"]) is None:
                    obj["metadata"].update(
                        namespace=namespace, uid=str(uuid.uuid4()), creationTimestamp=now()
                    )
                    self.store.put(resource, obj)

    def _terminate_namespaces(self) -> None:
        namespaces, _ = self.store.list(NAMESPACE_RESOURCE)
        for ns in namespaces:
            if not ns["metadata"].get("deletionTimestamp"):
                continue
            name = ns["metadata"]["name"]
            for resource, obj in list(self.store.objects_in(name)):
                rt = self.registry.storage_type(*resource)
                if rt is not None and not obj["metadata"].get("deletionTimestamp"):
                    self.api.delete_object(rt, obj)
            if self.store.namespace_is_empty(name):
                with self.store.lock:
                    current = self.store.get(NAMESPACE_RESOURCE, "", name)
                    if current is not None and not current["metadata"].get("finalizers"):
                        self.store.remove(NAMESPACE_RESOURCE, current)

    # garbage collection

    def _collect_garbage(self, deleted: set[str]) -> None:
        objects = self.store.all_objects()
        uids = {str(obj["metadata"].get("uid")) for _, obj in objects}
        dependents: dict[str, list[tuple[GroupResource, dict[str, Any]]]] = {}
        for resource, obj in objects:
            for ref in obj["metadata"].get("ownerReferences") or []:
                dependents.setdefault(str(ref.get("uid")), []).append((resource, obj))
        for resource, obj in objects:
            metadata = obj["metadata"]
            owners = [str(r.get("uid")) for r in metadata.get("ownerReferences") or []]
            if owners and not metadata.get("deletionTimestamp") and not any(o in uids for o in owners):
                rt = self.registry.storage_type(*resource)
                if rt is not None and (deleted & set(owners) or not deleted):
                    self.api.delete_object(rt, obj)
        for resource, obj in objects:
            metadata = obj["metadata"]
            if not metadata.get("deletionTimestamp"):
                continue
            finalizers = list(metadata.get("finalizers") or [])
            uid = str(metadata.get("uid"))
            if "orphan" in finalizers:
                for dep_resource, dep in dependents.get(uid, []):
                    refs = [
                        r for r in dep["metadata"].get("ownerReferences") or [] if str(r.get("uid")) != uid
                    ]
                    changed = copy_object(dep)
                    changed["metadata"]["ownerReferences"] = refs
                    if not refs:
                        changed["metadata"].pop("ownerReferences")
                    self._put_if_unchanged(dep_resource, dep, changed)
                self._set_finalizers(resource, obj, [f for f in finalizers if f != "orphan"])
            elif "foregroundDeletion" in finalizers:
                waiting = False
                for dep_resource, dep in dependents.get(uid, []):
                    waiting = True
                    rt = self.registry.storage_type(*dep_resource)
                    if rt is not None and not dep["metadata"].get("deletionTimestamp"):
                        self.api.delete_object(rt, dep, {"propagationPolicy": "Foreground"})
                if not waiting:
                    self._set_finalizers(resource, obj, [f for f in finalizers if f != "foregroundDeletion"])

    # writes

    def _put_if_unchanged(self, resource: GroupResource, old: dict[str, Any], new: dict[str, Any]) -> None:
        with self.store.lock:
            metadata = old["metadata"]
            current = self.store.get(resource, metadata.get("namespace", ""), metadata["name"])
            if current is not None and current["metadata"]["resourceVersion"] == metadata["resourceVersion"]:
                self.store.put(resource, copy_object(new))

    def _set_finalizers(self, resource: GroupResource, obj: dict[str, Any], finalizers: list[str]) -> None:
        with self.store.lock:
            metadata = obj["metadata"]
            current = self.store.get(resource, metadata.get("namespace", ""), metadata["name"])
            if current is None or current["metadata"]["resourceVersion"] != metadata["resourceVersion"]:
                return
            if finalizers:
                changed = copy_object(current)
                changed["metadata"]["finalizers"] = finalizers
                self.store.put(resource, changed)
            else:
                self.store.remove(resource, current)
