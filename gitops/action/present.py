"""Presenting an outcome to GitHub: the step summary, outputs, annotations, the JSON report file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitops.action.inputs import ActionInputs, Mode
from gitops.action.runner import Runner
from gitops.changeset import Action, ChangeSet
from gitops.errors import ApiError, GitopsError, RenderError
from gitops.objects import Origin

if TYPE_CHECKING:
    from gitops.action.run import Outcome

OUTPUT_NAMES = ("in-sync", "creates", "updates", "adopts", "prunes", "deletes", "unchanged", "skipped", "failed", "report-json")
"""Every output the step writes (action.yml maps each one)."""

_COUNTED = {
    "creates": Action.CREATE,
    "updates": Action.UPDATE,
    "adopts": Action.ADOPT,
    "prunes": Action.PRUNE,
    "deletes": Action.PRUNE,
    "unchanged": Action.UNCHANGED,
    "skipped": Action.SKIPPED,
    "failed": Action.FAILED,
}


def outputs(changeset: ChangeSet | None, report_path: Path | None) -> dict[str, str]:
    """The step outputs; without a change set (the run failed before planning) nothing is in sync."""
    values = {name: str(changeset.count(action) if changeset else 0) for name, action in _COUNTED.items()}
    matched = changeset is not None and changeset.converged
    return {"in-sync": str(matched).lower(), **values, "report-json": str(report_path or "")}


def write_json_report(changeset: ChangeSet, env: Mapping[str, str]) -> Path:
    """The JSON report in the runner's temporary directory (kept for later steps of the job)."""
    from gitops import report

    directory = env.get("RUNNER_TEMP") or tempfile.gettempdir()
    descriptor, name = tempfile.mkstemp(prefix="gitops-report-", suffix=".json", dir=directory)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(report.json(changeset))
    return Path(name)


def annotate(outcome: Outcome, runner: Runner) -> None:
    """One error annotation per problem, on the manifest's file and line when known."""
    if outcome.error is not None:
        annotate_error(outcome.error, outcome.failed_revision, runner)
    if outcome.changeset is not None:
        annotate_failures(outcome.changeset, runner)


def annotate_error(error: GitopsError, failed_revision: str, runner: Runner) -> None:
    if failed_revision:
        # Files of another revision: pointing at them would mark unrelated lines of the pull request.
        for problem in error.problems if isinstance(error, RenderError) else [error]:
            runner.error(f"{failed_revision}: {problem}", title="gitops")
    elif isinstance(error, RenderError):
        for problem in error.problems:
            message = f"{problem.ref}: {problem.message}" if problem.ref else problem.message
            runner.error(message, title="gitops: invalid manifest", **_location(problem.origin))
    elif isinstance(error, ApiError):
        runner.error(str(error), title="gitops", **_location(error.origin))
    else:
        runner.error(str(error), title="gitops")


def annotate_failures(changeset: ChangeSet, runner: Runner) -> None:
    for entry in changeset.entries:
        if entry.action is Action.FAILED:
            message = f"{entry.ref}: {entry.error or entry.reason}"
            runner.error(message, title="gitops: object failed", **_location(entry.origin))
    for message in changeset.errors:
        runner.error(message, title="gitops")


def _location(origin: Origin | None) -> dict[str, Any]:
    return {"file": origin.file, "line": origin.line} if origin else {}


def heading(inputs: ActionInputs, outcome: Outcome) -> str:
    title = {Mode.PREVIEW: "gitops preview", Mode.DIFF: "gitops diff", Mode.SYNC: "gitops sync"}[inputs.mode]
    where = f" of `{inputs.path}`" if inputs.path else ""
    label = f": {outcome.label}" if outcome.label else ""
    return f"## {title}{where}{label}"


def summary_markdown(inputs: ActionInputs, outcome: Outcome) -> str:
    """The heading and the report, or what went wrong."""
    if outcome.error is None and outcome.changeset is not None:
        from gitops import report

        title = heading(inputs, outcome).removeprefix("## ")
        return report.markdown(outcome.changeset, limit=inputs.max_report_size, title=title)
    parts = [heading(inputs, outcome), ""]
    if outcome.error is not None:
        if outcome.failed_revision:
            parts.append(f"Rendering the {outcome.failed_revision} failed; the pull request cannot be compared with it.\n")
        parts.append(failure_markdown(outcome.error))
    if outcome.changeset is not None:
        from gitops import report

        parts.append(report.markdown(outcome.changeset, limit=inputs.max_report_size))
    return "\n".join(parts).rstrip("\n") + "\n"


def failure_markdown(error: Exception) -> str:
    lines = [f"**Failed**: {_inline(str(error))}"]
    if isinstance(error, RenderError) and len(error.problems) > 1:
        lines.append("")
        lines.extend(f"- {_inline(str(problem))}" for problem in error.problems)
    return "\n".join(lines) + "\n"


def _inline(text: str) -> str:
    """Text safe in one Markdown line: no line breaks, no raw HTML."""
    return " ".join(text.split()).replace("<", "&lt;").replace(">", "&gt;")
