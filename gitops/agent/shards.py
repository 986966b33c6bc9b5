"""Shards of the applications, each held by one replica through a Lease; fair shares among live replicas.

- Shard ``i`` of ``N`` is the Lease ``<leaseName>-shard-<i>`` (``gitops-agent-shard-<i>``) in the
  agent's namespace, taken, renewed and released with client-go's algorithm (:class:`LeaseLock`).
- Every replica keeps a Lease of its own, ``<leaseName>-replica-<id>``, renewed like a shard's. A
  replica is live while its Lease's record keeps changing within ``leaseDuration`` of this replica's
  clock (clocks of different nodes are never compared).
- A replica holds at most ``ceil(N / live replicas)`` shards: above that it releases its
  highest-numbered shards (they stop reconciling first), below it it tries the shards that are free
  or whose holder stopped renewing. So shards move to a new replica as it starts, and the shards of
  a replica that died are taken over once its Leases expire.
- One thread runs the loop every ``retryPeriod``: one LIST of the agent's Leases (labelled), one
  write per Lease held; nothing else while the shares are settled.

:func:`fair_share` and :func:`live_replicas` are pure.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from gitops.agent.config import LeaderElection
from gitops.agent.leader import LeaseLock, LeaseRecord, LeaseStore
from gitops.agent.logging import fields
from gitops.errors import GitopsError
from gitops.objects import ObjectRef

log = logging.getLogger(__name__)

LEASE_LABEL = "gitops.io/agent-lease"
"""On the agent's Leases: ``shard`` or ``replica`` (the coordinator lists them by this label)."""
_JITTER_FACTOR = 1.2  # client-go's JitterFactor, while not every share is settled


def shard_lease_name(lease_name: str, shard: int) -> str:
    return f"{lease_name}-shard-{shard}"


def replica_lease_name(lease_name: str, replica: str) -> str:
    """``<leaseName>-replica-<id>``, with the id made a valid object name (plus a digest when it had to
    change, so two ids never share a Lease)."""
    slug = re.sub(r"[^a-z0-9.-]+", "-", replica.lower()).strip("-.")[:60].strip("-.")
    if slug != replica:
        slug = f"{slug}-{hashlib.sha256(replica.encode()).hexdigest()[:8]}".lstrip("-")
    return f"{lease_name}-replica-{slug}"


def fair_share(shards: int, live: int) -> int:
    """The most shards one replica may hold: ``ceil(shards / live replicas)``."""
    return math.ceil(shards / max(1, live))


class ReplicaTracker:
    """Which replicas are live, from their Leases as observed on this replica's clock."""

    def __init__(self, lease_duration: float, clock: Callable[[], float]) -> None:
        self.lease_duration = lease_duration
        self.clock = clock
        self._seen: dict[str, tuple[LeaseRecord, float]] = {}

    def observe(self, leases: list[dict[str, Any]]) -> None:
        now = self.clock()
        names = set()
        for lease in leases:
            name = str((lease.get("metadata") or {}).get("name"))
            names.add(name)
            record = LeaseRecord.from_lease(lease)
            previous = self._seen.get(name)
            if previous is None or previous[0] != record:
                self._seen[name] = (record, now)
        for gone in set(self._seen) - names:
            del self._seen[gone]

    def live(self) -> set[str]:
        """Holders of replica Leases whose record changed within the lease duration."""
        now = self.clock()
        return {
            record.holder for record, seen_at in self._seen.values()
            if record.holder and now - seen_at < max(self.lease_duration, record.lease_duration)
        }


