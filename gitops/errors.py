"""The error hierarchy. Every error names what it concerns (repository, file, object).

    GitopsError                      exit_code 2 unless overridden
    ├── SourceError                  3  fetching or reading the source (Git) failed
    ├── RenderError                  4  manifests could not be rendered or are invalid (holds every Problem)
    ├── ClusterError                 5  the cluster is unreachable, refused credentials, or misbehaves
    │   └── ApiError                    one API request failed: HTTP status, Kubernetes reason, object
    ├── SafetyError                  7  a safety guard refused the run (prune cap, empty render, foreign ApplySet)
    └── ConfigError                  2  bad configuration (agent config file, options)

Exit code 1 is reserved for "differences found" (``gitops diff``), as kubectl does. Exit codes 6
(some objects failed to apply or prune) and 8 (``--wait`` ran out of time) are no exceptions: a
sync reports them through ``ChangeSet.exit_code``, with the report of what it did.
"""

from __future__ import annotations

from dataclasses import dataclass

from gitops.objects import ObjectRef, Origin

EXIT_OK = 0
EXIT_DIFF = 1
EXIT_ERROR = 2
EXIT_SOURCE = 3
EXIT_RENDER = 4
EXIT_CLUSTER = 5
EXIT_SYNC = 6
EXIT_SAFETY = 7
EXIT_HEALTH = 8


class GitopsError(Exception):
    """Base of every error gitops raises on purpose. ``str(err)`` is one line fit for users."""

    exit_code = EXIT_ERROR


class ConfigError(GitopsError):
    exit_code = EXIT_ERROR


class SourceError(GitopsError):
    """Fetching or reading a source failed. The message names the (redacted) repository and revision."""

    exit_code = EXIT_SOURCE

    def __init__(self, message: str, *, repository: str = "", revision: str = "", path_missing: bool = False) -> None:
        super().__init__(message)
        self.repository = repository
        self.revision = revision
        self.path_missing = path_missing
        """The repository and revision were found, but not the ``--path`` directory in them."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the rendered manifests."""

    message: str
    origin: Origin | None = None
    ref: ObjectRef | None = None

    def __str__(self) -> str:
        parts = [str(p) for p in (self.origin, self.ref) if p is not None]
        return ": ".join([*parts, self.message])


class RenderError(GitopsError):
    """Rendering or validation failed; holds every problem, not just the first."""

    exit_code = EXIT_RENDER

    def __init__(self, problems: list[Problem], *, revision: str | None = None) -> None:
        self.problems = list(problems)
        self.revision = revision
        """The commit that failed to render, when known."""
        first = str(self.problems[0]) if self.problems else "rendering failed"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(first + more)


class ClusterError(GitopsError):
    exit_code = EXIT_CLUSTER


class ApiError(ClusterError):
    """One API request failed, with the Kubernetes Status reason and the object concerned."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        reason: str = "",
        ref: ObjectRef | None = None,
        origin: Origin | None = None,
        causes: list[dict] | None = None,
    ) -> None:
        self.status = status
        self.reason = reason
        self.ref = ref
        self.origin = origin
        self.causes = causes or []
        self.detail = message
        """The message without the origin and object prefix (for places that already name the object)."""
        prefix = ": ".join(str(p) for p in (origin, ref) if p is not None)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class SafetyError(GitopsError):
    exit_code = EXIT_SAFETY
