"""Secret masking as the plan, apply and observe stages use it (pure; the report side is in
tests/report/test_report_masking.py)."""

from __future__ import annotations

from gitops import masking


def secret(**data: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"}, "data": data}


def test_secret_display_masks_every_value_and_marks_changed_keys() -> None:
    old, new = secret(password="b2xk", user="YWRt"), secret(password="bmV3", user="YWRt")
    live, desired = masking.mask_pair(old, new)
    assert live["data"] == {"password": "*** (before)", "user": "***"}
    assert desired["data"] == {"password": "*** (after)", "user": "***"}
    assert old["data"] == {"password": "b2xk", "user": "YWRt"}  # the inputs are left as they were


def test_a_created_secret_shows_no_value() -> None:
    body = secret(password="aHVudGVyMg==")
    body["stringData"] = {"token": "s3cr3t-token"}
    live, desired = masking.mask_pair(None, body)
    assert live is None
    assert desired["data"] == {"password": "*** (after)"}
    assert desired["stringData"] == {"token": "*** (after)"}


def test_objects_that_are_no_secret_are_shown_as_they_are() -> None:
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}}
    other = {"apiVersion": "example.com/v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"a": "visible"}}
    assert masking.mask_pair(config_map, config_map) == (config_map, config_map)
    assert masking.mask_pair(None, other) == (None, other)
    assert masking.secret_values(other) == set()


def test_scrub_removes_raw_and_decoded_secret_values() -> None:
    values = masking.secret_values(secret(password="aHVudGVyMg=="))
    assert masking.scrub('invalid value "hunter2" and "aHVudGVyMg=="', values) == 'invalid value "***" and "***"'


def test_three_character_values_are_scrubbed_too() -> None:
    values = masking.secret_values(secret(pin="MTIz"))  # "123"
    assert masking.scrub("pin 123 rejected", values) == "pin *** rejected"


def test_last_applied_annotation_values_are_scrubbed() -> None:
    body = secret(password="aHVudGVyMg==")
    body["metadata"]["annotations"] = {masking.LAST_APPLIED: '{"data":{"password":"aHVudGVyMg=="}}'}
    assert '{"data"' not in masking.scrub('echo {"data":{"password":"aHVudGVyMg=="}}', masking.secret_values(body))
