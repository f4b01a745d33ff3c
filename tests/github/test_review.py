"""Fixes on the pull request: one review of ```suggestion comments per run (not repeated on
the next push, taken down when gone), the merge migration's text in the summary, and the
summary comment kept in one place; a token that may not write them is said, not fatal."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.github.fake_api import FakeGitHub
from tests.github.harness import (
    Repository,
    commit,
    git,
    pull_request_event,
    pull_request_repository,
    run_action,
)
from tests.helpers import run_cli, write_tree

HEADER = "from django.db import migrations, models\n\n\n"
INITIAL = (
    HEADER
    + "class Migration(migrations.Migration):\n"
    + "    initial = True\n\n"
    + "    operations = [\n"
    + "        migrations.CreateModel(\n"
    + '            name="Product",\n'
    + '            fields=[("id", models.BigAutoField(primary_key=True)), '
    + '("name", models.CharField(max_length=100))],\n'
    + "        ),\n"
    + "    ]\n"
)


def data_migration(parent: str, note: str = "Fill the names.") -> str:
    return (
        f"# {note}\n"
        + HEADER
        + "def fill(apps, schema_editor):\n"
        + "    pass\n\n\n"
        + "class Migration(migrations.Migration):\n"
        + f'    dependencies = [("shop", "{parent}")]\n\n'
        + "    operations = [\n"
        + "        migrations.RunPython(fill),\n"
        + "    ]\n"
    )


INDEX = (
    "from django.contrib.postgres.operations import AddIndexConcurrently\n"
    + HEADER
    + "class Migration(migrations.Migration):\n"
    + '    dependencies = [("shop", "0003_data")]\n\n'
    + "    operations = [\n"
    + '        AddIndexConcurrently("product", models.Index(fields=["name"], name="name_idx")),\n'
    + "    ]\n"
)
BASE = {
    "shop/migrations/0001_initial.py": INITIAL,
    "shop/migrations/0002_old.py": data_migration("0001_initial"),
}
HEAD = {
    # Only its comment changes: the RunPython line is not the pull request's.
    "shop/migrations/0002_old.py": data_migration("0001_initial", "Fill the names (old)."),
    "shop/migrations/0003_data.py": data_migration("0002_old"),
    "shop/migrations/0004_index.py": INDEX,
}


@pytest.fixture
def pull_request(tmp_path: Path) -> Repository:
    return pull_request_repository(tmp_path / "workspace", BASE, HEAD)


def diff_lines(repository: Repository, head: str | None = None) -> dict[str, set[int]]:
    """The right-side lines of the pull request's diff, as GitHub sees them."""
    output = git(repository.root, "diff", "-U0", f"{repository.base}...{head or repository.head}")
    lines: dict[str, set[int]] = {}
    current: set[int] = set()
    for line in output.splitlines():
        if line.startswith("+++ b/"):
            current = lines.setdefault(line[6:], set())
        match = re.match(r"^@@ -\S+ \+(\d+)(?:,(\d+))? @@", line)
        if match:
            start, count = int(match.group(1)), int(match.group(2) or 1)
            current.update(range(start, start + count))
    return lines


def apply_suggestion(text: str, comment: dict[str, Any]) -> str:
    """What committing a suggestion does: its lines replaced by the block's content."""
    block = re.search(r"```suggestion\n(.*?)```\n", comment["body"], re.S)
    assert block, comment["body"]
    lines = text.splitlines(keepends=True)
    start = (comment.get("start_line") or comment["line"]) - 1
    return "".join(lines[:start]) + block.group(1) + "".join(lines[comment["line"] :])


def posted(api: FakeGitHub) -> list[dict[str, Any]]:
    return sorted(api.review_comments.values(), key=lambda c: (c["path"], c["line"]))


def run(repository: Repository, api: FakeGitHub, **inputs: str) -> Any:
    api.diff_lines = diff_lines(repository)
    return run_action(
        repository.root,
        api=api,
        event=pull_request_event(repository),
        inputs={"fail_on": "never", **inputs},
    )


def test_fixes_on_changed_lines_are_one_review_of_suggestions(
    tmp_path: Path, fake_github: FakeGitHub, pull_request: Repository
) -> None:
    result = run(pull_request, fake_github)
    assert result.returncode == 0, result.stdout + result.stderr
    (review,) = fake_github.reviews
    assert review["commit_id"] == pull_request.head and review["state"] == "COMMENTED"
    comments = posted(fake_github)
    assert [c["path"] for c in comments] == [
        "shop/migrations/0003_data.py",
        "shop/migrations/0004_index.py",
    ]
    assert all(c["pull_request_review_id"] == review["id"] for c in comments)
    assert "**MIG201**" in comments[0]["body"] and "unsafe" in comments[0]["body"]
    assert "**MIG508**" in comments[1]["body"] and "(safe)" in comments[1]["body"]
    # Committing the suggestions gives what `miglint --fix --unsafe-fixes` writes.
    fixed = tmp_path / "fixed"
    write_tree(fixed, {**BASE, **HEAD})
    run_cli(".", "--fix", "--unsafe-fixes", cwd=fixed)
    for comment in comments:
        original = (pull_request.root / comment["path"]).read_text()
        assert apply_suggestion(original, comment) == (fixed / comment["path"]).read_text()
    # The RunPython of 0002_old.py is not on a changed line: said, not suggested.
    assert "Suggestions: 2 posted as suggestions in a review" in result.summary
    assert "1 not suggested (not on lines this pull request changed" in result.summary
    assert "miglint can fix 3 of these findings (1 safe, 2 unsafe)" in result.summary


