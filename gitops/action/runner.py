"""The GitHub Actions runner's side channels: outputs, step summary, workflow commands.

The runner reads step outputs from the file named by ``GITHUB_OUTPUT`` and the step summary from
``GITHUB_STEP_SUMMARY``; annotations and masks are workflow commands printed on stdout
(https://docs.github.com/actions/reference/workflow-commands-for-github-actions).
The escaping functions are pure; :class:`Runner` does the I/O.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO


def escape_data(value: str) -> str:
    """Escape a workflow command's message, as the runner's ``toCommandValue`` expects."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a workflow command's property value (``file=``, ``title=``): also ``:`` and ``,``."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str | int | None) -> str:
    """One workflow command line: ``::name key=value,key=value::message``."""
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items() if value is not None)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def output_record(name: str, value: str, delimiter: str | None = None) -> str:
    """One ``GITHUB_OUTPUT`` record in the multi-line-safe heredoc form with a delimiter absent from the value."""
    if not name or "\n" in name or "<<" in name:
        raise ValueError(f"invalid output name {name!r}")
    while delimiter is None or delimiter in value or delimiter in name:
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def mask_lines(value: str) -> list[str]:
    """The ``::add-mask::`` values that hide ``value``: the runner masks line by line, so each line."""
    return [line for line in (part.strip() for part in value.splitlines()) if len(line) >= 3]


@dataclass
class Runner:
    """Where this step talks to the runner. Built from the environment in a workflow; from a dict in tests."""

    output_file: Path | None = None
    summary_file: Path | None = None
    stream: TextIO = field(default_factory=lambda: sys.stdout)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, stream: TextIO | None = None) -> Runner:
        env = os.environ if env is None else env
        output = env.get("GITHUB_OUTPUT") or None
        summary = env.get("GITHUB_STEP_SUMMARY") or None
        return cls(
            output_file=Path(output) if output else None,
            summary_file=Path(summary) if summary else None,
            stream=stream or sys.stdout,
        )

    def _emit(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def info(self, message: str) -> None:
        self._emit(message)

    def mask(self, value: str) -> None:
        for line in mask_lines(value):
            self._emit(command("add-mask", line))

    def error(self, message: str, *, file: str | None = None, line: int | None = None, title: str | None = None) -> None:
        self._emit(command("error", message, file=file, line=line, title=title))

    def warning(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self._emit(command("warning", message, file=file, line=line))

    def notice(self, message: str) -> None:
        self._emit(command("notice", message))

    def set_outputs(self, outputs: Mapping[str, str]) -> None:
        if self.output_file is None:
            for name, value in outputs.items():
                self._emit(f"{name}: {value}")
            return
        with self.output_file.open("a", encoding="utf-8") as handle:
            handle.writelines(output_record(name, value) for name, value in outputs.items())

    def append_summary(self, markdown: str) -> None:
        """Append to the job summary; print it when there is none (a local run)."""
        if self.summary_file is None:
            self._emit(markdown.rstrip("\n"))
            return
        with self.summary_file.open("a", encoding="utf-8") as handle:
            handle.write(markdown if markdown.endswith("\n") else markdown + "\n")
