"""The check run through the real PyGithub client, against the fake API over a socket."""

from __future__ import annotations

import pytest

from miglint.core.finding import Finding, Severity
from miglint.github import checks
from miglint.github.checks import CheckRunPublisher, ClientSettings, PublishError, Target
from tests.github.fake_api import FakeGitHub

HEAD = "a" * 40
FAST = ClientSettings(timeout=3, retries=2, backoff=0, write_interval=0)


def findings(count: int, severity: Severity = Severity.ERROR) -> list[Finding]:
    return [
        Finding(
            code="MIG002",
            rule="missing-dependency",
            severity=severity,
            path=f"shop/migrations/{i:04d}_x.py",
            line=i + 1,
            column=5,
            end_line=i + 1,
            end_column=30,
            message=f"problem {i}",
            fix=f"fix {i}",
        )
        for i in range(count)
    ]


def annotations(items: list[Finding]) -> list[checks.Annotation]:
    return [checks.annotation(f, f.path) for f in items]


def publisher(
    api: FakeGitHub, settings: ClientSettings = FAST, token: str | None = None
) -> CheckRunPublisher:
    return CheckRunPublisher(Target(api.url, token or api.token, api.repository, HEAD), settings)


@pytest.mark.parametrize(
    ("count", "batches"),
    [(0, [0, 0]), (1, [0, 1]), (50, [0, 50]), (51, [0, 50, 1]), (120, [0, 50, 50, 20])],
)
def test_annotations_go_in_batches_of_50_and_none_is_lost(
    fake_github: FakeGitHub, count: int, batches: list[int]
) -> None:
    items = annotations(findings(count))
    run = publisher(fake_github)
    run.start()
    delivery = run.finish(items, "title", "summary", "failure")
    assert delivery == checks.Delivery(count, completed=True)
    assert fake_github.annotation_batches() == batches
    assert fake_github.annotations() == items
    check_run = fake_github.only_check_run()
    assert check_run["name"] == "miglint"
    assert check_run["head_sha"] == HEAD
    assert check_run["conclusion"] == "failure"
    statuses = fake_github.statuses[check_run["id"]]
    assert statuses[0] == "in_progress" and statuses[-1] == "completed"
    assert statuses.count("completed") == 1


def test_annotation_fields() -> None:
    finding = findings(1, Severity.WARNING)[0]
    assert checks.annotation(finding, "shop/migrations/0000_x.py") == {
        "path": "shop/migrations/0000_x.py",
        "start_line": 1,
        "end_line": 1,
        "start_column": 5,
        "end_column": 29,
        "annotation_level": "warning",
        "title": "missing-dependency",
        "message": "problem 0",
        "raw_details": "fix 0",
    }
    levels = [
        checks.annotation(findings(1, severity)[0], "a.py")["annotation_level"]
        for severity in (Severity.ERROR, Severity.WARNING, Severity.INFO)
    ]
    assert levels == ["failure", "warning", "notice"]


def test_annotation_over_several_lines_has_no_columns_and_no_empty_details() -> None:
    finding = Finding("MIG001", "conflicting-leaves", Severity.ERROR, "a.py", 3, 1, 7, 2, "m")
    annotation = checks.annotation(finding, "a.py")
    assert (annotation["start_line"], annotation["end_line"]) == (3, 7)
    assert "start_column" not in annotation and "raw_details" not in annotation


def test_forbidden_creation_fails_at_once(fake_github: FakeGitHub) -> None:
    fake_github.fail("POST", "/check-runs$", status=403)
    with pytest.raises(PublishError, match=r"403.*Resource not accessible.*checks: write"):
        publisher(fake_github).start()
    assert len(fake_github.calls("POST")) == 1
    assert not fake_github.check_runs


def test_server_errors_are_retried_a_bounded_number_of_times(fake_github: FakeGitHub) -> None:
    fake_github.fail("POST", "/check-runs$", status=500)
    with pytest.raises(PublishError, match="HTTP 500"):
        publisher(fake_github).start()
    assert len(fake_github.calls("POST")) == 1 + FAST.retries


