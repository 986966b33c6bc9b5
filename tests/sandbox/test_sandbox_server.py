"""The sandbox server itself: persistence, credentials, fault injection, the CLI.

These tests start their own SandboxServer (they test the sandbox, not a cluster), so they run the
same whether or not GITOPS_TEST_KUBECONFIG names a real cluster; only fault injection on the shared
cluster is marked ``faults``.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from kubernetes import config, dynamic
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import DynamicApiError, ForbiddenError

from gitops.sandbox import SandboxServer, default_state_dir
from gitops.sandbox.store import StateError


def _client(kubeconfig: Path, tmp_path: Path):
    api = config.new_client_from_config(config_file=str(kubeconfig))
    return dynamic.DynamicClient(api, cache_file=str(tmp_path / f"cache-{time.monotonic_ns()}.json"))


def _configmap(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


def test_state_survives_a_restart(tmp_path):
    state = tmp_path / "state"
    with SandboxServer(state_dir=state) as server:
        client = _client(server.write_kubeconfig(tmp_path / "kc"), tmp_path)
        configmaps = client.resources.get(api_version="v1", kind="ConfigMap")
        created = configmaps.create(body=_configmap("kept"), namespace="default").to_dict()

    with SandboxServer(state_dir=state) as server:
        client = _client(server.write_kubeconfig(tmp_path / "kc"), tmp_path)
        configmaps = client.resources.get(api_version="v1", kind="ConfigMap")
        live = configmaps.get(name="kept", namespace="default").to_dict()
        assert live["metadata"]["uid"] == created["metadata"]["uid"]
        assert live["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
        again = configmaps.create(body=_configmap("next"), namespace="default").to_dict()
        assert int(again["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])


def test_corrupt_state_is_one_clear_error(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "state.json").write_text("{not json")
    completed = subprocess.run(
        [sys.executable, "-m", "gitops", "sandbox", "serve", "--state-dir", str(state)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith(f"error: sandbox state file {state / 'state.json'} is unreadable")
    assert "gitops sandbox reset" in lines[0]


def test_serve_writes_kubeconfig_and_stops_on_sigterm_then_reset_clears(tmp_path):
    state = tmp_path / "state"
    kubeconfig = tmp_path / "out" / "kubeconfig"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gitops",
            "sandbox",
            "serve",
            "--state-dir",
            str(state),
            "--kubeconfig-out",
            str(kubeconfig),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not kubeconfig.exists():
            assert time.monotonic() < deadline and process.poll() is None, "serve never wrote its kubeconfig"
            time.sleep(0.05)
        assert oct(kubeconfig.stat().st_mode & 0o777) == "0o600"
        client = _client(kubeconfig, tmp_path)
        client.resources.get(api_version="v1", kind="ConfigMap").create(
            body=_configmap("saved"), namespace="default"
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0
    assert "saved" in (state / "state.json").read_text()

    reset = subprocess.run(
        [sys.executable, "-m", "gitops", "sandbox", "reset", "--state-dir", str(state)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert reset.returncode == 0
    assert not (state / "state.json").exists()


def test_default_state_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GITOPS_SANDBOX_DIR", str(tmp_path / "explicit"))
    assert default_state_dir() == tmp_path / "explicit"
    monkeypatch.delenv("GITOPS_SANDBOX_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_state_dir() == tmp_path / "xdg" / "gitops" / "sandbox"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_state_dir() == tmp_path / "home" / ".local" / "state" / "gitops" / "sandbox"


@pytest.fixture(scope="module")
def private_server():
    with SandboxServer(admin=True) as server:
        yield server


def _raw(
    server: SandboxServer, path: str, token: str | None = None, method: str = "GET", body: bytes | None = None
):
    request = urllib.request.Request(server.url + path, method=method, data=body)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        context = ssl.create_default_context(cadata=server.ca_pem)
        with urllib.request.urlopen(request, timeout=10, context=context) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def test_requests_without_a_valid_token_are_unauthorized(private_server):
    expected = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
    assert _raw(private_server, "/api/v1/namespaces") == (401, expected)
    assert _raw(private_server, "/api/v1/namespaces", token="wrong") == (401, expected)
    status, version = _raw(private_server, "/version")
    assert status == 200 and version["major"] == "1"


def test_read_only_token_reads_but_may_not_write(private_server, tmp_path):
    client = _client(private_server.write_kubeconfig(tmp_path / "ro", read_only=True), tmp_path)
    configmaps = client.resources.get(api_version="v1", kind="ConfigMap")
    assert configmaps.get(namespace="default").kind == "ConfigMapList"
    with pytest.raises(ForbiddenError) as raised:
        configmaps.create(body=_configmap("nope"), namespace="default")
    status = json.loads(raised.value.body)
    assert status["reason"] == "Forbidden" and status["code"] == 403
    assert status["message"] == (
        'configmaps is forbidden: User "sandbox-reader" cannot create resource "configmaps" in API group "" '
        'in the namespace "default"'
    )


def test_admin_endpoint_adds_faults(private_server):
    token = private_server.admin_token
    status, fault = _raw(
        private_server,
        "/sandbox/faults",
        token=token,
        method="POST",
        body=json.dumps({"verb": "list", "path_regex": "/secrets$", "status": 503, "count": 1}).encode(),
    )
    assert status == 201 and fault["count"] == 1
    status, body = _raw(private_server, "/api/v1/namespaces/default/secrets", token=token)
    assert status == 503 and body["reason"] == "ServiceUnavailable"
    assert _raw(private_server, "/api/v1/namespaces/default/secrets", token=token)[0] == 200


def test_admin_endpoint_is_off_without_the_flag(tmp_path):
    with SandboxServer() as server:
        status, body = _raw(server, "/sandbox/faults", token=server.admin_token)
    assert status == 404 and body["reason"] == "NotFound"


@pytest.mark.faults
def test_injected_status_faults_answer_as_the_server_would(cluster, namespace):
    client = cluster.dynamic()
    configmaps = client.resources.get(api_version="v1", kind="ConfigMap")
    cluster.sandbox.faults.add(
        verb="create", path_regex=f"/namespaces/{namespace}/configmaps", status=500, count=1
    )
    with pytest.raises(DynamicApiError) as raised:
        configmaps.create(body=_configmap("flaky"), namespace=namespace)
    assert raised.value.status == 500
    assert configmaps.create(body=_configmap("flaky"), namespace=namespace).metadata.name == "flaky"


@pytest.mark.faults
def test_injected_throttling_says_when_to_retry(cluster, namespace):
    client = cluster.dynamic()
    configmaps = client.resources.get(api_version="v1", kind="ConfigMap")
    # POST: urllib3 itself retries idempotent requests that answer 429 with Retry-After.
    cluster.sandbox.faults.add(
        verb="create", path_regex=f"/namespaces/{namespace}/configmaps$", status=429, count=1
    )
    with pytest.raises(DynamicApiError) as raised:
        configmaps.create(body=_configmap("x"), namespace=namespace)
    assert raised.value.status == 429
    assert raised.value.headers["Retry-After"] == "1"
    assert json.loads(raised.value.body)["reason"] == "TooManyRequests"


@pytest.mark.faults
def test_injected_dropped_connection_and_timeout(cluster, namespace):
    api = cluster.api_client()
    from kubernetes.client import CoreV1Api

    core = CoreV1Api(api)
    # urllib3 retries a GET three times: four failures reach the caller.
    cluster.sandbox.faults.add(
        verb="list", path_regex=f"/namespaces/{namespace}/secrets$", mode="drop", count=4
    )
    with pytest.raises(Exception) as dropped:
        core.list_namespaced_secret(namespace, _request_timeout=5)
    assert not isinstance(dropped.value, ApiException)
    cluster.sandbox.faults.add(
        verb="list", path_regex=f"/namespaces/{namespace}/services$", mode="timeout", delay=1.0, count=4
    )
    with pytest.raises(Exception) as timed_out:
        core.list_namespaced_service(namespace, _request_timeout=0.3)
    assert not isinstance(timed_out.value, ApiException)
    assert core.list_namespaced_service(namespace).items == []


def test_a_state_directory_serves_one_sandbox_at_a_time(tmp_path):
    state = tmp_path / "state"
    with SandboxServer(state_dir=state):
        with pytest.raises(StateError, match="in use by another running sandbox"):
            SandboxServer(state_dir=state)
        reset = subprocess.run(
            [sys.executable, "-m", "gitops", "sandbox", "reset", "--state-dir", str(state)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert reset.returncode == 2 and "in use by a running sandbox" in reset.stderr
    with SandboxServer(state_dir=state):
        pass


def test_sandbox_commands_join_a_running_serve_of_the_same_state(tmp_path):
    """`gitops sandbox serve &` then `gitops sync --sandbox ...` (the README's next steps): the
    command uses the served sandbox instead of failing on its locked state directory."""
    state = tmp_path / "state"
    source = tmp_path / "source"
    source.mkdir()
    (source / "settings.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: joined, namespace: default}\ndata: {k: v}\n"
    )
    env = {**os.environ, "GITOPS_SANDBOX_DIR": str(state), "GITOPS_CACHE_DIR": str(tmp_path / "cache")}
    serve = subprocess.Popen([sys.executable, "-m", "gitops", "sandbox", "serve"], env=env,
                             stderr=subprocess.DEVNULL)

    def gitops(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "gitops", *args], env=env, capture_output=True, text=True,
                              timeout=120)

    try:
        deadline = time.monotonic() + 30
        while not (state / "kubeconfig").exists():
            assert time.monotonic() < deadline and serve.poll() is None, "serve never wrote its kubeconfig"
            time.sleep(0.05)
        synced = gitops("sync", "--sandbox", "--applyset", "joined-set", str(source))
        assert synced.returncode == 0, synced.stderr
        client = _client(state / "kubeconfig", tmp_path)
        live = client.resources.get(api_version="v1", kind="ConfigMap").get(name="joined", namespace="default")
        assert live.data.k == "v"
        assert gitops("diff", "--sandbox", "--applyset", "joined-set", str(source)).returncode == 0
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
