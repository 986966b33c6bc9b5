"""Webhook rules: signature and token checks, repository URL matching, push event targets.

Pure: no I/O. The HTTP server (:mod:`gitops.agent.server`) calls these.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gitops.agent.config import AppConfig

_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>(?!//).+)$")
_SIGNATURE_PREFIX = "sha256="


def signature(secret: bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    return _SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """True when ``header`` is GitHub's HMAC-SHA256 of ``body`` under ``secret``, compared in constant time."""
    if not secret or not header or not header.startswith(_SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(signature(secret, body).encode(), header.strip().encode())


def verify_bearer(token: str, header: str | None) -> bool:
    """True when an ``Authorization`` header carries ``Bearer <token>``, compared in constant time."""
    if not token or not header:
        return False
    scheme, _, given = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def normalize_repo_url(url: str) -> str:
    """One spelling per repository: ``host/org/repo`` for https, ssh, git and ``git@host:org/repo`` forms.

    Credentials, ports, a trailing ``.git`` and slashes are dropped and remote paths lower-cased
    (GitHub treats them case-insensitively); ``file://`` URLs and local paths keep their path.
    """
    url = url.strip()
    scp = _SCP_LIKE.match(url) if "://" not in url else None
    if scp:
        host, path = scp.group("host"), scp.group("path")
    elif "://" in url:
        parts = urlsplit(url)
        if parts.scheme == "file":
            return _strip_suffix(parts.path.rstrip("/"))
        host, path = parts.hostname or "", parts.path
    else:
        return _strip_suffix(url.rstrip("/"))
    return f"{host.lower()}/{_strip_suffix(path.strip('/')).lower()}"


def _strip_suffix(path: str) -> str:
    return path[: -len(".git")] if path.endswith(".git") else path


@dataclass(frozen=True)
class Push:
    """What a push event moved: the repository (every URL GitHub gives for it) and the ref."""

    repo_urls: frozenset[str]
    """Normalized URLs of the repository."""
    branch: str | None
    tag: str | None
    default_branch: str | None

    def matches(self, app: AppConfig) -> bool:
        if normalize_repo_url(app.source.location) not in self.repo_urls:
            return False
        revision = app.source.revision
        if revision is None:
            return self.branch is not None and self.branch == self.default_branch
        revision = revision.removeprefix("refs/heads/").removeprefix("refs/tags/")
        return revision in (self.branch, self.tag)


def parse_push(payload: Any) -> Push | None:
    """The push described by a GitHub ``push`` event payload, ``None`` when it is not one."""
    if not isinstance(payload, dict) or not isinstance(payload.get("repository"), dict):
        return None
    ref = payload.get("ref")
    if not isinstance(ref, str):
        return None
    repository = payload["repository"]
    urls = [
        repository.get(key) for key in ("clone_url", "ssh_url", "git_url", "html_url", "url", "svn_url")
    ]
    return Push(
        repo_urls=frozenset(normalize_repo_url(url) for url in urls if isinstance(url, str) and url),
        branch=ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None,
        tag=ref.removeprefix("refs/tags/") if ref.startswith("refs/tags/") else None,
        default_branch=repository.get("default_branch") or repository.get("master_branch"),
    )


def apps_for_push(push: Push, apps: Iterable[AppConfig]) -> list[str]:
    """Names of the applications that follow the pushed repository and ref."""
    return [app.key for app in apps if push.matches(app)]
