"""The request-semantics functions the API calls (patching, field management, defaulting, validation)."""

from __future__ import annotations

try:
    from gitops.sandbox.patch import PatchError, json_merge_patch, json_patch, strategic_merge_patch
except ImportError:  # TEMPORARY until gitops/sandbox/patch.py lands
    from gitops.sandbox._fallbacks import PatchError, json_merge_patch, json_patch, strategic_merge_patch
from gitops.sandbox.fieldmanager import ApplyConflict, ApplyError, apply, update

try:
    from gitops.sandbox.defaults import apply_defaults
except ImportError:  # TEMPORARY
    from gitops.sandbox._fallbacks import apply_defaults
try:
    from gitops.sandbox.validation import invalid_status, prune_unknown, validate, validate_custom
except ImportError:  # TEMPORARY
    from gitops.sandbox._fallbacks import invalid_status, prune_unknown, validate, validate_custom

__all__ = [
    "ApplyConflict",
    "ApplyError",
    "PatchError",
    "apply",
    "apply_defaults",
    "invalid_status",
    "json_merge_patch",
    "json_patch",
    "prune_unknown",
    "strategic_merge_patch",
    "update",
    "validate",
    "validate_custom",
]
