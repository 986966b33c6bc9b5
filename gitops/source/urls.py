"""Git URLs: telling them from local paths, redacting credentials, naming cache directories.

Pure: no I/O except ``is_remote`` asking whether a path exists.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

REDACTED = "***"
SUPPORTED_SCHEMES = ("https", "http", "ssh", "git+ssh", "git", "file")
SSH_SCHEMES = ("ssh", "git+ssh")

_SCHEME_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?:(?P<userinfo>[^/@?#]*)@)?(?P<rest>.*)$")
# git's scp-like syntax: [user@]host:path, recognised only when no slash comes before the first colon.
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>[^/:@]+):(?P<path>.*)$")
# userinfo of any URL embedded in free text (git messages, exceptions).
_USERINFO_IN_TEXT = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s'\"]+)@")


@dataclass(frozen=True)
class RemoteUrl:
    """A Git URL split into what git may store and the credentials that must stay out of it."""

    url: str
    """The URL as the user wrote it (may hold credentials: never print it)."""
    scheme: str
    """``https``, ``ssh``, ``file``...; ``ssh`` for the scp-like ``git@host:org/repo``."""
    host: str
    """``host`` or ``host:port``; ``""`` for ``file://``."""
    username: str = ""
    password: str = ""

    @property
    def for_git(self) -> str:
        """The URL git is given and stores in its config: no password, and no userinfo at all over HTTP(S)."""
        return strip_userinfo(self.url, keep_ssh_user=True)

    @property
    def display(self) -> str:
        return redact_url(self.url)

    @property
    def is_http(self) -> bool:
        return self.scheme in ("http", "https")

    @property
    def is_ssh(self) -> bool:
        return self.scheme in SSH_SCHEMES

    @property
    def http_base(self) -> str:
        """``https://host[:port]/``: the prefix ``http.<url>.extraHeader`` is scoped to."""
        return f"{self.scheme}://{self.host}/"


def is_remote(location: str) -> bool:
    """Whether ``location`` names a Git URL rather than a local directory.

    An existing local path wins over the scp-like syntax, so a directory named ``a:b`` stays a directory.
    """
    if _SCHEME_URL.match(location):
        return True
    return bool(_SCP_LIKE.match(location)) and not _exists(location)


def _exists(location: str) -> bool:
    try:
        return Path(location).exists()
    except (OSError, ValueError):  # a name longer than the system allows, a NUL byte
        return False


def parse_remote(location: str) -> RemoteUrl | None:
    """Split a Git URL; ``None`` when ``location`` is no URL form git knows."""
    match = _SCHEME_URL.match(location)
    if match:
        userinfo = match["userinfo"] or ""
        username, _, password = userinfo.partition(":")
        host = match["rest"].split("/", 1)[0].split("?", 1)[0]
        return RemoteUrl(
            url=location,
            scheme=match["scheme"].lower(),
            host=host,
            username=unquote(username),
            password=unquote(password),
        )
    match = _SCP_LIKE.match(location)
    if match:
        return RemoteUrl(url=location, scheme="ssh", host=match["host"], username=match["user"] or "")
    return None


def _redacted_userinfo(scheme: str, userinfo: str) -> str:
    """Over SSH a bare user name (``git@``) is no secret; anything else in userinfo may be a token."""
    user, has_password, _ = userinfo.partition(":")
    if scheme.rstrip(":/").lower() in SSH_SCHEMES and user:
        return f"{user}:{REDACTED}" if has_password else user
    return REDACTED


def redact_url(url: str) -> str:
    """``url`` with credentials replaced by ``***``: ``https://***@host/x.git``, ``ssh://git@host/x``."""
    match = _SCHEME_URL.match(url)
    if not match or match["userinfo"] is None:
        return url
    scheme = match["scheme"]
    return f"{scheme}://{_redacted_userinfo(scheme, match['userinfo'])}@{match['rest']}"


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Free text (git's stderr, exception messages) with URL userinfo and every known secret replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _USERINFO_IN_TEXT.sub(
        lambda m: f"{m['scheme']}{_redacted_userinfo(m['scheme'], m['userinfo'])}@", text
    )


def strip_userinfo(url: str, *, keep_ssh_user: bool = False) -> str:
    """``url`` without credentials (an SSH user name is kept when asked: it selects the account)."""
    match = _SCHEME_URL.match(url)
    if not match or match["userinfo"] is None:
        return url
    scheme = match["scheme"]
    user = match["userinfo"].partition(":")[0]
    if keep_ssh_user and scheme.lower() in SSH_SCHEMES and user:
        return f"{scheme}://{user}@{match['rest']}"
    return f"{scheme}://{match['rest']}"


def repository_identity(url: str) -> str:
    """What a repository is, whatever way its URL is spelt: ``host/org/repo`` in lower case, without
    scheme, credentials, port, ``.git`` or trailing slash. ``https://tok@GitHub.com/Org/Repo.git``,
    ``git@github.com:org/repo`` and ``ssh://git@github.com:22/org/repo/`` are all ``github.com/org/repo``.
    A ``file://`` URL keeps its path. Pure."""
    match = _SCHEME_URL.match(url)
    if match:
        scheme, rest = match["scheme"].lower(), match["rest"]
        if scheme == "file":
            return "file:" + unquote(rest).rstrip("/").removesuffix(".git").rstrip("/")
        host, _, path = rest.partition("/")
    else:
        scp = _SCP_LIKE.match(url)
        if scp is None:
            return url
        host, path = scp["host"], scp["path"]
    host = host.rsplit(":", 1)[0] if re.search(r":\d*$", host) else host
    path = path.split("?", 1)[0].split("#", 1)[0].strip("/").removesuffix(".git").strip("/")
    return f"{host}/{path}".lower()


def cache_key(url: str) -> str:
    """Directory name of a repository's cache: a readable stem plus a hash of the URL without credentials.

    The hash ignores credentials so that rotating a token keeps the cache.
    """
    bare = strip_userinfo(url).rstrip("/")
    digest = hashlib.sha256(bare.encode()).hexdigest()[:16]
    stem = re.split(r"[/:]", bare)[-1].removesuffix(".git")
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem)[:40] or "repo"
    return f"{stem}-{digest}"
