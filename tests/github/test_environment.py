"""Reading the Actions environment: event payloads, inputs, defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from miglint.github.environment import InputError, read_environment, read_event, read_inputs

HEAD = "b" * 40
BASE = "c" * 40
MERGE = "d" * 40


def test_pull_request_uses_the_head_sha_not_the_merge_sha() -> None:
    payload = {
        "number": 12,
        "pull_request": {"number": 12, "head": {"sha": HEAD}, "base": {"sha": BASE}},
    }
    for name in ("pull_request", "pull_request_target"):
        event = read_event(name, payload, MERGE)
        assert (event.head, event.base, event.pull_request) == (HEAD, BASE, 12)
        assert event.no_base_reason is None


def test_push_uses_before_and_after() -> None:
    event = read_event("push", {"before": BASE, "after": HEAD}, HEAD)
    assert (event.head, event.base) == (HEAD, BASE)


def test_push_creating_a_branch_has_no_base() -> None:
    event = read_event("push", {"before": "0" * 40, "after": HEAD}, HEAD)
    assert event.base is None and event.head == HEAD
    assert event.no_base_reason == "the push created the branch"


def test_merge_group() -> None:
    payload = {"merge_group": {"head_sha": HEAD, "base_sha": BASE}}
    event = read_event("merge_group", payload, MERGE)
    assert (event.head, event.base) == (HEAD, BASE)


@pytest.mark.parametrize(
    "payload", [None, {}, [], {"pull_request": "x"}, {"pull_request": {"head": {"sha": 5}}}]
)
def test_malformed_payload_falls_back_to_github_sha(payload: object) -> None:
    event = read_event("pull_request", payload, MERGE)
    assert event.head == MERGE and event.base is None and event.no_base_reason


def test_other_events_report_everything() -> None:
    event = read_event("workflow_dispatch", {"inputs": {}}, HEAD)
    assert event.head == HEAD and event.base is None
    assert "workflow_dispatch" in (event.no_base_reason or "")


def test_inputs_defaults_and_parsing() -> None:
    assert read_inputs({}) == read_inputs({"INPUT_FAIL_ON": "", "INPUT_SELECT": "  "})
    inputs = read_inputs(
        {
            "INPUT_FAIL_ON": "Warning",
            "INPUT_SELECT": "MIG0, MIG101\nMIG2",
            "INPUT_ONLY_CHANGED": "False",
            "INPUT_ANNOTATIONS": "no",
            "INPUT_PATH": "src",
        }
    )
    assert inputs.fail_on == "warning"
    assert inputs.select is not None
    assert [c for c in inputs.select.split(",") if c] == ["MIG0", "MIG101", "MIG2"]
    assert inputs.only_changed is False and inputs.annotations is False
    assert inputs.path == "src"


@pytest.mark.parametrize(
    ("name", "value"), [("INPUT_FAIL_ON", "sometimes"), ("INPUT_ONLY_CHANGED", "maybe")]
)
def test_bad_inputs_are_errors(name: str, value: str) -> None:
    with pytest.raises(InputError):
        read_inputs({name: value})


def test_environment(tmp_path: Path) -> None:
    event_path = tmp_path / "event.json"
    event_path.write_text(
        json.dumps({"pull_request": {"number": 3, "head": {"sha": HEAD}, "base": {"sha": BASE}}})
    )
    env = {
        "GITHUB_WORKSPACE": str(tmp_path),
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_SHA": MERGE,
        "GITHUB_API_URL": "https://ghe.example.com/api/v3/",
        "GITHUB_TOKEN": "from-env",
        "GITHUB_STEP_SUMMARY": "/s",
        "GITHUB_OUTPUT": "/o",
    }
    environment = read_environment(env)
    assert environment.api_url == "https://ghe.example.com/api/v3"
    assert environment.event.head == HEAD
    assert environment.token == "from-env"
    assert read_environment({**env, "INPUT_GITHUB_TOKEN": "from-input"}).token == "from-input"
    assert "from-env" not in repr(environment)
    defaults = read_environment({"GITHUB_WORKSPACE": str(tmp_path)})
    assert defaults.api_url == "https://api.github.com"
    assert defaults.token is None and defaults.event.head is None


def test_unreadable_event_payload_is_a_reason_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "event.json").write_text("{broken")
    environment = read_environment(
        {
            "GITHUB_WORKSPACE": str(tmp_path),
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(tmp_path / "event.json"),
            "GITHUB_SHA": MERGE,
        }
    )
    assert environment.event.head == MERGE and environment.event.base is None
    assert "cannot read the event payload" in (environment.event.no_base_reason or "")
