"""Applications as Kubernetes objects: the CRD from deploy/crds/, agents reconciling them (in-process and
as separate processes), status in kstatus form, Events, deletion, sharding and failover."""

from __future__ import annotations

import calendar
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import GitRepo, Live, configmap, eventually, get, sample

from gitops.agent import Agent
from gitops.agent.config import AgentConfig, LeaderElection
from gitops.agent.state import views

pytestmark = pytest.mark.usefixtures("application_crd")

API_VERSION = "gitops.io/v1alpha1"
FAST_LEASES = LeaderElection(lease_duration=3.0, renew_deadline=2.0, retry_period=0.25)
KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl") or "kubectl"


class Applications:
    """Application objects in the test's namespace, through the official dynamic client."""

    def __init__(self, cluster: Any, namespace: str) -> None:
        self.namespace = namespace
        self.api = cluster.dynamic().resources.get(api_version=API_VERSION, kind="Application")

    def create(self, name: str, spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
        body = {"apiVersion": API_VERSION, "kind": "Application",
                "metadata": {"name": name, "namespace": self.namespace, **metadata}, "spec": spec}
        return self.api.create(body=body, namespace=self.namespace).to_dict()

    def get(self, name: str) -> dict[str, Any] | None:
        from kubernetes.dynamic.exceptions import NotFoundError

        try:
            return self.api.get(name=name, namespace=self.namespace).to_dict()
        except NotFoundError:
            return None

    def patch(self, name: str, body: dict[str, Any]) -> None:
        self.api.patch(name=name, namespace=self.namespace, body=body, content_type="application/merge-patch+json")

    def delete(self, name: str) -> None:
        self.api.delete(name=name, namespace=self.namespace)

    def condition(self, name: str, kind: str) -> dict[str, Any] | None:
        status = (self.get(name) or {}).get("status") or {}
        return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)

    def ready(self, name: str, revision: str | None = None) -> dict[str, Any] | None:
        """The Application once Ready=True for its current generation (and ``revision``, if given)."""
        obj = self.get(name) or {}
        status = obj.get("status") or {}
        ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
        generation = obj.get("metadata", {}).get("generation")
        if ready.get("status") != "True" or ready.get("observedGeneration") != generation:
            return None
        if revision is not None and status.get("lastAppliedRevision") != revision:
            return None
        return obj

    def remove_all(self) -> None:
        """Let every Application go (dropping finalizers), so the namespace can be deleted."""
        for item in self.api.get(namespace=self.namespace).to_dict().get("items") or []:
            name = item["metadata"]["name"]
            if item["metadata"].get("finalizers"):
                self.patch(name, {"metadata": {"finalizers": None}})
            self.delete(name)


@pytest.fixture
def apps(cluster: Any, namespace: str) -> Iterator[Applications]:
    applications = Applications(cluster, namespace)
    yield applications
    applications.remove_all()


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path)


@pytest.fixture
def live(cluster: Any, namespace: str) -> Live:
    return Live(cluster.dynamic(), namespace)


@pytest.fixture
def agent(cluster: Any, namespace: str, tmp_path: Path) -> Iterator[Agent]:
    """One in-process agent reconciling the Application objects of the test's namespace."""
    config = AgentConfig(file="(test)", namespace=namespace, applications=(), cache_dir=tmp_path / "cache")
    runner = Agent(config, kubeconfig=str(cluster.kubeconfig), listen=("127.0.0.1", 0), identity="solo",
                   lease=FAST_LEASES)
    runner.start()
    yield runner
    runner.stop()


def spec(repo: GitRepo, namespace: str, **extra: Any) -> dict[str, Any]:
    return {"source": {"url": repo.url, "revision": "main"}, "destination": {"namespace": namespace},
            "interval": "1h", "jitter": "0s", "prune": True, **extra}


def reasons(live: Live, name: str) -> list[str]:
    items = live.events.get(namespace=live.namespace).to_dict().get("items") or []
    return [e["reason"] for e in items
            if (e.get("involvedObject") or {}).get("kind") == "Application" and e["involvedObject"].get("name") == name]


