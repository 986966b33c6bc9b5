"""`gitops sandbox serve|reset`: run the embedded sandbox API server in the foreground, or clear its state."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import click

from gitops.errors import ConfigError


@click.group()
def sandbox() -> None:
    """Run or reset the embedded sandbox API server (a small Kubernetes API for trying gitops)."""


@sandbox.command()
@click.option(
    "--port", type=int, default=0, show_default="a free port", help="Port on 127.0.0.1 to listen on."
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep objects here across restarts (default: $GITOPS_SANDBOX_DIR, else $XDG_STATE_HOME/gitops/sandbox, "
    "else ~/.local/state/gitops/sandbox).",
)
@click.option(
    "--kubeconfig-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the kubeconfig (default: STATE_DIR/kubeconfig).",
)
@click.option(
    "--read-only-kubeconfig-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write a kubeconfig whose token may only read (writes answer 403 Forbidden).",
)
@click.option("--admin", is_flag=True, help="Enable the /sandbox/faults fault-injection endpoint.")
@click.option(
    "--simulate-workloads/--no-simulate-workloads",
    default=True,
    show_default=True,
    help="Report workloads (Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs) as rolled out or "
    "completed, as a cluster's controllers would; no pods run.",
)
def serve(
    port: int,
    state_dir: Path | None,
    kubeconfig_out: Path | None,
    read_only_kubeconfig_out: Path | None,
    admin: bool,
    simulate_workloads: bool,
) -> None:
    """Serve the sandbox API on 127.0.0.1 until interrupted (SIGINT or SIGTERM)."""
    from gitops.sandbox import SandboxServer, default_state_dir

    directory = state_dir or default_state_dir()
    server = SandboxServer(state_dir=directory, port=port, admin=admin, simulate_workloads=simulate_workloads)
    try:
        server.start()
    except OSError as err:
        raise ConfigError(f"cannot listen on 127.0.0.1:{port}: {err.strerror or err}") from err
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        kubeconfig = server.write_kubeconfig(kubeconfig_out or directory / "kubeconfig")
        if read_only_kubeconfig_out:
            server.write_kubeconfig(read_only_kubeconfig_out, read_only=True)
        click.echo(f"sandbox API server listening on {server.url}", err=True)
        click.echo(f"state: {directory}", err=True)
        click.echo(f"kubeconfig: {kubeconfig}  (export KUBECONFIG={kubeconfig})", err=True)
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()
        click.echo("sandbox stopped", err=True)


@sandbox.command()
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The state directory to clear (default: as for `serve`).",
)
def reset(state_dir: Path | None) -> None:
    """Delete every object the sandbox stored (its state directory)."""
    from gitops.sandbox import default_state_dir
    from gitops.sandbox.store import LOCK_FILE, STATE_FILE, Store

    directory = state_dir or default_state_dir()
    if directory.is_dir() and Store.in_use(directory):
        raise ConfigError(
            f"sandbox state directory {directory} is in use by a running sandbox; stop it first"
        )
    # Only what the sandbox wrote: a mistaken --state-dir must not wipe a user's directory.
    owned = [
        directory / STATE_FILE,
        directory / LOCK_FILE,
        directory / "kubeconfig",
        *directory.glob(f".{STATE_FILE}.*.tmp"),
    ]
    present = [path for path in owned if path.exists()]
    if not present:
        click.echo(f"nothing to reset in {directory}")
        return
    try:
        for path in present:
            path.unlink()
        if not any(directory.iterdir()):
            directory.rmdir()
    except OSError as err:
        raise ConfigError(f"cannot clear sandbox state in {directory}: {err.strerror or err}") from err
    click.echo(f"sandbox state cleared: {directory}")
