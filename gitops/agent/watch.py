"""Keeps the agent's view of Application objects current: list, then watch from the list's
resourceVersion, tracking it through every event (BOOKMARKs included); on 410 Gone or a broken
stream, list again. One thread per watched namespace (or one for all namespaces).

Each object seen is handed to ``on_object``, each deletion to ``on_deleted``; after every (re-)list,
``on_listed`` gets the keys present so objects deleted while the watch was down are noticed too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from gitops.agent.application import API_VERSION, GROUP, KIND, PLURAL, key_of
from gitops.agent.logging import fields
from gitops.errors import ApiError, GitopsError

log = logging.getLogger(__name__)

WATCH_SECONDS = 300
"""The server ends each watch after this long (with jitter on its side); the watch resumes from there."""
_CRD_RETRY = 10.0


class WatchApi(Protocol):
    def list_with_version(self, api_version: str, kind: str, namespace: str) -> tuple[list[dict[str, Any]], str]: ...
    def watch(
        self, api_version: str, kind: str, namespace: str, resource_version: str, timeout_seconds: int,
        stopped: Callable[[], bool],
    ) -> Iterator[dict[str, Any]]: ...
    def invalidate_discovery(self, api_version: str) -> None: ...


class ApplicationWatcher:
    def __init__(
        self,
        api: WatchApi,
        namespaces: list[str],
        *,
        on_object: Callable[[dict[str, Any]], None],
        on_deleted: Callable[[str], None],
        on_listed: Callable[[str, set[str]], None],
        retry_period: float = 2.0,
    ) -> None:
        """``namespaces``: the namespaces to watch; ``[""]`` for all of them."""
        self.api = api
        self.namespaces = namespaces
        self.on_object = on_object
        self.on_deleted = on_deleted
        self.on_listed = on_listed
        self.retry_period = retry_period
        self.problem: str | None = None
        """Why Applications cannot be listed or watched right now (``None``: they can)."""
        self.missing_crd = False
        """The cluster does not serve Applications (the CRD is not installed)."""
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._synced: set[str] = set()

    def start(self) -> None:
        for namespace in self.namespaces:
            thread = threading.Thread(
                target=self._run, args=(namespace,), name=f"watch-{namespace or 'all'}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()

    def synced(self) -> bool:
        """Every watched namespace has been listed at least once."""
        return len(self._synced) == len(self.namespaces)

    def _run(self, namespace: str) -> None:
        from gitops.cluster import UnknownKind

        version = ""
        while not self._stop.is_set():
            try:
                if not version:
                    version = self._list(namespace)
                    self.problem, self.missing_crd = None, False
                version = self._follow(namespace, version)
            except UnknownKind:
                self.missing_crd = True
                self._trouble(f"the Application CRD ({PLURAL}.{GROUP}) is not installed: "
                              "apply deploy/crds/ to manage applications as objects", level=logging.WARNING)
                self._stop.wait(_CRD_RETRY)
                self.api.invalidate_discovery(API_VERSION)
                version = ""
            except ApiError as err:
                if err.status == 410:
                    log.info("watch expired, listing Applications again", extra=fields(namespace=namespace or None))
                    version = ""
                    continue
                self._trouble(f"cannot watch Applications in {namespace or 'all namespaces'}: {err}")
                version = ""
                self._stop.wait(self.retry_period)
            except GitopsError as err:
                # A broken stream: resume from the version reached (a 410 then re-lists).
                log.debug("watch ended: %s", err)
                self._stop.wait(min(self.retry_period, 1.0))
            except Exception:  # a bug must not end the watch for good
                log.exception("watching Applications failed", extra=fields(namespace=namespace or None))
                version = ""
                self._stop.wait(self.retry_period)

    def _list(self, namespace: str) -> str:
        items, version = self.api.list_with_version(API_VERSION, KIND, namespace)
        for item in items:
            self.on_object(item)
        self.on_listed(namespace, {key_of(item) for item in items})
        self._synced.add(namespace)
        return version

    def _follow(self, namespace: str, version: str) -> str:
        """Follow one watch until the server ends it; returns the last resourceVersion seen."""
        for event in self.api.watch(API_VERSION, KIND, namespace, version, WATCH_SECONDS, self._stop.is_set):
            obj = event.get("object") or {}
            version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
            kind = event.get("type")
            if kind in ("ADDED", "MODIFIED"):
                self.on_object(obj)
            elif kind == "DELETED":
                self.on_deleted(key_of(obj))
            if self._stop.is_set():
                break
        return version

    def _trouble(self, problem: str, level: int = logging.ERROR) -> None:
        if problem != self.problem:
            log.log(level, "%s", problem)
        self.problem = problem
