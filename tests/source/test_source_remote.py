"""Remote repositories, with a bare repository served over file:// standing in for the remote."""

from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from source_repos import History, ReadValue, Upstream, configmap, git, make_upstream

from gitops.errors import EXIT_SOURCE, SourceError
from gitops.source import Checkout, FetchOptions, SourceSpec, fetch


def fetch_from(url: str, options: FetchOptions, revision: str | None = None, path: str = "") -> Checkout:
    return fetch(SourceSpec(location=url, revision=revision, path=path), options)


def cached_repository(options: FetchOptions) -> Path:
    """The one repository the cache holds (the cache layout is documented in the README)."""
    assert options.cache_dir is not None
    (repository,) = options.cache_dir.glob("*/repo.git")
    return repository


def has_object(repository: Path, sha: str) -> bool:
    done = subprocess.run(["git", "--git-dir", str(repository), "cat-file", "-e", sha], capture_output=True)
    return done.returncode == 0


# -- revisions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("revision", "expected", "value", "ref"),
    [
        (None, "two", "two", "main"),
        ("main", "two", "two", "main"),
        ("feature", "three", "three", "feature"),
        ("v1", "one", "one", "v1"),
        ("v2", "two", "two", "v2"),  # annotated tag: the commit it points to is reported
        ("refs/heads/feature", "three", "three", "refs/heads/feature"),
    ],
)
def test_branches_and_tags_resolve_to_their_commit(
    history: History,
    shared_options: FetchOptions,
    read_value: ReadValue,
    revision: str | None,
    expected: str,
    value: str,
    ref: str,
) -> None:
    checkout = fetch_from(history.upstream.url, shared_options, revision)

    assert checkout.revision == getattr(history, expected)
    assert checkout.ref == ref
    assert read_value(checkout.directory) == value
    assert checkout.root == checkout.directory
    assert checkout.display == history.upstream.url
    assert not checkout.dirty


@pytest.mark.parametrize("length", [40, 12, 7])
def test_commit_shas_full_and_short_resolve_to_the_full_sha(
    history: History, options: FetchOptions, read_value: ReadValue, length: int
) -> None:
    checkout = fetch_from(history.upstream.url, options, history.one[:length])

    assert checkout.revision == history.one
    assert read_value(checkout.directory) == "one"


def test_short_sha_already_cached_needs_no_deeper_fetch(history: History, options: FetchOptions) -> None:
    fetch_from(history.upstream.url, options, "feature")

    assert fetch_from(history.upstream.url, options, history.three[:8]).revision == history.three


def test_default_branch_is_the_remotes_head(
    tmp_path: Path, options: FetchOptions, read_value: ReadValue
) -> None:
    repo = make_upstream(tmp_path, branch="trunk")
    sha = repo.commit({"apps/web/config.yaml": configmap("trunk")})
    repo.push("trunk")

    checkout = fetch_from(repo.url, options)

    assert (checkout.revision, checkout.ref) == (sha, "trunk")
    assert read_value(checkout.directory) == "trunk"


def test_path_selects_a_directory_inside_the_repository(
    history: History, shared_options: FetchOptions
) -> None:
    checkout = fetch_from(history.upstream.url, shared_options, "v2", path="apps/db")

    assert checkout.directory == checkout.root / "apps" / "db"
    assert (checkout.directory / "config.yaml").read_text() == configmap("db")


def test_each_commit_has_its_own_directory_that_later_fetches_leave_alone(
    history: History, shared_options: FetchOptions, read_value: ReadValue
) -> None:
    one = fetch_from(history.upstream.url, shared_options, "v1")
    three = fetch_from(history.upstream.url, shared_options, "feature")

    assert one.root != three.root
    assert read_value(one.directory) == "one"
    assert read_value(three.directory) == "three"


# -- failures --------------------------------------------------------------------------------------


@pytest.mark.parametrize("revision", ["nope", "0" * 40, "abcdef1"])
def test_unknown_revision_is_a_one_line_source_error(
    history: History, shared_options: FetchOptions, revision: str
) -> None:
    with pytest.raises(SourceError) as caught:
        fetch_from(history.upstream.url, shared_options, revision)

    message = str(caught.value)
    assert message == (
        f"{history.upstream.url} (revision {revision}): "
        f"unknown revision {revision!r} (no such branch, tag or commit)"
    )
    assert caught.value.exit_code == EXIT_SOURCE
    assert (caught.value.repository, caught.value.revision) == (history.upstream.url, revision)


def test_revision_that_looks_like_an_option_is_refused(
    history: History, shared_options: FetchOptions
) -> None:
    with pytest.raises(SourceError, match=r"invalid revision '--upload-pack=touch /tmp/x'"):
        fetch_from(history.upstream.url, shared_options, "--upload-pack=touch /tmp/x")


@pytest.mark.parametrize(
    ("path", "problem", "missing"),
    [
        ("apps/missing", "path 'apps/missing' not found in the repository at ", True),
        ("apps/web/config.yaml", "path 'apps/web/config.yaml' is not a directory in the repository at ", False),
        ("../..", "path '../..' leaves the repository", False),
    ],
)
def test_bad_path_names_the_repository_revision_and_path(
    history: History, shared_options: FetchOptions, path: str, problem: str, missing: bool
) -> None:
    with pytest.raises(SourceError) as caught:
        fetch_from(history.upstream.url, shared_options, "v1", path=path)

    assert str(caught.value).startswith(f"{history.upstream.url} (revision v1): {problem}")
    assert "\n" not in str(caught.value)
    assert caught.value.path_missing is missing


