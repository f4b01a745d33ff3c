"""`--format sarif`: SARIF 2.1.0, as GitHub code scanning (`upload-sarif`) reads it.

Every rule is described in `tool.driver.rules` (summary, rationale, default level and a
link to its page in `rules/`), so code scanning can show what a finding means.
"""

from __future__ import annotations

import inspect
import json
import urllib.parse
from typing import Any

from miglint import __version__
from miglint.core.finding import Edit, Finding, Severity
from miglint.report.common import display_path
from miglint.rules import Rule, all_rules

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/miglint/miglint"
RULES_URI = "https://github.com/miglint/miglint/blob/main/rules/"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def help_uri(code: str) -> str:
    return f"{RULES_URI}{code}.md"


def rule_descriptor(rule: type[Rule]) -> dict[str, Any]:
    rationale = inspect.cleandoc(rule.__doc__ or "") or rule.summary
    fix = f"\n\nHow to fix: {rule.fix}" if rule.fix else ""
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rationale},
        "help": {
            "text": f"{rule.summary}{fix}\n\nSee {help_uri(rule.code)}",
            "markdown": f"{rule.summary}{fix}\n\n[{rule.code} {rule.name}]({help_uri(rule.code)})",
        },
        "helpUri": help_uri(rule.code),
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"tags": ["django", "migrations"]},
    }


def _uri(path: str) -> str:
    return urllib.parse.quote(display_path(path), safe="/")


def result(finding: Finding, rule_index: int | None) -> dict[str, Any]:
    end_line = max(finding.end_line, finding.line)
    end_column = finding.end_column
    if end_line == finding.line:
        end_column = max(end_column, finding.column)
    message = finding.message + (f"\nFix: {finding.fix}" if finding.fix else "")
    entry: dict[str, Any] = {
        "ruleId": finding.code,
        "level": LEVELS[finding.severity],
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(finding.path), "uriBaseId": "%SRCROOT%"},
                    "region": {
                        "startLine": max(finding.line, 1),
                        "startColumn": max(finding.column, 1),
                        "endLine": max(end_line, 1),
                        "endColumn": max(end_column, 1),
                    },
                }
            }
        ],
    }
    if rule_index is not None:
        entry["ruleIndex"] = rule_index
    if finding.edit is not None:
        entry["fixes"] = [fix(finding.edit)]
    return entry


def fix(edit: Edit) -> dict[str, Any]:
    """A SARIF `fix`: the edits grouped per file, each a deleted region and inserted text (an
    empty region inserts; a new file is an insertion at 1:1 of its artifact)."""
    changes: dict[str, list[dict[str, Any]]] = {}
    for change in edit.edits:
        changes.setdefault(change.path, []).append(
            {
                "deletedRegion": {
                    "startLine": change.line,
                    "startColumn": change.column,
                    "endLine": change.end_line,
                    "endColumn": change.end_column,
                },
                "insertedContent": {"text": change.content},
            }
        )
    return {
        "description": {"text": edit.message},
        "artifactChanges": [
            {
                "artifactLocation": {"uri": _uri(path), "uriBaseId": "%SRCROOT%"},
                "replacements": replacements,
            }
            for path, replacements in changes.items()
        ],
        "properties": {"applicability": edit.applicability},
    }


def document(findings: list[Finding]) -> dict[str, Any]:
    rules = all_rules()
    index = {rule.code: i for i, rule in enumerate(rules)}
    ordered = sorted(findings, key=lambda f: (display_path(f.path), f.line, f.column, f.code))
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "miglint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [rule_descriptor(rule) for rule in rules],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": [result(f, index.get(f.code)) for f in ordered],
            }
        ],
    }


def render(findings: list[Finding]) -> str:
    return json.dumps(document(findings), indent=2, ensure_ascii=False) + "\n"
