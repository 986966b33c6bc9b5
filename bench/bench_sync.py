"""Benchmark: gitops diff/sync against kubectl diff/apply --server-side on the same cluster.

    python bench/bench_sync.py -n 1000 -n 10000 [--kubeconfig FILE] [--no-kubectl] [--profile DIR] [--agent 10]

Generates a repository of N objects (a third each of ConfigMaps, Deployments and Services, 100
to a namespace: 10,000 objects over 100 namespaces), then on the cluster named by --kubeconfig
(default: a fresh sandbox API server in its own process, in memory) times, for gitops and for
kubectl (each on its own copy of the objects, in its own namespaces):

- the first sync (``gitops sync`` / ``kubectl apply --server-side``),
- a no-op diff (``gitops diff`` / ``kubectl diff --server-side``; the median of three runs each),
- a sync after 1% of the objects changed.

Both tools run as subprocesses (start-up included); for each run the bench records the wall time,
the CPU seconds the client process used (user + system: the client's own cost, whatever the
server's speed) and its peak RSS. The API request counts come from an in-process run of the same
gitops step on the same cluster (the first sync's on a third copy of the objects): every request,
the writes among them (non-GET requests without dryRun), and, for the 1% change, how many of the
objects the server shows as modified (their resourceVersion changed). ``--profile DIR`` keeps a
cProfile of each in-process step. Results are printed as a Markdown table. ``--agent 10`` also
measures the memory of one process reconciling 10 applications of 1,000 objects at once, as the agent does.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KINDS = (("v1", "ConfigMap"), ("apps/v1", "Deployment"), ("v1", "Service"))


def generate(directory: Path, count: int, prefix: str, per_namespace: int, version: int = 0,
             changed: int = 0) -> list[str]:
    """Write ``count`` objects (a third each of ConfigMaps, Deployments, Services), ``per_namespace``
    to a namespace. The first ``changed`` ConfigMaps get ``version``; returns the namespaces."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    namespaces = [f"{prefix}-{i}" for i in range(max(1, -(-count // per_namespace)))]
    (directory / "namespaces.yaml").write_text(
        "".join(f"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n" for ns in namespaces)
    )
    for i in range(count):
        namespace = namespaces[i % len(namespaces)]
        kind = i % 3
        name = f"obj-{i}"
        if kind == 0:
            value = version if i // 3 < changed else 0
            text = (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
                    f"data:\n  index: \"{i}\"\n  version: \"{value}\"\n")
        elif kind == 1:
            text = (f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
                    f"spec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n"
                    f"    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n"
                    f"      - name: app\n        image: registry.k8s.io/pause:3.9\n"
                    f"        resources:\n          requests: {{cpu: \"0.1\", memory: 32Mi}}\n")
        else:
            text = (f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
                    f"spec:\n  selector: {{app: {name}}}\n  ports:\n  - port: 80\n    targetPort: 8080\n")
        (directory / f"{name}.yaml").write_text(text)
    return namespaces


@dataclass
class Run:
    """One subprocess run: wall seconds, CPU seconds (user + system) and peak RSS in MB."""

    wall: float
    cpu: float
    rss_mb: float


def run(command: list[str], ok: tuple[int, ...] = (0,)) -> Run:
    """Run a command to completion; its own resource usage (os.wait4), not the bench's."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env={**os.environ, "NO_COLOR": "1"})
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode not in ok:
            err.seek(0)
            raise SystemExit(f"{' '.join(command[:3])} ... exited {process.returncode}: "
                             f"{err.read().decode(errors='replace')[-2000:]}")
    return Run(wall=elapsed, cpu=usage.ru_utime + usage.ru_stime, rss_mb=usage.ru_maxrss / 1024)


def median_run(runs: list[Run]) -> Run:
    return Run(wall=statistics.median(r.wall for r in runs), cpu=statistics.median(r.cpu for r in runs),
               rss_mb=max(r.rss_mb for r in runs))


@dataclass
class Counted:
    requests: int
    writes: int
    modified: int | None = None
    """Objects whose resourceVersion the step changed (``None``: not checked)."""


def resource_versions(cluster: Any, namespaces: list[str]) -> dict[tuple[str, str, str], str]:
    """``(kind, namespace, name) -> resourceVersion`` of the bench's objects, one LIST per kind and namespace."""
    kinds = [cluster.resource(api_version, kind) for api_version, kind in KINDS]
    lists = cluster.map(lambda query: (query[0].kind, query[1], cluster.list(query[0], namespace=query[1])),
                        [(kind, ns) for kind in kinds for ns in namespaces])
    return {(kind, ns, obj["metadata"]["name"]): obj["metadata"]["resourceVersion"]
            for kind, ns, objects in lists for obj in objects}


