"""The source cache: where it lives, how processes share it, and the per-commit trees it hands out.

Layout under the cache directory::

    <name>-<hash>.lock          flock(2) lock of one repository's cache (kept outside it: survives re-clones)
    <name>-<hash>/repo.git      bare, usually shallow, clone of the remote
    <name>-<hash>/trees/<sha>   files of one commit, written once and never changed
    local/<name>-<hash>/...     trees of commits of local work trees (``--revision`` on a local directory)

A commit's tree never changes once written, so a process may render it while another fetches
a different revision. Trees unused for ``TREE_TTL`` seconds are removed on later fetches.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from gitops.source.git import Deadline, GitFailure, GitRunner

ENV_CACHE_DIR = "GITOPS_CACHE_DIR"
TREE_TTL = 3600.0
"""Seconds a commit's tree is kept after its last use."""
_LOCK_POLL = 0.05


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$GITOPS_CACHE_DIR``, else ``$XDG_CACHE_HOME/gitops/sources``, else ``~/.cache/gitops/sources``."""
    env = os.environ if env is None else env
    if env.get(ENV_CACHE_DIR):
        return Path(env[ENV_CACHE_DIR]).expanduser()
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser() / "gitops" / "sources"
    return Path.home() / ".cache" / "gitops" / "sources"


@contextlib.contextmanager
def locked(lock_file: Path, deadline: Deadline) -> Iterator[None]:
    """Hold an exclusive flock on ``lock_file`` (created if needed), waiting at most until ``deadline``.

    flock locks belong to the open file, so two threads of one process exclude each other too.
    """
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline.expired():
                    raise GitFailure(
                        f"timed out after {deadline.seconds:g}s waiting for another gitops process "
                        f"using the cache ({lock_file})",
                        kind="timeout",
                    ) from None
                time.sleep(_LOCK_POLL)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def materialize(git: GitRunner, sha: str, trees: Path) -> Path:
    """The files of commit ``sha`` under ``trees/<sha>``, written once (atomically) and reused after.

    Uses a private index file, so the repository's own index and work tree are never touched.
    Submodules are not checked out.
    """
    target = trees / sha
    if target.is_dir():
        os.utime(target)
        return target
    trees.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=trees))
    try:
        work = staging / "tree"
        work.mkdir()
        index = {"GIT_INDEX_FILE": str(staging / "index")}
        git.run("--work-tree", str(work), "read-tree", sha, env=index)
        git.run("--work-tree", str(work), "checkout-index", "--all", "--force", env=index)
        work.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def prune_trees(trees: Path, *, keep: Path, ttl: float = TREE_TTL) -> None:
    """Remove trees (and leftovers of interrupted writes) not used for ``ttl`` seconds, except ``keep``."""
    if not trees.is_dir():
        return
    cutoff = time.time() - ttl
    for entry in trees.iterdir():
        if entry == keep:
            continue
        with contextlib.suppress(FileNotFoundError):
            if entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)


def remove_stale_git_locks(git_dir: Path) -> None:
    """Delete ``*.lock`` files a killed git left behind; only call while holding the cache's flock."""
    candidates = [git_dir / name for name in ("shallow.lock", "packed-refs.lock", "config.lock", "HEAD.lock")]
    refs = git_dir / "refs"
    if refs.is_dir():
        candidates += refs.rglob("*.lock")
    for candidate in candidates:
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()
