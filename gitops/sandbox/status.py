"""Kubernetes ``Status`` error bodies, worded as a real API server words them.

Pure: no I/O. Every failed request raises :class:`ApiStatus`; the HTTP layer turns it into the body.
"""

from __future__ import annotations

import json
from typing import Any

from gitops.sandbox.resources import ResourceType


class ApiStatus(Exception):
    """A request failed with this Status (code, reason, message, details)."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers: dict[str, str] = {}

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> ApiStatus:
        return cls(
            int(body["code"]), str(body.get("reason", "")), str(body.get("message", "")), body.get("details")
        )

    def body(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:  # StatusReasonUnknown is "" and omitted, as Go's omitempty does
            status["reason"] = self.reason
        if self.details is not None:
            status["details"] = self.details
        status["code"] = self.code
        return status


def _details(rt: ResourceType, name: str = "", **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if rt.group:
        details["group"] = rt.group
    details["kind"] = rt.name
    details.update(extra)
    return details


def _quoted(rt: ResourceType, name: str) -> str:
    return f'{rt.group_resource} "{name}"' if name else rt.group_resource


def not_found(rt: ResourceType, name: str) -> ApiStatus:
    return ApiStatus(404, "NotFound", f"{_quoted(rt, name)} not found", _details(rt, name))


def already_exists(rt: ResourceType, name: str) -> ApiStatus:
    return ApiStatus(409, "AlreadyExists", f"{_quoted(rt, name)} already exists", _details(rt, name))


def conflict(rt: ResourceType, name: str, why: str) -> ApiStatus:
    return ApiStatus(
        409,
        "Conflict",
        f"Operation cannot be fulfilled on {_quoted(rt, name)}: {why}",
        _details(rt, name),
    )


STALE_OBJECT = "the object has been modified; please apply your changes to the latest version and try again"


def forbidden(rt: ResourceType, name: str, why: str, causes: list[dict[str, str]] | None = None) -> ApiStatus:
    details = _details(rt, name, causes=causes) if causes else _details(rt, name)
    return ApiStatus(403, "Forbidden", f"{_quoted(rt, name)} is forbidden: {why}", details)


def user_forbidden(user: str, verb: str, rt: ResourceType, name: str, namespace: str) -> ApiStatus:
    where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    why = f'User "{user}" cannot {verb} resource "{rt.name}" in API group "{rt.group}"{where}'
    return forbidden(rt, name, why)


def unauthorized() -> ApiStatus:
    return ApiStatus(401, "Unauthorized", "Unauthorized")


def method_not_allowed() -> ApiStatus:
    return ApiStatus(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}
    )


def no_route() -> ApiStatus:
    return ApiStatus(404, "NotFound", "the server could not find the requested resource", {})


def bad_request(message: str) -> ApiStatus:
    return ApiStatus(400, "BadRequest", message)


def gone(message: str) -> ApiStatus:
    return ApiStatus(410, "Expired", message)


def too_many_requests(retry_after: int = 1) -> ApiStatus:
    err = ApiStatus(
        429,
        "TooManyRequests",
        "Too many requests, please try again later.",
        {"retryAfterSeconds": retry_after},
    )
    err.headers["Retry-After"] = str(retry_after)
    return err


def internal_error(message: str) -> ApiStatus:
    return ApiStatus(
        500,
        "InternalError",
        f"Internal error occurred: {message}",
        {"causes": [{"message": message}]},
    )


def unsupported_media_type(content_type: str, accepted: list[str]) -> ApiStatus:
    return ApiStatus(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: {', '.join(accepted)}",
    )


def invalid(kind: str, group: str, name: str, causes: list[dict[str, str]]) -> ApiStatus:
    """422 Invalid, the message joining the causes as the real server does."""
    qualified = f"{kind}.{group}" if group else kind
    messages = [f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes]
    joined = messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"
    details: dict[str, Any] = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    details["causes"] = causes
    return ApiStatus(422, "Invalid", f'{qualified} "{name}" is invalid: {joined}', details)


def success_status(rt: ResourceType, name: str, uid: str) -> dict[str, Any]:
    details = _details(rt, name)
    details["uid"] = uid
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


def invalid_patch(patched: str, message: str) -> ApiStatus:
    """422 for a patch whose result does not decode (``errors.NewInvalid(schema.GroupKind{}, "", ...)``).

    The value is the patched object (JSON and merge patches) or ``%+v`` of the patch (strategic merge).
    """
    body = f"Invalid value: {json.dumps(patched)}: {message}"
    causes = [{"reason": "FieldValueInvalid", "message": body, "field": "patch"}]
    return ApiStatus(422, "Invalid", f' "" is invalid: patch: {body}', {"causes": causes})


def untyped_failure(message: str) -> ApiStatus:
    """An error the server did not turn into a Status: 500 with StatusReasonUnknown ("", omitted)."""
    return ApiStatus(500, "", message)
