"""The pull-request comment against a local stand-in for the GitHub API. No cluster."""

from __future__ import annotations

import pytest

from gitops.action.comment import (
    GITHUB_COMMENT_LIMIT,
    MARKER,
    CommentError,
    GitHubClient,
    fit_comment,
    upsert_comment,
)
from tests.action.conftest import TOKEN
from tests.action.github_standin import GitHubStandIn

REPO = "shop/deploy"


def test_first_run_creates_then_updates_in_place(github_api: GitHubStandIn) -> None:
    github_api.add_comment(REPO, 7, "LGTM")
    client = GitHubClient(github_api.url, TOKEN)

    first = upsert_comment(client, REPO, 7, "## report v1")
    second = upsert_comment(client, REPO, 7, "## report v2")

    assert first.created and not second.created
    assert first.id == second.id
    ours = [c for c in github_api.issue_comments(REPO, 7) if MARKER in c["body"]]
    assert [c["body"] for c in ours] == [f"{MARKER}\n## report v2"]
    assert [(r.method, r.path) for r in github_api.writes()] == [
        ("POST", f"/repos/{REPO}/issues/7/comments"),
        ("PATCH", f"/repos/{REPO}/issues/comments/{first.id}"),
    ]
    assert {r.authorization for r in github_api.requests} == {f"Bearer {TOKEN}"}


def test_marker_found_beyond_the_first_page(github_api: GitHubStandIn) -> None:
    for index in range(150):
        github_api.add_comment(REPO, 8, f"chatter {index}")
    existing = github_api.add_comment(REPO, 8, f"{MARKER}\nold")
    result = upsert_comment(GitHubClient(github_api.url, TOKEN), REPO, 8, "new")
    assert (result.created, result.id) == (False, existing)
    assert github_api.comments[existing]["body"] == f"{MARKER}\nnew"


def test_oversized_body_is_cut_below_githubs_limit(github_api: GitHubStandIn) -> None:
    body = "## report\n" + "".join(f"| row {i} | {'x' * 80} |\n" for i in range(2000))
    upsert_comment(GitHubClient(github_api.url, TOKEN), REPO, 9, body)
    (posted,) = github_api.issue_comments(REPO, 9)
    assert len(posted["body"]) <= GITHUB_COMMENT_LIMIT
    assert posted["body"].startswith(MARKER)
    assert "**Report truncated**" in posted["body"]


def test_bad_token_is_an_error_without_the_token(github_api: GitHubStandIn) -> None:
    with pytest.raises(CommentError) as caught:
        upsert_comment(GitHubClient(github_api.url, "ghs_wrongToken123"), REPO, 7, "x")
    assert str(caught.value) == f"GitHub API GET /repos/{REPO}/issues/7/comments?per_page=100&page=1 failed: HTTP 401 (Bad credentials)"


def test_unreachable_api_is_a_comment_error() -> None:
    with pytest.raises(CommentError, match="failed"):
        upsert_comment(GitHubClient("http://127.0.0.1:9", TOKEN, timeout=2), REPO, 7, "x")


def test_fit_leaves_short_bodies_alone() -> None:
    assert fit_comment("short", 100) == "short"


def test_fit_cuts_at_a_line_and_closes_open_blocks() -> None:
    body = "intro\n<details><summary>web</summary>\n\n```diff\n" + "".join(f"+ line {i}\n" for i in range(500))
    fitted = fit_comment(body, 2000)
    assert len(fitted) <= 2000
    kept = fitted.split("\n```\n</details>\n", 1)[0]
    assert kept.endswith(tuple(f"+ line {i}" for i in range(500)))
    assert fitted.count("```") == 2
    assert fitted.count("<details>") == fitted.count("</details>") == 1
    assert f"of {len(body):,} characters shown" in fitted


def test_keys_keep_several_reports_apart(github_api: GitHubStandIn) -> None:
    client = GitHubClient(github_api.url, TOKEN)
    preview = upsert_comment(client, REPO, 10, "preview v1", key="preview:deploy")
    diff = upsert_comment(client, REPO, 10, "diff v1", key="diff:deploy")
    again = upsert_comment(client, REPO, 10, "preview v2", key="preview:deploy")
    assert preview.created and diff.created and not again.created
    assert again.id == preview.id != diff.id
    bodies = sorted(c["body"] for c in github_api.issue_comments(REPO, 10))
    assert bodies == [
        f"{MARKER}\n<!-- gitops-report-key: diff:deploy -->\ndiff v1",
        f"{MARKER}\n<!-- gitops-report-key: preview:deploy -->\npreview v2",
    ]
