"""Attach to each finding the edit its rule offers (see `miglint.fixes`).

Done only when the output shows the edits (JSON, SARIF, statistics, `--fix`, `--show-fixes`,
the Action): a rule's hook may parse its file with libcst, which text output never pays for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from miglint.core.finding import Finding
from miglint.fixes.source import FixSource, SourceFile, read_source
from miglint.project.load import Project
from miglint.rules import Rule, all_rules

# Reads a file for a fix: the text fixed so far in this run, else the file on disk.
SourceReader = Callable[[str], SourceFile | None]


def fixable_rules() -> dict[str, type[Rule]]:
    """The rules that offer fixes, by code."""
    return {rule.code: rule for rule in all_rules() if rule.fixable()}


def attach_edits(
    findings: Iterable[Finding],
    project: Project,
    read: SourceReader | None = None,
    problems: list[str] | None = None,
) -> list[Finding]:
    """`findings` with the edit of each one whose rule can fix it (`edit` None otherwise).

    A hook that fails is a bug in miglint, not in the project: its finding keeps no edit and
    `problems` (when given) says so, rather than the whole report being lost.
    """
    rules = fixable_rules()
    migrations = {migration.path: migration for migration in project.migrations}
    sources: dict[str, FixSource | None] = {}
    result = []
    for finding in findings:
        rule = rules.get(finding.code)
        if rule is None:
            result.append(dataclasses.replace(finding, edit=None) if finding.edit else finding)
            continue
        if finding.path not in sources:
            source = (read or read_source)(finding.path)
            sources[finding.path] = (
                None if source is None else FixSource(project, migrations.get(finding.path), source)
            )
        fix_source = sources[finding.path]
        edit = None
        if fix_source is not None:
            try:
                edit = rule().edit(finding, fix_source)
            except Exception as error:  # a broken fix must not lose the report
                if problems is not None:
                    problems.append(
                        f"{finding.code} at {finding.path}:{finding.line}: no fix offered "
                        f"({type(error).__name__}: {error}); please report it"
                    )
        result.append(dataclasses.replace(finding, edit=edit))
    return result
