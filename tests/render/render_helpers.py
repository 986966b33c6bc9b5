"""Helpers shared by the rendering tests (a uniquely named module: `conftest` is ambiguous across test folders)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

EXAMPLE_REPO = Path(__file__).resolve().parents[2] / "examples" / "repo"

WriteTree = Callable[[dict[str, str]], Path]


def configmap(name: str, namespace: str = "shop") -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
