"""The GitHub Action front end: inputs -> engine -> step summary, outputs, annotations, pull-request comment.

    inputs.py    INPUT_* variables and the workflow event -> ActionInputs, PullRequest
    run.py       the step: preview (two revisions, no cluster), diff or sync (a cluster) -> Outcome
    present.py   Outcome -> JSON report file, summary Markdown, outputs, annotations
    runner.py    the runner's side channels: GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, workflow commands
    comment.py   the pull-request comment, found by a hidden marker and updated in place
    secrets.py   what to mask: kubeconfig credentials, Secret values
"""