def test_a_passing_server_error_is_retried(fake_github: FakeGitHub) -> None:
    fake_github.fail("POST", "/check-runs$", status=502, times=1)
    run = publisher(fake_github)
    run.start()
    assert run.finish(annotations(findings(3)), "t", "s", "success").completed
    assert len(fake_github.check_runs) == 1
    assert len(fake_github.annotations()) == 3


def test_rate_limit_with_retry_after_is_waited_for(fake_github: FakeGitHub) -> None:
    fake_github.fail("PATCH", "/check-runs/", status=429, headers={"Retry-After": "1"}, times=1)
    run = publisher(fake_github)
    run.start()
    delivery = run.finish(annotations(findings(2)), "t", "s", "failure")
    assert delivery == checks.Delivery(2, completed=True)
    assert fake_github.annotation_batches() == [0, 2]


def test_a_batch_failing_midway_hands_back_the_rest_without_resending(
    fake_github: FakeGitHub,
) -> None:
    items = annotations(findings(120))
    # The second batch fails on every attempt; the request after it (completion) passes.
    fake_github.fail("PATCH", "/check-runs/", status=500, after=1, times=1 + FAST.retries)
    run = publisher(fake_github)
    run.start()
    delivery = run.finish(items, "title", "summary", "failure")
    assert delivery.delivered == 50
    assert delivery.completed
    assert delivery.failure and "HTTP 500" in delivery.failure
    assert fake_github.annotations() == items[:50]
    check_run = fake_github.only_check_run()
    assert check_run["status"] == "completed" and check_run["conclusion"] == "failure"
    assert "70 of 120 annotations could not be posted" in check_run["output"]["summary"]


def test_a_dropped_connection_is_not_retried(fake_github: FakeGitHub) -> None:
    # The server may have stored the batch before the connection broke: never send it again.
    fake_github.fail("PATCH", "/check-runs/", close=True, apply=True, times=1)
    run = publisher(fake_github)
    run.start()
    delivery = run.finish(annotations(findings(10)), "t", "s", "failure")
    assert delivery.delivered == 0 and delivery.failure
    assert "network error" in delivery.failure
    assert fake_github.annotation_batches().count(10) == 0
    assert len(fake_github.annotations()) == 10  # stored once, by the spoiled request


def test_unreachable_api_is_a_network_error() -> None:
    api = FakeGitHub()
    api.close()
    with pytest.raises(PublishError, match="network error"):
        publisher(api).start()


def test_malformed_answer_to_creation_is_a_failure(fake_github: FakeGitHub) -> None:
    fake_github.fail("POST", "/check-runs$", status=201, body="{not json")
    with pytest.raises(PublishError, match="unexpected response"):
        publisher(fake_github).start()


def test_bad_token_is_reported_without_showing_it(fake_github: FakeGitHub) -> None:
    secret = "ghp_secretsecretsecret0123456789abcdef"
    with pytest.raises(PublishError) as raised:
        publisher(fake_github, token=secret).start()
    assert "401" in str(raised.value)
    assert secret not in str(raised.value)


def test_describe_masks_the_token() -> None:
    error = OSError("connection to https://x-access-token:tok123@example.com failed")
    assert "tok123" not in checks.describe(error, "tok123")
    assert "***" in checks.describe(error, "tok123")


def test_a_long_retry_after_is_not_waited_for(fake_github: FakeGitHub) -> None:
    fake_github.fail("POST", "/check-runs$", status=429, headers={"Retry-After": "3600"})
    with pytest.raises(PublishError, match=r"HTTP 429.*wait 3600 s"):
        publisher(fake_github).start()
    assert len(fake_github.calls("POST")) == 1


def test_a_creation_answer_with_only_an_id_is_enough(fake_github: FakeGitHub) -> None:
    # Updates go to /repos/{repo}/check-runs/{id}, not to a URL the answer may lack.
    fake_github.fail(
        "POST", "/check-runs$", apply=True, status=201, body={"id": fake_github.next_id}
    )
    run = publisher(fake_github)
    run.start()
    assert run.finish(annotations(findings(60)), "t", "s", "failure").completed
    assert fake_github.annotation_batches()[-2:] == [50, 10]
    assert fake_github.only_check_run()["conclusion"] == "failure"
