"""Every report format from a real plan, with Secret values masked; `diff --against` without a cluster."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest
import yaml

OLD_PASSWORD = "old-hunter2"
NEW_PASSWORD = "new-swordfish"


def secret(password: str) -> str:
    encoded = base64.b64encode(password.encode()).decode()
    return f"""
        apiVersion: v1
        kind: Secret
        metadata:
          name: db
        type: Opaque
        data:
          password: {encoded}
          user: YWRtaW4=
    """


CONFIG = """
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: settings
    data:
      color: blue
"""


def assert_no_secret(text: str) -> None:
    for password in (OLD_PASSWORD, NEW_PASSWORD):
        assert password not in text
        assert base64.b64encode(password.encode()).decode() not in text


@pytest.mark.parametrize("output", ["text", "json", "yaml", "markdown"])
def test_every_format_reports_changes_and_masks_secrets(gitops, repo, output):
    repo.write({"secret.yaml": secret(OLD_PASSWORD), "config.yaml": CONFIG})
    assert gitops("sync", str(repo)).code == 0
    repo.write({"secret.yaml": secret(NEW_PASSWORD), "config.yaml": CONFIG.replace("blue", "green")})

    result = gitops("diff", str(repo), "-o", output)
    assert result.code == 1
    assert_no_secret(result.out + result.err)
    assert "*** (after)" in result.out
    if output == "json":
        entries = {e["ref"]["name"]: e for e in json.loads(result.out)["entries"]}
        assert [(c["path"], c["before"], c["after"]) for c in entries["db"]["changes"]] == [
            ("data.password", "*** (before)", "*** (after)")
        ]
        assert entries["settings"]["changes"][0]["after"] == "green"
    elif output == "yaml":
        assert yaml.safe_load(result.out)["summary"]["update"] == 2
    else:
        assert "settings" in result.out and "green" in result.out

    synced = gitops("sync", str(repo), "-o", output)
    assert synced.code == 0
    assert_no_secret(synced.out + synced.err)


def git(repo, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo.root, check=True, capture_output=True, text=True,
    ).stdout.strip()


def test_diff_against_a_revision_needs_no_cluster(cli, repo):
    git(repo, "init", "-q", "-b", "main")
    repo.write({"config.yaml": CONFIG, "secret.yaml": secret(OLD_PASSWORD), "gone.yaml": CONFIG.replace("settings", "gone")})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one")
    first = git(repo, "rev-parse", "HEAD")
    repo.write({"config.yaml": CONFIG.replace("blue", "green"), "secret.yaml": secret(NEW_PASSWORD),
                "new.yaml": CONFIG.replace("settings", "new")})
    repo.remove("gone.yaml")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "two")

    result = cli("diff", str(repo), "--revision", "HEAD", "--against", first, "-o", "json")
    assert result.code == 1, result.err
    assert_no_secret(result.out)
    document = json.loads(result.out)
    actions = {e["ref"]["name"]: e["action"] for e in document["entries"]}
    assert actions == {"settings": "update", "db": "update", "new": "create", "gone": "prune"}
    settings = next(e for e in document["entries"] if e["ref"]["name"] == "settings")
    assert [(c["path"], c["before"], c["after"]) for c in settings["changes"]] == [("data.color", "blue", "green")]

    same = cli("diff", str(repo), "--revision", "HEAD", "--against", "HEAD")
    assert same.code == 0, same.out + same.err
