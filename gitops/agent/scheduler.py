"""One APScheduler job per application: interval with jitter, never two runs of one application
at once, missed runs coalesced, and triggers that arrive during a run remembered.

APScheduler drops a run that would exceed ``max_instances`` ("maximum number of running instances
reached"): a webhook arriving while the application reconciles would be lost. So the scheduler keeps
its own record of which applications are running (from the moment a run starts until APScheduler
reports it finished, when its instance count is already released): a trigger for a running
application sets a pending flag instead, and the job runs again as soon as it ends (unless paused
meanwhile: its shard was lost). A trigger for an idle one moves its next run to now; if APScheduler
refuses that because a run has just started, the run that started serves the trigger, since it began
after the trigger arrived.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    JobEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)


class AppScheduler:
    def __init__(self, run: Callable[[str], None], *, workers: int = 4) -> None:
        """``run(name)`` reconciles one application; it must catch its own errors."""
        self._run = run
        self._timezone = UTC
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=self._timezone,
        )
        self._scheduler.add_listener(self._on_finished, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        self._running: set[str] = set()
        self._pending: set[str] = set()
        self._lock = threading.Lock()

    def add(self, name: str, interval: float, jitter: float) -> None:
        """Add (or replace) the job of ``name``, paused until :meth:`resume` starts it."""
        trigger = IntervalTrigger(seconds=interval, jitter=jitter or None, timezone=self._timezone)
        self._scheduler.add_job(
            self._run_one, trigger, args=[name], id=name, name=name, next_run_time=None, replace_existing=True
        )

    def has(self, name: str) -> bool:
        return self._scheduler.get_job(name) is not None

    def remove(self, name: str) -> None:
        with contextlib.suppress(JobLookupError):
            self._scheduler.remove_job(name)
        with self._lock:
            self._pending.discard(name)

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self, *, wait: bool = True) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)

    def pause(self, name: str) -> None:
        """Stop starting runs of ``name`` (a run under way finishes on its own)."""
        with contextlib.suppress(JobLookupError):
            self._scheduler.pause_job(name)
        with self._lock:
            self._pending.discard(name)

    def pause_all(self) -> None:
        """Stop starting runs (a run under way finishes on its own)."""
        if self._scheduler.state != STATE_STOPPED:
            self._scheduler.pause()
        with self._lock:
            self._pending.clear()

    def resume(self, name: str) -> bool:
        """Start the schedule of ``name`` with a run right away; False when no such application."""
        try:
            self._scheduler.modify_job(name, next_run_time=self._now())
        except JobLookupError:
            return False
        self._scheduler.wakeup()
        return True

    def resume_all(self) -> None:
        for job in self._scheduler.get_jobs():
            self.resume(job.id)

    def trigger(self, name: str) -> bool:
        """Run ``name`` now, or right after its current run; False when no such application or paused."""
        job = self._scheduler.get_job(name)
        if job is None or job.next_run_time is None:
            return False
        with self._lock:
            if name in self._running:
                # Changing the job now could be overwritten by APScheduler, which updates the job's next
                # run time right after a run starts: the run under way runs again when it ends instead.
                self._pending.add(name)
                return True
        return self.resume(name)

    def run_later(self, name: str, delay: float) -> None:
        """Move the next run of ``name`` to ``delay`` seconds from now (backoff after a failure)."""
        with contextlib.suppress(JobLookupError):
            self._scheduler.modify_job(name, next_run_time=self._now() + timedelta(seconds=delay))
            self._scheduler.wakeup()

    def _now(self) -> datetime:
        return datetime.now(self._timezone)

    def _run_one(self, name: str) -> None:
        with self._lock:
            self._running.add(name)
        self._run(name)

    def _on_finished(self, event: JobEvent) -> None:
        with self._lock:
            self._running.discard(event.job_id)
            pending = event.job_id in self._pending
            self._pending.discard(event.job_id)
        if pending and self._scheduler.state != STATE_STOPPED:
            self.trigger(event.job_id)  # unless paused meanwhile (its shard was lost)
