"""`gitops render` and `gitops validate` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from render_helpers import EXAMPLE_REPO, WriteTree, configmap

from gitops.cli import cli

GITOPS = str(Path(sys.executable).parent / "gitops")

pytestmark = pytest.mark.kubectl  # the example repository holds a kustomization
EXAMPLE_OBJECTS = 11


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def broken_repo(write_tree: WriteTree) -> Path:
    return write_tree(
        {
            "deploy.yaml": """
                apiVersion: apps/v1
                kind: Deployment
                metadata:
                  name: Web
                  namespace: shop
                """,
            "config.yaml": configmap("settings") + "data:\n  debug: yes\n  debug: no\n",
            "copy.yaml": configmap("settings"),
        }
    )


BROKEN_PROBLEMS = [
    "error: config.yaml:1: v1 ConfigMap shop/settings: data.debug must be a string, found a boolean (False): "
    "quote the value (YAML reads yes/no/on/off/true/false unquoted as booleans)",
    "error: config.yaml:8: duplicate key 'debug' at line 8",
    "error: copy.yaml:1: v1 ConfigMap shop/settings: defined twice: also at config.yaml:1",
    "error: deploy.yaml:1: apps/v1 Deployment shop/Web: metadata.name 'Web' must be a DNS-1123 subdomain: "
    "lower case letters, digits, '-' and '.', starting and ending with a letter or digit",
    "4 problems found",
]


def test_validate_counts_the_example_objects() -> None:
    result = run("validate", str(EXAMPLE_REPO))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{EXAMPLE_OBJECTS} objects valid\n"


def test_validate_lists_every_problem_with_file_line_and_object(broken_repo: Path) -> None:
    result = run("validate", str(broken_repo))
    assert result.exit_code == 4
    assert result.stdout == ""
    assert result.stderr.splitlines() == BROKEN_PROBLEMS


def test_render_fails_the_same_way_and_prints_no_objects(broken_repo: Path) -> None:
    result = run("render", str(broken_repo))
    assert result.exit_code == 4
    assert result.stdout == ""
    assert result.stderr.splitlines() == BROKEN_PROBLEMS


def test_render_prints_one_yaml_stream_with_secrets_masked() -> None:
    result = run("render", str(EXAMPLE_REPO))
    assert result.exit_code == 0, result.output
    objects = list(yaml.safe_load_all(result.stdout))
    assert len(objects) == EXAMPLE_OBJECTS
    assert result.stdout.startswith("---\n")
    [secret] = [o for o in objects if o["kind"] == "Secret"]
    assert secret["data"] == {"database-password": "<redacted>"}
    assert "ZHVtbXktcGFzc3dvcmQtY2hhbmdlLW1l" not in result.stdout


def test_render_show_secrets_reveals_secret_values() -> None:
    result = run("render", str(EXAMPLE_REPO), "--show-secrets")
    [secret] = [o for o in yaml.safe_load_all(result.stdout) if o["kind"] == "Secret"]
    assert secret["data"] == {"database-password": "ZHVtbXktcGFzc3dvcmQtY2hhbmdlLW1l"}


def test_render_json_is_a_list() -> None:
    result = run("render", str(EXAMPLE_REPO), "-o", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["apiVersion"], document["kind"]) == ("v1", "List")
    assert len(document["items"]) == EXAMPLE_OBJECTS
    [secret] = [o for o in document["items"] if o["kind"] == "Secret"]
    assert secret["data"] == {"database-password": "<redacted>"}


def test_render_show_origin_comments(write_tree: WriteTree) -> None:
    root = write_tree({"a.yaml": "# first\n" + configmap("a") + "---\n" + configmap("b")})
    result = run("render", str(root), "--show-origin")
    assert result.exit_code == 0, result.output
    assert "# Source: a.yaml:2\napiVersion: v1\nkind: ConfigMap\n" in result.stdout
    assert "---\n# Source: a.yaml:8 (document 2)\napiVersion: v1\n" in result.stdout


def test_render_path_inside_the_source_keeps_origins_relative_to_the_root() -> None:
    result = run("render", str(EXAMPLE_REPO), "--path", "app", "--show-origin")
    assert result.exit_code == 0, result.output
    objects = list(yaml.safe_load_all(result.stdout))
    assert {o["kind"] for o in objects} == {"ConfigMap", "Secret", "Service", "Deployment"}
    sources = [line for line in result.stdout.splitlines() if line.startswith("# Source: ")]
    assert sources == [
        "# Source: examples/repo/app",
        "# Source: examples/repo/app (document 2)",
        "# Source: examples/repo/app (document 3)",
        "# Source: examples/repo/app (document 4)",
    ]


def test_a_missing_source_is_a_source_error(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path / "nowhere"))
    assert result.exit_code == 3
    assert result.stderr.startswith("error: ")
    assert "nowhere" in result.stderr


def test_the_installed_command_exits_with_render_errors(broken_repo: Path) -> None:
    completed = subprocess.run(
        [GITOPS, "validate", str(broken_repo)], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 4
    assert completed.stderr.splitlines() == BROKEN_PROBLEMS


def test_sync_lists_every_render_problem_before_touching_any_cluster(broken_repo: Path, tmp_path: Path) -> None:
    completed = subprocess.run(
        [GITOPS, "sync", str(broken_repo), "--prune", "--kubeconfig", str(tmp_path / "no-such-kubeconfig")],
        capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 4
    assert completed.stderr.splitlines() == BROKEN_PROBLEMS[:-1]  # every problem; validate adds the count


def test_the_installed_command_validates_the_example() -> None:
    completed = subprocess.run(
        [GITOPS, "validate", str(EXAMPLE_REPO)], capture_output=True, text=True, check=False
    )
    assert (completed.returncode, completed.stdout) == (0, f"{EXAMPLE_OBJECTS} objects valid\n"), (
        completed.stderr
    )


def test_render_and_validate_read_a_git_revision(write_tree: WriteTree, tmp_path: Path) -> None:
    repo = write_tree({"deploy/cm.yaml": configmap("committed")})
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    (repo / "deploy" / "cm.yaml").write_text(configmap("Uncommitted"))  # not at the revision: not rendered
    env = {"GITOPS_CACHE_DIR": str(tmp_path / "cache")}
    url = f"file://{repo}"

    result = CliRunner(env=env).invoke(
        cli, ["render", url, "--revision", "main", "--path", "deploy", "--show-origin"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("---\n# Source: deploy/cm.yaml:1\napiVersion: v1\nkind: ConfigMap\n")
    assert "name: committed" in result.stdout

    result = CliRunner(env=env).invoke(cli, ["validate", url, "--revision", "no-such-branch"])
    assert result.exit_code == 3
    assert result.stderr.startswith("error: ")


def _git_repository_with_a_base(directory: Path) -> Path:
    (directory / "base").mkdir(parents=True)
    (directory / "base" / "kustomization.yaml").write_text("resources:\n  - cm.yaml\n")
    (directory / "base" / "cm.yaml").write_text(configmap("fetched"))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base"]):
        subprocess.run(["git", "-C", str(directory), *args], check=True, capture_output=True)
    return directory


@pytest.mark.parametrize(("command", "shown"), [("render", "name: fetched"), ("validate", "1 object valid")])
def test_remote_bases_are_fetched_only_with_allow_remote_bases(tmp_path: Path, command: str, shown: str) -> None:
    other = _git_repository_with_a_base(tmp_path / "other")
    reference = f"file://{other}//base?ref=main"
    app = tmp_path / "app"
    app.mkdir()
    (app / "kustomization.yaml").write_text(f"resources:\n  - {reference}\n")

    refused = run(command, str(app))
    assert refused.exit_code == 4
    assert f"kustomization.yaml: resources {reference!r} is a remote base" in refused.stderr
    assert "--allow-remote-bases" in refused.stderr
    allowed = run(command, str(app), "--allow-remote-bases")
    assert allowed.exit_code == 0, allowed.stderr
    assert shown in allowed.stdout
