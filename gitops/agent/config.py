"""The agent's configuration file: parsed and validated once at start-up.

Every problem is a :class:`ConfigError` with one line naming the file and the field
(``agent.yaml: applications[1].source.url: required``). Pure apart from reading the file
and checking that referenced environment variables and files exist (never their values).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gitops.durations import parse_duration
from gitops.engine import SyncOptions
from gitops.errors import ConfigError
from gitops.source import SourceSpec
from gitops.source.credentials import DEFAULT_USERNAME, Credentials

DEFAULT_NAMESPACE = "gitops-system"
SERVICE_ACCOUNT_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
_APP_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$")


@dataclass(frozen=True)
class SecretRef:
    """Where a secret lives: an environment variable or a file. The value is read when needed, never kept."""

    env: str | None = None
    file: Path | None = None
    reader: Callable[[], str] | None = field(default=None, compare=False)
    """Reads it elsewhere (a Kubernetes Secret the agent reads through the API)."""

    def read(self) -> str:
        if self.reader is not None:
            return self.reader()
        if self.env is not None:
            return os.environ.get(self.env, "")
        assert self.file is not None
        return self.file.read_text(encoding="utf-8").strip()

    def __str__(self) -> str:
        if self.reader is not None:
            return "a Kubernetes Secret"
        return f"environment variable {self.env}" if self.env is not None else f"file {self.file}"


@dataclass(frozen=True)
class GitCredentials:
    """How one application authenticates to its repository; secrets are referenced, never inlined."""

    username: str | None = None
    """Username sent with the token over HTTPS (default ``x-access-token``, as GitHub expects)."""
    token: SecretRef | None = None
    """HTTPS token or password."""
    ssh_key_file: Path | None = None
    known_hosts_file: Path | None = None

    def resolve(self) -> Credentials:
        """The source stage's credentials, reading the token now (so a rotated one is picked up)."""
        token = token_file = None
        if self.token is not None and self.token.env is not None:
            token = self.token.read() or None
        elif self.token is not None:
            token_file = self.token.file
        return Credentials(
            token=token,
            token_file=token_file,
            username=self.username or DEFAULT_USERNAME,
            ssh_key_file=self.ssh_key_file,
            known_hosts_file=self.known_hosts_file,
        )


@dataclass(frozen=True)
class Decryption:
    """How one application's SOPS-encrypted files are decrypted: an age key, referenced, never inlined.

    Handed to sops through its own environment (``SOPS_AGE_KEY_FILE``, ``SOPS_AGE_KEY``), for that
    application's renders only; without either, sops finds what the agent's environment holds.
    """

    age_key_file: Path | None = None
    """An age key file, such as a mounted Secret's key."""
    age_key: SecretRef | None = None
    """The age key itself, from an environment variable (a Secret's ``secretKeyRef``) or a file."""

    def sops_env(self) -> dict[str, str]:
        """The variables to add to sops' environment, reading the key now (a rotated key is picked up)."""
        if self.age_key_file is not None:
            return {"SOPS_AGE_KEY_FILE": str(self.age_key_file)}
        if self.age_key is not None:
            try:
                return {"SOPS_AGE_KEY": self.age_key.read()}
            except OSError as err:
                raise ConfigError(f"decryption.ageKey: cannot read {self.age_key}: {err.strerror or err}") from None
        return {}


