"""Local directories: used as they are, or, with ``--revision`` inside a Git work tree, that commit's files.

Inside a work tree the checkout's root is the work tree's top, so origins read as repository paths
(``apps/web/deploy.yaml``) whether the source is local or remote. ``--path`` is relative to the
directory given.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gitops.source.cache import locked, materialize, prune_trees
from gitops.source.credentials import NO_PROMPTS
from gitops.source.git import Deadline, GitFailure, GitRunner
from gitops.source.remote import check_revision, unknown_revision
from gitops.source.urls import cache_key

# Reading status must not take the index lock a concurrent `git commit` of the user needs.
_READ_ONLY = {**NO_PROMPTS, "GIT_OPTIONAL_LOCKS": "0"}


@dataclass(frozen=True)
class WorkTree:
    """Where a local directory sits in Git."""

    top: Path
    """The work tree's top directory (symlinks resolved)."""
    git_dir: Path
    relative: Path
    """The directory given, relative to ``top``."""


def may_be_in_git(directory: Path, environ: Mapping[str, str] = os.environ) -> bool:
    """False only when git cannot find a repository for ``directory``: no ``$GIT_DIR``, and neither it
    nor any parent holds a ``.git`` entry or is itself a repository (``HEAD`` beside ``objects``).

    A few stat calls, so a plain directory never starts git (nor imports GitPython, about 0.1 s).
    """
    if environ.get("GIT_DIR"):
        return True
    here = directory.resolve()
    for candidate in (here, *here.parents):
        if os.path.lexists(candidate / ".git"):
            return True
        if os.path.lexists(candidate / "HEAD") and os.path.isdir(candidate / "objects"):
            return True
    return False


def find_work_tree(directory: Path, deadline: Deadline) -> WorkTree | None:
    """The work tree holding ``directory``; ``None`` when it is in none. Raises GitFailure when git refuses it."""
    git = GitRunner(cwd=directory, env=_READ_ONLY, deadline=deadline)
    try:
        top, git_dir = git.run("rev-parse", "--show-toplevel", "--absolute-git-dir").splitlines()
    except GitFailure as failure:
        if "dubious ownership" in failure.details:
            raise GitFailure(
                f"git refuses the repository: it belongs to another user "
                f"(trust it with: git config --global --add safe.directory {directory})"
            ) from failure
        return None
    top_path = Path(top).resolve()
    return WorkTree(top=top_path, git_dir=Path(git_dir), relative=directory.resolve().relative_to(top_path))


def is_bare_repository(directory: Path, deadline: Deadline) -> bool:
    git = GitRunner(cwd=directory, git_dir=directory, env=_READ_ONLY, deadline=deadline)
    try:
        return git.run("rev-parse", "--is-bare-repository") == "true"
    except GitFailure:
        return False


def head_state(tree: WorkTree, scope: Path, deadline: Deadline) -> tuple[str | None, bool]:
    """``(HEAD SHA or None before the first commit, uncommitted changes under scope)``.

    Untracked files count as changes (they are rendered); ignored files do not.
    """
    git = GitRunner(cwd=tree.top, env=_READ_ONLY, deadline=deadline)
    try:
        head: str | None = git.run("rev-parse", "--verify", "--quiet", "HEAD")
    except GitFailure:
        head = None
    status = git.run("status", "--porcelain", "--untracked-files=normal", "--", str(scope))
    return head, bool(status.strip())


def remote_url(tree: WorkTree, deadline: Deadline) -> str | None:
    """The URL of the work tree's ``origin`` remote (else of its first remote); ``None`` without remotes."""
    git = GitRunner(cwd=tree.top, env=_READ_ONLY, deadline=deadline)
    try:
        remotes = git.run("remote").split()
    except GitFailure:
        return None
    for name in (["origin"] if "origin" in remotes else []) + sorted(remotes):
        try:
            url = git.run("remote", "get-url", name).strip()
        except GitFailure:
            continue
        if url:
            return url
    return None


def root_commit(tree: WorkTree, deadline: Deadline) -> str | None:
    """The first commit of HEAD's history (the same in every full clone); ``None`` before the first
    commit or in a shallow clone, whose oldest commit is no root."""
    git = GitRunner(cwd=tree.top, env=_READ_ONLY, deadline=deadline)
    try:
        if git.run("rev-parse", "--is-shallow-repository") == "true":
            return None
        roots = git.run("rev-list", "--max-parents=0", "HEAD").split()
    except GitFailure:
        return None
    return sorted(roots)[0] if roots else None


def commit_tree(tree: WorkTree, revision: str, cache_dir: Path, deadline: Deadline) -> tuple[str, Path]:
    """Resolve ``revision`` in the local repository and write that commit's files into the cache.

    ``origin/<revision>`` is tried too, for a CI clone that has the remote branch but no local one.
    """
    check_revision(revision, expressions=True)
    git = GitRunner(cwd=tree.top, git_dir=tree.git_dir, env=_READ_ONLY, deadline=deadline)
    sha = _resolve_local(git, revision)
    base = cache_dir / "local" / cache_key(str(tree.git_dir))
    with locked(base.with_name(base.name + ".lock"), deadline):
        directory = materialize(git, sha, base / "trees")
        prune_trees(base / "trees", keep=directory)
    return sha, directory


def _resolve_local(git: GitRunner, revision: str) -> str:
    for candidate in (revision, f"refs/remotes/origin/{revision}"):
        try:
            return git.run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{candidate}^{{commit}}")
        except GitFailure:
            continue
    failure = unknown_revision(revision)
    if git.run("rev-parse", "--is-shallow-repository") == "true":
        failure = GitFailure(
            f"{failure.cause}; the clone is shallow: fetch more history (actions/checkout: fetch-depth: 0)",
            kind="revision",
        )
    raise failure
