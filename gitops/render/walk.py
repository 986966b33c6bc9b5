"""Finding what to render under a directory: manifest files, Helm charts and kustomization directories.

Reads the directory tree only (names, symlinks, ``.gitopsignore`` files); never file contents.
Order is deterministic: sorted POSIX paths.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from gitops.errors import Problem
from gitops.objects import Origin
from gitops.render.helm import is_chart

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
IGNORE_FILE = ".gitopsignore"


@dataclass(frozen=True)
class Unit:
    """One thing to render: a manifest file, a Helm chart, or a directory built with kustomize."""

    path: Path
    relative: str
    """POSIX path relative to the repository root (``.`` for the root itself)."""
    kustomization: bool = False
    chart: bool = False
    """A Helm chart directory (holds ``Chart.yaml``); wins over a kustomization, as in Argo CD."""


@dataclass
class Walk:
    units: list[Unit] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class _IgnoreFile:
    base: Path
    spec: pathspec.GitIgnoreSpec


def relative_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).as_posix()
    return rel or "."


def is_kustomization(directory: Path) -> bool:
    return any((directory / name).is_file() for name in KUSTOMIZATION_FILES)


def find_units(directory: Path, root: Path) -> Walk:
    """Every manifest file and kustomization under ``directory``; ``root`` bounds symlinks.

    ``directory`` and ``root`` must be absolute and resolved.
    """
    walk = Walk()
    ignores = _ancestor_ignores(directory, root)
    _visit(directory, root, ignores, walk, visited=set())
    walk.units.sort(key=lambda unit: unit.relative)
    return walk


def _ancestor_ignores(directory: Path, root: Path) -> list[_IgnoreFile]:
    """``.gitopsignore`` files between the repository root and the rendered directory (exclusive)."""
    ignores: list[_IgnoreFile] = []
    if directory == root or root not in directory.parents:
        return ignores
    parents = [p for p in reversed(directory.parents) if p == root or root in p.parents]
    for parent in parents:
        ignore = _read_ignore(parent)
        if ignore is not None:
            ignores.append(ignore)
    return ignores


def _read_ignore(directory: Path) -> _IgnoreFile | None:
    path = directory / IGNORE_FILE
    if not path.is_file():
        return None
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return _IgnoreFile(directory, pathspec.GitIgnoreSpec.from_lines(lines))


def _ignored(path: Path, is_dir: bool, ignores: list[_IgnoreFile]) -> bool:
    """gitignore semantics: the deepest file with a matching pattern decides; ``!pattern`` re-includes."""
    decision = False
    for ignore in ignores:
        relative = path.relative_to(ignore.base).as_posix() + ("/" if is_dir else "")
        result = ignore.spec.check_file(relative)
        if result.include is not None:
            decision = result.include
    return decision


def _visit(directory: Path, root: Path, ignores: list[_IgnoreFile], walk: Walk, visited: set[Path]) -> None:
    real = directory.resolve()
    if real in visited:  # a symlink cycle inside the repository
        return
    visited.add(real)
    if is_chart(directory):
        walk.units.append(Unit(directory, relative_name(directory, root), chart=True))
        return
    if is_kustomization(directory):
        walk.units.append(Unit(directory, relative_name(directory, root), kustomization=True))
        return
    own = _read_ignore(directory)
    ignores = [*ignores, own] if own is not None else ignores
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if entry.is_symlink() and not _inside(path, root, walk):
            continue
        if entry.is_dir():
            if not _ignored(path, True, ignores):
                _visit(path, root, ignores, walk, visited)
        elif entry.is_file() and path.suffix in MANIFEST_SUFFIXES and not _ignored(path, False, ignores):
            walk.units.append(Unit(path, relative_name(path, root)))


def _inside(link: Path, root: Path, walk: Walk) -> bool:
    try:
        target = link.resolve()
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13)
        walk.problems.append(Problem("symlink loop; refusing to read it", origin=Origin(relative_name(link, root))))
        return False
    if target == root or root in target.parents:
        return True
    walk.problems.append(
        Problem(
            f"symlink points outside the repository (to {os.readlink(link)}); refusing to read it",
            origin=Origin(relative_name(link, root)),
        )
    )
    return False
