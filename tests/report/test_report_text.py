"""The terminal report, on hand-built change sets."""

from __future__ import annotations

import re

from report_samples import in_sync, plan, synced

from gitops import report
from gitops.changeset import Action, ChangeSet, Entry
from gitops.objects import ObjectRef

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_plan_header_names_source_revision_and_summary() -> None:
    lines = report.text(plan()).splitlines()
    assert lines[:3] == [
        "Source:   https://github.com/acme/deploy, path apps",
        "Revision: 1a2b3c4-dirty (uncommitted changes)",
        "Plan:     2 to create, 2 to update, 1 to prune, 40 unchanged, 1 skipped, 1 failed",
    ]


def test_sync_result_is_in_past_tense() -> None:
    out = report.text(synced())
    assert "Result:   1 created, 1 updated, 1 pruned, 3 unchanged, 1 failed\n" in out
    assert "\n~ updated apps/v1 Deployment shop/web  (apps/web.yaml:1, wave 1)\n" in out
    assert "\n- pruned v1 ConfigMap shop/old\n" in out


def test_changes_not_carried_out_by_a_sync_are_not_counted_as_done() -> None:
    cs = synced()
    cs.entries[1].done = False
    out = report.text(cs)
    assert "Result:   1 created, 1 pruned, 1 not applied, 3 unchanged, 1 failed\n" in out
    assert "~ update (not applied) apps/v1 Deployment shop/web" in out


def test_in_sync_says_so() -> None:
    out = report.text(in_sync())
    assert out.splitlines() == [
        "Source:   /src/repo",
        "Revision: none (not a Git work tree)",
        "Plan:     in sync: 40 unchanged",
    ]


def test_empty_change_set() -> None:
    assert "Plan:     in sync: no objects" in report.text(ChangeSet(source="/src", revision=None))


def test_update_shows_attributed_field_changes_and_unified_diff() -> None:
    out = report.text(plan())
    block = out.split("~ update apps/v1 Deployment shop/web  (apps/web.yaml:1, wave 1)\n")[1].split("\n\n")[0]
    assert block.splitlines() == [
        "    spec.replicas: 5 -> 3 (live value last written by kubectl-edit, Update)",
        '    spec.template.spec.containers[name=web].image: "nginx:1.24" -> "nginx:1.25"',
        "    --- live Deployment shop/web",
        "    +++ git apps/web.yaml:1 Deployment shop/web",
        "    @@ -4,9 +4,9 @@",
        "       name: web",
        "       namespace: shop",
        "     spec:",
        "    -  replicas: 5",
        "    +  replicas: 3",
        "       template:",
        "         spec:",
        "           containers:",
        "           - name: web",
        "    -        image: nginx:1.24",
        "    +        image: nginx:1.25",
    ]


def test_create_diffs_against_nothing_with_multiline_strings_as_blocks() -> None:
    out = report.text(plan())
    assert "+ create v1 ConfigMap shop/settings  (apps/settings.yaml:12 (document 2))" in out
    assert (
        "    --- live (absent)\n    +++ git apps/settings.yaml:12 (document 2) ConfigMap shop/settings\n"
        in out
    )
    assert "    +  motd: |\n    +    hello\n    +    world\n" in out


def test_prune_diffs_the_live_object_away() -> None:
    out = report.text(plan())
    assert "- would prune v1 ConfigMap shop/old\n    --- live ConfigMap shop/old\n    +++ git (absent)\n" in out
    assert "    -  a: '1'\n" in out


def test_skipped_failed_unhealthy_and_run_errors_are_listed() -> None:
    out = report.text(plan())
    assert (
        "\nSkipped:\n  v1 ConfigMap shop/keep: pruning disabled by annotation gitops.io/prune: disabled\n"
        in out
    )
    assert (
        "\nFailed:\n  apps/v1 Deployment shop/api (apps/api.yaml:3): Invalid: "
        'Deployment.apps "api" is invalid: spec.replicas: Invalid value: -1: must be >= 0\n'
    ) in out
    result = report.text(synced())
    assert (
        "\nNot healthy:\n  apps/v1 Deployment shop/web: Progressing: "
        'Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...\n'
    ) in result
    assert result.endswith("\nErrors:\n  health: timed out after 300s waiting for 1 object\n")


def test_unchanged_objects_are_only_counted() -> None:
    assert "same-0" not in report.text(plan())


def test_no_colour_by_default() -> None:
    assert "\x1b" not in report.text(plan())


def test_colour_marks_additions_removals_and_headings() -> None:
    coloured = report.text(plan(), color=True)
    assert "\x1b[32m+  replicas: 3\x1b[0m" in coloured
    assert "\x1b[31m-  replicas: 5\x1b[0m" in coloured
    assert "\x1b[36m@@ -4,9 +4,9 @@\x1b[0m" in coloured
    assert ANSI.sub("", coloured) == report.text(plan())


def test_update_without_diffable_objects_still_shows_changes() -> None:
    entry = Entry(
        ref=ObjectRef(group="", kind="ConfigMap", namespace="shop", name="x", version="v1"),
        action=Action.UPDATE,
    )
    out = report.text(ChangeSet(source="/s", revision=None, entries=[entry]))
    assert out.endswith("\n~ update v1 ConfigMap shop/x\n")
