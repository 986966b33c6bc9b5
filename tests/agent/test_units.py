"""Pure pieces of the agent: lease records, reconcile decisions and summaries, status and event
objects, JSON logs, metrics."""

from __future__ import annotations

import io
import json
import logging

from agent_helpers import sample

from gitops.agent.config import AppConfig
from gitops.agent.leader import LeaseRecord, may_take, micro_time, next_record
from gitops.agent.logging import JsonFormatter, fields
from gitops.agent.metrics import Metrics
from gitops.agent.reconciler import Outcome, should_apply, summarise
from gitops.agent.status import (
    HISTORY_LIMIT,
    AppStatus,
    HistoryEntry,
    add_history,
    event_object,
    last_applied_revision,
    recorded_history,
    status_configmap,
)
from gitops.changeset import Action, ChangeSet, Entry, FieldChange, Health
from gitops.objects import ObjectRef
from gitops.source import SourceSpec

WEB = ObjectRef("apps", "Deployment", "shop", "web", "v1")
CONF = ObjectRef("", "ConfigMap", "shop", "conf", "v1")


def test_first_record_takes_the_lease() -> None:
    assert next_record(None, identity="a", lease_duration=15, now="T0", leading=False) == LeaseRecord("a", 15, "T0", "T0", 0)


def test_renewal_keeps_acquire_time_and_transitions() -> None:
    current = LeaseRecord("a", 15, "T0", "T1", 3)
    assert next_record(current, identity="a", lease_duration=15, now="T2", leading=True) == LeaseRecord("a", 15, "T0", "T2", 3)


def test_takeover_counts_a_transition() -> None:
    current = LeaseRecord("a", 15, "T0", "T1", 3)
    assert next_record(current, identity="b", lease_duration=15, now="T2", leading=False) == LeaseRecord("b", 15, "T2", "T2", 4)


def test_a_held_lease_is_free_only_after_its_duration_on_the_local_clock() -> None:
    held = LeaseRecord("a", 10, "T0", "T0", 0)
    assert not may_take(held, identity="b", observed_at=100.0, now=109.9)
    assert may_take(held, identity="b", observed_at=100.0, now=110.0)
    assert may_take(held, identity="a", observed_at=100.0, now=100.0)
    assert may_take(LeaseRecord("", 1, "T0", "T0", 2), identity="b", observed_at=100.0, now=100.0)


def test_lease_record_round_trips_through_the_spec() -> None:
    record = LeaseRecord("a", 15, micro_time(), micro_time(), 2)
    assert LeaseRecord.from_lease({"spec": record.spec()}) == record
    assert micro_time().endswith("Z") and len(micro_time()) == len("2024-01-01T00:00:00.000000Z")


def app(self_heal: bool) -> AppConfig:
    return AppConfig(name="shop", source=SourceSpec("https://example.com/repo.git", "main"), self_heal=self_heal)


def test_apply_on_new_revision_or_with_self_heal() -> None:
    assert should_apply(app(self_heal=False), "b" * 40, "a" * 40)
    assert should_apply(app(self_heal=False), "a" * 40, None)
    assert not should_apply(app(self_heal=False), "a" * 40, "a" * 40)
    assert should_apply(app(self_heal=True), "a" * 40, "a" * 40)


def changeset(*entries: Entry, errors: list[str] | None = None) -> ChangeSet:
    return ChangeSet(source="repo", revision="a" * 40, entries=list(entries), errors=errors or [])


def test_summary_of_a_plan_with_drift() -> None:
    drifted = Entry(WEB, Action.UPDATE, changes=[FieldChange("spec.replicas", 3, 1, manager="kubectl-scale")])
    result = summarise(changeset(drifted, Entry(CONF, Action.UNCHANGED)), synced=False, revision="a" * 40)
    assert result.outcome is Outcome.DRIFTED and result.drifted == [drifted] and result.written == []


def test_summary_of_a_sync() -> None:
    done = Entry(WEB, Action.UPDATE, done=True, health=Health.PROGRESSING)
    result = summarise(changeset(done, Entry(CONF, Action.UNCHANGED, health=Health.HEALTHY)), synced=True, revision="a")
    assert result.outcome is Outcome.SYNCED and result.written == [done] and result.health == "Progressing"


def test_summary_of_a_failed_sync_names_the_objects() -> None:
    failed = Entry(WEB, Action.FAILED, error="spec.selector: field is immutable")
    result = summarise(changeset(failed, errors=["prune refused"]), synced=True, revision="a")
    assert result.outcome is Outcome.FAILED
    assert result.message == "prune refused; Deployment shop/web: spec.selector: field is immutable"


