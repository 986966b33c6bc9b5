"""The dashboard's HTTP server: read-only pages and JSON, on an address of its own.

    GET /                              every application (HTML)
    GET /applications/<name>           one application: last change set, history (HTML)
    GET /api/v1/applications           the same as JSON
    GET /api/v1/applications/<name>
    GET /static/<file>                 the stylesheet and script, from the package

Every page works without JavaScript; the script only polls the page it is on (conditional requests:
an unchanged page costs a 304) and swaps in what changed. Nothing is loaded from elsewhere, and the
Content-Security-Policy says so to the browser. Any method but GET and HEAD gets 405.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import mimetypes
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import unquote, urlsplit

import jinja2

from gitops.agent.dashboard import views
from gitops.agent.dashboard.model import AppDetail, ApplicationProvider
from gitops.agent.httpserver import BackgroundServer
from gitops.agent.logging import fields
from gitops.changeset import ChangeSet

log = logging.getLogger(__name__)

POLL_SECONDS = 3
"""How often an open page asks whether it changed (pages must update within 10 s)."""
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
ALLOWED = "GET, HEAD"


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str
    cacheable: bool = False
    """Static files: the browser may keep them for a while."""


def _package_files(folder: str) -> dict[str, bytes]:
    """The files of a package folder by name: the only static paths that exist (no path is joined)."""
    root = resources.files(__package__).joinpath(folder)
    return {item.name: item.read_bytes() for item in root.iterdir() if item.is_file()}


class Dashboard:
    """Routes and renders; knows nothing of HTTP beyond paths, status codes and bodies."""

    def __init__(self, provider: ApplicationProvider) -> None:
        self.provider = provider
        self.static = _package_files("static")
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader(__package__, "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters.update(
            time=views.display_time, short=views.short_revision, state=views.state_class
        )
        self._views: dict[str, tuple[ChangeSet, views.ChangeSetView]] = {}
        self._views_lock = threading.Lock()

    def get(self, path: str) -> Response:
        """The response to ``GET path`` (the URL's path, still percent-encoded)."""
        # Links are relative, so the pages also work under a path prefix (kubectl proxy, an Ingress).
        root = "../" * (path.count("/") - 1) or "./"
        if path == "/":
            return self._page("applications.html", 200, root, applications=self.provider.applications())
        if path == "/api/v1/applications":
            items = [views.summary_document(summary) for summary in self.provider.applications()]
            return _json(200, {"replica": self.provider.replica, "applications": items})
        name = _after("/api/v1/applications/", path)
        if name is not None:
            return self._api_application(name)
        name = _after("/applications/", path)
        if name is not None:
            return self._application_page(name, root)
        name = _after("/static/", path)
        if name is not None:
            return self._static_file(name)
        if path.startswith("/api/"):
            return _json(404, {"error": "not found"})
        return self._page("error.html", 404, root, title="Not found", message=f"Nothing here: {unquote(path)}")

    def _application_page(self, name: str, root: str) -> Response:
        detail = self.provider.application(name)
        if detail is None:
            return self._page("error.html", 404, root, title="Not found", message=f"No application named {name!r}.")
        return self._page(
            "application.html", 200, root, app=detail.summary, history=detail.history,
            changes=self._changeset_view(detail), recorded=detail.recorded_changes,
        )

    def _api_application(self, name: str) -> Response:
        detail = self.provider.application(name)
        if detail is None:
            return _json(404, {"error": f"no application named {name!r}"})
        return _json(200, views.detail_document(detail))

    def _static_file(self, name: str) -> Response:
        body = self.static.get(name)
        if body is None:
            return Response(404, b"not found\n", "text/plain; charset=utf-8")
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type.endswith("javascript"):
            content_type += "; charset=utf-8"
        return Response(200, body, content_type, cacheable=True)

    def _changeset_view(self, detail: AppDetail) -> views.ChangeSetView | None:
        """Masking and diffing once per change set, not once per poll."""
        cs = detail.changeset
        if cs is None:
            return None
        key = detail.summary.key
        with self._views_lock:
            cached = self._views.get(key)
            if cached is not None and cached[0] is cs:
                return cached[1]
        view = views.changeset_view(cs, time=detail.changeset_time, synced=detail.changeset_synced)
        with self._views_lock:
            self._views[key] = (cs, view)
        return view

    def _page(self, template: str, status: int, root: str, **context: Any) -> Response:
        html = self.templates.get_template(template).render(
            replica=self.provider.replica, poll_seconds=POLL_SECONDS, root=root, **context
        )
        return Response(status, html.encode(), "text/html; charset=utf-8")


def _after(prefix: str, path: str) -> str | None:
    """The decoded rest of ``path`` after ``prefix``; ``None`` when it does not start so or is empty."""
    if not path.startswith(prefix) or len(path) == len(prefix):
        return None
    return unquote(path.removeprefix(prefix))


def _json(status: int, document: dict[str, Any]) -> Response:
    body = json.dumps(document, indent=2, ensure_ascii=False, default=str).encode() + b"\n"
    return Response(status, body, "application/json")


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without it every response waits for the peer's delayed ACK (about 40 ms).
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _refuse_method(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= 1024 * 1024:
            self.rfile.read(length)
        else:
            self.close_connection = True
        body = b'{"error": "the dashboard is read-only: only GET and HEAD"}\n'
        self._send(Response(405, body, "application/json"), head=False, extra={"Allow": ALLOWED})

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_TRACE = do_CONNECT = _refuse_method

    def _answer(self, *, head: bool) -> None:
        if not self._host_allowed():
            # A page elsewhere could otherwise read a loopback-bound dashboard through DNS rebinding.
            self._send(Response(421, b"unexpected Host header\n", "text/plain; charset=utf-8"), head=head)
            return
        try:
            response = self.server.dashboard.get(urlsplit(self.path).path)
        except Exception:
            log.exception("dashboard page failed", extra=fields(path=self.path))
            response = Response(500, b"internal error (see the agent's log)\n", "text/plain; charset=utf-8")
        self._send(response, head=head)

    def _host_allowed(self) -> bool:
        if not self.server.loopback_only:
            return True
        host = urlsplit("//" + (self.headers.get("Host") or "")).hostname
        return host is None or _loopback(host)

    def _send(self, response: Response, *, head: bool, extra: dict[str, str] | None = None) -> None:
        etag = f'"{hashlib.sha1(response.body, usedforsecurity=False).hexdigest()}"'
        not_modified = response.status == 200 and etag in (self.headers.get("If-None-Match") or "")
        self.send_response(304 if not_modified else response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("ETag", etag)
        self.send_header("Cache-Control", "max-age=300" if response.cacheable else "no-cache")
        for name, value in {**SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(name, value)
        body = b"" if not_modified else response.body
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("dashboard http %s", format % args, extra=fields(client=self.client_address[0]))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], dashboard: Dashboard) -> None:
        self.dashboard = dashboard
        self.loopback_only = _loopback(address[0])
        super().__init__(address, _Handler)


class DashboardServer(BackgroundServer):
    def __init__(self, provider: ApplicationProvider, host: str, port: int) -> None:
        super().__init__(_Server((host, port), Dashboard(provider)), "agent-dashboard")
