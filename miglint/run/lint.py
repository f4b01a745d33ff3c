"""Run the rules over a project and keep what the configuration and comments let through."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable

from miglint.core import inputs
from miglint.core.finding import Finding
from miglint.project.baseline import Baseline, hides
from miglint.project.load import Project, real_paths
from miglint.rules import Rule, all_rules
from miglint.run import suppress
from miglint.source.facts import Suppression
from miglint.source.parse import find_suppressions
from miglint.source.pysource import SourceError, decode, read_file


def lint(project: Project, rules: Iterable[type[Rule]] | None = None) -> list[Finding]:
    """Every finding of `rules` (default: all) on `project`, filtered and sorted."""
    config = project.config
    findings: list[Finding] = []
    for rule in rules if rules is not None else all_rules():
        if not config.enabled(rule.code):
            continue
        findings.extend(rule().check(project))
    if project.baseline is not None:
        findings = outside_baseline(findings, project, project.baseline)
    if project.only_paths is not None:
        findings = on_named_files(findings, project, project.only_paths)
    suppressions = {m.path: m.facts.suppressions for m in project.migrations}
    readers: dict[str, set[str]] = {}
    for finding in findings:
        if finding.path not in suppressions and finding.app is not None:
            readers.setdefault(finding.path, set()).add(finding.app)
    for path in {f.path for f in findings} - set(suppressions):
        # Findings outside migrations (MIG401 in models.py) honour that file's comments too;
        # the file is read on behalf of the apps whose findings are in it.
        labels = readers.get(path, set())
        apps = frozenset(app.key for app in project.apps if app.label in labels) or None
        with inputs.acting_for(apps) if apps else contextlib.nullcontext():
            suppressions[path] = _file_suppressions(path)
    kept = suppress.apply(findings, config, suppressions)
    return sorted(set(kept), key=Finding.sort_key)


def outside_baseline(
    findings: list[Finding], project: Project, baseline: Baseline
) -> list[Finding]:
    """Without the hazard findings (MIG1xx-MIG6xx but MIG401) on recorded migrations."""
    recorded = {
        migration.path
        for migration in project.migrations
        if baseline.recorded(migration, project.apps_by_key[migration.app_key]) is not None
    }
    return [f for f in findings if not (f.path in recorded and hides(f.code))]


# Findings about an app as a whole: reported with any file of the app that is named.
APP_CODES = frozenset({"MIG001", "MIG002", "MIG003", "MIG004", "MIG401"})


def on_named_files(
    findings: list[Finding], project: Project, named: frozenset[str]
) -> list[Finding]:
    """Findings in the files named on the command line, plus the graph findings and MIG401
    of the apps those files belong to (`miglint FILE...`, the pre-commit hook)."""
    real = {os.path.realpath(path) for path in named}
    resolved = real_paths(
        p for app in project.apps for p in (*app.migration_paths, *app.models_paths)
    )
    apps = {
        app.label
        for app in project.apps
        if any(resolved[p] in real for p in (*app.migration_paths, *app.models_paths))
    }
    where = real_paths({finding.path for finding in findings})
    return [
        finding
        for finding in findings
        if finding.path in named
        or where[finding.path] in real
        or (finding.code in APP_CODES and finding.app in apps)
    ]


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
