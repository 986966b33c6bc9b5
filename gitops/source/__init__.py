"""Sources: a local directory or a Git repository, resolved to a directory of manifests and a commit.

The only module that runs git.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourceSpec:
    """What the user asked for."""

    location: str
    """A local directory, or a Git URL (https://, ssh://, git@host:org/repo, file://)."""
    revision: str | None = None
    """Branch, tag, full or short commit SHA; ``None``: the remote's default branch (or a local work tree as is)."""
    path: str = ""
    """Directory inside the repository; ``""`` is its root."""


@dataclass(frozen=True)
class Checkout:
    """A fetched source, ready to render."""

    spec: SourceSpec
    root: Path
    """Root of the repository work tree (or the local directory when it is no Git work tree)."""
    directory: Path
    """``root / spec.path``: what to render."""
    revision: str | None
    """Resolved full commit SHA; ``None`` for a directory that is no Git work tree."""
    dirty: bool = False
    """A local work tree with uncommitted changes."""
    display: str = ""
    """The location with credentials redacted, for output."""
