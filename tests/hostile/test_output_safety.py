"""User text in findings (field names, SQL, file names) is escaped for each output format."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from miglint.core.finding import Finding, Severity
from miglint.report.formats import FORMATS
from tests.github.harness import parse_command
from tests.helpers import write_tree

MIGLINT = Path(sys.executable).with_name("miglint")
EVIL = "x\n::error file=a::pwned\x1b[31mRED\r%0A|<script>alert(1)</script>`|**b**\u202e\x07"
EVIL_FILE = "0002_a\n::warning::b%,:|<b>x<\\b>\x1b[2J.py"
# Terminal escapes and other C0 controls (JSON escapes them too); for people-facing formats
# also the bidirectional overrides that make text read differently from what it is.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
MACHINE_FORMATS = ("json", "sarif")


def evil_findings() -> list[Finding]:
    return [
        Finding(
            code="MIG101",
            rule="remove-field",
            severity=Severity.ERROR,
            path=os.path.abspath(f"shop/migrations/{EVIL_FILE}"),
            line=3,
            column=5,
            end_line=3,
            end_column=20,
            message=f"RemoveField drops {EVIL}",
            app="shop",
            migration="0002_a",
            fix=f"fix {EVIL}",
        ),
        Finding(
            code="MIG104",
            rule="destructive-sql",
            severity=Severity.WARNING,
            path=os.path.abspath("shop/migrations/0001_initial.py"),
            line=1,
            column=1,
            end_line=2,
            end_column=1,
            message=f"RunSQL drops table {EVIL}",
        ),
    ]


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_no_format_passes_control_characters_through(name: str) -> None:
    output = FORMATS[name](evil_findings())
    assert not CONTROL.search(output), repr(CONTROL.search(output))
    if name not in MACHINE_FORMATS:
        assert not BIDI.search(output), repr(BIDI.search(output))


def test_text_keeps_one_line_per_finding() -> None:
    lines = FORMATS["text"](evil_findings()).splitlines()
    assert [line.split(":")[0] for line in lines if not line.startswith(("  fix:", "Found"))] == [
        "shop/migrations/0002_a ",
        "shop/migrations/0001_initial.py",
    ]


@pytest.mark.parametrize("name", ["json", "sarif"])
def test_json_and_sarif_are_valid_and_keep_the_text(name: str) -> None:
    document = json.loads(FORMATS[name](evil_findings()))
    rows = document if name == "json" else document["runs"][0]["results"]
    texts = [row["message"] if name == "json" else row["message"]["text"] for row in rows]
    assert any(EVIL in text for text in texts), texts


def test_workflow_commands_cannot_be_injected() -> None:
    output = FORMATS["github"](evil_findings())
    lines = output.splitlines()
    assert len(lines) == 2
    for line in lines:
        assert line.startswith(("::error ", "::warning ", "::notice "))
        _, properties, message = parse_command(line)
        assert set(properties) <= {"file", "line", "endLine", "col", "endColumn", "title"}
        assert "::" not in line.partition("::")[2].partition("::")[0].replace("%3A", "")
    _, properties, message = parse_command(lines[0])
    assert properties["file"].startswith("shop/migrations/0002_a\n::warning::b%,:")
    assert "RemoveField drops x\n::error file=a::pwned" in message


def markdown_table_rows(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("|")]


def test_markdown_tables_stay_tables_and_carry_no_html() -> None:
    output = FORMATS["markdown"](evil_findings())
    assert "<script" not in output and "<b>" not in output
    for table in re.split(r"\n\n+", output):
        rows = markdown_table_rows(table)
        if not rows:
            continue
        widths = {len(re.findall(r"(?<!\\)\|", row)) for row in rows}
        assert len(widths) == 1, rows


def test_the_command_line_escapes_file_names_and_sql(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shop/migrations/0001_initial.py": (
                "from django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n"
                f"    operations = [migrations.RemoveField({EVIL!r}, 'f'),\n"
                f"        migrations.RunSQL({('DROP TABLE ' + EVIL)!r}, 'SELECT 1')]\n"
            ),
            f"shop/migrations/{EVIL_FILE}": (
                "from django.db import migrations\n\n\n"
                "class Migration(migrations.Migration):\n"
                "    dependencies = [('shop', '0001_initial')]\n"
                "    operations = [migrations.DeleteModel('a')]\n"
            ),
        },
    )
    counts = {}
    for name in sorted(FORMATS):
        result = subprocess.run(
            [str(MIGLINT), "check", "--format", name, "--fail-on", "never", "."],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert not CONTROL.search(result.stdout), (name, result.stdout)
        if name not in MACHINE_FORMATS:
            assert not BIDI.search(result.stdout), (name, result.stdout)
        counts[name] = result.stdout
    rows = json.loads(counts["json"])
    assert len(rows) >= 2
    assert len(counts["github"].splitlines()) == len(rows)
    assert all(line.startswith("::") for line in counts["github"].splitlines())
    json.loads(counts["sarif"])
    assert "<script" not in counts["markdown"]
