"""Object identity and provenance, shared by every stage.

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\n``, ``\\x1b``), so that a file or object name
    can neither break a message over two lines nor drive the terminal."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else _ESCAPES.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
        for c in text
    )


@dataclass(frozen=True, order=True)
class ObjectRef:
    """The identity of a Kubernetes object: dict key, inventory entry, sort key, error context.

    The API version is carried for messages and requests but is not part of the
    identity: ``apps/v1`` and ``apps/v1beta1`` Deployments named alike are one object.
    """

    group: str
    """API group, ``""`` for the core group."""
    kind: str
    namespace: str
    """``""`` for cluster-scoped objects."""
    name: str
    version: str = field(default="", compare=False)
    """API version within the group (``v1``); not part of the identity."""

    @classmethod
    def from_object(cls, obj: dict[str, Any]) -> ObjectRef:
        api_version = str(obj.get("apiVersion") or "")
        group, _, version = api_version.rpartition("/")
        metadata = obj.get("metadata") or {}
        return cls(
            group=group,
            kind=str(obj.get("kind") or ""),
            namespace=str(metadata.get("namespace") or ""),
            name=str(metadata.get("name") or ""),
            version=version,
        )

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_kind(self) -> str:
        """``Deployment.apps`` as kubectl spells a group-kind."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def short(self) -> str:
        """``Deployment shop/web`` (``Namespace shop`` for cluster-scoped objects)."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return printable(f"{self.kind} {where}")

    def __str__(self) -> str:
        """``apps/v1 Deployment shop/web``."""
        prefix = f"{self.api_version} " if self.version else (f"{self.group} " if self.group else "")
        return printable(prefix) + self.short


@dataclass(frozen=True)
class Origin:
    """Where a desired object came from in the source."""

    file: str
    """Path relative to the source root (POSIX separators); a kustomization's directory for its output."""
    document: int = 0
    """0-based index of the YAML document within the file (or of the object in a kustomize build)."""
    line: int | None = None
    """1-based line where the document starts, when known."""

    def __str__(self) -> str:
        file = printable(self.file)
        where = file if self.line is None else f"{file}:{self.line}"
        return where if self.document == 0 else f"{where} (document {self.document + 1})"


@dataclass
class Manifest:
    """A desired object rendered from the source, with its origin."""

    obj: dict[str, Any]
    origin: Origin
    sensitive: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    """Values decrypted from SOPS files that this object holds: masked in every output, even outside Secrets."""

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef.from_object(self.obj)