def test_the_crd_refuses_a_bad_spec(apps: Applications, repo: GitRepo, namespace: str) -> None:
    from kubernetes.client.exceptions import ApiException

    def refused_fields(body: dict) -> set[str]:
        with pytest.raises(ApiException) as refused:
            apps.create(body["name"], body["spec"])
        status = json.loads(refused.value.body)  # the API server's Status object
        assert (refused.value.status, status["reason"]) == (422, "Invalid")
        return {cause.get("field") for cause in status["details"]["causes"]}

    assert "spec.interval" in refused_fields({"name": "soon", "spec": spec(repo, namespace, interval="soon")})
    assert "spec.source.url" in refused_fields({"name": "nourl", "spec": {"source": {"revision": "main"}}})
    assert apps.get("soon") is None and apps.get("nourl") is None


def test_an_application_is_reconciled_with_status_and_events(
    agent: Agent, apps: Applications, repo: GitRepo, live: Live, namespace: str
) -> None:
    first = repo.commit({"settings.yaml": configmap("settings", namespace, color="blue")})
    apps.create("shop", spec(repo, namespace))
    assert eventually(lambda: live.data("settings").get("color") == "blue")
    obj = eventually(lambda: apps.ready("shop", first))
    status = obj["status"]
    assert status["lastAttemptedRevision"] == first and status["observedGeneration"] == obj["metadata"]["generation"]
    assert status["result"] == "Synced" and status["inventorySize"] == 1 and status["driftedCount"] == 0
    assert status["history"][0]["revision"] == first and status["history"][0]["created"] == 1
    assert status["replica"] == "solo"
    assert {c["type"] for c in status["conditions"]} == {"Ready"}, "Reconciling and Stalled only while they hold"
    assert eventually(lambda: "SyncSucceeded" in reasons(live, "shop"))
    code, text = get(f"{agent.url}/metrics")
    assert code == 200 and sample(text, "gitops_agent_shards_held") == 1
    assert sample(text, "gitops_agent_live_replicas") == 1 and sample(text, "gitops_agent_shard_held", shard="0") == 1
    assert (sample(text, "gitops_reconcile_total", namespace=namespace, application="shop", result="synced") or 0) >= 1
    assert (sample(text, "gitops_agent_api_request_duration_seconds_count", verb="list", code="200") or 0) >= 1
    assert get(f"{agent.url}/readyz") == (200, "leading\n")
    view = next(v for v in views(agent) if v.name == "shop")
    assert (view.namespace, view.revision, view.result, view.replica) == (namespace, first, "Synced", "solo")

    # A new spec is picked up through the watch, long before the 1h interval.
    repo.commit({"v2/settings.yaml": configmap("settings-v2", namespace, color="green")})
    apps.patch("shop", {"spec": {"source": {"path": "v2"}}})
    assert eventually(lambda: live.data("settings-v2").get("color") == "green")
    assert eventually(lambda: live.configmap("settings") is None), "pruned: no longer in the rendered path"
    assert eventually(lambda: apps.ready("shop"))

    # So is a reconcile request (the annotation).
    third = repo.commit({"v2/settings.yaml": configmap("settings-v2", namespace, color="red")})
    apps.patch("shop", {"metadata": {"annotations": {"gitops.io/reconcile-requested-at": "now"}}})
    assert eventually(lambda: live.data("settings-v2").get("color") == "red")
    assert eventually(lambda: apps.ready("shop", third))

    # Deleting the Application leaves its objects.
    apps.delete("shop")
    assert eventually(lambda: apps.get("shop") is None)
    time.sleep(1.0)
    assert live.data("settings-v2").get("color") == "red"


