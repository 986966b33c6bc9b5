"""The agent end to end: in-process agents against the cluster fixture and a local Git repository."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from agent_helpers import AgentFactory, GitRepo, Live, configmap, eventually, get, post, push_payload, sample

from gitops.agent.webhooks import signature


def test_new_commits_are_applied_and_reported(make_agent: AgentFactory, repo: GitRepo, live: Live, namespace: str) -> None:
    first = repo.commit({"settings.yaml": configmap("settings", namespace, color="blue")})
    agent = make_agent(interval="1s")
    assert eventually(lambda: live.data("settings").get("color") == "blue")
    assert eventually(lambda: live.status("app").get("lastAppliedRevision") == first)

    second = repo.commit({"settings.yaml": configmap("settings", namespace, color="green")})
    assert eventually(lambda: live.data("settings").get("color") == "green")
    status = eventually(lambda: (s := live.status("app")).get("lastAppliedRevision") == second and s)
    assert status["result"] == "Synced" and status["lastAttemptedRevision"] == second
    assert status["driftCount"] == "0" and status["source"] == repo.url
    assert "SyncSucceeded" in live.event_reasons("app")

    code, text = get(f"{agent.url}/metrics")
    assert code == 200
    assert (sample(text, "gitops_reconcile_total", application="app", result="synced") or 0) >= 2
    assert (sample(text, "gitops_applied_objects_total", application="app", action="update") or 0) >= 1
    assert (sample(text, "gitops_last_successful_sync_timestamp_seconds", application="app") or 0) > 0
    assert (sample(text, "gitops_api_requests_total", application="app") or 0) > 0
    applies = sample(text, "gitops_api_request_duration_seconds_count", application="app", method="PATCH", code="200")
    assert (applies or 0) >= 1, "the server-side applies of the sync are timed"
    assert get(f"{agent.url}/readyz") == (200, "leading\n")


def test_webhooks_apply_at_once_and_bad_signatures_do_nothing(
    make_agent: AgentFactory, repo: GitRepo, live: Live, namespace: str
) -> None:
    repo.commit({"settings.yaml": configmap("settings", namespace, color="blue")})
    agent = make_agent(interval="1h")  # only the first run and webhooks reconcile
    assert eventually(lambda: live.data("settings").get("color") == "blue")

    sha = repo.commit({"settings.yaml": configmap("settings", namespace, color="red")})
    body = push_payload(repo, sha)
    forged = {"X-GitHub-Event": "push", "X-Hub-Signature-256": signature(b"wrong", body)}
    assert post(f"{agent.url}/hooks/github", body, forged) == 401
    assert post(f"{agent.url}/hooks/github", body, {"X-GitHub-Event": "push"}) == 401
    assert not eventually(lambda: live.data("settings").get("color") == "red", timeout=1.5)

    signed = {"X-GitHub-Event": "push", "X-Hub-Signature-256": signature(b"hook-secret", body)}
    assert post(f"{agent.url}/hooks/github", body, signed) == 202
    assert eventually(lambda: live.data("settings").get("color") == "red")

    repo.commit({"settings.yaml": configmap("settings", namespace, color="violet")})
    assert post(f"{agent.url}/hooks/reconcile/app", b"", {"Authorization": "Bearer nope"}) == 401
    assert post(f"{agent.url}/hooks/reconcile/app", b"", {"Authorization": "Bearer reconcile-token"}) == 202
    assert eventually(lambda: live.data("settings").get("color") == "violet")


def drift(live: Live, namespace: str) -> None:
    """Change the object the way ``kubectl edit`` would (another field manager, an Update)."""
    live.configmaps.patch(
        name="settings", namespace=namespace, body={"data": {"color": "hacked"}},
        content_type="application/merge-patch+json", field_manager="kubectl-edit",
    )


def test_self_heal_puts_drift_back(make_agent: AgentFactory, repo: GitRepo, live: Live, namespace: str) -> None:
    repo.commit({"settings.yaml": configmap("settings", namespace, color="blue")})
    make_agent(interval="1s", self_heal=True)
    assert eventually(lambda: live.data("settings").get("color") == "blue")
    drift(live, namespace)
    assert eventually(lambda: live.data("settings").get("color") == "blue")
    assert eventually(lambda: "DriftHealed" in live.event_reasons("app"))


def test_without_self_heal_drift_is_only_reported(
    make_agent: AgentFactory, repo: GitRepo, live: Live, namespace: str
) -> None:
    repo.commit({"settings.yaml": configmap("settings", namespace, color="blue")})
    make_agent(interval="1s", self_heal=False)
    assert eventually(lambda: live.status("app").get("result") == "Synced")
    drift(live, namespace)
    status = eventually(lambda: (s := live.status("app")).get("result") == "OutOfSync" and s)
    assert status["driftCount"] == "1" and "ConfigMap" in status["drifted"] and "settings" in status["drifted"]
    assert eventually(lambda: "DriftDetected" in live.event_reasons("app"))
    assert live.data("settings")["color"] == "hacked"


def test_a_broken_commit_keeps_the_last_good_state(
    make_agent: AgentFactory, repo: GitRepo, live: Live, namespace: str
) -> None:
    good = repo.commit({
        "settings.yaml": configmap("settings", namespace, color="blue"),
        "other.yaml": configmap("other", namespace, size="s"),
    })
    agent = make_agent(interval="1s", prune=True)
    assert eventually(lambda: live.status("app").get("lastAppliedRevision") == good)

    # The other object is gone and the remaining file does not parse: nothing may be applied or pruned.
    bad = repo.commit({"other.yaml": None, "settings.yaml": "kind: ConfigMap\nmetadata: [unclosed\n"})
    status = eventually(lambda: (s := live.status("app")).get("result") == "Failed" and s)
    assert status["lastAttemptedRevision"] == bad and status["lastAppliedRevision"] == good
    assert "settings.yaml" in status["message"]
    assert live.data("settings") == {"color": "blue"} and live.data("other") == {"size": "s"}
    assert eventually(lambda: "SyncFailed" in live.event_reasons("app"))
    assert get(f"{agent.url}/metrics")[0] == 200
    text = get(f"{agent.url}/metrics")[1]
    assert (sample(text, "gitops_reconcile_total", application="app", result="failed") or 0) >= 1

    fixed = repo.commit({"settings.yaml": configmap("settings", namespace, color="green")})
    assert eventually(lambda: live.status("app").get("lastAppliedRevision") == fixed)
    assert live.data("settings") == {"color": "green"} and live.configmap("other") is None


def leader_of(agents: list[Any]) -> list[Any]:
    return [agent for agent in agents if agent.is_leader()]


def test_one_leader_and_the_standby_takes_over(
    make_agent: AgentFactory, repo: GitRepo, live: Live, namespace: str
) -> None:
    repo.commit({"settings.yaml": configmap("settings", namespace, color="blue")})
    agents = [make_agent(election=True, identity=f"agent-{n}") for n in (1, 2)]
    leaders = eventually(lambda: leader_of(agents))
    assert len(leaders) == 1
    leader = leaders[0]
    standby = next(agent for agent in agents if agent is not leader)
    lease = live.lease("agent-lease-shard-0")
    assert lease is not None and lease["spec"]["holderIdentity"] == leader.identity
    assert eventually(lambda: get(f"{standby.url}/readyz")[0] == 200)
    assert eventually(lambda: live.data("settings").get("color") == "blue")
    assert standby.is_leader() is False

    leader.stop(release=False)  # dies without handing the lease back
    assert eventually(lambda: standby.is_leader(), timeout=15)
    lease = live.lease("agent-lease-shard-0")
    assert lease is not None and lease["spec"]["holderIdentity"] == standby.identity
    assert lease["spec"]["leaseTransitions"] >= 1

    repo.commit({"settings.yaml": configmap("settings", namespace, color="green")})
    assert eventually(lambda: live.data("settings").get("color") == "green")


def test_a_standby_forwards_requests_to_the_leader(
    make_agent: AgentFactory, repo: GitRepo, live: Live, namespace: str
) -> None:
    repo.commit({"settings.yaml": configmap("settings", namespace, color="blue")})
    agents = [make_agent(election=True, identity=f"agent-{n}", interval="1h") for n in (1, 2)]
    assert eventually(lambda: leader_of(agents))
    assert eventually(lambda: live.data("settings").get("color") == "blue")
    standby = next(agent for agent in agents if not agent.is_leader())

    repo.commit({"settings.yaml": configmap("settings", namespace, color="red")})
    token = {"Authorization": "Bearer reconcile-token"}
    assert post(f"{standby.url}/hooks/reconcile/app", b"", token) == 202
    assert eventually(lambda: live.data("settings").get("color") == "red")


def test_a_graceful_stop_releases_the_lease(make_agent: AgentFactory, repo: GitRepo, live: Live, namespace: str) -> None:
    repo.commit({"settings.yaml": configmap("settings", namespace, color="blue")})
    agent = make_agent(election=True, identity="only")
    assert eventually(agent.is_leader)
    agent.stop()
    lease = live.lease("agent-lease-shard-0")
    assert lease is not None and lease["spec"]["holderIdentity"] in ("", None)


def test_the_cli_runs_until_sigterm_and_logs_json(
    cluster: Any, repo: GitRepo, live: Live, namespace: str, tmp_path: Path
) -> None:
    repo.commit({"settings.yaml": configmap("settings", namespace, color="blue")})
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump({
        "namespace": namespace,
        "cacheDir": str(tmp_path / "cache"),
        "leaderElection": {"leaseName": "cli-lease", "leaseDuration": "3s", "renewDeadline": "2s", "retryPeriod": "0.5s"},
        "applications": [{"name": "cli", "source": {"url": repo.url, "revision": "main"},
                          "destination": {"namespace": namespace}, "interval": "1h"}],
    }))
    port, dashboard = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gitops", "agent", "--config", str(config), "--kubeconfig", str(cluster.kubeconfig),
         "--listen", f"127.0.0.1:{port}", "--dashboard-listen", f"127.0.0.1:{dashboard}"],
        stderr=subprocess.PIPE, text=True,
    )
    try:
        assert eventually(lambda: live.data("settings").get("color") == "blue")
        assert eventually(lambda: live.status("cli").get("result") == "Synced")
        assert get(f"http://127.0.0.1:{port}/readyz") == (200, "leading\n")
        code, page = get(f"http://127.0.0.1:{dashboard}/")
        assert code == 200 and 'data-application="cli"' in page
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0
    lines = [json.loads(line) for line in stderr.splitlines()]
    assert {"agent started", "synced", "agent stopped"} <= {line["msg"] for line in lines}
    synced = next(line for line in lines if line["msg"] == "synced")
    assert synced["app"] == "cli" and len(synced["revision"]) == 40
    lease = live.lease("cli-lease-shard-0")
    assert lease is not None and not lease["spec"].get("holderIdentity")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.faults
def test_a_leader_that_cannot_renew_stops_reconciling(
    cluster: Any, make_agent: AgentFactory, repo: GitRepo, live: Live, namespace: str
) -> None:
    repo.commit({"settings.yaml": configmap("settings", namespace, color="blue")})
    agent = make_agent(election=True, identity="lonely", interval="1s")
    assert eventually(lambda: live.data("settings").get("color") == "blue")
    assert agent.is_leader()

    fault = cluster.sandbox.faults.add(verb="*", path_regex=f"/namespaces/{namespace}/leases", status=500, count=0)
    try:
        assert eventually(lambda: not agent.is_leader(), timeout=10)
        repo.commit({"settings.yaml": configmap("settings", namespace, color="green")})
        assert not eventually(lambda: live.data("settings").get("color") == "green", timeout=2.5)
        assert get(f"{agent.url}/readyz")[0] == 503
    finally:
        cluster.sandbox.faults.remove(fault)
    assert eventually(agent.is_leader, timeout=10)
    assert eventually(lambda: live.data("settings").get("color") == "green")
