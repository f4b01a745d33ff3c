"""The command line as a user meets it: output, formats, exit status, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from miglint import __version__
from tests.helpers import migration, run_cli, write_tree

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "shop_project"

CLEAN = {
    "shop/migrations/0001_initial.py": migration(),
    "shop/migrations/0002_price.py": migration(dependencies='("shop", "0001_initial")'),
}
CONFLICT = {
    **CLEAN,
    "shop/migrations/0002_sku.py": migration(dependencies='("shop", "0001_initial")'),
}


def test_version() -> None:
    result = run_cli("--version", cwd=REPO)
    assert result.returncode == 0
    assert result.stdout.strip() == f"miglint {__version__}"


def test_help_lists_commands_and_exit_status() -> None:
    result = run_cli("--help", cwd=REPO)
    assert result.returncode == 0
    assert "rules" in result.stdout and "exit status" in result.stdout
    check_help = run_cli("check", "--help", cwd=REPO)
    for flag in (
        "--format",
        "--select",
        "--ignore",
        "--fail-on",
        "--diff",
        "--no-cache",
        "--config",
        "--statistics",
        "--no-baseline",
    ):
        assert flag in check_help.stdout
    assert "miglint baseline" in result.stdout
    baseline_help = run_cli("baseline", "--help", cwd=REPO)
    assert baseline_help.returncode == 0 and "miglint-baseline.json" in baseline_help.stdout


def test_clean_project_exits_zero(tmp_path: Path) -> None:
    write_tree(tmp_path, CLEAN)
    result = run_cli(".", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "No problems found."


def test_default_path_is_the_current_folder(tmp_path: Path) -> None:
    write_tree(tmp_path, CONFLICT)
    result = run_cli(cwd=tmp_path)
    assert result.returncode == 1
    assert "MIG001" in result.stdout


def test_text_output_format(tmp_path: Path) -> None:
    write_tree(tmp_path, CONFLICT)
    result = run_cli(".", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("shop/migrations/0002_sku.py:")
    assert " MIG001 " in lines[0] and lines[0].endswith("[conflicting-leaves]")
    assert "makemigrations --merge shop" in result.stdout
    assert lines[-1] == "Found 1 problem (1 error)."
    assert "\033[" not in result.stdout


def test_colour_only_when_asked_or_on_a_terminal(tmp_path: Path) -> None:
    write_tree(tmp_path, CONFLICT)
    assert "\033[" in run_cli(".", "--color", "always", cwd=tmp_path).stdout
    assert "\033[" not in run_cli(".", "--color", "never", cwd=tmp_path).stdout


def test_json_output_has_exactly_the_documented_keys(tmp_path: Path) -> None:
    write_tree(tmp_path, CONFLICT)
    result = run_cli("--format", "json", ".", cwd=tmp_path)
    assert result.returncode == 1
    rows = json.loads(result.stdout)
    assert len(rows) == 1
    keys = {
        "code",
        "rule",
        "severity",
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "message",
        "app",
        "migration",
        "fix",
        "edit",
    }
    for row in rows:
        assert set(row) == keys
        assert row["code"] == "MIG001" and row["severity"] == "error"
        # The merge migration, as a new file: its whole text at 1:1 of a new path.
        edit = row["edit"]
        assert set(edit) == {"applicability", "message", "edits"}
        assert edit["applicability"] == "safe"
        (change,) = edit["edits"]
        assert set(change) == {"path", "line", "column", "end_line", "end_column", "content"}
        assert change["path"].startswith("shop/migrations/0003_merge_")
        assert (change["line"], change["column"], change["end_line"], change["end_column"]) == (
            1,
            1,
            1,
            1,
        )
        assert "dependencies = [" in change["content"]
        assert row["app"] == "shop" and row["path"].startswith("shop/migrations/")
        assert row["line"] >= 1 and row["column"] >= 1
    assert rows == sorted(rows, key=lambda r: (r["path"], r["line"], r["code"]))


def test_json_paths_are_relative_to_the_current_folder(tmp_path: Path) -> None:
    write_tree(tmp_path / "project", CONFLICT)
    result = run_cli("--format", "json", "project", cwd=tmp_path)
    paths = {row["path"] for row in json.loads(result.stdout)}
    assert paths == {"project/shop/migrations/0002_sku.py"}


def test_fail_on(tmp_path: Path) -> None:
    write_tree(tmp_path, CONFLICT)
    assert run_cli(".", "--fail-on", "never", cwd=tmp_path).returncode == 0
    assert run_cli(".", "--fail-on", "warning", cwd=tmp_path).returncode == 1


def test_select_and_ignore(tmp_path: Path) -> None:
    write_tree(tmp_path, CONFLICT)
    assert run_cli(".", "--ignore", "MIG001", cwd=tmp_path).returncode == 0
    assert run_cli(".", "--select", "MIG002", cwd=tmp_path).returncode == 0
    assert run_cli(".", "--select", "MIG0", cwd=tmp_path).returncode == 1


def test_unknown_code_is_a_usage_error(tmp_path: Path) -> None:
    write_tree(tmp_path, CLEAN)
    result = run_cli(".", "--select", "MIG999", cwd=tmp_path)
    assert result.returncode == 2
    assert "MIG999" in result.stderr and "Traceback" not in result.stderr


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("does-not-exist", cwd=tmp_path)
    assert result.returncode == 2
    assert "does-not-exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_tree_without_django_says_so(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("print('hello')\n")
    result = run_cli(".", cwd=tmp_path)
    assert result.returncode == 0
    assert "No Django migrations found" in result.stdout


def test_quiet_prints_findings_only(tmp_path: Path) -> None:
    write_tree(tmp_path, CONFLICT)
    result = run_cli(".", "-q", cwd=tmp_path)
    assert result.returncode == 1
    assert all(
        " MIG001 " in line or line.startswith("  fix:") for line in result.stdout.splitlines()
    )


def test_a_file_reports_on_itself_and_on_its_apps_graph(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            **CONFLICT,
            "shop/migrations/0003_drop.py": migration(
                dependencies='("shop", "0002_sku")',
                operations='        migrations.RemoveField("item", "sku"),',
            ),
            "blog/migrations/0001_initial.py": migration(dependencies='("blog", "0000_gone")'),
        },
    )
    result = run_cli("--format", "json", "shop/migrations/0003_drop.py", cwd=tmp_path)
    assert result.returncode == 1
    reported = {(row["path"], row["code"]) for row in json.loads(result.stdout)}
    # The conflict in its app is reported on the leaf that was named; blog's broken graph
    # is not reported.
    assert reported >= {
        ("shop/migrations/0003_drop.py", "MIG101"),
        ("shop/migrations/0003_drop.py", "MIG001"),
    }
    assert {path for path, _ in reported} <= {
        "shop/migrations/0003_drop.py",
        "shop/migrations/0002_price.py",
        "shop/migrations/0002_sku.py",
    }
    assert not any(code == "MIG101" and "0003" not in path for path, code in reported)
    # Naming the other leaf puts the app's one conflict finding there.
    result = run_cli("--format", "json", "shop/migrations/0002_price.py", cwd=tmp_path)
    rows = [row for row in json.loads(result.stdout) if row["code"] == "MIG001"]
    assert [row["path"] for row in rows] == ["shop/migrations/0002_price.py"]


def test_a_file_is_linted_within_its_project_from_anywhere(tmp_path: Path) -> None:
    project = tmp_path / "repo" / "backend"
    write_tree(
        project,
        {
            "manage.py": "",
            "shop/migrations/0001_initial.py": migration(
                operations='        migrations.CreateModel("Item", []),'
            ),
            "billing/migrations/0001_initial.py": migration(
                dependencies='("shop", "0001_initial")',
                operations='        migrations.RemoveField("item", "sku"),',
            ),
        },
    )
    (tmp_path / "repo" / ".git").mkdir()
    # billing depends on shop: with only billing's folder read, the dependency would be
    # missing (MIG002); read as part of its project it is found.
    for cwd in (tmp_path, project, project / "billing"):
        target = project / "billing" / "migrations" / "0001_initial.py"
        rows = json.loads(run_cli("--format", "json", str(target), cwd=cwd).stdout)
        assert {row["code"] for row in rows} == {"MIG101"}


def test_python_dash_m_and_subcommand_check_agree(tmp_path: Path) -> None:
    write_tree(tmp_path, CONFLICT)
    assert run_cli("check", ".", cwd=tmp_path).stdout == run_cli(".", cwd=tmp_path).stdout


def test_rules_command_lists_and_shows_rules() -> None:
    listing = run_cli("rules", cwd=REPO)
    assert listing.returncode == 0
    assert "MIG001" in listing.stdout and "conflicting-leaves" in listing.stdout
    page = run_cli("rules", "MIG001", cwd=REPO)
    assert page.returncode == 0 and page.stdout.startswith("# MIG001 conflicting-leaves")
    by_name = run_cli("rules", "conflicting-leaves", cwd=REPO)
    assert by_name.stdout == page.stdout
    unknown = run_cli("rules", "MIG999", cwd=REPO)
    assert unknown.returncode == 2 and "MIG999" in unknown.stderr


def test_example_project_shows_its_hazards(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "shop_project")
    result = run_cli("--format", "json", "shop_project", cwd=tmp_path)
    assert result.returncode == 1
    codes = {row["code"] for row in json.loads(result.stdout)}
    assert "MIG001" in codes


def test_diff_reports_only_changed_files(tmp_path: Path) -> None:
    import subprocess

    write_tree(tmp_path, {**CLEAN, "shop/migrations/0002_sku.py": "x = (\n"})
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=tmp_path, check=True)
    (tmp_path / "billing/migrations").mkdir(parents=True)
    (tmp_path / "billing/migrations/__init__.py").touch()
    (tmp_path / "billing/migrations/0001_initial.py").write_text("class Migration(:\n")
    everything = json.loads(run_cli("--format", "json", ".", cwd=tmp_path).stdout)
    assert {row["path"] for row in everything} == {
        "billing/migrations/0001_initial.py",
        "shop/migrations/0002_sku.py",
    }
    changed = json.loads(run_cli("--format", "json", "--diff", "HEAD", ".", cwd=tmp_path).stdout)
    assert {row["path"] for row in changed} == {"billing/migrations/0001_initial.py"}
    # A ref the clone lacks: said in one line, and every migration counts as new.
    bad_ref = run_cli("--format", "json", "--diff", "no-such-ref", ".", cwd=tmp_path)
    assert bad_ref.returncode == 1 and "no-such-ref" in bad_ref.stderr
    assert len(bad_ref.stderr.splitlines()) == 1 and "Traceback" not in bad_ref.stderr
    assert json.loads(bad_ref.stdout) == everything


def test_diff_in_a_repository_without_commits_reports_everything(tmp_path: Path) -> None:
    import subprocess

    write_tree(tmp_path, {**CLEAN, "shop/migrations/0002_sku.py": "x = (\n"})
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    result = run_cli("--format", "json", "--diff", "HEAD", ".", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "no commits" in result.stderr and len(result.stderr.splitlines()) == 1
    assert {row["path"] for row in json.loads(result.stdout)} == {"shop/migrations/0002_sku.py"}
    outside = tmp_path / "elsewhere"
    write_tree(outside, CLEAN)
    not_a_repository = run_cli(
        "--diff", "HEAD", ".", cwd=outside, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)}
    )
    assert not_a_repository.returncode == 2
