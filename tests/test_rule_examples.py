"""Every rule's VALID examples give none of its findings, every INVALID example at least one;
a fixable rule's INVALID examples are fixed to exactly their expected text (Fixit's
`expected_replacement`), or carry no fix when they give none."""

from __future__ import annotations

from pathlib import Path

import pytest

from miglint.project.load import Project
from miglint.rules import Rule, all_rules
from miglint.rules.base import Example, Invalid, example_files, fixed_files
from miglint.run.apply_fixes import fix_project, write
from miglint.run.attach_fixes import attach_edits
from miglint.run.lint import lint
from tests.helpers import lint_tree, load, write_tree

CASES = [
    pytest.param(rule, kind, index, example, id=f"{rule.code}-{kind}-{index}")
    for rule in all_rules()
    for kind, examples in (("valid", rule.VALID), ("invalid", rule.INVALID))
    for index, example in enumerate(examples)
]
FIX_CASES = [
    pytest.param(rule, example, id=f"{rule.code}-invalid-{index}")
    for rule in all_rules()
    for index, example in enumerate(rule.INVALID)
    if rule.fixable()
]


def test_every_rule_has_examples() -> None:
    for rule in all_rules():
        assert rule.VALID, f"{rule.code} has no VALID example"
        assert rule.INVALID, f"{rule.code} has no INVALID example"
        assert rule.__doc__ and rule.summary, f"{rule.code} is undocumented"


def test_fixable_rules_document_their_fix_and_show_it() -> None:
    for rule in all_rules():
        if rule.fixable():
            assert rule.autofix, f"{rule.code} fixes but its page does not say how"
            assert any(isinstance(e, Invalid) for e in rule.INVALID), rule.code
        else:
            assert not any(isinstance(e, Invalid) for e in rule.INVALID), rule.code


@pytest.mark.parametrize(("rule", "kind", "index", "example"), CASES)
def test_rule_example(
    tmp_path: Path, rule: type[Rule], kind: str, index: int, example: Example | Invalid
) -> None:
    write_tree(tmp_path, example_files(example))
    codes = [finding.code for finding in lint_tree(tmp_path, rule.code)]
    if kind == "valid":
        assert rule.code not in codes
    else:
        assert rule.code in codes


def _tree(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".miglint_cache" not in path.parts
    }


@pytest.mark.parametrize(("rule", "example"), FIX_CASES)
def test_rule_example_fix(tmp_path: Path, rule: type[Rule], example: Example | Invalid) -> None:
    write_tree(tmp_path, example_files(example))
    before = _tree(tmp_path)

    def findings(project: Project) -> list:  # type: ignore[type-arg]
        return lint(project, [rule])

    project = load(tmp_path)
    edits = [f.edit for f in attach_edits(findings(project), project) if f.code == rule.code]
    if not isinstance(example, Invalid):
        assert edits == [None] * len(edits), "a fix is offered: give the example its fixed text"
        return
    assert edits and all(edit is not None for edit in edits)
    assert {edit.applicability for edit in edits if edit} == {example.applicability}
    run = fix_project(project, findings, unsafe=True)
    assert not write(run) and not run.problems
    expected = {**before, **fixed_files(example)}
    assert _tree(tmp_path) == expected
    # Nothing of the rule is left, and fixing again changes no byte.
    assert rule.code not in [f.code for f in lint(load(tmp_path), [rule])]
    again = fix_project(load(tmp_path), findings, unsafe=True)
    assert again.changed() == [] and again.fixed == 0
