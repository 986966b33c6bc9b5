"""The in-cluster agent: keeps applications converged with Git on a schedule, on webhooks,
with self-heal, status in the cluster, metrics, and leader election for several replicas.

    config.py      the configuration file, validated at start-up
    scheduler.py   one APScheduler job per application (jitter, coalescing, pending triggers)
    reconciler.py  one reconcile: load, plan or sync through the engine, summarise
    runner.py      the Agent: wires everything and records results (logs, metrics, status, Events)
    webhooks.py    signature checks and push matching (pure)
    server.py      HTTP: /healthz, /readyz, /metrics, /hooks/github, /hooks/reconcile/<app>
    dashboard/     the read-only dashboard (its own address): pages and JSON of every application
    leader.py      Lease-based leader election (client-go's algorithm)
    status.py      the status ConfigMap and Events
    metrics.py     Prometheus metrics in a registry per agent
    logging.py     JSON log lines
"""

from gitops.agent.config import AgentConfig, AppConfig, load_config
from gitops.agent.runner import Agent

__all__ = ["Agent", "AgentConfig", "AppConfig", "load_config"]