@dataclass(frozen=True)
class Backoff:
    """Delays between attempts after consecutive failures: initial, doubled each time, capped."""

    initial: float = 5.0
    maximum: float = 300.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failures (``failures >= 1``)."""
        exponent = min(max(failures - 1, 0), 32)
        return min(self.initial * 2**exponent, self.maximum)


@dataclass(frozen=True)
class AppConfig:
    """One application: a source kept applied to a destination."""

    name: str
    source: SourceSpec
    credentials: GitCredentials = field(default_factory=GitCredentials)
    credentials_secret: str | None = None
    """An Application's Secret (in its namespace) with the Git credentials: keys ``username``,
    ``password`` (or ``token``), ``identity`` (SSH private key), ``known_hosts``."""
    resource: tuple[str, str] | None = None
    """The Application object (namespace, name) this came from; ``None`` for the configuration file."""
    generation: int = 0
    """The Application's ``metadata.generation`` this was read from."""
    delete_objects: bool = False
    """The Application carries the finalizer that deletes its objects with it."""
    namespace: str = "default"
    """Destination namespace for namespaced objects that name none."""
    kubeconfig: str | None = None
    """Destination cluster; ``None``: the agent's own cluster."""
    context: str | None = None
    interval: float = 60.0
    jitter: float = 0.0
    self_heal: bool = True
    """Apply drift away even when the revision did not change; off: only report drift."""
    sync: SyncOptions = field(default_factory=SyncOptions)
    """Prune, ignore rules and safety options handed to the engine."""
    backoff: Backoff = field(default_factory=Backoff)
    decryption: Decryption = field(default_factory=Decryption)
    """Keys for the SOPS-encrypted files of the source."""

    @property
    def key(self) -> str:
        """Unique among the agent's applications: ``namespace/name`` for an Application object,
        the bare name for one of the configuration file (whose names cannot hold a ``/``)."""
        return f"{self.resource[0]}/{self.resource[1]}" if self.resource else self.name


@dataclass(frozen=True)
class LeaderElection:
    """coordination.k8s.io/v1 Lease settings, as client-go's leaderelection names them."""

    enabled: bool = True
    lease_name: str = "gitops-agent"
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0


@dataclass(frozen=True)
class AgentConfig:
    file: str
    """The file the configuration came from, for messages."""
    namespace: str
    """Where the agent keeps its status ConfigMaps, Events and Lease."""
    applications: tuple[AppConfig, ...]
    cache_dir: Path | None = None
    github_secret: SecretRef | None = None
    reconcile_token: SecretRef | None = None
    leader_election: LeaderElection = field(default_factory=LeaderElection)
    field_manager: str = "gitops"

    def application(self, name: str) -> AppConfig | None:
        return next((app for app in self.applications if app.name == name), None)


