"""Every way a run can go wrong, as a user meets it: the `gitops` process, its exit code, and stderr
without a traceback (one line per problem, naming the file, the flag or the object)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

GITOPS = str(Path(sys.executable).parent / "gitops")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "repo"
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{index: '{index}'}}\n"


def configmaps(count: int) -> str:
    return "---\n".join(CONFIGMAP.format(name=f"cm-{i}", index=i) for i in range(count))


def gitops(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([GITOPS, *args], capture_output=True, text=True, env=env, cwd=cwd, check=False, timeout=120)


def assert_no_traceback(run: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in run.stderr, run.stderr
    assert "internal error" not in run.stderr, run.stderr


def one_error(run: subprocess.CompletedProcess[str], code: int) -> str:
    """The single ``error:`` line of a failed run, checked for its exit code."""
    assert run.returncode == code, (run.returncode, run.stdout, run.stderr)
    assert_no_traceback(run)
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    return lines[0]


def on_cluster(cluster: Any, namespace: str, *args: str) -> list[str]:
    return [*args, "--kubeconfig", str(cluster.kubeconfig), "-n", namespace, "--applyset", "app"]


# --- the source and its files ----------------------------------------------------------------


def test_a_symlink_loop_is_a_render_problem_naming_the_link(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(CONFIGMAP.format(name="ok", index=0))
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")

    run = gitops("validate", str(tmp_path))

    assert run.returncode == 4
    assert_no_traceback(run)
    assert run.stderr.splitlines() == [
        "error: a: symlink loop; refusing to read it",
        "error: b: symlink loop; refusing to read it",
        "2 problems found",
    ]


@pytest.mark.parametrize("where", ["source", "path"])
def test_a_path_component_over_255_characters_is_a_source_error(tmp_path: Path, where: str) -> None:
    long_name = "x" * 300
    args = [str(tmp_path / long_name)] if where == "source" else [str(tmp_path), "--path", long_name]

    line = one_error(gitops("validate", *args), 3)

    assert long_name in line


def test_file_names_with_control_characters_are_escaped_in_messages(tmp_path: Path) -> None:
    (tmp_path / "bad\nname.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad}\n")

    run = gitops("validate", str(tmp_path))

    assert run.returncode == 4
    assert_no_traceback(run)
    problem, count = run.stderr.splitlines()
    assert problem.startswith("error: bad\\nname.yaml:1: v1 ConfigMap Bad: metadata.name 'Bad' ")
    assert count == "1 problem found"


# --- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--qps", "1e-300"], "--qps"),
        (["--qps", "nan"], "--qps"),
        (["--timeout", "nan"], "--timeout"),
        (["--timeout", "inf"], "--timeout"),
        (["--timeout", "-5s"], "--timeout"),
        (["--timeout", "5 minutes"], "--timeout"),
        (["--applyset", "Bad Name!"], "--applyset"),
        (["-n", "Bad_NS"], "--namespace"),
        (["-n", ""], "--namespace"),
    ],
)
def test_bad_option_values_are_configuration_errors_naming_the_flag(tmp_path: Path, args: list[str], flag: str) -> None:
    # Refused before anything is fetched or connected: the kubeconfig need not even exist.
    run = gitops("sync", str(EXAMPLE), "--kubeconfig", str(tmp_path / "kubeconfig"), *args)

    line = one_error(run, 2)

    assert flag in line


@pytest.mark.parametrize(
    ("args", "flags"),
    [
        (["sync", "--sandbox", "--kubeconfig", "x"], ("--sandbox", "--kubeconfig")),
        (["diff", "--sandbox", "--context", "x"], ("--sandbox", "--context")),
        (["sync", "--exit-code", "--kubeconfig", "x"], ("--exit-code", "--dry-run")),
        (["diff", "--against", "HEAD", "--kubeconfig", "x"], ("--against", "--kubeconfig")),
    ],
)
def test_conflicting_flags_are_refused(tmp_path: Path, args: list[str], flags: tuple[str, ...]) -> None:
    state = tmp_path / "sandbox"
    run = gitops(*args, str(EXAMPLE))

    line = one_error(run, 2)

    assert all(flag in line for flag in flags), line
    assert not state.exists()


@pytest.mark.parametrize("timeout", ["5m", "1m30s", "300"])  # every form: tests/test_durations.py
def test_timeouts_take_kubectl_durations_and_plain_seconds(cluster, namespace, tmp_path: Path, timeout: str) -> None:
    (tmp_path / "cms.yaml").write_text(configmaps(1))

    run = gitops(*on_cluster(cluster, namespace, "sync", str(tmp_path), "--dry-run", "--timeout", timeout))

    assert (run.returncode, run.stderr) == (0, ""), run.stdout
    assert "1 to create" in run.stdout


# --- the kubeconfig --------------------------------------------------------------------------


def test_a_missing_kubeconfig_is_a_configuration_error_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "kubeconfig"

    line = one_error(gitops("diff", str(EXAMPLE), "--kubeconfig", str(missing)), 2)

    assert str(missing) in line


def test_a_kubeconfig_that_is_not_yaml_is_a_configuration_error_naming_the_file(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("clusters: [unclosed\n")

    line = one_error(gitops("diff", str(EXAMPLE), "--kubeconfig", str(kubeconfig)), 2)

    assert str(kubeconfig) in line


def test_an_unknown_context_is_a_configuration_error_naming_it(cluster) -> None:
    line = one_error(gitops("diff", str(EXAMPLE), "--kubeconfig", str(cluster.kubeconfig), "--context", "nope"), 2)

    assert "'nope'" in line and str(cluster.kubeconfig) in line


def test_an_unreachable_cluster_is_one_line(tmp_path: Path) -> None:
    """urllib3 retries, but its warnings stay out of the default output."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "nowhere",
        "clusters": [{"name": "nowhere", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "nobody", "user": {"token": "t"}}],
        "contexts": [{"name": "nowhere", "context": {"cluster": "nowhere", "user": "nobody"}}],
    }))

    line = one_error(gitops("diff", str(EXAMPLE), "--kubeconfig", str(kubeconfig)), 5)

    assert "https://127.0.0.1:1" in line