def test_missing_repository(tmp_path: Path, options: FetchOptions) -> None:
    url = (tmp_path / "absent.git").as_uri()

    with pytest.raises(SourceError) as caught:
        fetch_from(url, options)

    assert str(caught.value) == f"{url} (default branch): repository not found (or no access to it)"


def test_empty_repository(tmp_path: Path, options: FetchOptions) -> None:
    git(tmp_path, "init", "-q", "--bare", "empty.git")
    url = (tmp_path / "empty.git").as_uri()

    with pytest.raises(SourceError, match=r"the repository is empty"):
        fetch_from(url, options)


# -- the cache across runs -------------------------------------------------------------------------


def test_a_later_run_reuses_the_cache_and_picks_up_new_commits(
    upstream: Upstream, options: FetchOptions, read_value: ReadValue
) -> None:
    first = fetch_from(upstream.url, options)
    repository = cached_repository(options)
    new = upstream.commit({"apps/web/config.yaml": configmap("new")})
    upstream.push("main")

    second = fetch_from(upstream.url, options)

    assert second.revision == new != first.revision
    assert read_value(second.directory) == "new"
    assert cached_repository(options) == repository
    assert has_object(repository, str(first.revision))  # the cache was fetched into, not cloned again


def test_force_pushed_branch_is_followed(
    upstream: Upstream, options: FetchOptions, read_value: ReadValue
) -> None:
    before = fetch_from(upstream.url, options, "main")
    git(upstream.work, "reset", "-q", "--hard", "HEAD")
    (upstream.work / "apps/web/config.yaml").write_text(configmap("rewritten"))
    git(upstream.work, "commit", "-q", "-a", "--amend", "-m", "rewritten")
    upstream.push("main", force=True)

    after = fetch_from(upstream.url, options, "main")

    assert after.revision == upstream.sha("HEAD") != before.revision
    assert read_value(after.directory) == "rewritten"


def test_repository_that_disappears_fails_clearly_and_the_cache_works_when_it_is_back(
    upstream: Upstream, options: FetchOptions, read_value: ReadValue
) -> None:
    fetch_from(upstream.url, options)
    moved = upstream.bare.with_name("moved.git")
    upstream.bare.rename(moved)

    with pytest.raises(SourceError, match=r"\(default branch\): repository not found"):
        fetch_from(upstream.url, options)

    moved.rename(upstream.bare)
    new = upstream.commit({"apps/web/config.yaml": configmap("back")})
    upstream.push("main")
    checkout = fetch_from(upstream.url, options)
    assert checkout.revision == new
    assert read_value(checkout.directory) == "back"


def test_corrupt_cache_is_cloned_again(upstream: Upstream, options: FetchOptions) -> None:
    fetch_from(upstream.url, options)
    repository = cached_repository(options)
    shutil.rmtree(repository / "objects")
    (repository / "HEAD").write_text("garbage\n")

    assert fetch_from(upstream.url, options).revision == upstream.sha("HEAD")


def test_lock_files_left_by_a_killed_git_do_not_block_later_runs(
    upstream: Upstream, options: FetchOptions
) -> None:
    fetch_from(upstream.url, options)
    repository = cached_repository(options)
    (repository / "shallow.lock").write_text("")
    new = upstream.commit({"apps/web/config.yaml": configmap("after-crash")})
    upstream.push("main")

    assert fetch_from(upstream.url, options).revision == new


def test_concurrent_fetches_share_the_cache_safely(history: History, options: FetchOptions) -> None:
    revisions = ["main", "feature", "v1", history.two, "main", "feature"]
    expected = [history.two, history.three, history.one, history.two, history.two, history.three]

    with ThreadPoolExecutor(max_workers=len(revisions)) as pool:
        checkouts = list(pool.map(lambda r: fetch_from(history.upstream.url, options, r), revisions))

    assert [c.revision for c in checkouts] == expected
    assert all((c.directory / "apps/web/config.yaml").is_file() for c in checkouts)


def test_a_bare_repository_directory_is_fetched_like_its_file_url(
    history: History, shared_options: FetchOptions
) -> None:
    checkout = fetch(SourceSpec(location=str(history.upstream.bare), revision="v1"), shared_options)

    assert checkout.revision == history.one
    assert checkout.display == history.upstream.url


def test_trees_of_commits_unused_for_an_hour_are_removed(history: History, options: FetchOptions) -> None:
    old = fetch_from(history.upstream.url, options, "v1")
    two_hours_ago = old.root.stat().st_mtime - 7200
    os.utime(old.root, (two_hours_ago, two_hours_ago))

    current = fetch_from(history.upstream.url, options, "feature")

    assert not old.root.exists()
    assert current.root.is_dir()
    assert fetch_from(history.upstream.url, options, "v1").root.is_dir()  # written again when asked for
