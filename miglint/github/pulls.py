"""The pull request itself, through PyGithub: one review per run holding the fixes as
suggestions, and one summary comment kept up to date (inputs `suggestions` and `comment`).

Comments miglint wrote carry a hidden marker, so the next push finds them: a suggestion that
is still there is not posted again, one that is gone is deleted (or, when someone replied to
it, edited to say it no longer applies), and the summary comment is edited in place. Both
need `pull-requests: write`; without it (a fork's read-only token) the API answers 403 and
the run goes on, saying so in the job summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from miglint.github.checks import ClientSettings, describe, github_client
from miglint.github.suggestions import Suggestion, marker_of

FORBIDDEN = (
    "the token cannot write to the pull request: a pull request from a fork gets a read-only "
    "token, or the workflow lacks `permissions: pull-requests: write`"
)
SUMMARY_MARKER = "<!-- miglint-summary -->"
OUTDATED_MARKER = "<!-- miglint-suggestion-outdated:{} -->"
MAX_COMMENT = 65536
MAX_PAGES = 30


@dataclass(frozen=True)
class PullRequest:
    api_url: str
    token: str = field(repr=False)
    repository: str
    number: int
    head_sha: str


class PullRequestClient:
    def __init__(self, target: PullRequest, settings: ClientSettings) -> None:
        self.target = target
        self.client = github_client(target.token, target.api_url, settings)

    def close(self) -> None:
        self.client.close()

    def fail(self, error: BaseException) -> str:
        return describe(error, self.target.token, FORBIDDEN)

    def _request(self, method: str, url: str, payload: dict[str, Any] | None = None) -> Any:
        _, answer = self.client.requester.requestJsonAndCheck(method, url, input=payload)
        return answer

    def _pages(self, url: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            answer = self._request("GET", f"{url}?per_page=100&page={page}")
            if not isinstance(answer, list):
                raise ValueError(f"the answer to GET {url} is not a list")
            items.extend(item for item in answer if isinstance(item, dict))
            if len(answer) < 100:
                break
        return items

    @property
    def _pull(self) -> str:
        return f"/repos/{self.target.repository}/pulls/{self.target.number}"

    @property
    def _repo(self) -> str:
        return f"/repos/{self.target.repository}"

    def review_comments(self) -> list[dict[str, Any]]:
        return self._pages(f"{self._pull}/comments")

    def post_review(self, body: str, comments: Sequence[dict[str, object]]) -> None:
        self._request(
            "POST",
            f"{self._pull}/reviews",
            {
                "commit_id": self.target.head_sha,
                "event": "COMMENT",
                "body": body,
                "comments": list(comments),
            },
        )

    def delete_review_comment(self, comment_id: int) -> None:
        self._request("DELETE", f"{self._repo}/pulls/comments/{comment_id}")

    def edit_review_comment(self, comment_id: int, body: str) -> None:
        self._request("PATCH", f"{self._repo}/pulls/comments/{comment_id}", {"body": body})

    def issue_comments(self) -> list[dict[str, Any]]:
        return self._pages(f"{self._repo}/issues/{self.target.number}/comments")

    def create_issue_comment(self, body: str) -> None:
        self._request("POST", f"{self._repo}/issues/{self.target.number}/comments", {"body": body})

    def edit_issue_comment(self, comment_id: int, body: str) -> None:
        self._request("PATCH", f"{self._repo}/issues/comments/{comment_id}", {"body": body})


@dataclass
class ReviewOutcome:
    posted: int = 0
    # Suggestions already on the pull request from an earlier push.
    kept: int = 0
    # miglint's earlier suggestions that no longer apply: deleted, or marked when replied to.
    removed: int = 0
    failure: str | None = None


def publish_suggestions(
    client: PullRequestClient, suggestions: Sequence[Suggestion]
) -> ReviewOutcome:
    """Post the new suggestions in one review, and take down those that no longer apply."""
    outcome = ReviewOutcome()
    try:
        existing = client.review_comments()
        ours: dict[str, dict[str, Any]] = {}
        gone: list[dict[str, Any]] = []
        for comment in existing:
            fingerprint = marker_of(str(comment.get("body") or ""))
            if fingerprint is None or comment.get("in_reply_to_id"):
                continue
            if comment.get("line") is None:
                # GitHub marks it outdated (its line changed): it cannot be committed.
                gone.append(comment)
            else:
                ours[fingerprint] = comment
        replied = {c.get("in_reply_to_id") for c in existing if c.get("in_reply_to_id")}
        current = {suggestion.fingerprint for suggestion in suggestions}
        new = [s for s in suggestions if s.fingerprint not in ours]
        outcome.kept = len(suggestions) - len(new)
        if new:
            count = f"{len(new)} fix{'es' if len(new) != 1 else ''}"
            client.post_review(
                f"miglint suggests {count} for what it found on the lines this pull request "
                "changes. Safe fixes keep the migration's meaning; unsafe ones change behaviour "
                "and say so.",
                [suggestion.comment() for suggestion in new],
            )
            outcome.posted = len(new)
        gone += [c for fingerprint, c in ours.items() if fingerprint not in current]
        for comment in gone:
            identifier = comment.get("id")
            if not isinstance(identifier, int):
                continue
            if identifier in replied:
                client.edit_review_comment(identifier, _outdated(str(comment.get("body") or "")))
            else:
                client.delete_review_comment(identifier)
            outcome.removed += 1
    except Exception as error:
        outcome.failure = client.fail(error)
    return outcome


def _outdated(body: str) -> str:
    """A suggestion that no longer applies, kept for its replies, without the block that a
    click would still commit."""
    fingerprint = marker_of(body) or "0" * 16
    headline = body.split("\n", 1)[0]
    return (
        f"~~{headline}~~\n\nmiglint no longer suggests this fix: the finding is gone or its fix "
        f"changed.\n{OUTDATED_MARKER.format(fingerprint)}\n"
    )


@dataclass(frozen=True)
class CommentOutcome:
    # "created", "updated", "unchanged", "none" (nothing to say, and no comment yet).
    action: str
    failure: str | None = None


def publish_summary_comment(client: PullRequestClient, summary: str, news: bool) -> CommentOutcome:
    """Keep one pull-request comment with `summary`: edit miglint's comment in place, or
    create it when there is something to say (`news`)."""
    body = summary[: MAX_COMMENT - len(SUMMARY_MARKER) - 2] + "\n" + SUMMARY_MARKER + "\n"
    try:
        ours = [c for c in client.issue_comments() if SUMMARY_MARKER in str(c.get("body") or "")]
        if ours:
            comment = ours[0]
            if comment.get("body") == body:
                return CommentOutcome("unchanged")
            identifier = comment.get("id")
            if not isinstance(identifier, int):
                raise ValueError("miglint's comment has no id")
            client.edit_issue_comment(identifier, body)
            return CommentOutcome("updated")
        if not news:
            return CommentOutcome("none")
        client.create_issue_comment(body)
        return CommentOutcome("created")
    except Exception as error:
        return CommentOutcome("failed", client.fail(error))
