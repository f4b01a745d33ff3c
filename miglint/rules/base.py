"""What a rule is: one class with a code, a name, documentation and its own examples.

A rule's docstring is its rationale ("Why is this bad?") and its VALID / INVALID examples
are run by the test suite and shown on its page in `rules/`. Rules read parsed facts and
the graph through `Project`; they never open files.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Union

from miglint.core.finding import Edit, Finding, Severity
from miglint.source.syntax import Span

if TYPE_CHECKING:
    from miglint.fixes.source import FixSource
    from miglint.graph.nodes import Migration
    from miglint.project.load import Project

# A single migration file (placed at EXAMPLE_PATH), or several files by relative path.
Example = Union[str, Mapping[str, str]]
EXAMPLE_PATH = "shop/migrations/0001_initial.py"


@dataclass(frozen=True)
class Invalid:
    """An INVALID example with what `miglint --fix --unsafe-fixes` makes of it (as Fixit's
    `expected_replacement`): `fixed` holds the files that change or are created, in the
    shape of `example` (a str for the one-file example); `applicability` the fix's."""

    example: Example
    fixed: Example
    applicability: str


def example_files(example: Example | Invalid) -> dict[str, str]:
    if isinstance(example, Invalid):
        return example_files(example.example)
    if isinstance(example, str):
        return {EXAMPLE_PATH: example}
    return dict(example)


def fixed_files(example: Invalid) -> dict[str, str]:
    """The files of an Invalid example after its fix, by relative path."""
    if isinstance(example.fixed, str):
        return {EXAMPLE_PATH: example.fixed}
    return dict(example.fixed)


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    # How to fix it, in a sentence or two; also the default fix hint of its findings.
    fix: ClassVar[str | None] = None
    # What `--fix` changes, in a sentence or two with when it is safe, for the rule's page;
    # set by rules that define `edit`.
    autofix: ClassVar[str | None] = None
    VALID: ClassVar[tuple[Example, ...]] = ()
    INVALID: ClassVar[tuple[Example | Invalid, ...]] = ()

    def check(self, project: Project) -> Iterable[Finding]:
        raise NotImplementedError

    def reported_by(self, project: Project, code: str, path: str) -> bool:
        """Whether rule `code` reports on `path` under the configuration. A rule that sees the
        same hazard on the same operation as `code` leaves it to `code` then (one hazard, one
        finding), and reports it only when `code` is not selected or is ignored for the file."""
        config = project.config
        return config.enabled(code) and not config.ignored_for_path(code, path)

    def edit(self, finding: Finding, source: FixSource) -> Edit | None:
        """The fix for one of this rule's findings, made through `miglint.fixes`; None when
        it cannot be made cleanly. `source` is the finding's file and project."""
        return None

    @classmethod
    def fixable(cls) -> bool:
        return cls.edit is not Rule.edit

    def notices(self, project: Project) -> Iterable[str]:
        """What the rule could not check on `project`, one line each (shown with -v)."""
        return ()

    def finding(
        self,
        path: str,
        span: Span,
        message: str,
        *,
        migration: Migration | None = None,
        app: str | None = None,
        fix: str | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        return Finding(
            code=self.code,
            rule=self.name,
            severity=self.severity if severity is None else severity,
            path=path,
            line=span.line,
            column=span.column,
            end_line=span.end_line,
            end_column=span.end_column,
            message=message,
            app=app if app is not None else (migration.app if migration else None),
            migration=migration.name if migration else None,
            fix=fix if fix is not None else self.fix,
        )

    def at(
        self,
        migration: Migration,
        span: Span,
        message: str,
        *,
        fix: str | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        """A finding in `migration`'s file."""
        return self.finding(
            migration.path, span, message, migration=migration, fix=fix, severity=severity
        )


class MigrationRule(Rule):
    """A rule that looks at one readable migration at a time."""

    def check(self, project: Project) -> Iterator[Finding]:
        for migration in project.analysed_migrations():
            if migration.readable:
                yield from self.check_migration(migration, project)

    def check_migration(self, migration: Migration, project: Project) -> Iterable[Finding]:
        raise NotImplementedError
