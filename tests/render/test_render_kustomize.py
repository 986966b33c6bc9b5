"""Kustomize directories: built with the real kubectl from the venv, or kustomize when installed."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest
from render_helpers import EXAMPLE_REPO, WriteTree, configmap

from gitops.errors import RenderError
from gitops.objects import Origin
from gitops.render import RenderOptions, render
from gitops.render.kustomize import find_command

VENV_BIN = str(Path(sys.executable).parent)
KUBECTL_ONLY = RenderOptions(search_path=(VENV_BIN,))

pytestmark = pytest.mark.kubectl


def executable(path: Path, script: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_the_venv_kubectl_is_found_next_to_the_running_python() -> None:
    command = find_command(KUBECTL_ONLY.search_path or ())
    assert command is not None
    assert command[1:] == ["kustomize"]
    assert Path(command[0]).parent == Path(VENV_BIN)


def test_kustomization_output_carries_the_directory_as_origin(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "plain.yaml": configmap("plain"),
            "overlay/kustomization.yaml": "namespace: shop\nresources: [base]\n",
            "overlay/base/kustomization.yml": "resources: [cm.yaml]\n",
            "overlay/base/cm.yaml": configmap("a", namespace="x") + "---\n" + configmap("b", namespace="x"),
        }
    )
    manifests = render(root, options=KUBECTL_ONLY)
    assert [(m.ref.short, m.origin) for m in manifests] == [
        ("ConfigMap shop/a", Origin("overlay", document=0)),
        ("ConfigMap shop/b", Origin("overlay", document=1)),
        ("ConfigMap shop/plain", Origin("plain.yaml", line=1)),
    ]


def test_the_rendered_directory_itself_may_be_a_kustomization(write_tree: WriteTree) -> None:
    root = write_tree({"Kustomization": "resources: [cm.yaml]\n", "cm.yaml": configmap("only")})
    manifests = render(root, options=KUBECTL_ONLY)
    assert [(m.ref.name, m.origin.file) for m in manifests] == [("only", ".")]


def test_kustomize_failure_names_the_directory_and_its_first_stderr_line(write_tree: WriteTree) -> None:
    root = write_tree({"app/kustomization.yaml": "resources: [missing.yaml]\n", "ok.yaml": configmap("ok")})
    with pytest.raises(RenderError) as caught:
        render(root, options=KUBECTL_ONLY)
    [problem] = caught.value.problems
    assert str(problem).startswith("app: kustomization: kubectl kustomize failed: error: ")
    assert "missing.yaml" in str(problem)


def test_no_kustomize_binary_is_a_clear_error(write_tree: WriteTree, tmp_path: Path) -> None:
    root = write_tree({"app/kustomization.yaml": "resources: []\n"})
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    with pytest.raises(RenderError) as caught:
        render(root, options=RenderOptions(search_path=(str(empty),)))
    assert [str(p) for p in caught.value.problems] == [
        "app: kustomization: neither kustomize nor kubectl is installed to build it: "
        "install kustomize or kubectl, or run: pip install 'gitops[kubectl]'"
    ]


def test_kustomize_is_preferred_when_installed(write_tree: WriteTree, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    executable(bin_dir / "kustomize", f"[ \"$1\" = build ] && printf '{configmap('from-kustomize')}'\n")
    root = write_tree({"app/kustomization.yaml": "resources: []\n"})
    manifests = render(root, options=RenderOptions(search_path=(str(bin_dir), VENV_BIN)))
    assert [m.ref.name for m in manifests] == ["from-kustomize"]


def test_kustomize_runs_with_a_timeout(write_tree: WriteTree, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    executable(bin_dir / "kustomize", "exec sleep 30\n")
    root = write_tree({"app/kustomization.yaml": "resources: []\n"})
    with pytest.raises(RenderError) as caught:
        render(root, options=RenderOptions(search_path=(str(bin_dir),), kustomize_timeout=0.3))
    assert [str(p) for p in caught.value.problems] == [
        "app: kustomization: kustomize build timed out after 0.3s"
    ]


def test_objects_from_kustomize_and_plain_files_are_checked_together(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "app/kustomization.yaml": "resources: [cm.yaml]\n",
            "app/cm.yaml": configmap("web"),
            "web.yaml": configmap("web") + "data:\n  on: yes\n",
        }
    )
    with pytest.raises(RenderError) as caught:
        render(root, options=KUBECTL_ONLY)
    assert [str(p) for p in caught.value.problems] == [
        "web.yaml:1: v1 ConfigMap shop/web: key True in data is a boolean, not a string: quote it "
        "(YAML reads yes/no/on/off/true/false unquoted as booleans)",
        "web.yaml:1: v1 ConfigMap shop/web: defined twice: also at app",
    ]


def test_example_repo_renders_each_object_exactly_once() -> None:
    manifests = render(EXAMPLE_REPO, options=KUBECTL_ONLY)
    refs = [m.ref for m in manifests]
    assert len(refs) == len(set(refs))
    assert sorted(str(r) for r in refs) == [
        "apiextensions.k8s.io/v1 CustomResourceDefinition widgets.example.com",
        "apps/v1 Deployment shop/web",
        "example.com/v1 Widget shop/banner",
        "rbac.authorization.k8s.io/v1 ClusterRole widgets-view",
        "rbac.authorization.k8s.io/v1 Role shop/web",
        "rbac.authorization.k8s.io/v1 RoleBinding shop/web",
        "v1 ConfigMap shop/web-config",
        "v1 Namespace shop",
        "v1 Secret shop/web-credentials",
        "v1 Service shop/web",
        "v1 ServiceAccount shop/web",
    ]
    by_kind = {m.ref.kind: m for m in manifests}
    assert by_kind["Deployment"].origin.file == "app"
    assert "replicas" not in by_kind["Deployment"].obj["spec"]
    container = by_kind["Deployment"].obj["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["requests"]["cpu"] == 0.5
    assert {"livenessProbe", "readinessProbe"} <= container.keys()
    assert by_kind["Role"].origin == Origin("rbac.yaml", document=1, line=8)
