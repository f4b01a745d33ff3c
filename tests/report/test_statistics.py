"""`--statistics`: one line per code, most frequent first, counts equal to the findings."""

from __future__ import annotations

import json
from pathlib import Path

from miglint.core.finding import Finding, Severity
from miglint.report import statistics
from tests.helpers import migration, run_cli, write_tree

DROPS = "\n".join(
    f'        migrations.RemoveField(model_name="item", name="f{i}"),' for i in range(3)
)
TREE = {
    "shop/migrations/0001_initial.py": migration(),
    "shop/migrations/0002_drop.py": migration(
        dependencies='("shop", "0001_initial")',
        operations=DROPS + "\n        migrations.RunPython(lambda apps, editor: None),",
    ),
}


def test_most_frequent_first_then_by_code() -> None:
    def finding(code: str, rule: str) -> Finding:
        return Finding(code, rule, Severity.ERROR, "a.py", 1, 1, 1, 1, "m")

    rows = statistics.rows(
        [finding("MIG201", "b"), finding("MIG101", "a"), finding("MIG102", "c")]
        + [finding("MIG301", "d")] * 2
    )
    assert [(row.count, row.code, row.name, row.fixable) for row in rows] == [
        (2, "MIG301", "d", 0),
        (1, "MIG101", "a", 0),
        (1, "MIG102", "c", 0),
        (1, "MIG201", "b", 0),
    ]


def test_counts_equal_the_json_findings(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    findings = json.loads(run_cli(".", "--format", "json", cwd=tmp_path).stdout)
    result = run_cli(".", "--statistics", cwd=tmp_path)
    assert result.returncode == 1
    lines = [line.split() for line in result.stdout.splitlines()]
    counted = {code: int(count) for count, code, *_ in lines}
    expected: dict[str, int] = {}
    for row in findings:
        expected[row["code"]] = expected.get(row["code"], 0) + 1
    assert counted == expected and counted["MIG101"] == 3
    assert lines[0][:3] == ["3", "MIG101", "remove-field"] and lines[0][3:] == ["0", "fixable"]
    # The RunPython without reverse_code can be given a no-op reverse.
    (runpython,) = [line for line in lines if line[1] == "MIG201"]
    assert runpython[3:] == ["1", "fixable"]
    as_json = json.loads(run_cli(".", "--statistics", "--format", "json", cwd=tmp_path).stdout)
    assert {row["code"]: row["count"] for row in as_json} == expected
    assert set(as_json[0]) == {"code", "name", "count", "fixable"}
    assert {row["code"]: row["fixable"] for row in as_json} == {
        row["code"]: 1 if row["code"] == "MIG201" else 0 for row in findings
    }


def test_statistics_in_a_format_it_cannot_print_is_a_usage_error(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    result = run_cli(".", "--statistics", "--format", "sarif", cwd=tmp_path)
    assert result.returncode == 2 and "--statistics" in result.stderr
