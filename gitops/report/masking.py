"""Secret masking for every report format (defence in depth: the engine masks too).

Pure: no I/O. :func:`mask` is the only way a change set reaches a formatter, so no format can print a
core Secret's ``data``/``stringData`` value or its last-applied annotation. Changed values stay
distinguishable: the live side reads ``*** (before)`` and the desired side ``*** (after)``, so the
diff shows that a key changed without showing what it holds; equal values both read ``***``.
Secret values are also scrubbed from error, reason and health messages, where an API server may
echo them back. Values decrypted from SOPS files (``ChangeSet.sensitive``) are masked in every object,
Secret or not, and wherever a template embedded them in a longer string; a field whose desired value
holds one has its live value masked too (it is the previous secret).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import replace
from typing import Any

from gitops.changeset import ChangeSet, Entry, FieldChange
from gitops.objects import ObjectRef

MASK = "***"
BEFORE = f"{MASK} (before)"
AFTER = f"{MASK} (after)"
SECRET_FIELDS = ("data", "stringData")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MIN_SCRUB_LENGTH = 4
"""Shorter values cannot be told apart from ordinary words in a message, so they are not scrubbed there."""


def is_secret(ref: ObjectRef) -> bool:
    return ref.group == "" and ref.kind == "Secret"


def mask(cs: ChangeSet) -> ChangeSet:
    """A copy of ``cs`` with every Secret value replaced by a mask (the input is left untouched)."""
    values = _secret_values(cs) | {v for v in cs.sensitive if len(v) >= MIN_SCRUB_LENGTH}
    entries = [_mask_entry(entry, values, cs.sensitive) for entry in cs.entries]
    return replace(cs, entries=entries, errors=[scrub(error, values) for error in cs.errors])


def scrub(message: str, values: set[str]) -> str:
    """``message`` with each of ``values`` replaced by ``***`` (longest first, so no fragment survives)."""
    for value in sorted(values, key=len, reverse=True):
        message = message.replace(value, MASK)
    return message


def _mask_entry(entry: Entry, values: set[str], sensitive: frozenset[str] = frozenset()) -> Entry:
    if is_secret(entry.ref):
        live, desired = _mask_pair(entry.live, entry.desired)
        entry = replace(
            entry, live=live, desired=desired, changes=[_mask_change(change) for change in entry.changes]
        )
    if sensitive:
        live, desired = _mask_decrypted(entry.live, entry.desired, sensitive)
        changes = [_mask_decrypted_change(change, sensitive) for change in entry.changes]
        entry = replace(entry, live=live, desired=desired, changes=changes)
    return replace(
        entry,
        error=scrub(entry.error, values),
        reason=scrub(entry.reason, values),
        health_message=scrub(entry.health_message, values),
    )


def _mask_pair(
    live: dict[str, Any] | None, desired: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Mask both sides of a Secret together, so that equal values stay equal and changed ones differ."""
    live = _copy_top(live)
    desired = _copy_top(desired)
    for field_name in SECRET_FIELDS:
        _mask_mapping(live, desired, (field_name,))
    _mask_mapping(live, desired, ("metadata", "annotations"), only=LAST_APPLIED)
    return live, desired


