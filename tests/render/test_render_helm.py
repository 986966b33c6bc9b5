"""Helm charts rendered as `helm template` renders them, with Helm's own engine (the gitops[helm] extra)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from render_helpers import WriteTree

from gitops.cli import cli
from gitops.errors import RenderError
from gitops.render import RenderOptions, render

CHART = {
    "web/Chart.yaml": """
        apiVersion: v2
        name: webapp
        version: 0.1.0
        """,
    "web/values.yaml": """
        replicas: 1
        greeting: hello
        """,
    "web/templates/_helpers.tpl": """
        {{- define "web.fullname" -}}{{ .Release.Name }}-app{{- end }}
        """,
    "web/templates/NOTES.txt": "Installed {{ .Release.Name }} into {{ .Release.Namespace }}.\n",
    "web/templates/config.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ include "web.fullname" . }}
        data:
          greeting: {{ .Values.greeting | quote }}
          replicas: {{ .Values.replicas | quote }}
          release-namespace: {{ .Release.Namespace }}
        """,
    "web/templates/optional.yaml": """
        {{- if .Values.extra }}
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: extra
        {{- end }}
        """,
    "web/templates/readme.txt": "not a manifest: {{ .Release.Name }}\n",
    "web/templates/tests/test-connection.yaml": """
        apiVersion: v1
        kind: Pod
        metadata:
          name: {{ .Release.Name }}-test
          annotations:
            helm.sh/hook: test
        spec:
          containers: [{name: t, image: busybox}]
        """,
    "web/templates/role.yaml": """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata:
          name: {{ .Release.Name }}-reader
        rules: []
        """,
}


def by_name(manifests: list) -> dict[str, object]:
    return {m.obj["metadata"]["name"]: m for m in manifests}


def test_a_chart_renders_with_the_directory_as_release_name_and_namespace_from_the_options(
    write_tree: WriteTree,
) -> None:
    root = write_tree(CHART)
    manifests = by_name(render(root, options=RenderOptions(namespace="shop")))

    assert sorted(manifests) == ["web-app", "web-reader"]  # no NOTES.txt, no empty template, no test hook
    config = manifests["web-app"]
    assert config.obj["data"] == {"greeting": "hello", "replicas": "1", "release-namespace": "shop"}
    assert config.obj["metadata"]["namespace"] == "shop"  # as helm install places it
    assert "namespace" not in manifests["web-reader"].obj["metadata"]  # cluster-scoped
    assert str(config.origin) == "web/templates/config.yaml:1"


def test_gitops_release_file_sets_name_namespace_values_files_and_inline_values(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            **CHART,
            "web/gitops-release.yaml": """
                releaseName: front
                targetNamespace: frontend
                valuesFiles: [prod.yaml, ../shared/values.yaml]
                values:
                  replicas: 5
                """,
            "web/prod.yaml": "greeting: from prod\nreplicas: 3\nextra: true\n",
            "shared/values.yaml": "greeting: from shared\n",
        }
    )
    manifests = by_name(render(root / "web", root=root, options=RenderOptions(namespace="ignored")))

    config = manifests["front-app"].obj
    assert config["data"]["greeting"] == "from shared"  # files merge in order
    assert config["data"]["replicas"] == "5"  # inline values last
    assert config["metadata"]["namespace"] == "frontend"
    assert config["data"]["release-namespace"] == "frontend"
    assert "extra" in manifests


def test_a_chart_is_not_descended_into(write_tree: WriteTree) -> None:
    root = write_tree({**CHART, "web/ci/values-test.yaml": "replicas: 9\n", "web/crds-notes.yaml": "kind: x\n"})
    names = sorted(by_name(render(root)))
    assert names == ["web-app", "web-reader"]


def test_vendored_dependencies_render_with_their_origin(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            **CHART,
            "web/Chart.yaml": """
                apiVersion: v2
                name: webapp
                version: 0.1.0
                dependencies:
                  - name: cache
                    version: 1.0.0
                    repository: https://charts.example.com
                """,
            "web/values.yaml": "greeting: hi\nreplicas: 1\ncache:\n  size: 64Mi\n",
            "web/charts/cache/Chart.yaml": "apiVersion: v2\nname: cache\nversion: 1.0.0\n",
            "web/charts/cache/templates/cm.yaml": """
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: cache
                data:
                  size: {{ .Values.size }}
                """,
        }
    )
    cache = by_name(render(root))["cache"]
    assert cache.obj["data"] == {"size": "64Mi"}
    assert str(cache.origin) == "web/charts/cache/templates/cm.yaml:1"


def test_a_dependency_that_is_not_vendored_is_refused_without_fetching(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            **CHART,
            "web/Chart.yaml": """
                apiVersion: v2
                name: webapp
                version: 0.1.0
                dependencies:
                  - name: postgresql
                    version: 12.0.0
                    repository: oci://registry.example.com/charts
                """,
        }
    )
    with pytest.raises(RenderError) as caught:
        render(root)
    [problem] = caught.value.problems
    assert problem.origin.file == "web"
    assert "postgresql" in problem.message and "charts/" in problem.message


def test_a_template_error_names_the_template_file_and_line(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            **CHART,
            "web/templates/broken.yaml": """
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: broken
                data:
                  value: {{ .Values.missing.deep }}
                """,
        }
    )
    result = CliRunner().invoke(cli, ["validate", str(root)])
    assert result.exit_code == 4
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: web/templates/broken.yaml:6: ")
    assert "webapp/templates/broken.yaml:6" in first  # as Helm reports it
    assert "Traceback" not in result.stderr


