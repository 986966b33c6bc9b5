"""action.yml and the example workflows against the GitHub Actions metadata rules."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from gitops.action.inputs import parse_inputs
from gitops.action.present import OUTPUT_NAMES, outputs
from tests.action.simulate import EXPRESSION, PROJECT, load_action

ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
TOP_LEVEL = {"name", "author", "description", "inputs", "outputs", "runs", "branding"}
COMPOSITE_CONTEXTS = {"inputs", "github", "steps", "runner", "env", "job", "strategy", "matrix"}


def expressions(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [e for value in node.values() for e in expressions(value)]
    if isinstance(node, list):
        return [e for value in node for e in expressions(value)]
    return EXPRESSION.findall(node) if isinstance(node, str) else []


def test_required_fields_and_known_keys() -> None:
    action = load_action()
    assert set(action) <= TOP_LEVEL
    assert isinstance(action["name"], str) and action["name"]
    assert isinstance(action["description"], str) and action["description"]
    assert action["runs"]["using"] == "composite"
    assert action["runs"]["steps"]


def test_inputs_have_valid_unique_ids_descriptions_and_string_defaults() -> None:
    inputs = load_action()["inputs"]
    assert all(ID.match(name) for name in inputs)
    assert len({name.lower() for name in inputs}) == len(inputs)
    for name, spec in inputs.items():
        assert spec.get("description"), name
        assert isinstance(spec.get("default", ""), str), f"{name}: YAML turned the default into {spec['default']!r}"


def test_steps_are_valid_composite_steps() -> None:
    steps = load_action()["runs"]["steps"]
    ids = [step["id"] for step in steps if "id" in step]
    assert len(ids) == len(set(ids)) and all(ID.match(i) for i in ids)
    for step in steps:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step.get("shell") in {"bash", "sh", "pwsh", "python"}, step
        else:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]


def test_every_expression_uses_a_context_composite_actions_have() -> None:
    for expression in expressions(load_action()):
        assert expression.split(".", 1)[0] in COMPOSITE_CONTEXTS, expression


def test_every_referenced_input_exists() -> None:
    action = load_action()
    referenced = {e.split(".", 1)[1] for e in expressions(action["runs"]) if e.startswith("inputs.")}
    assert referenced <= set(action["inputs"])


INSTALL_INPUTS = {"extras"}
"""Inputs the install step reads, not gitops."""


def test_every_input_reaches_gitops_under_the_name_it_reads() -> None:
    action = load_action()
    (run_step,) = [s for s in action["runs"]["steps"] if s.get("id") == "run"]
    passed = {key: value for key, value in run_step["env"].items() if key.startswith("INPUT_")}
    expected = {
        f"INPUT_{name.upper().replace('-', '_')}": f"${{{{ inputs.{name} }}}}"
        for name in action["inputs"]
        if name not in INSTALL_INPUTS
    }
    assert passed == expected

    class Recording(dict):
        seen: set[str] = set()

        def __contains__(self, key: object) -> bool:
            self.seen.add(str(key))
            return super().__contains__(key)

    env = Recording()
    parse_inputs(env)
    assert set(expected) <= env.seen


def test_outputs_map_to_what_the_run_step_writes() -> None:
    action = load_action()
    step_ids = {step.get("id") for step in action["runs"]["steps"]}
    assert set(action["outputs"]) == set(OUTPUT_NAMES) == set(outputs(None, None))
    for name, spec in action["outputs"].items():
        assert spec.get("description"), name
        match = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", spec["value"])
        assert match, spec["value"]
        assert match.group(1) in step_ids
        assert match.group(2) == name


def test_python_is_pinned_and_gitops_installed_from_the_action_checkout() -> None:
    steps = load_action()["runs"]["steps"]
    setup = next(s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python@"))
    assert re.fullmatch(r"3\.\d+", setup["with"]["python-version"])
    install = next(s for s in steps if "pip install" in s.get("run", ""))
    assert install["env"]["GITOPS_ACTION_PATH"] == "${{ github.action_path }}"
    assert install["env"]["GITOPS_EXTRAS"] == "${{ inputs.extras }}"
    # The tested versions: the lock shipped with the action's checkout.
    assert '-c "$GITOPS_ACTION_PATH/requirements/test.lock"' in install["run"]
    assert (PROJECT / "requirements" / "test.lock").is_file()
    extras = set(tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    assert set(load_action()["inputs"]["extras"]["default"].split(",")) <= extras


def example_workflows() -> list[Path]:
    return sorted((PROJECT / "examples" / "workflows").glob("*.yml"))


def test_example_workflows_pass_only_declared_inputs() -> None:
    action = load_action()
    workflows = example_workflows()
    assert len(workflows) >= 2
    uses_count = 0
    for workflow in workflows:
        document = yaml.safe_load(workflow.read_text())
        assert document.get(True) or document.get("on"), workflow  # YAML 1.1 reads `on` as True
        for job in document["jobs"].values():
            ours = {step.get("id") for step in job["steps"] if str(step.get("uses", "")).endswith("/gitops@v1")}
            uses_count += len(ours)
            for step in job["steps"]:
                if step.get("id") in ours:
                    assert set(step.get("with") or {}) <= set(action["inputs"]), workflow
            for expression in expressions(job):
                if match := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression):
                    assert match.group(1) not in ours or match.group(2) in action["outputs"], expression
    assert uses_count >= 3
