"""Per-application SOPS keys in the agent configuration, handed to sops for that application's renders."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops.agent.config import parse_config
from gitops.agent.reconciler import Phase, reconcile
from gitops.errors import ClusterError, ConfigError
from gitops.source import FetchOptions
from tests.sops_age import clear_sops_keys, encrypt, make_key

SECRET = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: agent-held-secret-77\n"


def config(source: Path, decryption: str = "") -> str:
    return f"""
applications:
  - name: shop
    source: {{url: {source}}}
{decryption}
"""


def test_age_key_file_and_age_key_from_a_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = make_key(tmp_path)
    by_file = parse_config(config(tmp_path, f"    decryption: {{ageKeyFile: {key.file}}}"), file="agent.yaml", environ={})
    assert by_file.applications[0].decryption.sops_env() == {"SOPS_AGE_KEY_FILE": str(key.file)}

    monkeypatch.setenv("SHOP_AGE_KEY", "AGE-SECRET-KEY-1EXAMPLE")
    by_env = parse_config(
        config(tmp_path, "    decryption: {ageKey: {env: SHOP_AGE_KEY}}"), file="agent.yaml", environ={"SHOP_AGE_KEY": "x"}
    )
    assert by_env.applications[0].decryption.sops_env() == {"SOPS_AGE_KEY": "AGE-SECRET-KEY-1EXAMPLE"}
    assert parse_config(config(tmp_path), file="agent.yaml", environ={}).applications[0].decryption.sops_env() == {}


@pytest.mark.parametrize(
    "decryption",
    ["    decryption: {}", "    decryption: {ageKeyFile: /no/such/key.txt}", "    decryption: {ageKeyFil: x}"],
)
def test_bad_decryption_settings_are_start_up_errors(tmp_path: Path, decryption: str) -> None:
    with pytest.raises(ConfigError, match=r"^agent\.yaml: applications\[0\]\.decryption"):
        parse_config(config(tmp_path, decryption), file="agent.yaml", environ={})


def test_the_application_key_decrypts_its_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent's own environment holds no key: only the application's configured one decrypts."""
    clear_sops_keys(monkeypatch, tmp_path)
    key = make_key(tmp_path / "keys")
    source = tmp_path / "repo"
    source.mkdir()
    (source / "secret.yaml").write_text(encrypt(SECRET, key, encrypted_regex="^stringData$"))

    def unreachable():
        raise ClusterError("cluster unreachable")  # the render comes first: reaching this means it succeeded

    def run(decryption: str):
        app = parse_config(config(source, decryption), file="agent.yaml", environ={}).applications[0]
        return reconcile(app, last_applied=None, cluster=unreachable, fetch_options=FetchOptions(), may_write=lambda: True)

    without = run("")
    assert without.phase is Phase.RENDER
    assert "secret.yaml" in without.message and "agent-held-secret-77" not in without.message
    assert run(f"    decryption: {{ageKeyFile: {key.file}}}").phase is Phase.CONNECT