# --- a sync cut short ------------------------------------------------------------------------


@pytest.mark.faults
def test_a_connection_lost_mid_sync_fails_the_rest_and_reports_what_was_done(cluster, namespace, tmp_path: Path) -> None:
    (tmp_path / "cms.yaml").write_text(configmaps(6))
    # From the third ConfigMap on, the server closes the connection without an answer.
    cluster.sandbox.faults.add(verb="patch", path_regex=r"/configmaps/cm-[2-5]$", mode="drop", count=0)
    try:
        run = gitops(*on_cluster(cluster, namespace, "sync", str(tmp_path), "-o", "json"))
    finally:
        cluster.sandbox.faults.clear()

    assert run.returncode == 6, run.stderr
    assert_no_traceback(run)
    report = yaml.safe_load(run.stdout)
    outcome = {entry["ref"]["name"]: entry["action"] for entry in report["entries"]}
    assert outcome == {"cm-0": "create", "cm-1": "create", **{f"cm-{i}": "failed" for i in range(2, 6)}}
    assert all(entry["done"] for entry in report["entries"] if entry["action"] == "create")


@pytest.mark.faults
def test_a_connection_lost_while_waiting_still_reports_what_was_applied(cluster, namespace, tmp_path: Path) -> None:
    (tmp_path / "cms.yaml").write_text(configmaps(2))
    # The objects are applied; every read of them afterwards (the wait for health) loses its connection.
    cluster.sandbox.faults.add(verb="get", path_regex=r"/configmaps/cm-\d$", mode="drop", count=0)
    try:
        run = gitops(*on_cluster(cluster, namespace, "sync", str(tmp_path), "--wait", "-o", "json"))
    finally:
        cluster.sandbox.faults.clear()

    assert run.returncode == 6, run.stderr
    assert_no_traceback(run)
    report = yaml.safe_load(run.stdout)
    assert [(e["ref"]["name"], e["action"], e["done"]) for e in report["entries"]] == [
        ("cm-0", "create", True), ("cm-1", "create", True),
    ]
    assert len(report["errors"]) == 1 and str(cluster.sandbox.url) in report["errors"][0]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_a_sync_between_writes_and_prints_the_partial_report(
    cluster, namespace, kube, tmp_path: Path, signum: int, code: int
) -> None:
    count = 12
    (tmp_path / "cms.yaml").write_text(configmaps(count))
    # Four requests a second: slow enough to be stopped part way.
    args = on_cluster(cluster, namespace, "sync", str(tmp_path), "--qps", "4", "--burst", "1", "-o", "json")
    process = subprocess.Popen([GITOPS, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while kube.get("v1", "ConfigMap", "cm-0", namespace) is None and process.poll() is None:
            time.sleep(0.05)
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()

    assert process.returncode == code, err
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith(f"error: interrupted ({signal.Signals(signum).name})")
    entries = yaml.safe_load(out)["entries"]
    written = [e["ref"]["name"] for e in entries if e["done"]]
    skipped = [e["ref"]["name"] for e in entries if e["action"] == "skipped"]
    assert "cm-0" in written and skipped, entries
    assert sorted(written + skipped) == sorted(f"cm-{i}" for i in range(count))
    assert all(kube.get("v1", "ConfigMap", name, namespace) is None for name in skipped)
