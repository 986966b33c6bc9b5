"""Benchmark: gitops diff/sync against kubectl diff/apply --server-side on the same cluster.

    python bench/bench_sync.py -n 100 -n 1000 [--kubeconfig FILE] [--keep]

Generates a repository of N objects (ConfigMaps, Deployments and Services spread over several
namespaces), then on the cluster named by --kubeconfig (default: a fresh in-process sandbox) times,
for gitops and for kubectl (each on its own copy of the objects, in its own namespaces):

- the first sync (``gitops sync`` / ``kubectl apply --server-side``),
- a no-op diff (``gitops diff`` / ``kubectl diff --server-side``; the median of three runs each),
- a sync after 1% of the objects changed.

Both tools run as subprocesses (start-up included). The API request counts come from an
in-process run of the same gitops step (the first sync's on a third copy of the objects).
Results are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NAMESPACES = 5


def generate(directory: Path, count: int, prefix: str, version: int = 0, changed: int = 0) -> list[str]:
    """Write ``count`` objects (a third each of ConfigMaps, Deployments, Services) in NAMESPACES namespaces.

    The first ``changed`` ConfigMaps get ``version``; returns the namespaces.
    """
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    namespaces = [f"{prefix}-{i}" for i in range(NAMESPACES)]
    (directory / "namespaces.yaml").write_text(
        "".join(f"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n" for ns in namespaces)
    )
    for i in range(count):
        namespace = namespaces[i % NAMESPACES]
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


def timed(command: list[str], ok: tuple[int, ...] = (0,)) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
    elapsed = time.perf_counter() - start
    if result.returncode not in ok:
        raise SystemExit(f"{' '.join(command[:3])} ... exited {result.returncode}: {result.stderr[-2000:]}")
    return elapsed


def gitops_requests(args: list[str], kubeconfig: Path, dry_run: bool, applyset: str) -> int:
    """API requests made by an in-process plan (dry_run) or sync of the same source."""
    from gitops import engine
    from gitops.source import SourceSpec

    options = engine.SyncOptions(dry_run=dry_run, applyset=applyset)
    desired = engine.load(SourceSpec(location=args[0]))
    with engine.connect(str(kubeconfig), options=options) as cluster:
        engine.sync(cluster, desired, options)
        return cluster.requests


@dataclass
class Row:
    count: int
    step: str
    gitops: float
    kubectl: float
    requests: int | None
    """API requests of an in-process run of the same step; ``None``: not measured."""

    def markdown(self) -> str:
        ratio = self.kubectl / self.gitops if self.gitops else float("inf")
        return (f"| {self.count} | {self.step} | {self.gitops:.2f} s | {self.kubectl:.2f} s | "
                f"{ratio:.1f}x | {self.requests if self.requests is not None else '-'} |")


def bench(count: int, kubeconfig: Path, work: Path) -> list[Row]:
    gitops = [str(BIN / "gitops")]
    kubectl = [str(BIN / "kubectl") if (BIN / "kubectl").exists() else "kubectl", "--kubeconfig", str(kubeconfig)]
    applyset = f"bench-{count}"  # one set per size: the other size's objects are no orphans of this one
    flags = ["--kubeconfig", str(kubeconfig), "--applyset", applyset, "-o", "json"]
    ours, theirs, counted = work / f"gitops-{count}", work / f"kubectl-{count}", work / f"counted-{count}"
    generate(ours, count, f"bg{count}")
    generate(theirs, count, f"bk{count}")
    generate(counted, count, f"bc{count}")
    changed = max(1, count // 100)
    rows = []

    first_gitops = timed([*gitops, "sync", str(ours), *flags])
    first_kubectl = timed([*kubectl, "apply", "--server-side", "-f", str(theirs)])
    rows.append(Row(count, "first sync / apply --server-side", first_gitops, first_kubectl,
                    gitops_requests([str(counted)], kubeconfig, dry_run=False, applyset=f"{applyset}-counted")))

    noop_gitops = statistics.median(timed([*gitops, "diff", str(ours), *flags]) for _ in range(3))
    noop_kubectl = statistics.median(
        timed([*kubectl, "diff", "--server-side", "-f", str(theirs)], ok=(0, 1)) for _ in range(3)
    )
    rows.append(Row(count, "no-op diff / diff --server-side", noop_gitops, noop_kubectl,
                    gitops_requests([str(ours)], kubeconfig, dry_run=True, applyset=applyset)))

    generate(ours, count, f"bg{count}", version=1, changed=changed)
    generate(theirs, count, f"bk{count}", version=1, changed=changed)
    change_gitops = timed([*gitops, "sync", str(ours), *flags])
    change_kubectl = timed([*kubectl, "apply", "--server-side", "-f", str(theirs)])
    generate(ours, count, f"bg{count}", version=2, changed=changed)
    rows.append(Row(count, f"sync of a 1% change ({changed} objects)", change_gitops, change_kubectl,
                    gitops_requests([str(ours)], kubeconfig, dry_run=False, applyset=applyset)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--count", type=int, action="append", help="objects (repeatable; default 100)")
    parser.add_argument("--kubeconfig", type=Path, help="cluster to use (default: a fresh in-process sandbox)")
    args = parser.parse_args()
    counts = args.count or [100]
    work = Path(tempfile.mkdtemp(prefix="gitops-bench-"))
    server = None
    kubeconfig = args.kubeconfig
    if kubeconfig is None:
        sys.path.insert(0, str(ROOT))
        from gitops.sandbox import SandboxServer

        server = SandboxServer(state_dir=None).start()
        kubeconfig = server.write_kubeconfig(work / "kubeconfig")
    try:
        print("| objects | step | gitops | kubectl | kubectl/gitops | gitops API requests |")
        print("|---|---|---|---|---|---|")
        for count in counts:
            for row in bench(count, kubeconfig, work):
                print(row.markdown(), flush=True)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