def test_a_failing_required_value_is_a_render_error(write_tree: WriteTree) -> None:
    root = write_tree(
        {**CHART, "web/templates/req.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ required "name is required" .Values.name }}\n'}
    )
    with pytest.raises(RenderError) as caught:
        render(root)
    [problem] = caught.value.problems
    assert (problem.origin.file, problem.origin.line) == ("web/templates/req.yaml", 4)
    assert "name is required" in problem.message


@pytest.mark.parametrize(
    ("release", "complaint"),
    [
        ("releaseName: [a]\n", "releaseName"),
        ("valuesFile: [x.yaml]\n", "valuesFile"),
        ("valuesFiles: [missing.yaml]\n", "not found"),
        ("valuesFiles: [../../outside.yaml]\n", "outside the repository"),
    ],
)
def test_a_bad_release_file_is_a_render_error_naming_it(write_tree: WriteTree, release: str, complaint: str) -> None:
    root = write_tree({**CHART, "web/gitops-release.yaml": release})
    with pytest.raises(RenderError) as caught:
        render(root)
    [problem] = caught.value.problems
    assert problem.origin.file.startswith("web/")
    assert complaint in problem.message


def test_render_and_validate_accept_the_namespace_option(write_tree: WriteTree) -> None:
    root = write_tree(CHART)
    rendered = CliRunner().invoke(cli, ["render", str(root), "-n", "payments"])
    assert rendered.exit_code == 0, rendered.stderr
    config = next(doc for doc in yaml.safe_load_all(rendered.stdout) if doc["kind"] == "ConfigMap")
    assert config["metadata"]["namespace"] == "payments"
    validated = CliRunner().invoke(cli, ["validate", str(root), "--namespace", "payments"])
    assert (validated.exit_code, validated.stdout.strip()) == (0, "2 objects valid")


def test_without_the_helm_extra_a_chart_is_an_error_naming_the_extra(
    write_tree: WriteTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_tree(CHART)
    monkeypatch.setitem(sys.modules, "helm_python", None)  # as if gitops[helm] were not installed
    with pytest.raises(RenderError) as caught:
        render(root)
    [problem] = caught.value.problems
    assert problem.origin.file == "web"
    assert "gitops[helm]" in problem.message


def test_the_example_chart_renders(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "helm-sops"
    key = example / "example-age-key.txt"
    result = CliRunner(env={"SOPS_AGE_KEY_FILE": str(key)}).invoke(cli, ["render", str(example), "-n", "cafe"])
    assert result.exit_code == 0, result.stderr
    kinds = sorted(doc["kind"] for doc in yaml.safe_load_all(result.stdout))
    assert kinds == ["ConfigMap", "Deployment", "Namespace", "Secret", "Secret", "Service"]


def test_crds_of_the_chart_come_first_and_stay_cluster_scoped(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            **CHART,
            "web/crds/widgets.yaml": """
                apiVersion: apiextensions.k8s.io/v1
                kind: CustomResourceDefinition
                metadata:
                  name: widgets.example.com
                spec:
                  group: example.com
                  names: {kind: Widget, plural: widgets}
                  scope: Namespaced
                  versions: [{name: v1, served: true, storage: true}]
                """,
        }
    )
    [crd, *rest] = render(root, options=RenderOptions(namespace="shop"))
    assert (crd.obj["kind"], str(crd.origin)) == ("CustomResourceDefinition", "web/crds/widgets.yaml:1")
    assert "namespace" not in crd.obj["metadata"]
    assert len(rest) == 2


LOCAL_DEPENDENCY = {
    **CHART,
    "web/Chart.yaml": """
        apiVersion: v2
        name: webapp
        version: 0.1.0
        dependencies:
          - name: cache
            version: 1.0.0
            repository: file://../libs/cache
        """,
    "libs/cache/Chart.yaml": "apiVersion: v2\nname: cache\nversion: 1.0.0\n",
    "libs/cache/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cache\n",
}


def test_fetching_a_dependency_needs_the_explicit_option_and_writes_nothing_into_the_source(
    write_tree: WriteTree,
) -> None:
    root = write_tree(LOCAL_DEPENDENCY)
    refused = CliRunner().invoke(cli, ["validate", str(root), "--path", "web"])
    assert refused.exit_code == 4
    assert "'cache'" in refused.stderr and "--allow-remote-charts" in refused.stderr

    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    allowed = CliRunner().invoke(cli, ["render", str(root), "--path", "web", "--allow-remote-charts"])
    assert allowed.exit_code == 0, allowed.stderr
    names = [doc["metadata"]["name"] for doc in yaml.safe_load_all(allowed.stdout)]
    assert "cache" in names
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before  # no charts/, no Chart.lock


def test_a_file_dependency_outside_the_repository_is_refused_even_when_fetching_is_allowed(
    write_tree: WriteTree,
) -> None:
    root = write_tree(LOCAL_DEPENDENCY)
    with pytest.raises(RenderError) as caught:
        render(root / "web", root=root / "web", options=RenderOptions(allow_remote_charts=True))
    assert "outside the repository" in caught.value.problems[0].message


def test_a_chart_symlink_out_of_the_repository_is_refused(write_tree: WriteTree, tmp_path: Path) -> None:
    root = write_tree(CHART)
    secret = tmp_path / "elsewhere.yaml"
    secret.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stolen\n")
    (root / "web/templates/stolen.yaml").symlink_to(secret)
    with pytest.raises(RenderError) as caught:
        render(root)
    [problem] = caught.value.problems
    assert problem.origin.file == "web/templates/stolen.yaml"