class ShardCoordinator:
    """Holds this replica's fair share of the shards and says which it holds right now."""

    def __init__(
        self,
        store: LeaseStore,
        settings: LeaderElection,
        *,
        namespace: str,
        identity: str,
        shards: int,
        on_acquired: Callable[[int], None],
        on_lost: Callable[[int], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.settings = settings
        self.namespace = namespace
        self.identity = identity
        self.shards = max(1, shards)
        self.on_acquired = on_acquired
        self.on_lost = on_lost
        self.clock = clock
        self.enabled = settings.enabled
        self.locks = [
            LeaseLock(store, settings, self._ref(shard_lease_name(settings.lease_name, i)), identity=identity,
                      labels={LEASE_LABEL: "shard"}, clock=clock)
            for i in range(self.shards)
        ]
        self.replica = LeaseLock(
            store, settings, self._ref(replica_lease_name(settings.lease_name, identity)), identity=identity,
            labels={LEASE_LABEL: "replica"}, clock=clock,
        )
        self.replicas = ReplicaTracker(settings.lease_duration, clock)
        self.problem: str | None = None
        """Why this replica cannot take part (Leases cannot be listed or written); ``None`` when fine."""
        self._releasing: set[int] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._live = 1

    def _ref(self, name: str) -> ObjectRef:
        return ObjectRef("coordination.k8s.io", "Lease", self.namespace, name, "v1")

    # --- what the agent asks --------------------------------------------------------------

    def holds(self, shard: int) -> bool:
        """Whether this replica may reconcile (and write for) the applications of ``shard`` now."""
        if not self.enabled:
            return not self._stop.is_set()
        with self._lock:
            if shard in self._releasing:
                return False
        return self.locks[shard].is_leader()

    def held(self) -> list[int]:
        return [shard for shard in range(self.shards) if self.holds(shard)]

    def live_replicas(self) -> int:
        with self._lock:
            return self._live

    def holders(self) -> dict[int, str]:
        """The holder of each shard as last observed (``""``: free)."""
        return {shard: lock.holder for shard, lock in enumerate(self.locks)}

    def healthy(self) -> bool:
        return not self.enabled or (self.problem is None and self.replica.healthy())

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if not self.enabled:
            for shard in range(self.shards):
                self.on_acquired(shard)
            return
        self._thread = threading.Thread(target=self._run, name=f"shards-{self.identity}", daemon=True)
        self._thread.start()

    def stop(self, *, release: bool = True) -> None:
        """Stop; with ``release``, hand every shard back (and retire the replica Lease) so others take
        over at once. Without it (a crash), the Leases expire on their own."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.renew_deadline + 5)
        if not self.enabled:
            return
        for shard, lock in enumerate(self.locks):
            if lock.leading:
                self._lose(shard)
                if release:
                    lock.release()
        if release:
            self.replica.release()

    # --- the loop -------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            settled = False
            try:
                settled = self.step()
            except Exception:  # the loop must survive a bug in one round; leadership then lapses safely
                log.exception("shard coordination failed", extra=fields(identity=self.identity))
            period = self.settings.retry_period
            if not settled:
                period *= 1 + random.random() * (_JITTER_FACTOR - 1)
            self._stop.wait(period)

    def step(self) -> bool:
        """One round; True when this replica holds exactly its share and nothing needed doing."""
        try:
            leases = self.store.list("coordination.k8s.io/v1", "Lease", self.namespace, LEASE_LABEL)
        except GitopsError as err:
            self._trouble(f"cannot list Leases in namespace {self.namespace}: {err}")
            self._expire_all()
            return False
        by_name = {str((lease.get("metadata") or {}).get("name")): lease for lease in leases}
        self.replica.try_acquire_or_renew(by_name.get(self.replica.ref.name))
        self.replicas.observe([lease for lease in leases if _label(lease) == "replica"])
        live = self.replicas.live() | {self.identity}
        with self._lock:
            self._live = len(live)
        share = fair_share(self.shards, len(live))
        settled = True
        for shard, lock in enumerate(self.locks):
            lease = by_name.get(lock.ref.name)
            if lock.leading:
                renewed = lock.try_acquire_or_renew(lease)
                if lock.deadline_passed() or (not renewed and lock.held_by_other()):
                    log.warning("lost the shard lease", extra=fields(identity=self.identity, shard=shard))
                    self._lose(shard)
                    settled = False
            else:
                lock.observe(lease)
        held = [shard for shard, lock in enumerate(self.locks) if lock.leading]
        for shard in sorted(held, reverse=True)[: max(0, len(held) - share)]:
            log.info("handing a shard over for a fair share",
                     extra=fields(identity=self.identity, shard=shard, share=share, live=len(live)))
            self._lose(shard)
            self.locks[shard].release()
            held.remove(shard)
            settled = False
        for shard in self._candidates(held, by_name):
            if len(held) >= share:
                break
            settled = False
            lock = self.locks[shard]
            if lock.try_acquire_or_renew(by_name.get(lock.ref.name)) and lock.set_leading(True):
                held.append(shard)
                log.info("took a shard", extra=fields(identity=self.identity, shard=shard, lease=lock.ref.name))
                self.on_acquired(shard)
        problems = [lock.problem for lock in [self.replica, *self.locks] if lock.problem]
        self.problem = problems[0] if problems else None
        return settled and len(held) == share

    def _candidates(self, held: list[int], by_name: dict[str, dict[str, Any]]) -> list[int]:
        """Shards to try: those nobody holds first, then the rest (taken only once expired), each
        group starting at an offset of this replica's own so replicas do not all race for shard 0."""
        offset = sum(self.identity.encode()) % self.shards
        order = [(offset + i) % self.shards for i in range(self.shards)]
        free = [s for s in order if s not in held and not LeaseRecord.from_lease(by_name.get(self.locks[s].ref.name) or {}).holder]
        return free + [s for s in order if s not in held and s not in free]

    def _lose(self, shard: int) -> None:
        with self._lock:
            self._releasing.add(shard)
        try:
            self.locks[shard].set_leading(False)
            self.on_lost(shard)
        finally:
            with self._lock:
                self._releasing.discard(shard)

    def _expire_all(self) -> None:
        for shard, lock in enumerate(self.locks):
            if lock.leading and lock.deadline_passed():
                log.warning("lost the shard lease", extra=fields(identity=self.identity, shard=shard))
                self._lose(shard)

    def _trouble(self, problem: str) -> None:
        if problem != self.problem:
            log.error("%s", problem, extra=fields(identity=self.identity))
        self.problem = problem


def _label(lease: dict[str, Any]) -> str:
    return str(((lease.get("metadata") or {}).get("labels") or {}).get(LEASE_LABEL) or "")
