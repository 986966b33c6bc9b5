"""`gitops diff` and `gitops sync`: flags -> SyncOptions -> engine -> report."""

from __future__ import annotations

import atexit
import dataclasses
import gc
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from gitops.cli import interrupts
from gitops.cli.options import (
    Duration,
    Rate,
    dns_label,
    dns_subdomain,
    output_option,
    remote_options,
    render_options,
    source_arguments,
)
from gitops.engine import SyncOptions
from gitops.source import SourceSpec

REPORT_FORMATS = ("text", "json", "yaml", "markdown")
MIN_QPS = 0.01
"""One request every 100 seconds: below that a rate limit is a hang, not a limit."""


def cluster_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for decorator in reversed([
        click.option("--kubeconfig", type=click.Path(dir_okay=False), default=None,
                     help="Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster configuration in a pod)."),
        click.option("--context", default=None, help="Kubeconfig context (default: the current context)."),
        click.option("--namespace", "-n", default="default", show_default=True, callback=dns_label,
                     help="Namespace for namespaced objects that name none, release namespace of Helm charts, "
                          "and home of the ApplySet parent."),
        click.option("--sandbox", is_flag=True,
                     help="Use the embedded sandbox cluster (its persistent state directory); no kubeconfig needed."),
    ]):
        command = decorator(command)
    return command


def plan_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for decorator in reversed([
        click.option("--field-manager", default="gitops", show_default=True, help="Server-side apply field manager."),
        click.option("--ignore", "ignore", multiple=True, metavar="[GROUP/KIND:]POINTER",
                     help="Ignore a field (JSON pointer) in diffs and leave it to its owner at sync; repeatable. "
                          "Example: apps/Deployment:/spec/replicas"),
        click.option("--applyset", default=None, metavar="NAME", callback=dns_subdomain,
                     help="Name of the ApplySet parent ConfigMap (default: derived from the source)."),
        click.option("--adopt", is_flag=True,
                     help="Take objects another tool or ApplySet manages into this set (by default they fail, exit 6)."),
        click.option("--prune", is_flag=True, help="Delete objects of this ApplySet that are no longer in Git."),
        click.option("--allow-empty", is_flag=True, help="Let a source that renders no objects prune the whole set."),
        click.option("--max-prune", type=click.IntRange(min=0), default=None,
                     help="Refuse to prune more objects than this (default: refuse more than 25% of the set "
                          "when that is more than 5 objects)."),
        click.option("--confirm-prune", is_flag=True, help="Lift the prune cap."),
        click.option("--concurrency", type=click.IntRange(min=1), default=SyncOptions.concurrency, show_default=True,
                     help="Concurrent API requests."),
        click.option("--qps", type=Rate(minimum=MIN_QPS), default=SyncOptions.qps, show_default=True,
                     help=f"Hard cap on API requests a second (0: none; else at least {MIN_QPS:g}; the pace adapts to the "
                          "server's 429/Retry-After either way)."),
        click.option("--burst", type=click.IntRange(min=1), default=SyncOptions.burst, show_default=True,
                     help="Requests allowed at once above --qps."),
        output_option(*REPORT_FORMATS),
    ]):
        command = decorator(command)
    return command


def _options(**flags: Any) -> SyncOptions:
    names = {f.name for f in dataclasses.fields(SyncOptions)}
    values = {name: value for name, value in flags.items() if name in names}
    values["ignore"] = tuple(flags.get("ignore") or ())
    values["default_namespace"] = flags["namespace"]
    return SyncOptions(**values)


def _render_options(options: SyncOptions, flags: dict[str, Any]) -> Any:
    return render_options(options.default_namespace, flags)


def _warn_local_applyset(desired: Any, options: SyncOptions) -> None:
    from gitops import engine

    if engine.applyset_is_local(desired, options):
        click.echo(
            f"warning: {desired.checkout.root} is in no Git repository, so the ApplySet is named "
            f"after this location ({engine.applyset_name(desired, options)}); pass --applyset NAME so that "
            "another checkout manages the same set", err=True,
        )


