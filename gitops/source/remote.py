"""Remote repositories: a shallow clone per URL in the cache, fetched on later runs, resolved to a commit.

Per run, under the cache's lock:

1. open the cached bare repository (created on first use; deleted and re-created when corrupt);
2. ask the remote which commit the revision names (``git ls-remote``: one round trip);
3. fetch that commit shallowly unless it is already cached (``+refspec``: a force-pushed branch is followed);
4. write the commit's files to ``trees/<sha>`` (once per commit) and return that directory.

A failed fetch changes nothing that a later run depends on: git writes objects before it moves refs,
leftover git lock files are removed under our own lock, and a repository git calls corrupt is re-cloned.
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from gitops.source.cache import locked, materialize, prune_trees, remove_stale_git_locks
from gitops.source.credentials import GitAuth
from gitops.source.git import Deadline, GitFailure, GitRunner
from gitops.source.urls import RemoteUrl, cache_key

log = logging.getLogger(__name__)

FULL_SHA = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
SHORT_SHA = re.compile(r"[0-9a-fA-F]{4,63}")


@dataclass(frozen=True)
class Resolved:
    """The commit a revision named, with the branch or tag it came from (``""`` for a commit SHA)."""

    sha: str
    ref: str = ""


@dataclass(frozen=True)
class Advertised:
    """What ``git ls-remote --symref`` said: ref name -> object, peeled tags, and where HEAD points."""

    refs: dict[str, str] = field(default_factory=dict)
    head_target: str | None = None
    """``refs/heads/main`` when the remote's HEAD is a symbolic ref."""

    @classmethod
    def parse(cls, output: str) -> Advertised:
        """Pure: parse ``ls-remote --symref`` output."""
        refs: dict[str, str] = {}
        head_target = None
        for line in output.splitlines():
            left, _, name = line.partition("\t")
            if left.startswith("ref: "):
                if name == "HEAD":
                    head_target = left.removeprefix("ref: ")
            elif name:
                refs[name] = left
        return cls(refs=refs, head_target=head_target)


@dataclass
class RepositoryCache:
    """One remote's corner of the cache directory."""

    cache_dir: Path
    remote: RemoteUrl

    @property
    def base(self) -> Path:
        return self.cache_dir / cache_key(self.remote.url)

    @property
    def repo(self) -> Path:
        return self.base / "repo.git"

    @property
    def trees(self) -> Path:
        return self.base / "trees"

    @property
    def lock_file(self) -> Path:
        return self.cache_dir / f"{cache_key(self.remote.url)}.lock"

    def runner(self, auth: GitAuth, deadline: Deadline) -> GitRunner:
        return GitRunner(
            cwd=self.cache_dir, git_dir=self.repo, env=auth.env, secrets=auth.secrets, deadline=deadline
        )

    def open(self, git: GitRunner) -> None:
        """Make ``repo`` a healthy bare repository whose origin is the remote; re-create it when it is not."""
        origin = self._origin(git) if self.repo.exists() else None
        if self.repo.exists() and origin is None:
            log.warning("source cache %s is corrupt: cloning again", self.base)
            self.discard()
        if not self.repo.exists():
            self._create(git)
        remove_stale_git_locks(self.repo)
        if origin is not None and origin != self.remote.for_git:  # same repository, other SSH user
            git.run("config", "remote.origin.url", self.remote.for_git)

    def discard(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)

    def _origin(self, git: GitRunner) -> str | None:
        """The cached repository's origin URL; ``None`` when git does not see a sound bare repository."""
        try:
            if git.run("rev-parse", "--is-bare-repository") != "true":
                return None
            return git.run("config", "--get", "remote.origin.url") or None
        except GitFailure:
            return None

    def _create(self, git: GitRunner) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        staging = self.base / "repo.git.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        init = GitRunner(cwd=self.base, env=git.env, secrets=git.secrets, deadline=git.deadline)
        init.run("init", "--quiet", "--bare", str(staging))
        setup = GitRunner(
            cwd=self.base, git_dir=staging, env=git.env, secrets=git.secrets, deadline=git.deadline
        )
        setup.run("config", "remote.origin.url", self.remote.for_git)
        setup.run("config", "gc.autoDetach", "false")  # no background gc racing a re-clone
        staging.rename(self.repo)


def fetch_commit_tree(
    cache: RepositoryCache, revision: str | None, auth: GitAuth, deadline: Deadline
) -> tuple[Resolved, Path]:
    """Resolve ``revision`` on the remote, fetch it into the cache and return its tree directory.

    Raises GitFailure. A cache that git finds corrupt is discarded and fetched again once.
    """
    with locked(cache.lock_file, deadline):
        git = cache.runner(auth, deadline)
        for attempt in (1, 2):
            try:
                cache.open(git)
                resolved = resolve(git, revision)
                tree = materialize(git, resolved.sha, cache.trees)
                prune_trees(cache.trees, keep=tree)
                return resolved, tree
            except GitFailure as failure:
                if failure.kind != "corrupt" or attempt == 2:
                    raise
                log.warning("source cache %s is corrupt (%s): cloning again", cache.base, failure.cause)
                cache.discard()
    raise AssertionError("unreachable")


