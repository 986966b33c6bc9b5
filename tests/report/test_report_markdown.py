"""The Markdown report: tables, collapsible diffs, escaping, clean truncation."""

from __future__ import annotations

import re

import pytest
from report_samples import configmap, in_sync, plan, ref, synced

from gitops import report
from gitops.changeset import Action, ChangeSet, Entry


def test_heading_summary_and_source() -> None:
    lines = report.markdown(plan()).splitlines()
    assert lines[:6] == [
        "## gitops plan: failed",
        "",
        "2 to create, 2 to update, 1 to prune, 40 unchanged, 1 skipped, 1 failed",
        "",
        "Source: `https://github.com/acme/deploy`, path `apps`",
        "Revision: `1a2b3c4-dirty (uncommitted changes)`",
    ]
    assert report.markdown(in_sync()).startswith("## gitops plan: in sync\n\nin sync: 40 unchanged\n")
    assert report.markdown(synced()).startswith("## gitops sync: failed\n")


def test_a_caller_titles_the_report() -> None:
    lines = report.markdown(plan(), title="gitops preview of `apps`: 6 changes").splitlines()
    assert lines[0] == "## gitops preview of `apps`: 6 changes"
    assert sum(line.startswith("## ") for line in lines) == 1


def test_summary_table() -> None:
    out = report.markdown(plan())
    assert (
        "| Action | Count |\n|---|---:|\n| to create | 2 |\n| to update | 2 |\n| to prune | 1 |\n"
        "| unchanged | 40 |\n| skipped | 1 |\n| failed | 1 |\n"
    ) in out


def test_objects_table_lists_every_object_that_is_not_unchanged() -> None:
    out = report.markdown(plan())
    assert "| update | apps/v1 Deployment shop/web | apps/web.yaml:1, wave 1 | 2 field changes |\n" in out
    assert "| would prune | v1 ConfigMap shop/old |  |  |\n" in out
    assert (
        "| skipped | v1 ConfigMap shop/keep |  | pruning disabled by annotation gitops.io/prune: disabled |"
        in out
    )
    assert "same-0" not in out


def test_one_collapsible_diff_per_changed_object() -> None:
    out = report.markdown(plan())
    assert out.count("<details>") == out.count("</details>") == 5
    section = out.split("<details><summary>update apps/v1 Deployment shop/web</summary>\n\n")[1].split(
        "</details>"
    )[0]
    assert section.startswith(
        "- `spec.replicas: 5 -> 3 (live value last written by kubectl-edit, Update)`\n"
        '- `spec.template.spec.containers[name=web].image: "nginx:1.24" -> "nginx:1.25"`\n\n```diff\n'
    )
    assert "-  replicas: 5\n+  replicas: 3\n" in section
    assert section.endswith("```\n\n")


def test_table_cells_escape_pipes_backticks_and_newlines() -> None:
    failed = Entry(
        ref=ref("ConfigMap", "x"),
        action=Action.FAILED,
        reason="Invalid",
        error="data: a|b uses `ticks`\nand <b>html</b>",
    )
    out = report.markdown(ChangeSet(source="/s", revision=None, entries=[failed]))
    assert (
        "| failed | v1 ConfigMap shop/x |  | Invalid: data: a\\|b uses \\`ticks\\` and &lt;b&gt;html&lt;/b&gt; |"
        in out
    )


def test_diff_fence_outgrows_backticks_in_content() -> None:
    entry = Entry(
        ref=ref("ConfigMap", "doc"),
        action=Action.CREATE,
        desired=configmap("doc", {"readme": "```\nnot the end\n```\n"}),
    )
    out = report.markdown(ChangeSet(source="/s", revision=None, entries=[entry]))
    assert "\n````diff\n" in out
    assert out.split("````diff\n")[1].split("\n````\n")[0].endswith("+    ```")


def many(count: int) -> ChangeSet:
    entries = [
        Entry(
            ref=ref("ConfigMap", f"cm-{i:03}"),
            action=Action.CREATE,
            desired=configmap(f"cm-{i:03}", {f"key-{k}": f"value {k}" for k in range(20)}),
        )
        for i in range(count)
    ]
    return ChangeSet(source="/s", revision=None, entries=entries)


def assert_balanced(out: str) -> None:
    assert out.count("<details>") == out.count("</details>")
    fences = re.findall(r"^`{3,}", out, flags=re.MULTILINE)
    assert len(fences) % 2 == 0


@pytest.mark.parametrize("limit", [3000, 10000, 25000])
def test_truncation_keeps_whole_blocks_and_says_how_many_are_missing(limit: int) -> None:
    cs = many(100)
    full = report.markdown(cs, limit=10**9)
    assert len(full) > limit
    out = report.markdown(cs, limit=limit)
    assert len(out) <= limit
    assert_balanced(out)
    missing = 100 - out.count("<details>")
    assert out.endswith(f"\n... {missing} more objects not shown (report truncated at {limit} characters)\n")
    assert missing > 0
    assert full.startswith(out[: out.index("| Action | Object |")])


def test_truncation_cuts_the_objects_table_when_it_alone_is_too_long() -> None:
    out = report.markdown(many(100), limit=3000)
    rows = len(re.findall(r"^\| create \|", out, flags=re.MULTILINE))
    assert 0 < rows < 100
    assert "<details>" not in out
    assert out.endswith("\n... 100 more objects not shown (report truncated at 3000 characters)\n")


def test_report_under_the_limit_is_not_truncated() -> None:
    out = report.markdown(plan())
    assert "truncated" not in out
    assert len(out) < 60000


def test_one_huge_diff_is_capped_inside_its_block() -> None:
    big = Entry(
        ref=ref("ConfigMap", "big"),
        action=Action.CREATE,
        desired=configmap("big", {f"k{i}": "x" * 50 for i in range(2000)}),
    )
    small = Entry(ref=ref("ConfigMap", "small"), action=Action.CREATE, desired=configmap("small", {"a": "b"}))
    out = report.markdown(ChangeSet(source="/s", revision=None, entries=[big, small]), limit=20000)
    assert len(out) <= 20000
    assert_balanced(out)
    assert re.search(r"\n\.\.\. diff truncated: \d+ more lines\n```\n", out)
    assert "<summary>create v1 ConfigMap shop/small</summary>" in out


def test_truncation_note_counts_objects_without_their_diff() -> None:
    """Skipped and failed objects are shown in full by their table row; changed ones need their diff too."""
    full = report.markdown(plan(), limit=10**9)
    second_block_end = full.index("</details>", full.index("</details>") + 1) + len("</details>")
    note = "... 3 more objects not shown (report truncated at 9999 characters)"
    limit = second_block_end + len("\n\n") + len(note) + len("\n")
    out = report.markdown(plan(), limit=limit)
    assert out == full[:second_block_end] + "\n\n" + note.replace("9999", str(limit)) + "\n"
    assert out.count("<details>") == 2


@pytest.mark.parametrize("limit", [60, 250])
def test_a_limit_smaller_than_the_head_keeps_whole_lines(limit: int) -> None:
    out = report.markdown(plan(), limit=limit)
    assert len(out) <= limit
    assert out.startswith("## gitops plan: failed\n")
    assert "|" not in out
    if limit == 250:
        assert out.endswith("\n... 7 more objects not shown (report truncated at 250 characters)\n")
