"""Durations as kubectl and Go write them (``90s``, ``5m``, ``1h30m``, ``500ms``), or plain seconds.

One parser for every front end: the CLI's ``--timeout``, the agent's configuration, the Action.
"""

from __future__ import annotations

import math
import re
from typing import Any

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
MAX_SECONDS = (2**63 - 1) / 1e9
"""Go's longest duration (about 292 years)."""


def parse_duration(value: Any) -> float:
    """Seconds from a number or a Go-style duration (``90``, ``1.5``, ``30s``, ``1m30s``, ``500ms``).

    Raises ValueError for anything else: negative, NaN or infinite numbers, a string without units.
    """
    if isinstance(value, bool):
        raise ValueError("a duration, not a boolean")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and value and re.fullmatch(rf"(?:{_PART.pattern})+", value.strip()):
        seconds = sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(value.strip()))
    else:
        raise ValueError(f"{value!r} is no duration (use seconds or forms like 30s, 5m, 1h30m)")
    if not math.isfinite(seconds):
        raise ValueError(f"a duration must be a finite number, not {value!r}")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if seconds > MAX_SECONDS:
        raise ValueError(f"{value!r} is too long a duration (at most about 292 years)")
    return seconds


def parse_seconds_or_duration(text: str) -> float:
    """A command-line duration: plain seconds (``300``, ``1.5``) or a Go-style duration (``5m``)."""
    try:
        number = float(text)
    except ValueError:
        return parse_duration(text)
    return parse_duration(number)
