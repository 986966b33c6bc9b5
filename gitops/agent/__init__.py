"""The in-cluster agent: keeps applications converged with Git on a schedule, on webhooks,
with self-heal, status in the cluster, metrics, and shards spread over several replicas.

    config.py      the configuration file, validated at start-up
    application.py Application objects (gitops.io/v1alpha1) -> applications; shard of each (pure)
    watch.py       list + watch of Application objects
    scheduler.py   one APScheduler job per application (jitter, coalescing, pending triggers)
    reconciler.py  one reconcile: load, plan or sync through the engine, summarise
    runner.py      the Agent: wires everything and records results (logs, metrics, status, Events)
    webhooks.py    signature checks and push matching (pure)
    server.py      HTTP: /healthz, /readyz, /metrics, /hooks/github, /hooks/reconcile/<app>
    dashboard/     the read-only dashboard (its own address): pages and JSON of every application
    leader.py      one Lease taken, renewed and released (client-go's algorithm)
    shards.py      shard Leases held in fair shares among live replicas
    status.py      the status ConfigMap (configuration-file applications) and Events
    appstatus.py   an Application's status (kstatus conditions, history) and Events
    state.py       a read-only view per application, for dashboards
    metrics.py     Prometheus metrics in a registry per agent
    logging.py     JSON log lines
"""

from gitops.agent.config import AgentConfig, AppConfig, load_config
from gitops.agent.runner import Agent

__all__ = ["Agent", "AgentConfig", "AppConfig", "load_config"]
