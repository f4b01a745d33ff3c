"""The rules/ pages are generated from the rule classes and must not go stale."""

from __future__ import annotations

from pathlib import Path

from miglint import docs
from miglint.rules import all_rules

REPO = Path(__file__).resolve().parent.parent


def test_rule_pages_are_current() -> None:
    pages = docs.expected_pages()
    for name, content in pages.items():
        path = REPO / "rules" / name
        assert path.exists(), f"{path} is missing: run `python -m miglint.docs`"
        assert path.read_text(encoding="utf-8") == content, (
            f"{path} is stale: run `python -m miglint.docs`"
        )
    on_disk = {p.name for p in (REPO / "rules").glob("*.md")}
    assert on_disk == set(pages), "rules/ has pages no rule generates"


def test_every_rule_has_a_page_with_examples() -> None:
    for rule in all_rules():
        page = docs.rule_page(rule)
        assert page.startswith(f"# {rule.code} {rule.name}")
        assert "## Example" in page and "## Use instead" in page
        assert f"# miglint: ignore[{rule.code}]" in page


def test_readme_rule_table_is_current() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert docs.TABLE_START in readme
    assert docs.readme_with_table(readme, all_rules()) == readme, (
        "README's rule table is stale: run `python -m miglint.docs`"
    )
    for rule in all_rules():
        assert f"[{rule.code}](rules/{rule.code}.md)" in readme
