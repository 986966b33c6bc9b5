"""The application scheduler on a real APScheduler: triggers during a run are kept, runs never overlap."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from gitops.agent.scheduler import AppScheduler


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class Recorder:
    def __init__(self) -> None:
        self.runs: list[str] = []
        self.running = 0
        self.most_at_once = 0
        self.release = threading.Event()
        self.entered = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, name: str) -> None:
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.runs.append(name)
        self.entered.set()
        self.release.wait(10)
        with self.lock:
            self.running -= 1


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, AppScheduler]]:
    recorder = Recorder()
    scheduler = AppScheduler(recorder)
    scheduler.add("shop", interval=3600, jitter=0)
    scheduler.start()
    yield recorder, scheduler
    recorder.release.set()
    scheduler.shutdown()


def test_nothing_runs_until_resumed(recorder: tuple[Recorder, AppScheduler]) -> None:
    runs, scheduler = recorder
    runs.release.set()
    scheduler.trigger("shop")
    assert not runs.entered.wait(0.3)
    scheduler.resume_all()
    assert wait_for(lambda: runs.runs == ["shop"])


def test_a_trigger_during_a_run_runs_again_afterwards(recorder: tuple[Recorder, AppScheduler]) -> None:
    runs, scheduler = recorder
    scheduler.resume_all()
    assert runs.entered.wait(10)
    assert scheduler.trigger("shop")
    scheduler.trigger("shop")  # coalesced with the one before
    runs.release.set()
    assert wait_for(lambda: len(runs.runs) == 2)
    assert runs.most_at_once == 1


def test_unknown_application(recorder: tuple[Recorder, AppScheduler]) -> None:
    assert not recorder[1].trigger("nope")


def test_interval_runs_repeat() -> None:
    runs: list[str] = []
    scheduler = AppScheduler(runs.append)
    scheduler.add("shop", interval=0.2, jitter=0.05)
    scheduler.start()
    try:
        scheduler.resume_all()
        assert wait_for(lambda: len(runs) >= 3)
    finally:
        scheduler.shutdown()


def test_run_later_moves_the_next_run() -> None:
    runs: list[str] = []
    scheduler = AppScheduler(runs.append)
    scheduler.add("shop", interval=3600, jitter=0)
    scheduler.start()
    try:
        scheduler.resume_all()
        assert wait_for(lambda: len(runs) == 1)
        scheduler.run_later("shop", 0.2)
        assert wait_for(lambda: len(runs) == 2)
    finally:
        scheduler.shutdown()


def test_no_trigger_is_lost_at_any_point_of_a_run() -> None:
    """A trigger landing anywhere in a run (its start, its end, the moment APScheduler reports it
    finished) is served by a run that starts after it."""
    triggered = [0]
    seen: list[int] = []

    def run(name: str) -> None:
        seen.append(triggered[0])  # the newest trigger this run serves
        time.sleep(0.002)

    scheduler = AppScheduler(run)
    scheduler.add("shop", interval=3600, jitter=0)
    scheduler.start()
    try:
        scheduler.resume_all()
        assert wait_for(lambda: len(seen) == 1)
        for number in range(1, 151):
            triggered[0] = number
            assert scheduler.trigger("shop")
            time.sleep((number % 7) * 0.0005)  # lands at varying points of the run it started
            if number % 3 == 0:
                assert wait_for(lambda: bool(seen) and seen[-1] == triggered[0]), f"trigger {number} was lost"
    finally:
        scheduler.shutdown()
