"""Plain YAML and JSON files: discovery, order, multi-document files, lists, origins, bad input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from render_helpers import WriteTree, configmap

from gitops.errors import RenderError
from gitops.objects import Origin
from gitops.render import RenderOptions, render


def names(manifests) -> list[str]:
    return [m.ref.name for m in manifests]


def problems_of(directory: Path, **kwargs) -> list[str]:
    with pytest.raises(RenderError) as caught:
        render(directory, **kwargs)
    return [str(p) for p in caught.value.problems]


def test_files_are_read_recursively_in_sorted_path_order(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "b.yaml": configmap("b"),
            "a/z.yml": configmap("a-z"),
            "a.yaml": configmap("a"),
            "a/b/c.json": '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a-b-c"}}',
        }
    )
    assert names(render(root)) == ["a", "a-b-c", "a-z", "b"]


def test_multi_document_files_keep_document_index_and_line(write_tree: WriteTree) -> None:
    text = (
        "# leading comment\n"
        + configmap("one")
        + "---\n---\n# the empty document above is skipped\n"
        + configmap("two")
    )
    root = write_tree({"many.yaml": text})
    manifests = render(root)
    assert names(manifests) == ["one", "two"]
    assert manifests[0].origin == Origin("many.yaml", document=0, line=2)
    assert manifests[1].origin == Origin("many.yaml", document=2, line=10)
    assert str(manifests[1].origin) == "many.yaml:10 (document 3)"


def test_kind_list_and_typed_lists_are_flattened_with_item_lines(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "list.yaml": """
                apiVersion: v1
                kind: List
                items:
                - apiVersion: v1
                  kind: ConfigMap
                  metadata: {name: first}
                - apiVersion: v1
                  kind: ConfigMap
                  metadata: {name: second}
                """,
            "typed.json": """
                {"apiVersion": "v1", "kind": "ConfigMapList", "items": [
                  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "third"}}]}
                """,
        }
    )
    manifests = render(root)
    assert names(manifests) == ["first", "second", "third"]
    assert [m.origin.line for m in manifests[:2]] == [4, 7]
    assert manifests[2].origin == Origin("typed.json", line=1)


def test_hidden_files_directories_and_other_files_are_skipped(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "kept.yaml": configmap("kept"),
            ".hidden.yaml": configmap("hidden-file"),
            ".github/workflows/ci.yaml": "on: push\n",
            "notes/README.md": "# not a manifest\n",
            "notes/values.txt": "a: b\n",
        }
    )
    assert names(render(root)) == ["kept"]


def test_gitopsignore_patterns_apply_at_every_level(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            ".gitopsignore": "drafts/\n*.local.yaml\n",
            "app.yaml": configmap("app"),
            "app.local.yaml": configmap("local"),
            "drafts/draft.yaml": configmap("draft"),
            "team/.gitopsignore": "*.yaml\n!keep.yaml\n",
            "team/skip.yaml": configmap("skipped"),
            "team/keep.yaml": configmap("team-keep"),
            "team/sub/deep.yaml": configmap("deep"),
        }
    )
    assert names(render(root)) == ["app", "team-keep"]


def test_gitopsignore_above_the_rendered_path_applies(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            ".gitopsignore": "envs/prod/secret.yaml\n",
            "envs/prod/app.yaml": configmap("app"),
            "envs/prod/secret.yaml": configmap("secret"),
        }
    )
    manifests = render(root / "envs" / "prod", root=root)
    assert names(manifests) == ["app"]
    assert manifests[0].origin.file == "envs/prod/app.yaml"


def test_timestamps_stay_strings_as_kubernetes_reads_them(write_tree: WriteTree) -> None:
    root = write_tree({"cm.yaml": configmap("dates") + "data:\n  since: 2026-01-01\n"})
    assert render(root)[0].obj["data"] == {"since": "2026-01-01"}


def test_duplicate_keys_are_reported_with_key_and_line(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "dup.yaml": """
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: dup
                  name: dup2
                data:
                  a: "1"
                  a: "2"
                """,
            "dup.json": '{"apiVersion": "v1", "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}}',
        }
    )
    assert problems_of(root) == [
        "dup.json: duplicate key 'apiVersion'",
        "dup.yaml:5: duplicate key 'name' at line 5",
        "dup.yaml:8: duplicate key 'a' at line 8",
    ]


def test_aliases_are_refused_and_alias_bombs_do_not_expand(write_tree: WriteTree) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(c)}: &{chr(c)} [{', '.join(['*' + chr(c - 1)] * 9)}]\n" for c in range(ord("b"), ord("j"))
    )
    root = write_tree({"bomb.yaml": bomb, "merge.yaml": configmap("m") + "data: &d {a: b}\nextra: *d\n"})
    assert problems_of(root) == [
        "bomb.yaml:2: YAML aliases are not allowed (*a at line 2): write the values out in full",
        "merge.yaml:7: YAML aliases are not allowed (*d at line 7): write the values out in full",
    ]


@pytest.mark.parametrize("text", ["a: " + "[" * 100_000, "- " * 100_000 + "x", "? " * 100_000 + "x"])
def test_deep_nesting_is_refused_before_it_can_crash_the_parser(write_tree: WriteTree, text: str) -> None:
    root = write_tree({"deep.yaml": text})
    assert problems_of(root) == ["deep.yaml:1: nesting deeper than 256 levels; refusing to load it"]


def test_deep_json_is_refused(write_tree: WriteTree) -> None:
    root = write_tree({"deep.json": "[" * 100_000 + "]" * 100_000, "deeper.json": "[" * 300 + "]" * 300})
    assert problems_of(root) == [
        "deep.json: nesting too deep; refusing to load it",
        "deeper.json: nesting deeper than 256 levels; refusing to load it",
    ]


def test_files_over_the_size_limit_are_refused(write_tree: WriteTree) -> None:
    root = write_tree(
        {"big.yaml": configmap("big") + "data:\n  blob: " + "x" * 2000 + "\n", "ok.yaml": configmap("ok")}
    )
    problems = problems_of(root, options=RenderOptions(max_file_bytes=1000))
    assert len(problems) == 1
    assert problems[0].startswith("big.yaml: file is ")
    assert "over the limit of 1000 bytes" in problems[0]


def test_default_size_limit_is_four_mebibytes() -> None:
    assert RenderOptions().max_file_bytes == 4 * 1024 * 1024


def test_symlinks_leaving_the_repository_are_refused(write_tree: WriteTree, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "stolen.yaml").write_text(configmap("stolen"))
    root = write_tree({"real.yaml": configmap("real")})
    os.symlink(outside / "stolen.yaml", root / "link.yaml")
    os.symlink(outside, root / "linkdir")
    os.symlink(root / "real.yaml", root / "zz-inside.yml")
    problems = problems_of(root)
    assert len(problems) == 3  # two symlinks refused, and real.yaml read twice through the inside link
    assert problems[0].startswith("link.yaml: symlink points outside the repository")
    assert problems[1].startswith("linkdir: symlink points outside the repository")
    assert problems[2] == "zz-inside.yml:1: v1 ConfigMap shop/real: defined twice: also at real.yaml:1"


def test_invalid_yaml_and_json_name_the_line(write_tree: WriteTree) -> None:
    root = write_tree({"bad.yaml": "apiVersion: v1\nkind: [ConfigMap\n", "bad.json": '{"a": 1,\n}'})
    problems = problems_of(root)
    assert problems[0].startswith("bad.json:2: invalid JSON")
    assert problems[1].startswith("bad.yaml:3: invalid YAML")


def test_documents_that_are_not_mappings_are_reported(write_tree: WriteTree) -> None:
    root = write_tree({"list.yaml": "- a\n- b\n", "text.yaml": "just text\n", "ok.yaml": configmap("ok")})
    assert problems_of(root) == [
        "list.yaml:1: expected an object (a mapping), found a list",
        "text.yaml:1: expected an object (a mapping), found a string",
    ]


def test_every_problem_in_every_file_is_listed(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "a.yaml": "kind: ConfigMap\nmetadata: {name: a}\n",
            "b.yaml": "apiVersion: v1\nmetadata: {name: b}\n",
            "c.yaml": "x: [\n",
        }
    )
    with pytest.raises(RenderError) as caught:
        render(root)
    assert [p.origin.file for p in caught.value.problems] == ["a.yaml", "b.yaml", "c.yaml"]
    assert str(caught.value).endswith("(and 2 more)")


def test_a_missing_directory_is_a_render_error(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "nope", root=tmp_path) == ["nope: no such directory to render"]


def test_an_empty_directory_renders_nothing(tmp_path: Path) -> None:
    assert render(tmp_path) == []
