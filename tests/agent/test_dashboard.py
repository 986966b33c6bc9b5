"""The dashboard of a running agent, read as a user would: pages and JSON over HTTP."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from agent_helpers import AgentFactory, GitRepo, Live, configmap, eventually, get, post

SECRET_VALUE = "hunter2-correct-horse"
SECRET_DRIFT = "stolen-battery-staple"


def secret(name: str, namespace: str, **data: str) -> str:
    encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
    return yaml.safe_dump(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}, "data": encoded}
    )


def api(url: str) -> dict[str, Any]:
    code, text = get(url)
    assert code == 200, text
    return json.loads(text)


def application(agent: Any) -> dict[str, Any]:
    listed = api(f"{agent.dashboard_url}/api/v1/applications")["applications"]
    return next(app for app in listed if app["name"] == "app")


def drift(live: Live, namespace: str, client: Any) -> None:
    """Change two objects the way ``kubectl edit`` would (another field manager)."""
    live.configmaps.patch(
        name="settings", namespace=namespace, body={"data": {"color": "hacked"}},
        content_type="application/merge-patch+json", field_manager="kubectl-edit",
    )
    client.resources.get(api_version="v1", kind="Secret").patch(
        name="credentials", namespace=namespace,
        body={"data": {"password": base64.b64encode(SECRET_DRIFT.encode()).decode()}},
        content_type="application/merge-patch+json", field_manager="kubectl-edit",
    )


def test_pages_and_json_show_state_drift_and_history(
    make_agent: AgentFactory, repo: GitRepo, live: Live, namespace: str, cluster: Any
) -> None:
    sha = repo.commit({
        "settings.yaml": configmap("settings", namespace, color="blue"),
        "secret.yaml": secret("credentials", namespace, password=SECRET_VALUE),
    })
    agent = make_agent(interval="1s", self_heal=False, dashboard=True)
    synced = eventually(lambda: (app := application(agent))["result"] == "Synced" and app)
    assert synced["revision"] == sha and synced["drifted"] == 0 and synced["lastSyncTime"]
    # Between syncs the health comes from the live objects planning reads (ConfigMaps and Secrets exist).
    assert eventually(lambda: application(agent)["health"] == "Healthy")

    drift(live, namespace, cluster.dynamic())
    app = eventually(lambda: (app := application(agent))["drifted"] == 2 and app)
    assert app["result"] == "OutOfSync" and app["revision"] == sha and app["health"]

    detail = api(f"{agent.dashboard_url}/api/v1/applications/app")
    assert {key: detail[key] for key in ("name", "result", "drifted", "revision")} == {
        "name": "app", "result": "OutOfSync", "drifted": 2, "revision": sha,
    }
    changes = {change["object"]: change for change in detail["changes"]}
    settings = changes[f"v1 ConfigMap {namespace}/settings"]
    assert settings["action"] == "update"
    assert {(c["path"], c["before"], c["after"], c["manager"]) for c in settings["changes"]} == {
        ("data.color", "hacked", "blue", "kubectl-edit"),
    }
    password = changes[f"v1 Secret {namespace}/credentials"]["changes"]
    assert [(c["path"], c["before"], c["after"]) for c in password] == [
        ("data.password", "*** (before)", "*** (after)"),
    ]
    history = [(entry["revision"], entry["result"], entry["counts"]["drifted"]) for entry in detail["history"]]
    assert history[0] == (sha, "OutOfSync", 2) and history[-1] == (sha, "Synced", 0)
    assert detail["history"][-1]["counts"]["created"] == 2

    code, overview = get(f"{agent.dashboard_url}/")
    assert code == 200
    assert 'data-application="app"' in overview and "OutOfSync" in overview and sha[:7] in overview
    code, page = get(f"{agent.dashboard_url}/applications/app")
    assert code == 200
    for shown in ("data.color", "kubectl-edit", "hacked", "*** (before)", f"ConfigMap {namespace}/settings"):
        assert shown in page

    everything = overview + page + json.dumps(detail) + get(f"{agent.dashboard_url}/api/v1/applications")[1]
    for value in (SECRET_VALUE, SECRET_DRIFT):
        assert value not in everything
        assert base64.b64encode(value.encode()).decode() not in everything


def test_a_failure_is_shown_with_its_message(
    make_agent: AgentFactory, repo: GitRepo, live: Live, namespace: str
) -> None:
    good = repo.commit({"settings.yaml": configmap("settings", namespace, color="blue")})
    agent = make_agent(interval="1s", dashboard=True)
    assert eventually(lambda: application(agent)["result"] == "Synced")
    bad = repo.commit({"settings.yaml": "kind: ConfigMap\nmetadata: [unclosed\n"})

    app = eventually(lambda: (app := application(agent))["result"] == "Failed" and app)
    assert app["revision"] == bad and app["lastAppliedRevision"] == good
    assert "settings.yaml" in app["message"]
    code, overview = get(f"{agent.dashboard_url}/")
    assert code == 200 and "Failed" in overview and "settings.yaml" in overview

    history = api(f"{agent.dashboard_url}/api/v1/applications/app")["history"]
    assert [(entry["revision"], entry["result"]) for entry in history[:2]] == [(bad, "Failed"), (good, "Synced")]
    # The history is also in the status, for the next leader and for kubectl.
    def recorded() -> list[tuple[str, str]]:
        return [(entry["revision"], entry["result"]) for entry in json.loads(live.status("app").get("history", "[]"))]

    assert eventually(lambda: recorded()[:2] == [(bad, "Failed"), (good, "Synced")])


def test_pages_change_when_the_application_does(make_agent: AgentFactory, repo: GitRepo, namespace: str) -> None:
    """What the page's script relies on: a conditional request is cheap until the page changes."""
    first = repo.commit({"settings.yaml": configmap("settings", namespace, color="blue")})
    agent = make_agent(interval="1h", dashboard=True)  # the first run, then only on request
    assert eventually(lambda: application(agent)["revision"] == first)
    with urllib.request.urlopen(f"{agent.dashboard_url}/", timeout=10) as response:
        etag = response.headers["ETag"]

    def status() -> int:
        request = urllib.request.Request(f"{agent.dashboard_url}/", headers={"If-None-Match": etag})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as err:
            return err.code

    assert status() == 304
    second = repo.commit({"settings.yaml": configmap("settings", namespace, color="green")})
    assert post(f"{agent.url}/hooks/reconcile/app", b"", {"Authorization": "Bearer reconcile-token"}) == 202
    assert eventually(lambda: status() == 200)
    assert second[:7] in get(f"{agent.dashboard_url}/")[1]


