"""Layer contracts: only one module talks to the Kubernetes API, only one runs git, and the pure stages
(planning, diffing, health, reports, rendering) do no I/O of their own. Helm's engine is behind one
module too, and so is the sops binary (decrypted values must stay in memory: one place to review)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gitops"

ONLY_IMPORTED_BY = {
    "kubernetes": {"cluster.py"},
    "git": {"source/git.py"},
    "jinja2": {"agent/dashboard/server.py"},
    "helm_python": {"render/helm.py"},
}
PURE = [
    "options.py", "objects.py", "changeset.py", "diff.py", "masking.py", "limits.py", "plan.py", "ownership.py",
    "health.py", "report", "quantity.py", "render/confine.py", "agent/dashboard/model.py", "agent/dashboard/views.py",
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
    """The sandbox stands in for a real API server: it must not share the code it is testing
    (its validation, defaulting and quantities are its own); only the error base class is shared."""
    shared = {"gitops.errors"}
    for path in python_files("sandbox"):
        product = {
            module
            for module in imported_modules(path)
            if top(module) == "gitops" and not module.startswith("gitops.sandbox") and module not in shared
        }
        assert not product, (path, product)


STAGES = ["options", "objects", "changeset", "errors", "masking", "limits", "diff", "plan", "ownership", "observe",
          "apply", "inventory", "health", "cluster", "engine"]


def stage_imports(stage: str) -> set[str]:
    """The other stages a stage module imports (at module level or inside functions)."""
    found = set()
    for module in imported_modules(PACKAGE / f"{stage}.py"):
        parts = module.split(".")
        if parts[0] == "gitops" and len(parts) > 1 and parts[1] in STAGES and parts[1] != stage:
            found.add(parts[1])
    return found


def test_stages_import_each_other_without_a_circle() -> None:
    graph = {stage: stage_imports(stage) for stage in STAGES}

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        return any(nxt == target or reaches(nxt, target, seen | {nxt}) for nxt in graph[start] - seen)

    assert [stage for stage in STAGES if reaches(stage, stage, set())] == []


def test_only_the_front_ends_call_the_engine() -> None:
    """The engine sequences the stages; no stage reaches back into it."""
    callers = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if "gitops.engine" in imported_modules(path)
        or any(isinstance(node, ast.ImportFrom) and node.module == "gitops" and any(a.name == "engine" for a in node.names)
               for node in ast.walk(ast.parse(path.read_text())))
    }
    assert {path.split("/")[0] for path in callers} <= {"cli", "agent", "action", "__main__.py"}


def test_only_the_sops_module_runs_sops() -> None:
    runners = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if '"sops"' in path.read_text() and "subprocess" in imported_modules(path)
    }
    assert runners == {"render/sops.py"}
