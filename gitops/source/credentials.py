"""Credentials for fetching Git repositories, and the environment that hands them to git.

Secrets reach git only through its environment (``GIT_CONFIG_*``, ``GIT_SSH_COMMAND``): never through the
command line, a URL stored in ``.git/config``, or anything that ends up in output, logs or exceptions.

Environment variables read by ``Credentials.from_environ`` (the front ends call it):

    GITOPS_GIT_TOKEN          HTTPS token (sent as HTTP basic auth: username + token)
    GITOPS_GIT_TOKEN_FILE     file holding the token, read on every fetch (so a rotated token is picked up)
    GITOPS_GIT_USERNAME       username sent with the token (default ``x-access-token``, as GitHub expects)
    GITOPS_GIT_SSH_KEY_FILE   private key for ``ssh://`` and ``git@host:org/repo`` URLs
    GITOPS_GIT_KNOWN_HOSTS    known_hosts file to verify SSH host keys against (strict checking)
"""

from __future__ import annotations

import base64
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gitops.errors import ConfigError, SourceError
from gitops.source.urls import RemoteUrl

DEFAULT_USERNAME = "x-access-token"

ENV_TOKEN = "GITOPS_GIT_TOKEN"
ENV_TOKEN_FILE = "GITOPS_GIT_TOKEN_FILE"
ENV_USERNAME = "GITOPS_GIT_USERNAME"
ENV_SSH_KEY_FILE = "GITOPS_GIT_SSH_KEY_FILE"
ENV_KNOWN_HOSTS = "GITOPS_GIT_KNOWN_HOSTS"
ENV_ALLOW_HTTP = "GITOPS_GIT_ALLOW_INSECURE_HTTP"


@dataclass(frozen=True)
class Credentials:
    """How to authenticate to Git remotes. The token never shows in ``repr``."""

    token: str | None = field(default=None, repr=False)
    """HTTPS token (a GitHub/GitLab personal access or app token, or a password)."""
    token_file: Path | None = None
    """File holding the token, read at each fetch; used when ``token`` is not set."""
    username: str = DEFAULT_USERNAME
    """Username sent with the token over HTTPS."""
    ssh_key_file: Path | None = None
    """Private key for SSH remotes (``IdentitiesOnly``: no other key from the agent is tried)."""
    known_hosts_file: Path | None = None
    """known_hosts for SSH remotes; when set, host keys are checked strictly against it alone."""
    allow_insecure_http: bool = False
    """Send the token (or URL password) to a plain ``http://`` remote, readable by anyone on the way."""

    @classmethod
    def from_environ(cls, env: Mapping[str, str] | None = None) -> Credentials:
        """Read the ``GITOPS_GIT_*`` variables; raise ConfigError when a named file does not exist."""
        env = os.environ if env is None else env
        credentials = cls(
            token=env.get(ENV_TOKEN) or None,
            token_file=_optional_path(env, ENV_TOKEN_FILE),
            username=env.get(ENV_USERNAME) or DEFAULT_USERNAME,
            ssh_key_file=_optional_path(env, ENV_SSH_KEY_FILE),
            known_hosts_file=_optional_path(env, ENV_KNOWN_HOSTS),
            allow_insecure_http=env.get(ENV_ALLOW_HTTP, "").strip().lower() in ("1", "true", "yes"),
        )
        for variable, path in (
            (ENV_TOKEN_FILE, credentials.token_file),
            (ENV_SSH_KEY_FILE, credentials.ssh_key_file),
            (ENV_KNOWN_HOSTS, credentials.known_hosts_file),
        ):
            if path is not None and not path.is_file():
                raise ConfigError(f"{variable}: file {path} does not exist")
        return credentials

    def read_token(self) -> str | None:
        """The token, from ``token`` or else ``token_file`` (surrounding whitespace stripped)."""
        if self.token:
            return self.token
        if self.token_file is None:
            return None
        try:
            return self.token_file.read_text().strip() or None
        except OSError as err:
            raise SourceError(f"cannot read the token file {self.token_file}: {err.strerror}") from None


def _optional_path(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name)
    return Path(value).expanduser() if value else None


@dataclass(frozen=True)
class GitAuth:
    """What one fetch hands to git: environment variables, and the secrets to redact from its output."""

    env: dict[str, str] = field(default_factory=dict, repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)


# Never let git or ssh wait for a human: no terminal prompt, no askpass program, ssh in batch mode.
NO_PROMPTS = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": "", "GCM_INTERACTIVE": "never"}


def git_auth(remote: RemoteUrl, credentials: Credentials, *, connect_timeout: float = 30.0) -> GitAuth:
    """The environment that authenticates git to ``remote``.

    Credentials written in the URL (``https://user:token@host/...``) win over ``credentials``.
    The HTTP header is scoped to the remote's scheme, host and port, so a redirect elsewhere does not
    receive it.
    """
    env = dict(NO_PROMPTS)
    secrets: list[str] = []
    if remote.is_http:
        username, token = _http_credentials(remote, credentials)
        if token and remote.scheme == "http" and not credentials.allow_insecure_http:
            raise SourceError(
                f"refusing to send a Git token over plain http:// (readable on the way): use https://, "
                f"or set {ENV_ALLOW_HTTP}=true"
            )
        if token is not None:
            basic = base64.b64encode(f"{username}:{token}".encode()).decode()
            env.update(
                {
                    "GIT_CONFIG_COUNT": "1",
                    "GIT_CONFIG_KEY_0": f"http.{remote.http_base}.extraHeader",
                    "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
                }
            )
            secrets += [token, basic]
    if remote.is_ssh:
        env["GIT_SSH_COMMAND"] = ssh_command(credentials, connect_timeout=connect_timeout)
    if remote.password:
        secrets.append(remote.password)
    elif remote.is_http and len(remote.username) >= 8:
        secrets.append(remote.username)  # likely a token written as the user name (https://TOKEN@host/...)
    return GitAuth(env=env, secrets=tuple(s for s in secrets if s))


def _http_credentials(remote: RemoteUrl, credentials: Credentials) -> tuple[str, str | None]:
    """URL userinfo first: ``user:token@``, then ``user@`` with the configured token, then a bare ``token@``."""
    if remote.password:
        return remote.username, remote.password
    token = credentials.read_token()
    if remote.username:
        return (remote.username, token) if token else (remote.username, "")
    return credentials.username, token


def ssh_command(credentials: Credentials, *, connect_timeout: float = 30.0) -> str:
    """``GIT_SSH_COMMAND``: batch mode (never prompt), the key and known_hosts when given."""
    parts = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(1, round(connect_timeout))}"]
    if credentials.ssh_key_file is not None:
        parts += ["-i", str(credentials.ssh_key_file), "-o", "IdentitiesOnly=yes"]
    if credentials.known_hosts_file is not None:
        parts += [
            "-o",
            f"UserKnownHostsFile={credentials.known_hosts_file}",
            "-o",
            "StrictHostKeyChecking=yes",
        ]
    return shlex.join(parts)
