"""CRDs with their custom resources in one sync, sync waves and --wait."""

from __future__ import annotations


def widget(group: str, name: str, ready: str | None = None, wave: int | None = None) -> str:
    annotations = f'\n  annotations:\n    gitops.io/sync-wave: "{wave}"' if wave is not None else ""
    status = (
        f"\nstatus:\n  observedGeneration: 1\n  conditions:\n  - type: Ready\n    status: \"{ready}\"\n" if ready else "\n"
    )
    return f"apiVersion: {group}/v1\nkind: Widget\nmetadata:\n  name: {name}{annotations}\nspec:\n  size: 3{status}"


def test_crd_and_its_custom_resources_in_one_sync(gitops, repo, kube, namespace, crd):
    group, definition = crd
    repo.write({"crd.yaml": definition, "widget.yaml": widget(group, "w1")})

    planned = gitops("sync", str(repo), "--dry-run", "-o", "json")
    assert planned.code == 0, planned.out
    entry = planned.entries()["Widget w1"]
    assert entry["action"] == "create"
    assert "CustomResourceDefinition is created by this sync" in entry["reason"]
    assert planned.entries()[f"CustomResourceDefinition widgets.{group}"]["action"] == "create"

    synced = gitops("sync", str(repo), "-o", "json")
    assert synced.code == 0, synced.out
    assert kube.get(f"{group}/v1", "Widget", "w1", namespace)["spec"] == {"size": 3}
    again = gitops("diff", str(repo))
    assert again.code == 0, again.out


def test_waves_apply_in_order_and_wait_for_health(gitops, repo, kube, namespace, crd):
    group, definition = crd
    repo.write({"crd.yaml": definition})
    assert gitops("sync", str(repo)).code == 0
    repo.write({
        "first.yaml": widget(group, "first", ready="True", wave=-1),
        "second.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second\n",
    })
    result = gitops("sync", str(repo), "--wait", "--timeout", "30", "-o", "json")
    assert result.code == 0, result.out
    entries = result.entries()
    assert [e["ref"]["name"] for e in result.json()["entries"]][:3] == ["first", f"widgets.{group}", "second"]
    assert entries["Widget first"]["health"]["status"] == "Healthy"
    assert entries["ConfigMap second"]["health"]["status"] == "Healthy"


def test_a_wave_that_never_gets_healthy_holds_back_the_next(gitops, repo, kube, namespace, crd):
    group, definition = crd
    repo.write({
        "crd.yaml": definition,
        "first.yaml": widget(group, "first", ready="False", wave=0),
        "second.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second\n  annotations:\n    gitops.io/sync-wave: "1"\n',
    })
    result = gitops("sync", str(repo), "--wait", "--timeout", "1", "-o", "json")
    assert result.code == 8, result.out
    (error,) = result.json()["errors"]
    assert f"Widget {namespace}/first: Progressing" in error
    second = result.entries()["ConfigMap second"]
    assert second["action"] == "skipped"
    assert "wave 0" in second["reason"]
    assert kube.get("v1", "ConfigMap", "second", namespace) is None


def test_a_failure_holds_back_later_waves(gitops, repo, kube, namespace):
    repo.write({
        "first.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\ndata:\n  a: '1'\n",
        "unknown.yaml": f"apiVersion: {namespace}.example.com/v1\nkind: Gizmo\nmetadata:\n  name: g\n",
        "later.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: later\n  annotations:\n    gitops.io/sync-wave: '1'\n",
    })
    result = gitops("sync", str(repo), "-o", "json")
    assert result.code == 6
    entries = result.entries()
    assert entries["Gizmo g"]["action"] == "failed"
    assert entries["ConfigMap first"]["done"] is True, "the rest of the failing wave is applied"
    assert entries["ConfigMap later"]["action"] == "skipped"
    assert kube.get("v1", "ConfigMap", "later", namespace) is None
