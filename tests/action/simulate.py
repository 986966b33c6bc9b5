"""Run action.yml's steps the way the GitHub runner does: expressions evaluated, INPUT_* env, runner files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.action.github_standin import parse_github_output

PROJECT = Path(__file__).resolve().parents[2]
ACTION_YML = PROJECT / "action.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def load_action() -> dict[str, Any]:
    return yaml.safe_load(ACTION_YML.read_text())


def evaluate(text: str, contexts: dict[str, dict[str, str]]) -> str:
    """Substitute ``${{ context.name }}`` (the only expression form action.yml uses)."""

    def lookup(match: re.Match[str]) -> str:
        context, _, name = match.group(1).partition(".")
        return contexts[context][name]

    return EXPRESSION.sub(lookup, str(text))


@dataclass
class SimulatedRunner:
    """One job's runner environment in a temporary directory."""

    root: Path
    workspace: Path
    github_token: str = "ghs_unusedToken0000"
    api_url: str = "http://127.0.0.1:9"
    repository: str = "shop/deploy"
    event: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.temp = self.root / "runner-temp"
        self.temp.mkdir(parents=True, exist_ok=True)
        self.output_file = self.root / "github_output"
        self.summary_file = self.root / "step_summary.md"
        self.event_file = self.root / "event.json"

    def env(self) -> dict[str, str]:
        self.event_file.write_text(json.dumps(self.event))
        for path in (self.output_file, self.summary_file):
            path.touch()
        return {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "HOME": os.environ.get("HOME", str(self.root)),
            "XDG_CACHE_HOME": str(self.root / "cache"),  # keep the tests' Git caches out of the real home
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_REPOSITORY": self.repository,
            "GITHUB_API_URL": self.api_url,
            "GITHUB_EVENT_NAME": "pull_request" if "pull_request" in self.event else "push",
            "GITHUB_EVENT_PATH": str(self.event_file),
            "GITHUB_OUTPUT": str(self.output_file),
            "GITHUB_STEP_SUMMARY": str(self.summary_file),
            "GITHUB_ACTION_PATH": str(PROJECT),
            "RUNNER_TEMP": str(self.temp),
        }

    def run_step(self, step_id: str, with_inputs: dict[str, str]) -> subprocess.CompletedProcess[str]:
        """Run one ``run:`` step of action.yml with the given ``with:`` inputs (defaults for the rest)."""
        action = load_action()
        github = {"token": self.github_token, "action_path": str(PROJECT), "workspace": str(self.workspace)}
        inputs = {
            name: evaluate(with_inputs.get(name, str(spec.get("default", ""))), {"github": github})
            for name, spec in action["inputs"].items()
        }
        unknown = set(with_inputs) - set(inputs)
        assert not unknown, f"inputs not declared in action.yml: {unknown}"
        (step,) = [s for s in action["runs"]["steps"] if s.get("id") == step_id]
        contexts = {"inputs": inputs, "github": github}
        env = self.env()
        env.update({key: evaluate(value, contexts) for key, value in (step.get("env") or {}).items()})
        assert step["shell"] == "bash"
        script = self.root / f"step-{step_id}.sh"
        script.write_text(evaluate(step["run"], contexts))
        # The runner's bash shell: `bash --noprofile --norc -eo pipefail {0}`.
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            env=env, cwd=self.workspace, capture_output=True, text=True, timeout=120,
        )

    def outputs(self) -> dict[str, str]:
        return parse_github_output(self.output_file.read_text())

    def summary(self) -> str:
        return self.summary_file.read_text()


def annotations(stdout: str, kind: str = "error") -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith(f"::{kind}")]
