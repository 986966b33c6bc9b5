"""The agent's HTTP servers (endpoints, dashboard) share one way of running: the standard library's
threading server, bound at construction so that a bad or taken address fails at start-up, serving
on a daemon thread of its own."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer


class BackgroundServer:
    def __init__(self, server: ThreadingHTTPServer, name: str) -> None:
        self._server = server
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
