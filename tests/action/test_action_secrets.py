"""What gets masked. No cluster."""

from __future__ import annotations

import base64

import pytest

from gitops.action.secrets import kubeconfig_secrets, parse_kubeconfig, secret_values
from gitops.errors import ConfigError
from gitops.objects import Manifest, Origin

KUBECONFIG = """
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: Q0FEQVRB}
users:
- name: u
  user: {token: "sha256~tok3n-value", client-key-data: S0VZREFUQQ==}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
"""


def test_kubeconfig_credentials_are_masked_not_the_server() -> None:
    values = kubeconfig_secrets(parse_kubeconfig(KUBECONFIG))
    assert values == ["S0VZREFUQQ==", "sha256~tok3n-value"]


@pytest.mark.parametrize("content", ["token: [unclosed sha256~tok3n-value", "/home/me/.kube/config"])
def test_bad_kubeconfig_never_echoes_its_content(content: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_kubeconfig(content)
    assert "tok3n" not in str(caught.value) and ".kube" not in str(caught.value)
    assert str(caught.value).startswith("input kubeconfig: ")


def test_secret_values_encoded_and_decoded() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "data": {"password": base64.b64encode(b"hunter2-pw").decode()},
        "stringData": {"token": "plain-token"},
    }
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "visible"}}
    values = secret_values([Manifest(secret, Origin("s.yaml")), Manifest(config_map, Origin("c.yaml"))])
    assert set(values) == {base64.b64encode(b"hunter2-pw").decode(), "hunter2-pw", "plain-token"}
