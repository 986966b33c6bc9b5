"""JSON in and out of the process: API request bodies, API answers, the JSON report. Pure.

orjson encodes and decodes four to ten times faster than the standard library, which took about a
tenth of the client's CPU time in a no-op diff of 10,000 objects (the LIST answers carry every
object with its managedFields) and as much in writing the JSON report. What orjson refuses, the
standard library does as before: integers beyond 64 bits, and (on input) ``NaN`` and ``Infinity``,
which no API server sends.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Types the standard library hands to ``default`` (orjson would write them its own way).
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def loads(data: bytes | str) -> Any:
    """Decode JSON text; raises ValueError (``json.JSONDecodeError``) when it is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def dumps_compact(value: Any) -> bytes:
    """UTF-8 JSON without whitespace (a request body); raises TypeError for what JSON cannot hold."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def dumps_pretty(value: Any) -> str:
    """JSON indented by two spaces; what JSON has no type for is written as ``str(value)``."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_INDENT_2 | _PASSTHROUGH).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, indent=2, ensure_ascii=False, default=str)
