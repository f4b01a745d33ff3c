"""`--statistics`: one line per code with its count, name and how many could be fixed.

As ruff prints it: most frequent first, then by code. This module is the one place where
findings are counted as fixable.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from miglint.core.finding import Finding


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    count: int
    fixable: int


def is_fixable(finding: Finding) -> bool:
    """Whether `--fix` could change the code for this finding: it carries an edit (safe or
    unsafe; see miglint.fixes)."""
    return finding.edit is not None


def rows(findings: list[Finding]) -> list[Row]:
    total: Counter[str] = Counter()
    fixable: Counter[str] = Counter()
    names: dict[str, str] = {}
    for finding in findings:
        total[finding.code] += 1
        fixable[finding.code] += is_fixable(finding)
        names.setdefault(finding.code, finding.rule)
    ordered = sorted(total, key=lambda code: (-total[code], code))
    return [Row(code, names[code], total[code], fixable[code]) for code in ordered]


def render_text(findings: list[Finding]) -> str:
    table = rows(findings)
    if not table:
        return "No problems found.\n"
    count_width = max(len(str(row.count)) for row in table)
    name_width = max(len(row.name) for row in table)
    lines = [
        f"{row.count:>{count_width}}  {row.code}  {row.name:<{name_width}}  {row.fixable} fixable"
        for row in table
    ]
    return "\n".join(lines) + "\n"


def render_json(findings: list[Finding]) -> str:
    table = [
        {"code": row.code, "name": row.name, "count": row.count, "fixable": row.fixable}
        for row in rows(findings)
    ]
    return json.dumps(table, indent=2) + "\n"
