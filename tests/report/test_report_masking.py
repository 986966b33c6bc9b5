"""Secret values never reach any report format."""

from __future__ import annotations

import copy
import json

import pytest
from report_samples import (
    SECRET_B64,
    SECRET_NEW_B64,
    SECRET_NEW_PLAIN,
    SECRET_PLAIN,
    SECRET_STRINGS,
    plan,
    ref,
    secret,
    secret_entry,
)

from gitops import report
from gitops.changeset import Action, ChangeSet, Entry, FieldChange
from gitops.objects import ObjectRef


def leaky() -> ChangeSet:
    """Every place a Secret value could hide: data, stringData, the last-applied annotation, whole-object
    changes, an API error echoing the value, a run-level error, a failed Secret."""
    created = secret({"password": SECRET_B64})
    created["stringData"] = {"extra": SECRET_NEW_PLAIN}
    created["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps({"data": {"password": SECRET_B64}}),
        "team": "payments",
    }
    created["metadata"]["name"] = "fresh"
    return ChangeSet(
        source="/src",
        revision=None,
        entries=[
            secret_entry(),
            Entry(
                ref=ref("Secret", "fresh"),
                action=Action.CREATE,
                desired=created,
                changes=[
                    FieldChange("", None, {"data": {"password": SECRET_B64}, "type": "Opaque"}),
                    FieldChange("stringData[extra]", None, SECRET_NEW_PLAIN),
                    FieldChange(
                        "metadata.annotations",
                        None,
                        {"kubectl.kubernetes.io/last-applied-configuration": SECRET_B64, "team": "payments"},
                    ),
                ],
            ),
            Entry(
                ref=ref("Secret", "broken"),
                action=Action.FAILED,
                desired=secret({"password": SECRET_NEW_B64}),
                reason="Invalid",
                error=f'Secret "broken" is invalid: data[password]: Invalid value: "{SECRET_NEW_PLAIN}"',
            ),
        ],
        errors=[f"could not apply: value {SECRET_PLAIN} rejected"],
    )


FORMATS = {
    "text": lambda cs: report.text(cs),
    "text-colour": lambda cs: report.text(cs, color=True),
    "json": report.json,
    "yaml": report.yaml,
    "markdown": report.markdown,
    "markdown-truncated": lambda cs: report.markdown(cs, limit=1500),
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_no_secret_value_in_any_format(name: str) -> None:
    out = FORMATS[name](leaky())
    for value in SECRET_STRINGS:
        assert value not in out
    assert "***" in out


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_no_secret_value_in_the_plan_sample(name: str) -> None:
    out = FORMATS[name](plan())
    for value in SECRET_STRINGS:
        assert value not in out


def test_changed_keys_read_before_and_after() -> None:
    masked = report.mask(leaky())
    assert masked.entries[0].changes == [
        FieldChange(
            "data.password", "*** (before)", "*** (after)", manager="kubectl-edit", operation="Update"
        ),
        FieldChange("data.token", None, "*** (after)"),
    ]
    assert masked.entries[1].changes[0].after == {"data": {"password": "*** (after)"}, "type": "Opaque"}
    assert masked.entries[1].changes[2].after == {
        "kubectl.kubernetes.io/last-applied-configuration": "*** (after)",
        "team": "payments",
    }


def test_diff_shows_which_keys_changed_but_no_values() -> None:
    out = report.text(leaky())
    assert "    -  password: '*** (before)'\n    +  password: '*** (after)'\n" in out
    assert "       user: '***'\n" in out
    assert "    +  token: '*** (after)'\n" in out
    assert "    +    kubectl.kubernetes.io/last-applied-configuration: '*** (after)'\n" in out
    assert "    +    team: payments\n" in out


def test_echoed_values_are_scrubbed_from_errors() -> None:
    masked = report.mask(leaky())
    assert masked.entries[2].error == 'Secret "broken" is invalid: data[password]: Invalid value: "***"'
    assert masked.errors == ["could not apply: value *** rejected"]


def test_masking_leaves_the_engine_change_set_untouched() -> None:
    cs = leaky()
    before = copy.deepcopy(cs)
    report.mask(cs)
    report.text(cs)
    report.markdown(cs)
    assert cs == before


def test_only_core_secrets_are_masked() -> None:
    """A custom resource called Secret in another group, and ConfigMaps, are shown as they are."""
    other = Entry(
        ref=ObjectRef(group="example.com", kind="Secret", namespace="a", name="b", version="v1"),
        action=Action.UPDATE,
        changes=[FieldChange("data.colour", "blue", "green")],
    )
    out = report.text(ChangeSet(source="/s", revision=None, entries=[other]))
    assert 'data.colour: "blue" -> "green"' in out
