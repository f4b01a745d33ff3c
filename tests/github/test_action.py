"""`miglint action` as the Action runs it: a subprocess with the Actions environment, a real
git repository with base and head commits, an event payload and the fake GitHub API.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.github.fake_api import FakeGitHub
from tests.github.harness import (
    Repository,
    commit,
    git,
    parse_command,
    pull_request_event,
    pull_request_repository,
    run_action,
)
from tests.helpers import migration, run_cli

MIGRATION_HEADER = "from django.db import migrations\n\n\n"
BASE = {
    "shop/migrations/0001_initial.py": migration(),
    "billing/migrations/0001_initial.py": migration(),
    # A problem that is already on main: not the pull request's business.
    "billing/migrations/0002_old.py": migration(dependencies='("billing", "0001_gone")'),
}


def broken_migration(app: str, count: int) -> str:
    """A migration with `count` dependencies on migrations that do not exist, one a line."""
    lines = "".join(f'        ("{app}", "0001_missing_{i:03d}"),\n' for i in range(count))
    return (
        MIGRATION_HEADER
        + "class Migration(migrations.Migration):\n"
        + f'    dependencies = [\n        ("{app}", "0001_initial"),\n{lines}    ]\n'
        + "    operations = []\n"
    )


def expected(workspace: Path, *paths: str) -> list[tuple[str, int, int, str]]:
    """What `miglint --format json` finds in `paths` (default: everywhere), as
    (path, line, end_line, code)."""
    result = run_cli(".", "--format", "json", "--fail-on", "never", cwd=workspace)
    rows = json.loads(result.stdout)
    return sorted(
        (row["path"], row["line"], row["end_line"], row["code"])
        for row in rows
        if not paths or row["path"] in paths
    )


def delivered(api: FakeGitHub) -> list[tuple[str, int, int, str]]:
    titles = {"missing-dependency": "MIG002", "conflicting-leaves": "MIG001"}
    return sorted(
        (a["path"], a["start_line"], a["end_line"], titles.get(a["title"], a["title"]))
        for a in api.annotations()
    )


def printed(stdout_commands: list[str]) -> list[tuple[str, int, int, str]]:
    rows = []
    for line in stdout_commands:
        _, properties, _ = parse_command(line)
        code = properties["title"].rsplit("(", 1)[1].rstrip(")")
        rows.append((properties["file"], int(properties["line"]), int(properties["endLine"]), code))
    return sorted(rows)


def merge_checkout(repository: Repository) -> str:
    """Check out the merge of the head into main, as actions/checkout does for a PR."""
    git(repository.root, "checkout", "-q", "--detach", "main")
    git(repository.root, "merge", "-q", "--no-ff", "-m", "merge", repository.head)
    return git(repository.root, "rev-parse", "HEAD")


@pytest.fixture
def big_pull_request(tmp_path: Path) -> Repository:
    """A pull request adding a migration with 120 broken dependencies."""
    return pull_request_repository(
        tmp_path / "workspace",
        BASE,
        {"shop/migrations/0002_many.py": broken_migration("shop", 120)},
    )


def test_every_finding_becomes_an_annotation_on_the_head_commit(
    fake_github: FakeGitHub, big_pull_request: Repository
) -> None:
    merge = merge_checkout(big_pull_request)
    run = run_action(
        big_pull_request.root,
        api=fake_github,
        event=pull_request_event(big_pull_request),
        sha=merge,
    )
    assert run.returncode == 1, run.stderr
    want = expected(big_pull_request.root, "shop/migrations/0002_many.py")
    assert len(want) >= 120
    check_run = fake_github.only_check_run()
    assert check_run["head_sha"] == big_pull_request.head != merge
    assert check_run["name"] == "miglint"
    assert check_run["status"] == "completed"
    assert check_run["conclusion"] == "failure"
    assert fake_github.statuses[check_run["id"]][0] == "in_progress"
    batches = fake_github.annotation_batches()
    assert max(batches) <= 50 and sum(batches) == len(want)
    assert delivered(fake_github) == want
    assert not run.commands()
    assert run.outputs == {"findings": str(len(want)), "errors": str(len(want))}
    assert f"**{len(want)} errors**" in run.summary
    assert "| Error | " + str(len(want)) + " |" in run.summary
    line = want[0][1]
    link = (
        f"[shop/migrations/0002\\_many.py:{line}](https://github.com/octo-org/shop/blob/"
        f"{big_pull_request.head}/shop/migrations/0002_many.py#L{line})"
    )
    assert link in run.summary
    assert check_run["output"]["summary"].startswith("## miglint")
    assert fake_github.token not in run.stdout + run.stderr + run.summary


def test_token_is_sent_only_as_a_header(
    fake_github: FakeGitHub, big_pull_request: Repository
) -> None:
    run_action(big_pull_request.root, api=fake_github, event=pull_request_event(big_pull_request))
    posts = fake_github.calls("POST")
    assert posts and all(r.headers["authorization"].endswith(fake_github.token) for r in posts)


@pytest.mark.parametrize(
    ("fail_on", "severity", "status", "conclusion"),
    [
        ("error", "error", 1, "failure"),
        ("error", "warning", 0, "neutral"),
        ("warning", "warning", 1, "failure"),
        ("never", "error", 0, "neutral"),
        ("info", "warning", 1, "failure"),
    ],
)
def test_exit_status_and_conclusion_follow_fail_on(
    fake_github: FakeGitHub,
    tmp_path: Path,
    fail_on: str,
    severity: str,
    status: int,
    conclusion: str,
) -> None:
    config = f'[tool.miglint]\nseverity = {{MIG002 = "{severity}"}}\n'
    repository = pull_request_repository(
        tmp_path / "ws",
        {**BASE, "pyproject.toml": config},
        {"shop/migrations/0002_x.py": broken_migration("shop", 2)},
    )
    run = run_action(
        repository.root,
        api=fake_github,
        event=pull_request_event(repository),
        inputs={"fail_on": fail_on},
    )
    assert run.returncode == status, run.stdout + run.stderr
    assert fake_github.only_check_run()["conclusion"] == conclusion
    levels = {a["annotation_level"] for a in fake_github.annotations()}
    assert levels == {"failure" if severity == "error" else "warning"}
    errors = "2" if severity == "error" else "0"
    assert run.outputs == {"findings": "2", "errors": errors}


def test_clean_pull_request_succeeds(fake_github: FakeGitHub, tmp_path: Path) -> None:
    repository = pull_request_repository(
        tmp_path / "ws",
        BASE,
        {"shop/migrations/0002_ok.py": migration(dependencies='("shop", "0001_initial")')},
    )
    run = run_action(repository.root, api=fake_github, event=pull_request_event(repository))
    assert run.returncode == 0, run.stdout + run.stderr
    check_run = fake_github.only_check_run()
    assert check_run["conclusion"] == "success"
    assert check_run["output"]["title"] == "No problems found"
    assert run.outputs == {"findings": "0", "errors": "0"}
    assert "No problems found." in run.summary


@pytest.mark.parametrize("status", [403, 500])
def test_check_run_refused_falls_back_to_workflow_commands(
    fake_github: FakeGitHub, big_pull_request: Repository, status: int
) -> None:
    fake_github.fail("POST", "/check-runs$", status=status)
    run = run_action(
        big_pull_request.root, api=fake_github, event=pull_request_event(big_pull_request)
    )
    assert run.returncode == 1
    want = expected(big_pull_request.root, "shop/migrations/0002_many.py")
    assert printed(run.commands("error")) == want
    assert not fake_github.check_runs
    assert f"HTTP {status}" in run.stdout
    if status == 403:
        assert "checks: write" in run.stdout
    else:
        # Retried, but a bounded number of times.
        assert 1 < len(fake_github.calls("POST")) <= 4
    assert run.outputs == {"findings": str(len(want)), "errors": str(len(want))}
    assert f"**{len(want)} errors**" in run.summary
    assert "No check run was posted" in run.summary
    assert fake_github.token not in run.stdout + run.stderr + run.summary


def test_batch_failing_midway_prints_the_rest_once(
    fake_github: FakeGitHub, big_pull_request: Repository
) -> None:
    fake_github.fail("PATCH", "/check-runs/", status=502, after=1)
    run = run_action(
        big_pull_request.root, api=fake_github, event=pull_request_event(big_pull_request)
    )
    assert run.returncode == 1
    want = expected(big_pull_request.root, "shop/migrations/0002_many.py")
    posted = delivered(fake_github)
    fallback = printed(run.commands())
    assert len(posted) == 50
    assert sorted(posted + fallback) == want
    assert not set(posted) & set(fallback)
    assert "failed after 50 of" in run.stdout
    assert run.outputs["findings"] == str(len(want))


def test_without_a_token_annotations_are_workflow_commands(
    tmp_path: Path, big_pull_request: Repository
) -> None:
    run = run_action(big_pull_request.root, api=None, event=pull_request_event(big_pull_request))
    assert run.returncode == 1
    assert "no token" in run.stdout
    assert printed(run.commands()) == expected(
        big_pull_request.root, "shop/migrations/0002_many.py"
    )
    assert run.outputs["errors"] == str(len(run.commands()))


def test_annotations_off_posts_the_conclusion_only(
    fake_github: FakeGitHub, big_pull_request: Repository
) -> None:
    run = run_action(
        big_pull_request.root,
        api=fake_github,
        event=pull_request_event(big_pull_request),
        inputs={"annotations": "false"},
    )
    assert run.returncode == 1
    assert fake_github.annotations() == []
    assert fake_github.only_check_run()["conclusion"] == "failure"
    assert not run.commands()
    assert "0002\\_many.py" in run.summary


def test_only_changed_files_and_touched_apps_are_reported(
    fake_github: FakeGitHub, tmp_path: Path
) -> None:
    base = {
        **BASE,
        "shop/migrations/0002_price.py": migration(dependencies='("shop", "0001_initial")'),
    }
    repository = pull_request_repository(
        tmp_path / "ws",
        base,
        # A second leaf in shop: the app's one conflict finding goes to the changed leaf.
        {"shop/migrations/0002_sku.py": migration(dependencies='("shop", "0001_initial")')},
    )
    # main moves on after the branch: its own change is not the pull request's.
    git(repository.root, "checkout", "-q", "main")
    new_base = commit(
        repository.root,
        {"billing/migrations/0003_new.py": migration(dependencies='("billing", "0002_gone")')},
        "main moves on",
    )
    git(repository.root, "checkout", "-q", "feature")
    event = pull_request_event(Repository(repository.root, new_base, repository.head))
    run = run_action(repository.root, api=fake_github, event=event)
    assert run.returncode == 1
    assert delivered(fake_github) == [("shop/migrations/0002_sku.py", 4, 4, "MIG001")]
    assert "changed between" in run.summary
    assert "```mermaid" in run.summary
    assert "0002_price" in run.summary and "0002_sku" in run.summary
    assert run.outputs == {"findings": "1", "errors": "1"}


def test_editing_a_migration_that_main_already_has_is_mig006(
    fake_github: FakeGitHub, tmp_path: Path
) -> None:
    price = "shop/migrations/0002_price.py"
    base = {**BASE, price: migration(dependencies='("shop", "0001_initial")')}
    edited = migration(
        dependencies='("shop", "0001_initial")',
        operations='        migrations.RunSQL("SELECT 1", "SELECT 1"),',
    )
    repository = pull_request_repository(tmp_path / "ws", base, {price: edited})
    run = run_action(
        repository.root,
        api=fake_github,
        event=pull_request_event(repository),
        inputs={"fail_on": "warning"},
    )
    assert run.returncode == 1, run.stderr
    assert "edited-migration" in {
        title for path, _, _, title in delivered(fake_github) if path == price
    }


def test_reformatting_a_migration_that_main_already_has_is_not_an_edit(tmp_path: Path) -> None:
    price = "shop/migrations/0002_price.py"
    base = {**BASE, price: migration(dependencies='("shop", "0001_initial")')}
    # The same operations and dependencies, written another way.
    reformatted = "# Reviewed in 2026.\n" + base[price].replace('"shop"', "'shop'") + "\n"
    assert reformatted != base[price]
    repository = pull_request_repository(tmp_path / "ws", base, {price: reformatted})
    run = run_action(
        repository.root,
        api=None,
        event=pull_request_event(repository),
        inputs={"fail_on": "warning"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "MIG006" not in run.stdout


def test_deleting_a_migration_reports_what_it_breaks_in_its_app(
    fake_github: FakeGitHub, tmp_path: Path
) -> None:
    base = {
        **BASE,
        "shop/migrations/0002_price.py": migration(dependencies='("shop", "0001_initial")'),
        "shop/migrations/0003_sku.py": migration(dependencies='("shop", "0002_price")'),
    }
    repository = pull_request_repository(
        tmp_path / "ws", base, {"shop/migrations/0002_price.py": None}
    )
    run = run_action(repository.root, api=fake_github, event=pull_request_event(repository))
    assert run.returncode == 1
    reported = delivered(fake_github)
    assert ("shop/migrations/0003_sku.py", 5, 5, "MIG002") in reported
    # Everything reported is in shop, the app the deletion touched.
    assert reported == [row for row in expected(repository.root) if row[0].startswith("shop/")]


def test_shallow_clone_reports_everything_and_says_why(
    fake_github: FakeGitHub, big_pull_request: Repository, tmp_path: Path
) -> None:
    shallow = tmp_path / "shallow"
    git(
        tmp_path,
        "clone",
        "-q",
        "--depth",
        "1",
        "--branch",
        "feature",
        f"file://{big_pull_request.root}",
        str(shallow),
    )
    run = run_action(shallow, api=fake_github, event=pull_request_event(big_pull_request))
    assert run.returncode == 1
    assert delivered(fake_github) == expected(shallow)
    assert "billing/migrations/0002_old.py" in {row[0] for row in delivered(fake_github)}
    assert "is not in this clone" in run.summary
    assert "fetch-depth: 0" in run.summary
    assert fake_github.only_check_run()["head_sha"] == big_pull_request.head


def test_only_changed_off_reports_everything(
    fake_github: FakeGitHub, big_pull_request: Repository
) -> None:
    run = run_action(
        big_pull_request.root,
        api=fake_github,
        event=pull_request_event(big_pull_request),
        inputs={"only_changed": "false"},
    )
    assert "billing/migrations/0002_old.py" in {row[0] for row in delivered(fake_github)}
    assert run.returncode == 1


def test_push_event_diffs_before_and_after(fake_github: FakeGitHub, tmp_path: Path) -> None:
    repository = pull_request_repository(
        tmp_path / "ws", BASE, {"shop/migrations/0002_x.py": broken_migration("shop", 1)}
    )
    event = {"before": repository.base, "after": repository.head, "ref": "refs/heads/feature"}
    run = run_action(
        repository.root, api=fake_github, event=event, event_name="push", sha=repository.head
    )
    assert run.returncode == 1
    assert {row[0] for row in delivered(fake_github)} == {"shop/migrations/0002_x.py"}
    assert fake_github.only_check_run()["head_sha"] == repository.head


def test_push_creating_a_branch_reports_everything(
    fake_github: FakeGitHub, big_pull_request: Repository
) -> None:
    event = {"before": "0" * 40, "after": big_pull_request.head}
    run = run_action(
        big_pull_request.root,
        api=fake_github,
        event=event,
        event_name="push",
        sha=big_pull_request.head,
    )
    assert "billing/migrations/0002_old.py" in {row[0] for row in delivered(fake_github)}
    assert "created the branch" in run.summary


def test_workspace_is_marked_safe_for_git(
    fake_github: FakeGitHub, big_pull_request: Repository
) -> None:
    run_action(big_pull_request.root, api=fake_github, event=pull_request_event(big_pull_request))
    home = big_pull_request.root.parent / f"runner-{big_pull_request.root.name}" / "home"
    config = (home / ".gitconfig").read_text(encoding="utf-8")
    assert f"directory = {big_pull_request.root}" in config


def test_invalid_input_is_a_usage_error(
    fake_github: FakeGitHub, big_pull_request: Repository
) -> None:
    run = run_action(
        big_pull_request.root,
        api=fake_github,
        event=pull_request_event(big_pull_request),
        inputs={"fail_on": "sometimes"},
    )
    assert run.returncode == 2
    assert run.stdout.startswith("::error title=miglint::input fail_on")
    assert "Traceback" not in run.stderr
    assert "fail_on" in run.summary
    assert run.outputs == {"findings": "0", "errors": "0"}


def test_broken_config_fails_the_check_run(fake_github: FakeGitHub, tmp_path: Path) -> None:
    repository = pull_request_repository(
        tmp_path / "ws", {**BASE, "miglint.toml": "select = [\n"}, {"shop/x.txt": "x"}
    )
    run = run_action(repository.root, api=fake_github, event=pull_request_event(repository))
    assert run.returncode == 2
    assert "invalid TOML" in run.stdout
    assert fake_github.only_check_run()["conclusion"] == "failure"
    assert "could not run" in run.summary


def test_hostile_file_names_cannot_inject_commands(fake_github: FakeGitHub, tmp_path: Path) -> None:
    name = "shop/migrations/0002_a,b%c.py"
    repository = pull_request_repository(tmp_path / "ws", BASE, {name: broken_migration("shop", 1)})
    fake_github.fail("POST", "/check-runs$", status=403)
    run = run_action(repository.root, api=fake_github, event=pull_request_event(repository))
    commands = run.commands()
    assert printed(commands) == expected(repository.root, name)
    # Outside the stopped section, every line starting with :: is one of miglint's commands.
    stopped = run.stdout.split("::stop-commands::", 1)[1]
    token = stopped.split("\n", 1)[0]
    assert f"::{token}::" in stopped


def test_a_checkout_of_another_commit_is_pointed_out(
    fake_github: FakeGitHub, big_pull_request: Repository
) -> None:
    # pull_request_target checks out the base branch unless told otherwise.
    git(big_pull_request.root, "checkout", "-q", "main")
    run = run_action(
        big_pull_request.root,
        api=fake_github,
        event=pull_request_event(big_pull_request),
        event_name="pull_request_target",
    )
    assert "is neither the head commit" in run.summary
    assert "pull_request.head.sha" in run.summary
    assert "warning: The checked-out commit" in run.stdout


def test_no_warning_on_the_merge_commit(
    fake_github: FakeGitHub, big_pull_request: Repository
) -> None:
    merge = merge_checkout(big_pull_request)
    run = run_action(
        big_pull_request.root,
        api=fake_github,
        event=pull_request_event(big_pull_request),
        sha=merge,
    )
    assert "is neither the head commit" not in run.summary + run.stdout
