"""Where gitops' own (client-side) time goes: cProfile of a first sync, a no-op diff and a 1% change.

    python bench/profile_sync.py [-n 10000] [--kubeconfig FILE] [--top 25] [--out DIR]

Uses the bench's objects (bench_sync.generate) on a fresh sandbox in its own process (or the
cluster named by --kubeconfig), runs each step in-process with one worker thread, so that cProfile,
which follows only the thread it runs on, sees all of the client's work, and prints for each step
the client's CPU seconds (this process only: the sandbox runs in another) and the functions that
took the most of it (profiled in CPU time, so time spent waiting for the server is left out; the
profiler's own cost inflates functions called very often).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_sync import generate, nullcontext, sandbox


def step(name: str, source: Path, kubeconfig: Path, *, dry_run: bool, top: int, out: Path | None) -> None:
    from gitops import engine
    from gitops.source import SourceSpec

    options = engine.SyncOptions(dry_run=dry_run, applyset="profile", concurrency=1)
    # Timed in CPU time of this (the only working) thread: with the wall clock, waiting for the
    # server's answers (the socket reads) would head the list and hide the client's own costs.
    profiler = cProfile.Profile(time.thread_time)
    with engine.connect(str(kubeconfig), options=options) as cluster:
        cpu, wall = time.process_time(), time.perf_counter()
        profiler.enable()
        cs = engine.sync(cluster, engine.load(SourceSpec(location=str(source))), options)
        profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if out:
        profiler.dump_stats(out / f"{name}.prof")
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(top)
    summary = ", ".join(f"{action}: {n}" for action, n in cs.counts().items())
    print(f"## {name}: client CPU {cpu:.2f} s, wall {wall:.2f} s, {cluster.requests} requests {summary}")
    print("\n".join(line[:160] for line in text.getvalue().splitlines() if line.strip())[:6000], flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--count", type=int, default=10_000)
    parser.add_argument("--per-namespace", type=int, default=100)
    parser.add_argument("--kubeconfig", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, help="keep the .prof files here")
    args = parser.parse_args()
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="gitops-profile-"))
    source = work / "repo"
    with sandbox(work) if args.kubeconfig is None else nullcontext(args.kubeconfig) as kubeconfig:
        generate(source, args.count, "prof", args.per_namespace)
        step("first sync", source, kubeconfig, dry_run=False, top=args.top, out=args.out)
        step("no-op diff", source, kubeconfig, dry_run=True, top=args.top, out=args.out)
        generate(source, args.count, "prof", args.per_namespace, version=1, changed=max(1, args.count // 100))
        step("1% change", source, kubeconfig, dry_run=False, top=args.top, out=args.out)


if __name__ == "__main__":
    main()