def gitops_counted(source: Path, kubeconfig: Path, *, dry_run: bool, applyset: str,
                   namespaces: list[str] | None = None, profile: Path | None = None) -> Counted:
    """An in-process plan (dry_run) or sync of ``source``: its requests and writes."""
    from gitops import engine
    from gitops.source import SourceSpec

    options = engine.SyncOptions(dry_run=dry_run, applyset=applyset)
    profiler = cProfile.Profile() if profile else None
    with engine.connect(str(kubeconfig), options=options) as cluster:
        before = resource_versions(cluster, namespaces) if namespaces else {}
        cluster.requests = cluster.writes = 0
        if profiler:
            profiler.enable()
        engine.sync(cluster, engine.load(SourceSpec(location=str(source))), options)
        if profiler and profile:
            profiler.disable()
            profiler.dump_stats(profile)
        counted = Counted(requests=cluster.requests, writes=cluster.writes)
        if namespaces:
            after = resource_versions(cluster, namespaces)
            counted.modified = sum(1 for key, version in after.items() if before.get(key) != version)
        return counted


@dataclass
class Row:
    count: int
    namespaces: int
    step: str
    gitops: Run
    kubectl: Run | None
    counted: Counted

    def markdown(self) -> str:
        theirs = self.kubectl
        ratio = f"{self.gitops.wall / theirs.wall:.2f}" if theirs else "-"
        kubectl = f"{theirs.wall:.2f} s ({theirs.rss_mb:.0f} MB)" if theirs else "-"
        requests = f"{self.counted.requests} ({self.counted.writes} writes"
        requests += f", {self.counted.modified} modified)" if self.counted.modified is not None else ")"
        return (f"| {self.count:,} / {self.namespaces} | {self.step} | {self.gitops.wall:.2f} s "
                f"| {self.gitops.cpu:.2f} s | {self.gitops.rss_mb:.0f} MB | {kubectl} | {ratio} | {requests} |")


HEADER = ("| objects / namespaces | step | gitops | gitops CPU | gitops peak RSS | kubectl (peak RSS) "
          "| gitops/kubectl | gitops API requests |\n|---|---|---|---|---|---|---|---|")


