"""Pure helpers: telling URLs from directories, redaction, cache names, failure classification."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops.source import default_cache_dir, redact_text, redact_url
from gitops.source.git import classify
from gitops.source.urls import cache_key, is_remote, parse_remote


@pytest.mark.parametrize(
    ("location", "remote"),
    [
        ("https://github.com/org/repo.git", True),
        ("ssh://git@github.com/org/repo.git", True),
        ("git@github.com:org/repo.git", True),
        ("file:///srv/git/repo.git", True),
        ("examples/repo", False),
        ("./a:b", False),
        ("/abs/path", False),
    ],
)
def test_is_remote(location: str, remote: bool) -> None:
    assert is_remote(location) is remote


def test_an_existing_directory_wins_over_the_scp_like_syntax(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "host:dir").mkdir()

    assert not is_remote("host:dir")


@pytest.mark.parametrize(
    ("url", "scheme", "host", "user"),
    [
        ("https://user:pw@example.com:8443/r.git", "https", "example.com:8443", "user"),
        ("git@github.com:org/repo.git", "ssh", "github.com", "git"),
        ("ssh://git@host/r.git", "ssh", "host", "git"),
        ("file:///srv/r.git", "file", "", ""),
    ],
)
def test_parse_remote(url: str, scheme: str, host: str, user: str) -> None:
    remote = parse_remote(url)

    assert remote is not None
    assert (remote.scheme, remote.host, remote.username) == (scheme, host, user)


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("https://user:token@host/org/r.git", "https://***@host/org/r.git"),
        ("https://ghp_abcdef@host/org/r.git", "https://***@host/org/r.git"),
        ("https://host/org/r.git", "https://host/org/r.git"),
        ("ssh://git@host/org/r.git", "ssh://git@host/org/r.git"),
        ("ssh://git:pw@host/org/r.git", "ssh://git:***@host/org/r.git"),
        ("git@github.com:org/r.git", "git@github.com:org/r.git"),
    ],
)
def test_redact_url(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


def test_redact_text_removes_userinfo_and_known_secrets() -> None:
    text = "fatal: unable to access 'https://bot:tok@host/r.git/': header Basic Ym90OnRvaw== refused"

    assert (
        redact_text(text, ("Ym90OnRvaw==",))
        == "fatal: unable to access 'https://***@host/r.git/': header Basic *** refused"
    )


def test_the_for_git_url_keeps_no_secret() -> None:
    assert parse_remote("https://user:token@host/r.git").for_git == "https://host/r.git"  # type: ignore[union-attr]
    assert parse_remote("ssh://git:pw@host/r.git").for_git == "ssh://git@host/r.git"  # type: ignore[union-attr]


def test_cache_key_ignores_credentials_and_names_the_repository() -> None:
    key = cache_key("https://user:token@github.com/org/shop.git")

    assert key == cache_key("https://github.com/org/shop.git")
    assert key.startswith("shop-")
    assert key != cache_key("https://github.com/other/shop.git")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"GITOPS_CACHE_DIR": "/c", "XDG_CACHE_HOME": "/x"}, Path("/c")),
        ({"XDG_CACHE_HOME": "/x"}, Path("/x/gitops/sources")),
        ({}, Path.home() / ".cache/gitops/sources"),
    ],
)
def test_default_cache_dir(env: dict[str, str], expected: Path) -> None:
    assert default_cache_dir(env) == expected


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [
        ("fatal: unable to access 'https://x.invalid/r/': Could not resolve host: x.invalid", "host"),
        ("ssh: Could not resolve hostname x.invalid: Name or service not known", "host"),
        (
            "fatal: unable to access 'https://h/r/': Failed to connect to h port 443: Connection refused",
            "connect",
        ),
        (
            "ssh: connect to host h port 22: Connection refused\nfatal: Could not read from remote repository.",
            "connect",
        ),
        ("fatal: could not read Username for 'https://github.com': terminal prompts disabled", "auth"),
        (
            "git@github.com: Permission denied (publickey).\nfatal: Could not read from remote repository.",
            "auth",
        ),
        (
            "remote: HTTP Basic: Access denied\nfatal: Authentication failed for 'https://gitlab.com/r/'",
            "auth",
        ),
        ("Host key verification failed.\nfatal: Could not read from remote repository.", "hostkey"),
        ("ERROR: Repository not found.\nfatal: Could not read from remote repository.", "not_found"),
        ("fatal: '/srv/r.git' does not appear to be a git repository", "not_found"),
        ("fatal: unable to access 'https://h/r/': SSL certificate problem: self-signed certificate", "tls"),
        ("fatal: couldn't find remote ref refs/heads/gone", "revision"),
        (
            "fatal: remote error: upload-pack: not our ref 0000000000000000000000000000000000000000",
            "revision",
        ),
        ("error: object file objects/ab/cd is empty\nfatal: loose object abcd is corrupt", "corrupt"),
        ("fatal: unable to access 'https://h/r/': Operation timed out after 30000 milliseconds", "timeout"),
    ],
)
def test_classify_git_failures(stderr: str, kind: str) -> None:
    assert classify(stderr)[0] == kind


def test_unrecognised_failures_keep_only_the_last_fatal_line() -> None:
    assert classify("warning: x\nfatal: something new went wrong\nhint: try y") == (
        "other",
        "something new went wrong",
    )
