"""Client-side request pacing that adapts to the API server (pure: the clock is injected).

A fixed client-side rate (client-go's 5 qps, our former 200 qps) either holds a large sync back
while the server could answer faster, or does nothing to protect a server that is already
overloaded. The API server protects itself with API Priority and Fairness: a request it will not
serve now is answered 429 with ``Retry-After``. :class:`AdaptiveLimiter` follows that signal,
additive increase / multiplicative decrease (AIMD, as TCP congestion control):

- no client-side rate at first: a request is sent as soon as a worker has one;
- a 429 halves the rate (at first what was actually being sent; at most once a second, so a
  burst of 429s from one overload counts once) and pauses every request until its ``Retry-After`` passed;
- every answer that comes back quickly (successful, under ``slow_seconds``) adds
  ``increase / rate``, so the rate grows by about ``increase`` requests a second for each second
  of quick answers (up to twice what is actually sent); slow answers and failures hold it;
- ``cap`` (``--qps``) is a hard ceiling whatever the server says (0: none), with ``burst``
  requests allowed at once above it, as client-go's token bucket.

Thread-safe. :meth:`reserve` only computes how long the caller must wait, so the logic is tested
with a fake clock; :meth:`acquire` does the sleeping.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

MIN_RETRY_AFTER = 0.05
MAX_RETRY_AFTER = 10.0
"""A Retry-After longer than this is not waited for in one go: the request is retried sooner."""


class AdaptiveLimiter:
    """AIMD request pacing with a hard cap. See the module docstring."""

    def __init__(
        self,
        cap: float = 0.0,
        burst: int = 1,
        *,
        floor: float = 1.0,
        increase: float = 20.0,
        decrease: float = 0.5,
        slow_seconds: float = 1.0,
        window: int = 256,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cap = max(0.0, cap)
        """Hard ceiling in requests a second (``--qps``); 0: none."""
        self.burst = max(1, burst)
        self.floor = floor
        """The adaptive rate never goes below this many requests a second."""
        self.increase = increase
        self.decrease = decrease
        self.slow_seconds = slow_seconds
        self.rate = math.inf
        """The adaptive rate in requests a second; ``inf`` until the server first pushes back."""
        self.throttled = 0
        """429 answers seen."""
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = -math.inf  # the earliest time the next request may go (rate pacing)
        self._cap_due = -math.inf  # the hard cap's theoretical arrival time
        self._paused_until = -math.inf
        self._last_decrease = -math.inf
        self._sent: deque[float] = deque(maxlen=window)  # recent send times, to measure the real rate

    @property
    def effective_rate(self) -> float:
        """The rate requests are paced at now (``inf``: not paced)."""
        return min(self.rate, self.cap or math.inf)

    def reserve(self) -> float:
        """Take the next slot; returns the seconds to wait before sending (0: at once)."""
        with self._lock:
            now = self._clock()
            start = max(now, self._paused_until)
            if math.isfinite(self.rate):
                start = max(start, self._next)
            if self.cap:
                # Token bucket (GCRA): up to ``burst`` requests at once, then one every 1/cap s.
                due = max(self._cap_due, start)
                start = max(start, due - (self.burst - 1) / self.cap)
                self._cap_due = due + 1.0 / self.cap
            if math.isfinite(self.rate):
                self._next = start + 1.0 / self.rate
            self._sent.append(start)
            return start - now

    def acquire(self) -> None:
        """Wait for the next slot."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)

    def answered(self, status: int, seconds: float) -> None:
        """Learn from an answer (status 0: none came) that took ``seconds``."""
        if status == 429 or status == 0 or status >= 500 or seconds > self.slow_seconds:
            return  # 429 goes through throttled(); failures and slow answers hold the rate
        with self._lock:
            if math.isfinite(self.rate):
                # Never grow far past what is actually sent (nor past the cap): a rate no request
                # uses would only make the next decrease come too late.
                ceiling = min(2 * self._sending_rate(self._clock()), self.cap or math.inf)
                self.rate = max(self.rate, min(self.rate + self.increase / self.rate, ceiling))
                if self.cap:
                    self.rate = min(self.rate, self.cap)

    def throttled_for(self, retry_after: str | None, attempt: int) -> float:
        """A 429 answer: slow down, pause everyone until Retry-After; returns the pause in seconds."""
        pause = retry_after_seconds(retry_after, attempt)
        with self._lock:
            now = self._clock()
            self.throttled += 1
            self._paused_until = max(self._paused_until, now + pause)
            if now - self._last_decrease >= 1.0:
                self._last_decrease = now
                base = self.rate if math.isfinite(self.rate) else self._sending_rate(now)
                self.rate = max(self.floor, base * self.decrease)
                self._next = min(self._next, now)  # the new pace starts from now, not from the old schedule
        return pause

    def _sending_rate(self, now: float) -> float:
        """Requests a second actually sent recently (``inf`` when too few to tell)."""
        if len(self._sent) < 2:
            return math.inf
        span = max(now, self._sent[-1]) - self._sent[0]
        return len(self._sent) / span if span > 0 else math.inf


def retry_after_seconds(header: str | None, attempt: int) -> float:
    """The pause a 429 asks for: its ``Retry-After`` seconds (bounded), else exponential backoff.

    An HTTP-date Retry-After (never sent by kube-apiserver) falls back to the backoff.
    """
    try:
        seconds = float(header) if header is not None else None
    except ValueError:
        seconds = None
    if seconds is None or math.isnan(seconds):
        return min(0.1 * 2**attempt, 5.0)
    return min(max(seconds, MIN_RETRY_AFTER), MAX_RETRY_AFTER)
