"""Pure parts of Applications and sharding: shard assignment, fair shares, Lease coordination on an
in-memory Lease store with a fake clock, Application specs, kstatus conditions, the dashboard view."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest

from gitops.agent.application import FINALIZER, app_from_object, default_applyset, shard_of
from gitops.agent.appstatus import ApplicationStatus, history_of
from gitops.agent.config import LeaderElection
from gitops.agent.shards import LEASE_LABEL, ShardCoordinator, fair_share
from gitops.agent.state import view_of_object
from gitops.agent.status import HistoryEntry
from gitops.errors import ApiError, ConfigError
from gitops.objects import ObjectRef


def test_shards_are_spread_and_the_same_in_every_process() -> None:
    keys = [f"team-{n % 7}/app-{n}" for n in range(1000)]
    counts = Counter(shard_of(key, 4) for key in keys)
    assert set(counts) == {0, 1, 2, 3} and min(counts.values()) > 150
    script = "import sys; from gitops.agent.application import shard_of; print([shard_of(k, 4) for k in sys.argv[1:]])"
    other = subprocess.run([sys.executable, "-c", script, *keys[:50]], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"})
    assert other.stdout.strip() == str([shard_of(key, 4) for key in keys[:50]])
    assert {shard_of(key, 1) for key in keys} == {0}


@pytest.mark.parametrize(("shards", "live", "share"), [(4, 1, 4), (4, 2, 2), (4, 3, 2), (4, 4, 1), (4, 8, 1), (1, 2, 1)])
def test_fair_share(shards: int, live: int, share: int) -> None:
    assert fair_share(shards, live) == share


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class LeaseStore:
    """Leases in memory with the API server's optimistic concurrency (409 on a stale resourceVersion)."""

    def __init__(self) -> None:
        self.leases: dict[str, dict[str, Any]] = {}
        self.version = 0

    def get(self, ref: ObjectRef) -> dict[str, Any] | None:
        return copy.deepcopy(self.leases.get(ref.name))

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        name = obj["metadata"]["name"]
        if name in self.leases:
            raise ApiError("exists", status=409)
        return self._store(obj)

    def replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        name = obj["metadata"]["name"]
        if self.leases[name]["metadata"]["resourceVersion"] != obj["metadata"].get("resourceVersion"):
            raise ApiError("conflict", status=409)
        return self._store(obj)

    def list(self, api_version: str, kind: str, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(lease) for lease in self.leases.values()
                if label_selector in (lease["metadata"].get("labels") or {})]

    def _store(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.version += 1
        stored = copy.deepcopy(obj)
        stored["metadata"]["resourceVersion"] = str(self.version)
        self.leases[stored["metadata"]["name"]] = stored
        return copy.deepcopy(stored)

    def holders(self) -> dict[str, str]:
        return {name: lease["spec"]["holderIdentity"] for name, lease in self.leases.items()
                if lease["metadata"]["labels"][LEASE_LABEL] == "shard"}


SETTINGS = LeaderElection(lease_duration=15.0, renew_deadline=10.0, retry_period=2.0)


def coordinator(store: LeaseStore, clock: Clock, identity: str, events: list[tuple[str, str, int]]) -> ShardCoordinator:
    return ShardCoordinator(
        store, SETTINGS, namespace="ops", identity=identity, shards=4,
        on_acquired=lambda shard: events.append((identity, "acquired", shard)),
        on_lost=lambda shard: events.append((identity, "lost", shard)), clock=clock,
    )


def run_rounds(replicas: list[ShardCoordinator], clock: Clock, rounds: int) -> None:
    """Steps every replica in turn, checking after each step that no shard is held twice."""
    for _ in range(rounds):
        for replica in replicas:
            replica.step()
            held = [shard for r in replicas for shard in r.held()]
            assert len(held) == len(set(held)), f"a shard held twice: {held}"
        clock.now += SETTINGS.retry_period


def test_two_replicas_share_the_shards_and_one_takes_over_when_the_other_dies() -> None:
    store, clock, events = LeaseStore(), Clock(), []
    first = coordinator(store, clock, "a", events)
    run_rounds([first], clock, 2)
    assert first.held() == [0, 1, 2, 3]

    second = coordinator(store, clock, "b", events)
    run_rounds([first, second], clock, 6)
    assert len(first.held()) == 2 and len(second.held()) == 2
    assert ("a", "lost", max(second.held())) in events or ("a", "lost", min(second.held())) in events
    assert sorted(store.holders().values()) == ["a", "a", "b", "b"]

    # "a" dies: it stops renewing. Its shards move only once their Leases expire on b's clock.
    taken = len(second.held())
    run_rounds([second], clock, 3)
    assert len(second.held()) == taken, "not before the lease duration"
    run_rounds([second], clock, int(SETTINGS.lease_duration / SETTINGS.retry_period) + 2)
    assert second.held() == [0, 1, 2, 3]
    assert set(store.holders().values()) == {"b"}


def test_a_graceful_stop_hands_the_shards_over_at_once() -> None:
    store, clock, events = LeaseStore(), Clock(), []
    first, second = coordinator(store, clock, "a", events), coordinator(store, clock, "b", events)
    run_rounds([first, second], clock, 6)
    first.stop(release=True)
    assert first.held() == []
    run_rounds([second], clock, 2)
    assert second.held() == [0, 1, 2, 3]


def application(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "gitops.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "web", "namespace": "shop", "generation": 3}, "spec": spec}


def test_an_application_object_becomes_an_application() -> None:
    app = app_from_object(application(
        source={"url": "https://github.com/acme/deploy.git", "revision": "main", "path": "apps/web",
                "credentials": {"secretRef": {"name": "git"}}},
        interval="3m", prune=True, sync={"maxPrune": 3},
    ))
    assert app.key == "shop/web" and app.resource == ("shop", "web") and app.generation == 3
    assert app.namespace == "shop", "the destination defaults to the Application's namespace"
    assert app.interval == 180 and app.sync.prune and app.sync.max_prune == 3
    assert app.credentials_secret == "git" and not app.delete_objects
    assert app.sync.applyset == default_applyset("shop", "web")


@pytest.mark.parametrize(("spec", "message"), [
    ({"source": {"url": "x"}, "interval": "soon"},
     "gitops.io/v1alpha1 Application shop/web: spec.interval: 'soon' is no duration"),
    ({"source": {"path": "a"}}, "gitops.io/v1alpha1 Application shop/web: spec.source.url: required"),
    ({"source": {"url": "x", "path": "../up"}}, "gitops.io/v1alpha1 Application shop/web: spec.source.path: must stay"),
    ({"source": {"url": "x"}, "destination": {"kubeconfig": "/etc/prod"}},
     "gitops.io/v1alpha1 Application shop/web: spec.destination.kubeconfig: unknown field"),
    ({"source": {"url": "x", "credentials": {"token": {"env": "TOKEN"}}}},
     "gitops.io/v1alpha1 Application shop/web: spec.source.credentials.secretRef: required"),
    ({"source": {"url": "x"}, "decryption": {"ageKeyFile": "/etc/gitops/age/other.agekey"}},
     "gitops.io/v1alpha1 Application shop/web: spec.decryption: not supported on an Application"),
])
def test_a_bad_application_spec_names_the_object_and_field(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        app_from_object(application(**spec))
    assert str(refused.value).startswith(message)


def test_the_finalizer_opts_into_deleting_objects() -> None:
    obj = application(source={"url": "x"})
    obj["metadata"]["finalizers"] = [FINALIZER]
    assert app_from_object(obj).delete_objects


def test_conditions_follow_kstatus() -> None:
    failing = ApplicationStatus(generation=2, ready=False, reason="RenderFailed", message="bad", stalled="RenderFailed")
    first = failing.conditions("2026-01-01T00:00:00Z")
    assert [(c["type"], c["status"], c["observedGeneration"]) for c in first] == [("Ready", "False", 2), ("Stalled", "True", 2)]
    again = failing.conditions("2026-01-01T00:05:00Z", first)
    assert again[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z", "unchanged status keeps its transition time"
    fine = ApplicationStatus(generation=2, ready=True, reason="Succeeded", message="ok").conditions("2026-01-01T00:09:00Z", again)
    assert [(c["type"], c["status"], c["lastTransitionTime"]) for c in fine] == [("Ready", "True", "2026-01-01T00:09:00Z")]


def test_history_round_trips_through_the_application_status() -> None:
    history = (HistoryEntry("T2", "b" * 40, "Failed", failed=1, message="render failed"), HistoryEntry("T1", "a" * 40, "Synced"))
    body = ApplicationStatus(generation=1, ready=False, reason="RenderFailed", message="x", history=history).body("T2")
    assert history_of(body) == history
    assert history_of({"history": [{"time": "T"}, "junk", {"time": "T", "revision": "", "result": "Synced"}]}) == (
        HistoryEntry("T", "", "Synced"),
    )


def test_the_dashboard_view_of_an_application() -> None:
    obj = application(source={"url": "https://user:secret@github.com/acme/deploy.git", "path": "apps/web"})
    obj["status"] = ApplicationStatus(
        generation=3, ready=True, reason="Succeeded", message="1 created", result="Synced", health="Healthy",
        last_applied_revision="a" * 40, last_sync_time="2026-01-01T00:00:00Z", drifted_count=0,
        history=(HistoryEntry(revision="a" * 40, time="2026-01-01T00:00:00Z", result="Synced", created=1),),
        last_change_set=[{"action": "create", "object": "v1 ConfigMap shop/settings"}], shard=2, replica="agent-1",
    ).body("2026-01-01T00:00:00Z")
    view = view_of_object(obj).to_dict()
    assert view["name"] == "web" and view["namespace"] == "shop" and view["ready"] is True
    assert view["result"] == "Synced" and view["health"] == "Healthy" and view["revision"] == "a" * 40
    assert view["history"][0]["created"] == 1 and view["lastChangeSet"][0]["action"] == "create"
    assert view["replica"] == "agent-1" and view["shard"] == 2
    assert "secret" not in view["source"]


@pytest.mark.parametrize(("flags", "message"), [
    (["--lease-duration", "soon"], "error: --lease-duration: 'soon' is no duration"),
    (["--lease-duration", "2s", "--renew-deadline", "3s"], "--lease-duration must be longer than --renew-deadline"),
    (["--watch-namespaces", "a", "--all-namespaces"], "error: --watch-namespaces and --all-namespaces exclude each other"),
])
def test_bad_agent_flags_are_one_line_errors(flags: list[str], message: str) -> None:
    result = subprocess.run([sys.executable, "-m", "gitops", "agent", *flags], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_replica_lease_names_are_valid_and_distinct() -> None:
    from gitops.agent.shards import replica_lease_name

    assert replica_lease_name("gitops-agent", "gitops-agent-0") == "gitops-agent-replica-gitops-agent-0"
    names = {replica_lease_name("gitops-agent", identity) for identity in ("Host_1a2b", "host-1a2b", "host_1a2b")}
    assert len(names) == 3
    assert all(re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name) and len(name) <= 253 for name in names)


@pytest.mark.parametrize(("outcome", "phase", "exit_code", "expected"), [
    ("synced", "sync", 0, (True, "Succeeded", "", "")),
    ("drifted", "plan", 0, (False, "DriftDetected", "", "")),
    ("failed", "fetch", 0, (False, "FetchFailed", "", "ProgressingWithRetry")),
    ("failed", "render", 0, (False, "RenderFailed", "RenderFailed", "")),
    ("failed", "sync", 7, (False, "SyncFailed", "SyncFailed", "")),
    ("failed", "sync", 6, (False, "SyncFailed", "", "ProgressingWithRetry")),
])
def test_readiness_after_a_reconcile(outcome: str, phase: str, exit_code: int, expected: tuple[Any, ...]) -> None:
    from gitops.agent.appstatus import readiness
    from gitops.agent.reconciler import Outcome, Phase, Result
    from gitops.changeset import ChangeSet

    changeset = ChangeSet(source="x", revision="r", exit_code=exit_code)
    assert readiness(Result(Outcome(outcome), Phase(phase), changeset=changeset)) == expected