@pytest.mark.kubectl
def test_kubectl_shows_the_printer_columns(
    cluster: Any, agent: Agent, apps: Applications, repo: GitRepo, namespace: str
) -> None:
    sha = repo.commit({"settings.yaml": configmap("settings", namespace, color="blue")})
    apps.create("shop", spec(repo, namespace))
    assert eventually(lambda: apps.ready("shop", sha))
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "HOME": str(cluster.workdir)}
    result = subprocess.run([KUBECTL, "get", "applications", "-n", namespace], capture_output=True, text=True,
                            timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    header, row = result.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "REVISION", "SYNC", "READY", "AGE"]
    assert row.split()[:4] == ["shop", sha, "Synced", "True"]


def test_the_finalizer_deletes_the_objects(
    agent: Agent, apps: Applications, repo: GitRepo, live: Live, namespace: str
) -> None:
    sha = repo.commit({"settings.yaml": configmap("settings", namespace, color="blue")})
    apps.create("shop", spec(repo, namespace), finalizers=["gitops.io/delete-objects"])
    assert eventually(lambda: apps.ready("shop", sha))
    apps.delete("shop")
    assert eventually(lambda: live.configmap("settings") is None)
    assert eventually(lambda: apps.get("shop") is None), "the finalizer is removed once the objects are gone"


def test_a_spec_the_schema_cannot_refuse_is_reported(
    agent: Agent, apps: Applications, repo: GitRepo, live: Live, namespace: str
) -> None:
    apps.create("escape", spec(repo, namespace, source={"url": repo.url, "path": "../outside"}))
    stalled = eventually(lambda: apps.condition("escape", "Stalled"))
    assert stalled["status"] == "True" and stalled["reason"] == "InvalidSpec"
    assert "spec.source.path" in stalled["message"]
    ready = apps.condition("escape", "Ready")
    assert ready is not None and ready["status"] == "False"
    assert eventually(lambda: "InvalidSpec" in reasons(live, "escape"))


# --- several agents as separate processes -------------------------------------------------------


class AgentProcess:
    def __init__(self, cluster: Any, namespace: str, replica: str, workdir: Path, shards: int) -> None:
        self.replica = replica
        self.killed_at: float | None = None
        self.log = workdir / f"{replica}.log"
        tmp = workdir / f"{replica}-tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gitops", "agent", "--kubeconfig", str(cluster.kubeconfig), "--namespace", namespace,
             "--listen", "127.0.0.1:0", "--shards", str(shards), "--replica-id", replica, "--lease-duration", "3s",
             "--renew-deadline", "2s", "--retry-period", "0.25s", "--log-level", "debug"],
            stderr=self.log.open("w"), stdout=subprocess.DEVNULL, env={**os.environ, "TMPDIR": str(tmp)},
        )

    def runs(self) -> list[tuple[str, float, float]]:
        """(application, start, end) of every reconcile this replica logged."""
        started: dict[str, float] = {}
        runs = []
        for line in self.log.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            moment = calendar.timegm(time.strptime(entry["time"][:19], "%Y-%m-%dT%H:%M:%S")) + float(entry["time"][19:-1] or 0)
            if entry.get("msg") == "reconcile started":
                started[entry["app"]] = moment
            elif entry.get("msg") == "reconcile finished" and entry["app"] in started:
                runs.append((entry["app"], started.pop(entry["app"]), moment))
        # A run cut short by kill -9 ended with the process.
        end = self.killed_at if self.killed_at is not None else float("inf")
        return runs + [(app, begin, end) for app, begin in started.items()]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.killed_at = time.time()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def replicas(cluster: Any, namespace: str, tmp_path: Path) -> Iterator[list[AgentProcess]]:
    started = [AgentProcess(cluster, namespace, name, tmp_path, shards=4) for name in ("replica-a", "replica-b")]
    yield started
    for process in started:
        process.stop()


def shard_holders(live: Live) -> dict[int, str]:
    holders = {}
    for shard in range(4):
        lease = live.lease(f"gitops-agent-shard-{shard}") or {}
        holders[shard] = (lease.get("spec") or {}).get("holderIdentity") or ""
    return holders


def overlapping(first: AgentProcess, second: AgentProcess) -> list[str]:
    """Applications both replicas were reconciling at the same moment."""
    return sorted({
        app for app, a_start, a_end in first.runs() for other, b_start, b_end in second.runs()
        if app == other and a_start < b_end and b_start < a_end
    })


