"""Credentials: read from the environment, handed to git through its environment, never shown anywhere."""

from __future__ import annotations

import base64
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gitops.errors import ConfigError, SourceError
from gitops.source import Credentials, FetchOptions, SourceSpec, fetch
from gitops.source.credentials import git_auth, ssh_command
from gitops.source.urls import parse_remote

TOKEN = "ghp_TopSecretToken123"


def remote(url: str):
    parsed = parse_remote(url)
    assert parsed is not None
    return parsed


# -- reading the environment -----------------------------------------------------------------------


def test_from_environ_reads_every_variable(tmp_path: Path) -> None:
    key, hosts = tmp_path / "id_ed25519", tmp_path / "known_hosts"
    key.write_text("key")
    hosts.write_text("hosts")

    credentials = Credentials.from_environ(
        {
            "GITOPS_GIT_TOKEN": TOKEN,
            "GITOPS_GIT_USERNAME": "bot",
            "GITOPS_GIT_SSH_KEY_FILE": str(key),
            "GITOPS_GIT_KNOWN_HOSTS": str(hosts),
        }
    )

    assert credentials == Credentials(token=TOKEN, username="bot", ssh_key_file=key, known_hosts_file=hosts)
    assert TOKEN not in repr(credentials)


def test_nothing_set_means_no_credentials() -> None:
    assert Credentials.from_environ({}) == Credentials()
    assert Credentials().username == "x-access-token"


