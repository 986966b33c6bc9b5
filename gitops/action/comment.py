"""The pull-request comment: one comment per pull request, found by a hidden marker and updated in place.

Talks to the GitHub REST API with the standard library (``GITHUB_API_URL``, token auth).
:func:`fit_comment` is pure.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from gitops.errors import GitopsError

MARKER = "<!-- gitops-report -->"
GITHUB_COMMENT_LIMIT = 65536
"""GitHub refuses comment bodies longer than this many characters."""
_PAGE_SIZE = 100
_MAX_PAGES = 50


class CommentError(GitopsError):
    """The pull-request comment could not be read or written. Never carries the token."""


@dataclass(frozen=True)
class CommentResult:
    id: int
    url: str
    created: bool
    """True when a new comment was posted, False when the existing one was updated."""


def fit_comment(body: str, limit: int = GITHUB_COMMENT_LIMIT, *, note: str = "") -> str:
    """``body`` cut at a line boundary so that it, closing tags and a truncation note fit in ``limit``.

    An open code fence and open ``<details>`` blocks are closed so the rest of the page renders normally.
    """
    if len(body) <= limit:
        return body
    note = note or "the full report is in the workflow run's step summary"
    tail_reserve = 400 + len(note)
    cut = body[: max(0, limit - tail_reserve)]
    if "\n" in cut:
        cut = cut[: cut.rindex("\n")]
    closing = []
    if len(re.findall(r"^\s*```", cut, flags=re.MULTILINE)) % 2:
        closing.append("```")
    open_details = len(re.findall(r"<details\b", cut)) - len(re.findall(r"</details>", cut))
    closing.extend(["</details>"] * max(0, open_details))
    shown = len(cut)
    tail = "\n".join(
        [*closing, "", f"> **Report truncated**: {shown:,} of {len(body):,} characters shown; {note}."]
    )
    return f"{cut}\n{tail}\n"


class GitHubClient:
    """The few REST calls the comment needs."""

    def __init__(self, api_url: str, token: str, *, timeout: float = 30.0) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.timeout = timeout

    def request(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        req = urllib.request.Request(f"{self.api_url}{path}", data=data, method=method)
        req.add_header("Accept", "application/vnd.github+json")
        req.add_header("X-GitHub-Api-Version", "2022-11-28")
        req.add_header("User-Agent", "gitops-action")
        req.add_header("Authorization", f"Bearer {self._token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as err:
            detail = _github_message(err)
            raise CommentError(f"GitHub API {method} {path} failed: HTTP {err.code}{detail}") from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise CommentError(f"GitHub API {method} {path} failed: {reason}") from None
        return json.loads(body) if body else None

    def issue_comments(self, repository: str, number: int) -> list[dict[str, Any]]:
        comments: list[dict[str, Any]] = []
        for page in range(1, _MAX_PAGES + 1):
            batch = self.request("GET", f"/repos/{repository}/issues/{number}/comments?per_page={_PAGE_SIZE}&page={page}")
            comments.extend(batch or [])
            if not batch or len(batch) < _PAGE_SIZE:
                break
        return comments


def _github_message(err: urllib.error.HTTPError) -> str:
    try:
        message = json.loads(err.read() or b"{}").get("message", "")
    except (ValueError, AttributeError, OSError):
        message = ""
    return f" ({message})" if message else ""


def markers(key: str = "") -> str:
    """The hidden lines that identify our comment; ``key`` tells apart several reports on one pull request."""
    return f"{MARKER}\n<!-- gitops-report-key: {key} -->\n" if key else f"{MARKER}\n"


def is_ours(comment: dict[str, Any], key: str = "") -> bool:
    body = comment.get("body") or ""
    if key:
        return markers(key) in body
    return MARKER in body and "<!-- gitops-report-key: " not in body


def upsert_comment(client: GitHubClient, repository: str, number: int, body: str, *, key: str = "") -> CommentResult:
    """Update the pull request's gitops comment (with this key) in place, or create it."""
    text = fit_comment(markers(key) + body)
    existing = next((c for c in client.issue_comments(repository, number) if is_ours(c, key)), None)
    if existing is not None:
        updated = client.request("PATCH", f"/repos/{repository}/issues/comments/{existing['id']}", {"body": text})
        return CommentResult(id=int(updated["id"]), url=str(updated.get("html_url", "")), created=False)
    created = client.request("POST", f"/repos/{repository}/issues/{number}/comments", {"body": text})
    return CommentResult(id=int(created["id"]), url=str(created.get("html_url", "")), created=True)
