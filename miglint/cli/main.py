"""The `miglint` command: argument parsing, subcommands and exit status.

Exit status: 0 when nothing reaches `--fail-on`, 1 when something does, 2 for a usage
error, an unreadable config or an internal error (one line, a traceback only with -v).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from miglint import __version__
from miglint.cli.status import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, UsageError
from miglint.core.finding import Finding, Severity
from miglint.project.config import (
    FAIL_ON,
    Config,
    ConfigError,
    check_codes,
    find_config_file,
    load_config,
)

if TYPE_CHECKING:
    from miglint.core.inputs import Checker
    from miglint.project.load import BatchParser, Project, Survey
    from miglint.run.cache import Cache

DESCRIPTION = """\
Static linter for Django migrations. Reads migration files as text (never imports or
runs your project), builds the migration graph and reports data loss, irreversible
migrations, deploy hazards (locks, renames, NOT NULL columns), risky data migrations,
missing migrations, conflicting leaves and broken dependencies. `--fix` applies the fixes it
can make (a merge migration, a no-op reverse, `atomic = False`...).
"""

EPILOG = """\
commands:
  miglint [check] [PATH|FILE ...] lint (the default command); files: within their project
  miglint --fix [PATH ...]        apply the safe fixes in place (--unsafe-fixes: all of them;
                                  --show-fixes: print the diff instead, write nothing)
  miglint baseline [PATH]         record every migration as it is now: from then on hazards
                                  are reported only in new migrations, edits as MIG006
  miglint rules [CODE]            list the rules, or show one rule's documentation
  miglint plan APP TARGET [PATH]  what `migrate APP TARGET` would unapply; can it be reversed?
  miglint graph [PATH]            the migration graph in `migrate` order (text, mermaid, json)
  miglint action                  run as the GitHub Action (reads the Actions environment)
  miglint cache clear [PATH]      remove the project's cache

`miglint COMMAND --help` explains each command. A folder that happens to be named like a
command is linted with `miglint check NAME`.

