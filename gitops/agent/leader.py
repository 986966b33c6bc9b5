"""Leader election on a ``coordination.k8s.io/v1`` Lease, following client-go's ``leaderelection``.

- A candidate tries every ``retry_period`` (with jitter). It may take the Lease when nobody holds it,
  or when the record it sees has not changed for ``leaseDurationSeconds`` of *its own* clock (the
  "observed time": clocks of different nodes are never compared).
- Writes are optimistic: a PUT carrying the ``resourceVersion`` that was read; a 409 means someone
  else wrote first, and the attempt fails.
- The leader renews every ``retry_period``. When no renewal succeeded for ``renew_deadline`` it stops
  leading at once (:meth:`LeaderElector.is_leader` turns false at the deadline even while a request
  hangs), as does seeing another holder.
- Releasing (graceful shutdown) clears ``holderIdentity`` so a standby takes over without waiting.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from gitops.agent.config import LeaderElection
from gitops.agent.logging import fields
from gitops.errors import GitopsError
from gitops.objects import ObjectRef

log = logging.getLogger(__name__)

LEASE_API_VERSION = "coordination.k8s.io/v1"
_JITTER_FACTOR = 1.2  # client-go's JitterFactor for acquisition attempts


class LeaseStore(Protocol):
    def get(self, ref: ObjectRef) -> dict[str, Any] | None: ...
    def create(self, obj: dict[str, Any]) -> dict[str, Any]: ...
    def replace(self, obj: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class LeaseRecord:
    """The Lease's spec, as client-go's LeaderElectionRecord."""

    holder: str = ""
    lease_duration: int = 0
    acquire_time: str | None = None
    renew_time: str | None = None
    transitions: int = 0

    @classmethod
    def from_lease(cls, lease: dict[str, Any]) -> LeaseRecord:
        spec = lease.get("spec") or {}
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            lease_duration=int(spec.get("leaseDurationSeconds") or 0),
            acquire_time=spec.get("acquireTime"),
            renew_time=spec.get("renewTime"),
            transitions=int(spec.get("leaseTransitions") or 0),
        )

    def spec(self) -> dict[str, Any]:
        return {
            "holderIdentity": self.holder,
            "leaseDurationSeconds": self.lease_duration,
            "acquireTime": self.acquire_time,
            "renewTime": self.renew_time,
            "leaseTransitions": self.transitions,
        }


def micro_time(moment: datetime | None = None) -> str:
    """A Kubernetes MicroTime: RFC 3339 with microseconds, UTC."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def next_record(
    current: LeaseRecord | None, *, identity: str, lease_duration: int, now: str, leading: bool
) -> LeaseRecord:
    """The record to write when taking or renewing the Lease (pure; client-go's tryAcquireOrRenew step 3)."""
    if current is None:
        return LeaseRecord(identity, lease_duration, now, now, 0)
    if leading and current.holder == identity:
        return LeaseRecord(identity, lease_duration, current.acquire_time or now, now, current.transitions)
    return LeaseRecord(identity, lease_duration, now, now, current.transitions + 1)


def may_take(record: LeaseRecord, *, identity: str, observed_at: float, now: float) -> bool:
    """Whether ``identity`` may write the Lease: free, its own, or expired by the local observed time."""
    if not record.holder or record.holder == identity:
        return True
    return observed_at + record.lease_duration <= now


