"""Helpers for the agent tests: a local Git repository, polling, reading the cluster as a user would."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from gitops.agent import Agent

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
    "PATH": "/usr/bin:/bin:/usr/local/bin",
}


AgentFactory = Callable[..., Agent]


class GitRepo:
    """A bare repository served over file:// and a work tree to commit to it."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "repo.git"
        self.work = root / "work"
        self._git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(self.bare))
        self._git(root, "init", "--quiet", "--initial-branch=main", str(self.work))
        self._git(self.work, "remote", "add", "origin", self.url)

    @property
    def url(self) -> str:
        return f"file://{self.bare}"

    def commit(self, files: dict[str, str | None], message: str = "change") -> str:
        """Write (or with ``None`` delete) files, commit and push; returns the commit SHA."""
        for name, text in files.items():
            path = self.work / name
            if text is None:
                path.unlink()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        self._git(self.work, "add", "--all")
        self._git(self.work, "commit", "--quiet", "--allow-empty", "-m", message)
        self._git(self.work, "push", "--quiet", "origin", "main")
        return self._git(self.work, "rev-parse", "HEAD").strip()

    @staticmethod
    def _git(cwd: Path, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True
        ).stdout


def configmap(name: str, namespace: str, **data: str) -> str:
    return yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": data}
    )


def eventually(condition: Callable[[], Any], timeout: float = 60.0, interval: float = 0.1) -> Any:
    """Poll until ``condition()`` is truthy; returns its last value (falsy on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


class Live:
    """Reads the cluster as a user would, through the fixture's dynamic client."""

    def __init__(self, dynamic: Any, namespace: str) -> None:
        self.namespace = namespace
        self.configmaps = dynamic.resources.get(api_version="v1", kind="ConfigMap")
        self.events = dynamic.resources.get(api_version="v1", kind="Event")
        self.leases = dynamic.resources.get(api_version="coordination.k8s.io/v1", kind="Lease")

    def configmap(self, name: str) -> dict[str, Any] | None:
        from kubernetes.dynamic.exceptions import NotFoundError

        try:
            return self.configmaps.get(name=name, namespace=self.namespace).to_dict()
        except NotFoundError:
            return None

    def data(self, name: str) -> dict[str, str]:
        return (self.configmap(name) or {}).get("data") or {}

    def status(self, app: str) -> dict[str, str]:
        return self.data(f"gitops-status-{app}")

    def event_reasons(self, app: str) -> list[str]:
        items = self.events.get(namespace=self.namespace).to_dict().get("items") or []
        return [
            event["reason"] for event in items
            if (event.get("involvedObject") or {}).get("name") == f"gitops-status-{app}"
        ]

    def lease(self, name: str) -> dict[str, Any] | None:
        from kubernetes.dynamic.exceptions import NotFoundError

        try:
            return self.leases.get(name=name, namespace=self.namespace).to_dict()
        except NotFoundError:
            return None


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def push_payload(repo: GitRepo, sha: str) -> bytes:
    return json.dumps({
        "ref": "refs/heads/main", "after": sha,
        "repository": {"clone_url": repo.url, "default_branch": "main"},
    }).encode()


def sample(exposition: bytes | str, name: str, **labels: Any) -> float | None:
    """The value of one sample in a text exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    text = exposition.decode() if isinstance(exposition, bytes) else exposition
    wanted = {key: str(value) for key, value in labels.items()}
    for family in text_string_to_metric_families(text):
        for metric_sample in family.samples:
            if metric_sample.name == name and all(metric_sample.labels.get(k) == v for k, v in wanted.items()):
                return metric_sample.value
    return None
