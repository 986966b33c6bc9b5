"""Local directories: plain directories, Git work trees (clean, dirty), and --revision on a work tree."""

from __future__ import annotations

from pathlib import Path

import pytest
from source_repos import ReadValue, configmap, git

from gitops.errors import SourceError
from gitops.source import FetchOptions, SourceSpec, fetch


@pytest.fixture
def work_tree(tmp_path: Path) -> Path:
    """A work tree with two commits: ``apps/web`` is ``one`` then ``two``; ``apps/db`` exists in both."""
    top = tmp_path / "repo"
    git(tmp_path, "init", "-q", "-b", "main", str(top))
    for value in ("one", "two"):
        (top / "apps/web").mkdir(parents=True, exist_ok=True)
        (top / "apps/db").mkdir(parents=True, exist_ok=True)
        (top / "apps/web/config.yaml").write_text(configmap(value))
        (top / "apps/db/config.yaml").write_text(configmap("db"))
        git(top, "add", "-A")
        git(top, "commit", "-q", "-m", value)
    return top


def test_plain_directory_is_used_as_it_is(
    tmp_path: Path, options: FetchOptions, read_value: ReadValue
) -> None:
    (tmp_path / "manifests/apps/web").mkdir(parents=True)
    (tmp_path / "manifests/apps/web/config.yaml").write_text(configmap("plain"))

    checkout = fetch(SourceSpec(location=str(tmp_path / "manifests"), path="apps"), options)

    assert checkout.root == (tmp_path / "manifests").resolve()
    assert checkout.directory == checkout.root / "apps"
    assert read_value(checkout.root) == "plain"
    assert (checkout.revision, checkout.dirty, checkout.display) == (None, False, str(tmp_path / "manifests"))


def test_missing_directory(tmp_path: Path, options: FetchOptions) -> None:
    with pytest.raises(SourceError) as caught:
        fetch(SourceSpec(location=str(tmp_path / "nowhere")), options)

    assert str(caught.value) == f"{tmp_path / 'nowhere'}: no such directory"
    assert caught.value.exit_code == 3


def test_revision_on_a_directory_outside_git_is_refused(tmp_path: Path, options: FetchOptions) -> None:
    with pytest.raises(SourceError, match=r"\(revision main\): --revision needs a Git repository"):
        fetch(SourceSpec(location=str(tmp_path), revision="main"), options)


def test_clean_work_tree_reports_head(work_tree: Path, options: FetchOptions) -> None:
    checkout = fetch(SourceSpec(location=str(work_tree)), options)

    assert checkout.revision == git(work_tree, "rev-parse", "HEAD")
    assert not checkout.dirty
    assert checkout.root == checkout.directory == work_tree.resolve()


def test_subdirectory_of_a_work_tree_keeps_the_work_tree_as_root(
    work_tree: Path, options: FetchOptions
) -> None:
    checkout = fetch(SourceSpec(location=str(work_tree / "apps"), path="web"), options)

    assert checkout.root == work_tree.resolve()
    assert checkout.directory == work_tree.resolve() / "apps" / "web"


@pytest.mark.parametrize(
    "change",
    [
        lambda top: (top / "apps/web/config.yaml").write_text(configmap("edited")),
        lambda top: (top / "apps/web/new.yaml").write_text(configmap("untracked")),
        lambda top: (top / "apps/web/config.yaml").unlink(),
    ],
    ids=["modified", "untracked", "deleted"],
)
def test_uncommitted_changes_make_the_work_tree_dirty(work_tree: Path, options: FetchOptions, change) -> None:
    change(work_tree)

    checkout = fetch(SourceSpec(location=str(work_tree)), options)

    assert checkout.dirty
    assert checkout.revision == git(work_tree, "rev-parse", "HEAD")


def test_dirty_counts_only_the_directory_rendered(work_tree: Path, options: FetchOptions) -> None:
    (work_tree / "apps/db/config.yaml").write_text(configmap("edited"))

    assert not fetch(SourceSpec(location=str(work_tree / "apps/web")), options).dirty
    assert fetch(SourceSpec(location=str(work_tree), path="apps/db"), options).dirty


