"""TEMPORARY stand-ins for the request-semantics modules until they land (patch, fieldmanager, defaults,
validation). Deleted once the real modules exist.
"""

from __future__ import annotations

import copy
from typing import Any


class PatchError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


def json_merge_patch(obj: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(obj) if isinstance(obj, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


def json_patch(obj: dict, ops: list) -> dict:
    result = copy.deepcopy(obj)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent: Any = result
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        if op["op"] in ("add", "replace"):
            if isinstance(parent, list):
                if last == "-":
                    parent.append(op["value"])
                elif op["op"] == "add":
                    parent.insert(int(last), op["value"])
                else:
                    parent[int(last)] = op["value"]
            else:
                parent[last] = op["value"]
        elif op["op"] == "remove":
            del parent[int(last) if isinstance(parent, list) else last]
        elif (
            op["op"] == "test"
            and (parent[int(last)] if isinstance(parent, list) else parent.get(last)) != op["value"]
        ):
            raise PatchError(422, "Invalid", "the server rejected our request due to an error in our request")
    return result


def strategic_merge_patch(obj: dict, patch: dict, gvk: tuple[str, str, str]) -> dict:
    return json_merge_patch(obj, patch)


def apply_defaults(obj: dict) -> None:
    return None


def validate(obj: dict, old: dict | None, *, namespaced: bool) -> list[dict]:
    return []


def invalid_status(obj: dict, causes: list[dict]) -> dict:
    return {}


def validate_custom(obj: dict, schema: dict) -> list[dict]:
    return []


def prune_unknown(obj: dict, schema: dict) -> None:
    return None
