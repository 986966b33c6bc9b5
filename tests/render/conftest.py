"""Fixtures for rendering tests: small repositories written into tmp_path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from render_helpers import WriteTree


@pytest.fixture
def write_tree(tmp_path: Path) -> WriteTree:
    """Write ``{relative path: text}`` (dedented) under a fresh repository directory and return it."""
    root = tmp_path / "repo"
    root.mkdir()

    def write(files: dict[str, str]) -> Path:
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"))
        return root

    return write
