"""SOPS-encrypted files decrypted at render (the sops binary of gitops[sops]), in memory, never printed."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from render_helpers import WriteTree

from gitops.cli import cli
from gitops.errors import RenderError
from gitops.render import render
from tests.sops_age import AgeKey, clear_sops_keys, encrypt, make_key, use_new_key

PASSWORD = "correct-horse-battery-staple"
TOKEN = "tok-5f1e0c9a77"

@pytest.fixture
def no_sops_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clear_sops_keys(monkeypatch, tmp_path)


@pytest.fixture
def age_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AgeKey:
    return use_new_key(monkeypatch, tmp_path)


SECRET = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
type: Opaque
stringData:
  password: {PASSWORD}
"""


def write_encrypted(root: Path, relative: str, text: str, key: AgeKey, **options: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(encrypt(textwrap.dedent(text), key, **options))


def test_an_encrypted_secret_is_decrypted_with_the_key_from_sops_env(write_tree: WriteTree, age_key: AgeKey) -> None:
    root = write_tree({"namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"})
    write_encrypted(root, "secret.enc.yaml", "# the database password\n" + SECRET, age_key,
                    encrypted_regex="^(data|stringData)$")

    [namespace, secret] = render(root)
    assert secret.obj == yaml.safe_load(SECRET)  # no sops key left, the value in clear
    assert str(secret.origin) == "secret.enc.yaml:2"  # lines of the file as committed
    assert PASSWORD in secret.sensitive
    assert not namespace.sensitive


def test_a_fully_encrypted_json_file_and_sops_age_key_variable(
    write_tree: WriteTree, no_sops_key: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_key(tmp_path / "k")
    root = write_tree({})
    write_encrypted(root, "config.json", json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "shop"},
         "data": {"token": TOKEN}}), key, fmt="json", encrypted_regex="^data$")
    monkeypatch.setenv("SOPS_AGE_KEY", key.file.read_text().splitlines()[-1])

    [config] = render(root)
    assert config.obj["data"] == {"token": TOKEN}
    assert config.sensitive == {TOKEN}


def test_without_a_key_each_encrypted_file_is_a_render_error_naming_it(
    write_tree: WriteTree, age_key: AgeKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_tree({"plain.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n  namespace: shop\n"})
    write_encrypted(root, "a/secret.enc.yaml", SECRET, age_key)
    write_encrypted(root, "b/secret.enc.yaml", SECRET.replace("name: db", "name: db2"), age_key)
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")

    result = CliRunner().invoke(cli, ["validate", str(root)])
    assert result.exit_code == 4
    errors = result.stderr.splitlines()
    assert [line.split(":")[1].strip() for line in errors[:2]] == ["a/secret.enc.yaml", "b/secret.enc.yaml"]
    assert all("SOPS_AGE_KEY_FILE" in line for line in errors[:2])
    assert errors[2] == "2 problems found"


def test_a_file_changed_after_encryption_is_refused(write_tree: WriteTree, age_key: AgeKey) -> None:
    root = write_tree({})
    write_encrypted(root, "secret.yaml", SECRET, age_key, encrypted_regex="^(data|stringData)$")
    path = root / "secret.yaml"
    path.write_text(path.read_text().replace("name: db", "name: other"))

    with pytest.raises(RenderError) as caught:
        render(root)
    [problem] = caught.value.problems
    assert problem.origin.file == "secret.yaml"
    assert "MAC" in problem.message


def test_encrypted_resources_and_patches_in_a_kustomization(write_tree: WriteTree, age_key: AgeKey) -> None:
    root = write_tree(
        {
            "base/kustomization.yaml": "resources: [secret.enc.yaml]\n",
            "overlay/kustomization.yaml": """
                namespace: prod
                namePrefix: prod-
                commonLabels: {team: data}
                resources: [../base]
                patches:
                  - path: token.enc.yaml
                """,
        }
    )
    write_encrypted(root, "base/secret.enc.yaml", SECRET, age_key, encrypted_regex="^(data|stringData)$")
    write_encrypted(root, "overlay/token.enc.yaml",
                    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\n"
                    f"stringData:\n  token: {TOKEN}\n", age_key, encrypted_regex="^(data|stringData)$")

    [secret] = render(root / "overlay", root=root)
    assert secret.obj["metadata"]["name"] == "prod-db"  # kustomize changed what the MAC covers: still decrypted
    assert secret.obj["metadata"]["namespace"] == "prod"
    assert secret.obj["stringData"] == {"password": PASSWORD, "token": TOKEN}
    assert "sops" not in secret.obj
    assert secret.sensitive == {PASSWORD, TOKEN}


@pytest.mark.parametrize("output", ["yaml", "json"])
def test_render_never_prints_decrypted_values(
    write_tree: WriteTree, age_key: AgeKey, output: str
) -> None:
    """Not in a Secret, not in a ConfigMap, not inside a longer string a template made, not with --show-secrets."""
    root = write_tree(
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
            "chart/gitops-release.yaml": "valuesFiles: [secrets.yaml]\n",
            "chart/templates/cm.yaml": """
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: app
                data:
                  url: "postgres://app:{{ .Values.db.password }}@db/app"
                """,
        }
    )
    write_encrypted(root, "chart/secrets.yaml", f"db:\n  password: {PASSWORD}\n", age_key)
    write_encrypted(root, "secret.yaml", SECRET, age_key, encrypted_regex="^(data|stringData)$")
    write_encrypted(root, "config.yaml",
                    f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: shop\ndata:\n  token: {TOKEN}\n",
                    age_key, encrypted_regex="^data$")

    for flags in ([], ["--show-secrets"]):
        result = CliRunner().invoke(cli, ["render", str(root), "-o", output, *flags])
        assert result.exit_code == 0, result.stderr
        assert PASSWORD not in result.stdout and TOKEN not in result.stdout
        assert "postgres://app:<redacted>@db/app" in result.stdout
        assert "ENC[" not in result.stdout and "sops" not in result.stdout


def test_an_encrypted_helm_values_file_reaches_the_templates(write_tree: WriteTree, age_key: AgeKey) -> None:
    root = write_tree(
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
            "chart/values.yaml": "db:\n  user: app\n  password: ''\n",
            "chart/gitops-release.yaml": "valuesFiles: [secrets.enc.yaml]\n",
            "chart/templates/secret.yaml": """
                apiVersion: v1
                kind: Secret
                metadata:
                  name: db
                stringData:
                  user: {{ .Values.db.user }}
                  password: {{ .Values.db.password }}
                """,
        }
    )
    write_encrypted(root, "chart/secrets.enc.yaml", f"db:\n  password: {PASSWORD}\n", age_key)

    [secret] = render(root)
    assert secret.obj["stringData"] == {"user": "app", "password": PASSWORD}
    assert PASSWORD in secret.sensitive


def test_decryption_writes_nothing_to_disk(write_tree: WriteTree, age_key: AgeKey, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The plaintext exists only in memory: no file anywhere gitops or sops might write holds it."""
    root = write_tree({})
    write_encrypted(root, "secret.yaml", SECRET, age_key)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    for variable in ("TMPDIR", "HOME", "XDG_CACHE_HOME", "GITOPS_CACHE_DIR"):
        monkeypatch.setenv(variable, str(scratch))

    render(root)
    written = [p for directory in (scratch, root) for p in directory.rglob("*") if p.is_file()]
    assert all(PASSWORD not in p.read_text(errors="replace") for p in written)
    assert sorted(os.listdir(root)) == ["secret.yaml"]
