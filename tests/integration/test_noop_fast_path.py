"""The no-op fast path (no dry run where managedFields prove a re-apply changes nothing) never
hides drift: a quantity or value someone else changed is still shown, attributed, and healed."""

from __future__ import annotations

APP = {
    "web.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          replicas: 1
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
              - name: app
                image: registry.k8s.io/pause:3.9
                resources:
                  requests: {cpu: "0.1", memory: 1024Mi}
                  limits: {cpu: 0.5}
    """,
    "config.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: limits
        data:
          cpu: "0.1"
    """,
}
CONTAINER = {"name": "app", "image": "registry.k8s.io/pause:3.9",
             "resources": {"requests": {"cpu": "200m", "memory": "1Gi"}, "limits": {"cpu": "500m"}}}


def test_canonical_quantities_are_in_sync(gitops, repo, kube, namespace):
    repo.write(APP)
    assert gitops("sync", str(repo)).code == 0
    live = kube.get("apps/v1", "Deployment", "web", namespace)
    assert live["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "100m", "memory": "1Gi"}
    assert gitops("diff", str(repo)).code == 0


def test_a_quantity_changed_by_another_manager_is_drift(gitops, repo, kube, namespace):
    repo.write(APP)
    assert gitops("sync", str(repo)).code == 0
    kube.edit("apps/v1", "Deployment", "web", namespace,
              {"spec": {"template": {"spec": {"containers": [CONTAINER]}}}}, manager="kubectl-edit")

    diff = gitops("diff", str(repo), "-o", "json")
    assert diff.code == 1, diff.out + diff.err
    (change,) = diff.entries()["Deployment web"]["changes"]
    assert (change["path"], change["before"], change["after"]) == (
        "spec.template.spec.containers[name=app].resources.requests.cpu", "200m", "100m")
    assert change["manager"] == "kubectl-edit"

    assert gitops("sync", str(repo)).code == 0
    live = kube.get("apps/v1", "Deployment", "web", namespace)
    assert live["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "100m"
    assert gitops("diff", str(repo)).code == 0


def test_a_quantity_like_string_outside_resources_is_compared_as_written(gitops, repo, kube, namespace):
    repo.write(APP)
    assert gitops("sync", str(repo)).code == 0
    kube.edit("v1", "ConfigMap", "limits", namespace, {"data": {"cpu": "100m"}}, manager="kubectl-edit")

    diff = gitops("diff", str(repo), "-o", "json")
    assert diff.code == 1
    (change,) = diff.entries()["ConfigMap limits"]["changes"]
    assert (change["path"], change["before"], change["after"], change["manager"]) == (
        "data.cpu", "100m", "0.1", "kubectl-edit")
