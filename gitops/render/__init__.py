"""Rendering: a directory of manifests becomes a validated list of desired objects, each with its origin.

    find_units (walk)     YAML/JSON files and kustomization directories, sorted, .gitopsignore applied
    load (yaml_loader)    strict YAML: duplicate keys, aliases, size limit; kind: List flattened
    build (kustomize)     `kustomize build` or `kubectl kustomize` for kustomization directories
    validate              names, namespaces, labels, data types, duplicates: every problem at once

Pure of cluster access: no Kubernetes client here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops.errors import Problem, RenderError
from gitops.objects import Manifest, Origin
from gitops.render import kustomize
from gitops.render.validate import type_name, validate
from gitops.render.walk import Unit, find_units, relative_name
from gitops.render.yaml_loader import (
    MAX_DEPTH,
    Document,
    YamlProblem,
    YamlRefused,
    item_lines,
    load_documents,
)

__all__ = ["RenderError", "RenderOptions", "render"]

MiB = 1024 * 1024


@dataclass(frozen=True)
class RenderOptions:
    """How to render a directory."""

    max_file_bytes: int = 4 * MiB
    """Manifest files larger than this are refused."""
    kustomize_timeout: float = 120.0
    """Seconds one ``kustomize build`` may take."""
    search_path: tuple[str, ...] | None = None
    """Directories searched for ``kustomize`` and ``kubectl``; ``None``: PATH, then the running Python's directory."""
    allow_remote_bases: bool = False
    """Let kustomizations fetch remote bases (URLs); by default every reference must stay inside the source root."""


def render(
    directory: Path, *, root: Path | None = None, options: RenderOptions | None = None
) -> list[Manifest]:
    """The desired objects under ``directory``, in a deterministic order.

    ``root`` is the repository root (default: ``directory``): origins are relative to it and
    symlinks may not leave it. Raises RenderError with every problem found.
    """
    options = options or RenderOptions()
    root = Path(root if root is not None else directory).resolve()
    lexical = Path(directory).absolute()
    directory = lexical.resolve()
    if not directory.is_dir():
        raise RenderError([Problem("no such directory to render", origin=Origin(_display(lexical, root)))])
    if directory != root and root not in directory.parents:
        raise RenderError(
            [
                Problem(
                    "the directory to render is outside the repository (symlink?)",
                    origin=Origin(str(lexical)),
                )
            ]
        )
    walk = find_units(directory, root)
    problems = list(walk.problems)
    manifests: list[Manifest] = []
    for unit in walk.units:
        loaded, unit_problems = _render_unit(unit, options, root)
        manifests.extend(loaded)
        problems.extend(unit_problems)
    problems.extend(validate(manifests))
    if problems:
        raise RenderError(sorted(problems, key=_problem_order))
    return manifests


def _problem_order(problem: Problem) -> tuple[str, int, int]:
    """File by file, top to bottom (a stable sort keeps the order of problems at the same place)."""
    origin = problem.origin
    return ("", 0, 0) if origin is None else (origin.file, origin.document, origin.line or 0)


def _display(path: Path, root: Path) -> str:
    try:
        return relative_name(path, root)
    except ValueError:
        return str(path)


def _render_unit(unit: Unit, options: RenderOptions, root: Path) -> tuple[list[Manifest], list[Problem]]:
    if unit.kustomization:
        return _render_kustomization(unit, options, root)
    return _render_file(unit, options)


def _render_kustomization(unit: Unit, options: RenderOptions, root: Path) -> tuple[list[Manifest], list[Problem]]:
    search_path = options.search_path if options.search_path is not None else kustomize.default_search_path()
    try:
        stream = kustomize.build(unit.path, search_path=search_path, timeout=options.kustomize_timeout, root=root,
                                 allow_remote=options.allow_remote_bases)
    except kustomize.KustomizeFailed as err:
        return [], [Problem(f"kustomization: {err}", origin=Origin(unit.relative))]
    try:
        documents, _ = load_documents(stream)
    except YamlRefused as err:
        return [], [Problem(f"kustomize output: {err.message}", origin=Origin(unit.relative))]
    objects = [obj for document in documents if document.data is not None for obj, _ in _flatten(document)]
    manifests: list[Manifest] = []
    problems: list[Problem] = []
    for index, obj in enumerate(objects):
        origin = Origin(unit.relative, document=index)
        if isinstance(obj, dict):
            manifests.append(Manifest(obj, origin))
        else:
            problems.append(Problem("kustomize printed something that is not an object", origin=origin))
    return manifests, problems


def _render_file(unit: Unit, options: RenderOptions) -> tuple[list[Manifest], list[Problem]]:
    def problem(message: str, line: int | None = None) -> Problem:
        return Problem(message, origin=Origin(unit.relative, line=line))

    size = unit.path.stat().st_size
    if size > options.max_file_bytes:
        return [], [
            problem(
                f"file is {size} bytes, over the limit of {options.max_file_bytes} bytes; refusing to read it"
            )
        ]
    try:
        text = unit.path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        return [], [problem(f"not UTF-8 text ({err.reason} at byte {err.start})")]
    try:
        documents, duplicates = _load(unit, text)
    except YamlRefused as err:
        return [], [problem(err.message, err.line)]
    problems = [problem(d.message, d.line) for d in duplicates]
    manifests: list[Manifest] = []
    for document in documents:
        if document.data is None:
            continue
        for obj, line in _flatten(document):
            origin = Origin(unit.relative, document=document.index, line=line)
            if isinstance(obj, dict):
                manifests.append(Manifest(obj, origin))
            else:
                problems.append(
                    Problem(f"expected an object (a mapping), found a {type_name(obj)}", origin=origin)
                )
    return manifests, problems


def _load(unit: Unit, text: str) -> tuple[list[Document], list[YamlProblem]]:
    if unit.path.suffix == ".json":
        return _load_json(text)
    return load_documents(text)


def _load_json(text: str) -> tuple[list[Document], list[YamlProblem]]:
    duplicates: list[YamlProblem] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                duplicates.append(YamlProblem(None, f"duplicate key {key!r}"))
            result[key] = value
        return result

    if not text.strip():
        return [], []
    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as err:
        raise YamlRefused(
            err.lineno, f"invalid JSON: {err.msg} (line {err.lineno} column {err.colno})"
        ) from err
    except RecursionError as err:
        raise YamlRefused(None, "nesting too deep; refusing to load it") from err
    if _deeper_than(data, MAX_DEPTH):
        raise YamlRefused(None, f"nesting deeper than {MAX_DEPTH} levels; refusing to load it")
    return [Document(index=0, line=1, data=data)], duplicates


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether mappings and lists nest deeper than ``limit`` (iteratively: validation recurses)."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return False


def _flatten(document: Document) -> Iterator[tuple[Any, int]]:
    """The document's object, or each item of a ``kind: List`` (or ``ConfigMapList`` ...), with its line."""
    data = document.data
    if _is_list(data):
        lines = item_lines(document.node)
        for index, item in enumerate(data["items"]):
            yield item, lines[index] if index < len(lines) else document.line
    else:
        yield data, document.line


def _is_list(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("kind"), str)
        and data["kind"].endswith("List")
        and isinstance(data.get("items"), list)
    )
