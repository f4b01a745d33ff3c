"""`miglint action`: the GitHub Action's entry point (the Docker image runs it).

It lints the checked-out tree, narrows the report to what the event changed, posts a
`miglint` check run with one annotation per finding on the head commit, and writes the job
summary and the step outputs. When the check run cannot be written (a fork's read-only
token, no `checks: write`, an API outage) the annotations go out as workflow commands
instead; the summary, the outputs and the exit status (by `fail_on`) never depend on the API.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from miglint.cli.gitdiff import GitError, added_lines, file_at, repository_root
from miglint.cli.main import exit_status, resolve_config
from miglint.cli.status import UsageError
from miglint.core.finding import Edit, Finding, Severity
from miglint.github import summary
from miglint.github.environment import ActionEnvironment, InputError, read_environment
from miglint.github.scope import Scope, checkout_note, diff_scope
from miglint.project.config import ConfigError
from miglint.project.load import PathError, Project, load_project
from miglint.report import github as commands
from miglint.report import markdown, text
from miglint.report.common import counts

if TYPE_CHECKING:
    from miglint.github.checks import CheckRunPublisher, ClientSettings
    from miglint.github.pulls import PullRequest

EXIT_ERROR = 2

DESCRIPTION = """\
Run as the GitHub Action: read the Actions environment (GITHUB_WORKSPACE, the event
payload, INPUT_* inputs, the token), lint the workspace, report on what the pull request
or push changed as a `miglint` check run with annotations (or workflow commands when the
token cannot write checks), and write the job summary and the outputs `findings` and
`errors`. Exit status follows the `fail_on` input.
"""


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> Callable[[argparse.Namespace], int]:
    parser = subparsers.add_parser(
        "action",
        help="run as the GitHub Action (reads the Actions environment)",
        description=DESCRIPTION,
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print tracebacks of internal errors"
    )
    return run


def run(args: argparse.Namespace) -> int:
    try:
        import github  # noqa: F401
    except ImportError:
        # PyGithub is an extra: local and pre-commit users do not need it.
        print(
            "miglint: error: `miglint action` needs PyGithub: pip install 'miglint[github]'",
            file=sys.stderr,
        )
        return EXIT_ERROR
    try:
        return run_action(os.environ, sys.stdout)
    except Exception:
        # A bug: still leave the summary and outputs the workflow reads, then report it.
        log = Log(sys.stdout)
        write_summary(os.environ.get("GITHUB_STEP_SUMMARY"), CRASH_SUMMARY, log)
        write_outputs(os.environ.get("GITHUB_OUTPUT"), [], log)
        raise


CRASH_SUMMARY = "## miglint\n\nmiglint stopped with an internal error; see the job log.\n"


@dataclass(frozen=True)
class Outcome:
    findings: list[Finding]
    # (finding, path relative to the repository root), in report order.
    rows: list[tuple[Finding, str]]
    status: int
    conclusion: str


def client_settings(env: Mapping[str, str]) -> ClientSettings:
    """API client settings; MIGLINT_GITHUB_* variables override them (tests use them)."""
    from miglint.github.checks import ClientSettings

    defaults = ClientSettings()

    def number(name: str, default: float) -> float:
        try:
            return max(float(env.get(name, default)), 0.0)
        except ValueError:
            return default

    return ClientSettings(
        timeout=max(int(number("MIGLINT_GITHUB_TIMEOUT", defaults.timeout)), 1),
        retries=int(number("MIGLINT_GITHUB_RETRIES", defaults.retries)),
        backoff=number("MIGLINT_GITHUB_BACKOFF", defaults.backoff),
        write_interval=number("MIGLINT_GITHUB_WRITE_INTERVAL", defaults.write_interval),
        retry_after_max=number("MIGLINT_GITHUB_RETRY_AFTER_MAX", defaults.retry_after_max),
    )


class Log:
    """The job log. Text from the linted tree is printed with workflow commands stopped."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def line(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def verbatim(self, text: str) -> None:
        # A file named `::error::x` must not become a command: stop them around user text.
        token = secrets.token_hex(16)
        self.stream.write(f"::stop-commands::{token}\n{text}::{token}::\n")
        self.stream.flush()