def test_ignored_files_do_not_make_it_dirty(work_tree: Path, options: FetchOptions) -> None:
    (work_tree / ".gitignore").write_text("*.tmp\n")
    git(work_tree, "add", ".gitignore")
    git(work_tree, "commit", "-q", "-m", "ignore")
    (work_tree / "apps/web/scratch.tmp").write_text("x")

    assert not fetch(SourceSpec(location=str(work_tree)), options).dirty


def test_work_tree_without_commits_has_no_revision(tmp_path: Path, options: FetchOptions) -> None:
    git(tmp_path, "init", "-q", "fresh")
    (tmp_path / "fresh/config.yaml").write_text(configmap("new"))

    checkout = fetch(SourceSpec(location=str(tmp_path / "fresh")), options)

    assert (checkout.revision, checkout.dirty) == (None, True)


def test_revision_of_a_work_tree_renders_that_commit_without_touching_the_work_tree(
    work_tree: Path, options: FetchOptions, read_value: ReadValue
) -> None:
    (work_tree / "apps/web/config.yaml").write_text(configmap("uncommitted"))
    status_before = git(work_tree, "status", "--porcelain")
    first = git(work_tree, "rev-parse", "HEAD~1")

    checkout = fetch(SourceSpec(location=str(work_tree / "apps"), revision="HEAD~1", path="web"), options)

    assert (checkout.revision, checkout.dirty) == (first, False)
    assert checkout.directory == checkout.root / "apps" / "web"
    assert read_value(checkout.root) == "one"
    assert not checkout.root.is_relative_to(work_tree)
    assert read_value(work_tree) == "uncommitted"
    assert git(work_tree, "status", "--porcelain") == status_before


def test_revision_of_a_work_tree_may_name_a_remote_branch(
    work_tree: Path, options: FetchOptions, read_value: ReadValue
) -> None:
    first = git(work_tree, "rev-parse", "HEAD~1")
    git(work_tree, "update-ref", "refs/remotes/origin/release", first)

    checkout = fetch(SourceSpec(location=str(work_tree), revision="release"), options)

    assert checkout.revision == first
    assert read_value(checkout.directory) == "one"


def test_unknown_revision_of_a_work_tree(work_tree: Path, options: FetchOptions) -> None:
    with pytest.raises(SourceError) as caught:
        fetch(SourceSpec(location=str(work_tree), revision="nope"), options)

    assert (
        str(caught.value)
        == f"{work_tree} (revision nope): unknown revision 'nope' (no such branch, tag or commit)"
    )


def test_shallow_clone_hints_at_fetching_more_history(
    work_tree: Path, tmp_path: Path, options: FetchOptions
) -> None:
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth=1", work_tree.as_uri(), str(shallow))
    old = git(work_tree, "rev-parse", "HEAD~1")

    with pytest.raises(SourceError, match=r"the clone is shallow: fetch more history"):
        fetch(SourceSpec(location=str(shallow), revision=old), options)


def test_missing_path_in_a_work_tree(work_tree: Path, options: FetchOptions) -> None:
    with pytest.raises(SourceError) as caught:
        fetch(SourceSpec(location=str(work_tree), path="apps/nope"), options)

    assert str(caught.value) == f"{work_tree}: path 'apps/nope' not found in the repository"


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("absent", "path 'absent' not found"),
        ("../..", "path '../..' leaves the directory"),
        ("/etc", "path '/etc' must be relative"),
    ],
)
def test_bad_path_in_a_plain_directory(
    tmp_path: Path, options: FetchOptions, path: str, problem: str
) -> None:
    with pytest.raises(SourceError) as caught:
        fetch(SourceSpec(location=str(tmp_path), path=path), options)

    assert str(caught.value) == f"{tmp_path}: {problem}"
