"""A fake GitHub REST API on 127.0.0.1: check runs, recorded requests and injected faults.

A real HTTP server in a thread, so the real PyGithub client (in the test process or in a
`miglint action` subprocess) talks to it over a socket. It answers like api.github.com:
the same status codes, JSON shapes and validation (at most 50 annotations a request,
required fields, columns on one line only), and keeps each check run's state and the
annotations it accepted. It also keeps pull requests' review comments (posted in reviews,
edited, deleted, replied to; `diff_lines` limits them to the lines of the diff, as GitHub
does) and their conversation comments.

Faults make it misbehave on chosen requests, for fallback tests:

    api.fail("POST", "/check-runs", status=403)                       # every time
    api.fail("PATCH", "/check-runs/", status=500, times=3)            # the next 3
    api.fail("PATCH", "/check-runs/", status=429, headers={"Retry-After": "1"}, times=1)
    api.fail("PATCH", "/check-runs/", delay=5)                        # a hanging server
    api.fail("POST", "/check-runs", body="{not json", status=201)      # malformed JSON
    api.fail("PATCH", "/check-runs/", apply=True, status=502)         # stored, then failed
    api.fail("PATCH", "/check-runs/", close=True)                     # connection dropped
    api.fail("PATCH", "/check-runs/", after=1)                        # from the 2nd match on

Only requests answered 2xx by the normal path count as delivered: `annotations()`.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "ghs_fakeTokenForTests0123456789abcdef"
REPOSITORY = "octo-org/shop"
SHA_PATTERN = re.compile(r"^[0-9a-f]{40}$")
LEVELS = ("notice", "warning", "failure")
CONCLUSIONS = (
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
)


@dataclass
class Fault:
    method: str
    # A regular expression searched in the request path.
    path: str
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # How many matching requests it spoils; None: all of them.
    times: int | None = None
    # Matching requests to let through before it starts.
    after: int = 0
    # Seconds to wait before answering (longer than the client's timeout: a hang).
    delay: float = 0.0
    # Carry the request out normally, then answer with the fault anyway.
    apply: bool = False
    # Close the connection without an answer.
    close: bool = False
    seen: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method != method or not re.search(self.path, path):
            return False
        self.seen += 1
        if self.seen <= self.after:
            return False
        return self.times is None or self.seen - self.after <= self.times


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeGitHub:
    """The API of one repository. `url` is what GITHUB_API_URL should be set to."""

    def __init__(self, repository: str = REPOSITORY, token: str = TOKEN) -> None:
        self.repository = repository
        self.token = token
        self.requests: list[Request] = []
        self.check_runs: dict[int, dict[str, Any]] = {}
        # Annotations each check run accepted, in the order they arrived.
        self.accepted: dict[int, list[dict[str, Any]]] = {}
        # Each check run's status after every accepted request: ["in_progress", "completed"].
        self.statuses: dict[int, list[str]] = {}
        self.faults: list[Fault] = []
        # Pull requests: reviews, their comments (by id) and conversation comments (by id).
        self.reviews: list[dict[str, Any]] = []
        self.review_comments: dict[int, dict[str, Any]] = {}
        self.issue_comments: dict[int, dict[str, Any]] = {}
        # path -> lines a review comment may be on (the diff's right side); None: any line.
        self.diff_lines: dict[str, set[int]] | None = None
        self.lock = threading.Lock()
        self.next_id = 4_000_000_001
        self.server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, method: str, path: str, **options: Any) -> Fault:
        """Spoil matching requests (see the module docstring); a 403 by default."""
        options.setdefault("status", None if options.get("close") else 403)
        fault = Fault(method, path, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    # What the tests read.

    def calls(self, method: str | None = None, path: str = "") -> list[Request]:
        with self.lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and re.search(path, r.path)
            ]

    def annotations(self, check_run_id: int | None = None) -> list[dict[str, Any]]:
        with self.lock:
            if check_run_id is not None:
                return list(self.accepted.get(check_run_id, []))
            return [a for run in self.accepted.values() for a in run]

    def only_check_run(self) -> dict[str, Any]:
        with self.lock:
            assert len(self.check_runs) == 1, f"{len(self.check_runs)} check runs"
            return next(iter(self.check_runs.values()))

    def reply(self, comment_id: int, body: str) -> int:
        """A reviewer answers a review comment; the id of the reply."""
        with self.lock:
            parent = self.review_comments[comment_id]
            reply = {**parent, "body": body, "in_reply_to_id": comment_id, "user": _HUMAN}
            return self._store(self.review_comments, reply)

    def comment_on_issue(self, number: int, body: str) -> int:
        """Someone comments on the pull request's conversation."""
        with self.lock:
            return self._store(self.issue_comments, {"body": body, "issue": number, "user": _HUMAN})

    def _store(self, table: dict[int, dict[str, Any]], item: dict[str, Any]) -> int:
        identifier = self.next_id
        self.next_id += 1
        item["id"] = identifier
        item.setdefault("created_at", _now())
        table[identifier] = item
        return identifier

    def annotation_batches(self) -> list[int]:
        """How many annotations each successful request carried."""
        return [
            len((r.body.get("output") or {}).get("annotations") or [])
            for r in self.calls(path="/check-runs")
            if 200 <= r.status < 300 and isinstance(r.body, dict) and r.method in ("POST", "PATCH")
        ]

    # The API.

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Response:
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            return _error(400, "Problems parsing JSON")
        request = Request(method, path, headers, body)
        with self.lock:
            self.requests.append(request)
            fault = next((f for f in self.faults if f.matches(method, path)), None)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.apply:
                self._answer(request, method, path, headers)
            if fault.close:
                request.status = -1
                return Response(-1)
            request.status = fault.status or 500
            return Response(request.status, _fault_body(fault), dict(fault.headers))
        response = self._answer(request, method, path, headers)
        request.status = response.status
        return response

    def _answer(
        self, request: Request, method: str, path: str, headers: dict[str, str]
    ) -> Response:
        authorization = headers.get("authorization", "")
        if authorization not in (f"token {self.token}", f"Bearer {self.token}"):
            return _error(401, "Bad credentials")
        prefix = f"/repos/{self.repository}"
        if path.split("?")[0] == prefix and method == "GET":
            return Response(200, self._repository())
        if not path.startswith(prefix + "/"):
            return _error(404, "Not Found")
        rest = path[len(prefix) :].split("?")[0]
        query = urllib.parse.parse_qs(path.partition("?")[2])
        with self.lock:
            pulls = self._pull_request(method, rest, request.body, query)
            if pulls is not None:
                return pulls
            if rest == "/check-runs" and method == "POST":
                return self._create(request.body)
            match = re.fullmatch(r"/check-runs/(\d+)(/annotations)?", rest)
            if match and int(match.group(1)) in self.check_runs:
                run_id = int(match.group(1))
                if match.group(2) and method == "GET":
                    return Response(200, self.accepted[run_id])
                if not match.group(2) and method == "PATCH":
                    return self._update(run_id, request.body)
                if not match.group(2) and method == "GET":
                    return Response(200, self.check_runs[run_id])
        return _error(404, "Not Found")

    def _pull_request(
        self, method: str, rest: str, body: Any, query: dict[str, list[str]]
    ) -> Response | None:
        """The pull-request endpoints; None for another path."""
        match = re.fullmatch(r"/pulls/(\d+)/(comments|reviews)", rest)
        if match and match.group(2) == "comments" and method == "GET":
            number = int(match.group(1))
            items = [c for c in self.review_comments.values() if c["pull"] == number]
            return Response(200, _page(items, query))
        if match and match.group(2) == "reviews" and method == "POST":
            return self._review(int(match.group(1)), body)
        match = re.fullmatch(r"/pulls/comments/(\d+)", rest)
        if match and method in ("PATCH", "DELETE"):
            identifier = int(match.group(1))
            if identifier not in self.review_comments:
                return _error(404, "Not Found")
            if method == "DELETE":
                del self.review_comments[identifier]
                return Response(204)
            if not isinstance(body, dict) or not isinstance(body.get("body"), str):
                return _validation("body", "missing_field", "PullRequestReviewComment")
            self.review_comments[identifier]["body"] = body["body"]
            return Response(200, self.review_comments[identifier])
        match = re.fullmatch(r"/issues/(\d+)/comments", rest)
        if match and method == "GET":
            number = int(match.group(1))
            items = [c for c in self.issue_comments.values() if c["issue"] == number]
            return Response(200, _page(items, query))
        if match and method == "POST":
            if not isinstance(body, dict) or not isinstance(body.get("body"), str):
                return _validation("body", "missing_field", "IssueComment")
            comment = {"body": body["body"], "issue": int(match.group(1)), "user": _BOT}
            identifier = self._store(self.issue_comments, comment)
            return Response(201, self.issue_comments[identifier])
        match = re.fullmatch(r"/issues/comments/(\d+)", rest)
        if match and method == "PATCH":
            identifier = int(match.group(1))
            if identifier not in self.issue_comments:
                return _error(404, "Not Found")
            if not isinstance(body, dict) or not isinstance(body.get("body"), str):
                return _validation("body", "missing_field", "IssueComment")
            self.issue_comments[identifier]["body"] = body["body"]
            return Response(200, self.issue_comments[identifier])
        return None

    def _review(self, number: int, body: Any) -> Response:
        """POST /pulls/{number}/reviews, validated as GitHub does."""
        if not isinstance(body, dict):
            return _error(422, "Invalid request.")
        commit = body.get("commit_id")
        if commit is not None and not (isinstance(commit, str) and SHA_PATTERN.match(commit)):
            return _validation("commit_id", "invalid", "PullRequestReview")
        if body.get("event") not in (None, "COMMENT", "APPROVE", "REQUEST_CHANGES"):
            return _validation("event", "invalid", "PullRequestReview")
        comments = body.get("comments") or []
        for comment in comments:
            path, line = comment.get("path"), comment.get("line")
            start = comment.get("start_line")
            if not isinstance(path, str) or not isinstance(comment.get("body"), str):
                return _validation("comments", "missing_field", "PullRequestReview")
            if not isinstance(line, int) or comment.get("side", "RIGHT") not in ("LEFT", "RIGHT"):
                return _validation("comments.line", "invalid", "PullRequestReview")
            if start is not None and (not isinstance(start, int) or start >= line):
                return _validation("comments.start_line", "invalid", "PullRequestReview")
            lines = set(range(start or line, line + 1))
            if self.diff_lines is not None and not lines <= self.diff_lines.get(path, set()):
                return _error(
                    422,
                    "Unprocessable Entity: pull_request_review_thread.line must be part of "
                    "the diff",
                )
        review = {
            "id": self.next_id,
            "state": "COMMENTED",
            "body": body.get("body") or "",
            "commit_id": commit,
            "user": _BOT,
        }
        self.next_id += 1
        self.reviews.append(review)
        for comment in comments:
            self._store(
                self.review_comments,
                {
                    **comment,
                    "pull": number,
                    "pull_request_review_id": review["id"],
                    "commit_id": commit,
                    "start_line": comment.get("start_line"),
                    "in_reply_to_id": None,
                    "user": _BOT,
                },
            )
        return Response(200, review)

    def _repository(self) -> dict[str, Any]:
        owner, name = self.repository.split("/")
        return {
            "id": 1296269,
            "name": name,
            "full_name": self.repository,
            "owner": {"login": owner, "id": 1, "type": "Organization"},
            "private": False,
            "url": f"{self.url}/repos/{self.repository}",
            "html_url": f"https://github.com/{self.repository}",
            "default_branch": "main",
        }

    def _create(self, body: Any) -> Response:
        if not isinstance(body, dict):
            return _error(422, "Invalid request.")
        name, head_sha = body.get("name"), body.get("head_sha")
        if not isinstance(name, str) or not name:
            return _validation("name", "missing_field")
        if not isinstance(head_sha, str) or not SHA_PATTERN.match(head_sha):
            return _validation("head_sha", "invalid")
        problem = self._check_fields(body)
        if problem:
            return problem
        run_id = self.next_id
        self.next_id += 1
        url = f"{self.url}/repos/{self.repository}/check-runs/{run_id}"
        run: dict[str, Any] = {
            "id": run_id,
            "node_id": f"CR_kwDOAAAB{run_id}",
            "name": name,
            "head_sha": head_sha,
            "external_id": body.get("external_id", ""),
            "url": url,
            "html_url": f"https://github.com/{self.repository}/runs/{run_id}",
            "details_url": body.get("details_url", f"https://github.com/{self.repository}"),
            "status": body.get("status", "queued"),
            "conclusion": body.get("conclusion"),
            "started_at": body.get("started_at", _now()),
            "completed_at": body.get("completed_at"),
            "output": {
                "title": None,
                "summary": None,
                "text": None,
                "annotations_count": 0,
                "annotations_url": f"{url}/annotations",
            },
            "check_suite": {"id": 5},
            "app": {"id": 15368, "slug": "github-actions", "name": "GitHub Actions"},
            "pull_requests": [],
        }
        self.check_runs[run_id] = run
        self.accepted[run_id] = []
        self._apply(run, body)
        return Response(201, run)

    def _update(self, run_id: int, body: Any) -> Response:
        if not isinstance(body, dict):
            return _error(422, "Invalid request.")
        problem = self._check_fields(body)
        if problem:
            return problem
        run = self.check_runs[run_id]
        self._apply(run, body)
        return Response(200, run)

    def _check_fields(self, body: dict[str, Any]) -> Response | None:
        status = body.get("status")
        if status is not None and status not in ("queued", "in_progress", "completed"):
            return _validation("status", "invalid")
        conclusion = body.get("conclusion")
        if conclusion is not None and conclusion not in CONCLUSIONS:
            return _validation("conclusion", "invalid")
        if status == "completed" and conclusion is None:
            return _validation("conclusion", "missing_field")
        output = body.get("output")
        if output is None:
            return None
        if not isinstance(output, dict) or not output.get("title") or not output.get("summary"):
            return _validation("output", "missing_field")
        if len(output["summary"]) > 65535:
            return _validation("output.summary", "too_long")
        annotations = output.get("annotations") or []
        if len(annotations) > 50:
            return _error(
                422,
                "Invalid request.\n\nOnly 50 annotations are allowed per request.",
            )
        for annotation in annotations:
            missing = [
                key
                for key in ("path", "start_line", "end_line", "annotation_level", "message")
                if annotation.get(key) in (None, "")
            ]
            if missing:
                return _validation(f"annotations.{missing[0]}", "missing_field")
            if annotation["annotation_level"] not in LEVELS:
                return _validation("annotations.annotation_level", "invalid")
            if annotation["end_line"] < annotation["start_line"]:
                return _validation("annotations.end_line", "invalid")
            has_columns = "start_column" in annotation or "end_column" in annotation
            if has_columns and annotation["start_line"] != annotation["end_line"]:
                return _validation("annotations.start_column", "invalid")
        return None

    def _apply(self, run: dict[str, Any], body: dict[str, Any]) -> None:
        for key in ("name", "status", "conclusion", "details_url", "external_id"):
            if key in body:
                run[key] = body[key]
        if "completed_at" in body:
            run["completed_at"] = body["completed_at"]
        elif body.get("status") == "completed" or body.get("conclusion"):
            run["status"] = "completed"
            run["completed_at"] = _now()
        output = body.get("output")
        if output:
            for key in ("title", "summary", "text"):
                if key in output:
                    run["output"][key] = output[key]
            accepted = self.accepted[run["id"]]
            accepted.extend(output.get("annotations") or [])
            run["output"]["annotations_count"] = len(accepted)
        self.statuses.setdefault(run["id"], []).append(run["status"])


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, message: str) -> Response:
    return Response(
        status,
        {
            "message": message,
            "documentation_url": "https://docs.github.com/rest/checks/runs",
            "status": str(status),
        },
    )


