"""Run the rules over a project and keep what the configuration and comments let through."""

from __future__ import annotations

from collections.abc import Iterable

from miglint import suppress
from miglint.finding import Finding
from miglint.parse import Suppression, find_suppressions
from miglint.project import Project
from miglint.pysource import SourceError, decode, read_file
from miglint.rules import Rule, all_rules


def lint(project: Project, rules: Iterable[type[Rule]] | None = None) -> list[Finding]:
    """Every finding of `rules` (default: all) on `project`, filtered and sorted."""
    config = project.config
    findings: list[Finding] = []
    for rule in rules if rules is not None else all_rules():
        if not config.enabled(rule.code):
            continue
        findings.extend(rule().check(project))
    if project.only_paths is not None:
        findings = [f for f in findings if f.path in project.only_paths]
    suppressions = {m.path: m.facts.suppressions for m in project.migrations}
    for path in {f.path for f in findings} - set(suppressions):
        # Findings outside migrations (MIG401 in models.py) honour that file's comments too.
        suppressions[path] = _file_suppressions(path)
    kept = suppress.apply(findings, config, suppressions)
    return sorted(set(kept), key=Finding.sort_key)


def _file_suppressions(path: str) -> tuple[Suppression, ...]:
    try:
        return find_suppressions(decode(read_file(path)))
    except SourceError:
        return ()


def notices(project: Project, rules: Iterable[type[Rule]] | None = None) -> list[str]:
    """What the enabled rules could not check (printed with -v)."""
    lines: list[str] = []
    for rule in rules if rules is not None else all_rules():
        if project.config.enabled(rule.code):
            lines.extend(rule().notices(project))
    return lines
