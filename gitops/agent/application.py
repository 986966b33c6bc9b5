"""Applications as Kubernetes objects: ``gitops.io/v1alpha1 Application`` (the CRD in ``deploy/crds/``).

Pure: turns an Application object into the same :class:`~gitops.agent.config.AppConfig` a
configuration file entry gives, and says which shard owns it. No I/O.

The spec uses the field names of a configuration file entry; what differs is what an Application's
author may reach: Git credentials come from a Secret in the Application's namespace
(``source.credentials.secretRef.name``), and the destination is the agent's own cluster.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import replace
from typing import Any

from gitops.agent.config import AppConfig, parse_application_spec

GROUP = "gitops.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "Application"
PLURAL = "applications"
FINALIZER = "gitops.io/delete-objects"
"""On an Application: deleting it deletes the objects it applied (through the guards of prune)."""
REQUEST_ANNOTATION = "gitops.io/reconcile-requested-at"
"""Changing it (any new value) asks for a reconcile at once."""


def describe(namespace: str, name: str) -> str:
    """How messages name an Application: ``gitops.io/v1alpha1 Application shop/web``."""
    return f"{API_VERSION} {KIND} {namespace}/{name}"


def shard_of(key: str, shards: int) -> int:
    """The shard that owns ``key`` (``namespace/name``): CRC-32 modulo ``shards``, the same in every
    replica and every release (Python's ``hash()`` is salted per process)."""
    return zlib.crc32(key.encode()) % max(1, shards)


def app_from_object(obj: dict[str, Any], *, field_manager: str = "gitops") -> AppConfig:
    """The application an Application object describes; ConfigError naming the object and field."""
    metadata = obj.get("metadata") or {}
    namespace, name = str(metadata.get("namespace") or ""), str(metadata.get("name") or "")
    app = parse_application_spec(
        obj.get("spec"), where=describe(namespace, name), name=name, field_manager=field_manager,
        default_namespace=namespace,
    )
    options = app.sync if app.sync.applyset else replace(app.sync, applyset=default_applyset(namespace, name))
    return replace(
        app,
        sync=options,
        resource=(namespace, name),
        generation=int(metadata.get("generation") or 0),
        delete_objects=FINALIZER in (metadata.get("finalizers") or []),
    )


def default_applyset(namespace: str, name: str) -> str:
    """The ApplySet of an Application that names none: tied to the Application, not to its source, so
    changing ``source.path`` or the URL prunes what the old source applied."""
    readable = re.sub(r"[^a-z0-9]+", "-", f"{namespace}-{name}".lower()).strip("-")[:40].strip("-")
    digest = hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:8]
    return f"gitops-app-{readable}-{digest}"


def request_of(obj: dict[str, Any]) -> str:
    """The value of the reconcile-request annotation (``""``: none)."""
    return str(((obj.get("metadata") or {}).get("annotations") or {}).get(REQUEST_ANNOTATION) or "")


def is_deleting(obj: dict[str, Any]) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def key_of(obj: dict[str, Any]) -> str:
    """``namespace/name`` of an Application object."""
    metadata = obj.get("metadata") or {}
    return f"{metadata.get('namespace')}/{metadata.get('name')}"
