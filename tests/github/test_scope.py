"""What a change touches, from git: the files between two commits, and the apps they touch."""

from __future__ import annotations

from pathlib import Path

from miglint.cli.gitdiff import changed_files, has_commit
from tests.github.harness import commit, git, pull_request_repository
from tests.helpers import migration, run_cli

BASE = {
    "shop/migrations/0001_initial.py": migration(),
    "shop/migrations/0002_price.py": migration(dependencies='("shop", "0001_initial")'),
    "shop/migrations/0003_sku.py": migration(dependencies='("shop", "0002_price")'),
    "billing/migrations/0001_initial.py": migration(),
}


def test_changed_files_since_the_fork_point(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    repository = pull_request_repository(
        root,
        BASE,
        {"shop/migrations/0004_new.py": migration(), "shop/migrations/0002_price.py": None},
    )
    git(root, "checkout", "-q", "main")
    moved = commit(root, {"billing/migrations/0002_more.py": migration()}, "main moves")
    two_dot = changed_files(str(root), moved, repository.head, include_deleted=True)
    since_fork = changed_files(
        str(root), moved, repository.head, since_fork=True, include_deleted=True
    )
    assert {Path(p).relative_to(root).as_posix() for p in since_fork} == {
        "shop/migrations/0004_new.py",
        "shop/migrations/0002_price.py",
    }
    # Comparing the two tips also sees what main did since: more than the change.
    assert str(root / "billing/migrations/0002_more.py") in two_dot
    without_deleted = changed_files(str(root), moved, repository.head, since_fork=True)
    assert {Path(p).name for p in without_deleted} == {"0004_new.py"}


def test_has_commit(tmp_path: Path) -> None:
    repository = pull_request_repository(tmp_path / "repo", BASE, {"x.txt": "x"})
    assert has_commit(str(repository.root), repository.base)
    assert not has_commit(str(repository.root), "f" * 40)


def test_cli_diff_reports_what_deleting_a_migration_breaks(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    repository = pull_request_repository(root, BASE, {"shop/migrations/0002_price.py": None})
    result = run_cli(".", "--diff", repository.base, "--format", "json", cwd=root)
    assert result.returncode == 1, result.stderr
    assert '"path": "shop/migrations/0003_sku.py"' in result.stdout
    assert "billing" not in result.stdout
