"""Layer contracts: only one module talks to the Kubernetes API, only one runs git, and the pure stages
(planning, diffing, health, reports, rendering) do no I/O of their own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gitops"

ONLY_IMPORTED_BY = {
    "kubernetes": {"cluster.py"},
    "git": {"source/git.py"},
}
PURE = [
    "objects.py", "changeset.py", "diff.py", "plan.py", "health.py", "report", "quantity.py",
    # The agent's decisions: their Kubernetes requests go through an injected API object.
    "agent/application.py", "agent/appstatus.py", "agent/shards.py", "agent/leader.py", "agent/state.py",
]
IO_MODULES = {"kubernetes", "git", "subprocess", "socket", "urllib", "http", "requests", "urllib3", "gitops.cluster"}


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def top(module: str) -> str:
    return module.split(".")[0]


def python_files(*relatives: str) -> list[Path]:
    files: list[Path] = []
    for relative in relatives:
        target = PACKAGE / relative
        files += sorted(target.rglob("*.py")) if target.is_dir() else [target] if target.exists() else []
    return files


@pytest.mark.parametrize("library", sorted(ONLY_IMPORTED_BY))
def test_one_module_owns_each_external_boundary(library: str) -> None:
    importers = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if not path.relative_to(PACKAGE).as_posix().startswith("sandbox/")
        and library in {top(module) for module in imported_modules(path)}
    }
    assert importers <= ONLY_IMPORTED_BY[library]


def test_pure_stages_do_no_io() -> None:
    offenders = {
        path.relative_to(PACKAGE).as_posix(): sorted(
            module for module in imported_modules(path) if module in IO_MODULES or top(module) in IO_MODULES
        )
        for path in python_files(*PURE)
    }
    assert {name: modules for name, modules in offenders.items() if modules} == {}


def test_the_sandbox_is_not_built_on_the_engine() -> None:
    """The sandbox stands in for a real API server: it must not share the code it is testing."""
    engine_side = {"gitops.cluster", "gitops.engine", "gitops.diff", "gitops.plan", "gitops.apply", "gitops.health"}
    for path in python_files("sandbox"):
        assert not imported_modules(path) & engine_side, path
