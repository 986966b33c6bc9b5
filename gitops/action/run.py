"""The action's one step: turn inputs into settings, call the engine, present the result to GitHub.

    inputs (INPUT_*) + event  ->  preview | diff | sync  ->  ChangeSet
    ChangeSet  ->  JSON report file, step summary, outputs, annotations, pull-request comment, exit status
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gitops.action.comment import CommentError, GitHubClient, upsert_comment
from gitops.action.inputs import ActionInputs, Mode, PullRequest, parse_inputs, pull_request, read_event
from gitops.action.present import annotate, outputs, summary_markdown, write_json_report
from gitops.action.runner import Runner
from gitops.action.secrets import kubeconfig_secrets, parse_kubeconfig, secret_values
from gitops.changeset import ChangeSet
from gitops.errors import ConfigError, GitopsError, SourceError
from gitops.objects import Manifest
from gitops.render import RenderOptions
from gitops.source import SourceSpec

if TYPE_CHECKING:
    from gitops.cluster import Cluster
    from gitops.engine import Desired, SyncOptions


@dataclass
class Outcome:
    """What one run produced, whether it got as far as a change set or not."""

    changeset: ChangeSet | None = None
    error: GitopsError | None = None
    manifests: list[Manifest] = field(default_factory=list)
    """Every manifest rendered (both revisions in preview), for masking Secret values."""
    label: str = ""
    """What was compared, for the report heading (``base abc1234 -> head def5678``)."""
    failed_revision: str = ""
    """Set when the error concerns another revision than the one under review (preview's base): its
    files and lines are not in the pull request, so annotations must not point at them."""


def run(env: Mapping[str, str], runner: Runner) -> int:
    """Run the action; returns the step's exit status."""
    try:
        inputs = parse_inputs(env)
        mask_credentials(inputs, runner)
        pr = pull_request(env, read_event(env))
    except GitopsError as err:
        runner.error(str(err), title="gitops")
        return err.exit_code
    outcome = execute(inputs, pr, env)
    for value in secret_values(outcome.manifests):
        runner.mask(value)
    publish(inputs, pr, outcome, env, runner)
    return exit_status(inputs, outcome)


def mask_credentials(inputs: ActionInputs, runner: Runner) -> None:
    if inputs.github_token:
        runner.mask(inputs.github_token)
    if inputs.kubeconfig:
        for value in kubeconfig_secrets(parse_kubeconfig(inputs.kubeconfig)):
            runner.mask(value)


def execute(inputs: ActionInputs, pr: PullRequest | None, env: Mapping[str, str]) -> Outcome:
    outcome = Outcome()
    try:
        if inputs.mode is Mode.PREVIEW:
            preview(inputs, pr, env, outcome)
        else:
            against_cluster(inputs, env, outcome)
    except GitopsError as err:
        outcome.error = err
    if outcome.changeset is not None:
        outcome.changeset.source = display_source(inputs.source, env)
    return outcome


def display_source(source: str, env: Mapping[str, str]) -> str:
    """The source as the report shows it: inside the workspace, relative to the repository
    (``acme/deploy`` for its root, ``acme/deploy/sub`` below it), never the runner's own path."""
    workspace = env.get("GITHUB_WORKSPACE")
    if not workspace or not os.path.isabs(workspace):
        return source
    here = Path(os.path.normpath(Path(workspace) / source))
    if not here.is_relative_to(workspace):
        return source
    relative = here.relative_to(workspace).as_posix()
    repository = env.get("GITHUB_REPOSITORY") or "."
    return repository if relative == "." else f"{repository}/{relative}"


def preview(inputs: ActionInputs, pr: PullRequest | None, env: Mapping[str, str], outcome: Outcome) -> None:
    from gitops import engine

    base, head = preview_revisions(inputs, pr, env)
    outcome.label = f"`{_short(base)}` → `{_short(head)}`"
    rendering = render_options(inputs)
    head_desired = engine.load(
        SourceSpec(location=inputs.source, revision=head, path=inputs.path), render_options=rendering
    )
    outcome.manifests.extend(head_desired.manifests)
    try:
        base_desired = engine.load(
            SourceSpec(location=inputs.source, revision=base, path=inputs.path), render_options=rendering
        )
    except SourceError as err:
        if not err.path_missing:
            outcome.failed_revision = f"base revision {_short(base)}"
            raise
        # The pull request adds the directory: everything in it is new.
        base_desired = engine.Desired(checkout=head_desired.checkout, manifests=[])
    except GitopsError:
        outcome.failed_revision = f"base revision {_short(base)}"
        raise
    outcome.manifests.extend(base_desired.manifests)
    outcome.changeset = engine.compare(base_desired, head_desired, sync_options(inputs, dry_run=True))


def render_options(inputs: ActionInputs) -> RenderOptions:
    return RenderOptions(
        namespace=inputs.namespace,  # also the Helm release namespace
        allow_remote_bases=inputs.allow_remote_bases,
        allow_remote_charts=inputs.allow_remote_charts,
    )


def preview_revisions(inputs: ActionInputs, pr: PullRequest | None, env: Mapping[str, str]) -> tuple[str, str]:
    """(base, head): the inputs, else the pull request's commits; head falls back to the run's commit."""
    base = inputs.base_revision or (pr.base_sha if pr else None)
    head = inputs.head_revision or (pr.head_sha if pr else None) or inputs.revision or env.get("GITHUB_SHA")
    if not base:
        raise ConfigError("preview: no base revision: set input base-revision or run on a pull_request event")
    if not head:
        raise ConfigError("preview: no head revision: set input head-revision or run on a pull_request event")
    return base, head



def against_cluster(inputs: ActionInputs, env: Mapping[str, str], outcome: Outcome) -> None:
    from gitops import engine

    if not inputs.kubeconfig:
        raise ConfigError(f"mode {inputs.mode}: input kubeconfig is required (the content of a kubeconfig file)")
    desired = engine.load(
        SourceSpec(location=inputs.source, revision=inputs.revision, path=inputs.path),
        render_options=render_options(inputs),
    )
    outcome.manifests.extend(desired.manifests)
    revision = desired.checkout.revision
    outcome.label = f"`{_short(revision)}`" if revision else ""
    with (
        kubeconfig_file(inputs.kubeconfig, env.get("RUNNER_TEMP")) as kubeconfig,
        engine.connect(str(kubeconfig), inputs.context) as cluster,
    ):
        run_against(cluster, inputs, desired, outcome, applyset=repository_applyset(inputs, desired, env))


def repository_applyset(inputs: ActionInputs, desired: Desired, env: Mapping[str, str]) -> str | None:
    """Input ``applyset``, else a name from ``$GITHUB_REPOSITORY`` and the path inside it: the same set
    whichever runner or container checks the repository out, and the one ``gitops sync`` names from the
    checkout's ``origin`` (``github.com/org/repo``)."""
    from gitops.inventory import default_name, github_repository

    if inputs.applyset:
        return inputs.applyset
    repository = github_repository(env)
    return default_name(repository, desired.checkout.path_in_repository) if repository else None


def run_against(
    cluster: Cluster, inputs: ActionInputs, desired: Desired, outcome: Outcome, applyset: str | None = None
) -> None:
    from gitops import engine

    if inputs.mode is Mode.SYNC:
        outcome.changeset = engine.sync(cluster, desired, sync_options(inputs, dry_run=False, applyset=applyset))
    else:
        outcome.changeset = engine.plan(cluster, desired, sync_options(inputs, dry_run=True, applyset=applyset))


def sync_options(inputs: ActionInputs, *, dry_run: bool, applyset: str | None = None) -> SyncOptions:
    from gitops.engine import SyncOptions

    return SyncOptions(
        dry_run=dry_run,
        prune=inputs.prune,
        allow_empty=inputs.allow_empty,
        max_prune=inputs.max_prune,
        field_manager=inputs.field_manager,
        default_namespace=inputs.namespace,
        applyset=applyset or inputs.applyset,
        adopt=inputs.adopt,
    )


@contextlib.contextmanager
def kubeconfig_file(content: str, parent: str | None = None) -> Iterator[Path]:
    """The kubeconfig content in a private file (0600 in a 0700 directory), deleted afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="gitops-kube-", dir=parent))
    path = directory / "config"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(content)
        yield path
    finally:
        path.unlink(missing_ok=True)
        directory.rmdir()


def publish(
    inputs: ActionInputs, pr: PullRequest | None, outcome: Outcome, env: Mapping[str, str], runner: Runner
) -> None:
    report_path = write_json_report(outcome.changeset, env) if outcome.changeset is not None else None
    annotate(outcome, runner)
    markdown = summary_markdown(inputs, outcome)
    runner.append_summary(markdown)
    runner.set_outputs(outputs(outcome.changeset, report_path))
    if inputs.comment:
        comment(inputs, pr, markdown, env, runner)


def comment(inputs: ActionInputs, pr: PullRequest | None, markdown: str, env: Mapping[str, str], runner: Runner) -> None:
    if pr is None:
        runner.notice("comment: not a pull request event; the report is in the step summary only")
        return
    if not inputs.github_token:
        runner.warning("comment: input github-token is empty; no pull-request comment written")
        return
    client = GitHubClient(env.get("GITHUB_API_URL") or "https://api.github.com", inputs.github_token)
    try:
        result = upsert_comment(client, pr.repository, pr.number, markdown, key=f"{inputs.mode}:{inputs.path or '.'}")
    except CommentError as err:
        # A fork's read-only token must not fail the check that carries the report.
        runner.warning(str(err))
        return
    verb = "created" if result.created else "updated"
    runner.info(f"gitops: pull-request comment {verb}: {result.url or result.id}")


def exit_status(inputs: ActionInputs, outcome: Outcome) -> int:
    if outcome.error is not None:
        return outcome.error.exit_code
    changeset = outcome.changeset
    assert changeset is not None
    return changeset.exit_status(drift_fails=inputs.fail_on_drift)


def _short(revision: str | None) -> str:
    return (revision or "")[:12]

