"""Helm charts and SOPS-encrypted files synced to the cluster; decrypted values never printed."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path

import pytest

from tests.sops_age import AgeKey, encrypt, use_new_key

PASSWORD = "correct-horse-battery-staple"
ROTATED = "tr0ub4dor-and-3-rotated"

CHART = {
    "web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "web/values.yaml": "greeting: hello\ndb:\n  password: ''\n",
    "web/gitops-release.yaml": "valuesFiles: [secrets.enc.yaml]\n",
    "web/templates/NOTES.txt": "{{ .Release.Name }} installed\n",
    "web/templates/config.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .Release.Name }}-settings
        data:
          greeting: {{ .Values.greeting | quote }}
          url: "postgres://web:{{ .Values.db.password }}@db/web"
        """,
}


@pytest.fixture
def age_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AgeKey:
    return use_new_key(monkeypatch, tmp_path)


def secret_manifest(password: str) -> str:
    return f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\nstringData:\n  password: {password}\n"


def write_app(repo, key: AgeKey, password: str = PASSWORD) -> None:
    repo.write(CHART)
    root = Path(str(repo))
    (root / "web/secrets.enc.yaml").write_text(encrypt(f"db:\n  password: {password}\n", key))
    (root / "db-secret.enc.yaml").write_text(
        encrypt(secret_manifest(password), key, encrypted_regex="^(data|stringData)$")
    )


def password_in_cluster(kube, namespace: str) -> str:
    secret = kube.get("v1", "Secret", "db", namespace)
    return base64.b64decode(secret["data"]["password"]).decode()


def test_a_chart_syncs_and_diffs_like_plain_manifests(gitops, repo, kube, namespace, age_key):
    write_app(repo, age_key)

    synced = gitops("sync", str(repo))
    assert synced.code == 0, synced.out + synced.err
    config = kube.get("v1", "ConfigMap", "web-settings", namespace)
    assert config["data"]["greeting"] == "hello"
    assert config["data"]["url"] == f"postgres://web:{PASSWORD}@db/web"
    assert password_in_cluster(kube, namespace) == PASSWORD

    assert gitops("diff", str(repo)).code == 0

    repo.write({"web/gitops-release.yaml": "valuesFiles: [secrets.enc.yaml]\nvalues:\n  greeting: bonjour\n"})
    planned = gitops("diff", str(repo), "-o", "json")
    assert planned.code == 1
    [changed] = [e for e in planned.json()["entries"] if e["action"] == "update"]
    assert changed["ref"]["name"] == "web-settings"
    assert changed["origin"]["file"] == "web/templates/config.yaml"

    assert gitops("sync", str(repo)).code == 0
    assert kube.get("v1", "ConfigMap", "web-settings", namespace)["data"]["greeting"] == "bonjour"


@pytest.mark.parametrize("output", ["text", "json", "yaml", "markdown"])
def test_decrypted_values_are_masked_in_every_report_format(gitops, repo, kube, namespace, age_key, output):
    write_app(repo, age_key)
    first = gitops("sync", str(repo), "-o", output)
    assert first.code == 0, first.out + first.err
    assert PASSWORD not in first.out + first.err

    write_app(repo, age_key, password=ROTATED)  # a new secret, in a Secret and inside a ConfigMap value
    planned = gitops("diff", str(repo), "-o", output)
    assert planned.code == 1
    assert "web-settings" in planned.out and "db" in planned.out
    assert PASSWORD not in planned.out + planned.err and ROTATED not in planned.out + planned.err
    assert "***" in planned.out

    synced = gitops("sync", str(repo), "-o", output)
    assert synced.code == 0, synced.out + synced.err
    assert PASSWORD not in synced.out + synced.err and ROTATED not in synced.out + synced.err
    assert password_in_cluster(kube, namespace) == ROTATED


def test_a_template_error_applies_nothing(gitops, repo, kube, namespace, age_key):
    write_app(repo, age_key)
    repo.write({"web/templates/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.x.y }}\n"})

    result = gitops("sync", str(repo))
    assert result.code == 4
    assert "web/templates/broken.yaml:4" in result.err
    assert kube.get("v1", "ConfigMap", "web-settings", namespace) is None
    assert kube.get("v1", "Secret", "db", namespace) is None


def test_without_the_key_nothing_is_applied_or_pruned(gitops, repo, kube, namespace, age_key, monkeypatch):
    write_app(repo, age_key)
    repo.write({"extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n"})
    assert gitops("sync", str(repo), "--prune").code == 0

    repo.remove("extra.yaml")  # would be pruned by a successful sync
    write_app(repo, age_key, password=ROTATED)
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    result = gitops("sync", str(repo), "--prune")

    assert result.code == 4
    assert "db-secret.enc.yaml" in result.err
    assert ROTATED not in result.out + result.err
    assert kube.get("v1", "ConfigMap", "extra", namespace) is not None
    assert password_in_cluster(kube, namespace) == PASSWORD


def test_the_example_syncs_with_its_example_key(cli, cluster, namespace, monkeypatch):
    """examples/helm-sops as the README's next steps run it (into the test's namespace instead of cafe)."""
    example = Path(__file__).resolve().parents[2] / "examples" / "helm-sops"
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(example / "example-age-key.txt"))
    args = ["--kubeconfig", str(cluster.kubeconfig), "-n", namespace, "--applyset", "example", "--path", "web"]
    synced = cli("sync", str(example), *args)
    assert synced.code == 0, synced.out + synced.err
    assert "espresso" not in synced.out
    assert cli("diff", str(example), *args).code == 0
    assert textwrap.dedent(cli("render", str(example), "--path", "web", "-n", namespace).out).count("kind:") == 4
