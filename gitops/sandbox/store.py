"""The sandbox's object store: objects by resource, the resourceVersion counter, the watch event log
and persistence into a state directory.

Stored objects are never mutated in place: every write stores a fresh dict, so readers may
serialise what they got after releasing the lock.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from gitops.errors import ConfigError

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
LOCK_FILE = "lock"
STATE_FORMAT = "gitops-sandbox/v1"
FIRST_RESOURCE_VERSION = 1000
"""A fresh store starts here, so that small versions (``1``) are too old as on any real cluster."""
DEFAULT_HISTORY = 20_000
"""How many events the watch log keeps; watching from before them answers 410 Gone."""

GroupResource = tuple[str, str]
"""(API group, plural resource name)."""
ObjectKey = tuple[str, str]
"""(namespace, name); namespace ``""`` for cluster-scoped objects."""


class StateError(ConfigError):
    """The state directory holds a file the sandbox cannot read."""


class StateInUse(StateError):
    """Another running sandbox (``gitops sandbox serve``) holds the state directory."""


class TooOld(Exception):
    """The requested resourceVersion is older than the event log."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


@dataclass(frozen=True)
class Event:
    resource_version: int
    type: str
    """ADDED, MODIFIED or DELETED."""
    resource: GroupResource
    obj: dict[str, Any]
    previous: dict[str, Any] | None


def copy_object(obj: Any) -> Any:
    """A deep copy of a JSON-like value (faster than copy.deepcopy)."""
    return json.loads(json.dumps(obj))


def key_of(obj: dict[str, Any]) -> ObjectKey:
    metadata = obj.get("metadata") or {}
    return (str(metadata.get("namespace") or ""), str(metadata["name"]))