class LeaderElector:
    """Runs the election loop on a thread and calls back when leadership starts or stops."""

    def __init__(
        self,
        store: LeaseStore,
        settings: LeaderElection,
        *,
        namespace: str,
        identity: str,
        on_started_leading: Callable[[], None],
        on_stopped_leading: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.settings = settings
        self.ref = ObjectRef("coordination.k8s.io", "Lease", namespace, settings.lease_name, "v1")
        self.identity = identity
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.clock = clock
        self._lease: dict[str, Any] | None = None
        self._observed: LeaseRecord | None = None
        self._observed_at = 0.0
        self._leading = False
        self._last_renew = 0.0
        self._last_contact: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # --- state seen by others -------------------------------------------------------------

    def is_leader(self) -> bool:
        """True only while the last successful renewal is younger than the renew deadline."""
        with self._lock:
            return self._leading and self.clock() - self._last_renew < self.settings.renew_deadline

    def healthy(self) -> bool:
        """Reached the API server recently (a standby that cannot see the Lease is not ready)."""
        with self._lock:
            last = self._last_contact
        return last is not None and self.clock() - last < self.settings.lease_duration

    @property
    def holder(self) -> str:
        with self._lock:
            return self._observed.holder if self._observed else ""

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"leader-{self.identity}", daemon=True)
        self._thread.start()

    def stop(self, *, release: bool = True) -> None:
        """Stop campaigning; with ``release``, hand the Lease back so a standby takes over at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.renew_deadline + 5)
        was_leading = self.is_leader()
        if was_leading:
            self._set_leading(False)
        if release and was_leading:
            self._release()

    # --- the loop -------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            succeeded = self._try_acquire_or_renew()
            with self._lock:
                leading, deadline_passed = self._leading, self.clock() - self._last_renew >= self.settings.renew_deadline
            if succeeded and not leading:
                self._set_leading(True)
            elif leading and (deadline_passed or (not succeeded and self._held_by_other())):
                log.warning("lost the leader lease", extra=fields(identity=self.identity, lease=self.ref.name))
                self._set_leading(False)
            period = self.settings.retry_period
            if not self.is_leader():
                period *= 1 + random.random() * (_JITTER_FACTOR - 1)
            self._stop.wait(period)

    def _held_by_other(self) -> bool:
        with self._lock:
            return self._observed is not None and self._observed.holder not in ("", self.identity)

    def _set_leading(self, leading: bool) -> None:
        with self._lock:
            if self._leading == leading:
                return
            self._leading = leading
        if leading:
            log.info("became the leader", extra=fields(identity=self.identity, lease=self.ref.name))
            self.on_started_leading()
        else:
            self.on_stopped_leading()

    def _try_acquire_or_renew(self) -> bool:
        try:
            lease = self.store.get(self.ref)
        except GitopsError as err:
            log.debug("cannot read the lease: %s", err)
            return False
        now = self.clock()
        with self._lock:
            self._last_contact = now
        duration = max(1, round(self.settings.lease_duration))
        if lease is None:
            record = next_record(None, identity=self.identity, lease_duration=duration, now=micro_time(), leading=False)
            return self._write(self._new_lease(record), record, create=True)
        current = LeaseRecord.from_lease(lease)
        with self._lock:
            if current != self._observed:
                self._observed, self._observed_at = current, now
            observed_at, leading = self._observed_at, self._leading
        if not may_take(current, identity=self.identity, observed_at=observed_at, now=now):
            return False
        record = next_record(
            current, identity=self.identity, lease_duration=duration, now=micro_time(),
            leading=leading and current.holder == self.identity,
        )
        return self._write({**lease, "spec": {**(lease.get("spec") or {}), **record.spec()}}, record, create=False)

    def _write(self, lease: dict[str, Any], record: LeaseRecord, *, create: bool) -> bool:
        try:
            written = self.store.create(lease) if create else self.store.replace(lease)
        except GitopsError as err:
            # 409 (someone else wrote first, or created it) is the normal way to lose a race.
            log.debug("lease write failed: %s", err)
            return False
        now = self.clock()
        with self._lock:
            self._lease = written
            self._observed, self._observed_at = record, now
            self._last_renew = now
            self._last_contact = now
        return True

    def _new_lease(self, record: LeaseRecord) -> dict[str, Any]:
        return {
            "apiVersion": LEASE_API_VERSION,
            "kind": "Lease",
            "metadata": {"name": self.ref.name, "namespace": self.ref.namespace},
            "spec": record.spec(),
        }

    def _release(self) -> None:
        """client-go's release: empty holder, a 1 s duration, transitions kept."""
        with self._lock:
            lease, observed = self._lease, self._observed
        if lease is None or observed is None:
            return
        now = micro_time()
        record = LeaseRecord("", 1, now, now, observed.transitions)
        try:
            self.store.replace({**lease, "spec": {**(lease.get("spec") or {}), **record.spec()}})
            log.info("released the leader lease", extra=fields(identity=self.identity, lease=self.ref.name))
        except GitopsError as err:
            log.warning("cannot release the leader lease: %s", err, extra=fields(identity=self.identity))
