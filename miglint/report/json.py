"""`--format json`: an array of objects with exactly the keys DESIGN.md promises."""

from __future__ import annotations

import json
from typing import Any

from miglint.finding import Edit, Finding
from miglint.report import display_path


def edit_dict(edit: Edit | None) -> dict[str, Any] | None:
    if edit is None:
        return None
    return {
        "applicability": edit.applicability,
        "message": edit.message,
        "edits": [
            {
                "path": display_path(change.path),
                "line": change.line,
                "column": change.column,
                "end_line": change.end_line,
                "end_column": change.end_column,
                "content": change.content,
            }
            for change in edit.edits
        ],
    }


def as_dict(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "rule": finding.rule,
        "severity": str(finding.severity),
        "path": display_path(finding.path),
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "message": finding.message,
        "app": finding.app,
        "migration": finding.migration,
        "fix": finding.fix,
        "edit": edit_dict(finding.edit),
    }


def render(findings: list[Finding]) -> str:
    rows = sorted((as_dict(f) for f in findings), key=lambda r: (r["path"], r["line"], r["code"]))
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
