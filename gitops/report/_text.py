"""The terminal report: header, summary line, per changed object its field changes and YAML diff. Pure.

After a sync that ran, an object it created is one line, as ``kubectl apply`` and Flux report them:
its manifest is in Git, and printing every one in full made the report of a first sync of 10,000
objects 5.5 MB (and more than a tenth of the sync's CPU time). A plan, a diff or a dry run still
shows what each create would send, and the JSON and YAML reports keep every object whole.
"""

from __future__ import annotations

from collections.abc import Callable

from gitops.changeset import Action, ChangeSet, Entry, Health
from gitops.masking import mask
from gitops.report import _common as common

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
RED = "\x1b[31m"
GREEN = "\x1b[32m"
YELLOW = "\x1b[33m"
CYAN = "\x1b[36m"
DIM = "\x1b[2m"

MARKERS = {Action.CREATE: ("+", GREEN), Action.UPDATE: ("~", YELLOW), Action.ADOPT: ("*", CYAN), Action.PRUNE: ("-", RED)}
INDENT = "    "

Paint = Callable[[str, str], str]


def text(cs: ChangeSet, *, color: bool = False) -> str:
    """The human report; ANSI colour only when ``color`` (the CLI passes isatty and honours NO_COLOR)."""
    cs = mask(cs)
    paint: Paint = (lambda s, code: f"{code}{s}{RESET}") if color else (lambda s, code: s)
    lines = _header(cs, paint)
    listed = False
    for entry in cs.entries:
        if not entry.changed:
            continue
        if _created(cs, entry):
            # One line each, in a block of their own (no blank line between them).
            lines += [*([] if listed else [""]), *_changed_entry(cs, entry, paint, full=False)]
            listed = True
        else:
            lines += ["", *_changed_entry(cs, entry, paint)]
            listed = False
    lines += _section("Skipped:", [e for e in cs.entries if e.action is Action.SKIPPED], _skipped, paint)
    lines += _section("Failed:", [e for e in cs.entries if e.action is Action.FAILED], _failed, paint)
    lines += _section("Not healthy:", [e for e in cs.entries if _unhealthy(e)], _unhealthy_line, paint)
    if cs.errors:
        lines += ["", paint("Errors:", BOLD + RED), *(f"  {error}" for error in cs.errors)]
    return "\n".join(lines) + "\n"


def _header(cs: ChangeSet, paint: Paint) -> list[str]:
    title = "Result:  " if common.past_tense(cs) else "Plan:    "
    summary = common.summary_line(cs)
    colour = RED if cs.failed else GREEN if cs.in_sync else YELLOW
    return [
        f"Source:   {common.source_text(cs)}",
        f"Revision: {common.revision_text(cs)}",
        f"{title} {paint(summary, BOLD + colour)}",
    ]


def _created(cs: ChangeSet, entry: Entry) -> bool:
    """Created by a sync that ran: its name says it all (one that is not healthy is also listed
    under "Not healthy" with its health)."""
    return common.past_tense(cs) and entry.action is Action.CREATE and entry.done


def _changed_entry(cs: ChangeSet, entry: Entry, paint: Paint, *, full: bool = True) -> list[str]:
    marker, colour = MARKERS[entry.action]
    where = common.where(entry)
    head = f"{marker} {common.action_word(cs, entry)} {entry.ref}" + (f"  ({where})" if where else "")
    lines = [paint(head, BOLD + colour)]
    if not full:
        return lines
    if entry.reason:  # why it is deleted (or adopted, or recreated)
        lines.append(f"{INDENT}{entry.reason}")
    lines += [INDENT + common.describe_change(change) for change in entry.changes]
    if entry.health is not None:
        lines.append(f"{INDENT}health: {common.health_text(entry)}")
    lines += [INDENT + _paint_diff_line(line, paint) for line in common.unified_diff(entry, cs.baseline)]
    return lines


def _paint_diff_line(line: str, paint: Paint) -> str:
    if line.startswith(("---", "+++")):
        return paint(line, BOLD)
    if line.startswith("@@"):
        return paint(line, CYAN)
    if line.startswith("+"):
        return paint(line, GREEN)
    if line.startswith("-"):
        return paint(line, RED)
    return line


def _section(title: str, entries: list[Entry], describe: Callable[[Entry], str], paint: Paint) -> list[str]:
    if not entries:
        return []
    colour = RED if title == "Failed:" else DIM if title == "Skipped:" else YELLOW
    return ["", paint(title, BOLD + colour), *(f"  {describe(entry)}" for entry in entries)]


def _located(entry: Entry) -> str:
    where = common.where(entry)
    return f"{entry.ref} ({where})" if where else str(entry.ref)


def _skipped(entry: Entry) -> str:
    return f"{_located(entry)}: {entry.reason or 'no reason given'}"


def _failed(entry: Entry) -> str:
    cause = entry.error or "failed"
    return f"{_located(entry)}: {entry.reason}: {cause}" if entry.reason else f"{_located(entry)}: {cause}"


def _unhealthy(entry: Entry) -> bool:
    return entry.health is not None and entry.health is not Health.HEALTHY


def _unhealthy_line(entry: Entry) -> str:
    return f"{entry.ref}: {common.health_text(entry)}"