def bench(count: int, kubeconfig: Path, work: Path, *, per_namespace: int, kubectl: bool,
          profile: Path | None) -> Iterator[Row]:
    gitops = [str(BIN / "gitops")]
    kubectl_cmd = [str(BIN / "kubectl") if (BIN / "kubectl").exists() else "kubectl", "--kubeconfig", str(kubeconfig)]
    applyset = f"bench-{count}"  # one set per size: the other size's objects are no orphans of this one
    flags = ["--kubeconfig", str(kubeconfig), "--applyset", applyset, "-o", "json"]
    ours, theirs, counted = work / f"gitops-{count}", work / f"kubectl-{count}", work / f"counted-{count}"
    namespaces = generate(ours, count, f"bg{count}", per_namespace)
    generate(theirs, count, f"bk{count}", per_namespace)
    generate(counted, count, f"bc{count}", per_namespace)
    changed = max(1, count // 100)
    spaces = len(namespaces)

    def prof(step: str) -> Path | None:
        return profile / f"{count}-{step}.prof" if profile else None

    first = run([*gitops, "sync", str(ours), *flags])
    first_kubectl = run([*kubectl_cmd, "apply", "--server-side", "-f", str(theirs)]) if kubectl else None
    yield Row(count, spaces, "first sync / apply --server-side", first, first_kubectl,
              gitops_counted(counted, kubeconfig, dry_run=False, applyset=f"{applyset}-counted", profile=prof("sync")))

    noop = median_run([run([*gitops, "diff", str(ours), *flags]) for _ in range(3)])
    noop_kubectl = median_run([
        run([*kubectl_cmd, "diff", "--server-side", "-f", str(theirs)], ok=(0, 1)) for _ in range(3)
    ]) if kubectl else None
    yield Row(count, spaces, "no-op diff / diff --server-side", noop, noop_kubectl,
              gitops_counted(ours, kubeconfig, dry_run=True, applyset=applyset, profile=prof("diff")))

    generate(ours, count, f"bg{count}", per_namespace, version=1, changed=changed)
    generate(theirs, count, f"bk{count}", per_namespace, version=1, changed=changed)
    change = run([*gitops, "sync", str(ours), *flags])
    change_kubectl = run([*kubectl_cmd, "apply", "--server-side", "-f", str(theirs)]) if kubectl else None
    generate(ours, count, f"bg{count}", per_namespace, version=2, changed=changed)
    yield Row(count, spaces, f"sync of a 1% change ({changed} objects)", change, change_kubectl,
              gitops_counted(ours, kubeconfig, dry_run=False, applyset=applyset, namespaces=namespaces,
                             profile=prof("change")))


def agent_memory(kubeconfig: Path, work: Path, apps: int, count: int, per_namespace: int) -> Run:
    """Peak RSS of one process reconciling ``apps`` applications of ``count`` objects each, all at
    once, as the agent does (each on its own connection and thread): a first sync, then a plan."""
    sources = []
    for index in range(apps):
        source = work / f"agent-{index}"
        generate(source, count, f"ba{index}", per_namespace)
        sources.append(str(source))
    return run([sys.executable, __file__, "--agent-child", str(kubeconfig), *sources])


def agent_child(kubeconfig: str, sources: list[str]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from gitops import engine
    from gitops.source import SourceSpec

    def reconcile(index_source: tuple[int, str]) -> None:
        index, source = index_source
        with engine.connect(kubeconfig) as cluster:
            for dry_run in (False, True):
                options = engine.SyncOptions(applyset=f"bench-agent-{index}", dry_run=dry_run)
                changeset = engine.sync(cluster, engine.load(SourceSpec(location=source)), options)
                if changeset.exit_code:
                    raise SystemExit(f"application {index}: exit {changeset.exit_code}")

    with ThreadPoolExecutor(len(sources)) as pool:
        list(pool.map(reconcile, enumerate(sources)))


@contextmanager
def sandbox(work: Path) -> Iterator[Path]:
    """A sandbox API server (in memory) in its own process, so that it competes with the measured
    client only for the CPU, as a real API server on the same machine would."""
    kubeconfig = work / "kubeconfig"
    code = ("import sys, threading\nfrom pathlib import Path\nfrom gitops.sandbox import SandboxServer\n"
            "server = SandboxServer(state_dir=None).start()\nserver.write_kubeconfig(Path(sys.argv[1]))\n"
            "sys.stdin.read()\nserver.stop()\n")
    process = subprocess.Popen([sys.executable, "-c", code, str(kubeconfig)], stdin=subprocess.PIPE, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not kubeconfig.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the sandbox did not start")
            time.sleep(0.05)
        time.sleep(0.1)  # the file is written in one go, but let it be complete
        yield kubeconfig
    finally:
        if process.stdin:
            process.stdin.close()
        process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--count", type=int, action="append", help="objects (repeatable; default 1000)")
    parser.add_argument("--kubeconfig", type=Path, help="cluster to use (default: a fresh sandbox API server)")
    parser.add_argument("--per-namespace", type=int, default=100, help="objects per namespace (default 100)")
    parser.add_argument("--no-kubectl", dest="kubectl", action="store_false", help="time gitops only")
    parser.add_argument("--profile", type=Path, help="write a cProfile of each in-process gitops step here")
    parser.add_argument("--agent", type=int, default=0, metavar="APPS",
                        help="also measure the peak RSS of reconciling APPS applications of 1,000 objects at once")
    parser.add_argument("--agent-child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.agent_child:
        agent_child(args.agent_child[0], args.agent_child[1:])
        return
    counts = args.count or [1000]
    work = Path(tempfile.mkdtemp(prefix="gitops-bench-"))
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    try:
        with sandbox(work) if args.kubeconfig is None else nullcontext(args.kubeconfig) as kubeconfig:
            print(f"cluster: {'sandbox (in memory, own process)' if args.kubeconfig is None else args.kubeconfig}; "
                  f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
            print(HEADER, flush=True)
            for count in counts:
                for row in bench(count, kubeconfig, work, per_namespace=args.per_namespace, kubectl=args.kubectl,
                                 profile=args.profile):
                    print(row.markdown(), flush=True)
            if args.agent:
                usage = agent_memory(kubeconfig, work, args.agent, 1000, args.per_namespace)
                print(f"\n{args.agent} applications of 1,000 objects reconciled at once in one process (a first "
                      f"sync, then a plan, each): {usage.wall:.1f} s, CPU {usage.cpu:.1f} s, peak RSS "
                      f"{usage.rss_mb:.0f} MB", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def nullcontext(value: Path) -> Iterator[Path]:
    yield value


if __name__ == "__main__":
    main()
