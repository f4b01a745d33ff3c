"""Run `miglint action` as GitHub runs the Docker action: a real git repository with a base
and a head commit, an event payload file, INPUT_* variables, and the fake API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.github.fake_api import FakeGitHub
from tests.helpers import write_tree

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
}


def git(root: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env={**_clean_environment(root.parent), **GIT_IDENTITY},
    )
    return result.stdout.strip()


def commit(root: Path, files: Mapping[str, str | None], message: str) -> str:
    """Write (or, for None, delete) `files`, commit everything, return the new commit's SHA."""
    write_tree(root, {path: text for path, text in files.items() if text is not None})
    for path, text in files.items():
        if text is None:
            (root / path).unlink()
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD")


@dataclass(frozen=True)
class Repository:
    root: Path
    base: str
    head: str


def pull_request_repository(
    root: Path, base: Mapping[str, str | None], head: Mapping[str, str | None]
) -> Repository:
    """`main` with the `base` files, and a branch adding the `head` changes on top."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    base_sha = commit(root, base, "base")
    git(root, "checkout", "-q", "-b", "feature")
    head_sha = commit(root, head, "head")
    return Repository(root, base_sha, head_sha)


def pull_request_event(repository: Repository, number: int = 7) -> dict[str, object]:
    """The parts of a `pull_request` payload the action reads, shaped as GitHub sends them."""
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"sha": repository.head, "ref": "feature"},
            "base": {"sha": repository.base, "ref": "main"},
        },
    }


def _clean_environment(home: Path) -> dict[str, str]:
    """The test process's environment without anything from a real Actions job."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GITHUB_", "INPUT_", "RUNNER_", "MIGLINT_", "GIT_"))
    }
    # git config --global must not touch the real home directory.
    environment["HOME"] = str(home)
    environment["GIT_CONFIG_GLOBAL"] = str(home / ".gitconfig")
    environment["GIT_CONFIG_NOSYSTEM"] = "1"
    return environment


@dataclass(frozen=True)
class ActionRun:
    returncode: int
    stdout: str
    stderr: str
    summary: str
    outputs: dict[str, str]

    def commands(self, kind: str | None = None) -> list[str]:
        """The workflow-command annotations printed (`::error ...`), in order."""
        kinds = (kind,) if kind else ("error", "warning", "notice")
        return [
            line
            for line in self.stdout.splitlines()
            if line.startswith(tuple(f"::{k} " for k in kinds))
        ]


def run_action(
    workspace: Path,
    *,
    api: FakeGitHub | None,
    event: Mapping[str, object] | None,
    event_name: str = "pull_request",
    inputs: Mapping[str, str] | None = None,
    sha: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> ActionRun:
    """Run `python -m miglint action` in `workspace` with a crafted Actions environment."""
    runner = workspace.parent / f"runner-{workspace.name}"
    home = runner / "home"
    home.mkdir(parents=True, exist_ok=True)
    summary = runner / "step_summary.md"
    output = runner / "output.txt"
    environment = _clean_environment(home)
    environment.update(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_REPOSITORY": api.repository if api else "octo-org/shop",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(output),
            "MIGLINT_GITHUB_WRITE_INTERVAL": "0",
            "MIGLINT_GITHUB_BACKOFF": "0",
            "MIGLINT_GITHUB_TIMEOUT": "5",
            # As action.yml passes its defaults.
            "INPUT_PATH": ".",
            "INPUT_FAIL_ON": "error",
            "INPUT_ONLY_CHANGED": "true",
            "INPUT_ANNOTATIONS": "true",
        }
    )
    if api is not None:
        environment["GITHUB_API_URL"] = api.url
        environment["INPUT_GITHUB_TOKEN"] = api.token
    if sha is not None:
        environment["GITHUB_SHA"] = sha
    if event is not None:
        event_path = runner / "event.json"
        event_path.write_text(json.dumps(event), encoding="utf-8")
        environment["GITHUB_EVENT_PATH"] = str(event_path)
    for name, value in (inputs or {}).items():
        environment[f"INPUT_{name.upper()}"] = value
    environment.update(extra or {})
    result = subprocess.run(
        [sys.executable, "-m", "miglint", "action"],
        cwd=workspace,
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    outputs = {}
    if output.exists():
        for line in output.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            outputs[key] = value
    return ActionRun(
        result.returncode,
        result.stdout,
        result.stderr,
        summary.read_text(encoding="utf-8") if summary.exists() else "",
        outputs,
    )


def unescape(text: str) -> str:
    """Undo a workflow command's escaping of a message or property value."""
    for escaped, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, char)
    return text


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """`::error file=a,line=1::msg` -> ("error", {"file": "a", "line": "1"}, "msg")."""
    assert line.startswith("::"), line
    head, _, message = line[2:].partition("::")
    kind, _, rest = head.partition(" ")
    properties = {}
    for item in rest.split(","):
        if item:
            key, _, value = item.partition("=")
            properties[key] = unescape(value)
    return kind, properties, unescape(message)
