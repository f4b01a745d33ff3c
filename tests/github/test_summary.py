"""The job summary: counts, a linked table, and the Mermaid tail of a conflicting app."""

from __future__ import annotations

from pathlib import Path

from miglint.core.finding import Finding, Severity
from miglint.github import summary
from tests.helpers import lint_tree, load, migration, write_tree


def chain(app: str, names: list[str], parent: str | None) -> dict[str, str]:
    files = {}
    for name in names:
        dependency = f'("{app}", "{parent}")' if parent else ""
        files[f"{app}/migrations/{name}.py"] = migration(dependencies=dependency)
        parent = name
    return files


def rows(findings: list[Finding], root: Path) -> list[tuple[Finding, str]]:
    return [(f, str(Path(f.path).relative_to(root))) for f in findings]


def test_conflicting_app_gets_a_mermaid_tail_with_both_branches(tmp_path: Path) -> None:
    files = {
        **chain("shop", ["0001_initial", "0002_a", "0003_b"], None),
        **chain("shop", ["0004_left", "0005_left"], "0003_b"),
        **chain("shop", ["0004_right"], "0003_b"),
    }
    write_tree(tmp_path, files)
    findings = lint_tree(tmp_path, "MIG001")
    text = summary.render(rows(findings, tmp_path), load(tmp_path), links=None)
    block = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
    # The fork point and both branches, but not the shared history before the fork.
    for name in ("0003_b", "0004_left", "0005_left", "0004_right"):
        assert f'["{name}"]' in block
    assert "0001_initial" not in block and "0002_a" not in block
    ids = {
        line.split("[")[0].strip(): line.split('"')[1]
        for line in block.splitlines()
        if '["' in line
    }
    edges = {
        (ids[a], ids[b])
        for a, _, b in (line.strip().partition(" --> ") for line in block.splitlines())
        if b
    }
    assert edges == {("0003_b", "0004_left"), ("0004_left", "0005_left"), ("0003_b", "0004_right")}
    leaves = next(line for line in block.splitlines() if line.strip().startswith("class "))
    assert {ids[i] for i in leaves.split()[1].split(",")} == {"0005_left", "0004_right"}
    assert "makemigrations --merge shop" in text


def test_long_branches_are_cut(tmp_path: Path) -> None:
    left = [f"{i:04d}_left" for i in range(2, 40)]
    files = {
        **chain("shop", ["0001_initial"], None),
        **chain("shop", left, "0001_initial"),
        **chain("shop", ["0002_right"], "0001_initial"),
    }
    write_tree(tmp_path, files)
    findings = lint_tree(tmp_path, "MIG001")
    text = summary.render(rows(findings, tmp_path), load(tmp_path), links=None)
    block = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert block.count('["') == summary.TAIL_DEPTH + 2
    assert "Only the last" in text


def test_mermaid_labels_cannot_break_the_graph() -> None:
    assert summary._mermaid_label('0002_a"]-->x') == "0002_a#34;#93;--#62;x"


def finding(i: int, message: str = "m") -> Finding:
    return Finding(
        "MIG002",
        "missing-dependency",
        Severity.ERROR,
        f"a/migrations/{i}.py",
        i + 1,
        1,
        i + 1,
        2,
        message,
    )


def test_links_point_at_the_lines_of_the_head_commit() -> None:
    links = summary.Links("https://github.com", "o/r", "abc")
    text = summary.render([(finding(4), "a/migrations/4.py")], None, links=links)
    assert "[a/migrations/4.py:5](https://github.com/o/r/blob/abc/a/migrations/4.py#L5)" in text
    multi = Finding("MIG001", "x", Severity.ERROR, "p", 3, 1, 9, 1, "m")
    assert links(multi, "my app/p.py") == "https://github.com/o/r/blob/abc/my%20app/p.py#L3-L9"


def test_summary_fits_the_check_run_limit() -> None:
    many = [(finding(i, "x" * 300), f"a/migrations/{i}.py") for i in range(2000)]
    text = summary.render(many, None, links=None, max_chars=60000)
    assert len(text) <= 60000
    assert "**2000 errors**" in text and "| Error | 2000 |" in text
    assert "more findings not shown here" in text
    full = summary.render(many, None, links=None)
    assert full.count("| MIG002 |") == summary.TABLE_ROWS


def test_user_text_is_escaped(tmp_path: Path) -> None:
    hostile = finding(1, "<img src=x onerror=alert(1)> | `code` [link](javascript:x)")
    text = summary.render([(hostile, "a|b.py")], None, links=None)
    row = next(line for line in text.splitlines() if "| MIG002 |" in line)
    assert "<img" not in row and "&lt;img" in row
    assert row.replace("\\|", "").count("|") == 7
    assert "\\[link\\]" in row