def _print(cs: Any, output: str) -> None:
    from gitops import report

    if output == "json":
        text = report.json(cs)
    elif output == "yaml":
        text = report.yaml(cs)
    elif output == "markdown":
        text = report.markdown(cs)
    else:
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        text = report.text(cs, color=color)
    click.echo(text.rstrip("\n"))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a run loads, plans and applies: what it allocates lives
    until the report (the manifests, live objects, change set), so each collection only walks it
    again (a twentieth of a no-op diff's CPU time at 10,000 objects), and the run makes few
    reference cycles. Reference counting still frees everything else at once."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _exit(code: int) -> NoReturn:
    """End the command with ``code``.

    Run as the ``gitops`` process itself (its own stdout, not a test runner's), the interpreter's
    teardown is skipped once exit handlers have run and output is flushed: freeing every module and
    the thousands of objects of a large plan one by one takes longer (0.15 s at 1,000 objects) than
    the rest of a no-op diff's printing. The cluster connection is closed by then.
    """
    if _is_gitops_process():
        atexit._run_exitfuncs()  # logging.shutdown, temporary directories, coverage: all still run
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise click.exceptions.Exit(code)


def _is_gitops_process() -> bool:
    """Started as ``gitops`` or ``python -m gitops``, writing to its own stdout (not a test runner's)."""
    program = os.path.basename(sys.argv[0]) if sys.argv else ""
    started_as_gitops = program == "gitops" or sys.argv[0].endswith(os.path.join("gitops", "__main__.py"))
    return started_as_gitops and sys.stdout is sys.__stdout__ and sys.stderr is sys.__stderr__


@click.command()
@source_arguments
@cluster_options
@plan_options
@remote_options
@click.option("--against", metavar="REV", default=None,
              help="Compare with the render at this revision instead of the cluster (no cluster needed).")
def diff(source: SourceSpec, against: str | None, kubeconfig: str | None, context: str | None,
         sandbox: bool, output: str, **flags: Any) -> None:
    """Show what differs between SOURCE and the cluster (exit 0 in sync, 1 differences, 2+ errors)."""
    from gitops import engine

    _refuse_conflicts(kubeconfig=kubeconfig, context=context, sandbox=sandbox)
    if against is not None and (sandbox or kubeconfig or context):
        raise click.UsageError("--against compares two renders without a cluster: drop --sandbox, --kubeconfig and --context")
    options = _options(dry_run=True, **flags)
    rendering = _render_options(options, flags)
    with _collector_paused():
        if against is not None:
            desired = engine.load(source, render_options=rendering)
            previous = engine.load(dataclasses.replace(source, revision=against), render_options=rendering)
            cs = engine.compare(previous, desired, options)
        else:
            desired = engine.load(source, render_options=rendering)
            _warn_local_applyset(desired, options)
            with engine.connect(kubeconfig, context, sandbox=sandbox, options=options) as cluster:
                cs = engine.plan(cluster, desired, options)
    _print(cs, output)
    _exit(cs.exit_status(drift_fails=True))


@click.command()
@source_arguments
@cluster_options
@plan_options
@remote_options
@click.option("--dry-run", is_flag=True, help="Plan only: show what would change, write nothing.")
@click.option("--exit-code", is_flag=True, help="With --dry-run, exit as diff does (1 when there are differences).")
@click.option("--force-conflicts", is_flag=True,
              help="Take fields owned by other Apply managers (by default only imperative drift is overwritten).")
@click.option("--replace-immutable", is_flag=True, help="Delete and recreate objects whose immutable fields change.")
@click.option("--wait", is_flag=True, help="Wait for each wave to become healthy before the next.")
@click.option("--timeout", type=Duration(), default="5m", show_default=True,
              help="How long to wait (--wait, CRDs becoming Established, deletions): 90s, 5m, 1h, or seconds.")
def sync(source: SourceSpec, kubeconfig: str | None, context: str | None, sandbox: bool, output: str,
         dry_run: bool, exit_code: bool, **flags: Any) -> None:
    """Make the cluster match SOURCE: apply what changed, prune what was removed (--prune), wait (--wait)."""
    from gitops import engine

    _refuse_conflicts(kubeconfig=kubeconfig, context=context, sandbox=sandbox)
    if exit_code and not dry_run:
        raise click.UsageError("--exit-code needs --dry-run (a sync's exit code already tells failures apart)")
    options = _options(dry_run=dry_run, **flags)
    with _collector_paused():
        desired = engine.load(source, render_options=_render_options(options, flags))
    _warn_local_applyset(desired, options)
    with engine.connect(kubeconfig, context, sandbox=sandbox, options=options) as cluster:
        if dry_run:
            with _collector_paused():
                cs = engine.sync(cluster, desired, options)
        else:
            # SIGINT/SIGTERM stop the writes between requests; the report still lists what was done.
            with interrupts.deferred() as stop, _collector_paused():
                cs = engine.sync(cluster, desired, dataclasses.replace(options, may_write=stop.may_write))
            if stop.signum:
                _print(cs, output)
                click.echo(f"error: interrupted ({stop.name}): the sync stopped before writing the rest; "
                           "the report lists what was done", err=True)
                _exit(stop.exit_code)
    _print(cs, output)
    # A dry run exits 0 with differences (1 with --exit-code), but never hides a failure or a refusal.
    _exit(cs.exit_status(drift_fails=dry_run and exit_code))


def _refuse_conflicts(*, kubeconfig: str | None, context: str | None, sandbox: bool) -> None:
    if sandbox and kubeconfig is not None:
        raise click.UsageError("--sandbox and --kubeconfig cannot be used together (the sandbox brings its own)")
    if sandbox and context is not None:
        raise click.UsageError("--sandbox and --context cannot be used together (the sandbox has one context)")
