"""Fixtures for the source tests: a bare repository served over file:// stands in for a remote."""

from __future__ import annotations

from pathlib import Path

import pytest
from source_repos import History, ReadValue, Upstream, configmap, git, make_upstream

from gitops.source import FetchOptions


@pytest.fixture
def upstream(tmp_path: Path) -> Upstream:
    """A fresh remote with one commit on main, for tests that change it."""
    repo = make_upstream(tmp_path)
    repo.commit({"apps/web/config.yaml": configmap("one")}, "one")
    repo.push("main")
    return repo


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    repo = make_upstream(tmp_path_factory.mktemp("history"))
    one = repo.commit({"apps/web/config.yaml": configmap("one")}, "one")
    git(repo.work, "tag", "v1")
    two = repo.commit(
        {"apps/web/config.yaml": configmap("two"), "apps/db/config.yaml": configmap("db")}, "two"
    )
    git(repo.work, "tag", "-a", "v2", "-m", "release two")
    git(repo.work, "checkout", "-q", "-b", "feature")
    three = repo.commit({"apps/web/config.yaml": configmap("three")}, "three")
    git(repo.work, "checkout", "-q", "main")
    repo.push("main", "feature", "v1", "v2")
    return History(upstream=repo, one=one, two=two, three=three)


@pytest.fixture
def options(tmp_path: Path) -> FetchOptions:
    """Fetch options with a fresh cache and no credentials."""
    return FetchOptions(cache_dir=tmp_path / "cache", timeout=30)


@pytest.fixture(scope="module")
def shared_options(tmp_path_factory: pytest.TempPathFactory) -> FetchOptions:
    """One cache for a module's read-only tests: each test fetches from it as a later run would."""
    return FetchOptions(cache_dir=tmp_path_factory.mktemp("cache"), timeout=30)


@pytest.fixture
def read_value() -> ReadValue:
    """The ``value`` of the ConfigMap in ``apps/web/config.yaml`` under a checkout directory."""

    def read(directory: Path) -> str:
        text = (directory / "apps/web/config.yaml").read_text()
        return text.rsplit("value: ", 1)[1].strip()

    return read
