"""Run the rules over a project and keep what the configuration and comments let through."""

from __future__ import annotations

from collections.abc import Iterable

from miglint import suppress
from miglint.finding import Finding
from miglint.project import Project
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
    kept = suppress.apply(findings, config, suppressions)
    return sorted(set(kept), key=Finding.sort_key)
