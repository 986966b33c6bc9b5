"""Fixtures for running agents in-process against the cluster fixture and a local Git repository."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from agent_helpers import AgentFactory, GitRepo, Live

from gitops.agent import Agent
from gitops.agent.config import parse_config

BROWSER_NOTE = "browser tests deselected: no Chromium found (apt-get install chromium to run them)"


def has_chromium() -> bool:
    return bool(shutil.which("chromium") or shutil.which("chromium-browser"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a browser the browser tests are deselected (not skipped), and the report says so."""
    if has_chromium():
        return
    deselected = [item for item in items if item.get_closest_marker("browser") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.get_closest_marker("browser") is None]
        config.stash[_browser_note] = BROWSER_NOTE


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    note = config.stash.get(_browser_note, None)
    return [note] if note else []


_browser_note = pytest.StashKey[str]()


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path)


@pytest.fixture
def live(cluster: Any, namespace: str) -> Live:
    return Live(cluster.dynamic(), namespace)


@pytest.fixture
def make_agent(
    cluster: Any, namespace: str, repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AgentFactory]:
    """Build and start agents for one application following ``repo`` into ``namespace``."""
    monkeypatch.setenv("TEST_HOOK_SECRET", "hook-secret")
    monkeypatch.setenv("TEST_RECONCILE_TOKEN", "reconcile-token")
    started: list[Agent] = []

    def build(
        *, interval: str = "1s", self_heal: bool = True, prune: bool = True, election: bool = False,
        identity: str | None = None, dashboard: bool = False,
    ) -> Agent:
        config = {
            "namespace": namespace,
            "cacheDir": str(tmp_path / "cache"),
            "webhooks": {
                "github": {"secret": {"env": "TEST_HOOK_SECRET"}},
                "reconcile": {"token": {"env": "TEST_RECONCILE_TOKEN"}},
            },
            "leaderElection": {
                "enabled": election, "leaseName": "agent-lease",
                "leaseDuration": "3s", "renewDeadline": "2s", "retryPeriod": "0.25s",
            },
            "applications": [{
                "name": "app",
                "source": {"url": repo.url, "revision": "main"},
                "destination": {"namespace": namespace},
                "interval": interval,
                "jitter": 0,
                "prune": prune,
                "selfHeal": self_heal,
                "retry": {"initial": "0.5s", "max": "2s"},
            }],
        }
        agent = Agent(
            parse_config(yaml.safe_dump(config), file="agent.yaml", environ={"TEST_HOOK_SECRET": "x",
                                                                            "TEST_RECONCILE_TOKEN": "x"}),
            kubeconfig=str(cluster.kubeconfig),
            listen=("127.0.0.1", 0),
            identity=identity,
            dashboard_listen=("127.0.0.1", 0) if dashboard else None,
        )
        agent.start()
        started.append(agent)
        return agent

    yield build
    for agent in started:
        if agent.alive():
            agent.stop()




CRD_FILE = Path(__file__).resolve().parents[2] / "deploy" / "crds" / "applications.gitops.io.yaml"
CRD_NAME = "applications.gitops.io"


@pytest.fixture(scope="session")
def application_crd(cluster: Any) -> Iterator[None]:
    """The Application CRD from deploy/crds/, applied as a user would, served before tests use it.
    Deleted afterwards only if this session created it (a real cluster may have it installed)."""
    import time

    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import NotFoundError

    client = cluster.dynamic()
    crds = client.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    deadline = time.monotonic() + 60
    while True:
        try:
            existing = crds.get(name=CRD_NAME).to_dict()
        except NotFoundError:
            created = True
            break
        if not existing["metadata"].get("deletionTimestamp"):
            created = False
            break
        # An earlier session's deletion still in progress (a real API server first removes every
        # Application): applying now would not stop it, and creating Applications would be refused.
        if time.monotonic() > deadline:
            raise AssertionError(f"the CustomResourceDefinition {CRD_NAME} is still being deleted")
        time.sleep(0.5)
    crds.server_side_apply(body=yaml.safe_load(CRD_FILE.read_text()), name=CRD_NAME, field_manager="gitops-tests",
                           force_conflicts=True)
    deadline = time.monotonic() + 30
    while True:
        conditions = {c["type"]: c["status"] for c in (crds.get(name=CRD_NAME).to_dict().get("status") or {}).get("conditions") or []}
        if conditions.get("Established") == "True":
            try:
                cluster.dynamic().resources.get(api_version="gitops.io/v1alpha1", kind="Application")
                break
            except Exception:
                pass  # discovery catches up with Established asynchronously
        if time.monotonic() > deadline:
            raise AssertionError("the Application CRD never became Established")
        time.sleep(0.2)
    yield
    if created:
        try:
            crds.delete(name=CRD_NAME)
        except ApiException as err:
            if err.status != 404:
                raise
