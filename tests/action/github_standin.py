"""A local stand-in for the few GitHub REST endpoints the pull-request comment uses, recording every request."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

COMMENT_LIMIT = 65536


@dataclass
class Recorded:
    method: str
    path: str
    authorization: str
    body: dict[str, Any] | None


@dataclass
class GitHubStandIn:
    token: str
    requests: list[Recorded] = field(default_factory=list)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Comment id -> {"id", "issue", "body", "html_url"}."""
    next_id: int = 1000
    url: str = ""

    def add_comment(self, repository: str, issue: int, body: str) -> int:
        self.next_id += 1
        self.comments[self.next_id] = {
            "id": self.next_id,
            "issue": (repository, issue),
            "body": body,
            "html_url": f"https://github.test/{repository}/pull/{issue}#issuecomment-{self.next_id}",
        }
        return self.next_id

    def issue_comments(self, repository: str, issue: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.values() if c["issue"] == (repository, issue)]

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method in ("POST", "PATCH")]


def _handler(state: GitHubStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            auth = self.headers.get("Authorization", "")
            state.requests.append(Recorded(self.command, self.path, auth, body))
            if auth != f"Bearer {state.token}":
                return self._reply(401, {"message": "Bad credentials"})
            path, _, query = self.path.partition("?")
            params = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
            if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", path):
                repository, issue = m.group(1), int(m.group(2))
                if self.command == "GET":
                    per_page, page = int(params.get("per_page", 30)), int(params.get("page", 1))
                    listed = [_public(c) for c in state.issue_comments(repository, issue)]
                    return self._reply(200, listed[(page - 1) * per_page : page * per_page])
                if self.command == "POST":
                    if len(body["body"]) > COMMENT_LIMIT:
                        return self._reply(422, {"message": "Body is too long (maximum is 65536 characters)"})
                    comment_id = state.add_comment(repository, issue, body["body"])
                    return self._reply(201, _public(state.comments[comment_id]))
            if (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)", path)) and self.command == "PATCH":
                comment = state.comments.get(int(m.group(2)))
                if comment is None:
                    return self._reply(404, {"message": "Not Found"})
                if len(body["body"]) > COMMENT_LIMIT:
                    return self._reply(422, {"message": "Body is too long (maximum is 65536 characters)"})
                comment["body"] = body["body"]
                return self._reply(200, _public(comment))
            return self._reply(404, {"message": "Not Found"})

        do_GET = do_POST = do_PATCH = _handle

    return Handler


def _public(comment: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in comment.items() if key != "issue"}


class StandInServer:
    def __init__(self, token: str) -> None:
        self.state = GitHubStandIn(token=token)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self._server.disable_nagle_algorithm = True  # type: ignore[attr-defined]
        self.state.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> GitHubStandIn:
        self._thread.start()
        return self.state

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def parse_github_output(text: str) -> dict[str, str]:
    """Read a GITHUB_OUTPUT file the way the runner does: ``name=value`` lines and ``name<<DELIM`` heredocs."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            while lines[index] != delimiter:
                body.append(lines[index])
                index += 1
            index += 1
            values[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            values[name] = value
    return values
