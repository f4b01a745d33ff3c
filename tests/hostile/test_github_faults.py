"""GitHub faults: whatever the API or the runner does wrong, `miglint action` reports every
finding exactly once (check-run annotations plus workflow commands for the rest), always
writes the job summary and the outputs, and exits by `fail_on`, never by the fault."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.github.fake_api import FakeGitHub
from tests.github.harness import (
    Repository,
    _clean_environment,
    git,
    pull_request_event,
    pull_request_repository,
    run_action,
)
from tests.github.test_action import BASE, broken_migration, delivered, expected, printed

CHANGED = "shop/migrations/0002_many.py"
FAST = {
    "MIGLINT_GITHUB_TIMEOUT": "1",
    "MIGLINT_GITHUB_BACKOFF": "0",
    "MIGLINT_GITHUB_WRITE_INTERVAL": "0",
}


@pytest.fixture
def api() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture
def pull_request(tmp_path: Path) -> Repository:
    """120 findings in the changed file: three batches of annotations."""
    return pull_request_repository(
        tmp_path / "workspace", BASE, {CHANGED: broken_migration("shop", 120)}
    )


def reset_in(seconds: int) -> str:
    return str(int(time.time()) + seconds)


FAULTS: dict[str, dict[str, Any]] = {
    "401": {"status": 401},
    "403": {"status": 403},
    "404": {"status": 404},
    "422": {"status": 422},
    "500": {"status": 500},
    "502": {"status": 502},
    "503": {"status": 503},
    "429 short Retry-After": {"status": 429, "headers": {"Retry-After": "1"}, "times": 1},
    "429 long Retry-After": {"status": 429, "headers": {"Retry-After": "86400"}},
    "429 bad Retry-After": {"status": 429, "headers": {"Retry-After": "soon"}},
    "403 rate limit": {
        "status": 403,
        "headers": {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset_in(3600)},
        "body": {"message": "API rate limit exceeded"},
    },
    "timeout": {"status": 201, "delay": 3.0},
    "connection closed": {"close": True},
    "malformed JSON": {"status": 201, "body": "{not json"},
    "JSON of the wrong shape": {"status": 201, "body": [1, 2, 3]},
    "HTML error page": {"status": 502, "body": "<html>Bad gateway</html>"},
}


def check_everything_reported(run: Any, api: FakeGitHub | None, workspace: Path) -> None:
    want = expected(workspace, CHANGED)
    assert len(want) == 120
    posted = delivered(api) if api is not None else []
    fallback = printed(run.commands())
    assert sorted(posted + fallback) == want, (len(posted), len(fallback), run.stdout[-2000:])
    assert not set(posted) & set(fallback)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert run.outputs == {"findings": str(len(want)), "errors": str(len(want))}
    assert f"{len(want)} errors" in run.summary
    if api is not None:
        assert api.token not in run.stdout + run.stderr + run.summary


@pytest.mark.parametrize("fault", list(FAULTS))
def test_creating_the_check_run_fails(
    api: FakeGitHub, pull_request: Repository, fault: str
) -> None:
    api.fail("POST", "/check-runs$", **FAULTS[fault])
    run = run_action(pull_request.root, api=api, event=pull_request_event(pull_request), extra=FAST)
    check_everything_reported(run, api, pull_request.root)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_batch_of_annotations_fails_midway(
    api: FakeGitHub, pull_request: Repository, fault: str
) -> None:
    api.fail("PATCH", "/check-runs/", after=1, **FAULTS[fault])
    run = run_action(pull_request.root, api=api, event=pull_request_event(pull_request), extra=FAST)
    check_everything_reported(run, api, pull_request.root)


def test_a_batch_is_applied_but_its_answer_is_lost(
    api: FakeGitHub, pull_request: Repository
) -> None:
    """The server took the annotations, then the connection broke: none may be lost; a
    finding that may be doubled is better printed than dropped, but never printed twice."""
    api.fail("PATCH", "/check-runs/", after=1, times=1, status=502, apply=True)
    run = run_action(pull_request.root, api=api, event=pull_request_event(pull_request), extra=FAST)
    want = expected(pull_request.root, CHANGED)
    posted = delivered(api)
    fallback = printed(run.commands())
    assert set(posted) | set(fallback) == set(want)
    assert len(fallback) == len(set(fallback))
    assert run.returncode == 1


def test_connection_refused(pull_request: Repository) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = run_action(
        pull_request.root,
        api=None,
        event=pull_request_event(pull_request),
        extra={**FAST, "GITHUB_API_URL": f"http://127.0.0.1:{port}", "INPUT_GITHUB_TOKEN": "t0k"},
    )
    check_everything_reported(run, None, pull_request.root)
    assert "t0k" not in run.stdout + run.stderr + run.summary


@pytest.mark.parametrize(
    "payload",
    ["missing file", "not JSON", "a list", "no pull_request", "pull_request is a string"],
)
def test_a_bad_event_payload(api: FakeGitHub, pull_request: Repository, payload: str) -> None:
    runner = pull_request.root.parent / "events"
    runner.mkdir(exist_ok=True)
    path = runner / "event.json"
    contents = {
        "not JSON": "{",
        "a list": "[]",
        "no pull_request": json.dumps({"number": 7}),
        "pull_request is a string": json.dumps({"pull_request": "x"}),
    }
    if payload in contents:
        path.write_text(contents[payload])
    run = run_action(
        pull_request.root,
        api=api,
        event=None,
        sha=pull_request.head,
        extra={**FAST, "GITHUB_EVENT_PATH": str(path)},
    )
    # Without a base to diff against, everything in the tree is reported.
    want = expected(pull_request.root)
    posted = delivered(api)
    fallback = printed(run.commands())
    assert sorted(posted + fallback) == want
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    assert run.summary


def test_a_shallow_clone_without_the_base_commit(api: FakeGitHub, tmp_path: Path) -> None:
    origin = pull_request_repository(
        tmp_path / "origin", BASE, {CHANGED: broken_migration("shop", 3)}
    )
    shallow = tmp_path / "shallow"
    git(
        tmp_path,
        "clone",
        "-q",
        "--depth",
        "1",
        "--branch",
        "feature",
        f"file://{origin.root}",
        str(shallow),
    )
    event = pull_request_event(origin)
    run = run_action(shallow, api=api, event=event, extra=FAST)
    want = expected(shallow)
    assert sorted(delivered(api) + printed(run.commands())) == want
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    assert run.summary


@pytest.mark.parametrize("verbose", [False, True])
def test_the_token_never_appears_even_when_the_api_echoes_it(
    api: FakeGitHub, pull_request: Repository, tmp_path: Path, verbose: bool
) -> None:
    api.fail("POST", "/check-runs$", status=401, body={"message": f"Bad credentials {api.token}"})
    runner = tmp_path / "runner"
    runner.mkdir()
    event = runner / "event.json"
    event.write_text(json.dumps(pull_request_event(pull_request)))
    env = _clean_environment(runner)
    env.update(
        {
            **FAST,
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(pull_request.root),
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": api.repository,
            "GITHUB_API_URL": api.url,
            "INPUT_GITHUB_TOKEN": api.token,
            "GITHUB_STEP_SUMMARY": str(runner / "summary.md"),
            "GITHUB_OUTPUT": str(runner / "output.txt"),
            "RUNNER_DEBUG": "1",
            "ACTIONS_STEP_DEBUG": "true",
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "miglint", "action", *(["-v"] if verbose else [])],
        cwd=pull_request.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    everything = result.stdout + result.stderr + (runner / "summary.md").read_text()
    everything += (runner / "output.txt").read_text()
    assert result.returncode == 1, result.stderr
    assert api.token not in everything
    assert "HTTP 401" in result.stdout
