"""Sources: a local directory or a Git repository, resolved to a directory of manifests and a commit.

The only package that runs git. ``fetch(spec, options) -> Checkout`` is its whole interface; inside:

    urls.py         telling URLs from directories, redacting credentials, naming cache entries (pure)
    credentials.py  Credentials (from the environment) -> the environment that hands them to git
    git.py          running git through GitPython: time budget, redacted logs, failures in plain words
    cache.py        cache location, the per-repository file lock, per-commit trees
    remote.py       ls-remote, shallow fetch of exactly the revision asked for, corrupt-cache recovery
    local.py        local work trees: HEAD and dirtiness, or the files of another commit
    fetching.py     dispatch, path checks, GitFailure -> one-line SourceError
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops.source.cache import default_cache_dir
from gitops.source.credentials import Credentials
from gitops.source.urls import redact_text, redact_url


@dataclass(frozen=True)
class SourceSpec:
    """What the user asked for."""

    location: str
    """A local directory, or a Git URL (https://, ssh://, git@host:org/repo, file://)."""
    revision: str | None = None
    """Branch, tag, full or short commit SHA; ``None``: the remote's default branch (or a local work tree as is)."""
    path: str = ""
    """Directory inside the repository; ``""`` is its root."""

    def __repr__(self) -> str:
        """Credentials in the location are redacted: specs end up in logs."""
        return f"SourceSpec(location={redact_url(self.location)!r}, revision={self.revision!r}, path={self.path!r})"


@dataclass(frozen=True)
class Checkout:
    """A fetched source, ready to render."""

    spec: SourceSpec
    root: Path
    """Root of the repository's files: a local work tree's top, a commit's tree in the cache (a remote, or
    ``--revision`` on a local directory), or the local directory itself when it is in no Git work tree.
    Origins are relative to it."""
    directory: Path
    """What to render: ``root / spec.path``, or for a subdirectory of a work tree given as the location,
    ``root / <that subdirectory> / spec.path``."""
    revision: str | None
    """Resolved full commit SHA; ``None`` for a directory that is no Git work tree."""
    dirty: bool = False
    """A local work tree with uncommitted changes."""
    display: str = ""
    """The location with credentials redacted, for output."""
    ref: str = ""
    """The branch or tag the revision came from (``main`` for a remote's default branch); ``""`` otherwise."""
    repository: str = ""
    """What the repository is, wherever it is checked out: its remote URL normalised
    (``github.com/org/repo``, see :func:`gitops.source.urls.repository_identity`); ``""`` for a
    directory in no Git work tree, or a work tree with no remote."""

    @property
    def path_in_repository(self) -> str:
        """The rendered directory relative to the root, POSIX form; ``""`` for the root itself."""
        relative = self.directory.relative_to(self.root).as_posix()
        return "" if relative == "." else relative


@dataclass(frozen=True)
class FetchOptions:
    """How sources are fetched. Front ends build it with ``FetchOptions.from_environ()``."""

    cache_dir: Path | None = None
    """Where remote repositories are cached; ``None``: ``default_cache_dir()`` at fetch time."""
    timeout: float = 120.0
    """Seconds one fetch may take in all (waiting for the cache lock, network, writing files)."""
    credentials: Credentials = field(default_factory=Credentials)
    """HTTPS token and SSH key; credentials written in a URL win over these."""

    @classmethod
    def from_environ(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> FetchOptions:
        """Options from ``GITOPS_CACHE_DIR``/``XDG_CACHE_HOME`` and the ``GITOPS_GIT_*`` credential variables."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {
            "cache_dir": default_cache_dir(env),
            "credentials": Credentials.from_environ(env),
        }
        return cls(**{**values, **overrides})


def fetch(spec: SourceSpec, options: FetchOptions | None = None) -> Checkout:
    """Resolve ``spec`` to a directory of manifests and the commit it came from.

    ``options=None`` reads them from the environment (``FetchOptions.from_environ()``).
    Raises SourceError (exit code 3) with a one-line message naming the redacted repository and revision.
    """
    from gitops.source.fetching import fetch_source  # imports GitPython: only when a source is fetched

    return fetch_source(spec, options if options is not None else FetchOptions.from_environ())


__all__ = [
    "Checkout",
    "Credentials",
    "FetchOptions",
    "SourceSpec",
    "default_cache_dir",
    "fetch",
    "redact_text",
    "redact_url",
]