def test_a_standby_shows_what_the_leader_recorded(
    make_agent: AgentFactory, repo: GitRepo, namespace: str
) -> None:
    sha = repo.commit({"settings.yaml": configmap("settings", namespace, color="blue")})
    agents = [make_agent(election=True, identity=f"agent-{n}", dashboard=True) for n in (1, 2)]
    leader = eventually(lambda: next((agent for agent in agents if agent.is_leader()), None))
    assert leader is not None
    standby = next(agent for agent in agents if agent is not leader)

    app = eventually(lambda: (app := application(standby))["result"] == "Synced" and app["replica"] and app)
    assert app["revision"] == sha and app["replica"] == leader.identity
    detail = api(f"{standby.dashboard_url}/api/v1/applications/app")
    assert detail["history"][0]["revision"] == sha and detail["changes"] == []
    assert leader.identity in get(f"{standby.dashboard_url}/applications/app")[1]


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump({"namespace": "ops", "applications": [
        {"name": "shop", "source": {"url": "https://github.com/acme/deploy.git"}, "destination": {"namespace": "shop"}},
    ]}))
    return subprocess.run(
        [sys.executable, "-m", "gitops", "agent", "--config", str(config), "--listen", "127.0.0.1:0", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_a_bad_or_taken_dashboard_address_stops_the_agent_with_one_line(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "--dashboard-listen", "localhost:http")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--dashboard-listen" in done.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli(tmp_path, "--dashboard-listen", f"127.0.0.1:{port}")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert f"--dashboard-listen 127.0.0.1:{port}: cannot listen" in done.stderr


def test_history_outlives_the_agent(make_agent: AgentFactory, repo: GitRepo, namespace: str) -> None:
    first = repo.commit({"settings.yaml": configmap("settings", namespace, color="blue")})
    agent = make_agent(interval="1s", dashboard=True)
    assert eventually(lambda: application(agent)["revision"] == first)
    agent.stop()

    second = repo.commit({"settings.yaml": configmap("settings", namespace, color="green")})
    restarted = make_agent(interval="1s", dashboard=True)
    assert eventually(lambda: application(restarted)["revision"] == second)
    history = api(f"{restarted.dashboard_url}/api/v1/applications/app")["history"]
    assert [(entry["revision"], entry["counts"]["created"], entry["counts"]["updated"]) for entry in history] == [
        (second, 0, 1), (first, 1, 0),
    ]
