"""Run many small apps through Django's makemigrations and through MIG401, side by side.

Each case is one app (its label is the case's name) with up to three versions of its
models.py: `first` is migrated, `second` (if any) is migrated on top of it, `final` (if any)
replaces models.py without a migration. Django then answers `makemigrations APP --check
--dry-run` for every app, in one subprocess per step; miglint answers from source.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

from miglint.rules.missing_migration import MissingMigration
from tests.django_oracle import run_django
from tests.helpers import lint_tree, write_tree

HEADER = "from django.db import models\nfrom django.conf import settings\n\n\n"

MAKE_SCRIPT = """
from django.core.management import call_command
from django.db.migrations import questioner
questioner.NonInteractiveMigrationQuestioner.ask_not_null_addition = lambda *a: None
questioner.NonInteractiveMigrationQuestioner.ask_auto_now_add_addition = lambda *a: None
call_command("makemigrations", *{labels!r}, interactive=False, verbosity=0)
print(json.dumps("ok"))
"""

# `makemigrations --check --dry-run` per app. Adding a NOT NULL field without a default
# makes the non-interactive questioner exit(3) for every app at once; answer it instead
# (the app has changes either way).
CHECK_SCRIPT = """
import io
from django.core.management import call_command
from django.db.migrations import questioner
questioner.NonInteractiveMigrationQuestioner.ask_not_null_addition = lambda *a: None
questioner.NonInteractiveMigrationQuestioner.ask_not_null_alteration = lambda *a: None
questioner.NonInteractiveMigrationQuestioner.ask_auto_now_add_addition = lambda *a: None
questioner.NonInteractiveMigrationQuestioner.ask_unique_callable_default_addition = lambda *a: None
def check(*labels):
    out = io.StringIO()
    try:
        call_command("makemigrations", *labels, check=True, dry_run=True, interactive=False,
                     stdout=out, stderr=out)
        code = 0
    except SystemExit as error:
        code = error.code
    return code, out.getvalue()

# One run for every app (makemigrations lists each app with changes), then a few apps
# one by one, to show the per-app answers are the same.
code, output = check()
answers = {{"*": [code, output]}}
for label in {sample!r}:
    answers[label] = list(check(label))
print(json.dumps(answers))
"""


@dataclass(frozen=True)
class Case:
    name: str
    first: str | None
    final: str | None = None
    second: str | None = None
    # Other files of the app (relative to the app folder), e.g. a models/ package, and
    # the files that replace them in the final (unmigrated) version.
    files: dict[str, str] = field(default_factory=dict)
    final_files: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    case: Case
    django_changes: bool
    django_output: str
    miglint_messages: tuple[str, ...]

    @property
    def agree(self) -> bool:
        return self.django_changes == bool(self.miglint_messages)


def models_source(body: str) -> str:
    return HEADER + textwrap.dedent(body).strip() + "\n"


def _write_models(root: Path, case: Case, text: str | None, final: bool = False) -> None:
    chosen = case.final_files if final else case.files
    files = {f"{case.name}/{path}": content for path, content in chosen.items()}
    if text is not None:
        files[f"{case.name}/models.py"] = text
    write_tree(root, files)


def run_cases(
    root: Path,
    cases: list[Case],
    shared: dict[str, str] | None = None,
    extra_settings: str = "",
) -> list[Outcome]:
    """Migrate, edit and check every case; one Django subprocess per step. `shared` files
    (e.g. a package of abstract models used by several apps) are written first."""
    labels = [case.name for case in cases]
    # Like a real project, the tree says which Django it runs (the oracle's own).
    write_tree(root, {"requirements.txt": f"Django=={version('django')}\n", **(shared or {})})
    for case in cases:
        write_tree(
            root, {f"{case.name}/__init__.py": "", f"{case.name}/migrations/__init__.py": ""}
        )
        _write_models(root, case, case.first)
    run_django(root, MAKE_SCRIPT.format(labels=labels), extra_settings=extra_settings)
    second = [case for case in cases if case.second is not None]
    if second:
        for case in second:
            assert case.second is not None
            _write_models(root, case, case.second)
        run_django(
            root,
            MAKE_SCRIPT.format(labels=[case.name for case in second]),
            extra_settings=extra_settings,
        )
    for case in cases:
        if case.final is not None or case.final_files:
            _write_models(root, case, case.final, final=True)
    sample = labels[:: max(1, len(labels) // 3)][:3]
    answers = run_django(root, CHECK_SCRIPT.format(sample=sample), extra_settings=extra_settings)
    code, output = answers["*"]
    if code not in (0, 1):
        raise AssertionError(f"Django failed ({code}):\n{output}")
    changed = _apps_with_changes(output)
    for label in sample:
        assert (answers[label][0] == 1) == (label in changed), (label, answers[label], output)
    findings = lint_tree(root, MissingMigration.code)
    by_app: dict[str, list[str]] = {}
    for finding in findings:
        by_app.setdefault(finding.app or "", []).append(finding.message)
    outcomes = []
    for case in cases:
        outcomes.append(
            Outcome(
                case,
                case.name in changed,
                changed.get(case.name, ""),
                tuple(by_app.get(case.name, ())),
            )
        )
    return outcomes


def _apps_with_changes(output: str) -> dict[str, str]:
    """App label -> the operations `makemigrations --dry-run` lists for it."""
    found: dict[str, str] = {}
    current = None
    for line in output.splitlines():
        if line.startswith("Migrations for '"):
            current = line.split("'")[1]
            found[current] = ""
        elif current is not None:
            found[current] += line + "\n"
    return found


def tally(outcomes: list[Outcome], label: str) -> str:
    """One line for `pytest -s`: how often Django and MIG401 found drift, and agreed."""
    drift = [o for o in outcomes if o.django_changes]
    found = [o for o in drift if o.miglint_messages]
    false = [o for o in outcomes if o.miglint_messages and not o.django_changes]
    line = (
        f"MIG401 vs makemigrations --check ({label}): {len(outcomes)} apps, "
        f"{len(drift)} with drift, found {len(found)}/{len(drift)}, "
        f"{len(false)} false findings, {sum(o.agree for o in outcomes)} agree"
    )
    print(line)
    return line


def describe(outcome: Outcome) -> str:
    case = outcome.case
    return (
        f"--- {case.name}: Django says {'changes' if outcome.django_changes else 'clean'}, "
        f"miglint says {list(outcome.miglint_messages) or 'clean'}\n"
        f"{outcome.django_output}\n--- first:\n{case.first}\n--- second:\n{case.second}\n"
        f"--- final:\n{case.final}"
    )
