"""A read-only dashboard in the agent: every application's state, drift and history in a browser.

    model.py      AppSummary, AppDetail and ApplicationProvider, the one interface it reads through
    views.py      JSON documents and page views (Secret values masked, diffs as the CLI words them)
    provider.py   AgentProvider: a running agent (Application resources, its memory, status ConfigMaps)
    server.py     the HTTP server (standard library), Jinja2 templates, static files from the package

    server = DashboardServer(AgentProvider(agent), "127.0.0.1", 8081)
    server.start(); ...; server.stop()
"""

from gitops.agent.dashboard.model import AppDetail, ApplicationProvider, AppSummary
from gitops.agent.dashboard.provider import AgentProvider
from gitops.agent.dashboard.server import DashboardServer

__all__ = ["AgentProvider", "AppDetail", "AppSummary", "ApplicationProvider", "DashboardServer"]
