"""Client CPU of two versions of gitops, interleaved on one cluster, to compare them on a busy machine.

    python bench/compare_cpu.py OLD_TREE [-n 10000] [--rounds 2] [--kubeconfig FILE]

OLD_TREE is a checkout of another revision (``git archive REV | tar -x -C DIR``); it runs with the
same interpreter and dependencies, ``PYTHONPATH=OLD_TREE``. Each round runs, for the old tree and
then this one, each on its own copy of the objects: a first sync, two no-op diffs and a sync of a 1%
change, as subprocesses; printed is the least CPU time (user + system) of the rounds for each step,
the figure least disturbed by other load.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sync import BIN, ROOT, Run, generate, nullcontext, sandbox
from bench_sync import run as run_command


def steps(tree: Path, kubeconfig: Path, source: Path, count: int, prefix: str) -> dict[str, Run]:
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = str(tree)
    try:
        command = [str(BIN / "gitops")]  # not `python -m gitops`: that imports from the working directory
        flags = ["--kubeconfig", str(kubeconfig), "--applyset", prefix, "-o", "json"]
        generate(source, count, prefix, 100)
        results = {"first sync": run_command([*command, "sync", str(source), *flags])}
        diffs = [run_command([*command, "diff", str(source), *flags]) for _ in range(2)]
        results["no-op diff"] = min(diffs, key=lambda r: r.cpu)
        generate(source, count, prefix, 100, version=1, changed=max(1, count // 100))
        results["1% change"] = run_command([*command, "sync", str(source), *flags])
        return results
    finally:
        os.environ["PYTHONPATH"] = env_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", type=Path)
    parser.add_argument("-n", "--count", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--kubeconfig", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gitops-compare-"))
    best: dict[tuple[str, str], Run] = {}
    with sandbox(work) if args.kubeconfig is None else nullcontext(args.kubeconfig) as kubeconfig:
        for round_ in range(args.rounds):
            for label, tree in (("old", args.old.resolve()), ("new", ROOT)):
                prefix = f"cmp{label}{round_}"
                for step, result in steps(tree, kubeconfig, work / prefix, args.count, prefix).items():
                    print(f"round {round_} {label} {step}: wall {result.wall:.2f} s, CPU {result.cpu:.2f} s, "
                          f"RSS {result.rss_mb:.0f} MB", flush=True)
                    key = (label, step)
                    if key not in best or result.cpu < best[key].cpu:
                        best[key] = result
    print(f"\n| {args.count:,} objects | old CPU | new CPU | new/old |\n|---|---|---|---|")
    for step in ("first sync", "no-op diff", "1% change"):
        old, new = best[("old", step)], best[("new", step)]
        print(f"| {step} | {old.cpu:.2f} s | {new.cpu:.2f} s | {new.cpu / old.cpu:.2f} |")


if __name__ == "__main__":
    main()
