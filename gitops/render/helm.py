"""Rendering a Helm chart as ``helm template`` does, with Helm's own engine (``helm-python-sdk``).

The engine is Helm 4's Go SDK bound through ctypes (import name ``helm_python``), shipped as the
optional extra ``gitops[helm]``. Rendering is offline: dependencies must be vendored in ``charts/``.

A chart is a directory holding ``Chart.yaml``. Beside it, ``gitops-release.yaml`` may say how to
render it (field names after Flux's HelmRelease; Argo CD's ``source.helm`` in parentheses)::

    releaseName: web          # default: the directory's name (Argo CD: releaseName)
    targetNamespace: shop     # default: --namespace (Argo CD: destination.namespace)
    valuesFiles:              # merged in order over values.yaml, paths relative to the chart (valueFiles)
      - values-prod.yaml
      - secrets.enc.yaml      # may be SOPS-encrypted
    values:                   # inline values, merged last (valuesObject)
      replicas: 3
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

CHART_FILE = "Chart.yaml"
RELEASE_FILE = "gitops-release.yaml"
INSTALL_HINT = "pip install 'gitops[helm]'"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json", ".tpl")
TEST_HOOKS = ("test", "test-success", "test-failure")
RELEASE_FIELDS = ("releaseName", "targetNamespace", "valuesFiles", "values")

# "mychart/templates/x.yaml:6:15" or "(mychart/templates/x.yaml:5)" in Helm's template errors.
_TEMPLATE_POSITION = re.compile(r"(?P<path>[\w.@+-]+(?:/[\w.@+-]+)+):(?P<line>\d+)")


class ChartFailed(Exception):
    """The chart cannot be rendered. ``template`` and ``line`` locate it when Helm said where."""

    def __init__(self, message: str, *, template: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.template = template
        self.line = line


@dataclass(frozen=True)
class Release:
    """How one chart is rendered (from ``gitops-release.yaml`` and the defaults)."""

    name: str
    namespace: str
    values_files: tuple[str, ...] = ()
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Template:
    """One rendered template file."""

    path: str
    """Relative to the chart directory: ``templates/deploy.yaml``, ``charts/db/templates/sts.yaml``."""
    text: str


def is_chart(directory: Path) -> bool:
    return (directory / CHART_FILE).is_file()


def parse_release(data: Any, *, default_name: str, default_namespace: str) -> Release:
    """The release described by a loaded ``gitops-release.yaml`` (``None`` when absent). Raises ValueError."""
    if data is None:
        return Release(default_name, default_namespace)
    if not isinstance(data, dict):
        raise ValueError("must be a mapping of releaseName, targetNamespace, valuesFiles, values")
    unknown = sorted(set(data) - set(RELEASE_FIELDS))
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} (known: {', '.join(RELEASE_FIELDS)})")
    name = data.get("releaseName", default_name)
    namespace = data.get("targetNamespace", default_namespace)
    files = data.get("valuesFiles", [])
    values = data.get("values", {})
    for key, value in (("releaseName", name), ("targetNamespace", namespace)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{key} must be a non-empty string")
    if not isinstance(files, list) or not all(isinstance(f, str) and f for f in files):
        raise ValueError("valuesFiles must be a list of file paths")
    if not isinstance(values, dict):
        raise ValueError("values must be a mapping")
    return Release(name, namespace, tuple(files), values)


def merge_values(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's merging of ``-f`` files: mappings merge key by key, anything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = value
    return merged


def engine_available() -> bool:
    try:
        import helm_python  # noqa: F401
    except ImportError:
        return False
    return True


def render_chart(
    directory: Path, release: Release, values: dict[str, Any], *, root: Path, allow_remote: bool = False
) -> list[Template]:
    """The chart's rendered manifests (CRDs from ``crds/`` first, then templates in path order).

    ``values`` are merged over the chart's ``values.yaml`` by the engine. NOTES.txt, partials,
    templates that are not manifests and empty output are left out. Dependencies missing from
    ``charts/`` are refused, or with ``allow_remote`` fetched into a temporary copy of the chart
    (``file://`` ones must lie inside ``root``). Raises ChartFailed.
    """
    try:
        import helm_python as helm
    except ImportError as err:
        raise ChartFailed(f"rendering Helm charts needs the helm extra: {INSTALL_HINT}") from err
    try:
        with helm.Chart.load(directory) as chart:
            missing = _missing_dependencies(chart.metadata, chart.dependencies)
            if not missing:
                return _render(helm, chart, release, values)
        if not allow_remote:
            raise ChartFailed(_refusal(missing[0]))
        with tempfile.TemporaryDirectory(prefix="gitops-chart-") as scratch:
            copy = _copy_for_build(directory, root, missing, Path(scratch) / "tree")
            try:
                if (copy / "Chart.lock").is_file():
                    helm.dependency_build(copy)
                else:
                    helm.dependency_update(copy)
            except helm.HelmError as err:
                raise ChartFailed(f"fetching dependencies failed: {_one_line(str(err))}") from None
            with helm.Chart.load(copy) as chart:
                still = _missing_dependencies(chart.metadata, chart.dependencies)
                if still:
                    raise ChartFailed(f"dependency {still[0].get('name')!r} could not be fetched")
                return _render(helm, chart, release, values)
    except helm.HelmRenderError as err:
        raise _template_error(str(err)) from None
    except helm.HelmError as err:
        raise ChartFailed(_one_line(str(err))) from None


def links_outside(directory: Path, root: Path) -> list[Path]:
    """Symlinks in the chart that lead out of the repository (Helm's loader would follow them)."""
    outside = []
    for path in sorted(directory.rglob("*")):
        if path.is_symlink():
            target = path.resolve()
            if target != root and root not in target.parents:
                outside.append(path)
    return outside


def _render(helm: Any, chart: Any, release: Release, values: dict[str, Any]) -> list[Template]:
    crds = chart.crds
    rendered = chart.render(values, name=release.name, namespace=release.namespace, revision=1, is_install=True)
    templates = [Template(_chart_relative(crd.get("filename") or crd["name"]), crd["data"]) for crd in crds]
    for name in sorted(rendered):
        relative = _chart_relative(name)
        if _is_manifest(relative) and rendered[name].strip():
            templates.append(Template(relative, rendered[name]))
    return templates


def _missing_dependencies(metadata: dict[str, Any], loaded: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Declared dependencies absent from ``charts/`` (``helm template`` fails on them)."""
    present = {dep.get("name") for dep in loaded}
    return [
        dep for dep in metadata.get("dependencies") or []
        if dep.get("name") not in present and (dep.get("alias") or dep.get("name")) not in present
    ]


def _refusal(dep: dict[str, Any]) -> str:
    where = f" from {dep['repository']}" if dep.get("repository") else ""
    return (
        f"dependency {dep.get('name')!r}{where} is not vendored in charts/: gitops renders offline and does "
        "not fetch charts (run `helm dependency build` and commit charts/, or pass --allow-remote-charts)"
    )


def _copy_for_build(directory: Path, root: Path, missing: list[dict[str, Any]], scratch: Path) -> Path:
    """The chart, and the ``file://`` charts it depends on, copied under ``scratch`` at their places
    relative to the repository root, so that ``helm dependency update`` writes nothing into the source."""
    copy = scratch / directory.relative_to(root)
    shutil.copytree(directory, copy, symlinks=True)
    for dep in missing:
        repository = str(dep.get("repository") or "")
        if not repository.startswith("file://"):
            continue
        target = (directory / repository.removeprefix("file://")).resolve()
        if target != root and root not in target.parents:
            raise ChartFailed(f"dependency {dep.get('name')!r} ({repository}) is outside the repository")
        if target.is_dir() and not (scratch / target.relative_to(root)).exists():
            shutil.copytree(target, scratch / target.relative_to(root), symlinks=True)
    return copy


def is_test_hook(obj: dict[str, Any]) -> bool:
    """A Helm test (``helm.sh/hook: test``): run by ``helm test``, never part of the release (``--skip-tests``)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    hooks = annotations.get("helm.sh/hook") if isinstance(annotations, dict) else None
    return isinstance(hooks, str) and any(h.strip() in TEST_HOOKS for h in hooks.split(","))


def _chart_relative(name: str) -> str:
    """``mychart/templates/x.yaml`` (Helm's name, led by the chart's name) -> ``templates/x.yaml``."""
    parts = PurePosixPath(name).parts
    if len(parts) > 1 and parts[0] not in ("templates", "crds", "charts"):
        parts = parts[1:]
    return PurePosixPath(*parts).as_posix()


def _is_manifest(relative: str) -> bool:
    path = PurePosixPath(relative)
    return path.name != "NOTES.txt" and not path.name.startswith("_") and path.suffix in MANIFEST_SUFFIXES


def _template_error(message: str) -> ChartFailed:
    text = _one_line(message)
    match = _TEMPLATE_POSITION.search(text)
    if match is None:
        return ChartFailed(f"template error: {text}")
    return ChartFailed(
        f"template error: {text}", template=_chart_relative(match["path"]), line=int(match["line"])
    )


def _one_line(message: str) -> str:
    return " ".join(message.split())

