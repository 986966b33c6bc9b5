"""The README's flow as a user runs it: separate `gitops` processes against the embedded sandbox, whose
state persists between them (this also covers how the installed command exits)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

GITOPS = str(Path(sys.executable).parent / "gitops")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "repo"
SECRET_VALUES = ("ZHVtbXktcGFzc3dvcmQtY2hhbmdlLW1l", "dummy-password-change-me")  # examples/repo/app/base/secret.yaml


def gitops(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GITOPS_SANDBOX_DIR": str(state), "NO_COLOR": "1"}
    return subprocess.run([GITOPS, *args], capture_output=True, text=True, env=env, check=False, timeout=120)


def test_sync_then_diff_on_the_sandbox_reports_in_sync(tmp_path: Path) -> None:
    state = tmp_path / "sandbox"

    planned = gitops(state, "sync", "--dry-run", "--sandbox", str(EXAMPLE))
    assert planned.returncode == 0, planned.stderr
    assert "11 to create" in planned.stdout
    assert "database-password" in planned.stdout and "*** (after)" in planned.stdout

    synced = gitops(state, "sync", "--sandbox", "--wait", "--timeout", "60", str(EXAMPLE), "-o", "json")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    report = json.loads(synced.stdout)
    assert report["summary"]["create"] == 11 and report["summary"]["failed"] == 0

    again = gitops(state, "diff", "--sandbox", str(EXAMPLE))
    assert (again.returncode, again.stderr) == (0, ""), again.stdout
    assert "in sync: 11 unchanged" in again.stdout

    for run in (planned, synced, again):
        assert not any(value in run.stdout + run.stderr for value in SECRET_VALUES)
