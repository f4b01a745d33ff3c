"""`miglint baseline [PATH]`: record every migration as it is now.

Writes `miglint-baseline.json` at the project root (next to the config file when there is
one, or where the baseline already is). Running it again adds new migrations, prunes
deleted ones and takes in edits; when nothing changed the file is left as it is, byte for
byte.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from typing import Any

DESCRIPTION = """\
Record every migration under PATH (default: .) as it is now, in miglint-baseline.json at the
project root (next to the config file when there is one). From then on `miglint` reports
hazards (MIG1xx-MIG6xx) only in migrations that are not recorded, and an edit to a recorded
migration as MIG006; the graph rules (MIG0xx) and MIG401 still look at everything. Commit
the file. Run it again to record new migrations (deleted ones are pruned); the file does
not change when nothing did. `miglint --no-baseline` ignores it.
"""


def register(subparsers: Any) -> Any:
    parser = subparsers.add_parser(
        "baseline",
        help="record every migration as it is now (adopt miglint on an existing project)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "path", nargs="?", default=".", metavar="PATH", help="the project's folder (default: .)"
    )
    parser.add_argument(
        "--config", metavar="FILE", help="config file (for excludes; the baseline goes next to it)"
    )
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    parser.add_argument("-v", "--verbose", action="store_true", help="tracebacks of errors")
    return run


def run(args: argparse.Namespace) -> int:
    from miglint.cli.main import load
    from miglint.cli.status import EXIT_OK, UsageError
    from miglint.project.baseline import (
        BaselineError,
        baseline_target,
        digests_of,
        entries_of,
        read_baseline,
        render,
    )
    from miglint.project.load import PathError

    if not os.path.lexists(args.path):
        raise PathError(f"{args.path}: no such folder")
    if not os.path.isdir(args.path):
        raise UsageError(
            f"{args.path}: the baseline records a whole project; give its folder, not a file"
        )
    args.paths = [args.path]
    project, config = load(args)
    target = baseline_target(config, args.path)
    shown = os.path.relpath(target).replace(os.sep, "/")
    if not project.migrations:
        _say(args, f"No Django migrations found under {args.path}; {shown} not written.")
        return EXIT_OK
    digests = digests_of(project.migrations)
    entries = entries_of(digests, project.migrations, project.apps, os.path.dirname(target))
    text = render(entries)
    before: dict[str, dict[str, str]] = {}
    replaced = ""
    if os.path.lexists(target):
        try:
            before = {app: dict(names) for app, names in read_baseline(target).entries.items()}
        except BaselineError:
            replaced = " (the old file could not be read and was replaced)"
    count = sum(len(names) for names in entries.values())
    totals = f"{count} migration{'s' if count != 1 else ''} of {len(entries)} app" + (
        "s" if len(entries) != 1 else ""
    )
    if _current_text(target) == text:
        _say(args, f"{shown}: unchanged, {totals}.")
        return EXIT_OK
    _write(target, text)
    _say(args, f"{shown}: recorded {totals}{_changes(before, entries)}{replaced}.")
    return EXIT_OK


def _changes(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]) -> str:
    if not before:
        return ""
    old = {(app, name): d for app, names in before.items() for name, d in names.items()}
    new = {(app, name): d for app, names in after.items() for name, d in names.items()}
    added = len(new.keys() - old.keys())
    removed = len(old.keys() - new.keys())
    updated = sum(1 for key in new.keys() & old.keys() if new[key] != old[key])
    return f" ({added} added, {removed} removed, {updated} updated)"


def _current_text(path: str) -> str | None:
    from miglint.source.pysource import SourceError, read_file

    try:
        return read_file(path).decode("utf-8")
    except (SourceError, UnicodeDecodeError):
        return None


def _write(path: str, text: str) -> None:
    """Write through a temporary file in the same folder, so a reader never sees half."""
    from miglint.cli.status import UsageError

    folder = os.path.dirname(path)
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".miglint-baseline-")
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
        temporary = None
    except OSError as error:
        raise UsageError(f"{path}: cannot write the baseline: {error.strerror}") from None
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _say(args: argparse.Namespace, line: str) -> None:
    if not args.quiet:
        print(line)