def trust_directories(directories: Sequence[str], log: Log) -> None:
    """Let git read the workspace, which belongs to another user than the container's."""
    try:
        current = subprocess.run(
            ["git", "config", "--global", "--get-all", "safe.directory"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        ).stdout.splitlines()
        for directory in dict.fromkeys(directories):
            if directory in current:
                continue
            added = subprocess.run(
                ["git", "config", "--global", "--add", "safe.directory", directory],
                capture_output=True,
                text=True,
                check=False,
                timeout=30,
            )
            if added.returncode != 0:
                log.line(f"miglint: git config --global failed: {added.stderr.strip()}")
    except (OSError, subprocess.TimeoutExpired) as error:
        log.line(f"miglint: cannot run git ({error}); every migration will be reported")


def conclusion_for(findings: Sequence[Finding], fail_on: str) -> str:
    if fail_on != "never" and any(f.severity >= Severity.parse(fail_on) for f in findings):
        return "failure"
    return "neutral" if findings else "success"


def title_for(findings: Sequence[Finding]) -> str:
    return markdown.headline(findings) if findings else "No problems found"


def write_outputs(path: str | None, findings: Sequence[Finding], log: Log) -> None:
    if not path:
        log.line("miglint: GITHUB_OUTPUT is not set; outputs not written")
        return
    tally = counts(list(findings))
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"findings={len(findings)}\nerrors={tally['error']}\n")
    except OSError as error:
        log.line(f"miglint: cannot write the outputs to {path}: {error.strerror}")


def write_summary(path: str | None, text: str, log: Log) -> None:
    if not path:
        log.line("miglint: GITHUB_STEP_SUMMARY is not set; job summary not written")
        return
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        log.line(f"miglint: cannot write the job summary to {path}: {error.strerror}")


def _relative(path: str, root: str) -> str:
    try:
        relative = os.path.relpath(os.path.realpath(path), os.path.realpath(root))
    except ValueError:
        relative = path
    return relative.replace(os.sep, "/")


def _lint(environment: ActionEnvironment) -> tuple[Project, list[Finding], str | None, Scope]:
    """The project, its findings, the repository root and the diff scope.

    Raises ConfigError, PathError or UsageError on settings miglint cannot use.
    """
    from miglint.run.lint import lint

    inputs = environment.inputs
    path = os.path.join(environment.workspace, inputs.path)
    config = os.path.join(environment.workspace, inputs.config) if inputs.config else None
    arguments = argparse.Namespace(
        config=config, select=inputs.select, ignore=inputs.ignore, fail_on=inputs.fail_on
    )
    settings = resolve_config(arguments, [path])
    project = load_project([path], settings)
    try:
        root: str | None = repository_root(path)
    except GitError:
        root = None
    scope = diff_scope(root, environment.event, inputs.only_changed)
    if scope.changed is not None:
        # Rules that judge a change as a whole (e.g. tables it creates) see what it touches,
        # and MIG006 sees the changed migrations as they were where the change started.
        from miglint.cli.gitshow import prior_versions

        previous = prior_versions(project, scope.base, scope.changed) if scope.base else None
        project = dataclasses.replace(project, changed_paths=scope.changed, previous=previous)
    return project, lint(project), root, scope


