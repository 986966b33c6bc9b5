"""Rendering: a directory of manifests becomes a validated list of desired objects, each with its origin.

    find_units (walk)     YAML/JSON files, Helm charts and kustomization directories, sorted, .gitopsignore applied
    load (yaml_loader)    strict YAML: duplicate keys, aliases, size limit; kind: List flattened
    build (kustomize)     `kustomize build` or `kubectl kustomize` for kustomization directories
    render_chart (helm)   `helm template` with Helm's own engine (the optional extra gitops[helm])
    Vault (sops)          SOPS-encrypted values decrypted in memory (the sops binary, gitops[sops])
    validate              names, namespaces, labels, data types, duplicates: every problem at once

Pure of cluster access: no Kubernetes client here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gitops.errors import Problem, RenderError
from gitops.objects import Manifest, Origin
from gitops.render import helm, kustomize, sops
from gitops.render.validate import is_cluster_scoped, type_name, validate
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
    """Directories searched for ``kustomize``, ``kubectl`` and ``sops``; ``None``: PATH, then the running Python's directory."""
    namespace: str = "default"
    """Release namespace of Helm charts (``--namespace``), unless their ``gitops-release.yaml`` sets one."""
    allow_remote_charts: bool = False
    """Fetch chart dependencies missing from ``charts/`` (repositories, OCI, ``file://``) instead of refusing."""
    sops_env: Mapping[str, str] = field(default_factory=dict)
    """Added to sops' environment: ``SOPS_AGE_KEY_FILE`` or ``SOPS_AGE_KEY`` (an agent application's key)."""
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
    search_path = options.search_path if options.search_path is not None else kustomize.default_search_path()
    vault = sops.Vault(root, search_path, env=options.sops_env, max_file_bytes=options.max_file_bytes)
    for unit in walk.units:
        loaded, unit_problems = _render_unit(unit, _Context(options, vault, root, search_path))
        manifests.extend(loaded)
        problems.extend(unit_problems)
    problems.extend(validate(manifests))
    if problems:
        sensitive = set().union(*(m.sensitive for m in manifests))
        unique = list(dict.fromkeys(_scrubbed(p, sensitive) for p in problems))
        raise RenderError(sorted(unique, key=_problem_order))
    return manifests


@dataclass(frozen=True)
class _Context:
    options: RenderOptions
    vault: sops.Vault
    root: Path
    search_path: tuple[str, ...]


def _scrubbed(problem: Problem, sensitive: set[str]) -> Problem:
    message = problem.message
    for value in sorted(sensitive, key=len, reverse=True):
        if len(value) >= 4:
            message = message.replace(value, "***")
    return problem if message == problem.message else replace(problem, message=message)


def _problem_order(problem: Problem) -> tuple[str, int, int]:
    """File by file, top to bottom (a stable sort keeps the order of problems at the same place)."""
    origin = problem.origin
    return ("", 0, 0) if origin is None else (origin.file, origin.document, origin.line or 0)


def _display(path: Path, root: Path) -> str:
    try:
        return relative_name(path, root)
    except ValueError:
        return str(path)


def _render_unit(unit: Unit, context: _Context) -> tuple[list[Manifest], list[Problem]]:
    if unit.chart:
        return _render_chart(unit, context)
    if unit.kustomization:
        return _render_kustomization(unit, context)
    return _render_file(unit, context)


def _render_kustomization(unit: Unit, context: _Context) -> tuple[list[Manifest], list[Problem]]:
    options = context.options
    try:
        stream = kustomize.build(unit.path, search_path=context.search_path, timeout=options.kustomize_timeout,
                                 root=context.root, allow_remote=options.allow_remote_bases)
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
            manifest, reveal_problems = _reveal(Manifest(obj, origin), context.vault)
            manifests.extend(manifest)
            problems.extend(reveal_problems)
        else:
            problems.append(Problem("kustomize printed something that is not an object", origin=origin))
    return manifests, problems


def _reveal(manifest: Manifest, vault: sops.Vault) -> tuple[list[Manifest], list[Problem]]:
    """The built object with its SOPS ciphertexts replaced by plaintext (looked up in the repository's
    encrypted files), or the problems: each encrypted file that cannot be decrypted, by name."""
    if not sops.is_encrypted(manifest.obj) and not sops.has_ciphertext(manifest.obj):
        return [manifest], []
    obj, sensitive, failures = vault.reveal(manifest.obj)
    if failures:
        return [], [Problem(f"SOPS-encrypted file: {reason}", origin=Origin(file)) for file, reason in failures]
    if sops.has_ciphertext(obj):
        return [], [
            Problem(
                "holds SOPS-encrypted values that no encrypted file in the repository matches "
                "(was the file re-encrypted without rendering again, or is it outside the repository?)",
                origin=manifest.origin,
                ref=manifest.ref,
            )
        ]
    return [Manifest(obj, manifest.origin, frozenset(sensitive | manifest.sensitive))], []


