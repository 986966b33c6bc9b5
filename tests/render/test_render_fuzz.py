"""Property-based: whatever a manifest file holds, loading and validating it ends in objects or in
problems naming the file, never in an exception."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gitops.errors import Problem, RenderError
from gitops.objects import Manifest, Origin
from gitops.render import render
from gitops.render.validate import validate
from gitops.render.yaml_loader import YamlRefused, load_documents

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text made mostly of what YAML gives meaning to, so that examples reach the parser's corners.
YAML_ALPHABET = "[]{}-:?*&!|>'\"#%@`,.~ \n\t\\abcz019" + "\u00e9\u2028\x00\x1b"
yaml_text = st.one_of(st.text(alphabet=YAML_ALPHABET, max_size=300), st.text(max_size=100))

KEYS = ["apiVersion", "kind", "metadata", "name", "namespace", "labels", "annotations", "data",
        "stringData", "binaryData", "spec", "items", "type", "generateName", "x"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20),
    st.sampled_from(["v1", "apps/v1", "ConfigMap", "Secret", "List", "ConfigMapList", "Namespace",
                     "CustomResourceDefinition", "web", "shop", "a" * 300, "Bad_Name", "eA==", "!!"]),
)
objects = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.sampled_from(KEYS), children, max_size=6)),
    max_leaves=30,
)


@FAST
@given(yaml_text)
@example("\x00")
@example("a: " + "[" * 2000)
def test_loading_any_text_gives_documents_or_a_refusal(text: str) -> None:
    try:
        documents, duplicates = load_documents(text)
    except YamlRefused as refused:
        assert refused.message and "\n" not in refused.message
        return
    assert all(problem.message for problem in duplicates)
    assert all(document.line >= 1 for document in documents)


@FAST
@given(st.lists(objects, max_size=5))
def test_validating_any_objects_gives_problems_not_exceptions(values: list[Any]) -> None:
    manifests = [Manifest(value, Origin("x.yaml", document=i, line=1)) for i, value in enumerate(values)
                 if isinstance(value, dict)]
    problems = validate(manifests)
    assert all(isinstance(problem, Problem) and str(problem) for problem in problems)


def _render_file(name: str, text: str) -> list[Manifest] | RenderError:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / name).write_text(text, encoding="utf-8")
        try:
            return render(root)
        except RenderError as err:
            return err


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_text, st.sampled_from(["manifest.yaml", "manifest.json"]))
def test_rendering_any_file_gives_objects_or_problems_naming_the_file(text: str, name: str) -> None:
    result = _render_file(name, text)
    if isinstance(result, RenderError):
        assert result.problems
        assert all(str(problem).startswith(name) for problem in result.problems)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(objects, st.sampled_from(["yaml", "json"]))
def test_rendering_any_structure_gives_objects_or_problems(value: Any, form: str) -> None:
    text = json.dumps(value) if form == "json" else yaml.safe_dump(value)
    result = _render_file(f"manifest.{form}", text)
    if isinstance(result, RenderError):
        assert all(str(problem).startswith(f"manifest.{form}") for problem in result.problems)
    else:
        assert all(isinstance(manifest.obj, dict) for manifest in result)
