"""``gitops agent --config FILE``: run the agent until SIGTERM or SIGINT."""

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


@click.command()
@click.option("--config", "config_file", required=True, type=click.Path(dir_okay=False),
              help="Agent configuration file (YAML).")
@click.option("--listen", default="0.0.0.0:8080", show_default=True,
              help="Address of the webhook, health and metrics endpoints.")
@click.option("--dashboard-listen", default="127.0.0.1:8081", show_default=True,
              help="Address of the read-only dashboard (reach it with kubectl port-forward); 'off' to turn it off. "
                   "Binding it wider shows every application's state to whoever reaches the address.")
@click.option("--kubeconfig", default=None, help="Kubeconfig of the agent's own cluster (default: in-cluster).")
@click.option("--context", default=None, help="Context in the kubeconfig.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True, help="Least severe log level written (JSON lines on stderr).")
def agent(
    config_file: str, listen: str, dashboard_listen: str, kubeconfig: str | None, context: str | None, log_level: str
) -> None:
    """Run the in-cluster agent that keeps applications converged with Git.

    Reconciles each application of the configuration on its interval, on GitHub push webhooks and
    on reconcile requests; only the leader of the Lease reconciles when several replicas run.
    Stops gracefully on SIGTERM (finishes the runs under way and releases the Lease).
    """
    from gitops.agent import Agent, load_config
    from gitops.agent import logging as agent_logging

    agent_logging.configure(getattr(logging, log_level.upper()))
    config = load_config(config_file)
    address, dashboard = parse_listen(listen), parse_dashboard_listen(dashboard_listen)
    try:
        runner = Agent(config, kubeconfig=kubeconfig, context=context, listen=address)
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
