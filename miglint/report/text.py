"""`--format text`: `path:line:col: severity: CODE message [rule]`, one per line, and a summary.

The severity comes where compilers put it, so editors and CI problem matchers that read
`file:line:col: error: message` pick the lines up. A fix hint follows the first finding
that carries it; the same hint of the same rule is not repeated (`every_fix` repeats it).
"""

from __future__ import annotations

from miglint.core.finding import Finding, Severity
from miglint.report.common import counts, display_path

_COLOURS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}
_BOLD = "\033[1m"
_DIM = "\033[2m"
_RESET = "\033[0m"


def _safe(text: str) -> str:
    """Keep user text on one line and free of terminal escape sequences."""
    return "".join(c if c.isprintable() else " " for c in text)


def render(
    findings: list[Finding],
    colour: bool = False,
    show_fix: bool = True,
    every_fix: bool = False,
) -> str:
    lines = []
    shown: set[tuple[str, str]] = set()
    for finding in findings:
        where = f"{_safe(display_path(finding.path))}:{finding.line}:{finding.column}:"
        severity = f"{finding.severity}:"
        rule = f"[{finding.rule}]"
        if colour:
            where = f"{_BOLD}{where}{_RESET}"
            severity = f"{_COLOURS[finding.severity]}{severity}{_RESET}"
            rule = f"{_DIM}{rule}{_RESET}"
        lines.append(f"{where} {severity} {finding.code} {_safe(finding.message)} {rule}")
        if show_fix and finding.fix and (every_fix or (finding.code, finding.fix) not in shown):
            shown.add((finding.code, finding.fix))
            hint = f"  fix: {_safe(finding.fix)}"
            lines.append(f"{_DIM}{hint}{_RESET}" if colour else hint)
    lines.append(summary(findings))
    return "\n".join(lines) + "\n"


def summary(findings: list[Finding]) -> str:
    if not findings:
        return "No problems found."
    tally = counts(findings)
    parts = [f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in tally.items() if n]
    total = len(findings)
    return f"Found {total} problem{'s' if total != 1 else ''} ({', '.join(parts)})."
