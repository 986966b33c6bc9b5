"""The action's diff and sync modes against the cluster fixture, run as GitHub runs them."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from gitops.action.secrets import kubeconfig_secrets
from tests.action.simulate import SimulatedRunner, annotations
from tests.action.test_action_preview import commit, git

PASSWORD = "cluster-pass-Q9w2e"


def manifests(namespace: str, *, with_extra: bool) -> dict[str, str]:
    files = {
        "deploy/config.yaml": f"""\
apiVersion: v1
kind: ConfigMap
metadata: {{name: app-config, namespace: {namespace}}}
data: {{mode: fast}}
""",
        "deploy/secret.yaml": f"""\
apiVersion: v1
kind: Secret
metadata: {{name: app-secret, namespace: {namespace}}}
data: {{password: {base64.b64encode(PASSWORD.encode()).decode()}}}
""",
    }
    if with_extra:
        files["deploy/extra.yaml"] = f"""\
apiVersion: v1
kind: ConfigMap
metadata: {{name: extra, namespace: {namespace}}}
data: {{a: "1"}}
"""
    return files


def configmap_exists(cluster, namespace: str, name: str) -> bool:
    with cluster.api_client() as api:
        try:
            client.CoreV1Api(api).read_namespaced_config_map(name, namespace)
        except ApiException as err:
            if err.status == 404:
                return False
            raise
    return True


def run(tmp_path: Path, repo: Path, name: str, inputs: dict[str, str]) -> tuple[SimulatedRunner, subprocess.CompletedProcess[str]]:
    runner = SimulatedRunner(root=tmp_path / name, workspace=repo, event={"ref": "refs/heads/main"})
    return runner, runner.run_step("run", inputs)


def test_diff_sync_prune_against_the_cluster(tmp_path: Path, cluster, namespace: str) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    first = commit(repo, manifests(namespace, with_extra=True), "three objects")
    (repo / "deploy/extra.yaml").unlink()
    second = commit(repo, {}, "drop extra")
    kubeconfig = cluster.kubeconfig.read_text()
    common = {"path": "deploy", "kubeconfig": kubeconfig, "namespace": namespace}

    runner, done = run(tmp_path, repo, "diff-before", {**common, "mode": "diff", "revision": first, "fail-on-drift": "true"})
    assert done.returncode == 1, done.stdout + done.stderr
    assert runner.outputs()["creates"] == "3"
    assert runner.summary().startswith(f"## gitops diff of `deploy`: `{first[:12]}`")
    assert not configmap_exists(cluster, namespace, "app-config")

    runner, done = run(tmp_path, repo, "sync", {**common, "mode": "sync", "revision": first})
    assert done.returncode == 0, done.stdout + done.stderr
    assert (runner.outputs()["creates"], runner.outputs()["failed"]) == ("3", "0")
    assert configmap_exists(cluster, namespace, "extra")

    runner, done = run(tmp_path, repo, "diff-after", {**common, "mode": "diff", "revision": first, "fail-on-drift": "true"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert (runner.outputs()["in-sync"], runner.outputs()["unchanged"]) == ("true", "3")

    runner, done = run(tmp_path, repo, "prune", {**common, "mode": "sync", "prune": "true"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert (runner.outputs()["prunes"], runner.outputs()["unchanged"]) == ("1", "2")
    assert not configmap_exists(cluster, namespace, "extra")
    report = json.loads(Path(runner.outputs()["report-json"]).read_text())
    assert report["revision"] == second

    for value in kubeconfig_secrets(yaml.safe_load(kubeconfig)):
        assert f"::add-mask::{value}" in done.stdout
    logged = "\n".join(line for line in done.stdout.splitlines() if not line.startswith("::add-mask::"))
    for text in (logged, done.stderr, runner.summary(), runner.output_file.read_text(), json.dumps(report)):
        assert PASSWORD not in text and base64.b64encode(PASSWORD.encode()).decode() not in text
        assert all(value not in text for value in kubeconfig_secrets(yaml.safe_load(kubeconfig)))
    leftovers = [p.name for p in runner.temp.iterdir() if not p.name.startswith("gitops-report-")]
    assert leftovers == []  # the kubeconfig file is gone


@pytest.mark.parametrize("mode", ["diff", "sync"])
def test_cluster_modes_need_a_kubeconfig(tmp_path: Path, mode: str) -> None:
    runner = SimulatedRunner(root=tmp_path, workspace=tmp_path)
    done = runner.run_step("run", {"mode": mode})
    assert done.returncode == 2
    assert annotations(done.stdout) == [
        f"::error title=gitops::mode {mode}: input kubeconfig is required (the content of a kubeconfig file)"
    ]
    assert runner.outputs()["in-sync"] == "false"


def test_a_kubeconfig_path_is_refused_without_echo(tmp_path: Path) -> None:
    runner = SimulatedRunner(root=tmp_path, workspace=tmp_path)
    done = runner.run_step("run", {"mode": "diff", "kubeconfig": "/home/runner/.kube/config"})
    assert done.returncode == 2
    assert ".kube" not in done.stdout + done.stderr


def test_a_failing_object_is_annotated_and_fails_the_sync(tmp_path: Path, cluster, namespace: str) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    missing = f"{namespace}-absent"
    commit(repo, {
        **manifests(namespace, with_extra=False),
        "deploy/elsewhere.yaml": f"# a namespace nobody created\napiVersion: v1\nkind: ConfigMap\n"
                                 f"metadata: {{name: lost, namespace: {missing}}}\n",
    }, "one bad object")
    # The namespace input keeps the ApplySet parent in the test's namespace (not in "default").
    inputs = {"path": "deploy", "mode": "sync", "kubeconfig": cluster.kubeconfig.read_text(), "namespace": namespace}
    runner, done = run(tmp_path, repo, "sync", inputs)
    assert done.returncode == 6, done.stdout + done.stderr
    (error,) = annotations(done.stdout)
    assert error.startswith(f"::error file=deploy/elsewhere.yaml,line=2,title=gitops%3A object failed::v1 ConfigMap {missing}/lost: ")
    assert (runner.outputs()["failed"], runner.outputs()["creates"], runner.outputs()["in-sync"]) == ("1", "2", "false")
    assert configmap_exists(cluster, namespace, "app-config")


def test_the_action_and_a_clone_manage_one_set(tmp_path: Path, cluster, namespace: str) -> None:
    """The Action names its set from $GITHUB_REPOSITORY and the path; a clone of that repository names the
    same one from its origin URL, wherever either is checked out."""
    from tests.integration.conftest import run_cli

    clone = tmp_path / "laptop" / "deploy"
    clone.mkdir(parents=True)
    git(clone, "init", "-q", "-b", "main")
    git(clone, "remote", "add", "origin", "https://github.com/Shop/Deploy.git")
    commit(clone, manifests(namespace, with_extra=True), "three objects")
    synced = run_cli("sync", str(clone), "--path", "deploy", "--kubeconfig", str(cluster.kubeconfig), "-n", namespace)
    assert synced.code == 0, synced.out

    workspace = tmp_path / "runner" / "work" / "deploy"
    workspace.mkdir(parents=True)
    git(workspace, "init", "-q", "-b", "main")
    commit(workspace, manifests(namespace, with_extra=False), "extra dropped")
    common = {"path": "deploy", "kubeconfig": cluster.kubeconfig.read_text(), "namespace": namespace}
    runner = SimulatedRunner(root=tmp_path / "diff", workspace=workspace, event={"ref": "refs/heads/main"},
                             repository="shop/deploy")
    done = runner.run_step("run", {**common, "mode": "sync", "prune": "true"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert (runner.outputs()["prunes"], runner.outputs()["unchanged"]) == ("1", "2"), "the clone's set, pruned"
    assert not configmap_exists(cluster, namespace, "extra")
