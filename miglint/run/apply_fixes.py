"""`--fix` and `--show-fixes`: apply the edits of the findings until nothing more changes.

Each pass lints the project, takes the fixes that `--fix` may apply (safe ones; unsafe ones
too with `--unsafe-fixes`) whose edits touch nothing another fix of the pass touches, and
applies them in memory; a fix whose edits overlap waits for the next pass, which lints the
result again (as ruff does, with a small bound on the number of passes). Nothing is written
until the end: `write` then replaces each changed file atomically, keeping its mode, its
encoding and its line endings, and never through a symlink or outside the linted tree.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import stat
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from miglint.core.finding import Edit, Finding, TextEdit
from miglint.fixes import text as textmod
from miglint.fixes.source import SourceFile, parses, read_source
from miglint.graph.graph import build_graph
from miglint.graph.nodes import Migration
from miglint.project.load import Project
from miglint.run.attach_fixes import attach_edits
from miglint.source.parse import parse_migration
from miglint.source.pysource import SourceError, read_file

MAX_PASSES = 10

Linter = Callable[[Project], list[Finding]]


@dataclass
class FixRun:
    """What fixing a project did: the project after the fixes, what remains to report, the
    files changed (their original and new text), and counts for the summary."""

    project: Project
    findings: list[Finding]
    originals: dict[str, SourceFile] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    fixed: int = 0
    problems: list[str] = field(default_factory=list)
    unsafe: bool = False

    @property
    def unsafe_left(self) -> int:
        """Remaining findings that only an `--unsafe-fixes` run would fix."""
        if self.unsafe:
            return 0
        return sum(1 for f in self.findings if f.edit is not None and not f.edit.safe)

    def changed(self) -> list[str]:
        return sorted(path for path, text in self.texts.items() if text != self._before(path))

    def _before(self, path: str) -> str | None:
        source = self.originals[path]
        return source.text if source.data is not None else None

    def diff(self, display: Callable[[str], str]) -> str:
        """The unified diff of every changed file, in path order."""
        return "".join(
            textmod.unified_diff(display(path), self._before(path), self.texts[path])
            for path in self.changed()
        )


def fix_project(project: Project, lint: Linter, unsafe: bool) -> FixRun:
    """Apply fixes to `project` in memory until none is left that may be applied."""
    run = FixRun(project, [], unsafe=unsafe)
    current: dict[str, SourceFile] = {}

    def read(path: str) -> SourceFile | None:
        return current.get(path) or read_source(path)

    roots = [os.path.realpath(root) for root in project.roots]
    findings = attach_edits(lint(project), project, read, run.problems)
    for _ in range(MAX_PASSES):
        applied = _apply_pass(findings, unsafe, read, current, run, roots)
        if not applied:
            break
        run.fixed += applied
        project = with_files(project, {p: current[p].text for p in current}, run.originals)
        findings = attach_edits(lint(project), project, read, run.problems)
    else:
        if any(_wanted(f, unsafe) for f in findings):
            run.problems.append(
                f"fixes did not settle after {MAX_PASSES} passes; what is left is reported"
            )
    run.project = project
    run.findings = findings
    run.texts = {path: source.text for path, source in current.items()}
    return run


def _wanted(finding: Finding, unsafe: bool) -> bool:
    return finding.edit is not None and (finding.edit.safe or unsafe)


def _apply_pass(
    findings: Sequence[Finding],
    unsafe: bool,
    read: Callable[[str], SourceFile | None],
    current: dict[str, SourceFile],
    run: FixRun,
    roots: Sequence[str],
) -> int:
    """Apply the fixes of one pass that do not overlap; how many were applied."""
    taken: dict[str, list[tuple[int, int]]] = {}
    chosen: list[Edit] = []
    indexes: dict[str, textmod.LineIndex] = {}
    for finding in findings:
        edit = finding.edit
        if edit is None or not _wanted(finding, unsafe) or edit in chosen:
            continue
        ranges: list[tuple[str, tuple[int, int]]] = []
        for text_edit in edit.edits:
            source = read(text_edit.path)
            if source is None:
                if not creates_file(text_edit) or text_edit.path in taken:
                    break
                if os.path.lexists(text_edit.path):
                    break
                ranges.append((text_edit.path, (0, 0)))
                continue
            if text_edit.path not in indexes:
                indexes[text_edit.path] = textmod.LineIndex(source.text)
            ranges.append((text_edit.path, textmod.span(text_edit, indexes[text_edit.path])))
        else:
            problem = next(
                (p for p in {path for path, _ in ranges} if _unsafe_target(p, roots)), None
            )
            if problem is not None:
                message = f"{problem}: not fixed ({_unsafe_target(problem, roots)})"
                if message not in run.problems:
                    run.problems.append(message)
                continue
            if any(
                textmod.overlaps(where, other)
                for path, where in ranges
                for other in taken.get(path, ())
            ):
                continue
            for path, where in ranges:
                taken.setdefault(path, []).append(where)
            chosen.append(edit)
    if not chosen:
        return 0
    applied = _apply_edits(chosen, read, current, run)
    return sum(1 for finding in findings if finding.edit is not None and finding.edit in applied)


def _apply_edits(
    chosen: list[Edit],
    read: Callable[[str], SourceFile | None],
    current: dict[str, SourceFile],
    run: FixRun,
) -> list[Edit]:
    """Apply `chosen` (edits that do not overlap), file by file; a file whose result would
    not parse takes its fixes one at a time, dropping those that break it. Returns the
    fixes applied."""
    by_path: dict[str, list[tuple[int, TextEdit]]] = {}
    for number, edit in enumerate(chosen):
        for text_edit in edit.edits:
            by_path.setdefault(text_edit.path, []).append((number, text_edit))
    broken: set[int] = set()
    results: dict[str, str] = {}
    while True:
        # Each file takes its fixes together when the result parses; else one by one, in
        # order, keeping those that leave a file that parses. A fix dropped in one file is
        # dropped in all (it is applied whole or not at all), and the files are done again.
        dropped = len(broken)
        for path, edits in by_path.items():
            source = read(path)
            before = source.text if source is not None else ""
            numbers = [n for n in dict.fromkeys(n for n, _ in edits) if n not in broken]
            kept: list[int] = []
            for number in (
                numbers if _applied(before, edits, numbers, source is None) is None else ()
            ):
                if _applied(before, edits, [*kept, number], source is None) is None:
                    broken.add(number)
                else:
                    kept.append(number)
            result = _applied(
                before, edits, [n for n in numbers if n not in broken], source is None
            )
            results[path] = before if result is None else result
        if len(broken) == dropped:
            break
    applied = [edit for number, edit in enumerate(chosen) if number not in broken]
    for path, text in results.items():
        source = read(path)
        if source is None:
            if not text:
                continue
            source = SourceFile(path, "", "utf-8", None)
        if path not in run.originals:
            run.originals[path] = source
        current[path] = dataclasses.replace(source, text=text)
    return applied


def _applied(
    text: str, edits: list[tuple[int, TextEdit]], numbers: Sequence[int], new_file: bool
) -> str | None:
    """`text` with the edits of the fixes `numbers`, or None when the result does not parse."""
    chosen = [edit for number, edit in edits if number in numbers]
    if not chosen:
        return text
    if new_file:
        result = "".join(edit.content for edit in chosen)
    else:
        try:
            result = textmod.apply(text, chosen)
        except ValueError:
            return None
    return result if parses(result) else None


def creates_file(edit: TextEdit) -> bool:
    """The edit creates its file: an insertion at 1:1 of a path that does not exist."""
    return (edit.line, edit.column, edit.end_line, edit.end_column) == (1, 1, 1, 1)


def _unsafe_target(path: str, roots: Sequence[str]) -> str | None:
    """Why `path` must not be written, or None: a symlink, or a place outside the tree."""
    if os.path.islink(path):
        return "it is a symlink"
    real = os.path.realpath(path)
    if not any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots):
        return "it is outside the linted tree"
    return None


def with_files(
    project: Project, texts: dict[str, str], originals: dict[str, SourceFile]
) -> Project:
    """`project` as if the files in `texts` held that text (new migration files included)."""
    migrations: list[Migration] = []
    seen: set[str] = set()
    for migration in project.migrations:
        seen.add(migration.path)
        if migration.path in texts:
            migration = dataclasses.replace(migration, facts=parse_migration(texts[migration.path]))
        migrations.append(migration)
    apps = list(project.apps)
    for path in sorted(set(texts) - seen):
        if originals.get(path) is None or originals[path].data is not None:
            continue
        folder = os.path.dirname(os.path.abspath(path))
        position = next(
            (i for i, app in enumerate(apps) if os.path.abspath(app.migrations_path) == folder),
            None,
        )
        if position is None:
            continue
        app = apps[position]
        name = os.path.splitext(os.path.basename(path))[0]
        migrations.append(Migration(app.label, app.key, name, path, parse_migration(texts[path])))
        apps[position] = dataclasses.replace(
            app, migration_paths=tuple(sorted((*app.migration_paths, path)))
        )
    migrations.sort(key=lambda m: m.key)
    labels = {app.label: app.key for app in apps if app.key == app.label}
    return dataclasses.replace(
        project,
        apps=tuple(apps),
        migrations=tuple(migrations),
        graph=build_graph(migrations, labels),
    )


def write(run: FixRun) -> list[str]:
    """Write the changed files; one line for each that could not be written."""
    problems = []
    for path in run.changed():
        source = run.originals[path]
        data = source.encode(run.texts[path])
        if data is None:
            problems.append(f"{path}: not fixed (the fix cannot be written in {source.encoding})")
            continue
        try:
            if source.data is None:
                _create(path, data)
            else:
                _replace(path, source.data, data)
        except _NotWritten as reason:
            problems.append(f"{path}: not fixed ({reason})")
        except OSError as error:
            problems.append(f"{path}: not fixed ({error.strerror or error})")
    return problems


class _NotWritten(Exception):
    pass


def _replace(path: str, before: bytes, data: bytes) -> None:
    """Replace the file at `path` with `data` at once (a temporary file renamed over it),
    keeping its permissions (and owner, when allowed), unless it changed since it was read."""
    if os.path.islink(path):
        raise _NotWritten("it is a symlink")
    try:
        now = read_file(path)
    except SourceError as error:
        raise _NotWritten(str(error)) from None
    if now != before:
        raise _NotWritten("it changed while miglint was fixing it")
    status = os.stat(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".miglint-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        _take_over(temporary, status)
        os.replace(temporary, path)
    except BaseException:
        with_suppressed_unlink(temporary)
        raise


def _create(path: str, data: bytes) -> None:
    """Create `path` with `data`, never over an existing file; its permissions (and owner,
    when allowed) are those of the other files of its folder."""
    folder = os.path.dirname(os.path.abspath(path))
    sibling = _sibling(folder)
    handle, temporary = tempfile.mkstemp(prefix=".miglint-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        _take_over(temporary, sibling)
        try:
            os.link(temporary, path)
        except FileExistsError:
            raise _NotWritten("a file of that name appeared meanwhile") from None
    finally:
        with_suppressed_unlink(temporary)


def _sibling(folder: str) -> os.stat_result | None:
    """The status of a Python file in `folder`, to give a new file the same permissions."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        names = []
    for name in names:
        candidate = os.path.join(folder, name)
        if name.endswith(".py") and not os.path.islink(candidate) and os.path.isfile(candidate):
            return os.stat(candidate)
    return None


def _take_over(path: str, status: os.stat_result | None) -> None:
    """Give the file at `path` the permissions and, when allowed, the owner in `status`
    (None: the default permissions of a new file)."""
    if status is None:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(path, 0o666 & ~umask)
        return
    os.chmod(path, stat.S_IMODE(status.st_mode))
    if hasattr(os, "chown") and (status.st_uid, status.st_gid) != (os.getuid(), os.getgid()):
        # Run as another user (root in a container): the file keeps its owner.
        with contextlib.suppress(OSError):
            os.chown(path, status.st_uid, status.st_gid)


def with_suppressed_unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