class Store:
    """In-memory objects with a global resourceVersion, an event log for watches, optional persistence."""

    def __init__(self, state_dir: Path | None = None, *, history: int = DEFAULT_HISTORY) -> None:
        self.state_dir = state_dir
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._objects: dict[GroupResource, dict[ObjectKey, dict[str, Any]]] = {}
        self._resource_version = FIRST_RESOURCE_VERSION
        self._events: deque[Event] = deque(maxlen=history)
        self._log_start = FIRST_RESOURCE_VERSION
        self._dirty = False
        self._closed = False
        self.extra: dict[str, Any] = {}
        """Small server settings persisted with the objects (tokens, clusterIP counter)."""
        self._flusher: threading.Thread | None = None
        self._lock_file: TextIO | None = None
        if state_dir is not None:
            self._lock_state_dir(state_dir)
            try:
                self._load()
            except StateError:
                self._release_lock()
                raise

    # reads

    @property
    def resource_version(self) -> int:
        return self._resource_version

    def get(self, resource: GroupResource, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            return self._objects.get(resource, {}).get((namespace, name))

    def list(self, resource: GroupResource, namespace: str | None = None) -> tuple[list[dict[str, Any]], int]:
        """Objects sorted by namespace and name (as etcd keys sort), and the current resourceVersion."""
        with self.lock:
            bucket = self._objects.get(resource, {})
            keys = sorted(k for k in bucket if namespace is None or k[0] == namespace)
            return [bucket[k] for k in keys], self._resource_version

    def namespace_is_empty(self, namespace: str) -> bool:
        with self.lock:
            return not any(key[0] == namespace for bucket in self._objects.values() for key in bucket)

    def objects_in(self, namespace: str) -> Iterator[tuple[GroupResource, dict[str, Any]]]:
        with self.lock:
            found = [
                (r, obj)
                for r, bucket in self._objects.items()
                for k, obj in bucket.items()
                if k[0] == namespace
            ]
        yield from found

    # writes

    def next_resource_version(self) -> int:
        with self.lock:
            self._resource_version += 1
            return self._resource_version

    def put(self, resource: GroupResource, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` (taking ownership of it) with a new resourceVersion; records ADDED or MODIFIED."""
        with self.lock:
            bucket = self._objects.setdefault(resource, {})
            key = key_of(obj)
            previous = bucket.get(key)
            obj["metadata"]["resourceVersion"] = str(self.next_resource_version())
            bucket[key] = obj
            self._record(
                Event(self._resource_version, "MODIFIED" if previous else "ADDED", resource, obj, previous)
            )
            return obj

    def remove(self, resource: GroupResource, obj: dict[str, Any]) -> dict[str, Any]:
        """Remove the object; the DELETED event carries it with the deletion's resourceVersion."""
        with self.lock:
            bucket = self._objects.get(resource, {})
            previous = bucket.pop(key_of(obj), None)
            if previous is None:
                return obj
            final = dict(previous)
            final["metadata"] = {**previous["metadata"], "resourceVersion": str(self.next_resource_version())}
            self._record(Event(self._resource_version, "DELETED", resource, final, previous))
            return final

    def _record(self, event: Event) -> None:
        if len(self._events) == self._events.maxlen:
            self._log_start = self._events[0].resource_version
        self._events.append(event)
        self._dirty = True
        self.changed.notify_all()

    # watch

    def events_after(self, resource_version: int, resource: GroupResource) -> list[Event]:
        """Events for ``resource`` newer than ``resource_version``; raises TooOld when the log lost some."""
        with self.lock:
            if resource_version < self._log_start:
                raise TooOld(resource_version, self._log_start + 1)
            if resource_version >= self._resource_version:
                return []
            found: list[Event] = []
            for event in reversed(self._events):
                if event.resource_version <= resource_version:
                    break
                if event.resource == resource:
                    found.append(event)
            found.reverse()
            return found

    def all_events_after(self, resource_version: int) -> list[Event]:
        """Every event newer than ``resource_version``; raises TooOld when the log lost some."""
        with self.lock:
            if resource_version < self._log_start:
                raise TooOld(resource_version, self._log_start + 1)
            found: list[Event] = []
            for event in reversed(self._events):
                if event.resource_version <= resource_version:
                    break
                found.append(event)
            found.reverse()
            return found

    def all_objects(self) -> list[tuple[GroupResource, dict[str, Any]]]:
        with self.lock:
            return [(r, obj) for r, bucket in self._objects.items() for obj in bucket.values()]

    def wait_for_change(self, after: int, timeout: float) -> None:
        with self.lock:
            if self._resource_version <= after and not self._closed:
                self.changed.wait(timeout)

    # persistence

    @property
    def state_file(self) -> Path | None:
        return self.state_dir / STATE_FILE if self.state_dir else None

    @staticmethod
    def in_use(state_dir: Path) -> bool:
        """Whether a running sandbox holds ``state_dir``."""
        try:
            with open(state_dir / LOCK_FILE, "a+", encoding="utf-8") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except FileNotFoundError:
            return False
        except OSError:
            return True
        return False

    def _lock_state_dir(self, state_dir: Path) -> None:
        """One server per state directory: a second one would overwrite the first one's objects."""
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            handle = open(state_dir / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115 - held until close()
        except OSError as err:
            raise StateError(
                f"cannot use sandbox state directory {state_dir}: {err.strerror or err}"
            ) from err
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            handle.close()
            raise StateInUse(
                f"sandbox state directory {state_dir} is in use by another running sandbox; "
                "stop it or choose another --state-dir"
            ) from err
        self._lock_file = handle

    def _load(self) -> None:
        path = self.state_file
        assert path is not None
        if not path.exists():
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
                raise ValueError(f"not a {STATE_FORMAT} state file")
            objects: dict[GroupResource, dict[ObjectKey, dict[str, Any]]] = {}
            for entry in data["objects"]:
                resource = (str(entry["group"]), str(entry["resource"]))
                obj = entry["object"]
                objects.setdefault(resource, {})[key_of(obj)] = obj
            resource_version = int(data["resourceVersion"])
            extra = dict(data.get("extra") or {})
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise StateError(
                f"sandbox state file {path} is unreadable ({err}); remove it or run `gitops sandbox reset`"
            ) from err
        self._objects = objects
        self._resource_version = self._log_start = resource_version
        self.extra = extra

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            entries = [
                {"group": group, "resource": resource, "object": obj}
                for (group, resource), bucket in sorted(self._objects.items())
                for _, obj in sorted(bucket.items())
            ]
            self._dirty = False
            return {
                "format": STATE_FORMAT,
                "resourceVersion": self._resource_version,
                "extra": self.extra,
                "objects": entries,
            }

    def mark_dirty(self) -> None:
        with self.lock:
            self._dirty = True

    def flush(self) -> None:
        """Write the state file atomically if anything changed since the last write."""
        path = self.state_file
        if path is None or not self._dirty:
            return
        data = json.dumps(self.snapshot(), separators=(",", ":"))
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)

    def start_flusher(self, interval: float = 0.1) -> None:
        """Persist changes in the background, at most every ``interval`` seconds."""
        if self.state_dir is None or self._flusher is not None:
            return

        def run() -> None:
            while not self._closed:
                with self.lock:
                    self.changed.wait(1.0)
                try:
                    self.flush()
                except OSError:
                    log.exception("cannot write sandbox state to %s", self.state_file)
                threading.Event().wait(interval)

        self._flusher = threading.Thread(target=run, name="sandbox-flusher", daemon=True)
        self._flusher.start()

    def close(self) -> None:
        with self.lock:
            self._closed = True
            self.changed.notify_all()
        if self._flusher is not None:
            self._flusher.join(timeout=5)
            self._flusher = None
        try:
            self.flush()
        finally:
            self._release_lock()

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
