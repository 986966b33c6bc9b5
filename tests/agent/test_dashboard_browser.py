"""The dashboard in a real browser: headless Chromium renders the overview and an application page
of a running agent; the DOM must show the applications and the drift, and the screenshot must not
be blank. Deselected where no Chromium is installed (see conftest.py).

``GITOPS_DASHBOARD_SCREENSHOTS=docs`` also writes the screenshots there (the README's image).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from agent_helpers import GitRepo, Live, configmap, eventually, get
from PIL import Image

from gitops.agent import Agent
from gitops.agent.config import parse_config

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"
WINDOW = (1200, 520)


def browse(url: str, screenshot: Path) -> str:
    """The DOM after the page's scripts ran for a few (virtual) seconds; the screenshot in ``screenshot``."""
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         f"--window-size={WINDOW[0]},{WINDOW[1]}", "--virtual-time-budget=8000",
         f"--user-data-dir={screenshot.parent / 'chromium-profile'}",
         f"--screenshot={screenshot}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=False, cwd=screenshot.parent,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def assert_not_blank(png: Path) -> None:
    with Image.open(png) as image:
        assert image.size == WINDOW
        pixels = image.convert("RGB")
        colours = pixels.getcolors(maxcolors=WINDOW[0] * WINDOW[1]) or []
    commonest = max(count for count, _ in colours)
    assert len(colours) > 50, "a rendered page has text, so many distinct colours"
    assert commonest < 0.97 * WINDOW[0] * WINDOW[1], "more than the background"


@pytest.fixture
def agent(cluster: Any, namespace: str, repo: GitRepo, tmp_path: Path) -> Iterator[Agent]:
    """Three applications from one repository: one in sync, one drifting (self-heal off), one broken."""
    repo.commit({
        "shop/web.yaml": configmap("shop-web", namespace, replicas="3", image="nginx:1.27"),
        "blog/settings.yaml": configmap("blog-settings", namespace, theme="light", comments="on"),
        "api/broken.yaml": "kind: ConfigMap\nmetadata: [unclosed\n",
    }, message="three applications")
    applications = [
        {"name": name, "source": {"url": repo.url, "revision": "main", "path": name},
         "destination": {"namespace": namespace}, "interval": "1s", "jitter": 0, "prune": True,
         "selfHeal": name != "blog", "applySet": f"{name}-{namespace}", "retry": {"initial": "0.5s", "max": "2s"}}
        for name in ("api", "blog", "shop")
    ]
    config = {"namespace": namespace, "cacheDir": str(tmp_path / "cache"),
              "leaderElection": {"enabled": False}, "applications": applications}
    running = Agent(
        parse_config(yaml.safe_dump(config), file="agent.yaml", environ={}),
        kubeconfig=str(cluster.kubeconfig), listen=("127.0.0.1", 0), identity="gitops-agent-7d9f8-x2k4q",
        dashboard_listen=("127.0.0.1", 0),
    )
    running.start()
    yield running
    running.stop()


def test_the_dashboard_renders_in_a_browser(agent: Agent, live: Live, namespace: str, tmp_path: Path) -> None:
    import json

    def results() -> dict[str, str]:
        listed = json.loads(get(f"{agent.dashboard_url}/api/v1/applications")[1])["applications"]
        return {app["name"]: app["result"] for app in listed}

    assert eventually(lambda: results() == {"api": "Failed", "blog": "Synced", "shop": "Synced"}, timeout=30)
    live.configmaps.patch(
        name="blog-settings", namespace=namespace, body={"data": {"theme": "dark"}},
        content_type="application/merge-patch+json", field_manager="kubectl-edit",
    )
    assert eventually(lambda: results()["blog"] == "OutOfSync")

    overview = browse(f"{agent.dashboard_url}/", tmp_path / "dashboard.png")
    for name, result in (("api", "Failed"), ("blog", "OutOfSync"), ("shop", "Synced")):
        assert f'<tr data-application="{name}">' in overview
        assert f'data-field="result">{result}</span>' in overview
    assert "broken.yaml" in overview
    assert re.search(r'<span id="live"[^>]*>live</span>', overview), "the script polled and marked the page live"
    assert_not_blank(tmp_path / "dashboard.png")

    page = browse(f"{agent.dashboard_url}/applications/blog", tmp_path / "dashboard-application.png")
    assert f'data-object="v1 ConfigMap {namespace}/blog-settings"' in page
    assert "<code>data.theme</code>" in page and "kubectl-edit (Update)" in page
    assert '<span class="del">-  theme: dark</span>' in page and '<span class="add">+  theme: light</span>' in page
    assert_not_blank(tmp_path / "dashboard-application.png")

    target = os.environ.get("GITOPS_DASHBOARD_SCREENSHOTS")
    if target:
        for name in ("dashboard.png", "dashboard-application.png"):
            shutil.copyfile(tmp_path / name, Path(target) / name)


def test_an_open_page_updates_itself(tmp_path: Path) -> None:
    """The application changes after the page loaded: the page's script shows it without a reload."""
    from test_dashboard_server import StandIn

    from gitops.agent.dashboard import AppDetail, AppSummary, DashboardServer

    class Changing(StandIn):
        served = 0

        def applications(self) -> list[AppSummary]:
            self.served += 1
            result = "OutOfSync" if self.served == 1 else "Synced"
            return [AppSummary("shop", result, "Healthy", "9" * 40, 0, "2026-01-01T12:00:00Z")]

    provider = Changing(apps={"shop": AppDetail(AppSummary("shop"))})
    server = DashboardServer(provider, "127.0.0.1", 0)
    server.start()
    try:
        dom = browse(f"{server.url}/", tmp_path / "updated.png")
    finally:
        server.stop()
    assert provider.served >= 2
    assert 'data-field="result">Synced</span>' in dom and "OutOfSync</span>" not in dom.split("<table", 1)[1]
