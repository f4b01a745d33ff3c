"""`--format github|sarif|markdown`: what other tools read from miglint's output."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from miglint.core.finding import Finding, Severity
from miglint.report import github, markdown, sarif
from miglint.report.formats import FORMATS
from miglint.rules import all_rules
from tests.github.harness import parse_command
from tests.helpers import migration, run_cli, write_tree

SCHEMA = Path(__file__).resolve().parent.parent / "data" / "sarif-schema-2.1.0.json"

CONFLICT = {
    "shop/migrations/0001_initial.py": migration(),
    "shop/migrations/0002_price.py": migration(dependencies='("shop", "0001_initial")'),
    "shop/migrations/0002_sku.py": migration(dependencies='("shop", "0001_initial")'),
    "billing/migrations/0001_initial.py": migration(dependencies='("billing", "0000_gone")'),
}


def finding(**changes: object) -> Finding:
    values: dict[str, object] = {
        "code": "MIG101",
        "rule": "remove-field",
        "severity": Severity.ERROR,
        "path": "shop/migrations/0002_drop.py",
        "line": 9,
        "column": 9,
        "end_line": 9,
        "end_column": 50,
        "message": "RemoveField drops the column and its data",
        "app": "shop",
        "migration": "0002_drop",
        "fix": "Deploy the code that stops using the field first.",
    }
    values.update(changes)
    return Finding(**values)  # type: ignore[arg-type]


def sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def test_every_format_is_offered_on_the_command_line() -> None:
    assert {"text", "json", "github", "sarif", "markdown"} <= set(FORMATS)


# --format github


def test_workflow_command_has_file_lines_columns_and_title() -> None:
    line = github.command(finding(), "shop/migrations/0002_drop.py")
    kind, properties, message = parse_command(line)
    assert kind == "error"
    assert properties == {
        "file": "shop/migrations/0002_drop.py",
        "line": "9",
        "endLine": "9",
        "col": "9",
        "endColumn": "49",
        "title": "remove-field (MIG101)",
    }
    assert message.startswith("RemoveField drops the column and its data")
    assert "Fix: Deploy the code" in message


def test_workflow_command_levels() -> None:
    assert github.command(finding(severity=Severity.WARNING), "a.py").startswith("::warning ")
    assert github.command(finding(severity=Severity.INFO), "a.py").startswith("::notice ")


def test_multi_line_finding_has_no_columns() -> None:
    _, properties, _ = parse_command(github.command(finding(end_line=12), "a.py"))
    assert properties["line"] == "9" and properties["endLine"] == "12"
    assert "col" not in properties and "endColumn" not in properties


def test_workflow_command_escapes_data_and_properties() -> None:
    hostile = finding(
        message="100% broken\r\n::error::injected",
        path="weird,dir/a:b%.py",
        fix=None,
    )
    line = github.command(hostile, "weird,dir/a:b%.py")
    assert "\n" not in line and "\r" not in line
    # The message may hold "::" (only the first one ends the properties); a newline may not.
    assert "file=weird%2Cdir/a%3Ab%25.py," in line
    assert line.endswith("::100%25 broken%0D%0A::error::injected")
    _, properties, message = parse_command(line)
    assert properties["file"] == "weird,dir/a:b%.py"
    assert message == "100% broken\r\n::error::injected"


def test_github_format_from_the_cli(tmp_path: Path) -> None:
    write_tree(tmp_path, CONFLICT)
    result = run_cli(".", "--format", "github", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith("::error file=") for line in lines)
    files = sorted(parse_command(line)[1]["file"] for line in lines)
    assert files == ["billing/migrations/0001_initial.py", "shop/migrations/0002_sku.py"]


# --format sarif


def test_sarif_output_validates_against_the_schema(tmp_path: Path) -> None:
    write_tree(tmp_path, CONFLICT)
    result = run_cli(".", "--format", "sarif", cwd=tmp_path)
    assert result.returncode == 1
    document = json.loads(result.stdout)
    errors = sorted(sarif_validator().iter_errors(document), key=str)
    assert not errors, errors[0]
    run = document["runs"][0]
    assert document["version"] == "2.1.0"
    assert run["tool"]["driver"]["name"] == "miglint"
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["MIG002", "MIG001"]
    first = results[0]["locations"][0]["physicalLocation"]
    assert first["artifactLocation"]["uri"] == "billing/migrations/0001_initial.py"
    assert first["region"]["startLine"] == 5


def test_sarif_fixes_validate_and_carry_the_json_edits(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            **CONFLICT,
            "billing/migrations/0001_initial.py": migration(
                operations='        migrations.RunSQL("UPDATE t SET a = 1 WHERE b"),'
            ),
        },
    )
    document = json.loads(run_cli(".", "--format", "sarif", cwd=tmp_path).stdout)
    errors = sorted(sarif_validator().iter_errors(document), key=str)
    assert not errors, errors[0]
    rows = json.loads(run_cli(".", "--format", "json", cwd=tmp_path).stdout)
    results = document["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == [row["code"] for row in rows]
    for result, row in zip(results, rows, strict=True):
        edit = row["edit"]
        assert edit is not None, row["code"]
        (fix,) = result["fixes"]
        assert fix["description"]["text"] == edit["message"]
        assert fix["properties"]["applicability"] == edit["applicability"]
        replacements = [
            (change["artifactLocation"]["uri"], replacement)
            for change in fix["artifactChanges"]
            for replacement in change["replacements"]
        ]
        assert [
            (
                uri,
                r["deletedRegion"]["startLine"],
                r["deletedRegion"]["startColumn"],
                r["deletedRegion"]["endLine"],
                r["deletedRegion"]["endColumn"],
                r["insertedContent"]["text"],
            )
            for uri, r in replacements
        ] == [
            (e["path"], e["line"], e["column"], e["end_line"], e["end_column"], e["content"])
            for e in edit["edits"]
        ]
    by_code = {r["ruleId"]: r for r in results}
    assert by_code["MIG001"]["fixes"][0]["properties"]["applicability"] == "safe"
    assert by_code["MIG202"]["fixes"][0]["properties"]["applicability"] == "unsafe"


def test_sarif_rules_carry_metadata_and_help_links() -> None:
    document = sarif.document([finding(code="MIG001", rule="conflicting-leaves")])
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == [rule.code for rule in all_rules()]
    for descriptor, rule in zip(rules, all_rules(), strict=True):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert descriptor["fullDescription"]["text"]
        assert descriptor["helpUri"] == (
            f"https://github.com/miglint/miglint/blob/main/rules/{rule.code}.md"
        )
    result = document["runs"][0]["results"][0]
    assert rules[result["ruleIndex"]]["id"] == "MIG001"


def test_every_help_uri_names_a_page_in_the_repository() -> None:
    pages = Path(__file__).resolve().parent.parent.parent / "rules"
    for rule in all_rules():
        name = sarif.help_uri(rule.code).rsplit("/", 1)[1]
        assert (pages / name).is_file(), name


@pytest.mark.parametrize(
    ("severity", "level"),
    [(Severity.ERROR, "error"), (Severity.WARNING, "warning"), (Severity.INFO, "note")],
)
def test_sarif_levels(severity: Severity, level: str) -> None:
    document = sarif.document([finding(severity=severity)])
    assert document["runs"][0]["results"][0]["level"] == level
    assert not list(sarif_validator().iter_errors(document))


def test_sarif_uris_are_percent_encoded_and_regions_valid() -> None:
    document = sarif.document([finding(path="my app/migrations/0001 #x.py", end_column=1)])
    location = document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "my%20app/migrations/0001%20%23x.py"
    region = location["region"]
    assert region["endColumn"] >= region["startColumn"]
    assert not list(sarif_validator().iter_errors(document))


def test_sarif_without_findings_is_valid() -> None:
    document = json.loads(sarif.render([]))
    assert document["runs"][0]["results"] == []
    assert not list(sarif_validator().iter_errors(document))


# --format markdown


def test_markdown_escapes_user_text() -> None:
    text = markdown.escape("a|b <script> `x` *y* _z_ [l](u) $m$ ~s~\nnext")
    assert "|" not in text.replace("\\|", "")
    assert "<" not in text and ">" not in text
    assert "`" not in text.replace("\\`", "")
    assert "\n" not in text
    assert text.startswith("a\\|b &lt;script&gt; \\`x\\` \\*y\\* \\_z\\_ \\[l\\](u) \\$m\\$")


def test_markdown_table_keeps_one_row_per_finding() -> None:
    hostile = finding(message="pipes | and\nnewlines | here", fix="use `x | y`")
    output = markdown.render([hostile, finding(severity=Severity.WARNING, line=20)])
    rows = [line for line in output.splitlines() if "| MIG101 |" in line]
    assert len(rows) == 2
    # Every row has exactly the header's seven unescaped pipes.
    for row in rows:
        assert row.replace("\\|", "").count("|") == 7
    assert "1 error, 1 warning" in output
    assert "| Error | 1 |" in output and "| Warning | 1 |" in output


def test_markdown_format_from_the_cli(tmp_path: Path) -> None:
    write_tree(tmp_path, CONFLICT)
    result = run_cli(".", "--format", "markdown", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("## miglint")
    assert "2 errors" in result.stdout
    assert "billing/migrations/0001\\_initial.py:5" in result.stdout


def test_markdown_without_findings() -> None:
    output = markdown.render([])
    assert "No problems found." in output
    assert "| Severity | Code |" not in output