def run_action(env: Mapping[str, str], stream: TextIO) -> int:
    # PyGithub and urllib3 load only here, so that other commands start fast.
    from miglint.github import checks

    log = Log(stream)
    try:
        environment = read_environment(env)
    except InputError as error:
        log.line(f"::error title=miglint::{commands.escape_data(str(error))}")
        write_summary(env.get("GITHUB_STEP_SUMMARY"), f"## miglint\n\n{error}\n", log)
        write_outputs(env.get("GITHUB_OUTPUT"), [], log)
        return EXIT_ERROR
    inputs = environment.inputs
    # The folder linted may be a repository checked out below the workspace (`path:`).
    lint_path = os.path.realpath(os.path.join(environment.workspace, inputs.path))
    trust_directories([environment.workspace, lint_path], log)

    publisher: CheckRunPublisher | None = None
    no_check_run = _check_run_unavailable(environment)
    if no_check_run is None:
        assert environment.token and environment.repository and environment.event.head
        target = checks.Target(
            environment.api_url,
            environment.token,
            environment.repository,
            environment.event.head,
        )
        publisher = checks.CheckRunPublisher(target, client_settings(env))
        try:
            publisher.start()
        except checks.PublishError as error:
            no_check_run = f"cannot create the check run: {error}"
            publisher.close()
            publisher = None

    try:
        project, found, root, scope = _lint(environment)
    except (ConfigError, PathError, UsageError) as error:
        log.line(f"::error title=miglint::{commands.escape_data(str(error))}")
        message = f"## miglint\n\nmiglint could not run: {markdown.escape(str(error))}\n"
        if publisher is not None:
            publisher.abandon("miglint could not run", message)
            publisher.close()
        write_summary(environment.step_summary, message, log)
        write_outputs(environment.output, [], log)
        return EXIT_ERROR
    except Exception:
        # A bug in miglint: do not leave the check pending forever.
        if publisher is not None:
            publisher.abandon("miglint stopped with an internal error", CRASH_SUMMARY)
            publisher.close()
        raise

    outcome = _outcome(scope, project, found, root or environment.workspace, inputs.fail_on)
    log.line(f"miglint: {scope.note}")
    log.verbatim(text.render(outcome.findings))

    rows = _with_edits(outcome.rows, project, log)
    fixes = _fixes(environment, env, root, rows, log)
    title = title_for(outcome.findings)
    links = (
        summary.Links(environment.server_url, environment.repository, environment.event.head)
        if environment.repository and environment.event.head
        else None
    )
    notes = [scope.note]
    mismatch = checkout_note(root, environment.event)
    if mismatch is not None:
        log.line(f"miglint: warning: {mismatch}")
        notes.append(f"> [!WARNING]\n> {mismatch}")
    undelivered: list[tuple[Finding, str]] = rows if inputs.annotations else []
    if publisher is not None:
        annotations = [checks.annotation(f, path) for f, path in rows] if inputs.annotations else []
        body = summary.render(
            rows,
            project,
            links=links,
            notes=notes,
            sections=fixes.summary,
            max_chars=checks.MAX_TEXT - 1000,
        )
        delivery = publisher.finish(annotations, title, body, outcome.conclusion)
        publisher.close()
        undelivered = rows[delivery.delivered :] if inputs.annotations else []
        if delivery.failure is None:
            notes.append(
                f"{len(annotations)} annotation{'s' if len(annotations) != 1 else ''} posted to "
                f"the `{checks.CHECK_NAME}` check run on {environment.event.head}."
            )
        else:
            log.line(
                f"miglint: posting annotations to the check run failed after "
                f"{delivery.delivered} of {len(annotations)}: {delivery.failure}"
            )
            notes.append(
                f"Posting to the check run failed after {delivery.delivered} of "
                f"{len(annotations)} annotations ({markdown.escape(delivery.failure)})"
                + ("; the rest are annotated through workflow commands." if undelivered else ".")
            )
            if not delivery.completed:
                log.line("miglint: the check run could not be completed either")
    elif no_check_run is not None:
        log.line(f"miglint: no check run: {no_check_run}")
        if inputs.annotations:
            log.line("miglint: annotating the findings with workflow commands instead")
        notes.append(
            f"No check run was posted ({markdown.escape(no_check_run)})"
            + ("; the findings are annotated through workflow commands instead." if rows else ".")
        )
    if undelivered:
        for finding, path in undelivered:
            log.line(commands.command(finding, path))
        notes.append(
            "GitHub shows at most 10 errors and 10 warnings per step from workflow commands; "
            "the table lists every finding."
        )
    if inputs.comment:
        comment = summary.render(rows, project, links=links, notes=notes, sections=fixes.comment)
        note = _summary_comment(environment, env, comment, bool(rows), log)
        if note:
            notes.append(note)
    report = summary.render(rows, project, links=links, notes=notes, sections=fixes.summary)
    write_summary(environment.step_summary, report, log)
    write_outputs(environment.output, outcome.findings, log)
    return outcome.status


