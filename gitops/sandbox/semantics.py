"""The request-semantics functions the API calls (patching, field management, defaulting, validation)."""

from __future__ import annotations

from gitops.sandbox.defaults import DecodeError, apply_defaults, decode_message
from gitops.sandbox.fieldmanager import ApplyConflict, ApplyError, apply, update
from gitops.sandbox.patch import PatchError, json_merge_patch, json_patch, strategic_merge_patch
from gitops.sandbox.validation import invalid_status, prune_unknown, validate, validate_custom

__all__ = [
    "ApplyConflict",
    "ApplyError",
    "DecodeError",
    "PatchError",
    "apply",
    "apply_defaults",
    "decode_message",
    "invalid_status",
    "json_merge_patch",
    "json_patch",
    "prune_unknown",
    "strategic_merge_patch",
    "update",
    "validate",
    "validate_custom",
]