def resolve(git: GitRunner, revision: str | None) -> Resolved:
    """The commit ``revision`` names on the remote, fetched into the cache (network access)."""
    if revision is None:
        return _default_branch(git)
    check_revision(revision)
    if FULL_SHA.fullmatch(revision):
        return Resolved(_fetch_commit(git, revision.lower()))
    candidates = (
        [revision] if revision.startswith("refs/") else [f"refs/heads/{revision}", f"refs/tags/{revision}"]
    )
    advertised = _ls_remote(git, *candidates)
    for name in candidates:
        if name in advertised.refs:
            return Resolved(_fetch_ref(git, name, advertised.refs[name]), ref=revision)
    if SHORT_SHA.fullmatch(revision):
        return Resolved(_fetch_short_commit(git, revision.lower()))
    raise unknown_revision(revision)


def check_revision(revision: str, *, expressions: bool = False) -> None:
    """Refuse what no ref or SHA can be, and what git could mistake for an option. Pure.

    ``expressions`` allows ``HEAD~1``-style revision expressions (local repositories).
    """
    forbidden = r"[\s\x00-\x1f\x7f]" if expressions else r"[\s\x00-\x1f\x7f~^:?*\[\\]"
    if not revision or revision.startswith("-") or re.search(forbidden, revision):
        raise GitFailure(f"invalid revision {revision!r}", kind="revision")


def unknown_revision(revision: str) -> GitFailure:
    return GitFailure(f"unknown revision {revision!r} (no such branch, tag or commit)", kind="revision")


def _ls_remote(git: GitRunner, *patterns: str) -> Advertised:
    return Advertised.parse(git.run("ls-remote", "--symref", "origin", *patterns))


def _default_branch(git: GitRunner) -> Resolved:
    advertised = _ls_remote(git, "HEAD")
    if "HEAD" not in advertised.refs:
        raise GitFailure("the repository is empty (it has no default branch)", kind="revision")
    target = advertised.head_target or "HEAD"  # a remote HEAD may be detached
    return Resolved(_fetch_ref(git, target, advertised.refs["HEAD"]), ref=target.removeprefix("refs/heads/"))


def _local_ref(name: str) -> str:
    """Where a remote ref is kept in the cache."""
    if name.startswith("refs/heads/"):
        return "refs/remotes/origin/" + name.removeprefix("refs/heads/")
    if name.startswith("refs/tags/"):
        return name
    return "refs/gitops/" + name.removeprefix("refs/")


def _fetch_ref(git: GitRunner, name: str, advertised_sha: str) -> str:
    """Bring ref ``name`` (advertised at ``advertised_sha``) into the cache; return its commit."""
    local = _local_ref(name)
    if git.succeeds("cat-file", "-e", f"{advertised_sha}^{{commit}}"):
        git.run("update-ref", local, advertised_sha)  # already cached: no transfer at all
    else:
        try:
            git.run("fetch", "--quiet", "--depth=1", "--no-tags", "origin", f"+{name}:{local}")
        except GitFailure as failure:
            if failure.kind == "revision":  # the ref vanished between ls-remote and fetch
                raise unknown_revision(
                    name.removeprefix("refs/heads/").removeprefix("refs/tags/")
                ) from failure
            raise
    return git.run("rev-parse", "--verify", f"{local}^{{commit}}")


def _fetch_commit(git: GitRunner, sha: str) -> str:
    """Bring commit ``sha`` into the cache, pinned by ``refs/gitops/commits/<sha>``."""
    if not git.succeeds("cat-file", "-e", f"{sha}^{{commit}}"):
        try:
            git.run("fetch", "--quiet", "--depth=1", "--no-tags", "origin", sha)
        except GitFailure as failure:
            if failure.kind != "revision":
                raise
            if "unadvertised object" not in failure.details:
                raise unknown_revision(sha) from failure
            _fetch_everything(git)  # an old server that only serves advertised refs
        if not git.succeeds("cat-file", "-e", f"{sha}^{{commit}}"):
            raise unknown_revision(sha)
    git.run("update-ref", f"refs/gitops/commits/{sha}", sha)
    return sha


def _fetch_short_commit(git: GitRunner, prefix: str) -> str:
    """A short SHA cannot be fetched by name: look in the cache, else fetch the whole history and look again."""
    sha = _local_commit(git, prefix)
    if sha is None:
        _fetch_everything(git)
        sha = _local_commit(git, prefix)
    if sha is None:
        raise unknown_revision(prefix)
    git.run("update-ref", f"refs/gitops/commits/{sha}", sha)
    return sha


def _local_commit(git: GitRunner, prefix: str) -> str | None:
    try:
        return git.run("rev-parse", "--verify", "--quiet", f"{prefix}^{{commit}}")
    except GitFailure as failure:
        if "ambiguous" in failure.details:
            raise GitFailure(
                f"short SHA {prefix!r} is ambiguous: give more digits", kind="revision"
            ) from None
        return None


def _fetch_everything(git: GitRunner) -> None:
    unshallow = ["--unshallow"] if git.run("rev-parse", "--is-shallow-repository") == "true" else []
    git.run(
        "fetch",
        "--quiet",
        *unshallow,
        "--no-tags",
        "origin",
        "+refs/heads/*:refs/remotes/origin/*",
        "+refs/tags/*:refs/tags/*",
    )
