"""What a GitHub Actions job tells a Docker action: variables, inputs and the event payload.

Docker actions get their inputs as `INPUT_<NAME>` (upper-cased, hyphens kept: hence the
underscores in the input names). Everything is read from a mapping, so tests pass a dict.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from miglint.project.config import FAIL_ON

PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target")
# What `before` holds when a push created the branch: there is no previous commit.
NO_COMMIT = "0" * 40


class InputError(Exception):
    """An action input the user set to something miglint cannot use (exit status 2)."""


@dataclass(frozen=True)
class Event:
    """The commits an event is about: the check run goes on `head`, the diff is base..head."""

    name: str
    head: str | None
    base: str | None = None
    pull_request: int | None = None
    # Why there is no base to diff against, when there is none.
    no_base_reason: str | None = None


@dataclass(frozen=True)
class Inputs:
    path: str = "."
    fail_on: str = "error"
    select: str | None = None
    ignore: str | None = None
    only_changed: bool = True
    annotations: bool = True
    config: str | None = None
    # Fixable findings on changed lines as review comments with a suggestion.
    suggestions: bool = True
    # One pull-request comment with the summary, edited in place on each push.
    comment: bool = False


@dataclass(frozen=True)
class ActionEnvironment:
    workspace: str
    event: Event
    inputs: Inputs
    repository: str | None
    sha: str | None
    api_url: str
    server_url: str
    # Repr off: the token must never reach a log, even through a debugging print.
    token: str | None = None
    step_summary: str | None = None
    output: str | None = None

    def __repr__(self) -> str:
        return f"ActionEnvironment(workspace={self.workspace!r}, event={self.event!r}, ...)"


def _input(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(f"INPUT_{name.upper()}")
    if value is None or not value.strip():
        return None
    return value.strip()


def _boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = _input(env, name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in ("true", "yes", "on", "1"):
        return True
    if lowered in ("false", "no", "off", "0"):
        return False
    raise InputError(f"input {name}: expected true or false, got {value!r}")


def _codes(value: str | None) -> str | None:
    """Codes separated by commas, spaces or newlines (a YAML block), as one comma list."""
    if value is None:
        return None
    return ",".join(value.replace("\n", ",").replace(" ", ",").split(",")) or None


def read_inputs(env: Mapping[str, str]) -> Inputs:
    fail_on = (_input(env, "fail_on") or "error").lower()
    if fail_on not in FAIL_ON:
        raise InputError(f"input fail_on: expected one of {', '.join(FAIL_ON)}, got {fail_on!r}")
    return Inputs(
        path=_input(env, "path") or ".",
        fail_on=fail_on,
        select=_codes(_input(env, "select")),
        ignore=_codes(_input(env, "ignore")),
        only_changed=_boolean(env, "only_changed", True),
        annotations=_boolean(env, "annotations", True),
        config=_input(env, "config"),
        suggestions=_boolean(env, "suggestions", True),
        comment=_boolean(env, "comment", False),
    )


def _sha(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _get(payload: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(payload, dict):
            return None
        payload = payload.get(key)
    return payload


def read_event(name: str, payload: object, sha: str | None) -> Event:
    """The head and base commits of the event, from its payload (a parsed JSON document)."""
    if name in PULL_REQUEST_EVENTS:
        head = _sha(_get(payload, "pull_request", "head", "sha"))
        base = _sha(_get(payload, "pull_request", "base", "sha"))
        number = _get(payload, "pull_request", "number")
        if number is None:
            number = _get(payload, "number")
        return Event(
            name,
            head or sha,
            base,
            number if isinstance(number, int) else None,
            None if base else "the event payload has no pull_request.base.sha",
        )
    if name == "push":
        after = _sha(_get(payload, "after")) or sha
        before = _sha(_get(payload, "before"))
        if before == NO_COMMIT:
            return Event(name, after, None, None, "the push created the branch")
        return Event(name, after, before, None, None if before else "the push has no `before`")
    if name == "merge_group":
        head = _sha(_get(payload, "merge_group", "head_sha")) or sha
        base = _sha(_get(payload, "merge_group", "base_sha"))
        return Event(name, head, base, None, None if base else "the merge group has no base")
    return Event(name or "unknown", sha, None, None, f"a {name or 'manual'} event has no base")


def _load_payload(path: str | None) -> tuple[object, str | None]:
    """The event payload, or None and why it could not be read."""
    if not path:
        return None, "GITHUB_EVENT_PATH is not set"
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle), None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return None, f"cannot read the event payload {path}: {error}"


def read_environment(env: Mapping[str, str], cwd: str | None = None) -> ActionEnvironment:
    workspace = env.get("GITHUB_WORKSPACE") or cwd or os.getcwd()
    sha = _sha(env.get("GITHUB_SHA"))
    name = env.get("GITHUB_EVENT_NAME", "")
    payload, problem = _load_payload(env.get("GITHUB_EVENT_PATH"))
    event = read_event(name, payload, sha)
    if problem and event.base is None:
        event = Event(event.name, event.head, None, event.pull_request, problem)
    token = _input(env, "github_token") or env.get("GITHUB_TOKEN") or None
    return ActionEnvironment(
        workspace=os.path.abspath(workspace),
        event=event,
        inputs=read_inputs(env),
        repository=env.get("GITHUB_REPOSITORY") or None,
        sha=sha,
        api_url=(env.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
        server_url=(env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/"),
        token=token.strip() if token else None,
        step_summary=env.get("GITHUB_STEP_SUMMARY") or None,
        output=env.get("GITHUB_OUTPUT") or None,
    )
