"""Helpers for the source tests: a bare repository served over file:// stands in for a remote."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Builds the fixtures only; the code under test runs git through gitops.source with the process environment.
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def configmap(value: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  value: {value}\n"


@dataclass
class Upstream:
    """A bare repository (``url`` is its file:// URL) and a work tree that pushes to it."""

    bare: Path
    work: Path

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        for name, text in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        return self.sha("HEAD")

    def push(self, *refspecs: str, force: bool = False) -> None:
        git(self.work, "push", "-q", *(["--force"] if force else []), "origin", *refspecs)

    def sha(self, revision: str) -> str:
        return git(self.work, "rev-parse", f"{revision}^{{commit}}")


def make_upstream(base: Path, branch: str = "main") -> Upstream:
    bare, work = base / "remote.git", base / "work"
    git(base, "init", "-q", "--bare", "-b", branch, str(bare))
    git(base, "init", "-q", "-b", branch, str(work))
    git(work, "remote", "add", "origin", bare.as_uri())
    return Upstream(bare=bare, work=work)


@dataclass
class History:
    """The shared remote's commits: main = one -> two, feature = two -> three; v1 (lightweight) = one,
    v2 (annotated) = two."""

    upstream: Upstream
    one: str
    two: str
    three: str


ReadValue = Callable[[Path], str]
