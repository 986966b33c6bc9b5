"""``gitops agent [--config FILE] [--shards N ...]``: run the agent until SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click
from click.core import ParameterSource

from gitops.errors import ConfigError


def parse_listen(value: str, option: str = "--listen", default_host: str = "0.0.0.0") -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise ConfigError(f"{option}: {value!r} is no HOST:PORT (for example {default_host}:8080)")
    return host.strip("[]") or default_host, number


def parse_dashboard_listen(value: str) -> tuple[str, int] | None:
    """``off`` turns the dashboard off; a missing host means loopback, never every interface."""
    if value.strip().lower() == "off":
        return None
    return parse_listen(value, "--dashboard-listen", "127.0.0.1")


def parse_duration_flag(flag: str, value: str | None) -> float | None:
    from gitops.durations import parse_duration

    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as err:
        raise ConfigError(f"{flag}: {err}") from err
    if seconds <= 0:
        raise ConfigError(f"{flag}: must be more than zero")
    return seconds


@click.command()
@click.option("--config", "config_file", default=None, type=click.Path(dir_okay=False),
              help="Agent configuration file (YAML); optional when applications are Application objects.")
@click.option("--listen", default="0.0.0.0:8080", show_default=True,
              help="Address of the webhook, health and metrics endpoints.")
@click.option("--dashboard-listen", default="127.0.0.1:8081", show_default=True,
              help="Address of the read-only dashboard (reach it with kubectl port-forward); 'off' to turn it off. "
                   "Binding it wider shows every application's state to whoever reaches the address.")
@click.option("--kubeconfig", default=None, help="Kubeconfig of the agent's own cluster (default: in-cluster).")
@click.option("--context", default=None, help="Context in the kubeconfig.")
@click.option("--namespace", default=None,
              help="The agent's namespace: Leases, status, Events, and the Applications it watches by default "
                   "(default: the configuration's, else the pod's).")
@click.option("--watch-namespaces", default=None, help="Watch Application objects in these namespaces (comma-separated).")
@click.option("--all-namespaces", is_flag=True, help="Watch Application objects in every namespace.")
@click.option("--shards", type=click.IntRange(1, 1024), default=1, show_default=True,
              help="Split applications into this many shards, each held by one replica through a Lease.")
@click.option("--replica-id", default=None, help="This replica's identity in the Leases (default: the pod name).")
@click.option("--lease-duration", default=None, help="Go duration (default 15s, or the configuration's).")
@click.option("--renew-deadline", default=None, help="Go duration (default 10s, or the configuration's).")
@click.option("--retry-period", default=None, help="Go duration (default 2s, or the configuration's).")
@click.option("--webhook-secret", default=None,
              help="Secret in the agent's namespace with keys github-secret and reconcile-token.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True, help="Least severe log level written (JSON lines on stderr).")
def agent(
    config_file: str | None, listen: str, dashboard_listen: str, kubeconfig: str | None, context: str | None, namespace: str | None,
    watch_namespaces: str | None, all_namespaces: bool, shards: int, replica_id: str | None,
    lease_duration: str | None, renew_deadline: str | None, retry_period: str | None, webhook_secret: str | None,
    log_level: str,
) -> None:
    """Run the in-cluster agent that keeps applications converged with Git.

    Reconciles the applications of the configuration file and the Application objects it watches,
    each on its interval, on GitHub push webhooks and on reconcile requests. With several replicas,
    each holds a fair share of the shards (Leases) and reconciles only their applications.
    Stops gracefully on SIGTERM (finishes the runs under way and releases its Leases).
    """
    import dataclasses

    from gitops.agent import Agent, load_config
    from gitops.agent import logging as agent_logging
    from gitops.agent.config import LeaderElection, check_leader_election

    agent_logging.configure(getattr(logging, log_level.upper()))
    config = load_config(config_file) if config_file else None
    if watch_namespaces is not None and all_namespaces:
        raise ConfigError("--watch-namespaces and --all-namespaces exclude each other")
    watched = None
    if all_namespaces:
        watched = [""]
    elif watch_namespaces is not None:
        watched = [name.strip() for name in watch_namespaces.split(",") if name.strip()]
    base = config.leader_election if config is not None else LeaderElection()
    timings = {
        "lease_duration": parse_duration_flag("--lease-duration", lease_duration),
        "renew_deadline": parse_duration_flag("--renew-deadline", renew_deadline),
        "retry_period": parse_duration_flag("--retry-period", retry_period),
    }
    lease = dataclasses.replace(base, **{k: v for k, v in timings.items() if v is not None})
    check_leader_election(lease)
    address, dashboard = parse_listen(listen), parse_dashboard_listen(dashboard_listen)
    try:
        runner = Agent(
            config, kubeconfig=kubeconfig, context=context, listen=address, identity=replica_id,
            namespace=namespace, watch_namespaces=watched, shards=shards, lease=lease, webhook_secret=webhook_secret,
        )
    except OSError as err:
        raise ConfigError(f"--listen {listen}: cannot listen: {err.strerror or err}") from err
    try:
        runner.attach_dashboard(dashboard)
    except OSError as err:
        reason = f"--dashboard-listen {dashboard_listen}: cannot listen: {err.strerror or err}"
        if click.get_current_context().get_parameter_source("dashboard_listen") is ParameterSource.DEFAULT:
            # The dashboard is a convenience: a taken default port must not keep the agent from running.
            logging.getLogger("gitops.agent").warning("dashboard not started: %s", reason)
        else:
            runner.server.stop()
            raise ConfigError(reason) from err
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logging.getLogger("gitops.agent").info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runner.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        runner.stop()
