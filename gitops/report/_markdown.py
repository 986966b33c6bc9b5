"""The Markdown report for pull-request comments and GitHub step summaries. Pure.

Layout: a heading, the source, a summary table, a table of changed/skipped/failed objects, run errors,
then one collapsible ``<details>`` block per changed object holding its field changes and a ``diff``
block. Blocks are whole units: truncation drops trailing objects, never half a block.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from gitops.changeset import Action, ChangeSet, Entry
from gitops.report import _common as common
from gitops.report.masking import mask

DEFAULT_LIMIT = 60000
"""GitHub refuses comments over 65,536 characters; leave room for what the caller wraps around."""


def markdown(cs: ChangeSet, *, limit: int = DEFAULT_LIMIT, title: str | None = None) -> str:
    """The report in GitHub-flavoured Markdown, at most ``limit`` characters.

    ``title`` replaces the heading's text (``gitops plan: out of sync`` by default).
    """
    cs = mask(cs)
    listed = [entry for entry in cs.entries if entry.action is not Action.UNCHANGED]
    detailed = [entry for entry in listed if entry.changed]
    head = _head(cs, title)
    rows = [_row(cs, entry) for entry in listed]
    tail = _errors(cs)
    blocks = [_details(cs, entry, diff_budget=max(limit // 4, 1000)) for entry in detailed]

    document = _assemble(head, rows, tail, blocks)
    if len(document) <= limit:
        return document
    return _truncated(head, rows, tail, blocks, limit, needs_block=[entry.changed for entry in listed])


TABLE_HEADER = "| Action | Object | Where | Details |\n|---|---|---|---|\n"


def _assemble(head: str, rows: list[str], tail: str, blocks: list[str], note: str = "") -> str:
    parts = [head]
    if rows:
        parts.append(TABLE_HEADER + "\n".join(rows))
    parts += [part for part in (tail, *blocks, note) if part]
    return "\n\n".join(parts) + "\n"


def _assembled_length(head: str, rows: list[int], tail: str, blocks: list[int], note: str) -> int:
    """``len(_assemble(...))`` from the lengths of rows and blocks, without building the text."""
    parts = [len(head), len(tail), *blocks, len(note)]
    if rows:
        parts.append(len(TABLE_HEADER) + sum(rows) + len(rows) - 1)
    present = [length for length in parts if length]
    return sum(present) + 2 * (len(present) - 1) + 1


def _truncated(
    head: str, rows: list[str], tail: str, blocks: list[str], limit: int, needs_block: list[bool]
) -> str:
    """Keep the head and errors, then as many table rows and details blocks as fit, in order.

    The note counts the objects not shown in full: without their table row, or without their diff.
    """

    def note(kept_rows: int, kept_blocks: int) -> str:
        shown = sum(1 for needs in needs_block[:kept_rows] if not needs) + kept_blocks
        missing = len(needs_block) - shown
        return f"... {missing} more objects not shown (report truncated at {limit} characters)"

    row_lengths, block_lengths = [len(row) for row in rows], [len(block) for block in blocks]

    def fits(kept_rows: int, kept_blocks: int) -> bool:
        length = _assembled_length(
            head, row_lengths[:kept_rows], tail, block_lengths[:kept_blocks], note(kept_rows, kept_blocks)
        )
        return length <= limit

    kept_rows = _longest(len(rows), lambda n: fits(n, 0))
    kept_blocks = _longest(len(blocks), lambda n: fits(kept_rows, n)) if kept_rows == len(rows) else 0
    final_note = note(kept_rows, kept_blocks)
    return _fit(_assemble(head, rows[:kept_rows], tail, blocks[:kept_blocks], final_note), limit, final_note)


def _longest(available: int, fits: Callable[[int], bool]) -> int:
    """The largest n <= available such that the first n items fit (0 when none does)."""
    count = 0
    while count < available and fits(count + 1):
        count += 1
    return count


def _fit(document: str, limit: int, note: str) -> str:
    """Last resort for a limit smaller than the head itself: whole lines of the head before its
    table, as many as leave room for the note (the note goes when even the heading leaves none)."""
    if len(document) <= limit:
        return document
    lines = document.split("|", 1)[0].splitlines(keepends=True)
    while len(lines) > 1 and len("".join(lines)) + len(note) + 1 > limit:
        lines.pop()
    kept = "".join(lines)
    if len(kept) + len(note) + 1 <= limit:
        return kept + note + "\n"
    return kept if len(kept) <= limit else ""


def _head(cs: ChangeSet, title: str | None) -> str:
    verb = "sync" if common.past_tense(cs) else "plan"
    lines = [
        f"## {title}" if title else f"## gitops {verb}: {common.status_word(cs)}",
        "",
        f"{_escape(common.summary_line(cs))}",
        "",
        f"Source: {_code(cs.source)}" + (f", path {_code(cs.path)}" if cs.path else ""),
        f"Revision: {_code(common.revision_text(cs))}",
        "",
        "| Action | Count |\n|---|---:|",
    ]
    lines += [f"| {_cell(label)} | {count} |" for label, count in common.summary_counts(cs)]
    return "\n".join(lines)


def _row(cs: ChangeSet, entry: Entry) -> str:
    if entry.action is Action.FAILED:
        details = f"{entry.reason}: {entry.error}" if entry.reason else entry.error
    elif entry.action is Action.SKIPPED:
        details = entry.reason
    else:
        counted = f"{len(entry.changes)} field changes" if entry.changes else ""
        details = "; ".join(part for part in (entry.reason, counted) if part)
    if entry.health is not None:
        details = "; ".join(part for part in (details, f"health {common.health_text(entry)}") if part)
    cells = (common.action_word(cs, entry), str(entry.ref), common.where(entry), details)
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _errors(cs: ChangeSet) -> str:
    if not cs.errors:
        return ""
    return "**Errors**\n\n" + "\n".join(f"- {_escape(error)}" for error in cs.errors)


def _details(cs: ChangeSet, entry: Entry, diff_budget: int) -> str:
    summary = f"{common.action_word(cs, entry)} {entry.ref}"
    lines = [f"<details><summary>{html.escape(summary)}</summary>", ""]
    lines += [f"- {_code(common.describe_change(change))}" for change in entry.changes]
    if entry.changes:
        lines.append("")
    diff = _capped(common.unified_diff(entry, cs.baseline), diff_budget)
    if diff:
        fence = _fence(diff)
        lines += [f"{fence}diff", *diff, fence, ""]
    lines.append("</details>")
    return "\n".join(lines)


def _capped(diff: list[str], budget: int) -> list[str]:
    """At most ``budget`` characters of diff, cut at a line, saying how much is left out."""
    used = 0
    for index, line in enumerate(diff):
        used += len(line) + 1
        if used > budget:
            return [*diff[:index], f"... diff truncated: {len(diff) - index} more lines"]
    return diff


def _fence(lines: list[str]) -> str:
    """A code fence longer than any run of backticks in the content, so the content cannot close it."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def _code(value: str) -> str:
    """An inline code span that survives backticks in ``value``."""
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{ticks}{pad}{value}{pad}{ticks}"


def _escape(value: str) -> str:
    """Plain text that Markdown and HTML will not interpret."""
    value = html.escape(value, quote=False)
    return re.sub(r"([\\`*_\[\]|])", r"\\\1", value)


def _cell(value: str) -> str:
    """A table cell: one line, with ``|`` and backticks escaped."""
    return _escape(" ".join(value.split()))
