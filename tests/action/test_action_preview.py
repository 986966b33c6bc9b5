"""The action's preview mode, run as GitHub runs it: a pull request's base and head commits, no cluster."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path

import pytest

from gitops.action.comment import GITHUB_COMMENT_LIMIT, MARKER
from tests.action.conftest import TOKEN
from tests.action.github_standin import GitHubStandIn
from tests.action.simulate import SimulatedRunner, annotations

BASE_PASSWORD = "base-pass-Ae7fq"
HEAD_PASSWORD = "head-pass-Zr81x"

BASE = {
    "deploy/app.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "nginx:1.25"}
""",
    "deploy/config.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {mode: fast}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: legacy, namespace: shop}
data: {old: "yes"}
""",
    "deploy/secret.yaml": f"""\
apiVersion: v1
kind: Secret
metadata: {{name: db, namespace: shop}}
data: {{password: {base64.b64encode(BASE_PASSWORD.encode()).decode()}}}
""",
    "README.md": "not a manifest, outside deploy/\n",
}

HEAD_CHANGES = {
    "deploy/app.yaml": BASE["deploy/app.yaml"].replace("nginx:1.25", "nginx:1.27").replace("replicas: 2", "replicas: 3")
    + """\
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80}]
""",
    "deploy/config.yaml": BASE["deploy/config.yaml"].split("---")[0],
    "deploy/secret.yaml": BASE["deploy/secret.yaml"].replace(
        base64.b64encode(BASE_PASSWORD.encode()).decode(), base64.b64encode(HEAD_PASSWORD.encode()).decode()
    ),
}

BROKEN = {
    "deploy/broken.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata: {name: fine, namespace: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {namespace: shop}
data: {a: "1"}
""",
}


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, content in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(content)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def git(repo: Path, *args: str) -> str:
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]
    done = subprocess.run(["git", *identity, *args], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout.strip()


class Repo:
    def __init__(self, root: Path) -> None:
        self.root = root
        git(root, "init", "-q", "-b", "main")
        self.initial = commit(root, {"README.md": BASE["README.md"]}, "no manifests yet")
        self.base = commit(root, BASE, "base")
        self.head = commit(root, HEAD_CHANGES, "head")
        self.broken = commit(root, BROKEN, "broken")
        big = {"deploy/big.yaml": "".join(
            f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big-{n}, namespace: shop}}\ndata:\n"
            + "".join(f"  key{i}: {'v' * 90}\n" for i in range(8))
            for n in range(120)
        )}
        git(root, "checkout", "-q", self.head)
        self.big = commit(root, big, "big")
        git(root, "checkout", "-q", "main")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    return Repo(tmp_path_factory.mktemp("repo"))


def pull_request_event(base: str, head: str, number: int = 42) -> dict:
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {"number": number, "base": {"sha": base, "ref": "main"}, "head": {"sha": head, "ref": "feature"}},
        "repository": {"full_name": "shop/deploy"},
    }


def runner_for(tmp_path: Path, repo: Repo, github_api: GitHubStandIn, base: str, head: str) -> SimulatedRunner:
    return SimulatedRunner(
        root=tmp_path, workspace=repo.root, github_token=TOKEN, api_url=github_api.url,
        event=pull_request_event(base, head),
    )


def secret_free(*texts: str) -> bool:
    plain = [BASE_PASSWORD, HEAD_PASSWORD]
    encoded = [base64.b64encode(p.encode()).decode() for p in plain]
    return not any(value in text for text in texts for value in [*plain, *encoded, TOKEN])


def log_without_masks(stdout: str) -> str:
    return "\n".join(line for line in stdout.splitlines() if not line.startswith("::add-mask::"))