def test_the_next_push_repeats_nothing_and_takes_down_what_is_gone(
    fake_github: FakeGitHub, pull_request: Repository
) -> None:
    run(pull_request, fake_github)
    first = posted(fake_github)
    again = run(pull_request, fake_github)
    assert len(fake_github.reviews) == 1 and posted(fake_github) == first
    assert "2 already suggested on an earlier push" in again.summary
    assert not fake_github.calls("DELETE") and not fake_github.calls("PATCH", "/pulls/comments")
    # A reviewer answers the index suggestion; then both findings are fixed by hand.
    index_comment = next(c for c in first if c["path"].endswith("0004_index.py"))
    fake_github.reply(index_comment["id"], "Good catch, doing it.")
    head = commit(
        pull_request.root,
        {
            "shop/migrations/0003_data.py": data_migration("0002_old").replace(
                "RunPython(fill)", "RunPython(fill, migrations.RunPython.noop)"
            ),
            "shop/migrations/0004_index.py": INDEX.replace(
                "class Migration(migrations.Migration):\n",
                "class Migration(migrations.Migration):\n    atomic = False\n",
            ),
        },
        "fix by hand",
    )
    pushed = Repository(pull_request.root, pull_request.base, head)
    result = run(pushed, fake_github)
    assert result.returncode == 0
    assert len(fake_github.reviews) == 1
    remaining = [c for c in fake_github.review_comments.values() if not c["in_reply_to_id"]]
    # The one without replies is deleted; the answered one stays, without its suggestion.
    (kept,) = remaining
    assert kept["id"] == index_comment["id"]
    assert "```suggestion" not in kept["body"] and "no longer suggests" in kept["body"]
    assert "2 earlier suggestions taken down" in result.summary


def test_a_token_that_cannot_write_the_pull_request_skips_suggestions(
    fake_github: FakeGitHub, pull_request: Repository
) -> None:
    fake_github.fail("POST", "/pulls/7/reviews", status=403)
    result = run(pull_request, fake_github, fail_on="error")
    # The check run and the exit status are as without suggestions.
    assert result.returncode == 1
    assert fake_github.only_check_run()["conclusion"] == "failure"
    assert not fake_github.review_comments
    assert "The fixes were not posted as suggestions (HTTP 403" in result.summary
    assert "pull-requests: write" in result.summary


def test_suggestions_off_writes_nothing_to_the_pull_request(
    fake_github: FakeGitHub, pull_request: Repository
) -> None:
    result = run(pull_request, fake_github, suggestions="false")
    assert result.returncode == 0
    assert not fake_github.calls(path="/pulls/") and not fake_github.calls(path="/issues/")
    assert "miglint can fix 3 of these findings" in result.summary
    assert "Suggestions:" not in result.summary


def test_a_merge_migration_is_shown_in_the_summary(fake_github: FakeGitHub, tmp_path: Path) -> None:
    child = HEADER + (
        "class Migration(migrations.Migration):\n"
        '    dependencies = [("shop", "0001_initial")]\n'
        "    operations = []\n"
    )
    repository = pull_request_repository(
        tmp_path / "workspace",
        {"shop/migrations/0001_initial.py": INITIAL, "shop/migrations/0002_a.py": child},
        {"shop/migrations/0002_b.py": child},
    )
    result = run(repository, fake_github)
    assert not fake_github.review_comments
    assert "add `shop/migrations/0003_merge_0002_a_0002_b.py` with this text" in result.summary
    assert "        ('shop', '0002_a'),\n        ('shop', '0002_b'),\n" in result.summary


def test_summary_comment_is_created_then_edited_in_place(
    fake_github: FakeGitHub, pull_request: Repository
) -> None:
    fake_github.comment_on_issue(7, "Looks good to me")
    run(pull_request, fake_github, comment="true")
    ours = [c for c in fake_github.issue_comments.values() if "miglint-summary" in c["body"]]
    assert len(ours) == 1 and "## miglint" in ours[0]["body"]
    assert "MIG201" in ours[0]["body"]
    # The same push again: nothing to change, nothing sent.
    run(pull_request, fake_github, comment="true")
    assert not fake_github.calls("PATCH", "/issues/comments/")
    # A push that fixes everything: the same comment now says so.
    head = commit(
        pull_request.root,
        {
            "shop/migrations/0003_data.py": None,
            "shop/migrations/0004_index.py": None,
            "shop/migrations/0002_old.py": BASE["shop/migrations/0002_old.py"],
        },
        "drop the change",
    )
    run(Repository(pull_request.root, pull_request.base, head), fake_github, comment="true")
    assert len(fake_github.calls("PATCH", "/issues/comments/")) == 1
    (updated,) = [c for c in fake_github.issue_comments.values() if "miglint-summary" in c["body"]]
    assert updated["id"] == ours[0]["id"] and "No problems found" in updated["body"]
    assert len(fake_github.issue_comments) == 2


def test_summary_comment_with_nothing_to_say_is_not_written(
    fake_github: FakeGitHub, tmp_path: Path
) -> None:
    repository = pull_request_repository(
        tmp_path / "workspace",
        {"shop/migrations/0001_initial.py": INITIAL},
        {"README.md": "docs"},
    )
    result = run(repository, fake_github, comment="true")
    assert result.returncode == 0
    assert not fake_github.issue_comments
    assert not fake_github.calls("POST", "/issues/")


def test_summary_comment_denied_is_said_in_the_job_summary(
    fake_github: FakeGitHub, pull_request: Repository
) -> None:
    fake_github.fail("POST", "/issues/7/comments", status=403)
    result = run(pull_request, fake_github, comment="true", suggestions="false")
    assert result.returncode == 0
    assert "The summary comment on the pull request was not written (HTTP 403" in result.summary
    assert json.dumps(result.outputs)  # the outputs are still written
    assert result.outputs["findings"] == "3"
