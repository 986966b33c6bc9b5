"""Request handling with the real API server's semantics, independent of HTTP.

Per write, in the apiserver's order: decode -> patch/apply merge -> defaulting -> field manager ->
server-populated metadata -> validation (and immutability against the old object) -> dryRun=All stops
here -> store.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import ipaddress
import json
import random
import string
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from gitops.sandbox import protobuf, schemas, semantics
from gitops.sandbox.crd import (
    CLEANUP_FINALIZER,
    CRD_RESOURCE,
    Registry,
    apply_crd_defaults,
    terminating_condition,
    validate_crd,
)
from gitops.sandbox.resources import ResourceType
from gitops.sandbox.selectors import field_matcher, label_matcher
from gitops.sandbox.status import (
    STALE_OBJECT,
    ApiStatus,
    already_exists,
    bad_request,
    conflict,
    forbidden,
    gone,
    invalid,
    invalid_patch,
    method_not_allowed,
    not_found,
    success_status,
    unsupported_media_type,
    untyped_failure,
)
from gitops.sandbox.store import GroupResource, Store, TooOld, copy_object

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
BODY_TYPES = ("application/json", "application/yaml")
IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")
NAMESPACE_RESOURCE: GroupResource = ("", "namespaces")
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Request:
    """One API request, already routed to a resource type."""

    verb: str
    """get, list, watch, create, update, patch, delete, deletecollection."""
    rt: ResourceType
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    params: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    content_type: str = ""
    user_agent: str = ""
    warnings: list[str] = field(default_factory=list)
    """Warning headers collected while processing (unknown fields under fieldValidation=Warn)."""
    patched: str = ""
    """For a JSON, merge or strategic merge patch: how a failed decode of its result names the value."""

    @property
    def is_apply(self) -> bool:
        return self.content_type.split(";", 1)[0].strip().lower() == APPLY_PATCH

    @property
    def dry_run(self) -> bool:
        return bool(self.params.get("dryRun"))

    @property
    def manager(self) -> str:
        explicit = self.params.get("fieldManager")
        if explicit:
            return explicit
        return (self.user_agent.split("/", 1)[0] or "unknown")[:128]


@dataclass
class Response:
    code: int
    body: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


class Api:
    """CRUD, patch, apply, watch and delete over a Store, for the types a Registry serves."""

    def __init__(self, store: Store, registry: Registry) -> None:
        self.store = store
        self.registry = registry

    # reading

    def _storage_key(self, rt: ResourceType) -> GroupResource:
        return (rt.group, rt.name)

    def _served(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """The stored object as the requested version serves it (custom resources convert with strategy None)."""
        if rt.custom and obj.get("apiVersion") != rt.api_version:
            return {**obj, "apiVersion": rt.api_version}
        return obj

    def _live(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.store.get(self._storage_key(rt), namespace, name)
        if obj is None:
            raise not_found(rt, name)
        return obj

    def get(self, req: Request) -> Response:
        obj = self._live(req.rt, req.namespace, req.name)
        if req.subresource == "scale":
            return Response(200, self._scale_of(req.rt, obj))
        return Response(200, self._served(req.rt, obj))

    def _matchers(self, req: Request) -> list[Callable[[dict[str, Any]], bool]]:
        matchers = [
            label_matcher(req.params.get("labelSelector")),
            field_matcher(req.params.get("fieldSelector"), req.rt.field_selectors),
        ]
        return [m for m in matchers if m is not None]

    def list(self, req: Request) -> Response:
        rt = req.rt
        matchers = self._matchers(req)
        objects, resource_version = self.store.list(self._storage_key(rt), req.namespace or None)
        start = self._continue_start(req.params.get("continue"))
        limit = int(req.params.get("limit") or 0)
        items: list[dict[str, Any]] = []
        next_key: str | None = None
        remaining = 0
        for obj in objects:
            metadata = obj["metadata"]
            key = f"{metadata.get('namespace', '')}/{metadata['name']}"
            if start is not None and key <= start:
                continue
            if not all(m(obj) for m in matchers):
                continue
            if limit and len(items) >= limit:
                if next_key is None:
                    next_key = f"{items[-1]['metadata'].get('namespace', '')}/{items[-1]['metadata']['name']}"
                remaining += 1
                continue
            items.append(obj)
        list_meta: dict[str, Any] = {"resourceVersion": str(resource_version)}
        if next_key is not None:
            token = json.dumps(
                {"v": "meta.k8s.io/v1", "rv": resource_version, "start": next_key}, separators=(",", ":")
            )
            list_meta["continue"] = base64.urlsafe_b64encode(token.encode()).decode()
            if not matchers:
                list_meta["remainingItemCount"] = remaining
        served = [self._list_item(rt, obj) for obj in items]
        body = {
            "kind": rt.list_kind_name,
            "apiVersion": rt.api_version,
            "metadata": list_meta,
            "items": served,
        }
        return Response(200, body)

    def _list_item(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        if rt.custom:
            return self._served(rt, obj)
        # Built-in list items carry no apiVersion/kind, as a real server sends them.
        return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}

    def _continue_start(self, token: str | None) -> str | None:
        if not token:
            return None
        try:
            decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
            resource_version, start = int(decoded["rv"]), str(decoded["start"])
        except (ValueError, KeyError, TypeError, binascii.Error) as err:
            raise bad_request(f"continue key is not valid: {err}") from err
        try:
            self.store.events_after(resource_version, ("", ""))
        except TooOld as err:
            raise gone(
                "The provided continue parameter is too old to display a consistent list result. You can start a "
                "new list without the continue parameter, or use the continue token in this response to retrieve "
                "the remainder of the results. Continuing with the provided token results in an inconsistent list "
                "- objects that were created, modified, or deleted between the time the first chunk was returned "
                "and now may show up in the list."
            ) from err
        return start

    def watch(self, req: Request, stopped: Callable[[], bool]) -> Iterator[dict[str, Any]]:
        """Watch events as dicts (``{"type", "object"}``) until ``stopped()`` or timeoutSeconds."""
        import time

        rt = req.rt
        matchers = self._matchers(req)
        key = self._storage_key(rt)
        timeout = float(req.params.get("timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        bookmarks = req.params.get("allowWatchBookmarks") in ("true", "1")
        requested = req.params.get("resourceVersion") or ""

        def visible(obj: dict[str, Any]) -> bool:
            if req.namespace and obj["metadata"].get("namespace") != req.namespace:
                return False
            return all(m(obj) for m in matchers)

        if "sendInitialEvents" in req.params:
            raise _watch_list_forbidden(req.params.get("resourceVersionMatch", ""))
        if requested in ("", "0"):
            objects, cursor = self.store.list(key, req.namespace or None)
            for obj in objects:
                if all(m(obj) for m in matchers):
                    yield {"type": "ADDED", "object": self._served(rt, obj)}
        else:
            try:
                cursor = int(requested)
            except ValueError:
                raise bad_request(f'invalid resource version "{requested}"') from None
        last_sent = time.monotonic()
        while not stopped():
            try:
                events = self.store.events_after(cursor, key)
            except TooOld as err:
                yield {"type": "ERROR", "object": gone(str(err)).body()}
                return
            cursor = (
                max(cursor, events[-1].resource_version)
                if events
                else max(cursor, self.store.resource_version)
            )
            for event in events:
                now_visible = visible(event.obj)
                was_visible = event.previous is not None and visible(event.previous)
                if event.type == "DELETED":
                    kind = "DELETED" if was_visible else None
                elif now_visible and was_visible:
                    kind = "MODIFIED"
                elif now_visible:
                    kind = "ADDED"
                elif was_visible:
                    kind = "DELETED"
                else:
                    kind = None
                if kind:
                    yield {"type": kind, "object": self._served(rt, event.obj)}
                    last_sent = time.monotonic()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if bookmarks and time.monotonic() - last_sent >= 1.0:
                yield self._bookmark(rt, cursor)
                last_sent = time.monotonic()
            self.store.wait_for_change(cursor, min(remaining, 0.5))

    def _bookmark(self, rt: ResourceType, resource_version: int) -> dict[str, Any]:
        """An empty object of the type carrying the resourceVersion; a built-in type's zero
        ``creationTimestamp`` is written as null by v1.28, an unstructured custom resource has none."""
        metadata: dict[str, Any] = {"resourceVersion": str(resource_version)}
        if not rt.custom:
            metadata["creationTimestamp"] = None
        return {
            "type": "BOOKMARK",
            "object": {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": metadata},
        }

    # decoding

    def _decode(self, req: Request, accepted: tuple[str, ...] = BODY_TYPES) -> Any:
        media = req.content_type.split(";", 1)[0].strip().lower() or "application/json"
        if media == protobuf.MEDIA_TYPE and accepted == BODY_TYPES:
            try:
                return protobuf.decode(req.body)
            except (protobuf.Unsupported, UnicodeDecodeError) as err:
                raise unsupported_media_type(media, list(accepted)) from err
        if media not in accepted and not (media == "*/*" and "application/json" in accepted):
            raise unsupported_media_type(media, list(accepted))
        try:
            if media in ("application/yaml", APPLY_PATCH):
                return yaml.load(
                    req.body.decode("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
                )
            return json.loads(req.body or b"null")
        except (ValueError, yaml.YAMLError) as err:
            raise bad_request(f"error decoding request body: {err}") from err

    def _decode_object(self, req: Request, accepted: tuple[str, ...] = BODY_TYPES) -> dict[str, Any]:
        obj = self._decode(req, accepted)
        if not isinstance(obj, dict):
            raise bad_request("Object 'Kind' is missing in the request body")
        obj.setdefault("metadata", {})
        if not isinstance(obj["metadata"], dict):
            raise bad_request("metadata must be an object")
        return obj

    def _check_type(self, rt: ResourceType, obj: dict[str, Any], *, required: bool = False) -> None:
        expected_version = rt.api_version
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if required and not kind:
            raise bad_request(f"Object 'Kind' is missing in '{json.dumps(obj, separators=(',', ':'))[:200]}'")
        if required and not api_version:
            raise bad_request(
                f"Object 'apiVersion' is missing in '{json.dumps(obj, separators=(',', ':'))[:200]}'"
            )
        if api_version and api_version != expected_version:
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version ({expected_version})"
            )
        if kind and kind != rt.kind:
            raise bad_request(f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind

    def _bind_name(self, req: Request, obj: dict[str, Any]) -> None:
        metadata = obj["metadata"]
        if req.rt.namespaced:
            namespace = metadata.get("namespace") or req.namespace
            if req.namespace and namespace != req.namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            metadata["namespace"] = namespace
        else:
            metadata.pop("namespace", None)
        if req.name:
            if metadata.get("name") and metadata["name"] != req.name:
                raise bad_request(
                    f"the name of the object ({metadata['name']}) does not match the name on the URL ({req.name})"
                )
            metadata["name"] = req.name

    # writing

    def create(self, req: Request) -> Response:
        rt = req.rt
        if req.subresource:
            raise method_not_allowed()
        obj = self._decode_object(req)
        self._check_type(rt, obj)
        self._bind_name(req, obj)
        metadata = obj["metadata"]
        if not metadata.get("name") and metadata.get("generateName"):
            suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
            metadata["name"] = f"{metadata['generateName']}{suffix}"
        obj = self._prepare(rt, None, obj, req)
        managed = self._record_update(rt, None, obj, req.manager, "")
        return self._admit(rt, req, None, managed)

    def update(self, req: Request) -> Response:
        rt = req.rt
        obj = self._decode_object(req)
        if req.subresource == "scale":
            return self._write_scale(req, lambda scale: obj)
        self._check_type(rt, obj)
        self._bind_name(req, obj)
        old = self._live(rt, req.namespace, req.name)
        return self._update_with(req, old, obj)

    def _update_with(self, req: Request, old: dict[str, Any], new: dict[str, Any]) -> Response:
        rt = req.rt
        self._check_precondition(rt, old, new)
        new = self._reset_fields(rt, old, new, req.subresource)
        new = self._prepare(rt, old, new, req)
        if "managedFields" not in new["metadata"] and old["metadata"].get("managedFields"):
            new["metadata"]["managedFields"] = copy_object(old["metadata"]["managedFields"])
        managed = self._record_update(rt, old, new, req.manager, req.subresource)
        return self._admit(rt, req, old, managed)

    def _record_update(
        self,
        rt: ResourceType,
        old: dict[str, Any] | None,
        new: dict[str, Any],
        manager: str,
        subresource: str,
    ) -> dict[str, Any]:
        return semantics.update(
            old,
            new,
            manager=manager,
            now=now(),
            gvk=self._gvk(rt),
            subresource=subresource,
            schema=rt.schema,
            status_subresource=rt.has_status if rt.custom else None,
        )

    def _check_precondition(self, rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
        metadata = new.get("metadata") or {}
        wanted = metadata.get("resourceVersion")
        if wanted and wanted != old["metadata"]["resourceVersion"]:
            raise conflict(rt, old["metadata"]["name"], STALE_OBJECT)
        uid = metadata.get("uid")
        if uid and uid != old["metadata"].get("uid"):
            raise conflict(
                rt,
                old["metadata"]["name"],
                f"Precondition failed: UID in precondition: {uid}, UID in object meta: {old['metadata'].get('uid')}",
            )

    def patch(self, req: Request) -> Response:
        rt = req.rt
        media = req.content_type.split(";", 1)[0].strip().lower()
        accepted = (
            [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]
            if rt.custom
            else [JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH]
        )
        if media not in accepted:
            raise unsupported_media_type(media, accepted)
        if "force" in req.params and media != APPLY_PATCH:
            raise invalid(
                "PatchOptions",
                "meta.k8s.io",
                "",
                [
                    {
                        "reason": "FieldValueForbidden",
                        "message": "Forbidden: may not be specified for non-apply patch",
                        "field": "force",
                    }
                ],
            )
        if media == APPLY_PATCH:
            return self._apply(req)
        patch = self._decode(req, (media,))
        if req.subresource == "scale":
            return self._write_scale(req, lambda scale: self._patched(rt, scale, patch, media, scale=True))
        old = self._live(rt, req.namespace, req.name)
        new = self._patched(rt, self._served(rt, old), patch, media)
        if not isinstance(new, dict) or not isinstance(new.get("metadata"), dict):
            raise bad_request("the patch produced an object without metadata")
        req.patched = (
            _go_format(patch)
            if media == STRATEGIC_PATCH
            else json.dumps(new, separators=(",", ":"), ensure_ascii=False)
        )
        self._check_type(rt, new)
        self._bind_name(req, new)
        return self._update_with(req, old, new)

    def _patched(
        self, rt: ResourceType, obj: dict[str, Any], patch: Any, media: str, scale: bool = False
    ) -> dict[str, Any]:
        if media == JSON_PATCH:
            if not isinstance(patch, list):
                raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
            return semantics.json_patch(obj, patch)
        if not isinstance(patch, dict):
            raise bad_request("json: cannot unmarshal into Go value of type map[string]interface {}")
        if media == STRATEGIC_PATCH:
            gvk = ("autoscaling", "v1", "Scale") if scale else self._gvk(rt)
            return semantics.strategic_merge_patch(obj, patch, gvk)
        return semantics.json_merge_patch(obj, patch)

    def _apply(self, req: Request) -> Response:
        rt = req.rt
        if not req.params.get("fieldManager"):
            raise invalid(
                "PatchOptions",
                "meta.k8s.io",
                "",
                [
                    {
                        "reason": "FieldValueRequired",
                        "message": "Required value: is required for apply patch",
                        "field": "fieldManager",
                    }
                ],
            )
        if req.subresource == "scale":
            raise unsupported_media_type(APPLY_PATCH, [JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH])
        config = self._decode_object(req, (APPLY_PATCH,))
        self._check_type(rt, config, required=True)
        self._check_typed(rt, config)
        self._bind_name(req, config)
        old = self.store.get(self._storage_key(rt), req.namespace, req.name)
        if old is not None:
            self._check_precondition(rt, old, config)
        config = self._reset_apply_config(rt, config, req.subresource)
        force = req.params.get("force") in ("true", "1")
        merged = semantics.apply(
            self._served(rt, old) if old else None,
            config,
            manager=req.manager,
            force=force,
            now=now(),
            gvk=self._gvk(rt),
            schema=rt.schema,
            subresource=req.subresource,
            status_subresource=rt.has_status if rt.custom else None,
        )
        if old is None:
            merged = self._prepare(rt, None, merged, req)
            return self._admit(rt, req, None, merged)
        merged = self._reset_fields(rt, old, merged, req.subresource)
        merged = self._prepare(rt, old, merged, req)
        return self._admit(rt, req, old, merged)

    def _reset_apply_config(
        self, rt: ResourceType, config: dict[str, Any], subresource: str
    ) -> dict[str, Any]:
        if subresource == "status":
            keep = ("apiVersion", "kind", "metadata", "status")
            return {k: v for k, v in config.items() if k in keep}
        if rt.has_status:
            config.pop("status", None)
        return config

    def _reset_fields(
        self, rt: ResourceType, old: dict[str, Any], new: dict[str, Any], subresource: str
    ) -> dict[str, Any]:
        """What the request may change: status only through /status, everything else only through the main resource."""
        if subresource == "status":
            result = copy_object(old)
            if "status" in new:
                result["status"] = new["status"]
            else:
                result.pop("status", None)
            result["metadata"]["managedFields"] = new["metadata"].get(
                "managedFields", old["metadata"].get("managedFields")
            )
            result["apiVersion"] = new.get("apiVersion", result["apiVersion"])
            return result
        if rt.has_status:
            if "status" in old:
                new["status"] = copy_object(old["status"])
            else:
                new.pop("status", None)
        return new

    def _check_typed(self, rt: ResourceType, config: dict[str, Any]) -> None:
        """Server-side apply converts the applied configuration to a typed value first; v1.28 answers an
        undeclared field or a wrong type with a plain 500 (structured-merge-diff's message)."""
        if rt.custom:
            schema = schemas.custom_schema(rt.schema) if rt.schema else None
        else:
            schema = schemas.builtin_schema(rt.group, rt.version, rt.kind)
        errors = schemas.typed_errors(config, schema) if schema else []
        if errors:
            metadata = config["metadata"]
            where = f"{metadata.get('namespace') or ''}/{metadata.get('name') or ''}"
            gvk = f"{rt.group}/{rt.version}, Kind={rt.kind}"
            raise untyped_failure(
                f"failed to create typed patch object ({where}; {gvk}): {schemas.typed_message(errors)}"
            )

    def _decode_failure(self, rt: ResourceType, req: Request, message: str) -> ApiStatus:
        """A body that does not decode: 400 for create and update, 422 naming the patch for patches."""
        if req.verb == "patch" and not req.is_apply:
            return invalid_patch(req.patched, message)
        return bad_request(f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {message}')

    def _unknown_fields(self, rt: ResourceType, req: Request, unknown: list[str]) -> None:
        """Unknown fields are dropped; ``fieldValidation`` (default Warn) decides whether that fails or warns."""
        if not unknown or req.is_apply:
            return
        texts = [f'unknown field "{path}"' for path in unknown]
        mode = req.params.get("fieldValidation") or "Warn"
        if mode == "Strict":
            raise self._decode_failure(rt, req, "strict decoding error: " + ", ".join(texts))
        if mode == "Warn":
            req.warnings.extend(texts)

    def _decode_typed(self, rt: ResourceType, obj: dict[str, Any], req: Request) -> None:
        """Decode into the kind's type: prune what its schema does not know, refuse wrong types."""
        if rt.custom:
            if rt.schema:
                before = copy_object(obj)
                semantics.prune_unknown(obj, rt.schema)
                self._unknown_fields(rt, req, _dropped_paths(before, obj, ""))
            return
        schema = schemas.builtin_schema(rt.group, rt.version, rt.kind)
        if schema is None:
            return
        decoded = schemas.decode(obj, schema, rt.kind)
        if decoded.type_error:
            raise self._decode_failure(rt, req, decoded.type_error)
        self._unknown_fields(rt, req, decoded.unknown)

    def _prepare(
        self, rt: ResourceType, old: dict[str, Any] | None, obj: dict[str, Any], req: Request
    ) -> dict[str, Any]:
        """Server defaults and pruning, before the field manager records ownership."""
        if old is None and rt.has_status:
            obj.pop("status", None)
            if not rt.custom:
                obj["status"] = copy_object(_INITIAL_STATUS.get((rt.group, rt.name), {}))
        self._decode_typed(rt, obj, req)
        if not rt.custom:
            try:
                semantics.apply_defaults(obj)
            except semantics.DecodeError as err:
                raise self._decode_failure(rt, req, str(err)) from err
        if (rt.group, rt.name) == CRD_RESOURCE:
            apply_crd_defaults(obj)
        if (rt.group, rt.name) == NAMESPACE_RESOURCE:
            spec = obj.setdefault("spec", {})
            spec["finalizers"] = (
                (old or {}).get("spec", {}).get("finalizers", ["kubernetes"]) if old else ["kubernetes"]
            )
            status = obj.setdefault("status", {})
            status.setdefault("phase", "Active")
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"].get(
                "name", ""
            )
        return obj

    def _gvk(self, rt: ResourceType) -> tuple[str, str, str]:
        return (rt.group, rt.version, rt.kind)

    def _server_metadata(self, rt: ResourceType, old: dict[str, Any] | None, obj: dict[str, Any]) -> None:
        metadata = obj["metadata"]
        metadata.pop("selfLink", None)
        if old is None:
            metadata["uid"] = str(uuid.uuid4())
            metadata["creationTimestamp"] = now()
            metadata.pop("resourceVersion", None)
            metadata.pop("deletionTimestamp", None)
            metadata.pop("deletionGracePeriodSeconds", None)
            if rt.generation:
                metadata["generation"] = 1
            else:
                metadata.pop("generation", None)
            return
        old_meta = old["metadata"]
        for key in (
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ):
            if key in old_meta:
                metadata[key] = old_meta[key]
            else:
                metadata.pop(key, None)
        metadata["resourceVersion"] = old_meta["resourceVersion"]
        if rt.generation and _spec_of(obj) != _spec_of(old):
            metadata["generation"] = int(old_meta.get("generation") or 0) + 1

    def _admit(
        self, rt: ResourceType, req: Request, old: dict[str, Any] | None, obj: dict[str, Any]
    ) -> Response:
        """Server metadata, validation, dry run, store."""
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        self._server_metadata(rt, old, obj)
        self._allocate(rt, old, obj)
        causes = self._validate(rt, old, obj)
        name = str(obj["metadata"].get("name") or "")
        if causes:
            raise self._invalid(rt, obj, causes)
        if old is None:
            self._check_namespace(rt, obj)
            if self.store.get(self._storage_key(rt), obj["metadata"].get("namespace", ""), name) is not None:
                raise already_exists(rt, name)
        code = 201 if old is None else 200
        if req.dry_run:
            return Response(code, self._served(rt, obj), req.warnings)
        return Response(code, self._served(rt, self._store(rt, old, obj)), req.warnings)

    def _store(self, rt: ResourceType, old: dict[str, Any] | None, obj: dict[str, Any]) -> dict[str, Any]:
        key = self._storage_key(rt)
        if rt.custom:
            obj["apiVersion"] = f"{rt.group}/{rt.storage_version}"
        with self.store.lock:
            if old is not None:
                current = self.store.get(key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
                if current is None:
                    raise not_found(rt, obj["metadata"]["name"])
                if current["metadata"]["resourceVersion"] != old["metadata"]["resourceVersion"]:
                    raise conflict(rt, obj["metadata"]["name"], STALE_OBJECT)
                if _finalized(rt, obj):
                    return self.store.remove(key, obj)
                if obj == current:
                    return current  # a no-op write keeps its resourceVersion and sends no watch event
            elif (
                self.store.get(key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]) is not None
            ):
                raise already_exists(rt, obj["metadata"]["name"])
            return self.store.put(key, obj)

    def _invalid(self, rt: ResourceType, obj: dict[str, Any], causes: list[dict[str, str]]) -> ApiStatus:
        body = semantics.invalid_status(obj, causes)
        if body:
            return ApiStatus.from_body(body)
        return invalid(rt.kind, rt.group, str(obj["metadata"].get("name") or ""), causes)

    def _validate(
        self, rt: ResourceType, old: dict[str, Any] | None, obj: dict[str, Any]
    ) -> list[dict[str, str]]:
        causes = list(semantics.validate(obj, old, namespaced=rt.namespaced))
        if rt.custom and rt.schema:
            causes.extend(semantics.validate_custom(obj, rt.schema))
        if (rt.group, rt.name) == CRD_RESOURCE:
            causes.extend(c for c in validate_crd(obj) if c not in causes)
        if not obj["metadata"].get("name") and not any(c.get("field") == "metadata.name" for c in causes):
            causes.append(
                {
                    "reason": "FieldValueRequired",
                    "message": "Required value: name or generateName is required",
                    "field": "metadata.name",
                }
            )
        return causes

    def _check_namespace(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        if not rt.namespaced:
            return
        namespace = obj["metadata"].get("namespace") or ""
        ns_type = self.registry.lookup("", "v1", "namespaces")
        assert ns_type is not None
        found = self.store.get(NAMESPACE_RESOURCE, "", namespace)
        if found is None:
            raise not_found(ns_type, namespace)
        if found["metadata"].get("deletionTimestamp"):
            raise forbidden(
                rt,
                obj["metadata"].get("name", ""),
                f"unable to create new content in namespace {namespace} because it is being terminated",
                [
                    {
                        "reason": "NamespaceTerminating",
                        "message": f"namespace {namespace} is being terminated",
                        "field": "metadata.namespace",
                    }
                ],
            )

    def _allocate(self, rt: ResourceType, old: dict[str, Any] | None, obj: dict[str, Any]) -> None:
        """What the registry strategies and allocators add: a Job's generated selector (on create), a
        Service's cluster IP and node ports (kept from the old object when omitted, allocated otherwise)."""
        if (rt.group, rt.name) == ("batch", "jobs") and old is None:
            _generate_job_selector(obj)
        if (rt.group, rt.name) != ("", "services"):
            return
        spec = obj.setdefault("spec", {})
        if spec.get("type") == "ExternalName":
            return
        self._allocate_node_ports(spec, (old or {}).get("spec") or {})
        if old is not None:
            old_spec = old.get("spec") or {}
            if not spec.get("clusterIP") and old_spec.get("clusterIP"):
                spec["clusterIP"] = old_spec["clusterIP"]
            if not spec.get("clusterIPs") and old_spec.get("clusterIPs"):
                spec["clusterIPs"] = old_spec["clusterIPs"]
        if not spec.get("clusterIP"):
            spec["clusterIP"] = self._free_cluster_ip()
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        if spec["clusterIP"] != "None" or spec.get("selector"):
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")

    def _allocate_node_ports(self, spec: dict[str, Any], old_spec: dict[str, Any]) -> None:
        """NodePort and LoadBalancer Services get a node port per port (30000-32767), kept across updates."""
        kind = spec.get("type")
        if kind not in ("NodePort", "LoadBalancer") or spec.get("allocateLoadBalancerNodePorts") is False:
            return
        previous = {
            (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
            for p in old_spec.get("ports") or []
            if isinstance(p, dict)
        }
        services, _ = self.store.list(("", "services"))
        used = {p.get("nodePort") for s in services for p in (s.get("spec") or {}).get("ports") or []}
        for port in spec.get("ports") or []:
            if not isinstance(port, dict) or port.get("nodePort"):
                continue
            kept = previous.get((port.get("port"), port.get("protocol", "TCP")))
            if kept:
                port["nodePort"] = kept
                continue
            free = next(n for n in range(30000, 32768) if n not in used)
            port["nodePort"] = free
            used.add(free)

    def _free_cluster_ip(self) -> str:
        services, _ = self.store.list(("", "services"))
        used = {str((s.get("spec") or {}).get("clusterIP")) for s in services}
        with self.store.lock:
            counter = int(self.store.extra.get("nextClusterIP", 10))
            hosts = SERVICE_CIDR.num_addresses - 2
            for _ in range(hosts):
                candidate = str(SERVICE_CIDR.network_address + 1 + (counter - 1) % hosts)
                counter += 1
                if candidate not in used:
                    self.store.extra["nextClusterIP"] = counter
                    self.store.mark_dirty()
                    return candidate
        raise ApiStatus(
            500, "InternalError", "Internal error occurred: failed to allocate a serviceIP: range is full"
        )

    # scale subresource

    def _scale_of(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        metadata = obj["metadata"]
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        selector = (spec.get("selector") or {}) if not rt.custom else {}
        labels = selector.get("matchLabels") or {}
        scale_meta = {
            k: metadata[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in metadata
        }
        scale_status: dict[str, Any] = {"replicas": int(status.get("replicas") or 0)}
        selector_text = (
            ",".join(f"{k}={v}" for k, v in sorted(labels.items())) if labels else status.get("selector")
        )
        if selector_text:
            scale_status["selector"] = selector_text
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": scale_meta,
            "spec": {"replicas": int(spec.get("replicas") or 0)},
            "status": scale_status,
        }

    def _write_scale(self, req: Request, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Response:
        rt = req.rt
        old = self._live(rt, req.namespace, req.name)
        scale = change(self._scale_of(rt, old))
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise invalid(
                "Scale",
                "autoscaling",
                req.name,
                [
                    {
                        "reason": "FieldValueInvalid",
                        "message": f"Invalid value: {replicas}: must be greater than or equal to 0",
                        "field": "spec.replicas",
                    }
                ],
            )
        self._check_precondition(rt, old, scale)
        new = copy_object(self._served(rt, old))
        new.setdefault("spec", {})["replicas"] = replicas
        new["metadata"].pop("resourceVersion", None)
        managed = self._record_update(rt, old, new, req.manager, "scale")
        response = self._admit(rt, req, old, managed)
        return Response(response.code, self._scale_of(rt, response.body))

    # deleting

    def _delete_options(self, req: Request) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if req.body.strip():
            decoded = self._decode(req)
            if isinstance(decoded, dict):
                options.update(decoded)
        for key in ("propagationPolicy", "gracePeriodSeconds", "orphanDependents"):
            if key in req.params:
                options[key] = req.params[key]
        if req.params.get("dryRun"):
            options["dryRun"] = ["All"]
        return options

    def delete(self, req: Request) -> Response:
        rt = req.rt
        if req.subresource:
            raise method_not_allowed()
        old = self._live(rt, req.namespace, req.name)
        options = self._delete_options(req)
        preconditions = options.get("preconditions") or {}
        metadata = old["metadata"]
        is_namespace = (rt.group, rt.name) == NAMESPACE_RESOURCE
        if is_namespace:
            _check_namespace_delete_preconditions(rt, req.name, metadata, preconditions)
        else:
            _check_delete_preconditions(rt, req.name, metadata, preconditions)
        if is_namespace and req.name in IMMORTAL_NAMESPACES:
            raise forbidden(rt, req.name, "this namespace may not be deleted")
        if is_namespace and metadata.get("deletionTimestamp") and (old.get("spec") or {}).get("finalizers"):
            raise conflict(rt, req.name, NAMESPACE_TERMINATING)
        return self.delete_object(rt, old, options, dry_run=bool(options.get("dryRun")))

    def delete_object(
        self,
        rt: ResourceType,
        old: dict[str, Any],
        options: dict[str, Any] | None = None,
        *,
        dry_run: bool = False,
    ) -> Response:
        """Delete now, or mark for deletion when finalizers (or the namespace/CRD cleanup) hold the object."""
        options = options or {}
        finalizers = list(old["metadata"].get("finalizers") or [])
        policy = options.get("propagationPolicy")
        if policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        elif (
            policy == "Orphan" or str(options.get("orphanDependents")).lower() == "true"
        ) and "orphan" not in finalizers:
            finalizers.append("orphan")
        is_namespace = (rt.group, rt.name) == NAMESPACE_RESOURCE
        is_crd = (rt.group, rt.name) == CRD_RESOURCE
        if is_crd and CLEANUP_FINALIZER not in finalizers:
            finalizers.append(CLEANUP_FINALIZER)
        if finalizers or is_namespace:
            if old["metadata"].get("deletionTimestamp"):
                return Response(200, self._served(rt, old))
            marked = copy_object(old)
            metadata = marked["metadata"]
            metadata["deletionTimestamp"] = now()
            metadata["deletionGracePeriodSeconds"] = 0
            if finalizers:
                metadata["finalizers"] = finalizers
            if rt.generation:
                metadata["generation"] = int(metadata.get("generation") or 0) + 1
            if is_namespace:
                marked.setdefault("status", {})["phase"] = "Terminating"
            if is_crd:
                status = marked.setdefault("status", {})
                status["conditions"] = [
                    *(c for c in status.get("conditions") or [] if c.get("type") != "Terminating"),
                    terminating_condition(now()),
                ]
            if dry_run:
                return Response(200, self._served(rt, marked))
            with self.store.lock:
                current = self.store.get(
                    self._storage_key(rt), metadata.get("namespace", ""), metadata["name"]
                )
                if (
                    current is None
                    or current["metadata"]["resourceVersion"] != old["metadata"]["resourceVersion"]
                ):
                    raise conflict(rt, metadata["name"], STALE_OBJECT)
                stored = self.store.put(self._storage_key(rt), marked)
            return Response(200, self._served(rt, stored))
        final = old if dry_run else self.store.remove(self._storage_key(rt), old)
        if rt.return_deleted:
            return Response(200, self._served(rt, final))
        return Response(200, success_status(rt, old["metadata"]["name"], old["metadata"].get("uid", "")))

    def delete_collection(self, req: Request) -> Response:
        rt = req.rt
        listed = self.list(
            Request(
                "list",
                rt,
                req.namespace,
                params={k: v for k, v in req.params.items() if k in ("labelSelector", "fieldSelector")},
            )
        )
        options = self._delete_options(req)
        objects, _ = self.store.list(self._storage_key(rt), req.namespace or None)
        wanted = {(i["metadata"].get("namespace", ""), i["metadata"]["name"]) for i in listed.body["items"]}
        deleted = []
        for obj in objects:
            if (obj["metadata"].get("namespace", ""), obj["metadata"]["name"]) in wanted:
                response = self.delete_object(rt, obj, options, dry_run=bool(options.get("dryRun")))
                deleted.append(
                    self._list_item(rt, response.body if response.body.get("kind") != "Status" else obj)
                )
        return Response(
            200,
            {
                "kind": rt.list_kind_name,
                "apiVersion": rt.api_version,
                "metadata": {"resourceVersion": str(self.store.resource_version)},
                "items": deleted,
            },
        )


def _dropped_paths(before: Any, after: Any, prefix: str) -> list[str]:
    """Field paths (``spec.items[0].x``) present in ``before`` and missing from ``after``."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[str] = []
        for key, value in before.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in after:
                found.append(path)
            else:
                found.extend(_dropped_paths(value, after[key], path))
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            p
            for i, (b, a) in enumerate(zip(before, after, strict=True))
            for p in _dropped_paths(b, a, f"{prefix}[{i}]")
        ]
    return []


_INITIAL_STATUS: dict[GroupResource, dict[str, Any]] = {
    ("", "services"): {"loadBalancer": {}},
    ("networking.k8s.io", "ingresses"): {"loadBalancer": {}},
}
"""A new object's status as the Go types encode their zero values (non-pointer structs are written)."""

JOB_NAME_LABELS = ("job-name", "batch.kubernetes.io/job-name")
CONTROLLER_UID_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid")


def _generate_job_selector(job: dict[str, Any]) -> None:
    """The Job strategy's generateSelector (v1.28): unless ``manualSelector``, the template is labelled with
    the job's name and uid (legacy and ``batch.kubernetes.io/`` keys) and the selector picks the uid."""
    spec = job.setdefault("spec", {})
    if spec.get("manualSelector"):
        return
    metadata = job["metadata"]
    template_meta = spec.setdefault("template", {}).setdefault("metadata", {})
    labels = template_meta.get("labels") or {}
    for key in JOB_NAME_LABELS:
        labels.setdefault(key, metadata.get("name", ""))
    for key in CONTROLLER_UID_LABELS:
        labels.setdefault(key, metadata.get("uid", ""))
    template_meta["labels"] = labels
    selector = spec.get("selector") or {}
    match_labels = selector.get("matchLabels") or {}
    match_labels.setdefault(CONTROLLER_UID_LABELS[1], metadata.get("uid", ""))
    spec["selector"] = {**selector, "matchLabels": match_labels}
    # Read back from storage, SetDefaults_Job gives an unlabelled Job its template's labels.
    if not metadata.get("labels"):
        metadata["labels"] = dict(labels)


def _finalized(rt: ResourceType, obj: dict[str, Any]) -> bool:
    """Marked for deletion and nothing holds it any more (a namespace also waits for its spec.finalizers)."""
    metadata = obj["metadata"]
    if not metadata.get("deletionTimestamp") or metadata.get("finalizers"):
        return False
    return (rt.group, rt.name) != NAMESPACE_RESOURCE or not (obj.get("spec") or {}).get("finalizers")


def _spec_of(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _go_format(value: Any) -> str:
    """``fmt.Sprintf("%+v", value)`` of a decoded JSON value (how a strategic merge patch is quoted)."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_format(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_format(item) for item in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def _watch_list_forbidden(match: str) -> ApiStatus:
    """``sendInitialEvents`` needs the WatchList feature gate, off in v1.28."""
    causes = []
    if match != "NotOlderThan":
        causes.append(
            {
                "reason": "FieldValueForbidden",
                "message": "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                "field": "resourceVersionMatch",
            }
        )
    causes.append(
        {
            "reason": "FieldValueForbidden",
            "message": "Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled",
            "field": "sendInitialEvents",
        }
    )
    return invalid("ListOptions", "meta.k8s.io", "", causes)


NAMESPACE_TERMINATING = (
    "The system is ensuring all content is removed from this namespace.  "
    "Upon completion, this namespace will automatically be purged by the system."
)


def _check_delete_preconditions(
    rt: ResourceType, name: str, metadata: dict[str, Any], preconditions: dict[str, Any]
) -> None:
    """A DELETE's ``preconditions`` as the generic registry checks them first (``rest.BeforeDelete``):
    409 Conflict naming the *kind* (``ConfigMap "b"``, ``Deployment.apps "web"``), uid before resourceVersion."""
    if preconditions.get("uid") and preconditions["uid"] != metadata.get("uid"):
        why = (f"the UID in the precondition ({preconditions['uid']}) does not match the UID in record "
               f"({metadata.get('uid', '')}). The object might have been deleted and then recreated")
    elif preconditions.get("resourceVersion") and preconditions["resourceVersion"] != metadata["resourceVersion"]:
        why = (f"the ResourceVersion in the precondition ({preconditions['resourceVersion']}) does not match the "
               f"ResourceVersion in record ({metadata['resourceVersion']}). The object might have been modified")
    else:
        return
    resource = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
    details = {"name": name, **({"group": rt.group} if rt.group else {}), "kind": rt.kind}
    raise ApiStatus(409, "Conflict", f'Operation cannot be fulfilled on {resource} "{name}": {why}', details)


def _check_namespace_delete_preconditions(
    rt: ResourceType, name: str, metadata: dict[str, Any], preconditions: dict[str, Any]
) -> None:
    """A Namespace's own DELETE checks its preconditions in another wording
    (``pkg/registry/core/namespace/storage``): ``namespaces "x": Precondition failed: ...``."""
    if preconditions.get("uid") and preconditions["uid"] != metadata.get("uid"):
        raise conflict(rt, name, f"Precondition failed: UID in precondition: {preconditions['uid']}, "
                                 f"UID in object meta: {metadata.get('uid', '')}")
    if preconditions.get("resourceVersion") and preconditions["resourceVersion"] != metadata["resourceVersion"]:
        raise conflict(rt, name, f"Precondition failed: ResourceVersion in precondition: "
                                 f"{preconditions['resourceVersion']}, ResourceVersion in object meta: "
                                 f"{metadata['resourceVersion']}")
