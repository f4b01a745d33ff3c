"""`--format github`: one workflow command per finding, which Actions shows as an annotation.

The escaping is the one `@actions/core` uses: `%`, CR and LF in the message; also `:` and
`,` in properties, which would otherwise end a property early.
"""

from __future__ import annotations

from miglint.core.finding import Finding, Severity
from miglint.report.common import display_path

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    # Other control characters (a terminal escape in a field name) would reach the raw log.
    text = "".join(c if c.isprintable() or c in "\r\n" else " " for c in text)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(finding: Finding, path: str) -> str:
    """The workflow command annotating `finding` at `path` (relative to the repository)."""
    end_line = max(finding.end_line, finding.line)
    properties = [("file", path), ("line", str(finding.line)), ("endLine", str(end_line))]
    if end_line == finding.line:
        # Columns only mean something to GitHub within one line; its end column is inclusive.
        end_column = max(finding.end_column - 1, finding.column)
        properties += [("col", str(finding.column)), ("endColumn", str(end_column))]
    properties.append(("title", f"{finding.rule} ({finding.code})"))
    message = finding.message + (f"\nFix: {finding.fix}" if finding.fix else "")
    rendered = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return f"::{COMMANDS[finding.severity]} {rendered}::{escape_data(message)}"


def render(findings: list[Finding]) -> str:
    return "".join(command(finding, display_path(finding.path)) + "\n" for finding in findings)
