"""Secrets written with stringData: applied, compared and pruned key by key like data, never printed."""

from __future__ import annotations

import base64

SECRET = """
apiVersion: v1
kind: Secret
metadata: {{name: db}}
stringData:
{keys}
"""


def secret(**keys: str) -> dict[str, str]:
    return {"secret.yaml": SECRET.format(keys="\n".join(f"  {k}: {v}" for k, v in keys.items()))}


def decoded(live: dict) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in live["data"].items()}


def test_string_data_keys_are_applied_and_a_key_removed_from_git_leaves_the_cluster(gitops, repo, kube, namespace):
    repo.write(secret(user="admin", password="hunter2-very-secret"))
    first = gitops("sync", str(repo))
    assert first.code == 0, first.out + first.err
    assert decoded(kube.get("v1", "Secret", "db", namespace)) == {"user": "admin", "password": "hunter2-very-secret"}

    again = gitops("diff", str(repo))
    assert again.code == 0, again.out
    assert "in sync" in again.out

    repo.write(secret(user="admin"))
    planned = gitops("diff", str(repo))
    assert planned.code == 1
    assert "password" in planned.out
    assert "hunter2-very-secret" not in planned.out + planned.err
    assert gitops("sync", str(repo)).code == 0
    assert decoded(kube.get("v1", "Secret", "db", namespace)) == {"user": "admin"}