def test_preview_reports_the_pull_requests_changes(tmp_path: Path, repo: Repo, github_api: GitHubStandIn) -> None:
    runner = runner_for(tmp_path, repo, github_api, repo.base, repo.head)
    done = runner.run_step("run", {"mode": "preview", "path": "deploy", "comment": "true"})
    assert done.returncode == 0, done.stdout + done.stderr

    outputs = runner.outputs()
    assert {k: outputs[k] for k in ("in-sync", "creates", "updates", "prunes", "deletes", "unchanged", "failed")} == {
        "in-sync": "false", "creates": "1", "updates": "2", "prunes": "1", "deletes": "1", "unchanged": "1", "failed": "0",
    }
    report = json.loads(Path(outputs["report-json"]).read_text())
    assert Path(outputs["report-json"]).parent == runner.temp
    actions = {(e["ref"]["kind"], e["ref"]["name"]): e["action"] for e in report["entries"]}
    assert actions == {
        ("Service", "web"): "create", ("Deployment", "web"): "update", ("Secret", "db"): "update",
        ("ConfigMap", "legacy"): "prune", ("ConfigMap", "settings"): "unchanged",
    }

    summary = runner.summary()
    assert summary.startswith(f"## gitops preview of `deploy`: `{repo.base[:12]}` → `{repo.head[:12]}`")
    assert "spec.template.spec.containers[name=web].image" in summary
    assert "nginx:1.27" in summary and "legacy" in summary
    # No cluster is involved: the diff's old side is the base revision, and the source is the
    # repository, not the runner's workspace path.
    assert f"--- base {repo.base[:12]} Deployment shop/web" in summary and "--- live" not in summary
    assert "Source: `shop/deploy`, path `deploy`" in summary and str(runner.workspace) not in summary

    (comment,) = github_api.issue_comments("shop/deploy", 42)
    assert comment["body"].startswith(f"{MARKER}\n<!-- gitops-report-key: preview:deploy -->\n## gitops preview")
    assert "spec.template.spec.containers[name=web].image" in comment["body"]

    assert f"::add-mask::{TOKEN}" in done.stdout
    assert f"::add-mask::{HEAD_PASSWORD}" in done.stdout
    assert secret_free(summary, comment["body"], json.dumps(report), runner.output_file.read_text(),
                       log_without_masks(done.stdout), done.stderr)
    assert annotations(done.stdout) == []


def test_second_run_updates_the_comment_in_place(tmp_path: Path, repo: Repo, github_api: GitHubStandIn) -> None:
    github_api.add_comment("shop/deploy", 42, "a reviewer's remark")
    first = runner_for(tmp_path / "1", repo, github_api, repo.base, repo.head)
    assert first.run_step("run", {"mode": "preview", "path": "deploy", "comment": "true"}).returncode == 0
    second = runner_for(tmp_path / "2", repo, github_api, repo.head, repo.head)
    assert second.run_step("run", {"mode": "preview", "path": "deploy", "comment": "true"}).returncode == 0

    ours = [c for c in github_api.issue_comments("shop/deploy", 42) if MARKER in c["body"]]
    assert len(ours) == 1
    assert [r.method for r in github_api.writes()] == ["POST", "PATCH"]
    assert github_api.writes()[1].path == f"/repos/shop/deploy/issues/comments/{ours[0]['id']}"
    assert second.outputs()["in-sync"] == "true"
    assert "nginx:1.27" not in ours[0]["body"]


def test_fail_on_drift_fails_a_changing_pull_request(tmp_path: Path, repo: Repo, github_api: GitHubStandIn) -> None:
    runner = runner_for(tmp_path, repo, github_api, repo.base, repo.head)
    done = runner.run_step("run", {"mode": "preview", "path": "deploy", "fail-on-drift": "true"})
    assert done.returncode == 1
    assert runner.outputs()["in-sync"] == "false"
    assert github_api.requests == []  # comment off by default


