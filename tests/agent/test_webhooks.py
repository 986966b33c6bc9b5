"""Webhook rules: signatures, bearer tokens, repository URL matching, push targets (pure)."""

from __future__ import annotations

import pytest

from gitops.agent.config import AppConfig
from gitops.agent.webhooks import (
    apps_for_push,
    normalize_repo_url,
    parse_push,
    signature,
    verify_bearer,
    verify_signature,
)
from gitops.source import SourceSpec

BODY = b'{"ref":"refs/heads/main"}'


def test_signature_matches_githubs_documented_example() -> None:
    # From GitHub's "Validating webhook deliveries" documentation.
    assert signature(b"It's a Secret to Everybody", b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


def test_valid_signature_is_accepted() -> None:
    assert verify_signature(b"s3cret", BODY, signature(b"s3cret", BODY))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        signature(b"other", BODY),
        signature(b"s3cret", BODY + b" "),
        signature(b"s3cret", BODY).replace("sha256=", "sha1="),
        signature(b"s3cret", BODY)[:-1],
    ],
)
def test_bad_or_missing_signatures_are_refused(header: str | None) -> None:
    assert not verify_signature(b"s3cret", BODY, header)


def test_no_secret_configured_refuses_everything() -> None:
    assert not verify_signature(b"", BODY, signature(b"", BODY))


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("Bearer tok", True),
        ("bearer tok", True),
        ("Bearer  tok ", True),
        ("Bearer other", False),
        ("Basic tok", False),
        ("tok", False),
        ("", False),
        (None, False),
    ],
)
def test_bearer_tokens(header: str | None, accepted: bool) -> None:
    assert verify_bearer("tok", header) is accepted


def test_an_empty_configured_token_accepts_nothing() -> None:
    assert not verify_bearer("", "Bearer ")


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/Acme/Deploy.git",
        "https://github.com/acme/deploy",
        "https://x-access-token:abc@github.com/acme/deploy.git",
        "http://github.com/acme/deploy/",
        "ssh://git@github.com/acme/deploy.git",
        "ssh://git@github.com:22/acme/deploy",
        "git@github.com:acme/deploy.git",
        "github.com:acme/deploy",
        "git://github.com/acme/deploy.git",
    ],
)
def test_url_forms_of_one_repository_normalize_alike(url: str) -> None:
    assert normalize_repo_url(url) == "github.com/acme/deploy"


def test_different_repositories_stay_different() -> None:
    assert normalize_repo_url("https://github.com/acme/deploy") != normalize_repo_url("https://github.com/acme/other")
    assert normalize_repo_url("https://github.com/acme/deploy") != normalize_repo_url("https://gitlab.com/acme/deploy")


def test_local_repositories_keep_their_path() -> None:
    assert normalize_repo_url("file:///srv/git/Repo.git") == "/srv/git/Repo"
    assert normalize_repo_url("/srv/git/Repo.git/") == "/srv/git/Repo"


def app(name: str, url: str, revision: str | None) -> AppConfig:
    return AppConfig(name=name, source=SourceSpec(location=url, revision=revision))


APPS = [
    app("main-https", "https://github.com/acme/deploy.git", "main"),
    app("main-ssh", "git@github.com:acme/deploy.git", "refs/heads/main"),
    app("default-branch", "https://github.com/acme/deploy", None),
    app("staging", "https://github.com/acme/deploy", "staging"),
    app("tagged", "https://github.com/acme/deploy", "v1.2.0"),
    app("other-repo", "https://github.com/acme/other", "main"),
]


def push_payload(ref: str) -> dict[str, object]:
    return {
        "ref": ref,
        "after": "0" * 40,
        "repository": {
            "full_name": "acme/deploy",
            "clone_url": "https://github.com/acme/deploy.git",
            "ssh_url": "git@github.com:acme/deploy.git",
            "html_url": "https://github.com/acme/deploy",
            "default_branch": "main",
        },
    }


def test_push_to_a_branch_triggers_the_apps_following_it() -> None:
    push = parse_push(push_payload("refs/heads/main"))
    assert push is not None
    assert apps_for_push(push, APPS) == ["main-https", "main-ssh", "default-branch"]


def test_push_to_another_branch() -> None:
    push = parse_push(push_payload("refs/heads/staging"))
    assert push is not None and apps_for_push(push, APPS) == ["staging"]


def test_push_of_a_tag() -> None:
    push = parse_push(push_payload("refs/tags/v1.2.0"))
    assert push is not None and apps_for_push(push, APPS) == ["tagged"]


@pytest.mark.parametrize("payload", [None, [], {"ref": "refs/heads/main"}, {"repository": {}}, {"zen": "hi"}])
def test_payloads_that_are_no_push(payload: object) -> None:
    assert parse_push(payload) is None
