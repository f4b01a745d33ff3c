"""`--format text`: the severity on every finding line; a rule's repeated fix hint once."""

from __future__ import annotations

from pathlib import Path

from miglint.core.finding import Finding, Severity
from miglint.report import text
from tests.helpers import migration, run_cli, write_tree


def finding(line: int, code: str = "MIG101", fix: str | None = "Deploy in two steps.") -> Finding:
    severity = Severity.ERROR if code == "MIG101" else Severity.WARNING
    rule = "remove-field" if code == "MIG101" else "rename-field"
    return Finding(
        code, rule, severity, "shop/migrations/0002.py", line, 9, line, 40, "msg", fix=fix
    )


def test_every_finding_line_carries_its_severity_where_compilers_put_it() -> None:
    output = text.render([finding(3), finding(5, "MIG502")])
    lines = output.splitlines()
    assert lines[0] == "shop/migrations/0002.py:3:9: error: MIG101 msg [remove-field]"
    assert lines[2] == "shop/migrations/0002.py:5:9: warning: MIG502 msg [rename-field]"


def test_a_rules_repeated_hint_is_printed_once_and_every_time_when_asked() -> None:
    findings = [finding(3), finding(7), finding(9, fix="Something else entirely.")]
    once = text.render(findings).splitlines()
    assert [line for line in once if line.startswith("  fix:")] == [
        "  fix: Deploy in two steps.",
        "  fix: Something else entirely.",
    ]
    assert once[1] == "  fix: Deploy in two steps." and once[3].endswith("[remove-field]")
    every = text.render(findings, every_fix=True).splitlines()
    assert sum(line == "  fix: Deploy in two steps." for line in every) == 2


DROPS = "\n".join(
    f'        migrations.RemoveField(model_name="item", name="f{i}"),' for i in range(3)
)


def test_verbose_repeats_hints_on_the_command_line(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": migration(),
            "shop/migrations/0002_drop.py": migration(
                dependencies='("shop", "0001_initial")', operations=DROPS
            ),
        },
    )
    plain = run_cli(".", "--select", "MIG101", cwd=tmp_path).stdout.splitlines()
    verbose = run_cli(".", "--select", "MIG101", "-v", cwd=tmp_path).stdout.splitlines()
    assert sum(": error: MIG101 " in line for line in plain) == 3
    assert sum(line.startswith("  fix:") for line in plain) == 1
    assert sum(line.startswith("  fix:") for line in verbose) == 3
