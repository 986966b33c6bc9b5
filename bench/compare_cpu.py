"""Client CPU of versions of gitops, interleaved on one cluster, to compare them on a busy machine.

    python bench/compare_cpu.py OLD_TREE [OLD_TREE ...] [-n 10000] [--rounds 2] [-o text] [--kubeconfig FILE]

Each OLD_TREE is a checkout of another revision (``git archive REV | tar -x -C DIR``); it runs with
the same interpreter and dependencies, ``PYTHONPATH=OLD_TREE``. Each round runs, for each old tree
and then this one, each on its own copy of the objects: a first sync, two no-op diffs and a sync of
a 1% change, as subprocesses printing the report format ``-o`` (default: text, what a user sees);
printed is the least CPU time (user + system) of the rounds for each step, the figure least
disturbed by other load.
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


def steps(tree: Path, kubeconfig: Path, source: Path, count: int, prefix: str, output: str) -> dict[str, Run]:
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = str(tree)
    try:
        command = [str(BIN / "gitops")]  # not `python -m gitops`: that imports from the working directory
        flags = ["--kubeconfig", str(kubeconfig), "--applyset", prefix, "-o", output]
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
    parser.add_argument("old", type=Path, nargs="+")
    parser.add_argument("-n", "--count", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--kubeconfig", type=Path)
    parser.add_argument("-o", "--output", default="text", choices=("text", "json"))
    args = parser.parse_args()
    trees = [(f"old{i}" if len(args.old) > 1 else "old", tree.resolve()) for i, tree in enumerate(args.old, 1)]
    work = Path(tempfile.mkdtemp(prefix="gitops-compare-"))
    best: dict[tuple[str, str], Run] = {}
    with sandbox(work) if args.kubeconfig is None else nullcontext(args.kubeconfig) as kubeconfig:
        for round_ in range(args.rounds):
            for label, tree in [*trees, ("new", ROOT)]:
                prefix = f"cmp{label}{round_}"
                for step, result in steps(tree, kubeconfig, work / prefix, args.count, prefix, args.output).items():
                    print(f"round {round_} {label} {step}: wall {result.wall:.2f} s, CPU {result.cpu:.2f} s, "
                          f"RSS {result.rss_mb:.0f} MB", flush=True)
                    key = (label, step)
                    if key not in best or result.cpu < best[key].cpu:
                        best[key] = result
    for label, tree in trees:
        print(f"\n{label}: {tree}")
    olds = [label for label, _ in trees]
    print(f"\n| {args.count:,} objects (-o {args.output}) | " + " | ".join(f"{label} CPU" for label in olds)
          + " | new CPU | " + " | ".join(f"new/{label}" for label in olds) + " |")
    print("|---" * (2 * len(olds) + 2) + "|")
    for step in ("first sync", "no-op diff", "1% change"):
        new = best[("new", step)]
        cells = [f"{best[(label, step)].cpu:.2f} s" for label in olds] + [f"{new.cpu:.2f} s"]
        cells += [f"{new.cpu / best[(label, step)].cpu:.2f}" for label in olds]
        print(f"| {step} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
