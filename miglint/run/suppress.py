"""Inline suppressions (`# miglint: ignore[CODE]`) and per-file ignores from the config."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from miglint.core.finding import Finding
from miglint.project.config import Config
from miglint.source.facts import Suppression


def is_suppressed(finding: Finding, suppressions: Iterable[Suppression]) -> bool:
    """A finding is silenced by a comment on its first line, the line above, or file-wide."""
    for suppression in suppressions:
        if suppression.codes is not None and finding.code not in suppression.codes:
            continue
        if suppression.file_level or suppression.line in (finding.line, finding.line - 1):
            return True
    return False


def apply(
    findings: Iterable[Finding],
    config: Config,
    suppressions_by_path: Mapping[str, tuple[Suppression, ...]],
) -> list[Finding]:
    """Drop what the config or a comment silences; apply configured severities."""
    kept = []
    for finding in findings:
        if not config.enabled(finding.code) or config.ignored_for_path(finding.code, finding.path):
            continue
        if is_suppressed(finding, suppressions_by_path.get(finding.path, ())):
            continue
        severity = config.severity_of(finding.code, finding.severity)
        if severity != finding.severity:
            finding = Finding(**{**finding.__dict__, "severity": severity})
        kept.append(finding)
    return kept
