"""A check run named `miglint` with one annotation per finding, through PyGithub.

GitHub takes at most 50 annotations per request, so they go in batches, each sent once:
a batch that fails is not resent (it may have been stored), and the findings from it on
are handed back to be printed as workflow commands instead. Nothing is lost, nothing is
posted twice to the check run. Retries are bounded: a few for connection failures, 5xx and
429 (honouring a short Retry-After, giving up at once on a long one), none after a
request may have reached the server.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any

from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import InvalidHeader, MaxRetryError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from miglint.core.finding import Finding, Severity

if TYPE_CHECKING:
    from github import Github

CHECK_NAME = "miglint"
BATCH_SIZE = 50
LEVELS = {Severity.ERROR: "failure", Severity.WARNING: "warning", Severity.INFO: "notice"}
# GitHub's limits on a check run's output.
MAX_TEXT = 65535
MAX_TITLE = 255
RETRY_STATUSES = (429, 500, 502, 503, 504)

Annotation = dict[str, str | int]


@dataclass(frozen=True)
class ClientSettings:
    timeout: int = 10
    retries: int = 2
    backoff: float = 0.5
    # GitHub asks for a second between writes; tests against a local server use 0.
    write_interval: float = 1.0
    # A longer Retry-After is cut to this: a lint step should not wait minutes.
    retry_after_max: float = 10.0


@dataclass(frozen=True)
class Target:
    api_url: str
    token: str = field(repr=False)
    repository: str
    head_sha: str


class PublishError(Exception):
    """The API refused or failed a request; the message says why, for the log."""


class _CappedRetry(Retry):
    """urllib3's Retry that gives up at once when told to wait over `retry_after_cap` s."""

    retry_after_cap = 10.0

    def new(self, **kwargs: Any) -> _CappedRetry:
        retry = super().new(**kwargs)
        retry.retry_after_cap = self.retry_after_cap
        return retry

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> _CappedRetry:
        header = response.headers.get("Retry-After") if response is not None else None
        if header is not None and _pool is not None:
            try:
                wait = self.parse_retry_after(header)
            except InvalidHeader:
                wait = 0.0
            if wait > self.retry_after_cap:
                # Waiting minutes in a lint step helps nobody: fail now, fall back.
                raise MaxRetryError(_pool, url, InvalidHeader(f"Retry-After: {header}"))
        return super().increment(method, url, response, error, _pool, _stacktrace)


def retry_policy(settings: ClientSettings) -> Retry:
    retry = _CappedRetry(
        total=settings.retries,
        connect=settings.retries,
        # A request that may have reached the server is not sent again: no duplicates.
        read=False,
        status=settings.retries,
        other=0,
        allowed_methods=None,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=settings.backoff,
        backoff_max=settings.retry_after_max,
        raise_on_status=False,
        respect_retry_after_header=True,
    )
    retry.retry_after_cap = settings.retry_after_max
    return retry


def github_client(token: str, api_url: str, settings: ClientSettings) -> Github:
    """A PyGithub client for the API at `api_url`, retrying and pacing as `settings` say."""
    from github import Auth, Github

    return Github(
        auth=Auth.Token(token),
        base_url=api_url,
        timeout=settings.timeout,
        retry=retry_policy(settings),
        seconds_between_requests=None,
        seconds_between_writes=settings.write_interval or None,
        lazy=True,
    )


def annotation(finding: Finding, path: str) -> Annotation:
    """The check-run annotation for `finding` at `path`, relative to the repository root."""
    line = max(finding.line, 1)
    end_line = max(finding.end_line, line)
    entry: Annotation = {
        "path": path,
        "start_line": line,
        "end_line": end_line,
        "annotation_level": LEVELS[finding.severity],
        "title": finding.rule[:MAX_TITLE],
        "message": finding.message[:MAX_TEXT] or finding.code,
    }
    if end_line == line:
        # Columns are accepted on one line only; GitHub's end column is inclusive.
        start_column = max(finding.column, 1)
        entry["start_column"] = start_column
        entry["end_column"] = max(finding.end_column - 1, start_column)
    if finding.fix:
        entry["raw_details"] = finding.fix[:MAX_TEXT]
    return entry


def batches(annotations: Sequence[Annotation], size: int = BATCH_SIZE) -> list[list[Annotation]]:
    count = max(math.ceil(len(annotations) / size), 1)
    return [list(annotations[i * size : (i + 1) * size]) for i in range(count)]


# Why a 403 comes, for a check run.
FORBIDDEN = (
    "the token cannot write checks: a pull request from a fork gets a read-only token, or the "
    "workflow lacks `permissions: checks: write`"
)