def _copy_top(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    if obj is None:
        return None
    copied = dict(obj)
    if isinstance(copied.get("metadata"), dict):
        copied["metadata"] = dict(copied["metadata"])
    return copied


def _mask_mapping(
    live: dict[str, Any] | None,
    desired: dict[str, Any] | None,
    path: tuple[str, ...],
    only: str | None = None,
) -> None:
    live_map, desired_map = _lookup(live, path), _lookup(desired, path)
    for key in set(live_map) | set(desired_map):
        if only is not None and key != only:
            continue
        same = key in live_map and key in desired_map and live_map[key] == desired_map[key]
        if key in live_map:
            live_map[key] = MASK if same else BEFORE
        if key in desired_map:
            desired_map[key] = MASK if same else AFTER


def _lookup(obj: dict[str, Any] | None, path: tuple[str, ...]) -> dict[str, Any]:
    """The mapping at ``path`` in ``obj``, copied into place so masking never touches the caller's object."""
    parent: Any = obj
    for key in path[:-1]:
        parent = parent.get(key) if isinstance(parent, dict) else None
    if not isinstance(parent, dict) or not isinstance(parent.get(path[-1]), dict):
        return {}
    parent[path[-1]] = dict(parent[path[-1]])
    return parent[path[-1]]


def _is_secret_path(path: str) -> bool:
    return re.split(r"[.\[]", path, maxsplit=1)[0] in SECRET_FIELDS or LAST_APPLIED in path


def _mask_change(change: FieldChange) -> FieldChange:
    if _is_secret_path(change.path):
        return replace(
            change, before=_masked_value(change.before, BEFORE), after=_masked_value(change.after, AFTER)
        )
    return replace(
        change, before=_mask_nested(change.before, BEFORE), after=_mask_nested(change.after, AFTER)
    )


def _masked_value(value: Any, label: str) -> Any:
    """Keys stay visible (they say what changed); values do not."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {key: _masked_value(item, label) for key, item in value.items()}
    return label


def _mask_nested(value: Any, label: str) -> Any:
    """A change at the object root or in ``metadata`` may carry Secret fields inside its value."""
    if not isinstance(value, dict):
        return value
    masked = {}
    for key, item in value.items():
        if key in (*SECRET_FIELDS, LAST_APPLIED):
            masked[key] = _masked_value(item, label)
        else:
            masked[key] = _mask_nested(item, label)
    return masked


def _secret_values(cs: ChangeSet) -> set[str]:
    """Every Secret value in the change set, as stored (base64) and decoded, long enough to scrub."""
    values: set[str] = set()
    for entry in cs.entries:
        if not is_secret(entry.ref):
            continue
        for obj in (entry.live, entry.desired):
            values.update(_values_of(obj))
        for change in entry.changes:
            if _is_secret_path(change.path):
                for value in (change.before, change.after):
                    values.update(_with_decoded(_strings(value)))
    return {
        value for value in values if len(value) >= MIN_SCRUB_LENGTH and value not in (MASK, BEFORE, AFTER)
    }


def _values_of(obj: dict[str, Any] | None) -> set[str]:
    if not obj:
        return set()
    values = set(_strings(obj.get("stringData")))
    values.update(_with_decoded(_strings(obj.get("data"))))
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    values.update(_strings(annotations.get(LAST_APPLIED)))
    return values


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _with_decoded(strings: list[str]) -> set[str]:
    """Each string, plus what it decodes to when it is base64 of text (``data`` values)."""
    values = set(strings)
    for encoded in strings:
        decoded = _decode(encoded)
        values.update({decoded, decoded.strip()} if decoded else set())
    return values


def _decode(encoded: str) -> str:
    try:
        return base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return ""


def _holds(value: Any, sensitive: frozenset[str]) -> bool:
    """Whether ``value`` is, or a string embedding, a decrypted value (embedded only when long enough to
    be told apart from ordinary words)."""
    if isinstance(value, str):
        return value in sensitive or any(
            secret in value for secret in sensitive if len(secret) >= MIN_SCRUB_LENGTH
        )
    if isinstance(value, dict):
        return any(_holds(item, sensitive) for item in value.values())
    if isinstance(value, list):
        return any(_holds(item, sensitive) for item in value)
    return value is not None and not isinstance(value, bool) and str(value) in sensitive


def _mask_decrypted(live: Any, desired: Any, sensitive: frozenset[str]) -> tuple[Any, Any]:
    """Both sides walked together: where the desired leaf holds a decrypted value, both leaves are masked
    (equal: ``***``; different: before/after); elsewhere the live side is still scrubbed by value."""
    if isinstance(desired, dict) and isinstance(live, dict):
        masked_live, masked_desired = {}, {}
        for key, value in desired.items():
            live_value, masked_desired[key] = _mask_decrypted(live.get(key), value, sensitive)
            if key in live:
                masked_live[key] = live_value
        for key, value in live.items():
            if key not in desired:
                masked_live[key] = _scrub_tree(value, sensitive)
        return masked_live, masked_desired
    if isinstance(desired, list) and isinstance(live, list):
        pairs = [_mask_decrypted(live[i] if i < len(live) else None, item, sensitive) for i, item in enumerate(desired)]
        extra = [_scrub_tree(item, sensitive) for item in live[len(desired):]]
        return [pairs[i][0] for i in range(min(len(live), len(desired)))] + extra, [pair[1] for pair in pairs]
    if isinstance(desired, dict | list) or isinstance(live, dict | list):
        return _scrub_tree(live, sensitive), _scrub_tree(desired, sensitive)
    if desired is not None and _holds(desired, sensitive):
        if live is None:
            return None, MASK
        return (MASK, MASK) if live == desired else (BEFORE, AFTER)
    return _scrub_tree(live, sensitive), desired


def _scrub_tree(value: Any, sensitive: frozenset[str]) -> Any:
    """One side alone: every leaf holding a decrypted value becomes ``***``."""
    if isinstance(value, dict):
        return {key: _scrub_tree(item, sensitive) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub_tree(item, sensitive) for item in value]
    return MASK if value is not None and _holds(value, sensitive) else value


def _mask_decrypted_change(change: FieldChange, sensitive: frozenset[str]) -> FieldChange:
    if not (_holds(change.after, sensitive) or _holds(change.before, sensitive)):
        return change
    before, after = _mask_decrypted(change.before, change.after, sensitive)
    if change.after is None or not isinstance(change.after, dict | list):
        before = BEFORE if change.before is not None else None
        after = AFTER if change.after is not None else None
    return replace(change, before=before, after=after)
