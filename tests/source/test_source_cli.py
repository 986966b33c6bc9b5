"""Sources through the command line, as a user runs it: `gitops render SOURCE --revision R --path P`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from source_repos import History, git

GITOPS = str(Path(sys.executable).parent / "gitops")


def gitops(*args: str, cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GITOPS, *args],
        env={**os.environ, "GITOPS_CACHE_DIR": str(cache), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-cache")


def test_render_a_tag_of_a_remote_with_origins_relative_to_the_repository(
    history: History, cache: Path
) -> None:
    done = gitops("render", history.upstream.url, "--revision", "v1", "--show-origin", cache=cache)

    assert done.returncode == 0, done.stderr
    assert "# Source: apps/web/config.yaml:1\n" in done.stdout
    assert "value: one" in done.stdout
    assert "apps/db" not in done.stdout  # added by the next commit


def test_render_a_path_of_the_default_branch(history: History, cache: Path) -> None:
    done = gitops("render", history.upstream.url, "--path", "apps/db", "--show-origin", cache=cache)

    assert done.returncode == 0, done.stderr
    assert "# Source: apps/db/config.yaml:1\n" in done.stdout
    assert "value: db" in done.stdout


def test_unknown_revision_exits_3_with_one_line(history: History, cache: Path) -> None:
    done = gitops("render", history.upstream.url, "--revision", "nope", cache=cache)

    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr == (
        f"error: {history.upstream.url} (revision nope): unknown revision 'nope' (no such branch, tag or commit)\n"
    )


def test_missing_path_exits_3(history: History, cache: Path) -> None:
    done = gitops("validate", history.upstream.url, "-r", "v2", "-p", "apps/gone", cache=cache)

    assert done.returncode == 3
    assert f"(revision v2): path 'apps/gone' not found in the repository at {history.two[:12]}" in done.stderr


def test_credentials_never_show_even_with_debug_logging(tmp_path: Path) -> None:
    done = gitops(
        "-vv", "render", "https://user:secret@127.0.0.1:1/x.git", cache=tmp_path, GITOPS_GIT_TOKEN="hunter2"
    )

    assert done.returncode == 3
    assert "error: https://***@127.0.0.1:1/x.git (default branch): cannot connect" in done.stderr
    for secret in ("secret", "hunter2"):
        assert secret not in done.stderr + done.stdout


def test_local_work_tree_at_an_older_revision(history: History, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", history.upstream.url, str(clone))

    done = gitops(
        "render", str(clone / "apps"), "--revision", "v1", "--path", "web", "--show-origin", cache=tmp_path
    )

    assert done.returncode == 0, done.stderr
    assert "# Source: apps/web/config.yaml:1\n" in done.stdout
    assert "value: one" in done.stdout


def test_missing_token_file_is_a_configuration_error(history: History, tmp_path: Path) -> None:
    done = gitops(
        "render", history.upstream.url, cache=tmp_path, GITOPS_GIT_TOKEN_FILE=str(tmp_path / "absent")
    )

    assert done.returncode == 2
    assert done.stderr == f"error: GITOPS_GIT_TOKEN_FILE: file {tmp_path}/absent does not exist\n"