def _with_edits(
    rows: list[tuple[Finding, str]], project: Project, log: Log
) -> list[tuple[Finding, str]]:
    """The rows with the fix of each finding that has one (the summary, the suggestions)."""
    from miglint.run.attach_fixes import attach_edits

    problems: list[str] = []
    findings = attach_edits([finding for finding, _ in rows], project, problems=problems)
    for problem in problems:
        log.line(f"miglint: {problem}")
    return [(finding, path) for finding, (_, path) in zip(findings, rows, strict=True)]


def _pull_request(environment: ActionEnvironment) -> PullRequest | None:
    """The pull request of the event, when miglint can write to it (a token, a number)."""
    from miglint.github.pulls import PullRequest

    event = environment.event
    if (
        environment.token is None
        or environment.repository is None
        or event.pull_request is None
        or event.head is None
    ):
        return None
    return PullRequest(
        environment.api_url,
        environment.token,
        environment.repository,
        event.pull_request,
        event.head,
    )


@dataclass(frozen=True)
class FixReport:
    """The summary's section on fixes; the summary comment's leaves out what happened on this
    run only (posted, taken down), so that it changes only when the findings do."""

    summary: list[str]
    comment: list[str]


def _fixes(
    environment: ActionEnvironment,
    env: Mapping[str, str],
    root: str | None,
    rows: list[tuple[Finding, str]],
    log: Log,
) -> FixReport:
    """The section on fixes; with the `suggestions` input, the review comments that offer
    them on the pull request are posted (and old ones taken down) on the way."""
    from miglint.github.suggestions import fence_for, new_files

    fixable = [(finding, path) for finding, path in rows if finding.edit is not None]
    first: list[str] = []
    if fixable:
        safe = sum(1 for finding, _ in fixable if finding.edit and finding.edit.safe)
        count = len(fixable)
        first.append(
            f"miglint can fix {count} of these finding{'s' if count != 1 else ''} ({safe} safe, "
            f"{count - safe} unsafe): `miglint --fix` applies the safe fixes, "
            "`miglint --fix --unsafe-fixes` all of them."
        )
    files = []
    for finding, _ in fixable:
        assert finding.edit is not None
        for path, content in new_files(finding.edit):
            shown = _relative(path, root or environment.workspace)
            fence = fence_for(content)
            files.append(
                f"**{finding.code}** {markdown.escape(finding.edit.message)}. A new file cannot be "
                f"a suggestion: add {markdown.code(shown)} with this text (or run "
                f"`miglint --fix`):\n\n{fence}python\n{content.rstrip()}\n{fence}"
            )
    target = _pull_request(environment)
    said: tuple[list[str], list[str]] = ([], [])
    if environment.inputs.suggestions and target is not None and root is not None:
        said = _suggest(environment, env, target, root, fixable, log)

    def section(lines: list[str]) -> list[str]:
        return ["### Fixes\n\n" + "\n\n".join(lines)] if lines else []

    return FixReport(section([*first, *said[0], *files]), section([*first, *said[1], *files]))


