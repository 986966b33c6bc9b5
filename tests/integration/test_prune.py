"""Pruning through the CLI: only our ApplySet's members gone from Git, behind every guard."""

from __future__ import annotations


def configmaps(count: int, prefix: str = "cm", **annotations: str) -> dict[str, str]:
    notes = "".join(f"\n  annotations:\n    {k}: \"{v}\"" for k, v in annotations.items())
    return {
        f"{prefix}{i}.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {prefix}{i}{notes}\ndata:\n  i: \"{i}\"\n"
        for i in range(count)
    }


def names(kube, namespace):
    items = kube.resource("v1", "ConfigMap").get(namespace=namespace).to_dict()["items"]
    return {item["metadata"]["name"] for item in items if item["metadata"]["name"].startswith(("cm", "keep"))}


def test_prune_deletes_only_members_removed_from_git(gitops, repo, make_repo, kube, namespace):
    repo.write(configmaps(3))
    assert gitops("sync", str(repo)).code == 0
    # Not ours: created by someone else in the same namespace, and a member of another ApplySet.
    kube.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm-other", "namespace": namespace}},
               manager="kubectl")
    other = make_repo("other")
    other.write({"other.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-other-set\n"})
    assert gitops("sync", str(other), applyset="other").code == 0
    repo.remove("cm2.yaml")

    off = gitops("sync", str(repo), "-o", "json")
    assert off.code == 0
    skipped = off.entries()["ConfigMap cm2"]
    assert (skipped["action"], skipped["reason"]) == ("skipped", "orphaned: no longer in Git; pruning is off (--prune)")
    assert skipped["orphan"] is True
    assert "cm2" in names(kube, namespace)

    planned = gitops("sync", str(repo), "--prune", "--dry-run", "-o", "json")
    assert planned.code == 0
    assert planned.entries()["ConfigMap cm2"]["action"] == "prune"
    assert "cm2" in names(kube, namespace), "a dry run deletes nothing"

    pruned = gitops("sync", str(repo), "--prune", "-o", "json")
    assert pruned.code == 0, pruned.out
    assert pruned.entries()["ConfigMap cm2"]["done"] is True
    assert names(kube, namespace) == {"cm0", "cm1", "cm-other", "cm-other-set"}


def test_prune_disabled_annotation_keeps_the_object(gitops, repo, kube, namespace):
    repo.write({**configmaps(2), **configmaps(1, prefix="keep", **{"gitops.io/prune": "disabled"})})
    assert gitops("sync", str(repo)).code == 0
    repo.remove("keep0.yaml")
    result = gitops("sync", str(repo), "--prune", "-o", "json")
    assert result.code == 0
    assert result.entries()["ConfigMap keep0"]["action"] == "skipped"
    assert "keep0" in names(kube, namespace)


def test_empty_render_prunes_nothing_unless_allowed(gitops, repo, kube, namespace):
    repo.write(configmaps(2))
    assert gitops("sync", str(repo)).code == 0
    repo.remove("cm0.yaml", "cm1.yaml")
    refused = gitops("sync", str(repo), "--prune")
    assert refused.code == 7
    assert "--allow-empty" in refused.out
    assert names(kube, namespace) == {"cm0", "cm1"}
    allowed = gitops("sync", str(repo), "--prune", "--allow-empty")
    assert allowed.code == 0
    assert names(kube, namespace) == set()


def test_prune_cap_refuses_a_mass_deletion_unless_confirmed(gitops, repo, kube, namespace):
    repo.write(configmaps(10))
    assert gitops("sync", str(repo)).code == 0
    repo.write({"cm0.yaml": configmaps(1)["cm0.yaml"].replace('i: "0"', 'i: "changed"')})
    for i in range(3, 10):
        repo.remove(f"cm{i}.yaml")

    previewed = gitops("sync", str(repo), "--prune", "--dry-run")
    assert previewed.code == 7, "a dry run shows the refusal and fails like the sync would"
    assert "refusing to prune 7 of 10" in previewed.out

    refused = gitops("sync", str(repo), "--prune", "-o", "json")
    assert refused.code == 7
    assert "refusing to prune 7 of 10" in refused.json()["errors"][0]
    assert len(names(kube, namespace)) == 10, "nothing pruned"
    assert kube.get("v1", "ConfigMap", "cm0", namespace)["data"] == {"i": "0"}, "a refused sync writes nothing"

    assert gitops("sync", str(repo), "--prune", "--max-prune", "6").code == 7
    confirmed = gitops("sync", str(repo), "--prune", "--confirm-prune")
    assert confirmed.code == 0
    assert names(kube, namespace) == {"cm0", "cm1", "cm2"}


def test_a_failed_render_prunes_nothing(gitops, repo, kube, namespace):
    repo.write(configmaps(2))
    assert gitops("sync", str(repo)).code == 0
    repo.write({"cm1.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [broken\n"})
    result = gitops("sync", str(repo), "--prune", "--allow-empty", "--confirm-prune")
    assert result.code == 4
    assert "cm1.yaml" in result.err
    assert names(kube, namespace) == {"cm0", "cm1"}


def test_an_applyset_of_another_tool_is_refused(gitops, repo, kube, namespace):
    kube.apply({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "theirs", "namespace": namespace,
                     "annotations": {"applyset.kubernetes.io/tooling": "kubectl/v1.30"}},
    }, manager="kubectl")
    repo.write(configmaps(1))
    result = gitops("sync", str(repo), "--prune", applyset="theirs")
    assert result.code == 7
    assert "another tool" in result.err
    assert names(kube, namespace) == set()


def test_the_inventory_is_a_kubectl_compatible_applyset(gitops, repo, kube, namespace):
    repo.write(configmaps(1))
    assert gitops("sync", str(repo)).code == 0
    parent = kube.get("v1", "ConfigMap", "app", namespace)
    labels, annotations = parent["metadata"]["labels"], parent["metadata"]["annotations"]
    assert labels["applyset.kubernetes.io/id"].startswith("applyset-")
    assert annotations["applyset.kubernetes.io/tooling"].startswith("gitops/v")
    assert annotations["applyset.kubernetes.io/contains-group-kinds"] == "ConfigMap"
    member = kube.get("v1", "ConfigMap", "cm0", namespace)
    assert member["metadata"]["labels"]["applyset.kubernetes.io/part-of"] == labels["applyset.kubernetes.io/id"]
