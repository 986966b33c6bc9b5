"""The terminal report of a sync that ran names each object it created on one line; a plan shows the manifest."""

from __future__ import annotations

from report_samples import plan, synced

from gitops import report
from gitops.changeset import Action


def test_a_sync_that_ran_lists_each_created_object_on_one_line() -> None:
    out = report.text(synced())
    assert "\n\n+ created v1 ConfigMap shop/settings  (apps/settings.yaml:12 (document 2))\n\n~ updated" in out
    assert "motd" not in out  # the created ConfigMap's data is in Git, not repeated here
    assert "+++ git apps/web.yaml:1 Deployment shop/web" in out  # an update still shows its diff


def test_created_objects_are_listed_together() -> None:
    cs = synced()
    second = cs.entries[0].__class__(**{**vars(cs.entries[0])})
    second.ref = second.ref.__class__(group="", kind="ConfigMap", namespace="shop", name="other", version="v1")
    cs.entries.insert(1, second)
    out = report.text(cs)
    assert ("+ created v1 ConfigMap shop/settings  (apps/settings.yaml:12 (document 2))\n"
            "+ created v1 ConfigMap shop/other  (apps/settings.yaml:12 (document 2))\n") in out


def test_a_create_not_carried_out_and_a_planned_create_show_the_manifest() -> None:
    cs = synced()
    created = next(entry for entry in cs.entries if entry.action is Action.CREATE)
    created.done = False
    assert "    +  motd: |\n" in report.text(cs)
    assert "    +  motd: |\n" in report.text(plan())
