"""Agent configuration: parsing, defaults, and one-line errors naming the file and the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gitops.agent.config import Backoff, load_config, parse_config, parse_duration
from gitops.errors import ConfigError

MINIMAL = """
applications:
  - name: shop
    source: {url: https://github.com/acme/deploy.git}
"""

FULL = """
namespace: ops
cacheDir: /tmp/gitops-cache
fieldManager: gitops-prod
webhooks:
  github: {secret: {env: HOOK_SECRET}}
  reconcile: {token: {env: HOOK_TOKEN}}
leaderElection: {leaseName: shop-agent, leaseDuration: 6s, renewDeadline: 4s, retryPeriod: 1s}
applications:
  - name: shop
    source:
      url: git@github.com:acme/deploy.git
      revision: main
      path: /apps/shop/
      credentials: {token: {env: GIT_TOKEN}, username: bot}
    destination: {namespace: shop, context: prod}
    interval: 1m30s
    jitter: 5s
    prune: true
    selfHeal: false
    ignore: ["apps/Deployment:/spec/replicas"]
    sync: {maxPrune: 3, wait: true, timeout: 2m}
    retry: {initial: 1s, max: 1m}
"""

ENV = {"HOOK_SECRET": "s", "HOOK_TOKEN": "t", "GIT_TOKEN": "g"}


def parse(text: str, environ: dict[str, str] | None = None):
    return parse_config(text, file="agent.yaml", environ=ENV if environ is None else environ)


def error_of(text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(text, environ)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_defaults_of_a_minimal_application() -> None:
    config = parse(MINIMAL, {})
    app = config.applications[0]
    assert config.namespace == "gitops-system"
    assert config.leader_election.enabled and config.leader_election.lease_name == "gitops-agent"
    assert config.github_secret is None and config.reconcile_token is None
    assert app.source.location == "https://github.com/acme/deploy.git"
    assert app.source.revision is None and app.source.path == ""
    assert app.interval == 60 and app.jitter == 6
    assert app.self_heal is True
    assert app.sync.prune is False and app.sync.dry_run is False
    assert app.sync.applyset is None and app.sync.default_namespace == "default"


def test_every_field_is_read() -> None:
    config = parse(FULL)
    app = config.applications[0]
    assert config.namespace == "ops" and str(config.cache_dir) == "/tmp/gitops-cache"
    assert config.github_secret is not None and config.github_secret.env == "HOOK_SECRET"
    assert config.leader_election.lease_duration == 6 and config.leader_election.retry_period == 1
    assert app.source.revision == "main" and app.source.path == "apps/shop"
    assert app.namespace == "shop" and app.context == "prod" and app.kubeconfig is None
    assert app.interval == 90 and app.jitter == 5 and app.self_heal is False
    assert app.sync.prune is True and app.sync.ignore == ("apps/Deployment:/spec/replicas",)
    assert app.sync.max_prune == 3 and app.sync.wait is True and app.sync.timeout == 120
    assert app.sync.field_manager == "gitops-prod" and app.sync.default_namespace == "shop"
    assert app.backoff == Backoff(initial=1, maximum=60)
    assert app.credentials.username == "bot"


def test_namespace_defaults_to_the_pods() -> None:
    assert parse(MINIMAL, {"POD_NAMESPACE": "gitops"}).namespace == "gitops"


def test_credentials_resolve_at_use_and_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_TOKEN", "hunter2")
    app = parse(FULL).applications[0]
    resolved = app.credentials.resolve()
    assert resolved.read_token() == "hunter2" and resolved.username == "bot"
    assert "hunter2" not in repr(app) and "hunter2" not in repr(resolved)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("applications: []", "agent.yaml: applications: at least one application is required"),
        ("applications:\n  - name: shop", "agent.yaml: applications[0].source: required"),
        ("applications:\n  - source: {url: x}", "agent.yaml: applications[0].name: required"),
        (
            "applications:\n  - name: Shop_1\n    source: {url: x}",
            "agent.yaml: applications[0].name: 'Shop_1' must be a lowercase DNS label",
        ),
        (
            "applications:\n  - name: a\n    source: {url: x}\n    selfheal: true",
            "agent.yaml: applications[0].selfheal: unknown field (did you mean 'selfHeal'?)",
        ),
        (
            "applications:\n  - name: a\n    source: {url: x}\n    interval: soon",
            "agent.yaml: applications[0].interval: 'soon' is no duration",
        ),
        (
            "applications:\n  - name: a\n    source: {url: x}\n    interval: 0",
            "agent.yaml: applications[0].interval: must be more than zero",
        ),
        (
            "applications:\n  - name: a\n    source: {url: x}\n    prune: yes-please",
            "agent.yaml: applications[0].prune: must be true or false",
        ),
        (
            "applications:\n  - name: a\n    source: {url: x, path: ../etc}",
            "agent.yaml: applications[0].source.path: must stay inside the repository",
        ),
        (
            "applications:\n  - name: a\n    source: {url: x}\n    sync: {maxPrune: -1}",
            "agent.yaml: applications[0].sync.maxPrune: must be an integer of at least 0",
        ),
        (
            "applications:\n  - {name: a, source: {url: x}}\n  - {name: a, source: {url: y}}",
            "agent.yaml: applications[1].name: duplicate application name 'a'",
        ),
        (
            "leaderElection: {leaseDuration: 5s, renewDeadline: 5s}\n" + MINIMAL,
            "agent.yaml: leaderElection.leaseDuration: must be longer than renewDeadline",
        ),
        (
            "webhooks: {github: {secret: {env: NOPE}}}\n" + MINIMAL,
            "agent.yaml: webhooks.github.secret.env: environment variable NOPE is not set",
        ),
        (
            "webhooks: {github: {secret: {env: HOOK_SECRET, file: /x}}}\n" + MINIMAL,
            "agent.yaml: webhooks.github.secret: set exactly one of env or file",
        ),
        (
            "webhooks: {reconcile: {token: {file: /does/not/exist}}}\n" + MINIMAL,
            "agent.yaml: webhooks.reconcile.token.file: /does/not/exist is not a readable file",
        ),
        ("applications: {name: a}", "agent.yaml: applications: must be a list, not a mapping"),
        ("- a\n- b", "agent.yaml: (top level): must be a mapping, not a list"),
        ("namespace: a\nnamespace: b\n" + MINIMAL, "agent.yaml: line 2: invalid YAML: duplicate key 'namespace'"),
        ("applications: [", "agent.yaml: line 1: invalid YAML"),
    ],
)
def test_errors_name_the_file_and_the_field(text: str, expected: str) -> None:
    assert error_of(text).startswith(expected)


def test_errors_never_show_secret_values() -> None:
    environ = {"HOOK_SECRET": "topsecret-value"}
    message = error_of("webhooks: {github: {secret: {env: HOOK_SECRET, file: /x}}}\n" + MINIMAL, environ)
    assert message.startswith("agent.yaml: webhooks.github.secret:")
    assert "topsecret-value" not in message


def test_load_config_names_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(90, 90.0), (1.5, 1.5), ("30s", 30.0), ("5m", 300.0), ("1h30m", 5400.0), ("500ms", 0.5), ("1m30s", 90.0)],
)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["", "5", "5 minutes", "-1s", True, [1]])
def test_bad_durations(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


def test_backoff_doubles_up_to_the_cap() -> None:
    backoff = Backoff(initial=2, maximum=30)
    assert [backoff.delay(n) for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]
    assert backoff.delay(10_000) == 30


def test_cli_exits_2_with_one_line_for_a_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text("applications:\n  - name: shop\n    source: {url: x}\n    intervall: 5s\n")
    run = subprocess.run(
        [sys.executable, "-m", "gitops", "agent", "--config", str(config)],
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1] == (
        f"error: {config}: applications[0].intervall: unknown field (did you mean 'interval'?)"
    )