NAMES = [f"app-{n}" for n in range(8)]


def create_many(apps: Applications, repo: GitRepo, namespace: str) -> str:
    sha = repo.commit({f"{name}/settings.yaml": configmap(f"{name}-settings", namespace, color="blue") for name in NAMES})
    for name in NAMES:
        apps.create(name, {**spec(repo, namespace), "source": {"url": repo.url, "revision": "main", "path": name},
                           "interval": "2s"})
    return sha


def test_two_replicas_share_four_shards_without_double_reconciles(
    replicas: list[AgentProcess], apps: Applications, repo: GitRepo, live: Live, namespace: str
) -> None:
    sha = create_many(apps, repo, namespace)
    assert eventually(lambda: all(apps.ready(name, sha) for name in NAMES), timeout=60)
    # A fair share: two shards each, every shard held.
    assert eventually(lambda: sorted(shard_holders(live).values()) == ["replica-a"] * 2 + ["replica-b"] * 2, timeout=30)
    holders = shard_holders(live)
    # Each Application is reconciled by the holder of its shard.
    assert eventually(lambda: all(
        apps.get(name)["status"].get("replica") == holders[apps.get(name)["status"]["shard"]] for name in NAMES
    ), timeout=30)
    time.sleep(3.0)  # a few intervals of steady state
    assert overlapping(*replicas) == []


def test_a_killed_replica_s_applications_move_to_the_other(
    replicas: list[AgentProcess], apps: Applications, repo: GitRepo, live: Live, namespace: str
) -> None:
    sha = create_many(apps, repo, namespace)
    assert eventually(lambda: all(apps.ready(name, sha) for name in NAMES), timeout=60)
    assert eventually(lambda: set(shard_holders(live).values()) == {"replica-a", "replica-b"}, timeout=30)
    victim, survivor = replicas
    victim.kill()

    assert eventually(lambda: set(shard_holders(live).values()) == {survivor.replica}, timeout=30)
    newer = repo.commit({f"{name}/settings.yaml": configmap(f"{name}-settings", namespace, color="green") for name in NAMES})
    assert eventually(lambda: all(apps.ready(name, newer) for name in NAMES), timeout=60)
    assert all(live.data(f"{name}-settings").get("color") == "green" for name in NAMES)
    assert {apps.get(name)["status"]["replica"] for name in NAMES} == {survivor.replica}
    assert overlapping(victim, survivor) == []


def test_an_agent_that_cannot_write_its_leases_says_why(
    cluster: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = f"gt-missing-{os.urandom(4).hex()}"  # never created
    config = AgentConfig(file="(test)", namespace=missing, applications=(), cache_dir=tmp_path / "cache")
    runner = Agent(config, kubeconfig=str(cluster.kubeconfig), listen=("127.0.0.1", 0), identity="lonely",
                   lease=FAST_LEASES)
    with caplog.at_level("ERROR", logger="gitops.agent"):
        runner.start()
        try:
            answer = eventually(lambda: (reply := get(f"{runner.url}/readyz"))[0] != 200 and "Lease" in reply[1] and reply)
            assert answer and answer[0] == 503 and missing in answer[1]
            assert not runner.is_leader()
        finally:
            runner.stop()
    errors = [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]
    assert any("Lease" in message and missing in message for message in errors)


def test_webhook_secrets_come_from_a_secret(
    cluster: Any, apps: Applications, repo: GitRepo, live: Live, namespace: str, tmp_path: Path
) -> None:
    from agent_helpers import post, push_payload

    from gitops.agent.webhooks import signature

    secrets = cluster.dynamic().resources.get(api_version="v1", kind="Secret")
    secrets.create(namespace=namespace, body={
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "hooks", "namespace": namespace},
        "stringData": {"github-secret": "from-a-secret", "reconcile-token": "token-from-a-secret"}})
    repo.commit({"settings.yaml": configmap("settings", namespace, color="blue")})
    apps.create("shop", spec(repo, namespace))
    config = AgentConfig(file="(test)", namespace=namespace, applications=(), cache_dir=tmp_path / "cache")
    runner = Agent(config, kubeconfig=str(cluster.kubeconfig), listen=("127.0.0.1", 0), identity="hooked",
                   lease=FAST_LEASES, webhook_secret="hooks")
    runner.start()
    try:
        assert eventually(lambda: live.data("settings").get("color") == "blue")
        sha = repo.commit({"settings.yaml": configmap("settings", namespace, color="red")})
        body = push_payload(repo, sha)
        assert post(f"{runner.url}/hooks/github", body, {"X-GitHub-Event": "push",
                                                         "X-Hub-Signature-256": signature(b"wrong", body)}) == 401
        assert post(f"{runner.url}/hooks/github", body, {"X-GitHub-Event": "push",
                                                         "X-Hub-Signature-256": signature(b"from-a-secret", body)}) == 202
        assert eventually(lambda: live.data("settings").get("color") == "red")
        repo.commit({"settings.yaml": configmap("settings", namespace, color="violet")})
        token = {"Authorization": "Bearer token-from-a-secret"}
        assert post(f"{runner.url}/hooks/reconcile/{namespace}/nope", b"", token) == 404
        assert post(f"{runner.url}/hooks/reconcile/{namespace}/shop", b"", token) == 202
        assert eventually(lambda: live.data("settings").get("color") == "violet")
    finally:
        runner.stop()


