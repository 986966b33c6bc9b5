"""Hand-built change sets shared by the report tests."""

from __future__ import annotations

import base64

from gitops.changeset import Action, ChangeSet, Entry, FieldChange, Health
from gitops.objects import ObjectRef, Origin

SHA = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
SECRET_PLAIN = "hunter2-very-secret"
SECRET_NEW_PLAIN = "correct-horse-battery"
SECRET_B64 = base64.b64encode(SECRET_PLAIN.encode()).decode()
SECRET_NEW_B64 = base64.b64encode(SECRET_NEW_PLAIN.encode()).decode()
SECRET_STRINGS = (SECRET_PLAIN, SECRET_NEW_PLAIN, SECRET_B64, SECRET_NEW_B64)


def ref(kind: str, name: str, *, group: str = "", version: str = "v1", namespace: str = "shop") -> ObjectRef:
    return ObjectRef(group=group, kind=kind, namespace=namespace, name=name, version=version)


def deployment(replicas: int, image: str = "nginx:1.25") -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": "web", "image": image}]}},
        },
    }


def configmap(name: str, data: dict) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "shop"},
        "data": data,
    }


def secret(data: dict) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "shop"},
        "type": "Opaque",
        "data": data,
    }


def update_entry() -> Entry:
    return Entry(
        ref=ref("Deployment", "web", group="apps"),
        action=Action.UPDATE,
        origin=Origin(file="apps/web.yaml", line=1),
        changes=[
            FieldChange("spec.replicas", 5, 3, manager="kubectl-edit", operation="Update"),
            FieldChange("spec.template.spec.containers[name=web].image", "nginx:1.24", "nginx:1.25"),
        ],
        live=deployment(5, "nginx:1.24"),
        desired=deployment(3),
        wave=1,
    )


def create_entry() -> Entry:
    return Entry(
        ref=ref("ConfigMap", "settings"),
        action=Action.CREATE,
        origin=Origin(file="apps/settings.yaml", document=1, line=12),
        desired=configmap("settings", {"mode": "fast", "motd": "hello\nworld\n"}),
    )


def prune_entry() -> Entry:
    return Entry(ref=ref("ConfigMap", "old"), action=Action.PRUNE, live=configmap("old", {"a": "1"}))


def secret_entry() -> Entry:
    return Entry(
        ref=ref("Secret", "creds"),
        action=Action.UPDATE,
        origin=Origin(file="apps/secret.yaml"),
        changes=[
            FieldChange(
                "data.password", SECRET_B64, SECRET_NEW_B64, manager="kubectl-edit", operation="Update"
            ),
            FieldChange("data.token", None, SECRET_B64),
        ],
        live=secret({"password": SECRET_B64, "user": "YWRtaW4="}),
        desired=secret({"password": SECRET_NEW_B64, "user": "YWRtaW4=", "token": SECRET_B64}),
    )


def unchanged(count: int) -> list[Entry]:
    return [Entry(ref=ref("ConfigMap", f"same-{i}"), action=Action.UNCHANGED) for i in range(count)]


def plan() -> ChangeSet:
    """A dry-run plan: 2 to create, 2 to update, 1 to prune, 40 unchanged, 1 skipped, 1 failed."""
    return ChangeSet(
        source="https://github.com/acme/deploy",
        revision=SHA,
        path="apps",
        dirty=True,
        dry_run=True,
        entries=[
            create_entry(),
            Entry(
                ref=ref("Namespace", "extra", namespace=""),
                action=Action.CREATE,
                origin=Origin(file="apps/ns.yaml", line=1),
                desired={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "extra"}},
            ),
            update_entry(),
            secret_entry(),
            prune_entry(),
            *unchanged(40),
            Entry(
                ref=ref("ConfigMap", "keep"),
                action=Action.SKIPPED,
                reason="pruning disabled by annotation gitops.io/prune: disabled",
            ),
            Entry(
                ref=ref("Deployment", "api", group="apps"),
                action=Action.FAILED,
                origin=Origin(file="apps/api.yaml", line=3),
                reason="Invalid",
                error='Deployment.apps "api" is invalid: spec.replicas: Invalid value: -1: must be >= 0',
            ),
        ],
    )


def synced() -> ChangeSet:
    """A sync that ran: 1 created, 1 updated, 1 pruned, 3 unchanged, 1 failed, health assessed."""
    created, updated, pruned = create_entry(), update_entry(), prune_entry()
    for entry in (created, updated, pruned):
        entry.done = True
    updated.health = Health.PROGRESSING
    updated.health_message = (
        'Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...'
    )
    failed = Entry(
        ref=ref("ConfigMap", "bad"), action=Action.FAILED, reason="Conflict", error="conflict with helm"
    )
    return ChangeSet(
        source="/src/repo",
        revision=SHA,
        dry_run=False,
        entries=[created, updated, pruned, *unchanged(3), failed],
        errors=["health: timed out after 300s waiting for 1 object"],
    )


def in_sync() -> ChangeSet:
    return ChangeSet(source="/src/repo", revision=None, entries=unchanged(40))
