"""Kustomize confinement (no build): every reference a kustomization tree names stays inside the root."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops.render.confine import Refused, check


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@pytest.mark.parametrize(("kustomization", "field"), [
    ("patches:\n  - path: ../../outside.yaml\n", "patches '../../outside.yaml'"),
    ("patchesStrategicMerge:\n  - ../../outside.yaml\n", "patchesStrategicMerge '../../outside.yaml'"),
    ("patchesJson6902:\n  - path: ../../outside.yaml\n", "patchesJson6902 '../../outside.yaml'"),
    ("configMapGenerator:\n  - name: c\n    files: [key=../../outside.yaml]\n", "configMapGenerator files '../../outside.yaml'"),
    ("secretGenerator:\n  - name: s\n    envs: [../../outside.env]\n", "secretGenerator envs '../../outside.env'"),
    ("components:\n  - ../../outside\n", "components '../../outside'"),
    ("crds:\n  - ../../outside.yaml\n", "crds '../../outside.yaml'"),
    ("openapi:\n  path: ../../schema.json\n", "openapi '../../schema.json'"),
    ("helmCharts:\n  - name: c\n    valuesFile: ../../values.yaml\n", "helmCharts valuesFile '../../values.yaml'"),
])
def test_every_kind_of_reference_is_checked(tmp_path: Path, kustomization: str, field: str) -> None:
    root = tmp_path / "repo"
    write(root, {"app/kustomization.yaml": kustomization})
    with pytest.raises(Refused) as refused:
        check(root / "app", root)
    assert str(refused.value).startswith(f"app/kustomization.yaml: {field} resolves outside the source")


def test_bases_are_followed_and_their_references_checked_too(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(root, {"overlay/kustomization.yaml": "resources: [../base]\n",
                 "base/kustomization.yaml": "resources: [cm.yaml, ../../../etc]\n", "base/cm.yaml": ""})
    with pytest.raises(Refused, match=r"^base/kustomization.yaml: resources '../../../etc'"):
        check(root / "overlay", root)


def test_inline_patches_and_references_inside_the_root_pass(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(root, {"app/kustomization.yaml": "resources: [cm.yaml, ../shared]\n"
                                          "patchesStrategicMerge:\n  - |\n    kind: ConfigMap\n",
                 "app/cm.yaml": "", "shared/kustomization.yaml": "resources: []\n"})
    check(root / "app", root)


def test_remote_bases_pass_only_when_allowed(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(root, {"app/kustomization.yaml": "resources:\n  - https://github.com/org/repo//base?ref=v1\n"})
    with pytest.raises(Refused, match="is a remote base"):
        check(root / "app", root)
    check(root / "app", root, allow_remote=True)
