"""`--format json`: an array of objects with exactly the keys DESIGN.md promises."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from miglint.core.finding import Edit, Finding
from miglint.report.common import DisplayPaths, display_path

# json.dumps(indent=2) runs in Python, not in C: rows of plain values are written here
# instead, byte for byte as it would (the tests compare), and 20 times faster.
_STRING: Callable[[str], str] = getattr(json.encoder, "c_encode_basestring", None) or (
    json.encoder.py_encode_basestring
)


def edit_dict(
    edit: Edit | None, shown: Callable[[str], str] = display_path
) -> dict[str, Any] | None:
    if edit is None:
        return None
    return {
        "applicability": edit.applicability,
        "message": edit.message,
        "edits": [
            {
                "path": shown(change.path),
                "line": change.line,
                "column": change.column,
                "end_line": change.end_line,
                "end_column": change.end_column,
                "content": change.content,
            }
            for change in edit.edits
        ],
    }


def as_dict(finding: Finding, shown: Callable[[str], str] = display_path) -> dict[str, Any]:
    return {
        "code": finding.code,
        "rule": finding.rule,
        "severity": str(finding.severity),
        "path": shown(finding.path),
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "message": finding.message,
        "app": finding.app,
        "migration": finding.migration,
        "fix": finding.fix,
        "edit": edit_dict(finding.edit, shown),
    }


def render(findings: list[Finding]) -> str:
    shown = DisplayPaths()
    rows = sorted(
        (as_dict(f, shown) for f in findings), key=lambda r: (r["path"], r["line"], r["code"])
    )
    written = [_value(row, "  ") for row in rows]
    if not rows or any(text is None for text in written):
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    return "[\n  " + ",\n  ".join(text for text in written if text is not None) + "\n]\n"


def _value(value: Any, indent: str) -> str | None:
    """`value` as json.dumps(indent=2) writes it at the depth of `indent`; None unless it is
    made of dicts with string keys, lists, strings, integers, booleans and null."""
    kind = type(value)
    if kind is str:
        return _STRING(value)
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is dict or kind is list:
        if not value:
            return "{}" if kind is dict else "[]"
        inner = indent + "  "
        parts = []
        if kind is dict:
            for key, item in value.items():
                text = _value(item, inner)
                if text is None or type(key) is not str:
                    return None
                parts.append(f"{_STRING(key)}: {text}")
        else:
            for item in value:
                text = _value(item, inner)
                if text is None:
                    return None
                parts.append(text)
        opening, closing = ("{", "}") if kind is dict else ("[", "]")
        return f"{opening}\n{inner}" + f",\n{inner}".join(parts) + f"\n{indent}{closing}"
    return None
