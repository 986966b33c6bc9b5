"""Fault injection: make the next N requests matching a verb and a path fail.

    server.faults.add(verb="patch", path_regex=r"/deployments/", status=500, count=2)
    server.faults.add(verb="*", path_regex=r"^/api/v1/namespaces/shop/", status=429, count=1)
    server.faults.add(verb="get", path_regex="configmaps", mode="timeout", delay=5.0)
    server.faults.add(verb="list", path_regex="secrets", mode="drop")

``verb`` is a Kubernetes verb (get, list, watch, create, update, patch, delete, deletecollection),
an HTTP method (GET, POST, ...) or ``*``. ``mode`` is ``status`` (answer ``status`` with a Status body;
429 carries Retry-After), ``timeout`` (hold the request ``delay`` seconds, then close without answering)
or ``drop`` (close the connection without answering).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

MODES = ("status", "timeout", "drop")


@dataclass
class Fault:
    verb: str
    path_regex: str
    status: int = 500
    count: int = 1
    """How many matching requests fail; 0 or less: every matching request until removed."""
    mode: str = "status"
    delay: float = 30.0
    """For ``timeout``: how long the request hangs before the connection is closed."""
    hits: int = 0
    _pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"fault mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        self._pattern = re.compile(self.path_regex)

    def matches(self, verb: str, method: str, path: str) -> bool:
        wanted = self.verb.lower()
        return wanted in ("*", verb.lower(), method.lower()) and bool(self._pattern.search(path))

    def to_dict(self) -> dict[str, Any]:
        return {
            "verb": self.verb,
            "path_regex": self.path_regex,
            "status": self.status,
            "count": self.count,
            "mode": self.mode,
            "delay": self.delay,
            "hits": self.hits,
        }


class Faults:
    """The active faults of one server (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        verb: str = "*",
        path_regex: str = "",
        status: int = 500,
        count: int = 1,
        mode: str = "status",
        delay: float = 30.0,
    ) -> Fault:
        fault = Fault(verb=verb, path_regex=path_regex, status=status, count=count, mode=mode, delay=delay)
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self._faults:
                self._faults.remove(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, verb: str, method: str, path: str) -> Fault | None:
        """The first fault matching this request, counting it as used."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(verb, method, path):
                    fault.hits += 1
                    if fault.count > 0 and fault.hits >= fault.count:
                        self._faults.remove(fault)
                    return fault
        return None
