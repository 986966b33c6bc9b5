"""What to mask in the job log: credential values in a kubeconfig and Secret values in manifests. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from gitops import diff
from gitops.errors import ConfigError
from gitops.objects import Manifest

_MIN_MASK_LENGTH = 4
"""Shorter values would mask common words all over the log."""


def _string_leaves(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _string_leaves(value)
    elif isinstance(node, list):
        for value in node:
            yield from _string_leaves(value)
    elif isinstance(node, str):
        yield node


def parse_kubeconfig(content: str) -> dict[str, Any]:
    """The kubeconfig as a mapping; the error never quotes the content (it holds credentials)."""
    try:
        config = yaml.safe_load(content)
    except yaml.YAMLError:
        raise ConfigError("input kubeconfig: not valid YAML (content not shown: it holds credentials)") from None
    if not isinstance(config, dict) or not config.get("clusters"):
        raise ConfigError("input kubeconfig: not a kubeconfig (no clusters); pass the file's content, not its path")
    return config


def kubeconfig_secrets(config: dict[str, Any]) -> list[str]:
    """Every credential in a kubeconfig: all string values under ``users[].user``."""
    values = []
    for user in config.get("users") or []:
        if isinstance(user, dict):
            values.extend(_string_leaves(user.get("user") or {}))
    return _maskable(values)


def secret_values(manifests: Iterable[Manifest]) -> list[str]:
    """The values of every Secret among the manifests, as written and base64-decoded."""
    manifests = list(manifests)
    decrypted = (value for manifest in manifests for value in manifest.sensitive)  # from SOPS files, any kind
    return _maskable([*(value for m in manifests for value in diff.secret_values(m.obj)), *decrypted])


def _maskable(values: Iterable[str]) -> list[str]:
    return sorted({value for value in values if len(value.strip()) >= _MIN_MASK_LENGTH})
