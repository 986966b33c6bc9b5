"""Benchmark: the agent with many Application objects, and shard failover.

    .venv/bin/python bench/bench_applications.py [--apps 200] [--repos 20] [--interval 3m] [--webhooks 20]
                                                 [--kubeconfig FILE] [--skip-idle] [--skip-failover]

Against a sandbox API server in its own process (or --kubeconfig), with agents as subprocesses:

1. One replica (``--shards 1``) and N Applications of 5 ConfigMaps each, spread over R local
   repositories: time until all are Ready; then ``--webhooks`` times: commit a change to one
   application's directory, POST the signed GitHub push, and time until the changed ConfigMap is
   seen (webhook-to-applied: median, p95, max); the agent's peak RSS; and the API requests the
   agent makes during one idle interval (from its /metrics: its own requests, engine requests).
2. Two replicas with ``--shards 4`` (default Lease timings: 15s/10s/2s): once the shares settle,
   kill -9 one of them and time until the survivor holds every shard Lease and until every
   Application of the dead replica reports the survivor in ``status.replica``.

Prints a Markdown summary. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gitops.agent.config import parse_duration  # noqa: E402

GIT_ENV = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "Bench",
           "GIT_COMMITTER_EMAIL": "b@example.com", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent",
           "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
NAMESPACE = "gitops-bench"
SECRET = "bench-hook-secret"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True).stdout


def configmaps(app: str, version: int) -> str:
    return "".join(
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {app}-{i}\n  namespace: {NAMESPACE}\n"
        f"data:\n  version: \"{version}\"\n" for i in range(5)
    )


class Repos:
    """R bare repositories served over file://, each holding the directories of N/R applications."""

    def __init__(self, root: Path, apps: list[str], count: int) -> None:
        self.root = root
        self.of = {app: index % count for index, app in enumerate(apps)}
        root.mkdir(parents=True, exist_ok=True)
        for r in range(count):
            work, bare = root / f"work-{r}", root / f"repo-{r}.git"
            git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
            git(root, "init", "--quiet", "--initial-branch=main", str(work))
            git(work, "remote", "add", "origin", f"file://{bare}")
            for app in (a for a in apps if self.of[a] == r):
                (work / app).mkdir()
                (work / app / "configmaps.yaml").write_text(configmaps(app, 0))
            self.commit(r)

    def url(self, app: str) -> str:
        return f"file://{self.root}/repo-{self.of[app]}.git"

    def commit(self, r: int) -> str:
        work = self.root / f"work-{r}"
        git(work, "add", "--all")
        git(work, "commit", "--quiet", "--allow-empty", "-m", "change")
        git(work, "push", "--quiet", "origin", "main")
        return git(work, "rev-parse", "HEAD").strip()

    def change(self, app: str, version: int) -> str:
        (self.root / f"work-{self.of[app]}" / app / "configmaps.yaml").write_text(configmaps(app, version))
        return self.commit(self.of[app])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AgentProcess:
    def __init__(self, kubeconfig: Path, workdir: Path, replica: str, shards: int) -> None:
        self.port = free_port()
        self.replica = replica
        tmp = workdir / f"{replica}-tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gitops", "agent", "--kubeconfig", str(kubeconfig), "--namespace", NAMESPACE,
             "--listen", f"127.0.0.1:{self.port}", "--shards", str(shards), "--replica-id", replica,
             "--webhook-secret", "gitops-agent-webhook", "--log-level", "warning"],
            stderr=(workdir / f"{replica}.log").open("w"), env={**os.environ, "TMPDIR": str(tmp)}, cwd=ROOT,
        )
        self.peak_rss = 0
        self._sampler = threading.Thread(target=self._sample_rss, daemon=True)
        self._sampler.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss(self) -> int:
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _sample_rss(self) -> None:
        while self.process.poll() is None:
            self.peak_rss = max(self.peak_rss, self.rss())
            time.sleep(0.5)

    def metrics(self) -> str:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as answer:
            return answer.read().decode()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()


def total(text: str, name: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples if s.name == name)