_BOT = {"login": "github-actions[bot]", "type": "Bot"}
_HUMAN = {"login": "octocat", "type": "User"}


def _page(items: list[dict[str, Any]], query: dict[str, list[str]]) -> list[dict[str, Any]]:
    size = int((query.get("per_page") or ["30"])[0])
    page = int((query.get("page") or ["1"])[0])
    return items[(page - 1) * size : page * size]


def _validation(field_name: str, code: str, resource: str = "CheckRun") -> Response:
    return Response(
        422,
        {
            "message": "Validation Failed",
            "errors": [{"resource": resource, "field": field_name, "code": code}],
            "documentation_url": "https://docs.github.com/rest/checks/runs",
            "status": "422",
        },
    )


def _fault_body(fault: Fault) -> Any:
    if fault.body is not None:
        return fault.body
    messages = {
        401: "Bad credentials",
        403: "Resource not accessible by integration",
        404: "Not Found",
        422: "Validation Failed",
        429: "API rate limit exceeded for installation ID 1.",
    }
    message = messages.get(fault.status or 500, "Server Error")
    return {
        "message": message,
        "documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run",
        "status": str(fault.status),
    }


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, dropped connection) is what fault tests do.
        return


def _handler(api: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {key.lower(): value for key, value in self.headers.items()}
            response = api.handle(self.command, self.path, headers, raw)
            if response.status < 0:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if isinstance(response.body, (bytes, str)):
                data = response.body.encode() if isinstance(response.body, str) else response.body
            else:
                data = json.dumps(response.body).encode() if response.body is not None else b""
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-GitHub-Request-Id", "FAKE:0001")
            self.send_header("X-RateLimit-Limit", "5000")
            self.send_header("X-RateLimit-Remaining", "4999")
            self.send_header("X-RateLimit-Reset", str(int(time.time()) + 3600))
            for key, value in response.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