def load_config(path: str | Path, *, environ: dict[str, str] | None = None) -> AgentConfig:
    """Read and validate an agent configuration file."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{file}: cannot read: {err.strerror or err}") from err
    return parse_config(text, file=file, environ=os.environ if environ is None else environ)


def parse_config(text: str, *, file: str, environ: dict[str, str] | os._Environ[str]) -> AgentConfig:
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{file}:{where}: invalid YAML: {problem}") from err
    root = _Node(data if data is not None else {}, "", file, environ)
    config = _agent(root)
    root.finish()
    return config


class _StrictLoader(yaml.SafeLoader):
    """Rejects duplicate keys, which plain YAML loading silently resolves to the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _Node:
    """A mapping being read, remembering its path so every error names the field."""

    def __init__(self, data: Any, path: str, file: str, environ: Any) -> None:
        self.path = path
        self.file = file
        self.environ = environ
        if not isinstance(data, dict):
            raise self.error(f"must be a mapping, not {_type_name(data)}")
        self.data = data
        self.read: set[str] = set()

    def error(self, message: str, key: str | None = None) -> ConfigError:
        where = self.child_path(key) if key is not None else self.path
        return ConfigError(f"{self.file}: {where or '(top level)'}: {message}")

    def child_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def raw(self, key: str) -> Any:
        self.read.add(key)
        return self.data.get(key)

    def string(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.raw(key)
        if value is None:
            if required:
                raise self.error("required", key)
            return default
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise self.error(f"must be a string, not {_type_name(value)}", key)
        text = str(value).strip()
        if required and not text:
            raise self.error("must not be empty", key)
        return text

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(f"must be true or false, not {value!r}", key)
        return value

    def number(self, key: str, default: int | None, *, minimum: int = 0) -> int | None:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self.error(f"must be an integer of at least {minimum}, not {value!r}", key)
        return value

    def duration(self, key: str, default: float, *, positive: bool = False) -> float:
        value = self.raw(key)
        if value is None:
            return default
        try:
            seconds = parse_duration(value)
        except ValueError as err:
            raise self.error(str(err), key) from err
        if positive and seconds <= 0:
            raise self.error("must be more than zero", key)
        return seconds

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.raw(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise self.error("must be a list of non-empty strings", key)
        return tuple(value)

    def child(self, key: str) -> _Node | None:
        value = self.raw(key)
        return None if value is None else _Node(value, self.child_path(key), self.file, self.environ)

    def items(self, key: str) -> list[_Node]:
        value = self.raw(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(f"must be a list, not {_type_name(value)}", key)
        return [
            _Node(item, f"{self.child_path(key)}[{index}]", self.file, self.environ)
            for index, item in enumerate(value)
        ]

    def secret(self, key: str) -> SecretRef | None:
        node = self.child(key)
        if node is None:
            return None
        env, file = node.string("env"), node.string("file")
        node.finish()
        if (env is None) == (file is None):
            raise node.error("set exactly one of env or file")
        if env is not None:
            if env not in self.environ:
                raise node.error(f"environment variable {env} is not set", "env")
            return SecretRef(env=env)
        return SecretRef(file=node.file_path("file"))

    def file_path(self, key: str) -> Path | None:
        """A file that must exist and be readable now."""
        value = self.string(key)
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_file() or not os.access(path, os.R_OK):
            raise self.error(f"{path} is not a readable file", key)
        return path

    def finish(self) -> None:
        """Reject keys nobody read: they are typos, and silently ignoring them hides a wrong setting."""
        for key in self.data:
            if key not in self.read:
                close = difflib.get_close_matches(str(key), sorted(self.read), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise self.error(f"unknown field{hint}", str(key))


def _type_name(value: Any) -> str:
    return {list: "a list", dict: "a mapping", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _agent(root: _Node) -> AgentConfig:
    namespace = root.string("namespace") or own_namespace(root.environ)
    cache_dir = root.string("cacheDir")
    field_manager = root.string("fieldManager", "gitops") or "gitops"
    github_secret, reconcile_token = _webhooks(root.child("webhooks"))
    leader = _leader_election(root.child("leaderElection"))
    applications = tuple(_application(node, field_manager) for node in root.items("applications"))
    if not applications:
        raise root.error("at least one application is required", "applications")
    _reject_duplicates(root, applications)
    return AgentConfig(
        file=root.file,
        namespace=namespace,
        applications=applications,
        cache_dir=Path(cache_dir) if cache_dir else None,
        github_secret=github_secret,
        reconcile_token=reconcile_token,
        leader_election=leader,
        field_manager=field_manager,
    )


def own_namespace(environ: Any) -> str:
    if environ.get("POD_NAMESPACE"):
        return str(environ["POD_NAMESPACE"])
    try:
        return SERVICE_ACCOUNT_NAMESPACE_FILE.read_text(encoding="utf-8").strip() or DEFAULT_NAMESPACE
    except OSError:
        return DEFAULT_NAMESPACE


def _webhooks(node: _Node | None) -> tuple[SecretRef | None, SecretRef | None]:
    if node is None:
        return None, None
    github, reconcile = node.child("github"), node.child("reconcile")
    node.finish()
    github_secret = reconcile_token = None
    if github is not None:
        github_secret = github.secret("secret")
        if github_secret is None:
            raise github.error("required", "secret")
        github.finish()
    if reconcile is not None:
        reconcile_token = reconcile.secret("token")
        if reconcile_token is None:
            raise reconcile.error("required", "token")
        reconcile.finish()
    return github_secret, reconcile_token


def _leader_election(node: _Node | None) -> LeaderElection:
    if node is None:
        return LeaderElection()
    defaults = LeaderElection()
    settings = LeaderElection(
        enabled=node.boolean("enabled", defaults.enabled),
        lease_name=node.string("leaseName", defaults.lease_name) or defaults.lease_name,
        lease_duration=node.duration("leaseDuration", defaults.lease_duration, positive=True),
        renew_deadline=node.duration("renewDeadline", defaults.renew_deadline, positive=True),
        retry_period=node.duration("retryPeriod", defaults.retry_period, positive=True),
    )
    node.finish()
    problem = leader_election_problem(settings)
    if problem:
        raise node.error(problem[1], problem[0])
    return settings


def leader_election_problem(settings: LeaderElection) -> tuple[str, str] | None:
    """client-go's rules on the timings, as (field, problem): otherwise a healthy holder could lose
    its Lease between two renewals."""
    if settings.lease_duration <= settings.renew_deadline:
        return "leaseDuration", "must be longer than renewDeadline"
    if settings.renew_deadline <= settings.retry_period:
        return "renewDeadline", "must be longer than retryPeriod"
    if settings.lease_duration < 1:
        return "leaseDuration", "must be at least 1s (the Lease stores whole seconds)"
    return None


def check_leader_election(settings: LeaderElection) -> None:
    """The same rules for timings given as flags: ConfigError naming the flags."""
    problem = leader_election_problem(settings)
    if problem:
        flags = {"leaseDuration": "--lease-duration", "renewDeadline": "--renew-deadline", "retryPeriod": "--retry-period"}
        message = problem[1]
        for name, flag in flags.items():
            message = message.replace(name, flag)
        raise ConfigError(f"{flags[problem[0]]} {message}")


def _application(node: _Node, field_manager: str) -> AppConfig:
    name = node.string("name", required=True)
    assert name is not None
    if not _APP_NAME.match(name):
        raise node.error(
            f"{name!r} must be a lowercase DNS label of at most 40 characters (a-z, 0-9, '-')", "name"
        )
    return application_spec(node, name=name, field_manager=field_manager)


def parse_application_spec(
    spec: Any, *, where: str, name: str, field_manager: str, default_namespace: str
) -> AppConfig:
    """The application an Application object's ``spec`` describes (see :func:`application_spec`);
    ConfigError ``<where>: spec.<field>: <problem>``."""
    node = _Node(spec if spec is not None else {}, "spec", where, {})
    app = application_spec(node, name=name, field_manager=field_manager, default_namespace=default_namespace,
                           resource=True)
    node.finish()
    return app


def application_spec(
    node: _Node, *, name: str, field_manager: str, default_namespace: str = "default", resource: bool = False
) -> AppConfig:
    """An application from its fields (a config file entry, or an Application's ``spec``).

    ``resource``: the spec of an Application object, whose author must not reach the agent's files:
    credentials come from a Secret (``credentials.secretRef``) and the destination is this cluster.
    """
    source_node = node.child("source")
    if source_node is None:
        raise node.error("required", "source")
    source, credentials, secret = _source(source_node, resource=resource)
    destination = node.child("destination")
    namespace, kubeconfig, context = default_namespace, None, None
    if destination is not None:
        namespace = destination.string("namespace", default_namespace) or default_namespace
        if not resource:
            kubeconfig = destination.string("kubeconfig")
            context = destination.string("context")
        destination.finish()
    interval = node.duration("interval", 60.0, positive=True)
    jitter = node.duration("jitter", min(interval * 0.1, 30.0))
    sync = _sync_options(
        node.child("sync"),
        default_namespace=namespace,
        prune=node.boolean("prune", False),
        ignore=node.strings("ignore"),
        applyset=node.string("applySet"),
        field_manager=field_manager,
    )
    self_heal = node.boolean("selfHeal", True)
    backoff = _backoff(node.child("retry"))
    decryption_node = node.child("decryption")
    if decryption_node is not None and resource:
        # Key files and variables are the agent's: an Application's author must not name them.
        raise node.error("not supported on an Application (sops uses the agent's own keys)", "decryption")
    decryption = _decryption(decryption_node)
    node.finish()
    return AppConfig(
        name=name,
        source=source,
        credentials=credentials,
        credentials_secret=secret,
        namespace=namespace,
        kubeconfig=kubeconfig,
        context=context,
        interval=interval,
        jitter=jitter,
        self_heal=self_heal,
        sync=sync,
        backoff=backoff,
        decryption=decryption,
    )


def _decryption(node: _Node | None) -> Decryption:
    """``decryption: {ageKeyFile: PATH}`` or ``decryption: {ageKey: {env: VAR} | {file: PATH}}``."""
    if node is None:
        return Decryption()
    decryption = Decryption(age_key_file=node.file_path("ageKeyFile"), age_key=node.secret("ageKey"))
    node.finish()
    if (decryption.age_key_file is None) == (decryption.age_key is None):
        raise node.error("set exactly one of ageKeyFile or ageKey")
    return decryption


def _source(node: _Node, *, resource: bool = False) -> tuple[SourceSpec, GitCredentials, str | None]:
    url = node.string("url", required=True)
    revision = node.string("revision")
    path = (node.string("path", "") or "").strip("/")
    if ".." in Path(path).parts:
        raise node.error("must stay inside the repository (no '..')", "path")
    credentials, secret = GitCredentials(), None
    creds = node.child("credentials")
    if creds is not None and resource:
        ref = creds.child("secretRef")
        if ref is None:
            raise creds.error("required", "secretRef")
        secret = ref.string("name", required=True)
        ref.finish()
        creds.finish()
    elif creds is not None:
        credentials = GitCredentials(
            username=creds.string("username"),
            token=creds.secret("token"),
            ssh_key_file=creds.file_path("sshKeyFile"),
            known_hosts_file=creds.file_path("knownHostsFile"),
        )
        creds.finish()
    node.finish()
    return SourceSpec(location=str(url), revision=revision, path=path), credentials, secret


_SYNC_FIELDS: dict[str, tuple[str, Callable[[_Node, str, Any], Any]]] = {
    "allowEmpty": ("allow_empty", lambda n, k, d: n.boolean(k, d)),
    "maxPrune": ("max_prune", lambda n, k, d: n.number(k, d)),
    "confirmPrune": ("confirm_prune", lambda n, k, d: n.boolean(k, d)),
    "forceConflicts": ("force_conflicts", lambda n, k, d: n.boolean(k, d)),
    "adopt": ("adopt", lambda n, k, d: n.boolean(k, d)),
    "replaceImmutable": ("replace_immutable", lambda n, k, d: n.boolean(k, d)),
    "wait": ("wait", lambda n, k, d: n.boolean(k, d)),
    "timeout": ("timeout", lambda n, k, d: n.duration(k, d, positive=True)),
    "concurrency": ("concurrency", lambda n, k, d: n.number(k, d, minimum=1)),
}


def _sync_options(node: _Node | None, **fixed: Any) -> SyncOptions:
    defaults = SyncOptions()
    values: dict[str, Any] = {}
    if node is not None:
        for key, (attribute, read) in _SYNC_FIELDS.items():
            values[attribute] = read(node, key, getattr(defaults, attribute))
        node.finish()
    return SyncOptions(dry_run=False, **values, **fixed)


def _backoff(node: _Node | None) -> Backoff:
    if node is None:
        return Backoff()
    defaults = Backoff()
    backoff = Backoff(
        initial=node.duration("initial", defaults.initial, positive=True),
        maximum=node.duration("max", defaults.maximum, positive=True),
    )
    node.finish()
    if backoff.maximum < backoff.initial:
        raise node.error("must not be less than initial", "max")
    return backoff


def _reject_duplicates(root: _Node, applications: tuple[AppConfig, ...]) -> None:
    seen: set[str] = set()
    for index, app in enumerate(applications):
        if app.name in seen:
            raise root.error(f"duplicate application name {app.name!r}", f"applications[{index}].name")
        seen.add(app.name)
