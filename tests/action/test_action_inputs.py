"""Inputs and the workflow event. No cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitops.action.inputs import Mode, parse_inputs, pull_request, read_event
from gitops.errors import ConfigError


def test_defaults() -> None:
    inputs = parse_inputs({"GITHUB_WORKSPACE": "/work/repo"})
    assert inputs.mode is Mode.DIFF
    assert inputs.source == "/work/repo"
    assert (inputs.path, inputs.prune, inputs.comment, inputs.max_prune) == ("", False, False, None)
    assert inputs.field_manager == "gitops"
    assert inputs.max_report_size == 60000


def test_underscore_and_hyphen_spellings() -> None:
    inputs = parse_inputs({"INPUT_FAIL_ON_DRIFT": "true", "INPUT_MAX-PRUNE": "3", "INPUT_MODE": " Preview "})
    assert inputs.fail_on_drift is True
    assert inputs.max_prune == 3
    assert inputs.mode is Mode.PREVIEW


def test_path_is_normalised() -> None:
    assert parse_inputs({"INPUT_PATH": "./deploy/prod/"}).path == "deploy/prod"
    assert parse_inputs({"INPUT_PATH": "."}).path == ""


def test_kubeconfig_keeps_its_whitespace() -> None:
    content = "apiVersion: v1\nclusters:\n  - name: a\n"
    assert parse_inputs({"INPUT_KUBECONFIG": content}).kubeconfig == content


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"INPUT_PRUNE": "maybe"}, "input prune: expected true or false, got 'maybe'"),
        ({"INPUT_MODE": "apply"}, "input mode: expected one of preview, diff, sync, got 'apply'"),
        ({"INPUT_MAX_PRUNE": "-1"}, "input max-prune: must be at least 0, got -1"),
        ({"INPUT_MAX_REPORT_SIZE": "lots"}, "input max-report-size: expected a whole number, got 'lots'"),
    ],
)
def test_bad_inputs_name_the_input(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_inputs(env)
    assert str(caught.value) == message


def test_pull_request_from_event(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({
        "number": 7,
        "pull_request": {"number": 7, "base": {"sha": "b" * 40}, "head": {"sha": "h" * 40}},
    }))
    env = {"GITHUB_EVENT_PATH": str(event), "GITHUB_REPOSITORY": "shop/deploy"}
    pr = pull_request(env, read_event(env))
    assert pr is not None
    assert (pr.repository, pr.number, pr.base_sha, pr.head_sha) == ("shop/deploy", 7, "b" * 40, "h" * 40)


def test_push_event_has_no_pull_request(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"ref": "refs/heads/main", "after": "a" * 40}))
    env = {"GITHUB_EVENT_PATH": str(event)}
    assert pull_request(env, read_event(env)) is None


def test_unreadable_event_is_a_config_error(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text("{not json")
    with pytest.raises(ConfigError, match=r"event\.json: cannot read the workflow event"):
        read_event({"GITHUB_EVENT_PATH": str(event)})
