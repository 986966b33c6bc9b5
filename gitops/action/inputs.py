"""The action's inputs, read from ``INPUT_*`` environment variables, and the pull request from the event.

Pure apart from reading the event file: turns strings into typed settings or a ConfigError naming the input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from gitops.errors import ConfigError


class Mode(StrEnum):
    PREVIEW = "preview"
    """Compare the renders of two revisions; no cluster."""
    DIFF = "diff"
    """Plan against the cluster; change nothing."""
    SYNC = "sync"
    """Make the cluster match the source."""


DEFAULT_REPORT_SIZE = 60000

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0", ""}


@dataclass(frozen=True)
class ActionInputs:
    mode: Mode = Mode.DIFF
    path: str = ""
    """Directory inside the repository to render."""
    source: str = "."
    """The repository: the workspace checkout by default."""
    revision: str | None = None
    """diff/sync: what to render (default: the checkout as it is)."""
    base_revision: str | None = None
    """preview: the revision compared against (default: the pull request's base commit)."""
    head_revision: str | None = None
    """preview: the revision previewed (default: the pull request's head commit)."""
    kubeconfig: str = ""
    """Kubeconfig file content (a secret), never a path."""
    context: str | None = None
    namespace: str = "default"
    prune: bool = False
    allow_empty: bool = False
    max_prune: int | None = None
    fail_on_drift: bool = False
    max_report_size: int = DEFAULT_REPORT_SIZE
    comment: bool = False
    github_token: str = ""
    field_manager: str = "gitops"
    applyset: str | None = None
    """Name of the ApplySet parent; ``None``: derived from ``$GITHUB_REPOSITORY`` and the path."""
    adopt: bool = False
    """Take objects another tool or ApplySet manages into the set."""
    allow_remote_bases: bool = False
    """Let kustomizations fetch remote bases (URLs) during the build."""
    allow_remote_charts: bool = False
    """Fetch Helm chart dependencies missing from ``charts/``."""


def read_raw_input(env: Mapping[str, str], name: str) -> str:
    """An input as the runner passes it: ``INPUT_FAIL_ON_DRIFT`` (our composite step) or ``INPUT_FAIL-ON-DRIFT``
    (JavaScript and container actions). Unstripped, for content whose whitespace matters; ``""`` when blank."""
    upper = name.upper().replace(" ", "_")
    for key in (f"INPUT_{upper.replace('-', '_')}", f"INPUT_{upper}"):
        if key in env:
            return env[key] if env[key].strip() else ""
    return ""


def read_input(env: Mapping[str, str], name: str) -> str:
    return read_raw_input(env, name).strip()


def repository_path(value: str) -> str:
    """``./deploy/`` -> ``deploy``; the repository root is ``""``."""
    parts = [part for part in value.replace("\\", "/").split("/") if part not in ("", ".")]
    return "/".join(parts)


def parse_bool(name: str, value: str, default: bool) -> bool:
    lowered = value.strip().lower()
    if not lowered:
        return default
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"input {name}: expected true or false, got {value!r}")


def parse_count(name: str, value: str, *, minimum: int = 0) -> int | None:
    if not value.strip():
        return None
    try:
        number = int(value.strip())
    except ValueError:
        raise ConfigError(f"input {name}: expected a whole number, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"input {name}: must be at least {minimum}, got {number}")
    return number


def parse_inputs(env: Mapping[str, str]) -> ActionInputs:
    """Typed inputs; a ConfigError naming the first bad input. Credentials never appear in messages."""

    def get(name: str) -> str:
        return read_input(env, name)

    mode_text = get("mode").lower() or Mode.DIFF.value
    try:
        mode = Mode(mode_text)
    except ValueError:
        choices = ", ".join(m.value for m in Mode)
        raise ConfigError(f"input mode: expected one of {choices}, got {mode_text!r}") from None
    report_size = parse_count("max-report-size", get("max-report-size"), minimum=1000)
    return ActionInputs(
        mode=mode,
        path=repository_path(get("path")),
        source=get("source") or env.get("GITHUB_WORKSPACE") or ".",
        revision=get("revision") or None,
        base_revision=get("base-revision") or None,
        head_revision=get("head-revision") or None,
        kubeconfig=read_raw_input(env, "kubeconfig"),
        context=get("context") or None,
        namespace=get("namespace") or "default",
        prune=parse_bool("prune", get("prune"), False),
        allow_empty=parse_bool("allow-empty", get("allow-empty"), False),
        max_prune=parse_count("max-prune", get("max-prune")),
        fail_on_drift=parse_bool("fail-on-drift", get("fail-on-drift"), False),
        max_report_size=report_size if report_size is not None else DEFAULT_REPORT_SIZE,
        comment=parse_bool("comment", get("comment"), False),
        github_token=get("github-token"),
        field_manager=get("field-manager") or "gitops",
        applyset=get("applyset") or None,
        adopt=parse_bool("adopt", get("adopt"), False),
        allow_remote_bases=parse_bool("allow-remote-bases", get("allow-remote-bases"), False),
        allow_remote_charts=parse_bool("allow-remote-charts", get("allow-remote-charts"), False),
    )


@dataclass(frozen=True)
class PullRequest:
    repository: str
    """``owner/name``."""
    number: int
    base_sha: str | None
    head_sha: str | None


def read_event(env: Mapping[str, str]) -> dict[str, Any]:
    """The webhook payload that triggered the workflow (``{}`` when there is none)."""
    event_path = env.get("GITHUB_EVENT_PATH")
    if not event_path:
        return {}
    try:
        return json.loads(Path(event_path).read_text(encoding="utf-8")) or {}
    except (OSError, ValueError) as err:
        raise ConfigError(f"{event_path}: cannot read the workflow event: {err}") from err


def pull_request(env: Mapping[str, str], event: Mapping[str, Any]) -> PullRequest | None:
    """The pull request the workflow runs for, or ``None`` (a push, a schedule)."""
    pr = event.get("pull_request") or {}
    number = pr.get("number") or (event.get("number") if pr else None)
    if not number and (event.get("issue") or {}).get("pull_request"):
        number = event["issue"].get("number")
    if not number:
        return None
    repository = env.get("GITHUB_REPOSITORY") or ((event.get("repository") or {}).get("full_name") or "")
    return PullRequest(
        repository=repository,
        number=int(number),
        base_sha=(pr.get("base") or {}).get("sha"),
        head_sha=(pr.get("head") or {}).get("sha"),
    )