def _render_chart(unit: Unit, context: _Context) -> tuple[list[Manifest], list[Problem]]:
    base = "" if unit.relative == "." else f"{unit.relative}/"
    release_origin = Origin(f"{base}{helm.RELEASE_FILE}")
    release_data = None
    release_path = unit.path / helm.RELEASE_FILE
    if release_path.is_file():
        try:
            documents, duplicates = load_documents(release_path.read_text(encoding="utf-8-sig"))
        except (YamlRefused, UnicodeDecodeError) as err:
            message = err.message if isinstance(err, YamlRefused) else "not UTF-8 text"
            return [], [Problem(message, origin=release_origin)]
        if duplicates:
            return [], [Problem(d.message, origin=replace(release_origin, line=d.line)) for d in duplicates]
        release_data = next((d.data for d in documents if d.data is not None), None)
    try:
        release = helm.parse_release(
            release_data, default_name=unit.path.name, default_namespace=context.options.namespace
        )
    except ValueError as err:
        return [], [Problem(str(err), origin=release_origin)]
    outside = helm.links_outside(unit.path, context.root)
    if outside:
        return [], [
            Problem("symlink points outside the repository; refusing to render the chart",
                    origin=Origin(relative_name(link, context.root)))
            for link in outside
        ]
    values, sensitive, problems = _chart_values(unit, release, context, base)
    if problems:
        return [], problems
    try:
        templates = helm.render_chart(
            unit.path, release, values, root=context.root, allow_remote=context.options.allow_remote_charts
        )
    except helm.ChartFailed as err:
        where = Origin(f"{base}{err.template}", line=err.line) if err.template else Origin(unit.relative)
        return [], [Problem(err.message, origin=where)]
    manifests: list[Manifest] = []
    for template in templates:
        template_file = f"{base}{template.path}"
        try:
            documents, duplicates = load_documents(template.text)
        except YamlRefused as err:
            problems.append(Problem(f"rendered template: {err.message}", origin=Origin(template_file, line=err.line)))
            continue
        problems.extend(Problem(d.message, origin=Origin(template_file, line=d.line)) for d in duplicates)
        for document in documents:
            if document.data is None:
                continue
            for obj, line in _flatten(document):
                origin = Origin(template_file, document=document.index, line=line)
                if not isinstance(obj, dict):
                    problems.append(Problem(f"expected an object (a mapping), found a {type_name(obj)}", origin=origin))
                    continue
                if helm.is_test_hook(obj):
                    continue
                _default_namespace(obj, release.namespace)
                revealed, reveal_problems = _reveal(Manifest(obj, origin, frozenset(sensitive)), context.vault)
                manifests.extend(revealed)
                problems.extend(reveal_problems)
    return manifests, problems


def _chart_values(
    unit: Unit, release: helm.Release, context: _Context, base: str
) -> tuple[dict[str, Any], set[str], list[Problem]]:
    """The values the release overrides: encrypted ``values.yaml`` (decrypted), ``valuesFiles``, inline ``values``."""
    files = list(release.values_files)
    own = unit.path / "values.yaml"
    if own.is_file() and "sops" in own.read_text(encoding="utf-8", errors="replace"):
        files.insert(0, "values.yaml")  # an encrypted values.yaml: the engine would read ciphertext
    values: dict[str, Any] = {}
    sensitive: set[str] = set()
    problems: list[Problem] = []
    for name in files:
        path = (unit.path / name).resolve()
        display = f"{base}{name}"
        if path != context.root and context.root not in path.parents:
            problems.append(Problem("values file is outside the repository", origin=Origin(display)))
            continue
        if not path.is_file():
            problems.append(Problem(f"values file not found (listed in {helm.RELEASE_FILE})", origin=Origin(display)))
            continue
        display = relative_name(path, context.root)
        try:
            text = path.read_bytes().decode("utf-8-sig")
            documents, duplicates = load_documents(text)
        except UnicodeDecodeError:
            problems.append(Problem("not UTF-8 text", origin=Origin(display)))
            continue
        except YamlRefused as err:
            problems.append(Problem(err.message, origin=Origin(display, line=err.line)))
            continue
        problems.extend(Problem(d.message, origin=Origin(display, line=d.line)) for d in duplicates)
        data = next((d.data for d in documents if d.data is not None), None)
        if sops.is_encrypted(data):
            try:
                decrypted = context.vault.decrypt_file(path, text)
            except sops.DecryptFailed as err:
                problems.append(Problem(f"SOPS-encrypted file: {err}", origin=Origin(display)))
                continue
            data = decrypted.documents[0] if decrypted.documents else None
            sensitive |= sops.sensitive_strings(decrypted.plaintext.values())
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(Problem(f"values must be a mapping, found a {type_name(data)}", origin=Origin(display)))
            continue
        values = helm.merge_values(values, data)
    return helm.merge_values(values, release.values), sensitive, problems


def _default_namespace(obj: dict[str, Any], namespace: str) -> None:
    """Objects a chart leaves without a namespace go to the release namespace, as ``helm install`` puts them
    (built-in cluster-scoped kinds excepted; the engine drops it from other cluster-scoped kinds)."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("namespace"):
        return
    if not is_cluster_scoped(Manifest(obj, Origin("")).ref):
        metadata["namespace"] = namespace


def _render_file(unit: Unit, context: _Context) -> tuple[list[Manifest], list[Problem]]:
    options = context.options
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
    plaintext: dict[str, Any] = {}
    if any(sops.is_encrypted(document.data) for document in documents):
        try:
            plaintext = context.vault.decrypt_file(unit.path, text).plaintext
        except sops.DecryptFailed as err:
            return [], [problem(f"SOPS-encrypted file: {err}")]
    manifests: list[Manifest] = []
    for document in documents:
        if document.data is None:
            continue
        sensitive: set[str] = set()
        if plaintext:
            document.data, sensitive = context.vault.substitute(document.data, plaintext)
        for obj, line in _flatten(document):
            origin = Origin(unit.relative, document=document.index, line=line)
            if isinstance(obj, dict):
                manifests.append(Manifest(obj, origin, frozenset(sensitive)))
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
