"""``gitops action run``: the GitHub Action's step (action.yml calls it with the inputs as INPUT_* variables)."""

from __future__ import annotations

import os
import sys

import click


@click.group()
def action() -> None:
    """Run the GitHub Action's steps (used by action.yml)."""


@action.command("run")
def run_command() -> None:
    """Read the INPUT_* variables and the runner's environment, run preview, diff or sync, report to GitHub.

    Outputs go to $GITHUB_OUTPUT, the Markdown report to $GITHUB_STEP_SUMMARY, problems become error
    annotations, and with INPUT_COMMENT=true the pull request's gitops comment is created or updated.
    """
    from gitops.action.run import run
    from gitops.action.runner import Runner

    # SystemExit, not click's Exit: `gitops.cli.main` runs click in non-standalone mode, which
    # returns an Exit's code instead of exiting with it.
    sys.exit(run(os.environ, Runner.from_env(os.environ, sys.stdout)))