def test_render_errors_become_annotations_on_the_manifest(tmp_path: Path, repo: Repo, github_api: GitHubStandIn) -> None:
    runner = runner_for(tmp_path, repo, github_api, repo.head, repo.broken)
    done = runner.run_step("run", {"mode": "preview", "path": "deploy", "comment": "true"})
    assert done.returncode == 4
    (error,) = annotations(done.stdout)
    assert re.fullmatch(r"::error file=deploy/broken\.yaml,line=5,title=gitops%3A invalid manifest::.*name.*", error)
    assert "**Failed**" in runner.summary()
    assert runner.outputs()["in-sync"] == "false"
    assert runner.outputs()["report-json"] == ""
    (comment,) = github_api.issue_comments("shop/deploy", 42)
    assert "deploy/broken.yaml" in comment["body"]


def test_large_report_is_cut_below_the_comment_limit(tmp_path: Path, repo: Repo, github_api: GitHubStandIn) -> None:
    runner = runner_for(tmp_path, repo, github_api, repo.head, repo.big)
    done = runner.run_step("run", {"mode": "preview", "path": "deploy", "comment": "true", "max-report-size": "200000"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(runner.summary()) > GITHUB_COMMENT_LIMIT
    (comment,) = github_api.issue_comments("shop/deploy", 42)
    assert len(comment["body"]) <= GITHUB_COMMENT_LIMIT
    assert "**Report truncated**" in comment["body"]
    assert comment["body"].count("<details") == comment["body"].count("</details>")
    assert comment["body"].count("```") % 2 == 0


def test_report_size_limits_the_summary(tmp_path: Path, repo: Repo, github_api: GitHubStandIn) -> None:
    runner = runner_for(tmp_path, repo, github_api, repo.head, repo.big)
    assert runner.run_step("run", {"mode": "preview", "path": "deploy", "max-report-size": "5000"}).returncode == 0
    assert len(runner.summary()) <= 5000 + 200


def test_bad_input_fails_with_an_annotation(tmp_path: Path, repo: Repo, github_api: GitHubStandIn) -> None:
    runner = runner_for(tmp_path, repo, github_api, repo.base, repo.head)
    done = runner.run_step("run", {"mode": "preview", "prune": "sometimes"})
    assert done.returncode == 2
    assert annotations(done.stdout) == ["::error title=gitops::input prune: expected true or false, got 'sometimes'"]


def test_a_directory_new_in_the_pull_request_is_all_creates(tmp_path: Path, repo: Repo, github_api: GitHubStandIn) -> None:
    runner = runner_for(tmp_path, repo, github_api, repo.initial, repo.base)
    done = runner.run_step("run", {"mode": "preview", "path": "deploy"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert (runner.outputs()["creates"], runner.outputs()["prunes"]) == ("4", "0")


def test_a_broken_base_is_not_annotated_on_the_pull_requests_files(
    tmp_path: Path, repo: Repo, github_api: GitHubStandIn
) -> None:
    runner = runner_for(tmp_path, repo, github_api, repo.broken, repo.head)
    done = runner.run_step("run", {"mode": "preview", "path": "deploy"})
    assert done.returncode == 4
    assert annotations(done.stdout) == [
        f"::error title=gitops::base revision {repo.broken[:12]}: deploy/broken.yaml:5 (document 2): metadata.name is missing"
    ]
    assert f"Rendering the base revision {repo.broken[:12]} failed" in runner.summary()


def test_a_refused_comment_warns_but_keeps_the_report(tmp_path: Path, repo: Repo, github_api: GitHubStandIn) -> None:
    runner = runner_for(tmp_path, repo, github_api, repo.base, repo.head)
    runner.github_token = "ghs_readOnlyForkToken42"
    done = runner.run_step("run", {"mode": "preview", "path": "deploy", "comment": "true"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert annotations(done.stdout, "warning") == [
        "::warning::GitHub API GET /repos/shop/deploy/issues/42/comments?per_page=100&page=1 failed: HTTP 401 (Bad credentials)"
    ]
    assert "nginx:1.27" in runner.summary()
    assert "ghs_readOnlyForkToken42" not in log_without_masks(done.stdout) + runner.summary()
