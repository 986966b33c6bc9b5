"""The agent's HTTP endpoints over real HTTP, in front of a stand-in for the agent's scheduling."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from gitops.agent.config import AgentConfig, AppConfig, SecretRef
from gitops.agent.metrics import Metrics
from gitops.agent.server import AgentServer
from gitops.agent.webhooks import signature
from gitops.source import SourceSpec

SECRET = "hook-secret"
TOKEN = "reconcile-token"


@dataclass
class StandIn:
    """Records what the endpoints asked for instead of scheduling reconciles."""

    config: AgentConfig
    leading: bool = True
    triggered: list[str] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)

    def alive(self) -> bool:
        return True

    def ready(self) -> tuple[bool, str]:
        return (True, "leading") if self.leading else (False, "starting")

    def metrics_exposition(self) -> bytes:
        return self.metrics.exposition()

    def applications(self) -> list[AppConfig]:
        return list(self.config.applications)

    def trigger(self, name: str, *, reason: str) -> str:
        if self.config.application(name) is None:
            return "unknown"
        if not self.leading:
            return "standby"
        self.triggered.append(name)
        return "triggered"


@pytest.fixture
def agent(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[StandIn, str]]:
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    monkeypatch.setenv("TEST_RECONCILE_TOKEN", TOKEN)
    config = AgentConfig(
        file="agent.yaml",
        namespace="ops",
        applications=(
            AppConfig(name="shop", source=SourceSpec("https://github.com/acme/deploy.git", "main")),
            AppConfig(name="blog", source=SourceSpec("https://github.com/acme/blog.git", "main")),
        ),
        github_secret=SecretRef(env="TEST_HOOK_SECRET"),
        reconcile_token=SecretRef(env="TEST_RECONCILE_TOKEN"),
    )
    stand_in = StandIn(config)
    server = AgentServer(stand_in, "127.0.0.1", 0)
    server.start()
    yield stand_in, server.url
    server.stop()


def request(url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def push(ref: str = "refs/heads/main") -> bytes:
    return json.dumps({"ref": ref, "repository": {"clone_url": "https://github.com/acme/deploy.git"}}).encode()


def github_headers(body: bytes, secret: str = SECRET, event: str = "push") -> dict[str, str]:
    return {"X-GitHub-Event": event, "X-Hub-Signature-256": signature(secret.encode(), body),
            "Content-Type": "application/json"}


def test_signed_push_triggers_the_matching_application(agent: tuple[StandIn, str]) -> None:
    stand_in, url = agent
    body = push()
    status, reply = request(f"{url}/hooks/github", body=body, headers=github_headers(body))
    assert status == 202 and json.loads(reply) == {"triggered": ["shop"]}
    assert stand_in.triggered == ["shop"]


@pytest.mark.parametrize("headers", [{"X-GitHub-Event": "push"}, github_headers(push(), secret="wrong")])
def test_bad_or_missing_signature_is_401_and_does_nothing(agent: tuple[StandIn, str], headers: dict[str, str]) -> None:
    stand_in, url = agent
    status, _ = request(f"{url}/hooks/github", body=push(), headers=headers)
    assert status == 401 and stand_in.triggered == []


def test_ping_and_other_events(agent: tuple[StandIn, str]) -> None:
    stand_in, url = agent
    body = b'{"zen": "Keep it simple."}'
    assert request(f"{url}/hooks/github", body=body, headers=github_headers(body, event="ping"))[0] == 200
    assert request(f"{url}/hooks/github", body=body, headers=github_headers(body, event="issues"))[0] == 202
    assert stand_in.triggered == []


def test_push_to_an_unfollowed_branch_triggers_nothing(agent: tuple[StandIn, str]) -> None:
    stand_in, url = agent
    body = push("refs/heads/feature")
    status, reply = request(f"{url}/hooks/github", body=body, headers=github_headers(body))
    assert status == 202 and json.loads(reply) == {"triggered": []} and stand_in.triggered == []


def test_reconcile_endpoint_needs_the_bearer_token(agent: tuple[StandIn, str]) -> None:
    stand_in, url = agent
    assert request(f"{url}/hooks/reconcile/blog", body=b"")[0] == 401
    assert request(f"{url}/hooks/reconcile/blog", body=b"", headers={"Authorization": "Bearer nope"})[0] == 401
    assert stand_in.triggered == []
    good = {"Authorization": f"Bearer {TOKEN}"}
    assert request(f"{url}/hooks/reconcile/blog", body=b"", headers=good)[0] == 202
    assert request(f"{url}/hooks/reconcile/nope", body=b"", headers=good)[0] == 404
    assert stand_in.triggered == ["blog"]


def test_a_standby_asks_the_sender_to_retry(agent: tuple[StandIn, str]) -> None:
    stand_in, url = agent
    stand_in.leading = False
    status, _ = request(f"{url}/hooks/reconcile/blog", body=b"", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 503 and stand_in.triggered == []


def test_probes_and_metrics(agent: tuple[StandIn, str]) -> None:
    stand_in, url = agent
    stand_in.metrics.reconciles.labels("ops", "shop", "synced").inc()
    assert request(f"{url}/healthz") == (200, b"ok\n")
    assert request(f"{url}/readyz") == (200, b"leading\n")
    stand_in.leading = False
    assert request(f"{url}/readyz")[0] == 503
    status, text = request(f"{url}/metrics")
    assert status == 200 and b'gitops_reconcile_total{application="shop",namespace="ops",result="synced"} 1.0' in text
    assert request(f"{url}/nope")[0] == 404
