"""Label and field selectors with the syntax and semantics of k8s.io/apimachinery.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gitops.sandbox.status import ApiStatus, bad_request

_TOKEN = re.compile(r"\s*(\(|\)|,|!=|==|=|!|>|<|[^\s(),!=<>]+)")
_KEY = re.compile(
    r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
)
_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_KEYWORDS = {"in", "notin"}


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    """One of ``=``, ``!=``, ``in``, ``notin``, ``exists``, ``!``, ``>``, ``<``."""
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator in ("=", "in"):
            return present and value in self.values
        if self.operator in ("!=", "notin"):
            return not present or value not in self.values
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        try:
            number, bound = int(str(value)), int(self.values[0])
        except ValueError:
            return False
        return present and (number > bound if self.operator == ">" else number < bound)


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise _parse_error(f"unexpected character at position {position}")
        tokens.append(match[1])
        position = match.end()
    return tokens


def _parse_error(detail: str) -> ApiStatus:
    return bad_request(f"unable to parse requirement: {detail}")


def _check_key(key: str) -> str:
    if not _KEY.fullmatch(key) or len(key.rpartition("/")[2]) > 63:
        raise _parse_error(
            f"invalid label key {key!r}: name part must consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character"
        )
    return key


def _check_value(value: str) -> str:
    if len(value) > 63 or not _VALUE.fullmatch(value):
        raise _parse_error(
            f"invalid label value: {value!r}: a valid label must be an empty string or consist of alphanumeric "
            "characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        )
    return value


def parse_label_selector(text: str) -> list[Requirement]:
    """Parse ``a=b,c!=d,e in (f,g),!h,i`` into requirements; raises 400 BadRequest on bad syntax."""
    tokens = _tokens(text)
    requirements: list[Requirement] = []
    i = 0

    def take() -> str:
        nonlocal i
        if i >= len(tokens):
            raise _parse_error("unexpected end of selector")
        i += 1
        return tokens[i - 1]

    def peek() -> str | None:
        return tokens[i] if i < len(tokens) else None

    while i < len(tokens):
        token = take()
        if token == "!":
            requirements.append(Requirement(_check_key(take()), "!"))
        else:
            key = _check_key(token)
            operator = peek()
            if operator in (None, ","):
                requirements.append(Requirement(key, "exists"))
            elif operator in ("=", "==", "!="):
                take()
                following = peek()
                value = "" if following in (None, ",") else take()
                requirements.append(
                    Requirement(key, "!=" if operator == "!=" else "=", (_check_value(value),))
                )
            elif operator in (">", "<"):
                take()
                value = take()
                if not value.isdigit():
                    raise _parse_error(f"for 'Gt', 'Lt' operators, the value must be an integer: {value!r}")
                requirements.append(Requirement(key, operator, (value,)))
            elif operator in _KEYWORDS:
                take()
                if take() != "(":
                    raise _parse_error(f"found '{tokens[i - 1]}', expected: '('")
                values: list[str] = []
                while True:
                    value = take()
                    if value == ")" and not values:
                        break
                    if value in (",", ")"):
                        values.append("")
                    else:
                        values.append(_check_value(value))
                        value = take()
                    if value == ")":
                        break
                    if value != ",":
                        raise _parse_error(f"found '{value}', expected: ',' or ')'")
                if not values:
                    raise _parse_error("for 'in', 'notin' operators, values set can't be empty")
                requirements.append(Requirement(key, operator, tuple(values)))
            else:
                raise _parse_error(f"found '{operator}', expected: in, notin, =, ==, !=, gt, lt")
        if i < len(tokens):
            if take() != ",":
                raise _parse_error(f"found '{tokens[i - 1]}', expected: ','")
            if i >= len(tokens):
                raise _parse_error("found '', expected: identifier")
    return requirements


def label_matcher(text: str | None) -> Callable[[dict[str, Any]], bool] | None:
    """A predicate on objects for ``labelSelector``, or None when every object matches."""
    if not text or not text.strip():
        return None
    requirements = parse_label_selector(text)

    def matches(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r.matches(labels) for r in requirements)

    return matches


def _field_value(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_matcher(text: str | None, allowed: tuple[str, ...]) -> Callable[[dict[str, Any]], bool] | None:
    """A predicate for ``fieldSelector`` (``=``, ``==``, ``!=`` on the allowed field labels)."""
    if not text or not text.strip():
        return None
    known = ("metadata.name", "metadata.namespace", *allowed)
    terms: list[tuple[str, bool, str]] = []
    for term in text.split(","):
        match = re.fullmatch(r"\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*", term)
        if not match:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        field, operator, value = match.groups()
        if field not in known:
            raise bad_request(f"field label not supported: {field}")
        terms.append((field, operator != "!=", value))

    def matches(obj: dict[str, Any]) -> bool:
        return all((_field_value(obj, field) == value) == equal for field, equal, value in terms)

    return matches
