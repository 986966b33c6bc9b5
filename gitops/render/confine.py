"""Keeping a Kustomize build inside its source: every file and directory a kustomization names,
followed through its bases and components, must resolve (symlinks included) inside the source root.

Kustomize itself restricts *files* to a kustomization's own tree, but a *directory* resource may be
anywhere (``../../elsewhere``) and remote bases (``https://``, ``git@``, ``file://...``) are fetched:
another application's clone in a shared cache, or any repository the machine can reach, could be
read into this render (the class of Flux's CVE-2022-24877). Checked before the build; pure of
anything but reading the kustomization files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

# A reference kustomize would fetch rather than read: a URL, scp-like git, or a host/path form
# (github.com/org/repo//dir?ref=v1) that is no local path.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^[^/@\s]+@[^/:\s]+:|^git::")
_HOST_PATH = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?/.+")


class Refused(Exception):
    """A reference leaves the source (or is remote and not allowed). The message is one line that
    names the kustomization file (relative to the root) and the reference."""


def check(directory: Path, root: Path, *, allow_remote: bool = False) -> None:
    """Raise Refused for the first reference of the kustomization in ``directory`` (or of a
    kustomization it reaches) that resolves outside ``root`` or is remote without ``allow_remote``."""
    root = root.resolve()
    seen: set[Path] = set()
    pending = [directory]
    while pending:
        current = pending.pop()
        real = current.resolve()
        if real in seen:
            continue
        seen.add(real)
        kustomization = _kustomization_file(current)
        if kustomization is None:
            continue
        for field, reference, is_dir_field in _references(_load(kustomization, root)):
            where = f"{_relative(kustomization, root)}: {field} {reference!r}"
            if _is_remote(reference, current):
                if allow_remote:
                    continue
                raise Refused(f"{where} is a remote base; refused: it leaves the source (--allow-remote-bases fetches it)")
            target = (current / reference).resolve()
            if target != root and root not in target.parents:
                raise Refused(f"{where} resolves outside the source (symlinks followed); refusing to build it")
            if is_dir_field and target.is_dir():
                pending.append(target)


def _kustomization_file(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def _load(path: Path, root: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise Refused(f"{_relative(path, root)}: cannot read it: {type(err).__name__}") from err
    return data if isinstance(data, dict) else {}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _references(data: dict[str, Any]) -> Iterator[tuple[str, str, bool]]:
    """``(field, reference, may be a kustomization directory)`` for every path the kustomization names."""
    for field in ("resources", "bases", "components"):
        for reference in _strings(data.get(field)):
            yield field, reference, True
    for field in ("crds", "configurations", "transformers", "generators", "validators"):
        for reference in _strings(data.get(field)):
            if "\n" not in reference:  # inline configurations are YAML, not paths
                yield field, reference, field in ("transformers", "generators", "validators")
    for reference in _strings(data.get("patchesStrategicMerge")):
        if "\n" not in reference:  # an inline patch
            yield "patchesStrategicMerge", reference, False
    for field in ("patches", "patchesJson6902", "replacements"):
        for item in data.get(field) or []:
            if isinstance(item, dict) and isinstance(item.get("path"), str):
                yield field, item["path"], False
    for field in ("configMapGenerator", "secretGenerator"):
        for item in data.get(field) or []:
            if not isinstance(item, dict):
                continue
            for entry in _strings(item.get("files")):
                yield f"{field} files", entry.split("=", 1)[-1], False
            for entry in [*_strings(item.get("envs")), *_strings(item.get("env"))]:
                yield f"{field} envs", entry, False
    openapi = data.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        yield "openapi", openapi["path"], False
    globals_ = data.get("helmGlobals")
    if isinstance(globals_, dict) and isinstance(globals_.get("chartHome"), str):
        yield "helmGlobals chartHome", globals_["chartHome"], False
    for chart in data.get("helmCharts") or []:
        if not isinstance(chart, dict):
            continue
        for key in ("valuesFile", "additionalValuesFiles"):
            for reference in _strings(chart.get(key)):
                yield f"helmCharts {key}", reference, False
        if isinstance(chart.get("repo"), str) and chart["repo"]:
            yield "helmCharts repo", chart["repo"], False


def _is_remote(reference: str, base: Path) -> bool:
    if _URL.match(reference):
        return True
    return bool(_HOST_PATH.match(reference)) and not (base / reference).exists()


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)
