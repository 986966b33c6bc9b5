"""The sandbox's HTTP front: routing, authentication, discovery, fault injection, and the server object."""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import socket
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from gitops.sandbox import openapi, tables, tls
from gitops.sandbox.api import Api, Request, Response
from gitops.sandbox.controllers import Controllers
from gitops.sandbox.crd import Registry
from gitops.sandbox.faults import Faults
from gitops.sandbox.resources import WRITE_VERBS, ResourceType
from gitops.sandbox.status import (
    ApiStatus,
    internal_error,
    method_not_allowed,
    no_route,
    too_many_requests,
    unauthorized,
    user_forbidden,
)
from gitops.sandbox.store import Store

log = logging.getLogger(__name__)

KUBERNETES_VERSION = {
    "major": "1",
    "minor": "28",
    "gitVersion": "v1.28.7",
    "gitCommit": "c8dcb00be9961ec36d141d2e4103f85f92bcf291",
    "gitTreeState": "clean",
    "buildDate": "2024-02-14T10:32:40Z",
    "goVersion": "go1.21.7",
    "compiler": "gc",
    "platform": "linux/amd64",
}
"""The server the sandbox imitates: kube-apiserver v1.28.7 (see README "The sandbox")."""
ADMIN_USER = "sandbox-admin"
READER_USER = "sandbox-reader"
PUBLIC_PATHS = ("/version", "/healthz", "/livez", "/readyz")
CONTEXT_NAME = "gitops-sandbox"


@dataclass(frozen=True)
class User:
    name: str
    read_only: bool


def default_state_dir() -> Path:
    """``$GITOPS_SANDBOX_DIR``, else ``$XDG_STATE_HOME/gitops/sandbox``, else ``~/.local/state/gitops/sandbox``."""
    explicit = os.environ.get("GITOPS_SANDBOX_DIR")
    if explicit:
        return Path(explicit).expanduser()
    state_home = os.environ.get("XDG_STATE_HOME")
    base = Path(state_home).expanduser() if state_home else Path.home() / ".local" / "state"
    return base / "gitops" / "sandbox"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: SandboxServer
    tls: ssl.SSLContext

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = self.socket.accept()
        # The TLS handshake happens in the request's own thread (finish_request), not in the accept loop.
        return self.tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False), address

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            request.settimeout(30)
            request.do_handshake()
            request.settimeout(None)
        except (OSError, ssl.SSLError):
            return
        super().finish_request(request, client_address)


