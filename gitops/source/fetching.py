"""``fetch``: dispatch a SourceSpec to the local or remote path and turn failures into one-line SourceErrors."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from gitops.errors import SourceError
from gitops.objects import printable
from gitops.source import Checkout, FetchOptions, SourceSpec
from gitops.source.cache import default_cache_dir
from gitops.source.credentials import git_auth
from gitops.source.git import Deadline, GitFailure
from gitops.source.local import (
    WorkTree,
    commit_tree,
    find_work_tree,
    head_state,
    is_bare_repository,
    may_be_in_git,
    remote_url,
    root_commit,
)
from gitops.source.remote import RepositoryCache, fetch_commit_tree
from gitops.source.urls import (
    SUPPORTED_SCHEMES,
    RemoteUrl,
    is_remote,
    parse_remote,
    redact_url,
    repository_identity,
)


def fetch_source(spec: SourceSpec, options: FetchOptions) -> Checkout:
    revision = spec.revision or None
    if not spec.location:
        raise SourceError("no source given: a directory or a Git URL", revision=revision or "")
    if is_remote(spec.location):
        remote = parse_remote(spec.location)
        if remote is None or remote.scheme not in SUPPORTED_SCHEMES:
            raise _error(
                spec, "unsupported URL: use https://, ssh://, git@host:org/repo, file:// or a directory"
            )
        return _fetch_remote(spec, remote, options)
    return _fetch_local(spec, options)


def _fetch_remote(spec: SourceSpec, remote: RemoteUrl, options: FetchOptions) -> Checkout:
    deadline = Deadline(options.timeout)
    try:
        auth = git_auth(remote, options.credentials, connect_timeout=options.timeout)
        cache = RepositoryCache(_cache_dir(options), remote)
        resolved, root = fetch_commit_tree(cache, spec.revision or None, auth, deadline)
    except GitFailure as failure:
        raise _error(spec, failure.cause) from failure
    except SourceError as err:  # an unreadable token file
        raise _error(spec, str(err)) from err
    except OSError as err:
        raise _error(spec, f"cannot write the cache {_cache_dir(options)}: {err.strerror}") from err
    return Checkout(
        spec=spec,
        root=root,
        directory=_directory(spec, root, root, at=resolved.sha),
        revision=resolved.sha,
        display=remote.display,
        ref=resolved.ref,
        repository=repository_identity(remote.url),
    )


def _fetch_local(spec: SourceSpec, options: FetchOptions) -> Checkout:
    given = Path(spec.location).expanduser()
    problem = _directory_problem(given, "no such directory")
    if problem:
        raise _error(spec, problem)
    deadline = Deadline(options.timeout)
    try:
        in_git = may_be_in_git(given)
        if in_git and is_bare_repository(given, deadline):
            return _fetch_remote(
                spec, RemoteUrl(url=given.resolve().as_uri(), scheme="file", host=""), options
            )
        tree = find_work_tree(given, deadline) if in_git else None
        if tree is None:
            if spec.revision:
                raise _error(spec, "--revision needs a Git repository, and this directory is in none")
            root = given.resolve()
            return Checkout(
                spec=spec,
                root=root,
                directory=_directory(spec, root, root, in_git=False),
                revision=None,
                display=spec.location,
            )
        repository = _identity(tree, deadline)
        if spec.revision:
            sha, root = commit_tree(tree, spec.revision, _cache_dir(options), deadline)
            base = root / tree.relative
            return Checkout(
                spec=spec,
                root=root,
                directory=_directory(spec, base, root, at=sha),
                revision=sha,
                display=spec.location,
                repository=repository,
            )
        base = tree.top / tree.relative
        directory = _directory(spec, base, tree.top)
        head, dirty = head_state(tree, directory.relative_to(tree.top), deadline)
        return Checkout(
            spec=spec, root=tree.top, directory=directory, revision=head, dirty=dirty, display=spec.location,
            repository=repository,
        )
    except GitFailure as failure:
        raise _error(spec, failure.cause) from failure
    except OSError as err:
        raise _error(spec, f"cannot write the cache {_cache_dir(options)}: {err.strerror}") from err


def _identity(tree: WorkTree, deadline: Deadline) -> str:
    """What the work tree's repository is: its remote, else its root commit (``git:SHA``), else nothing."""
    url = remote_url(tree, deadline)
    if url:
        return repository_identity(url)
    root = root_commit(tree, deadline)
    return f"git:{root}" if root else ""


def _directory(spec: SourceSpec, base: Path, root: Path, *, at: str = "", in_git: bool = True) -> Path:
    """``base / spec.path``, checked: relative, inside ``root``, an existing directory."""
    if not spec.path.strip("/"):
        return base
    where = (" in the repository" if in_git else "") + (f" at {at[:12]}" if at else "")
    if PurePosixPath(spec.path).is_absolute():
        raise _error(spec, f"path {spec.path!r} must be relative")
    if "\x00" in spec.path:
        raise _error(spec, f"path {spec.path!r} is not a valid path")
    directory = Path(os.path.normpath(base / spec.path))
    try:
        leaves = not directory.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError) as err:  # a symlink loop (RuntimeError before Python 3.13)
        raise _error(spec, f"path {spec.path!r} cannot be read: {getattr(err, 'strerror', None) or 'symlink loop'}") from err
    if leaves:
        raise _error(spec, f"path {spec.path!r} leaves {'the repository' if in_git else 'the directory'}")
    problem = _directory_problem(directory, "not found")
    if problem:
        missing = problem == "not found"
        raise _error(spec, f"path {spec.path!r} {problem}{where}", path_missing=missing)
    return directory


def _directory_problem(path: Path, missing: str) -> str:
    """Why ``path`` is no directory to render (``missing`` when it does not exist); ``""`` when it is one."""
    try:
        if path.is_dir():
            return ""
        return "is not a directory" if path.exists() else missing
    except OSError as err:  # a name longer than the system allows, a loop of symlinks
        return f"cannot be read: {err.strerror or err}"
    except ValueError:  # a NUL byte
        return "is not a valid path"


def _cache_dir(options: FetchOptions) -> Path:
    return options.cache_dir if options.cache_dir is not None else default_cache_dir()


def _error(spec: SourceSpec, cause: str, *, path_missing: bool = False) -> SourceError:
    """``<repository> (revision <r>): <cause>``, on one line, credentials redacted."""
    display = printable(redact_url(spec.location))
    label = (
        f"revision {spec.revision}" if spec.revision else "default branch" if is_remote(spec.location) else ""
    )
    cause = " ".join(cause.split())
    return SourceError(
        f"{display} ({label}): {cause}" if label else f"{display}: {cause}",
        repository=display,
        revision=spec.revision or "",
        path_missing=path_missing,
    )