def describe(error: BaseException, token: str | None = None, forbidden: str = FORBIDDEN) -> str:
    """One line saying why a request failed, never showing the token (`forbidden` explains a
    403)."""
    from github import GithubException

    if isinstance(error, GithubException):
        data = error.data if isinstance(error.data, dict) else {}
        message = data.get("message") or error.message or "no message"
        text = f"HTTP {error.status}: {message}"
        if error.status == 403:
            text += f" ({forbidden})"
        elif error.status == 401:
            text += " (the token is missing, expired or invalid)"
        elif error.status == 404:
            text += " (the repository is unknown to this token, or GITHUB_API_URL is wrong)"
        elif error.status == 422 and data.get("errors"):
            text += f" {data['errors']}"
        elif (error.headers or {}).get("retry-after") or (error.headers or {}).get("Retry-After"):
            headers = error.headers or {}
            wait = headers.get("retry-after") or headers.get("Retry-After")
            text += f" (rate limited: asked to wait {wait} s)"
        elif error.status >= 500 or error.status == 429:
            text += " (still failing after retries)"
    elif isinstance(error, OSError):
        text = f"network error: {type(error).__name__}: {error}"
    else:
        text = f"unexpected response from the GitHub API: {type(error).__name__}: {error}"
    if token:
        text = text.replace(token, "***")
    return " ".join(text.split())[:1000]


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Delivery:
    """How far posting got: findings from `delivered` on did not reach the check run."""

    delivered: int
    completed: bool
    failure: str | None = None


class CheckRunPublisher:
    """One check run on `target.head_sha`: `start()`, then `finish()` with the annotations."""

    def __init__(self, target: Target, settings: ClientSettings) -> None:
        self.target = target
        self.client = github_client(target.token, target.api_url, settings)
        self.check_run_id: int | None = None

    def _fail(self, error: BaseException) -> PublishError:
        return PublishError(describe(error, self.target.token))

    def start(self) -> None:
        """Create the check run, in progress. Raises PublishError."""
        try:
            repository = self.client.get_repo(self.target.repository)
            check_run = repository.create_check_run(
                name=CHECK_NAME,
                head_sha=self.target.head_sha,
                status="in_progress",
                started_at=_now(),
            )
            # A 2xx answer without an id is not a check run that can be updated.
            if not isinstance(check_run.id, int):
                raise ValueError("the created check run has no id")
        except Exception as error:
            raise self._fail(error) from None
        self.check_run_id = check_run.id

    def _update(self, output: dict[str, Any], conclusion: str | None) -> None:
        """PATCH the check run; the URL is built from its id, whatever else came back."""
        assert self.check_run_id is not None
        payload: dict[str, Any] = {"output": output}
        if conclusion is not None:
            payload.update(
                status="completed",
                conclusion=conclusion,
                completed_at=_now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
        url = f"/repos/{self.target.repository}/check-runs/{self.check_run_id}"
        _, answer = self.client.requester.requestJsonAndCheck("PATCH", url, input=payload)
        # A 2xx answer that is no check run cannot be trusted to have kept the annotations.
        if not isinstance(answer, dict):
            raise ValueError("the answer to the update is not a check run")

    def finish(
        self, annotations: Sequence[Annotation], title: str, summary: str, conclusion: str
    ) -> Delivery:
        """Send the annotations in batches, the last one completing the run.

        After a failed batch, one more request tries to complete the run without annotations
        (so the check does not stay pending), with `summary` saying what is missing.
        """
        title = title[:MAX_TITLE]
        summary = summary[:MAX_TEXT]
        delivered = 0
        parts = batches(annotations)
        try:
            for index, batch in enumerate(parts):
                last = index == len(parts) - 1
                output: dict[str, Any] = {"title": title, "summary": summary}
                if batch:
                    output["annotations"] = batch
                self._update(output, conclusion if last else None)
                delivered += len(batch)
        except Exception as error:
            failure = describe(error, self.target.token)
        else:
            return Delivery(delivered, completed=True)
        missing = len(annotations) - delivered
        note = (
            f"\n\n> [!WARNING]\n> {missing} of {len(annotations)} annotations could not be "
            f"posted here ({failure}); they are in the job log as workflow commands.\n"
        )
        try:
            self._update({"title": title, "summary": (summary + note)[:MAX_TEXT]}, conclusion)
        except Exception:
            return Delivery(delivered, completed=False, failure=failure)
        return Delivery(delivered, completed=True, failure=failure)

    def close(self) -> None:
        self.client.close()

    def abandon(self, title: str, summary: str) -> None:
        """Complete the run as failed when miglint itself could not lint; best effort."""
        if self.check_run_id is None:
            return
        try:
            self._update({"title": title[:MAX_TITLE], "summary": summary[:MAX_TEXT]}, "failure")
        except Exception:
            return
