"""Helpers for integration tests: run the CLI, write manifests, read the cluster with the official client."""

from __future__ import annotations

import contextlib
import json
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gitops.cli import cli as gitops_cli
from gitops.errors import GitopsError


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.out)

    def entries(self) -> dict[str, dict[str, Any]]:
        """``{"Kind name": entry}`` from a ``-o json`` run."""
        return {f"{e['ref']['kind']} {e['ref']['name']}": e for e in self.json()["entries"]}


def run_cli(*args: str) -> Run:
    """Run `gitops ARGS` in-process, with the exit code and stderr line main() would give."""
    result = CliRunner().invoke(gitops_cli, list(args))
    code, err = result.exit_code, result.stderr
    if isinstance(result.exception, GitopsError):
        code, err = result.exception.exit_code, f"error: {result.exception}\n"
    elif result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(code=code, out=result.stdout, err=err)


@pytest.fixture
def gitops(cluster: Any, namespace: str) -> Callable[..., Run]:
    """``gitops(command, source, *flags)`` against the test cluster, in the test's namespace and ApplySet."""

    def invoke(command: str, *args: str, applyset: str = "app") -> Run:
        cluster_args = ["--kubeconfig", str(cluster.kubeconfig), "--namespace", namespace, "--applyset", applyset]
        return run_cli(command, *args, *cluster_args)

    return invoke


@dataclass
class Repo:
    root: Path

    def write(self, files: dict[str, str]) -> Path:
        for relative, text in files.items():
            path = self.root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"))
        return self.root

    def remove(self, *relatives: str) -> None:
        for relative in relatives:
            (self.root / relative).unlink()

    def __str__(self) -> str:
        return str(self.root)


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[[str], Repo]:
    """``make_repo(name)``: another empty manifest directory."""

    def make(name: str) -> Repo:
        root = tmp_path / name
        root.mkdir()
        return Repo(root)

    return make


@pytest.fixture
def repo(make_repo: Callable[[str], Repo]) -> Repo:
    return make_repo("repo")


@pytest.fixture
def cli() -> Callable[..., Run]:
    """``cli(*args)``: the CLI without any cluster flags added."""
    return run_cli


class Kube:
    """Reads and writes the cluster as other tools would (official client, other field managers)."""

    def __init__(self, dynamic: Any) -> None:
        self.dynamic = dynamic

    def resource(self, api_version: str, kind: str) -> Any:
        return self.dynamic.resources.get(api_version=api_version, kind=kind)

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        from kubernetes.dynamic.exceptions import NotFoundError

        try:
            return self.resource(api_version, kind).get(name=name, namespace=namespace).to_dict()
        except NotFoundError:
            return None

    def edit(self, api_version: str, kind: str, name: str, namespace: str | None, patch: dict[str, Any],
             manager: str = "kubectl-edit") -> None:
        """An imperative change (an Update operation), as `kubectl edit` makes it."""
        self.resource(api_version, kind).patch(
            body=patch, name=name, namespace=namespace, content_type="application/merge-patch+json",
            field_manager=manager,
        )

    def apply(self, obj: dict[str, Any], manager: str, force: bool = True) -> None:
        """A declarative change by another tool (an Apply operation)."""
        metadata = obj["metadata"]
        self.resource(obj["apiVersion"], obj["kind"]).server_side_apply(
            body=obj, name=metadata["name"], namespace=metadata.get("namespace"), field_manager=manager,
            force_conflicts=force,
        )

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> None:
        from kubernetes.dynamic.exceptions import NotFoundError

        with contextlib.suppress(NotFoundError):
            self.resource(api_version, kind).delete(name=name, namespace=namespace)


@pytest.fixture(scope="session")
def kube(cluster: Any) -> Iterator[Kube]:
    yield Kube(cluster.dynamic())


@pytest.fixture
def crd(kube, namespace):
    """A CRD manifest for a group unique to the test; the CRD is deleted afterwards."""
    group = f"{namespace}.example.com"
    yield group, f"""
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: widgets.{group}
        spec:
          group: {group}
          scope: Namespaced
          names: {{plural: widgets, singular: widget, kind: Widget}}
          versions:
          - name: v1
            served: true
            storage: true
            schema:
              openAPIV3Schema:
                type: object
                x-kubernetes-preserve-unknown-fields: true
    """
    kube.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"widgets.{group}")
