"""Holding a ``coordination.k8s.io/v1`` Lease, following client-go's ``leaderelection``.

- A candidate tries every ``retry_period`` (with jitter). It may take the Lease when nobody holds it,
  or when the record it sees has not changed for ``leaseDurationSeconds`` of *its own* clock (the
  "observed time": clocks of different nodes are never compared).
- Writes are optimistic: a PUT carrying the ``resourceVersion`` that was read; a 409 means someone
  else wrote first, and the attempt fails.
- The leader renews every ``retry_period``. When no renewal succeeded for ``renew_deadline`` it stops
  leading at once (:meth:`LeaderElector.is_leader` turns false at the deadline even while a request
  hangs), as does seeing another holder.
- Releasing (graceful shutdown) clears ``holderIdentity`` so a standby takes over without waiting.

:class:`LeaseLock` is one Lease and what this replica observed of it, advanced one step at a time by
the caller's loop (:mod:`gitops.agent.shards` runs one loop for all the shards it holds).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from gitops.agent.config import LeaderElection
from gitops.agent.logging import fields
from gitops.errors import ApiError, GitopsError
from gitops.objects import ObjectRef

log = logging.getLogger(__name__)

LEASE_API_VERSION = "coordination.k8s.io/v1"


class LeaseStore(Protocol):
    def create(self, obj: dict[str, Any]) -> dict[str, Any]: ...
    def replace(self, obj: dict[str, Any]) -> dict[str, Any]: ...
    def list(self, api_version: str, kind: str, namespace: str, label_selector: str) -> list[dict[str, Any]]: ...


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


class LeaseLock:
    """One Lease: take, renew and release it, and remember what was observed of it and when (local clock).

    Not a thread: :meth:`try_acquire_or_renew` is one step of client-go's loop. Thread-safe reads
    (:meth:`is_leader`, :attr:`holder`) may come from any thread.
    """

    def __init__(
        self,
        store: LeaseStore,
        settings: LeaderElection,
        ref: ObjectRef,
        *,
        identity: str,
        labels: dict[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.settings = settings
        self.ref = ref
        self.identity = identity
        self.labels = dict(labels or {})
        self.clock = clock
        self.problem: str | None = None
        """Why the last attempt could not read or write the Lease (``None``: it could, or lost a race)."""
        self._lease: dict[str, Any] | None = None
        self._observed: LeaseRecord | None = None
        self._observed_at = 0.0
        self._leading = False
        self._last_renew = 0.0
        self._last_contact: float | None = None
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

    def deadline_passed(self) -> bool:
        with self._lock:
            return self.clock() - self._last_renew >= self.settings.renew_deadline

    def held_by_other(self) -> bool:
        with self._lock:
            return self._observed is not None and self._observed.holder not in ("", self.identity)

    def set_leading(self, leading: bool) -> bool:
        """Record whether this replica leads; True when that changed."""
        with self._lock:
            changed, self._leading = self._leading != leading, leading
        return changed

    @property
    def leading(self) -> bool:
        """Whether this replica considers itself the holder (see :meth:`is_leader` for the deadline)."""
        with self._lock:
            return self._leading

    # --- one step -------------------------------------------------------------------------

    def observe(self, lease: dict[str, Any] | None) -> None:
        """Note the Lease as just read (a list of all Leases serves every lock at once)."""
        now = self.clock()
        with self._lock:
            self._last_contact = now
            if lease is None:
                return
            self._lease = lease
            current = LeaseRecord.from_lease(lease)
            if current != self._observed:
                self._observed, self._observed_at = current, now

    def try_acquire_or_renew(self, lease: dict[str, Any] | None) -> bool:
        """client-go's tryAcquireOrRenew, given the Lease as just read (``None``: none exists)."""
        self.observe(lease)
        duration = max(1, round(self.settings.lease_duration))
        if lease is None:
            record = next_record(None, identity=self.identity, lease_duration=duration, now=micro_time(), leading=False)
            return self._write(self._new_lease(record), record, create=True)
        with self._lock:
            current, observed_at, leading = self._observed, self._observed_at, self._leading
        assert current is not None
        if not may_take(current, identity=self.identity, observed_at=observed_at, now=self.clock()):
            self._clear_trouble()
            return False
        record = next_record(
            current, identity=self.identity, lease_duration=duration, now=micro_time(),
            leading=leading and current.holder == self.identity,
        )
        return self._write({**lease, "spec": {**(lease.get("spec") or {}), **record.spec()}}, record, create=False)

    def _write(self, lease: dict[str, Any], record: LeaseRecord, *, create: bool) -> bool:
        try:
            written = self.store.create(lease) if create else self.store.replace(lease)
        except ApiError as err:
            if err.status == 409:
                # Someone else wrote first (or created it): the normal way to lose a race.
                log.debug("lease write lost a race: %s", err)
                self._clear_trouble()
            else:
                self._trouble(f"cannot write Lease {self.ref.namespace}/{self.ref.name}: {err.detail}")
            return False
        except GitopsError as err:
            self._trouble(f"cannot write Lease {self.ref.namespace}/{self.ref.name}: {err}")
            return False
        now = self.clock()
        with self._lock:
            self._lease = written
            self._observed, self._observed_at = record, now
            self._last_renew = now
            self._last_contact = now
        self._clear_trouble()
        return True

    def _trouble(self, problem: str) -> None:
        """An error the operator must see: logged once per distinct cause, and kept for ``/readyz``."""
        if problem != self.problem:
            log.error("%s", problem, extra=fields(identity=self.identity, lease=self.ref.name))
        self.problem = problem

    def _clear_trouble(self) -> None:
        if self.problem is not None:
            log.info("lease reachable again", extra=fields(identity=self.identity, lease=self.ref.name))
        self.problem = None

    def _new_lease(self, record: LeaseRecord) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": self.ref.name, "namespace": self.ref.namespace}
        if self.labels:
            metadata["labels"] = dict(self.labels)
        return {"apiVersion": LEASE_API_VERSION, "kind": "Lease", "metadata": metadata, "spec": record.spec()}

    def release(self) -> None:
        """client-go's release: empty holder, a 1 s duration, transitions kept."""
        self.set_leading(False)
        with self._lock:
            lease, observed = self._lease, self._observed
        if lease is None or observed is None or observed.holder != self.identity:
            return
        now = micro_time()
        record = LeaseRecord("", 1, now, now, observed.transitions)
        try:
            written = self.store.replace({**lease, "spec": {**(lease.get("spec") or {}), **record.spec()}})
            with self._lock:
                self._lease, self._observed = written, record
            log.info("released the lease", extra=fields(identity=self.identity, lease=self.ref.name))
        except GitopsError as err:
            log.warning("cannot release the lease: %s", err, extra=fields(identity=self.identity, lease=self.ref.name))
