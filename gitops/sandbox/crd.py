"""CustomResourceDefinitions: which resources a CRD serves, its defaults, validation and conditions,
and the registry of every served type (built-in and custom).

Pure: no I/O.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from gitops.sandbox.resources import BUILTIN_GROUP_ORDER, BUILTIN_TYPES, ResourceType, version_priority

CRD_GROUP = "apiextensions.k8s.io"
CRD_RESOURCE = (CRD_GROUP, "customresourcedefinitions")
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


def _condition(kind: str, status: str, reason: str, message: str, now: str) -> dict[str, str]:
    return {"type": kind, "status": status, "lastTransitionTime": now, "reason": reason, "message": message}


def accepted_names(crd: dict[str, Any]) -> dict[str, Any]:
    names = dict((crd.get("spec") or {}).get("names") or {})
    kind = str(names.get("kind", ""))
    names.setdefault("singular", kind.lower())
    names.setdefault("listKind", f"{kind}List")
    return names


def storage_version(crd: dict[str, Any]) -> str:
    versions = (crd.get("spec") or {}).get("versions") or []
    return next((str(v.get("name")) for v in versions if v.get("storage")), "")


def is_established(crd: dict[str, Any]) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def apply_crd_defaults(crd: dict[str, Any]) -> None:
    """Defaults the real apiextensions server sets on a CRD (in place)."""
    spec = crd.setdefault("spec", {})
    names = spec.setdefault("names", {})
    if names.get("kind"):
        names.setdefault("singular", str(names["kind"]).lower())
        names.setdefault("listKind", f"{names['kind']}List")
    spec.setdefault("conversion", {"strategy": "None"})


def crd_status(crd: dict[str, Any], others: list[dict[str, Any]], now: str) -> dict[str, Any]:
    """The status the CRD controllers settle on: names accepted and established unless names conflict."""
    group = (crd.get("spec") or {}).get("group")
    names = accepted_names(crd)
    taken = {
        str(n)
        for other in others
        if (other.get("spec") or {}).get("group") == group
        and other["metadata"]["name"] != crd["metadata"]["name"]
        for key, n in accepted_names(other).items()
        if key in ("plural", "singular") or key == "shortNames"
    }
    previous = {c.get("type"): c for c in (crd.get("status") or {}).get("conditions") or []}

    def keep_time(condition: dict[str, str]) -> dict[str, str]:
        old = previous.get(condition["type"])
        if old and old.get("status") == condition["status"]:
            condition["lastTransitionTime"] = old.get("lastTransitionTime", now)
        return condition

    if names.get("plural") in taken:
        conditions = [
            _condition(
                "NamesAccepted", "False", "PluralConflict", f'"{names["plural"]}" is already in use', now
            ),
            _condition("Established", "False", "NotAccepted", "not all names are accepted", now),
        ]
        accepted = {"plural": "", "kind": ""}
    else:
        conditions = [
            _condition("NamesAccepted", "True", "NoConflicts", "no conflicts found", now),
            _condition(
                "Established", "True", "InitialNamesAccepted", "the initial names have been accepted", now
            ),
        ]
        accepted = names
    status = dict(crd.get("status") or {})
    stored = list(status.get("storedVersions") or [])
    if storage_version(crd) and storage_version(crd) not in stored:
        stored.append(storage_version(crd))
    status.update({"acceptedNames": accepted, "conditions": [keep_time(c) for c in conditions]})
    status["storedVersions"] = stored
    return status


def terminating_condition(now: str) -> dict[str, str]:
    return _condition(
        "Terminating", "True", "InstanceDeletionInProgress", "CustomResource deletion is in progress", now
    )


_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def validate_crd(crd: dict[str, Any]) -> list[dict[str, str]]:
    """The most common CRD validation errors, worded as apiextensions words them."""
    causes: list[dict[str, str]] = []
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = str(spec.get("group") or "")
    plural = str(names.get("plural") or "")

    def cause(reason: str, field: str, message: str) -> None:
        causes.append({"reason": reason, "message": message, "field": field})

    if f"{plural}.{group}" != crd["metadata"].get("name"):
        cause(
            "FieldValueInvalid",
            "metadata.name",
            f'Invalid value: "{crd["metadata"].get("name")}": must be spec.names.plural+"."+spec.group',
        )
    if not group:
        cause("FieldValueRequired", "spec.group", "Required value")
    elif "." not in group:
        cause(
            "FieldValueInvalid",
            "spec.group",
            f'Invalid value: "{group}": should be a domain with at least one dot',
        )
    if not plural:
        cause("FieldValueRequired", "spec.names.plural", "Required value")
    elif not _DNS_LABEL.fullmatch(plural):
        cause(
            "FieldValueInvalid", "spec.names.plural", f'Invalid value: "{plural}": a lowercase RFC 1123 label'
        )
    if not names.get("kind"):
        cause("FieldValueRequired", "spec.names.kind", "Required value")
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        cause(
            "FieldValueNotSupported",
            "spec.scope",
            f'Unsupported value: "{spec.get("scope", "")}": supported values: "Cluster", "Namespaced"',
        )
    versions = spec.get("versions") or []
    if not versions:
        cause(
            "FieldValueInvalid",
            "spec.versions",
            "Invalid value: null: must have exactly one version marked as storage version",
        )
    elif sum(1 for v in versions if v.get("storage")) != 1:
        cause(
            "FieldValueInvalid",
            "spec.versions",
            "Invalid value: must have exactly one version marked as storage version",
        )
    for index, version in enumerate(versions):
        if not (version.get("schema") or {}).get("openAPIV3Schema"):
            cause(
                "FieldValueRequired",
                f"spec.versions[{index}].schema.openAPIV3Schema",
                "Required value: schemas are required",
            )
    return causes


def custom_types(crd: dict[str, Any]) -> list[ResourceType]:
    """The resource types an established CRD serves, one per served version."""
    spec = crd.get("spec") or {}
    names = accepted_names(crd)
    group = str(spec.get("group"))
    storage = storage_version(crd)
    types = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        subresources = version.get("subresources") or {}
        types.append(
            ResourceType(
                group=group,
                version=str(version["name"]),
                name=str(names["plural"]),
                kind=str(names["kind"]),
                namespaced=spec.get("scope") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                subresources=tuple(s for s in ("scale", "status") if s in subresources),
                categories=tuple(names.get("categories") or ()),
                generation=True,
                return_deleted=True,
                custom=True,
                schema=(version.get("schema") or {}).get("openAPIV3Schema"),
                list_kind=str(names["listKind"]),
                singular=str(names["singular"]),
                storage_version=storage,
            )
        )
    return types


@dataclass(frozen=True)
class GroupInfo:
    name: str
    versions: tuple[str, ...]
    """Preferred first."""


class Registry:
    """Every served resource type: the built-ins plus those of established CRDs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._builtin = {(t.group, t.version, t.name): t for t in BUILTIN_TYPES}
        self._custom: dict[tuple[str, str, str], ResourceType] = {}
        self._crd_of: dict[tuple[str, str], str] = {}
        """(group, plural) -> CRD name, for every CRD that exists (established or not)."""

    def lookup(self, group: str, version: str, name: str) -> ResourceType | None:
        key = (group, version, name)
        return self._builtin.get(key) or self._custom.get(key)

    def crd_name(self, group: str, plural: str) -> str | None:
        return self._crd_of.get((group, plural))

    def storage_type(self, group: str, name: str) -> ResourceType | None:
        """The type objects of (group, resource) are stored as."""
        candidates = [t for (g, _, n), t in self._all().items() if g == group and n == name]
        for candidate in candidates:
            if not candidate.custom or candidate.version == candidate.storage_version:
                return candidate
        return candidates[0] if candidates else None

    def _all(self) -> dict[tuple[str, str, str], ResourceType]:
        return {**self._builtin, **self._custom}

    def refresh(self, crds: list[dict[str, Any]]) -> None:
        custom: dict[tuple[str, str, str], ResourceType] = {}
        crd_of: dict[tuple[str, str], str] = {}
        for crd in crds:
            spec = crd.get("spec") or {}
            crd_of[(str(spec.get("group")), str((spec.get("names") or {}).get("plural")))] = crd["metadata"][
                "name"
            ]
            if is_established(crd):
                for rt in custom_types(crd):
                    custom.setdefault((rt.group, rt.version, rt.name), rt)
        with self._lock:
            self._custom = custom
            self._crd_of = crd_of

    def groups(self) -> list[GroupInfo]:
        versions: dict[str, set[str]] = {}
        for group, version, _ in self._all():
            if group:
                versions.setdefault(group, set()).add(version)
        order = {name: index for index, name in enumerate(BUILTIN_GROUP_ORDER)}
        names = sorted(versions, key=lambda g: (order.get(g, len(order)), g))
        return [GroupInfo(g, tuple(sorted(versions[g], key=version_priority))) for g in names]

    def types_in(self, group: str, version: str) -> list[ResourceType]:
        return sorted(
            (t for (g, v, _), t in self._all().items() if g == group and v == version),
            key=lambda t: t.name,
        )
