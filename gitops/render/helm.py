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


def render_chart(directory: Path, release: Release, values: dict[str, Any]) -> list[Template]:
    """The chart's rendered manifests (CRDs from ``crds/`` first, then templates in path order).

    ``values`` are merged over the chart's ``values.yaml`` by the engine. NOTES.txt, partials,
    templates that are not manifests and empty output are left out. Raises ChartFailed.
    """
    try:
        import helm_python as helm
    except ImportError as err:
        raise ChartFailed(f"rendering Helm charts needs the helm extra: {INSTALL_HINT}") from err
    try:
        with helm.Chart.load(directory) as chart:
            _check_dependencies(chart.metadata, chart.dependencies)
            crds = chart.crds
            rendered = chart.render(
                values, name=release.name, namespace=release.namespace, revision=1, is_install=True
            )
    except helm.HelmRenderError as err:
        raise _template_error(str(err)) from None
    except helm.HelmError as err:
        raise ChartFailed(_one_line(str(err))) from None
    templates = [Template(_chart_relative(crd.get("filename") or crd["name"]), crd["data"]) for crd in crds]
    for name in sorted(rendered):
        relative = _chart_relative(name)
        if _is_manifest(relative) and rendered[name].strip():
            templates.append(Template(relative, rendered[name]))
    return templates


def is_test_hook(obj: dict[str, Any]) -> bool:
    """A Helm test (``helm.sh/hook: test``): run by ``helm test``, never part of the release (``--skip-tests``)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    hooks = annotations.get("helm.sh/hook") if isinstance(annotations, dict) else None
    return isinstance(hooks, str) and any(h.strip() in TEST_HOOKS for h in hooks.split(","))


def _check_dependencies(metadata: dict[str, Any], loaded: list[dict[str, Any]]) -> None:
    """``helm template`` fails on a declared dependency missing from ``charts/``; gitops never fetches it."""
    present = {dep.get("name") for dep in loaded}
    for dep in metadata.get("dependencies") or []:
        name = dep.get("alias") or dep.get("name")
        if dep.get("name") not in present and name not in present:
            where = f" from {dep['repository']}" if dep.get("repository") else ""
            raise ChartFailed(
                f"dependency {dep.get('name')!r}{where} is not vendored in charts/: gitops renders offline "
                "and does not fetch charts (run `helm dependency build` and commit charts/)"
            )


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