def test_a_replica_without_the_shard_forwards_requests(
    cluster: Any, apps: Applications, repo: GitRepo, live: Live, namespace: str, tmp_path: Path
) -> None:
    import json as json_module

    from agent_helpers import post

    secrets = cluster.dynamic().resources.get(api_version="v1", kind="Secret")
    secrets.create(namespace=namespace, body={
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "hooks", "namespace": namespace},
        "stringData": {"reconcile-token": "token"}})
    repo.commit({"settings.yaml": configmap("settings", namespace, color="blue")})
    apps.create("shop", spec(repo, namespace))
    runners = []
    for identity in ("one", "two"):
        config = AgentConfig(file="(test)", namespace=namespace, applications=(), cache_dir=tmp_path / identity)
        runner = Agent(config, kubeconfig=str(cluster.kubeconfig), listen=("127.0.0.1", 0), identity=identity,
                       lease=FAST_LEASES, webhook_secret="hooks", shards=2)
        runner.start()
        runners.append(runner)
    try:
        assert eventually(lambda: all(len(r.coordinator.held()) == 1 for r in runners), timeout=30)
        key = f"{namespace}/shop"
        holder = next(r for r in runners if r.holds(key))
        other = next(r for r in runners if not r.holds(key))
        assert eventually(lambda: (o := apps.ready("shop")) and o["status"]["replica"] == holder.identity)
        repo.commit({"settings.yaml": configmap("settings", namespace, color="red")})
        request = urllib.request.Request(f"{other.url}/hooks/reconcile/{namespace}/shop", data=b"", method="POST",
                                         headers={"Authorization": "Bearer token"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 202
            assert json_module.loads(answer.read()) == {"forwarded": [f"{namespace}/shop"]}
        assert eventually(lambda: live.data("settings").get("color") == "red")
        assert post(f"{other.url}/hooks/reconcile/{namespace}/shop", b"", {"Authorization": "Bearer no"}) == 401
    finally:
        for runner in runners:
            runner.stop()


def test_applications_in_other_watched_namespaces(
    cluster: Any, repo: GitRepo, namespace: str, tmp_path: Path
) -> None:
    from kubernetes.client import CoreV1Api

    other = f"{namespace}-b"
    with cluster.api_client() as api_client:
        core = CoreV1Api(api_client)
        core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": other}})
        elsewhere = Applications(cluster, other)
        try:
            sha = repo.commit({"settings.yaml": configmap("settings", other, color="blue")})
            elsewhere.create("shop", spec(repo, other))
            config = AgentConfig(file="(test)", namespace=namespace, applications=(), cache_dir=tmp_path / "cache")
            runner = Agent(config, kubeconfig=str(cluster.kubeconfig), listen=("127.0.0.1", 0), identity="wide",
                           lease=FAST_LEASES, watch_namespaces=[namespace, other])
            runner.start()
            try:
                assert eventually(lambda: elsewhere.ready("shop", sha))
                assert eventually(lambda: "SyncSucceeded" in reasons(Live(cluster.dynamic(), other), "shop"))
            finally:
                runner.stop()
        finally:
            elsewhere.remove_all()
            core.delete_namespace(other)


def test_every_replica_s_dashboard_shows_every_application_and_its_owner(
    cluster: Any, apps: Applications, repo: GitRepo, namespace: str, tmp_path: Path
) -> None:
    from agent_helpers import get

    def api(url: str) -> dict[str, Any]:
        code, text = get(url)
        assert code == 200, text
        return json.loads(text)

    names = [f"app-{n}" for n in range(4)]
    repo.commit({f"{name}/settings.yaml": configmap(f"settings-{name}", namespace, color="blue") for name in names})
    runners = []
    for identity in ("one", "two"):
        config = AgentConfig(file="(test)", namespace=namespace, applications=(), cache_dir=tmp_path / identity)
        runner = Agent(config, kubeconfig=str(cluster.kubeconfig), listen=("127.0.0.1", 0), identity=identity,
                       lease=FAST_LEASES, shards=2, dashboard_listen=("127.0.0.1", 0))
        runner.start()
        runners.append(runner)
    try:
        assert eventually(lambda: all(len(r.coordinator.held()) == 1 for r in runners), timeout=30)
        for name in names:  # created once the shards are shared: each is synced by the replica that holds it
            apps.create(name, spec(repo, namespace, source={"url": repo.url, "revision": "main", "path": name}))
        assert eventually(lambda: all(apps.ready(name) for name in names), timeout=60)
        owners = {name: (apps.get(name) or {})["status"]["replica"] for name in names}
        assert set(owners.values()) <= {"one", "two"}

        def listed(runner: Agent) -> dict[str, tuple[str, str]]:
            items = api(f"{runner.dashboard_url}/api/v1/applications")["applications"]
            return {f"{i['namespace']}/{i['name']}": (i["result"], i["replica"]) for i in items}

        expected = {f"{namespace}/{name}": ("Synced", owner) for name, owner in owners.items()}
        for runner in runners:
            assert eventually(lambda runner=runner: listed(runner) == expected), listed(runner)
        name, owner = next(iter(owners.items()))
        holder = next(r for r in runners if r.identity == owner)
        other = next(r for r in runners if r.identity != owner)
        mine = api(f"{holder.dashboard_url}/api/v1/applications/{namespace}/{name}")
        theirs = api(f"{other.dashboard_url}/api/v1/applications/{namespace}/{name}")
        assert mine["changeSet"]["kind"] == "sync" and mine["changes"][0]["diff"], "the holder has it all"
        assert theirs["changeSet"] is None
        assert [(c["action"], c["object"].endswith(f"settings-{name}")) for c in theirs["changes"]] == [("create", True)]
        for detail in (mine, theirs):
            assert [(h["revision"], h["result"], h["counts"]["created"]) for h in detail["history"]] == [
                (mine["revision"], "Synced", 1)
            ]
        code, page = get(f"{other.dashboard_url}/applications/{namespace}/{name}")
        assert code == 200 and f"settings-{name}" in page and f"<code>{owner}</code>" in page

        holder.stop()  # hands its shard over: the other replica finds the application in sync
        assert eventually(lambda: (apps.get(name) or {}).get("status", {}).get("replica") == other.identity, timeout=30)
        taken = api(f"{other.dashboard_url}/api/v1/applications/{namespace}/{name}")
        assert taken["replica"] == other.identity and taken["history"][0]["counts"]["created"] == 1
        assert [(c["action"], c["object"].endswith(f"settings-{name}")) for c in taken["changes"]] == [("create", True)]
    finally:
        for runner in runners:
            runner.stop()
