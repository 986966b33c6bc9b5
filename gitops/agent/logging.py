"""Structured logs: one JSON object per line, with the application, revision and object as fields.

Log with ``logger.info("applied", extra=fields(app="shop", revision=sha))``; the formatter copies
every field passed through ``extra`` into the JSON object.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` for a log call, leaving out fields that are ``None``."""
    return {key: value for key, value in values.items() if value is not None}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            entry["error"] = f"{type(error).__name__}: {error}"
        return json.dumps(entry, default=str, ensure_ascii=False)


def _timestamp(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created % 1 * 1000):03d}Z"


def configure(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Send every log record to ``stream`` (stderr) as JSON lines, replacing other root handlers."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # The scheduler logs every run at INFO, and a trigger during a run ("maximum number of running
    # instances reached") at WARNING, which gitops.agent.scheduler handles; our own lines say what matters.
    logging.getLogger("apscheduler").setLevel(max(level, logging.WARNING))
    logging.getLogger("apscheduler.scheduler").setLevel(max(level, logging.ERROR))
