"""Raw requests through the official client's ApiClient, for status codes and content types the
dynamic client hides."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


def call(
    api_client: Any,
    method: str,
    path: str,
    body: Any = None,
    *,
    content_type: str = "application/json",
    query: list[tuple[str, str]] | None = None,
) -> Answer:
    if body is not None and "json" not in content_type and "yaml" not in content_type:
        body = json.dumps(body)  # the client serialises only JSON and YAML types itself
    request = api_client.param_serialize(
        method,
        path,
        query_params=query or [],
        header_params={"Content-Type": content_type, "Accept": "application/json"},
        body=body,
        auth_settings=["BearerToken"],
    )
    response = api_client.call_api(*request)
    data = response.read()
    try:
        decoded = json.loads(data) if data else None
    except ValueError:
        decoded = data.decode(errors="replace")
    return Answer(response.status, decoded, dict(response.getheaders()))