def test_token_file_is_read_at_each_fetch_so_a_rotated_token_is_used(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first\n")
    credentials = Credentials.from_environ({"GITOPS_GIT_TOKEN_FILE": str(token_file)})
    assert credentials.read_token() == "first"

    token_file.write_text("second\n")

    assert credentials.read_token() == "second"


@pytest.mark.parametrize(
    "variable", ["GITOPS_GIT_TOKEN_FILE", "GITOPS_GIT_SSH_KEY_FILE", "GITOPS_GIT_KNOWN_HOSTS"]
)
def test_a_named_file_that_does_not_exist_is_a_config_error(tmp_path: Path, variable: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{variable}: file {tmp_path}/absent does not exist$"):
        Credentials.from_environ({variable: str(tmp_path / "absent")})


def test_fetch_options_from_environ(tmp_path: Path) -> None:
    options = FetchOptions.from_environ(
        {"GITOPS_CACHE_DIR": str(tmp_path), "GITOPS_GIT_TOKEN": TOKEN}, timeout=5
    )

    assert options == FetchOptions(cache_dir=tmp_path, timeout=5, credentials=Credentials(token=TOKEN))


# -- the environment git gets ----------------------------------------------------------------------


def basic(user: str, password: str) -> str:
    return "Authorization: Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_token_goes_into_a_header_scoped_to_the_host() -> None:
    auth = git_auth(remote("https://github.com:8443/org/repo.git"), Credentials(token=TOKEN))

    assert auth.env["GIT_CONFIG_COUNT"] == "1"
    assert auth.env["GIT_CONFIG_KEY_0"] == "http.https://github.com:8443/.extraHeader"
    assert auth.env["GIT_CONFIG_VALUE_0"] == basic("x-access-token", TOKEN)
    assert TOKEN in auth.secrets


def test_credentials_in_the_url_win_and_are_redacted() -> None:
    auth = git_auth(remote("https://alice:s3cr%40t@example.com/r.git"), Credentials(token=TOKEN))

    assert auth.env["GIT_CONFIG_VALUE_0"] == basic("alice", "s3cr@t")
    assert "s3cr@t" in auth.secrets


def test_user_in_the_url_gets_the_configured_token() -> None:
    auth = git_auth(remote("https://alice@example.com/r.git"), Credentials(token=TOKEN))

    assert auth.env["GIT_CONFIG_VALUE_0"] == basic("alice", TOKEN)


def test_git_never_prompts() -> None:
    env = git_auth(remote("https://example.com/r.git"), Credentials()).env

    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_ASKPASS"] == ""
    assert "GIT_CONFIG_COUNT" not in env


def test_ssh_key_and_known_hosts_go_into_the_ssh_command(tmp_path: Path) -> None:
    credentials = Credentials(ssh_key_file=tmp_path / "my key", known_hosts_file=tmp_path / "hosts")

    env = git_auth(remote("git@github.com:org/repo.git"), credentials, connect_timeout=10).env

    assert env["GIT_SSH_COMMAND"] == ssh_command(credentials, connect_timeout=10)
    assert env["GIT_SSH_COMMAND"] == (
        f"ssh -o BatchMode=yes -o ConnectTimeout=10 -i '{tmp_path}/my key' -o IdentitiesOnly=yes "
        f"-o UserKnownHostsFile={tmp_path}/hosts -o StrictHostKeyChecking=yes"
    )
    assert "GIT_CONFIG_COUNT" not in env


# -- against a server ------------------------------------------------------------------------------


class RecordingGitServer(ThreadingHTTPServer):
    """Answers git's first request with a fixed status and records the Authorization headers it got."""

    daemon_threads = True

    def __init__(self, status: int) -> None:
        self.status = status
        self.authorizations: list[str | None] = []
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: RecordingGitServer

    def do_GET(self) -> None:
        self.server.authorizations.append(self.headers.get("Authorization"))
        self.send_response(self.server.status)
        if self.server.status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator:
    servers: list[RecordingGitServer] = []

    def start(status: int) -> RecordingGitServer:
        server = RecordingGitServer(status)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def everything_written(directory: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in directory.rglob("*") if p.is_file())


def test_token_reaches_the_server_and_nothing_else(
    serve, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = serve(404)
    url = f"http://127.0.0.1:{server.server_port}/org/repo.git"
    # The test server speaks plain HTTP: allowed explicitly (see the next test).
    credentials = Credentials(token=TOKEN, allow_insecure_http=True)
    options = FetchOptions(cache_dir=tmp_path / "cache", timeout=30, credentials=credentials)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(SourceError) as caught:
        fetch(SourceSpec(location=url, revision="main"), options)

    assert server.authorizations[0] == basic("x-access-token", TOKEN).removeprefix("Authorization: ")
    assert str(caught.value) == f"{url} (revision main): repository not found (or no access to it)"
    encoded = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    for place in (caplog.text, everything_written(tmp_path / "cache"), repr(caught.value.__cause__)):
        assert TOKEN not in place
        assert encoded not in place


def test_refused_credentials(serve, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = serve(401)
    url = f"http://bot:{TOKEN}@127.0.0.1:{server.server_port}/org/repo.git"
    caplog.set_level(logging.DEBUG)

    with pytest.raises(SourceError) as caught:
        fetch(SourceSpec(location=url), FetchOptions(cache_dir=tmp_path / "cache", timeout=30,
                                                     credentials=Credentials(allow_insecure_http=True)))

    assert str(caught.value) == (
        f"http://***@127.0.0.1:{server.server_port}/org/repo.git (default branch): "
        "authentication refused (set GITOPS_GIT_TOKEN or GITOPS_GIT_SSH_KEY_FILE)"
    )
    assert TOKEN not in caplog.text
    assert TOKEN not in everything_written(tmp_path / "cache")


@pytest.mark.parametrize("in_url", [False, True])
def test_a_token_is_never_sent_over_plain_http_unless_allowed(serve, tmp_path: Path, in_url: bool) -> None:
    server = serve(404)
    where = f"127.0.0.1:{server.server_port}/org/repo.git"
    url = f"http://bot:{TOKEN}@{where}" if in_url else f"http://{where}"
    options = FetchOptions(cache_dir=tmp_path / "cache", timeout=30, credentials=Credentials(token=TOKEN))

    with pytest.raises(SourceError) as caught:
        fetch(SourceSpec(location=url, revision="main"), options)

    assert "refusing to send a Git token over plain http://" in str(caught.value)
    assert "GITOPS_GIT_ALLOW_INSECURE_HTTP=true" in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert server.authorizations == [], "nothing was sent"
    assert Credentials.from_environ({"GITOPS_GIT_ALLOW_INSECURE_HTTP": "true"}).allow_insecure_http


def test_unreachable_host_error_redacts_the_url(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    with pytest.raises(SourceError) as caught:
        fetch(
            SourceSpec(location="https://user:secret@127.0.0.1:1/x.git", revision="main"),
            FetchOptions(cache_dir=tmp_path / "cache", timeout=30),
        )

    assert str(caught.value) == (
        "https://***@127.0.0.1:1/x.git (revision main): cannot connect (connection refused or host unreachable)"
    )
    assert caught.value.repository == "https://***@127.0.0.1:1/x.git"
    assert "secret" not in repr(caught.value.__cause__)
    assert "secret" not in caplog.text
    assert "secret" not in everything_written(tmp_path / "cache")
    assert "secret" not in repr(SourceSpec(location="https://user:secret@127.0.0.1:1/x.git"))


def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # connections complete in the kernel; nobody ever answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/x.git"

        with pytest.raises(SourceError) as caught:
            fetch(SourceSpec(location=url), FetchOptions(cache_dir=tmp_path / "cache", timeout=1))

    assert str(caught.value) == f"{url} (default branch): timed out after 1s"


def test_ssh_connection_refused_fails_without_prompting(tmp_path: Path) -> None:
    url = "ssh://git@127.0.0.1:1/org/repo.git"

    with pytest.raises(SourceError) as caught:
        fetch(SourceSpec(location=url), FetchOptions(cache_dir=tmp_path / "cache", timeout=10))

    assert (
        str(caught.value)
        == f"{url} (default branch): cannot connect (connection refused or host unreachable)"
    )