def wait(condition: Any, timeout: float, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError("condition not met in time")


def post_push(agent: AgentProcess, repos: Repos, app: str, sha: str) -> None:
    body = json.dumps({"ref": "refs/heads/main", "after": sha,
                       "repository": {"clone_url": repos.url(app), "default_branch": "main"}}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(f"{agent.url}/hooks/github", data=body, method="POST",
                                     headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": signature})
    with urllib.request.urlopen(request, timeout=10) as answer:
        if answer.status != 202:
            raise RuntimeError(f"webhook answered {answer.status}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--repos", type=int, default=20)
    parser.add_argument("--interval", default="3m")
    parser.add_argument("--webhooks", type=int, default=20)
    parser.add_argument("--kubeconfig", type=Path, default=None)
    parser.add_argument("--skip-idle", action="store_true", help="do not wait one interval for the idle count")
    parser.add_argument("--skip-failover", action="store_true")
    args = parser.parse_args()

    from kubernetes import config as kube_config
    from kubernetes import dynamic

    workdir = Path(tempfile.mkdtemp(prefix="gitops-bench-apps-"))
    sandbox = None
    kubeconfig = args.kubeconfig
    if kubeconfig is None:
        kubeconfig = workdir / "kubeconfig"
        sandbox = subprocess.Popen(
            [sys.executable, "-m", "gitops", "sandbox", "serve", "--state-dir", str(workdir / "sandbox"),
             "--kubeconfig-out", str(kubeconfig), "--no-simulate-workloads"],
            stderr=(workdir / "sandbox.log").open("w"), cwd=ROOT,
        )
        wait(lambda: kubeconfig.exists() and b"kubeconfig:" in (workdir / "sandbox.log").read_bytes(), 60)
    client = dynamic.DynamicClient(kube_config.new_client_from_config(config_file=str(kubeconfig)),
                                   cache_file=str(workdir / "discovery.json"))
    agents: list[AgentProcess] = []
    results: dict[str, str] = {}
    try:
        crd = __import__("yaml").safe_load((ROOT / "deploy/crds/applications.gitops.io.yaml").read_text())
        client.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition").server_side_apply(
            body=crd, name=crd["metadata"]["name"], field_manager="bench", force_conflicts=True)
        client.resources.get(api_version="v1", kind="Namespace").server_side_apply(
            body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}, name=NAMESPACE,
            field_manager="bench")
        client.resources.get(api_version="v1", kind="Secret").server_side_apply(
            body={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "gitops-agent-webhook", "namespace": NAMESPACE},
                  "stringData": {"github-secret": SECRET}}, name="gitops-agent-webhook", namespace=NAMESPACE,
            field_manager="bench")
        applications = wait(lambda: _resource(client), 60, 0.5)
        names = [f"app-{n:03d}" for n in range(args.apps)]
        repos = Repos(workdir / "git", names, args.repos)
        interval = parse_duration(args.interval)

        agent = AgentProcess(kubeconfig, workdir, "replica-0", shards=1)
        agents.append(agent)
        started = time.monotonic()
        for name in names:
            applications.create(namespace=NAMESPACE, body={
                "apiVersion": "gitops.io/v1alpha1", "kind": "Application",
                "metadata": {"name": name, "namespace": NAMESPACE},
                "spec": {"source": {"url": repos.url(name), "revision": "main", "path": name},
                         "interval": args.interval, "prune": True}})
        wait(lambda: len(_ready(applications)) == len(names), 600, 1.0)
        results["all Ready after creating them"] = f"{time.monotonic() - started:.1f} s"

        configmaps_api = client.resources.get(api_version="v1", kind="ConfigMap")
        latencies = []
        for round_number in range(1, args.webhooks + 1):
            app = names[(round_number * 37) % len(names)]
            sha = repos.change(app, round_number)
            posted = time.monotonic()
            post_push(agent, repos, app, sha)
            wait(lambda app=app, n=round_number: configmaps_api.get(name=f"{app}-4", namespace=NAMESPACE)
                 .to_dict()["data"]["version"] == str(n), 60, 0.02)
            latencies.append(time.monotonic() - posted)
            time.sleep(0.5)
        results["webhook to applied (median / p95 / max)"] = (
            f"{statistics.median(latencies):.2f} / {percentile(latencies, 0.95):.2f} / {max(latencies):.2f} s "
            f"({len(latencies)} pushes, each to a repository {len(names) // args.repos} applications follow)")

        if not args.skip_idle:
            time.sleep(5)
            before = agent.metrics()
            time.sleep(interval)
            after = agent.metrics()
            own = total(after, "gitops_agent_api_requests_total") - total(before, "gitops_agent_api_requests_total")
            engine = total(after, "gitops_api_requests_total") - total(before, "gitops_api_requests_total")
            results[f"API requests in one idle interval ({args.interval})"] = (
                f"{own + engine:.0f} ({engine:.0f} reconciling, {own:.0f} Leases/status/watch)")
        results["agent RSS (peak)"] = f"{agent.peak_rss / 2**20:.0f} MB"
        agent.stop()

        if not args.skip_failover:
            first = AgentProcess(kubeconfig, workdir, "replica-a", shards=4)
            second = AgentProcess(kubeconfig, workdir, "replica-b", shards=4)
            agents += [first, second]
            leases = client.resources.get(api_version="coordination.k8s.io/v1", kind="Lease")

            def holders() -> list[str]:
                found = []
                for shard in range(4):
                    try:
                        lease = leases.get(name=f"gitops-agent-shard-{shard}", namespace=NAMESPACE).to_dict()
                        found.append(lease["spec"].get("holderIdentity") or "")
                    except Exception:
                        found.append("")
                return found

            wait(lambda: sorted(holders()) == ["replica-a"] * 2 + ["replica-b"] * 2, 120, 0.5)
            owned = wait(lambda: _owners(applications, holders()), 600, 1.0)
            victim_apps = [name for name, replica in owned.items() if replica == "replica-a"]
            first.process.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            first.process.wait()
            wait(lambda: set(holders()) == {"replica-b"}, 120, 0.1)
            leases_moved = time.monotonic() - killed

            def moved() -> bool:
                items = {i["metadata"]["name"]: i for i in applications.get(namespace=NAMESPACE).to_dict()["items"]}
                return all((items[name].get("status") or {}).get("replica") == "replica-b" for name in victim_apps)

            wait(moved, 600, 0.2)
            results["failover (kill -9 of 1 of 2 replicas, --shards 4, lease 15s)"] = (
                f"shards taken over after {leases_moved:.1f} s; all {len(victim_apps)} of its Applications "
                f"reconciled by the survivor after {time.monotonic() - killed:.1f} s")
    finally:
        for agent in agents:
            agent.stop()
        if sandbox is not None:
            sandbox.send_signal(signal.SIGTERM)
            sandbox.wait(60)
    print(f"\n{args.apps} Applications x 5 ConfigMaps, {args.repos} repositories, interval {args.interval}, "
          f"{os.cpu_count()} CPUs\n")
    print("| measure | value |\n|---|---|")
    for key, value in results.items():
        print(f"| {key} | {value} |")


def _resource(client: Any) -> Any:
    try:
        client.resources.invalidate_cache() if hasattr(client.resources, "invalidate_cache") else None
        return client.resources.get(api_version="gitops.io/v1alpha1", kind="Application")
    except Exception:
        return None


def _ready(applications: Any) -> list[str]:
    items = applications.get(namespace=NAMESPACE).to_dict().get("items") or []
    return [i["metadata"]["name"] for i in items
            if any(c.get("type") == "Ready" and c.get("status") == "True"
                   for c in (i.get("status") or {}).get("conditions") or [])]


def _owners(applications: Any, holders: list[str]) -> dict[str, str] | None:
    """Application -> replica, once every Application reports the current holder of its shard."""
    items = applications.get(namespace=NAMESPACE).to_dict().get("items") or []
    owners = {}
    for item in items:
        status = item.get("status") or {}
        shard = status.get("shard")
        if not isinstance(shard, int) or status.get("replica") != holders[shard]:
            return None
        owners[item["metadata"]["name"]] = status["replica"]
    return owners


if __name__ == "__main__":
    main()
