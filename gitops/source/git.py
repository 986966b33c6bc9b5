"""Running git (through GitPython), with a time budget, redacted logging and plain-words failures.

This is the only place in gitops that starts git.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gitops.source.urls import redact_text

log = logging.getLogger(__name__)


class Deadline:
    """A time budget shared by every step of one fetch."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0


class GitFailure(Exception):
    """A git command failed. ``cause`` is in plain words; ``details`` is git's redacted stderr.

    Raised inside gitops.source only, and chained under the SourceError users see.
    """

    def __init__(self, cause: str, *, details: str = "", kind: str = "other") -> None:
        super().__init__(f"{cause}\n{details}" if details else cause)
        self.cause = cause
        self.details = details
        self.kind = kind


# (kind, plain-words cause, stderr patterns); the first match wins, so specific patterns come first.
_FAILURES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("timeout", "timed out", (r"^timeout: the command", r"operation timed out", r"connection timed out")),
    (
        "host",
        "unknown host",
        (
            r"could not resolve host",
            r"could not resolve hostname",
            r"name or service not known",
            r"temporary failure in name resolution",
            r"nodename nor servname",
        ),
    ),
    (
        "connect",
        "cannot connect (connection refused or host unreachable)",
        (
            r"connection refused",
            r"failed to connect",
            r"couldn't connect to server",
            r"network is unreachable",
            r"no route to host",
            r"connection reset",
        ),
    ),
    (
        "hostkey",
        "SSH host key verification failed (set GITOPS_GIT_KNOWN_HOSTS to a known_hosts file listing the host)",
        (r"host key verification failed", r"no .* host key is known"),
    ),
    (
        "tls",
        "TLS certificate verification failed",
        (r"ssl certificate problem", r"server certificate verification"),
    ),
    (
        "auth",
        "authentication refused (set GITOPS_GIT_TOKEN or GITOPS_GIT_SSH_KEY_FILE)",
        (
            r"authentication failed",
            r"could not read username",
            r"could not read password",
            r"terminal prompts disabled",
            r"permission denied \(publickey",
            r"permission denied, please try again",
            r"access denied",
            r"invalid username or password",
            r"the requested url returned error: 40[13]",
        ),
    ),
    (
        "not_found",
        "repository not found (or no access to it)",
        (
            r"repository not found",
            r"does not appear to be a git repository",
            r"the requested url returned error: 404",
            r"not found",
        ),
    ),
    (
        "revision",
        "unknown revision",
        (
            r"couldn't find remote ref",
            r"not our ref",
            r"unadvertised object",
            r"unknown revision",
            r"bad revision",
        ),
    ),
    (
        "corrupt",
        "the cache is corrupt",
        (
            r"not a git repository",
            r"bad object",
            r"corrupt",
            r"unable to read",
            r"did not send all necessary objects",
            r"missing blob object",
            r"missing tree object",
            r"shallow file has changed",
            r"object file .* is empty",
            r"bad tree object",
            r"fatal: unable to parse",
            r"index file smaller than expected",
        ),
    ),
)
_COMPILED = tuple((kind, cause, re.compile("|".join(pats), re.I | re.M)) for kind, cause, pats in _FAILURES)


def classify(stderr: str) -> tuple[str, str]:
    """``(kind, cause in plain words)`` for git's stderr. Pure."""
    for kind, cause, pattern in _COMPILED:
        if pattern.search(stderr):
            return kind, cause
    return "other", last_error_line(stderr) or "git failed"


def last_error_line(stderr: str) -> str:
    """The most telling single line of git's stderr: the last ``fatal:``/``error:`` line, else the last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.lower().startswith(("fatal:", "error:")):
            return line.split(":", 1)[1].strip()
    return lines[-1] if lines else ""


@dataclass
class GitRunner:
    """Runs git commands against one repository (``git_dir``) or in one directory (``cwd``)."""

    cwd: Path
    git_dir: Path | None = None
    """Passed as ``--git-dir`` so git never wanders into a parent repository."""
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    deadline: Deadline | None = None

    def __post_init__(self) -> None:
        import git as gitpython  # about 0.1 s: paid only when git actually runs

        self._git = gitpython.Git(str(self.cwd))

    def run(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        """Run ``git args``; return stdout; raise GitFailure (classified, redacted) when git fails."""
        command = ["git", *(["--git-dir", str(self.git_dir)] if self.git_dir else []), *args]
        timeout = None
        if self.deadline is not None:
            timeout = self.deadline.remaining()
            if timeout <= 0:
                raise GitFailure(f"timed out after {self.deadline.seconds:g}s", kind="timeout")
        status, stdout, stderr = self._git.execute(
            command,
            with_extended_output=True,
            with_exceptions=False,
            kill_after_timeout=timeout,
            env={**self.env, **(env or {})},
        )
        stderr = redact_text(_text(stderr), self.secrets)
        if status != 0:
            log.debug("git %s failed (%s): %s", " ".join(args), status, stderr)
            kind, cause = classify(stderr)
            if kind == "timeout" and self.deadline is not None:
                cause = f"timed out after {self.deadline.seconds:g}s"
            raise GitFailure(cause, details=stderr, kind=kind)
        if stderr:
            log.debug("git %s: %s", " ".join(args), stderr)
        return _text(stdout)

    def succeeds(self, *args: str) -> bool:
        try:
            self.run(*args)
        except GitFailure:
            return False
        return True


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
