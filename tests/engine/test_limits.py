"""The adaptive client-side limiter (pure: a fake clock, no sleeping, no timed assertions)."""

from __future__ import annotations

import math

import pytest

from gitops.limits import MAX_RETRY_AFTER, AdaptiveLimiter, retry_after_seconds


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def limiter(clock: FakeClock, **kwargs: float) -> AdaptiveLimiter:
    return AdaptiveLimiter(clock=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


def send(lim: AdaptiveLimiter, clock: FakeClock, count: int, answer_seconds: float = 0.01) -> list[float]:
    """Send ``count`` requests one after the other; the times they went out."""
    times = []
    for _ in range(count):
        lim.acquire()
        times.append(clock.now)
        lim.answered(200, answer_seconds)
    return times


def test_without_pushback_or_cap_nothing_waits() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    assert [lim.reserve() for _ in range(10_000)] == [0.0] * 10_000
    assert lim.effective_rate == math.inf


def test_a_429_halves_the_rate_actually_sent_and_pauses_for_retry_after() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    for _ in range(100):  # 100 requests a second
        lim.reserve()
        clock.now += 0.01
    pause = lim.throttled_for("2", attempt=0)
    assert pause == 2.0
    assert lim.rate == pytest.approx(50, rel=0.05)
    # Everyone waits until Retry-After has passed, then requests go at the new pace.
    assert lim.reserve() == pytest.approx(2.0)
    assert lim.reserve() == pytest.approx(2.0 + 1 / lim.rate, rel=0.01)


def test_a_burst_of_429s_from_one_overload_decreases_once() -> None:
    clock = FakeClock()
    lim = limiter(clock)
    for _ in range(100):
        lim.reserve()
        clock.now += 0.01
    for _ in range(8):
        lim.throttled_for("1", attempt=0)
    assert lim.rate == pytest.approx(50, rel=0.05)
    assert lim.throttled == 8
    clock.now += 1.5  # a later overload counts again
    lim.throttled_for("1", attempt=0)
    assert lim.rate == pytest.approx(25, rel=0.05)


def test_quick_answers_open_up_again_and_slow_ones_hold() -> None:
    clock = FakeClock()
    lim = limiter(clock, increase=20.0)
    for _ in range(100):
        lim.reserve()
        clock.now += 0.01
    lim.throttled_for("0", attempt=0)
    after_throttle = lim.rate
    send(lim, clock, 50, answer_seconds=5.0)  # slow answers: no increase
    assert lim.rate == after_throttle
    for status in (500, 0):
        lim.answered(status, 0.01)
    assert lim.rate == after_throttle
    start = clock.now
    send(lim, clock, 2_000)  # quick answers: about +20 requests a second per second
    elapsed = clock.now - start
    assert lim.rate == pytest.approx(after_throttle + 20 * elapsed, rel=0.1)
    assert lim.rate > 2 * after_throttle


def test_the_rate_never_drops_below_the_floor() -> None:
    clock = FakeClock()
    lim = limiter(clock, floor=2.0)
    for _ in range(10):
        for _ in range(10):
            lim.reserve()
            clock.now += 0.5
        lim.throttled_for("0", attempt=0)
        clock.now += 1.0
    assert lim.rate == 2.0


def test_qps_is_a_hard_cap_with_a_burst() -> None:
    clock = FakeClock()
    lim = limiter(clock, cap=10.0, burst=5)
    waits = [lim.reserve() for _ in range(25)]
    assert waits[:5] == [0.0] * 5
    # Then one every 0.1 s: 20 more requests take 2 s.
    assert waits[5:] == pytest.approx([0.1 * i for i in range(1, 21)])
    # Quick answers never grow the adaptive rate past the cap.
    lim.throttled_for("0", attempt=0)
    send(lim, clock, 3_000)
    assert lim.rate <= 10.0
    assert lim.effective_rate == 10.0


def test_a_cap_holds_even_when_the_server_never_pushes_back() -> None:
    clock = FakeClock()
    lim = limiter(clock, cap=50.0, burst=1)
    times = send(lim, clock, 501)
    assert times[-1] - times[0] == pytest.approx(10.0)


@pytest.mark.parametrize(("header", "attempt", "expected"), [
    ("3", 0, 3.0),
    ("0", 0, 0.05),
    ("3600", 0, MAX_RETRY_AFTER),
    (None, 0, 0.1),
    (None, 3, 0.8),
    ("Wed, 21 Oct 2026 07:28:00 GMT", 1, 0.2),
    ("nan", 0, 0.1),
])
def test_retry_after(header: str | None, attempt: int, expected: float) -> None:
    assert retry_after_seconds(header, attempt) == pytest.approx(expected)
