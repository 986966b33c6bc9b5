"""One reconcile of one application: fetch and render, plan, and apply when the rules say so.

    load (fetch + render)   failure -> Failed, the cluster is left exactly as it is (never pruned)
    revision changed since the last applied one, or self-heal on -> sync (apply, prune per settings)
    otherwise               -> plan only: drift is reported, not touched

The engine does the work; this module only decides and summarises. :func:`should_apply` and
:func:`summarise` are pure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from gitops.agent.config import AppConfig
from gitops.changeset import Action, ChangeSet, Entry, worst
from gitops.errors import GitopsError, RenderError, SourceError

if TYPE_CHECKING:
    from gitops.cluster import Cluster
    from gitops.source import FetchOptions


class Outcome(StrEnum):
    SYNCED = "synced"
    """The cluster matches Git after this reconcile (changes applied, drift healed, or nothing to do)."""
    DRIFTED = "drifted"
    """Drift found and only reported (self-heal off, revision unchanged)."""
    FAILED = "failed"
    ABANDONED = "abandoned"
    """Leadership was lost before writing: nothing was done."""


class Phase(StrEnum):
    FETCH = "fetch"
    RENDER = "render"
    CONNECT = "connect"
    PLAN = "plan"
    SYNC = "sync"


@dataclass
class Result:
    outcome: Outcome
    phase: Phase
    revision: str | None = None
    message: str = ""
    changeset: ChangeSet | None = None
    synced: bool = False
    """Whether a sync ran (as opposed to a plan only)."""
    drifted: list[Entry] = field(default_factory=list)
    """Entries that differed from Git before this reconcile."""
    written: list[Entry] = field(default_factory=list)
    """Entries the sync carried out (created, updated, pruned)."""
    health: str = "Unknown"


def should_apply(app: AppConfig, revision: str | None, last_applied: str | None) -> bool:
    """Apply on a new revision (or an unversioned directory), or always with self-heal."""
    return app.self_heal or revision is None or revision != last_applied


def summarise(changeset: ChangeSet, *, synced: bool, revision: str | None) -> Result:
    """The result of a plan or sync from its change set."""
    from gitops.masking import mask

    drifted = [entry for entry in changeset.entries if entry.changed]
    written = [entry for entry in drifted if entry.done] if synced else []
    healths = [entry.health for entry in changeset.entries if entry.health is not None]
    if changeset.failed or changeset.exit_code != 0:
        outcome = Outcome.FAILED
    elif synced or not drifted:
        outcome = Outcome.SYNCED
    else:
        outcome = Outcome.DRIFTED
    return Result(
        outcome=outcome,
        phase=Phase.SYNC if synced else Phase.PLAN,
        revision=revision,
        # Masked: the message goes to status, Events and logs, and API errors may echo Secret or decrypted values.
        message=failure_message(mask(changeset)) if outcome is Outcome.FAILED else "",
        changeset=changeset,
        synced=synced,
        drifted=drifted,
        written=written,
        health=worst(healths).value if healths else "Unknown",
    )


def failure_message(changeset: ChangeSet) -> str:
    failed = [entry for entry in changeset.entries if entry.action is Action.FAILED]
    parts = list(changeset.errors) + [f"{entry.ref.short}: {entry.error or entry.reason}" for entry in failed]
    more = f" (and {len(parts) - 3} more)" if len(parts) > 3 else ""
    return "; ".join(parts[:3]) + more if parts else "sync failed"


def reconcile(
    app: AppConfig,
    *,
    last_applied: str | None,
    cluster: Callable[[], Cluster],
    fetch_options: FetchOptions,
    may_write: Callable[[], bool],
) -> Result:
    """Reconcile ``app`` once. Never raises for expected failures: they come back as a FAILED result."""
    from gitops import engine
    from gitops.render import RenderOptions

    try:
        render_options = RenderOptions(namespace=app.namespace, sops_env=app.decryption.sops_env())
        desired = engine.load(app.source, fetch_options=fetch_options, render_options=render_options)
    except SourceError as err:
        return Result(Outcome.FAILED, Phase.FETCH, revision=err.revision or None, message=str(err))
    except RenderError as err:
        return Result(Outcome.FAILED, Phase.RENDER, revision=err.revision, message=str(err))
    except GitopsError as err:
        return Result(Outcome.FAILED, Phase.RENDER, message=str(err))
    revision = desired.checkout.revision
    try:
        target = cluster()
    except GitopsError as err:
        return Result(Outcome.FAILED, Phase.CONNECT, revision=revision, message=str(err))
    apply = should_apply(app, revision, last_applied)
    if not may_write():
        return Result(Outcome.ABANDONED, Phase.SYNC if apply else Phase.PLAN, revision=revision)
    try:
        if apply:
            options = dataclasses.replace(app.sync, dry_run=False, may_write=may_write, assess_health=True)
            changeset = engine.sync(target, desired, options)
        else:
            changeset = engine.plan(target, desired, dataclasses.replace(app.sync, dry_run=True, assess_health=True))
    except GitopsError as err:
        return Result(Outcome.FAILED, Phase.SYNC if apply else Phase.PLAN, revision=revision, message=str(err))
    if apply and not may_write():
        # Leadership was lost during the sync: it stopped writing; the next leader finishes the job.
        return Result(Outcome.ABANDONED, Phase.SYNC, revision=revision)
    return summarise(changeset, synced=apply, revision=revision)
