"""`gitops diff --against REV`: two renders compared, no cluster; the old side is labelled with its revision."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

GITOPS = str(Path(sys.executable).parent / "gitops")
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com", "NO_COLOR": "1"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=GIT_ENV).stdout.strip()


def commit(repo: Path, value: str) -> str:
    (repo / "settings.yaml").write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings}}\ndata: {{mode: {value}}}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", value)
    return git(repo, "rev-parse", "HEAD")


def test_diff_against_a_revision_labels_the_base_revision_not_the_cluster(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    base = commit(tmp_path, "old")
    commit(tmp_path, "new")

    run = subprocess.run([GITOPS, "diff", str(tmp_path), "--revision", "HEAD", "--against", base],
                         capture_output=True, text=True, env=GIT_ENV, check=False, timeout=120)

    assert (run.returncode, run.stderr) == (1, ""), run.stdout
    assert "data.mode: \"old\" -> \"new\"" in run.stdout
    assert f"--- base {base[:12]} ConfigMap settings" in run.stdout
    assert "--- live" not in run.stdout
