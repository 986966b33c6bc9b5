"""The agent's HTTP endpoints (standard library server, one thread per request).

    GET  /healthz                  200 while the agent runs
    GET  /readyz                   200 once the configuration is loaded and the replica leads or stands by healthy
    GET  /metrics                  Prometheus text format
    POST /hooks/github             GitHub push events, X-Hub-Signature-256 verified; 401 otherwise
    POST /hooks/reconcile/<app>    Authorization: Bearer <token>; 401 otherwise
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from gitops.agent import webhooks
from gitops.agent.config import AgentConfig, AppConfig
from gitops.agent.httpserver import BackgroundServer
from gitops.agent.logging import fields
from gitops.agent.metrics import CONTENT_TYPE

log = logging.getLogger(__name__)

MAX_BODY = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB


class AgentFacade(Protocol):
    """What the endpoints need from the agent."""

    config: AgentConfig

    def alive(self) -> bool: ...
    def ready(self) -> tuple[bool, str]: ...
    def metrics_exposition(self) -> bytes: ...
    def applications(self) -> list[AppConfig]: ...
    def trigger(self, name: str, *, reason: str) -> str:
        """``"triggered"``, ``"forwarded"`` (to the leader), ``"unknown"`` (no such application)
        or ``"standby"`` (not the leader, and forwarding failed)."""
        ...


@dataclass
class Reply:
    status: int
    body: dict[str, Any]


def handle_github(agent: AgentFacade, headers: Any, body: bytes) -> Reply:
    ref = agent.config.github_secret
    secret = ref.read().encode() if ref is not None else b""
    if not webhooks.verify_signature(secret, body, headers.get("X-Hub-Signature-256")):
        log.warning("refused a GitHub webhook with a bad or missing signature")
        return Reply(401, {"error": "bad or missing X-Hub-Signature-256"})
    event = headers.get("X-GitHub-Event", "")
    if event == "ping":
        return Reply(200, {"message": "pong"})
    if event != "push":
        return Reply(202, {"message": f"ignored {event or 'unnamed'} event", "triggered": []})
    try:
        push = webhooks.parse_push(json.loads(body))
    except (ValueError, UnicodeDecodeError):
        push = None
    if push is None:
        return Reply(400, {"error": "not a push event payload"})
    names = webhooks.apps_for_push(push, agent.applications())
    outcomes = {name: agent.trigger(name, reason="github push") for name in names}
    if any(outcome == "standby" for outcome in outcomes.values()):
        return Reply(503, {"error": "this replica is not the leader; retry"})
    return Reply(202, {"triggered": names})


def handle_reconcile(agent: AgentFacade, headers: Any, name: str) -> Reply:
    ref = agent.config.reconcile_token
    token = ref.read() if ref is not None else ""
    if not webhooks.verify_bearer(token, headers.get("Authorization")):
        return Reply(401, {"error": "bad or missing bearer token"})
    outcome = agent.trigger(name, reason="reconcile request")
    if outcome == "unknown":
        return Reply(404, {"error": f"no application named {name!r}"})
    if outcome == "standby":
        return Reply(503, {"error": "this replica is not the leader; retry"})
    return Reply(202, {outcome: [name]})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without it every response waits for the peer's delayed ACK (about 40 ms).
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        agent = self.server.agent
        if self.path == "/healthz":
            self._text(200 if agent.alive() else 503, "ok\n" if agent.alive() else "stopping\n")
        elif self.path == "/readyz":
            ready, why = agent.ready()
            self._text(200 if ready else 503, f"{why}\n")
        elif self.path == "/metrics":
            self._send(200, agent.metrics_exposition(), CONTENT_TYPE)
        else:
            self._json(Reply(404, {"error": "not found"}))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            self._json(Reply(413, {"error": "payload too large"}))
            return
        body = self.rfile.read(length) if length > 0 else b""
        agent = self.server.agent
        if self.path == "/hooks/github":
            self._json(handle_github(agent, self.headers, body))
        elif self.path.startswith("/hooks/reconcile/"):
            self._json(handle_reconcile(agent, self.headers, self.path.removeprefix("/hooks/reconcile/")))
        else:
            self._json(Reply(404, {"error": "not found"}))

    def _json(self, reply: Reply) -> None:
        self._send(reply.status, json.dumps(reply.body).encode() + b"\n", "application/json")

    def _text(self, status: int, text: str) -> None:
        self._send(status, text.encode(), "text/plain; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http %s", format % args, extra=fields(client=self.client_address[0]))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], agent: AgentFacade) -> None:
        self.agent = agent
        super().__init__(address, _Handler)


class AgentServer(BackgroundServer):
    def __init__(self, agent: AgentFacade, host: str, port: int) -> None:
        super().__init__(_Server((host, port), agent), "agent-http")
