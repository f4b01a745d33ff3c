"""`--format markdown`: counts per severity and a table of findings, for PR comments and wikis.

User text (messages, paths, names) is escaped so that it cannot break the table, start HTML,
open a code span or turn into math, links or emphasis.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from miglint.core.finding import Finding
from miglint.report.common import counts, display_path

# Characters GitHub Markdown gives a meaning to inside a table cell.
_BACKSLASHED = set("\\`*_[]|~$#!")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
SEVERITY_LABELS = {"error": "Error", "warning": "Warning", "info": "Info"}

# (finding, display path) -> the URL of its lines, or None for plain text.
LineLink = Callable[[Finding, str], str | None]


def code(text: str) -> str:
    """`text` as an inline code span on one line (backticks inside it kept)."""
    text = "".join(c if c.isprintable() else " " for c in " ".join(text.splitlines()))
    ticks = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{padding}{text}{padding}{ticks}"


def escape(text: str) -> str:
    """`text` as literal Markdown inline text on one line."""
    out = []
    for char in " ".join(text.splitlines()):
        if char in _ENTITIES:
            out.append(_ENTITIES[char])
        elif char in _BACKSLASHED:
            out.append("\\" + char)
        elif not char.isprintable():
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def counts_table(findings: Sequence[Finding]) -> str:
    tally = counts(list(findings))
    rows = ["| Severity | Count |", "|---|---:|"]
    rows += [f"| {SEVERITY_LABELS[kind]} | {n} |" for kind, n in tally.items()]
    return "\n".join(rows) + "\n"


def headline(findings: Sequence[Finding]) -> str:
    if not findings:
        return "No problems found."
    tally = counts(list(findings))
    parts = [f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in tally.items() if n]
    return ", ".join(parts)


def _location(finding: Finding, path: str, link: LineLink | None) -> str:
    lines = (
        f"{finding.line}"
        if finding.end_line <= finding.line
        else f"{finding.line}-{finding.end_line}"
    )
    text = escape(f"{path}:{lines}")
    url = link(finding, path) if link else None
    return f"[{text}]({url})" if url else text


def finding_row(finding: Finding, path: str, link: LineLink | None = None) -> str:
    fix = escape(finding.fix) if finding.fix else ""
    return (
        f"| {SEVERITY_LABELS[str(finding.severity)]} | {escape(finding.code)} "
        f"| {escape(finding.rule)} | {_location(finding, path, link)} "
        f"| {escape(finding.message)} | {fix} |"
    )


TABLE_HEADER = "| Severity | Code | Rule | Location | Message | Fix |\n|---|---|---|---|---|---|\n"


def findings_table(
    rows: list[tuple[Finding, str]], link: LineLink | None = None, limit: int | None = None
) -> str:
    """A table of `(finding, display path)` rows; past `limit` rows, a line saying how many."""
    if not rows:
        return ""
    shown = rows if limit is None else rows[:limit]
    body = "".join(finding_row(f, path, link) + "\n" for f, path in shown)
    rest = len(rows) - len(shown)
    more = f"\n…and {rest} more finding{'s' if rest != 1 else ''} not shown here.\n" if rest else ""
    return TABLE_HEADER + body + more


def render(findings: list[Finding]) -> str:
    rows = [(f, display_path(f.path)) for f in findings]
    parts = ["## miglint", "", headline(findings), "", counts_table(findings)]
    if rows:
        parts += [findings_table(rows)]
    return "\n".join(parts).rstrip("\n") + "\n"
