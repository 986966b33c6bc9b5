"""Reports: one change set, several formats. Pure: every function returns a string or plain data.

    text(cs, color=False)      terminal: summary line, field changes with their managers, YAML diffs
    to_dict(cs) / json(cs)     versioned document ``gitops.io/changeset/v1`` (schema: changeset.schema.json)
    yaml(cs)                   the same document as YAML
    markdown(cs, limit=60000)  pull-request comment / GitHub step summary, truncated cleanly at ``limit``

Every format goes through :func:`gitops.masking.mask` first, so no Secret value is ever printed.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from gitops.masking import mask
from gitops.report._data import SCHEMA_VERSION, json, to_dict, yaml
from gitops.report._markdown import markdown
from gitops.report._text import text

__all__ = ["SCHEMA_VERSION", "json", "markdown", "mask", "schema", "text", "to_dict", "yaml"]


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of :func:`to_dict`'s document, shipped as package data."""
    import json as jsonlib

    return jsonlib.loads(resources.files(__package__).joinpath("changeset.schema.json").read_text("utf-8"))
