"""The dashboard's HTTP surface over real HTTP, in front of a stand-in provider (no cluster needed)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

from gitops.agent.dashboard import AppDetail, ApplicationProvider, AppSummary, DashboardServer
from gitops.agent.dashboard.views import changeset_view, detail_document
from gitops.agent.status import HistoryEntry
from gitops.changeset import Action, ChangeSet, Entry, FieldChange
from gitops.objects import ObjectRef

SHA = "3f2a1bc" + "0" * 33
WEB = ObjectRef("apps", "Deployment", "shop", "web", "v1")
KEY = ObjectRef("", "Secret", "shop", "api-key", "v1")


def shop_changes() -> ChangeSet:
    return ChangeSet(source="https://github.com/acme/deploy.git", revision=SHA, dry_run=True, entries=[
        Entry(WEB, Action.UPDATE, changes=[FieldChange("spec.replicas", 5, 3, manager="kubectl-scale", operation="Update")],
              live={"spec": {"replicas": 5}}, desired={"spec": {"replicas": 3}}),
        Entry(KEY, Action.UPDATE, changes=[FieldChange("data.token", "b2xkLXRva2Vu", "bmV3LXRva2Vu")],
              live={"data": {"token": "b2xkLXRva2Vu"}}, desired={"data": {"token": "bmV3LXRva2Vu"}}),
        Entry(ObjectRef("", "ConfigMap", "shop", "settings", "v1"), Action.UNCHANGED),
    ])


@dataclass
class StandIn:
    replica: str = "agent-0"
    apps: dict[str, AppDetail] = field(default_factory=dict)

    def applications(self) -> list[AppSummary]:
        return [detail.summary for detail in self.apps.values()]

    def application(self, name: str) -> AppDetail | None:
        return self.apps.get(name)


@pytest.fixture
def dashboard() -> Iterator[tuple[StandIn, str]]:
    provider = StandIn()
    provider.apps["shop"] = AppDetail(
        AppSummary("shop", "OutOfSync", "Healthy", SHA, 2, "2026-01-01T12:00:00Z", replica="agent-0"),
        history=(HistoryEntry("2026-01-01T12:00:00Z", SHA, "OutOfSync", drifted=2),),
        changeset=shop_changes(), changeset_time="2026-01-01T12:00:00Z",
    )
    provider.apps["blog"] = AppDetail(AppSummary("blog", "Failed", message="render failed: blog.yaml: bad"))
    _: ApplicationProvider = provider  # the stand-in satisfies the interface
    server = DashboardServer(provider, "127.0.0.1", 0)
    server.start()
    yield provider, server.url
    server.stop()


def request(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request(method, parts.path, headers=headers or {})
    response = connection.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    connection.close()
    return response


def test_overview_lists_every_application(dashboard: tuple[StandIn, str]) -> None:
    _, url = dashboard
    response = request(f"{url}/")
    page = response.body.decode()  # type: ignore[attr-defined]
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/html")
    assert 'data-application="shop"' in page and 'data-application="blog"' in page
    assert "3f2a1bc" in page and SHA not in page.replace(f'title="{SHA}"', "")
    assert "render failed: blog.yaml: bad" in page and "2026-01-01 12:00:00Z" in page


def test_json_has_the_documented_fields(dashboard: tuple[StandIn, str]) -> None:
    _, url = dashboard
    listed = json.loads(request(f"{url}/api/v1/applications").body)  # type: ignore[attr-defined]
    shop = next(app for app in listed["applications"] if app["name"] == "shop")
    assert {key: shop[key] for key in ("name", "result", "health", "revision", "drifted", "lastSyncTime")} == {
        "name": "shop", "result": "OutOfSync", "health": "Healthy", "revision": SHA, "drifted": 2,
        "lastSyncTime": "2026-01-01T12:00:00Z",
    }
    detail = json.loads(request(f"{url}/api/v1/applications/shop").body)  # type: ignore[attr-defined]
    assert [change["object"] for change in detail["changes"]] == [str(WEB), str(KEY)]
    assert detail["changes"][0]["changes"][0]["manager"] == "kubectl-scale"
    assert detail["history"][0]["counts"]["drifted"] == 2


def test_secret_values_never_leave_the_agent(dashboard: tuple[StandIn, str]) -> None:
    _, url = dashboard
    shown = b"".join(request(f"{url}{path}").body for path in (  # type: ignore[attr-defined]
        "/applications/shop", "/api/v1/applications/shop",
    ))
    for value in (b"b2xkLXRva2Vu", b"bmV3LXRva2Vu", b"old-token", b"new-token"):
        assert value not in shown
    assert b"*** (before)" in shown and b"*** (after)" in shown


def test_unknown_applications_are_404_in_the_routes_format(dashboard: tuple[StandIn, str]) -> None:
    _, url = dashboard
    page = request(f"{url}/applications/nope")
    assert page.status == 404 and page.headers["Content-Type"].startswith("text/html")
    assert b"nope" in page.body  # type: ignore[attr-defined]
    document = request(f"{url}/api/v1/applications/nope")
    assert document.status == 404 and document.headers["Content-Type"] == "application/json"
    assert "error" in json.loads(document.body)  # type: ignore[attr-defined]
    assert request(f"{url}/nowhere").status == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_nothing_can_be_written(dashboard: tuple[StandIn, str], method: str) -> None:
    _, url = dashboard
    for path in ("/", "/applications/shop", "/api/v1/applications/shop"):
        response = request(f"{url}{path}", method)
        assert response.status == 405 and response.headers["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", [
    "/static/../server.py", "/static/%2e%2e/server.py", "/static/..%2fserver.py", "/static/%2e%2e%2f__init__.py",
    "/static//etc/passwd", "/static/%2fetc%2fpasswd", "/static/../templates/base.html",
])
def test_static_paths_stay_in_their_directory(dashboard: tuple[StandIn, str], path: str) -> None:
    _, url = dashboard
    response = request(f"{url}{path}")
    assert response.status == 404
    assert b"import" not in response.body and b"root:" not in response.body  # type: ignore[attr-defined]


def test_everything_a_page_loads_is_served_by_the_agent(dashboard: tuple[StandIn, str]) -> None:
    _, url = dashboard
    response = request(f"{url}/applications/shop")
    page = response.body.decode()  # type: ignore[attr-defined]
    assert "http://" not in page and "https://" not in page.replace("https://github.com/acme/deploy.git", "")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    for asset, kind in (("../static/dashboard.css", "text/css"), ("../static/dashboard.js", "javascript")):
        assert f'"{asset}"' in page
        served = request(f"{url}/static/{asset.rsplit('/', 1)[1]}")
        assert served.status == 200 and kind in served.headers["Content-Type"]


def test_head_and_conditional_requests(dashboard: tuple[StandIn, str]) -> None:
    _, url = dashboard
    full = request(f"{url}/")
    head = request(f"{url}/", "HEAD")
    assert head.status == 200 and head.body == b"" and head.headers["ETag"] == full.headers["ETag"]  # type: ignore[attr-defined]
    assert request(f"{url}/", headers={"If-None-Match": full.headers["ETag"]}).status == 304
    assert request(f"{url}/", headers={"If-None-Match": '"other"'}).status == 200


def test_a_loopback_dashboard_refuses_foreign_host_names(dashboard: tuple[StandIn, str]) -> None:
    """A web page elsewhere cannot read it through DNS rebinding."""
    _, url = dashboard
    assert request(f"{url}/", headers={"Host": "attacker.example:8081"}).status == 421
    assert request(f"{url}/", headers={"Host": "localhost:8081"}).status == 200


def test_changes_are_worded_like_the_text_report() -> None:
    view = changeset_view(shop_changes(), time="2026-01-01T12:00:00Z", synced=False)
    assert view.heading == "Plan at 2026-01-01 12:00:00Z, revision 3f2a1bc"
    assert view.summary == "2 to update, 1 unchanged"
    web = view.objects[0]
    assert (web.marker, web.action, web.ref) == ("~", "update", str(WEB))
    assert [(f.path, f.before, f.after, f.manager) for f in web.fields] == [
        ("spec.replicas", "5", "3", "kubectl-scale (Update)"),
    ]
    assert [line.text for line in web.diff if line.kind in ("add", "del")] == ["-  replicas: 5", "+  replicas: 3"]
    assert view.unchanged == ("v1 ConfigMap shop/settings",)


def test_detail_without_a_change_set() -> None:
    document = detail_document(AppDetail(AppSummary("shop")))
    assert document["result"] == "Unknown" and document["changes"] == [] and document["history"] == []
    assert document["lastSyncTime"] is None and document["revision"] is None
