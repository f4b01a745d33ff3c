"""Every rule's VALID examples give none of its findings, every INVALID example at least one."""

from __future__ import annotations

from pathlib import Path

import pytest

from miglint.rules import Rule, all_rules
from miglint.rules.base import Example, example_files
from tests.helpers import lint_tree, write_tree

CASES = [
    pytest.param(rule, kind, index, example, id=f"{rule.code}-{kind}-{index}")
    for rule in all_rules()
    for kind, examples in (("valid", rule.VALID), ("invalid", rule.INVALID))
    for index, example in enumerate(examples)
]


def test_every_rule_has_examples() -> None:
    for rule in all_rules():
        assert rule.VALID, f"{rule.code} has no VALID example"
        assert rule.INVALID, f"{rule.code} has no INVALID example"
        assert rule.__doc__ and rule.summary, f"{rule.code} is undocumented"


@pytest.mark.parametrize(("rule", "kind", "index", "example"), CASES)
def test_rule_example(
    tmp_path: Path, rule: type[Rule], kind: str, index: int, example: Example
) -> None:
    write_tree(tmp_path, example_files(example))
    codes = [finding.code for finding in lint_tree(tmp_path, rule.code)]
    if kind == "valid":
        assert rule.code not in codes
    else:
        assert rule.code in codes