exit status: 0 nothing at or above --fail-on, 1 findings at or above it, 2 usage or
configuration error.
"""


Command = Callable[[argparse.Namespace], int]


def _add_check_arguments(parser: argparse.ArgumentParser) -> None:
    from miglint.report.formats import FORMAT_NAMES

    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="folders to lint (default: .), or migration and models files: their whole "
        "project is read, and the files are reported on with the graph findings and "
        "MIG401 of their apps",
    )
    parser.add_argument(
        "--format",
        choices=sorted(FORMAT_NAMES),
        default="text",
        help="output format (default: text)",
    )
    parser.add_argument(
        "--select",
        metavar="CODES",
        help="comma-separated rule codes, prefixes or names to report (e.g. MIG0,MIG101,"
        "remove-field); replaces the config's select",
    )
    parser.add_argument(
        "--ignore",
        metavar="CODES",
        help="comma-separated rule codes, prefixes or names to leave out",
    )
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default=None,
        help="lowest severity that makes the exit status 1 (default: error)",
    )
    parser.add_argument(
        "--diff",
        metavar="BASE",
        help="report only on migrations (and models) added or changed since git ref BASE; "
        "the graph is still built from the whole tree",
    )
    parser.add_argument(
        "--django-check",
        action="store_true",
        help="also run the project's own `python manage.py makemigrations --check --dry-run` "
        "and report its answer as MIG401. This IMPORTS AND EXECUTES YOUR PROJECT'S CODE "
        "(settings, models, apps); off by default. Uses $MIGLINT_PYTHON, else `python` on PATH",
    )
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="ignore the baseline file (miglint-baseline.json): report hazards in every migration",
    )
    parser.add_argument(
        "--statistics",
        action="store_true",
        help="instead of the findings, print one line per code: count, code, name and how "
        "many could be fixed, most frequent first (--format text or json)",
    )
    parser.add_argument(
        "--fix",
        action="store_true",
        help="apply the safe fixes in place (until no more apply), then report what remains; "
        "the exit status follows what remains",
    )
    parser.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="with --fix or --show-fixes: apply the unsafe fixes too (they change behaviour "
        "the author must confirm: a no-op reverse, a historical model, a database default...)",
    )
    parser.add_argument(
        "--show-fixes",
        action="store_true",
        help="print the unified diff that --fix (with the same flags) would write, and write "
        "nothing; the exit status follows what would remain",
    )
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="config file (default: the nearest miglint.toml or pyproject.toml with "
        "[tool.miglint], searched upward from the first PATH)",
    )
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the text output (default: auto, on a terminal unless NO_COLOR is set)",
    )
    _add_verbosity(
        parser,
        "also print what could not be checked, every fix hint (not only the first of each "
        "rule), and tracebacks of internal errors",
    )


def _add_verbosity(
    parser: argparse.ArgumentParser,
    verbose_help: str = "also print what could not be checked, and tracebacks of internal errors",
) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", help="print findings only")
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help=verbose_help,
    )


def build_parser(only: str | None = None) -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    """The parser of every command, or of `check`, `rules` and the command `only` (the
    other commands' modules are not even imported)."""
    parser = argparse.ArgumentParser(
        prog="miglint",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"miglint {__version__}")
    commands: dict[str, Command] = {}
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = subparsers.add_parser(
        "check", help="lint migrations (the default command)", description=DESCRIPTION
    )
    _add_check_arguments(check)
    commands["check"] = run_check

    rules = subparsers.add_parser(
        "rules",
        help="list the rules or show one",
        description="List rules, or show one rule's page.",
    )
    rules.add_argument("code", nargs="?", metavar="CODE", help="a rule code or name, e.g. MIG101")
    rules.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    commands["rules"] = run_rules

    for name, target in _EXTRA_COMMANDS.items():
        if only is not None and name != only:
            continue
        module_name, _, function = target.partition(":")
        register = getattr(importlib.import_module(module_name), function)
        commands[name] = register(subparsers)
    return parser, commands


# Further subcommands, each in its own module: name -> "module:function". The function
# takes argparse's subparsers object, adds its parser and returns the command's runner.
_EXTRA_COMMANDS: dict[str, str] = {
    "plan": "miglint.cli.commands.plan:register",
    "graph": "miglint.cli.commands.graph:register",
    "action": "miglint.github.action:register",
    "cache": "miglint.cli.commands.cache:register",
    "baseline": "miglint.cli.commands.baseline:register",
}


def main(argv: Sequence[str] | None = None) -> int:
    # A run allocates millions of small objects and frees them all at exit; the cyclic
    # garbage collector would walk them again and again (a quarter of the time) to find
    # next to nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _main(argv)
    finally:
        if collecting:
            gc.enable()


def _main(argv: Sequence[str] | None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    names = ("check", "rules", *_EXTRA_COMMANDS)
    if not arguments or (
        arguments[0] not in names and arguments[0] not in ("-h", "--help", "--version")
    ):
        arguments.insert(0, "check")
    only = arguments[0] if arguments[0] in names else None
    parser, commands = build_parser(only)
    args = parser.parse_args(arguments)
    verbose = getattr(args, "verbose", False)
    try:
        return commands[args.command](args)
    except _user_errors() as error:
        print(f"miglint: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("miglint: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `miglint | head`); nothing left to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as error:
        if verbose:
            traceback.print_exc()
        print(
            f"miglint: internal error: {type(error).__name__}: {error} "
            "(run with -v for a traceback, and please report it)",
            file=sys.stderr,
        )
        return EXIT_ERROR


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors a user can cause (one line, exit status 2); imported only when one is raised."""
    from miglint.project.load import PathError

    return (UsageError, ConfigError, PathError)


def split_codes(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def resolve_config(args: argparse.Namespace, paths: Sequence[str]) -> Config:
    """The config file's settings, overridden by the command line."""
    from miglint.rules import all_rules

    known = {rule.code: rule.name for rule in all_rules()}
    config_path = getattr(args, "config", None)
    if config_path is not None and not os.path.isfile(config_path):
        isdir = os.path.isdir(config_path)
        problem = "a folder, not a config file" if isdir else "config file not found"
        raise ConfigError(f"{config_path}: {problem}")
    if config_path is None:
        config_path = find_config_file(paths[0] if paths else ".")
    config = load_config(config_path, known)
    overrides: dict[str, object] = {}
    if getattr(args, "select", None) is not None:
        overrides["select"] = tuple(check_codes(split_codes(args.select), known, "--select"))
        overrides["extend_select"] = ()
    if getattr(args, "ignore", None) is not None:
        overrides["ignore"] = config.ignore + tuple(
            check_codes(split_codes(args.ignore), known, "--ignore")
        )
    if getattr(args, "fail_on", None) is not None:
        overrides["fail_on"] = args.fail_on
    if not overrides:
        return config
    from dataclasses import replace

    return replace(config, **overrides)  # type: ignore[arg-type]


def exit_status(findings: Sequence[Finding], fail_on: str) -> int:
    if fail_on == "never":
        return EXIT_OK
    threshold = Severity.parse(fail_on)
    return EXIT_FINDINGS if any(f.severity >= threshold for f in findings) else EXIT_OK


def use_colour(choice: str) -> bool:
    if choice != "auto":
        return choice == "always"
    return (
        sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    )


def load(args: argparse.Namespace, baseline: bool = False) -> tuple[Project, Config]:
    """The project the command line names; with its baseline file when `baseline`."""
    from miglint.project.load import load_project

    paths = args.paths or ["."]
    config = resolve_config(args, paths)
    project = load_project(paths, config, parse_files=file_reader(), baseline=baseline)
    return project, config


def file_reader() -> BatchParser:
    """Migration files are parsed on several cores when there are many."""
    from functools import partial

    from miglint.run.parallel import parse_all, read_each

    return partial(parse_all, read_each)


def _run_options(args: argparse.Namespace) -> tuple[object, ...]:
    """Everything on the command line that can change what `check` prints."""
    return (
        tuple(args.paths),
        args.format,
        args.select,
        args.ignore,
        args.fail_on,
        args.no_baseline,
        args.statistics,
        args.config,
        args.quiet,
        args.verbose,
        use_colour(args.color) if args.format == "text" else None,
    )


def run_check(args: argparse.Namespace) -> int:
    paths = args.paths or ["."]
    fixing = args.fix or args.show_fixes
    if args.unsafe_fixes and not fixing:
        raise UsageError("--unsafe-fixes goes with --fix or --show-fixes")
    if args.statistics and args.show_fixes:
        raise UsageError("--show-fixes prints a diff; it does not go with --statistics")
    # --diff asks git, --django-check runs the project and fixing writes files (or prints
    # what it would write): none of their answers can be replayed.
    replayable = not (args.no_cache or args.diff or args.django_check or fixing)
    salt = b""
    from miglint.core import inputs

    # One checker for the whole run: the notes of a stored answer and those of the apps'
    # stored findings are mostly the same files.
    checker = inputs.Checker()
    if replayable:
        from miglint.run.answers import run_key, stored_answer
        from miglint.run.cache import open_cache, source_fingerprint

        salt = source_fingerprint() + os.getcwd().encode()
        key = run_key(salt, _run_options(args))
        config_path = args.config or find_config_file(paths[0])
        cache = open_cache(config_path, paths, os.environ, salt, create=False)
        answer = stored_answer(cache, key, checker) if cache is not None else None
        if answer is not None:
            sys.stderr.write(answer.messages)
            sys.stderr.flush()
            _write(answer.output.decode("utf-8", "surrogatepass"))
            return answer.status
    recorder = inputs.Recorder()
    # What the run looks at is recorded only when its answer can be stored.
    with inputs.recording(recorder) if replayable else contextlib.nullcontext(recorder):
        output, messages, status, cache, result = _check(
            args, paths, salt, key if replayable else None, checker
        )
    sys.stderr.write(messages)
    sys.stderr.flush()
    _write(output)
    if replayable and cache is not None and not recorder.unstable:
        from miglint.run.answers import Answer, store_answer

        answer = Answer(output.encode("utf-8", "surrogatepass"), messages, status, result)
        store_answer(cache, key, recorder.notes, answer)
    return status


def _write(output: str) -> None:
    sys.stdout.write(output)
    sys.stdout.flush()


def _check(
    args: argparse.Namespace,
    paths: list[str],
    salt: bytes,
    key: bytes | None,
    checker: Checker,
) -> tuple[str, str, int, Cache | None, bytes]:
    """Lint as the command line says: (output, messages for stderr, exit status, cache,
    digest of the result); `key` names the stored answers of this command line."""
    from miglint.report.formats import FORMATS

    config = resolve_config(args, paths)
    messages: list[str] = []
    cache = None
    result = b""
    fix_summary = None
    if args.verbose or args.diff or args.django_check or args.fix or args.show_fixes:
        # What the rules could not check (-v), a diff, Django's answer and fixing need the
        # whole project at hand.
        whole = _check_whole(args, paths, config, messages)
        project, findings, fix_summary = whole.project, whole.findings, whole.fix_summary
        found: Survey | Project = project
        if args.show_fixes:
            # The diff is the output; what would remain decides the exit status.
            text_messages = _messages(messages, None if args.quiet else fix_summary)
            return whole.diff, text_messages, exit_status(findings, config.fail_on), None, b""
        if not args.verbose and not args.quiet:
            messages.extend(project.notices)
    else:
        from miglint.project.load import survey_project
        from miglint.run.cache import open_cache
        from miglint.run.results import Incremental

        survey = survey_project(paths, config, baseline=not args.no_baseline)
        if not args.no_cache and survey.apps:
            # The cache folder is made only when there is something to keep in it.
            cache = open_cache(config.path, paths, os.environ, salt)
        found = survey
        run = Incremental(survey, cache, salt, checker=checker, edits=_shows_edits(args))
        result = run.prepare()
        if not args.quiet:
            messages.extend(survey.notices)
        if not run.analysed and cache is not None and key is not None:
            from miglint.run.answers import stored_result

            # Files changed, but nothing any finding depends on: the stored answer holds.
            answer = stored_result(cache, key, result)
            if answer is not None:
                run.finish_unchanged()
                text_messages = _messages(messages)
                output = answer.output.decode("utf-8", "surrogatepass")
                return output, text_messages, answer.status, cache, result
        findings = run.findings()
        result = run.result
    if args.statistics:
        output = _statistics(findings, args.format)
    elif args.format == "text":
        from miglint.report import text

        output = text.render(findings, colour=use_colour(args.color), every_fix=args.verbose)
        if args.quiet:
            output = "".join(line + "\n" for line in output.splitlines()[:-1])
        elif not found.apps:
            output = _nothing_found(found.unmigrated_models, args.paths or ["."])
        elif fix_summary:
            output += fix_summary + "\n"
    else:
        output = FORMATS[args.format](findings)
    # The fix summary follows the text output; with another format it goes to stderr.
    summary = fix_summary if args.format != "text" and not args.quiet else None
    return (
        output,
        _messages(messages, summary),
        exit_status(findings, config.fail_on),
        cache,
        result,
    )


def _messages(lines: Sequence[str], summary: str | None = None) -> str:
    """What goes to stderr: miglint's messages, then the fix summary (as it is)."""
    text = "".join(f"miglint: {line}\n" for line in lines)
    return text + (summary + "\n" if summary else "")


def _shows_edits(args: argparse.Namespace) -> bool:
    """Whether the output says which findings are fixable, and how (then their edits are
    worked out, and kept in the cache with them)."""
    return bool(args.statistics or args.format in ("json", "sarif"))


@dataclass
class _Whole:
    """What a run over the whole project found: the project (after fixes, with --fix), the
    findings, the fix summary and, with --show-fixes, the diff."""

    project: Project
    findings: list[Finding]
    fix_summary: str | None = None
    diff: str = ""


def _check_whole(
    args: argparse.Namespace, paths: list[str], config: Config, messages: list[str]
) -> _Whole:
    from miglint.project.load import load_project
    from miglint.run.lint import lint

    project = load_project(paths, config, parse_files=file_reader(), baseline=not args.no_baseline)
    base = args.diff
    if base:
        from dataclasses import replace

        from miglint.cli.gitdiff import diff_paths, missing_base
        from miglint.cli.gitshow import prior_versions

        missing = missing_base(project, base)
        if missing is not None:
            messages.append(missing)
            base = None
        else:
            changed = frozenset(diff_paths(project, base))
            project = replace(
                project, changed_paths=changed, previous=prior_versions(project, base, changed)
            )

    def findings_of(project: Project) -> list[Finding]:
        found = lint(project)
        if base:
            from miglint.cli.gitdiff import restrict_to_diff

            found = restrict_to_diff(found, project, base)
        return found

    fixing = args.fix or args.show_fixes
    whole = _Whole(project, [])
    if fixing:
        from miglint.run.apply_fixes import fix_project, write

        run = fix_project(project, findings_of, unsafe=args.unsafe_fixes)
        problems = run.problems
        whole.project, whole.findings = run.project, run.findings
        if args.show_fixes:
            from miglint.report.common import display_path

            whole.diff = run.diff(display_path)
        else:
            unwritten = write(run)
            if unwritten:
                # What is on disk is what remains: lint it again.
                from miglint.run.attach_fixes import attach_edits

                problems += unwritten
                whole.project, _ = load(args, baseline=not args.no_baseline)
                whole.findings = attach_edits(findings_of(whole.project), whole.project)
        messages.extend(problems)
        whole.fix_summary = _fix_summary(run.fixed, run.unsafe_left, dry=args.show_fixes)
    else:
        whole.findings = findings_of(project)
    if getattr(args, "django_check", False):
        whole.findings = _with_django_check(whole.findings, args, whole.project)
    if args.show_fixes:
        return whole
    if not fixing and _shows_edits(args):
        from miglint.run.attach_fixes import attach_edits

        whole.findings = attach_edits(whole.findings, whole.project)
    if args.verbose:
        from miglint.run.lint import notices

        messages.extend((*whole.project.warnings, *whole.project.notices, *notices(whole.project)))
    return whole


def _fix_summary(fixed: int, unsafe_left: int, dry: bool) -> str:
    """`Fixed 3 problems (2 more with --unsafe-fixes).` for --fix; `Would fix` for --show-fixes."""
    verb = "Would fix" if dry else "Fixed"
    what = f"{fixed} problem{'s' if fixed != 1 else ''}"
    more = f" ({unsafe_left} more with --unsafe-fixes)" if unsafe_left else ""
    if not fixed:
        return f"Nothing {'to fix' if dry else 'fixed'}{more}."
    return f"{verb} {what}{more}."


def _nothing_found(unmigrated_models: Sequence[str], paths: Sequence[str]) -> str:
    where = ", ".join(paths)
    folders = [os.path.relpath(path).replace(os.sep, "/") for path in unmigrated_models]
    if not folders:
        return f"No Django migrations found (looked in: {where}); nothing to check.\n"
    shown = ", ".join(folders[:3]) + (f" and {len(folders) - 3} more" if len(folders) > 3 else "")
    return (
        f"Found Django models ({shown}) but no migrations for them (looked in: {where}); if "
        "they live outside `migrations` packages, name them with `migration-modules` in "
        "[tool.miglint] (or a literal MIGRATION_MODULES in the settings).\n"
    )


def _statistics(findings: list[Finding], output_format: str) -> str:
    from miglint.report import statistics

    if output_format == "json":
        return statistics.render_json(findings)
    if output_format != "text":
        raise UsageError("--statistics prints text or json, not " + output_format)
    return statistics.render_text(findings)


def _with_django_check(
    findings: list[Finding], args: argparse.Namespace, project: Project
) -> list[Finding]:
    """Add Django's own makemigrations --check answer (runs the project's code)."""
    from miglint.cli.djangocheck import DjangoCheckError, django_check

    if not project.config.enabled("MIG401"):
        return findings
    try:
        extra = django_check(args.paths or ["."], project.apps)
    except DjangoCheckError as error:
        raise UsageError(str(error)) from None
    return sorted({*findings, *extra}, key=Finding.sort_key)


def run_rules(args: argparse.Namespace) -> int:
    from miglint.docs import rule_page
    from miglint.rules import all_rules

    rules = all_rules()
    if args.code:
        from miglint.rules import rule_for_code

        rule = rule_for_code(args.code)
        if rule is None:
            raise UsageError(f"unknown rule {args.code!r} (see `miglint rules`)")
        sys.stdout.write(rule_page(rule))
        return EXIT_OK
    if args.format == "json":
        import json

        rows = [
            {"code": r.code, "name": r.name, "severity": str(r.severity), "summary": r.summary}
            for r in rules
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return EXIT_OK
    width = max(len(r.name) for r in rules)
    for rule in rules:
        sys.stdout.write(
            f"{rule.code}  {rule.name:<{width}}  {rule.severity!s:<7}  {rule.summary}\n"
        )
    return EXIT_OK