def _suggest(
    environment: ActionEnvironment,
    env: Mapping[str, str],
    target: PullRequest,
    root: str,
    fixable: list[tuple[Finding, str]],
    log: Log,
) -> tuple[list[str], list[str]]:
    """Post the suggestions; what to say about them in the job summary, and in the summary
    comment."""
    from miglint.github.pulls import PullRequestClient, publish_suggestions
    from miglint.github.suggestions import suggestions

    base = environment.event.base
    if base is None:
        note = "No suggestions: the event names no base commit to tell the changed lines from."
        return [note], [note]
    try:
        added = added_lines(root, base, target.head_sha)
    except GitError as error:
        log.line(f"miglint: no suggestions: {error}")
        note = f"No suggestions: the changed lines are unknown ({markdown.escape(str(error))})."
        return [note], [note]
    head_files = {path: file_at(root, target.head_sha, path) for _, path in fixable}
    found, covered = suggestions(fixable, added, head_files)
    client = PullRequestClient(target, client_settings(env))
    try:
        outcome = publish_suggestions(client, found)
    finally:
        client.close()
    if outcome.failure is not None:
        log.line(f"miglint: suggestions not posted: {outcome.failure}")
        note = (
            f"> [!WARNING]\n> The fixes were not posted as suggestions "
            f"({markdown.escape(outcome.failure)})."
        )
        return [note], []
    said, stated = [], []
    if outcome.posted:
        said.append(f"{outcome.posted} posted as suggestions in a review")
    if outcome.kept:
        said.append(f"{outcome.kept} already suggested on an earlier push")
    if outcome.removed:
        said.append(
            f"{outcome.removed} earlier suggestion{'s' if outcome.removed != 1 else ''} "
            "taken down (no longer applies)"
        )
    if found:
        stated.append(
            f"{len(found)} fix{'es are' if len(found) != 1 else ' is'} suggested in review "
            "comments on the changed lines"
        )
    elsewhere = (
        sum(1 for finding, _ in fixable if finding.edit and not _creates_only(finding.edit))
        - covered
    )
    if elsewhere > 0:
        rest = (
            f"{elsewhere} not suggested (not on lines this pull request changed, or a fix "
            "of many lines): run `miglint --fix` locally"
        )
        said.append(rest)
        stated.append(rest)
    return (
        ["Suggestions: " + "; ".join(said) + "."] if said else [],
        ["Suggestions: " + "; ".join(stated) + "."] if stated else [],
    )


def _creates_only(edit: Edit) -> bool:
    from miglint.github.suggestions import new_files

    return len(new_files(edit)) == len(edit.edits)


def _summary_comment(
    environment: ActionEnvironment, env: Mapping[str, str], report: str, news: bool, log: Log
) -> str | None:
    """Keep the pull request's summary comment; a note for the job summary when that failed."""
    from miglint.github.pulls import PullRequestClient, publish_summary_comment

    target = _pull_request(environment)
    if target is None:
        return None
    client = PullRequestClient(target, client_settings(env))
    try:
        outcome = publish_summary_comment(client, report, news)
    finally:
        client.close()
    log.line(f"miglint: summary comment: {outcome.action}")
    if outcome.failure is None:
        return None
    log.line(f"miglint: the summary comment was not written: {outcome.failure}")
    return (
        "> [!WARNING]\n> The summary comment on the pull request was not written "
        f"({markdown.escape(outcome.failure)})."
    )


def _check_run_unavailable(environment: ActionEnvironment) -> str | None:
    """Why no check run can be posted, or None when one can."""
    if not environment.token:
        return "no token (set the `github_token` input or GITHUB_TOKEN)"
    if not environment.repository:
        return "GITHUB_REPOSITORY is not set"
    if not environment.event.head:
        return "the event names no head commit and GITHUB_SHA is not set"
    return None


def _outcome(
    scope: Scope, project: Project, found: list[Finding], root: str, fail_on: str
) -> Outcome:
    findings = scope.apply(found, project)
    rows = [(finding, _relative(finding.path, root)) for finding in findings]
    rows.sort(key=lambda row: (row[1], row[0].line, row[0].column, row[0].code))
    ordered = [finding for finding, _ in rows]
    return Outcome(ordered, rows, exit_status(ordered, fail_on), conclusion_for(ordered, fail_on))