class SandboxServer:
    """A small Kubernetes API server on 127.0.0.1, in-process.

    ``state_dir`` keeps objects across restarts (``None``: in memory only). ``port`` 0 picks a free port.
    ``admin`` enables the ``/sandbox/faults`` admin endpoint. ``simulate_workloads`` (on by default) makes
    workloads report a completed rollout, as the controllers of a real cluster would (see controllers.py).
    """

    def __init__(
        self,
        state_dir: Path | None = None,
        port: int = 0,
        *,
        admin: bool = False,
        history: int | None = None,
        simulate_workloads: bool = True,
    ) -> None:
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.port = port
        self.admin = admin
        self.faults = Faults()
        self.store = Store(self.state_dir, **({"history": history} if history else {}))
        self.registry = Registry()
        self.api = Api(self.store, self.registry)
        self.controllers = Controllers(self.api, simulate_workloads=simulate_workloads)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.tokens = self._tokens()
        self.credentials = self._credentials()

    def _tokens(self) -> dict[str, User]:
        saved = self.store.extra.get("tokens")
        if not isinstance(saved, dict) or not {"admin", "reader"} <= saved.keys():
            saved = {"admin": secrets.token_urlsafe(32), "reader": secrets.token_urlsafe(32)}
            self.store.extra["tokens"] = saved
            self.store.mark_dirty()
        return {saved["admin"]: User(ADMIN_USER, False), saved["reader"]: User(READER_USER, True)}

    def _credentials(self) -> tls.Credentials:
        saved = tls.Credentials.from_dict(self.store.extra.get("tls"))
        if saved is None:
            saved = tls.generate()
            self.store.extra["tls"] = saved.to_dict()
            self.store.mark_dirty()
        return saved

    @property
    def ca_pem(self) -> str:
        """The certificate authority that signed the serving certificate (trust it to verify the server)."""
        return self.credentials.ca_pem

    @property
    def admin_token(self) -> str:
        return str(self.store.extra["tokens"]["admin"])

    @property
    def reader_token(self) -> str:
        return str(self.store.extra["tokens"]["reader"])

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> SandboxServer:
        self._bootstrap()
        try:
            self._httpd = _HTTPServer(("127.0.0.1", self.port), _Handler)
        except OSError:
            self.store.close()
            raise
        self._httpd.sandbox = self
        self._httpd.tls = self.credentials.server_context()
        self.port = self._httpd.server_address[1]
        self.stopping.clear()
        self.controllers.start()
        self.store.start_flusher()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox-http", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Block until :meth:`stop` is called from another thread or a signal handler."""
        assert self._thread is not None
        while self._thread.is_alive():
            self._thread.join(0.2)

    def stop(self) -> None:
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        self.controllers.stop()
        self.store.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _bootstrap(self) -> None:
        """The objects a fresh cluster starts with."""
        namespaces = ("default", "kube-system", "kube-public", "kube-node-lease")
        for name in namespaces:
            if self.store.get(("", "namespaces"), "", name) is None:
                self._system_create("", "v1", "namespaces", {"metadata": {"name": name}})
        if self.store.get(("", "services"), "default", "kubernetes") is None:
            self.store.extra.setdefault("nextClusterIP", 1)
            self._system_create(
                "",
                "v1",
                "services",
                {
                    "metadata": {
                        "name": "kubernetes",
                        "namespace": "default",
                        "labels": {"component": "apiserver", "provider": "kubernetes"},
                    },
                    "spec": {
                        "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]
                    },
                },
            )

    def _system_create(self, group: str, version: str, resource: str, obj: dict[str, Any]) -> None:
        rt = self.registry.lookup(group, version, resource)
        assert rt is not None
        body = json.dumps(obj).encode()
        namespace = obj["metadata"].get("namespace", "")
        self.api.create(
            Request(
                "create",
                rt,
                namespace,
                body=body,
                content_type="application/json",
                user_agent=f"kube-apiserver/{KUBERNETES_VERSION['gitVersion']}",
            )
        )

    def kubeconfig(self, *, read_only: bool = False) -> dict[str, Any]:
        user = "sandbox-reader" if read_only else "sandbox-admin"
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": CONTEXT_NAME,
                    "cluster": {
                        "server": self.url,
                        "certificate-authority-data": base64.b64encode(self.ca_pem.encode()).decode(),
                    },
                }
            ],
            "users": [
                {"name": user, "user": {"token": self.reader_token if read_only else self.admin_token}}
            ],
            "contexts": [
                {
                    "name": CONTEXT_NAME,
                    "context": {"cluster": CONTEXT_NAME, "user": user, "namespace": "default"},
                }
            ],
            "current-context": CONTEXT_NAME,
            "preferences": {},
        }

    def write_kubeconfig(self, path: Path, *, read_only: bool = False) -> Path:
        """Write a kubeconfig (bearer token, mode 0600) that kubectl and the Python client accept."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: whoever waits for the file never reads it half-written.
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            yaml.safe_dump(self.kubeconfig(read_only=read_only), handle, sort_keys=False)
        os.replace(partial, path)
        return path

    # discovery

    def discovery(self, path: str) -> dict[str, Any] | None:
        if path.startswith("/openapi/v3"):
            return openapi.document_for_path(self.registry, path)
        if path == "/version":
            return KUBERNETES_VERSION
        if path == "/api":
            return {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port}"}
                ],
            }
        if path == "/api/v1":
            return self._resource_list("", "v1")
        if path == "/apis":
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [self._group(g) for g in self.registry.groups()],
            }
        parts = path.strip("/").split("/")
        if parts[0] != "apis" or len(parts) not in (2, 3):
            return None
        group = next((g for g in self.registry.groups() if g.name == parts[1]), None)
        if group is None:
            return None
        if len(parts) == 2:
            return {"kind": "APIGroup", "apiVersion": "v1", **self._group(group)}
        if parts[2] not in group.versions:
            return None
        return self._resource_list(parts[1], parts[2])

    def _group(self, group: Any) -> dict[str, Any]:
        versions = [{"groupVersion": f"{group.name}/{v}", "version": v} for v in group.versions]
        return {"name": group.name, "versions": versions, "preferredVersion": versions[0]}

    def _resource_list(self, group: str, version: str) -> dict[str, Any]:
        resources = [entry for rt in self.registry.types_in(group, version) for entry in rt.discovery()]
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources,
        }


@dataclass
class _Route:
    verb: str
    rt: ResourceType
    namespace: str
    name: str
    subresource: str


def as_partial_metadata(body: dict[str, Any]) -> dict[str, Any]:
    """``meta.k8s.io/v1`` PartialObjectMetadata (or its List): the objects' metadata only, as the
    API server answers ``Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1``."""
    if not isinstance(body, dict) or "metadata" not in body:
        return body

    def partial(obj: dict[str, Any]) -> dict[str, Any]:
        return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}

    if "items" not in body:
        return partial(body)
    return {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": body["metadata"],
            "items": [partial(item) for item in body["items"]]}


class _Drop(Exception):
    """Close the connection without answering."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    @property
    def sandbox(self) -> SandboxServer:
        return self.server.sandbox

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            user = self._authenticate(path)
            route = self._route(method, path, params)
            self._inject_fault(route.verb if isinstance(route, _Route) else "get", method, path)
            if path.startswith("/sandbox/"):
                self._admin(method, path, body, user)
                return
            if path in ("/healthz", "/livez", "/readyz"):
                self._send_text(200, "ok")
                return
            if not isinstance(route, _Route):
                self._send_json(200, route)
                return
            if user.read_only and route.verb in WRITE_VERBS:
                raise user_forbidden(user.name, route.verb, route.rt, route.name, route.namespace)
            request = Request(
                route.verb,
                route.rt,
                route.namespace,
                route.name,
                route.subresource,
                params,
                body,
                self.headers.get("Content-Type", ""),
                self.headers.get("User-Agent", ""),
            )
            if route.verb == "watch":
                self._watch(request)
                return
            response = self._dispatch(request)
            self._send_response(route, response)
        except ApiStatus as err:
            self._send_json(err.code, err.body(), err.headers)
        except _Drop:
            self.close_connection = True
        except (ConnectionError, ssl.SSLError):
            self.close_connection = True
        except Exception as err:
            log.exception("sandbox request %s %s failed", method, self.path)
            failure = internal_error(f"{type(err).__name__}: {err}")
            try:
                self._send_json(500, failure.body())
            except (ConnectionError, ssl.SSLError):
                self.close_connection = True

    def _inject_fault(self, verb: str, method: str, path: str) -> None:
        fault = self.sandbox.faults.take(verb, method, path)
        if fault is None:
            return
        if fault.mode == "drop":
            raise _Drop()
        if fault.mode == "timeout":
            self.sandbox.stopping.wait(fault.delay)
            raise _Drop()
        if fault.status == 429:
            raise too_many_requests()
        reasons = {
            500: "InternalError",
            503: "ServiceUnavailable",
            504: "Timeout",
            409: "Conflict",
            404: "NotFound",
        }
        messages = {
            500: "Internal error occurred: injected fault",
            503: "the server is currently unable to handle the request",
            504: "the server was unable to return a response in the time allotted, but may still be processing the request",
        }
        raise ApiStatus(
            fault.status,
            reasons.get(fault.status, "InternalError"),
            messages.get(fault.status, f"injected fault ({fault.status})"),
            {"causes": [{"message": "injected fault"}]} if fault.status == 500 else {},
        )

    def _authenticate(self, path: str) -> User:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip() in self.sandbox.tokens:
            return self.sandbox.tokens[token.strip()]
        if not header and path in PUBLIC_PATHS:
            return User("system:anonymous", True)
        raise unauthorized()

    def _route(self, method: str, path: str, params: dict[str, str]) -> _Route | dict[str, Any] | str:
        if path in ("/healthz", "/livez", "/readyz"):
            return {"status": "ok"}
        if path.startswith("/sandbox/"):
            return "admin"
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            rest = []
            group = version = ""
        if not rest or parts[0] == "openapi":
            if method != "GET":
                raise method_not_allowed()
            found = self.sandbox.discovery(path)
            if found is None:
                raise no_route()
            return found
        namespace = ""
        if len(rest) >= 3 and rest[0] == "namespaces":
            candidate = self.sandbox.registry.lookup(group, version, rest[2])
            if candidate is not None and candidate.namespaced:
                namespace, rest = rest[1], rest[2:]
        rt = self.sandbox.registry.lookup(group, version, rest[0])
        if rt is None or len(rest) > 3:
            raise no_route()
        name = rest[1] if len(rest) > 1 else ""
        subresource = rest[2] if len(rest) > 2 else ""
        if subresource and subresource not in rt.subresources:
            raise no_route()
        verb = self._verb(method, name, params)
        if rt.namespaced and not namespace and (name or verb not in ("list", "watch")):
            raise no_route() if name else method_not_allowed()
        if subresource and verb not in ("get", "update", "patch"):
            raise method_not_allowed()
        if verb not in rt.verbs:
            raise method_not_allowed()
        if verb == "create" and rt.custom and self._crd_terminating(rt):
            raise ApiStatus(
                405,
                "MethodNotAllowed",
                "create not allowed while custom resource definition is terminating",
                {},
            )
        return _Route(verb, rt, namespace, name, subresource)

    def _crd_terminating(self, rt: ResourceType) -> bool:
        name = self.sandbox.registry.crd_name(rt.group, rt.name)
        crd = self.sandbox.store.get(("apiextensions.k8s.io", "customresourcedefinitions"), "", name or "")
        return bool(crd and crd["metadata"].get("deletionTimestamp"))

    def _verb(self, method: str, name: str, params: dict[str, str]) -> str:
        if method == "GET":
            if not name:
                return "watch" if params.get("watch") in ("true", "1") else "list"
            return "get"
        verbs = {
            ("POST", False): "create",
            ("PUT", True): "update",
            ("PATCH", True): "patch",
            ("DELETE", True): "delete",
            ("DELETE", False): "deletecollection",
        }
        verb = verbs.get((method, bool(name)))
        if verb is None:
            raise method_not_allowed()
        return verb

    def _dispatch(self, request: Request) -> Response:
        api = self.sandbox.api
        handlers = {
            "get": api.get,
            "list": api.list,
            "create": api.create,
            "update": api.update,
            "patch": api.patch,
            "delete": api.delete,
            "deletecollection": api.delete_collection,
        }
        return handlers[request.verb](request)

    def _wants_table(self) -> bool:
        return "as=Table" in self.headers.get("Accept", "")

    def _wants_metadata(self) -> bool:
        return "as=PartialObjectMetadata" in self.headers.get("Accept", "")

    def _send_response(self, route: _Route, response: Response) -> None:
        body = response.body
        if route.verb in ("get", "list") and not route.subresource and self._wants_table():
            body = tables.as_table(body, self._columns(route.rt))
        elif route.verb in ("get", "list") and not route.subresource and self._wants_metadata():
            body = as_partial_metadata(body)
        warnings = [("Warning", '299 - "{}"'.format(w.replace('"', '\\"'))) for w in response.warnings]
        self._send_json(response.code, body, warnings)

    def _columns(self, rt: ResourceType) -> list[tables.Column]:
        printer_columns = None
        if rt.custom:
            crd = self.sandbox.store.get(
                ("apiextensions.k8s.io", "customresourcedefinitions"),
                "",
                self.sandbox.registry.crd_name(rt.group, rt.name) or "",
            )
            versions = ((crd or {}).get("spec") or {}).get("versions") or []
            served = next((v for v in versions if v.get("name") == rt.version), {})
            printer_columns = served.get("additionalPrinterColumns") or [
                {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
            ]
        return tables.columns_for(rt.group, rt.name, printer_columns)

    def _send_json(
        self, code: int, body: Any, headers: dict[str, str] | list[tuple[str, str]] | None = None
    ) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        pairs = headers.items() if isinstance(headers, dict) else headers or []
        for key, value in pairs:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_text(self, code: int, text: str) -> None:
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _watch(self, request: Request) -> None:
        events = self.sandbox.api.watch(request, self.sandbox.stopping.is_set)
        first = next(events, None)  # raises ApiStatus before any byte is sent
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        try:
            if first is not None:
                self._chunk(json.dumps(first, separators=(",", ":")).encode() + b"\n")
                for event in events:
                    self._chunk(json.dumps(event, separators=(",", ":")).encode() + b"\n")
            self.wfile.write(b"0\r\n\r\n")
        except (TimeoutError, ConnectionError, ssl.SSLError):
            self.close_connection = True

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _admin(self, method: str, path: str, body: bytes, user: User) -> None:
        """``/sandbox/faults``: GET lists, POST adds (JSON like Faults.add's arguments), DELETE clears."""
        if not self.sandbox.admin or path != "/sandbox/faults":
            raise no_route()
        if user.read_only:
            raise ApiStatus(403, "Forbidden", f'User "{user.name}" cannot change faults', {})
        faults = self.sandbox.faults
        if method == "GET":
            self._send_json(200, {"faults": [f.to_dict() for f in faults.list()]})
        elif method == "POST":
            try:
                spec = json.loads(body or b"{}")
                fault = faults.add(
                    **{
                        k: spec[k]
                        for k in ("verb", "path_regex", "status", "count", "mode", "delay")
                        if k in spec
                    }
                )
            except (ValueError, TypeError) as err:
                raise ApiStatus(400, "BadRequest", f"invalid fault: {err}") from err
            self._send_json(201, fault.to_dict())
        elif method == "DELETE":
            faults.clear()
            self._send_json(200, {"faults": []})
        else:
            raise method_not_allowed()