def test_status_configmap_holds_strings_only() -> None:
    status = AppStatus("shop", last_applied_revision="abc", drift_count=2, drifted=["Deployment shop/web"])
    configmap = status_configmap(status, "ops")
    assert configmap["metadata"]["name"] == "gitops-status-shop" and configmap["metadata"]["namespace"] == "ops"
    assert all(isinstance(value, str) for value in configmap["data"].values())
    assert configmap["data"]["driftCount"] == "2"
    assert last_applied_revision(configmap) == "abc"
    assert last_applied_revision(None) is None


def test_event_refers_to_the_status_object() -> None:
    involved = {"metadata": {"name": "gitops-status-shop", "namespace": "ops", "uid": "u1", "resourceVersion": "7"}}
    event = event_object(involved, reason="SyncFailed", message="x" * 5000, warning=True, instance="pod-1")
    assert event["involvedObject"] == {
        "apiVersion": "v1", "kind": "ConfigMap", "name": "gitops-status-shop", "namespace": "ops",
        "uid": "u1", "resourceVersion": "7",
    }
    assert event["type"] == "Warning" and event["reason"] == "SyncFailed" and len(event["message"]) == 1024
    assert event["metadata"]["name"].startswith("gitops-status-shop.")
    assert event_object(involved, reason="r", message="m", warning=False, instance="i")["metadata"]["name"] != (
        event["metadata"]["name"]
    )


def test_json_logs_carry_fields() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.agent.json")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.info("applied %s", "web", extra=fields(app="shop", revision="abc", object=str(WEB), skipped=None))
    entry = json.loads(stream.getvalue())
    assert entry["msg"] == "applied web" and entry["level"] == "info" and entry["app"] == "shop"
    assert entry["revision"] == "abc" and entry["object"] == "apps/v1 Deployment shop/web"
    assert "skipped" not in entry and entry["time"].endswith("Z")


def test_metrics_registries_are_per_agent() -> None:
    first, second = Metrics(), Metrics()
    first.reconciles.labels("ops", "shop", "synced").inc()
    second.watch_engine_requests(lambda: {("ops", "shop"): 12})
    assert sample(first.exposition(), "gitops_reconcile_total", namespace="ops", application="shop", result="synced") == 1
    assert sample(second.exposition(), "gitops_reconcile_total", application="shop", result="synced") is None
    assert sample(second.exposition(), "gitops_api_requests_total", namespace="ops", application="shop") == 12


def test_history_keeps_what_changed_newest_first_and_bounded() -> None:
    synced = HistoryEntry("T1", "a" * 40, "Synced", created=2)
    history = add_history((), synced)
    assert add_history(history, HistoryEntry("T2", "a" * 40, "Synced")) == (synced,), "in sync again is no news"
    drifted = HistoryEntry("T3", "a" * 40, "OutOfSync", drifted=1)
    history = add_history(history, drifted)
    assert history == (drifted, synced)
    healed = HistoryEntry("T4", "a" * 40, "Synced", updated=1)
    assert add_history(add_history(history, healed), healed)[:2] == (healed, healed), "every write is recorded"
    failing = add_history(history, HistoryEntry("T5", "b" * 40, "Failed", message="render failed: a.yaml"))
    assert len(add_history(failing, HistoryEntry("T6", "b" * 40, "Failed", message="render failed: b.yaml"))) == 4
    assert len(add_history(failing, HistoryEntry("T6", "b" * 40, "Failed", message="render failed: a.yaml"))) == 3
    for number in range(HISTORY_LIMIT + 5):
        history = add_history(history, HistoryEntry(f"T{number}", "b" * 40, "Failed", message=f"error {number}"))
    assert len(history) == HISTORY_LIMIT and history[0].message == f"error {HISTORY_LIMIT + 4}"


def test_history_round_trips_through_the_status_configmap() -> None:
    history = (HistoryEntry("T2", "b" * 40, "Failed", failed=1, message="x" * 1000), HistoryEntry("T1", "a" * 40, "Synced"))
    status = AppStatus("shop", result="Failed", drift_count=3, history=add_history(history[1:], history[0]))
    configmap = status_configmap(status, "ops")
    assert isinstance(configmap["data"]["history"], str)
    restored = AppStatus.from_configmap(configmap)
    assert restored.history == status.history and len(restored.history[0].message) == 300
    assert (restored.application, restored.result, restored.drift_count) == ("shop", "Failed", 3)
    assert recorded_history({"data": {"history": "not json"}}) == ()
    assert recorded_history({"data": {"history": '[{"time": "T"}, {"time": "T", "revision": "", "result": "Synced"}]'}}) == (
        HistoryEntry("T", "", "Synced"),
    )
