"""Durations as kubectl writes them, one parser for the CLI, the agent and the Action."""

from __future__ import annotations

import math

import pytest

from gitops.durations import parse_duration, parse_seconds_or_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90.0), ("5m", 300.0), ("1h", 3600.0), ("1m30s", 90.0), ("1h30m", 5400.0), ("500ms", 0.5),
     ("300", 300.0), ("2.5", 2.5), ("0", 0.0), ("1.5h", 5400.0)],
)
def test_command_line_durations(text: str, seconds: float) -> None:
    assert parse_seconds_or_duration(text) == seconds


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "1e400", "-5", "-5s", "5 minutes", "5d", "", "m", "1e300h"])
def test_bad_command_line_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_seconds_or_duration(text)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, True, None, [1], "5"])
def test_bad_configuration_durations(value: object) -> None:
    """In a configuration file a bare string needs a unit, as in Go; numbers are seconds."""
    with pytest.raises(ValueError):
        parse_duration(value)
