"""Findings reused app by app when nothing they depend on changed.

A run's findings are the union of each app's findings. An app's findings depend on:

- the global inputs: miglint itself, the current folder, the configuration (with the
  command line's --select/--ignore), which apps the project has and where (with their
  labels and models files), the baseline, the Django version, what the settings say
  (lock_timeout, DEFAULT_AUTO_FIELD, the database, migration modules), and the modules
  that the migrations of all apps import;
- the parse facts of its own migrations and of the apps its graph reaches (the apps it
  depends on, transitively; apps whose `run_before` names it; apps sharing a label);
- whatever was read while it was analysed (its models files and the modules they import),
  as miglint.core.inputs records it.

Each app's findings are stored with a key over the first two and with the notes of the
third; an app whose key matches and whose notes still hold is not analysed again. A
migration file stands in the keys for its content digest; a file whose stat changed is
read again, and when its content changed it is parsed and compared with its previous
content (kept in the cache): when their facts are the same (a comment, a blank line) the
file keeps its key, and nothing that depends on it changes. The apps to analyse again are
loaded with the apps they depend on (facts from the cache where it has them), and the rules
run on that part of the project only (Project.analysed).

What is stored, and how it is read back, is in `stored` (the cache folder itself is
miglint.run.cache).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from miglint.core import inputs
from miglint.core.finding import Finding
from miglint.core.inputs import Checker, Note, Recorder, Seen
from miglint.graph.nodes import App
from miglint.project.load import Project, Survey, assemble, real_paths
from miglint.run.cache import Cache
from miglint.run.parallel import WorkerFailed, Workers, default_workers
from miglint.source.facts import MigrationFacts
from miglint.source.parse import parse_migration_bytes
from miglint.source.serial import DecodeError

if TYPE_CHECKING:
    from miglint.project.patches import ProjectPatches
from miglint.run.stored import (
    FACTS_CODEC,
    FINDING_CODEC,
    FINDINGS,
    NAMED,
    PATCHES,
    WHOLE,
    FileEntry,
    Parsed,
    Record,
    State,
    Stored,
    StoredFile,
    content_digest,
    decode_facts,
    digest_of,
    facts_name,
    load_findings,
    parse_file,
    patches_key,
    patches_value,
    same_facts,
    stored_files,
    stored_patches,
    summary_of,
)

# Below this many files to parse, or migrations to analyse, one process is faster.
PARALLEL_THRESHOLD = 400


@dataclass
class Shard:
    """The work of one process: the migrations it parsed (kept in memory), and analysis
    passes over some apps. With several processes, each holds one (miglint.run.parallel)."""

    survey: Survey
    cache: Cache | None
    started_ns: int
    facts: dict[str, MigrationFacts] = field(default_factory=dict)
    # The content of the files parsed here, to be stored by `finish`.
    sources: dict[str, bytes] = field(default_factory=dict)
    # App key -> what the cache holds for its files (read when first needed).
    stored: dict[str, dict[str, StoredFile]] = field(default_factory=dict)

    def parse(self, paths: Sequence[str], previous: Mapping[str, FileEntry]) -> list[Parsed]:
        """Parse `paths` and keep their facts. A file's key is the digest of its content,
        unless its facts are those of its `previous` version (a comment, a blank line):
        then the previous key stays, and nothing that depends on the file changes."""
        parsed = []
        app_of = {path: app for app in self.survey.apps for path in app.migration_paths}
        for path in paths:
            seen, facts, data = parse_file(path, self.started_ns)
            self.facts[path] = facts
            if data is not None:
                self.sources[path] = data
            key = content_digest(seen)
            before = previous.get(path)
            if before is not None and key != content_digest(before.seen) and path in app_of:
                stored = self._stored(app_of[path]).get(path)
                if (
                    stored is not None
                    and stored[0] == content_digest(before.seen)
                    and same_facts(parse_migration_bytes(stored[1]), facts)
                ):
                    key = before.key
            elif before is not None:
                key = before.key
            parsed.append(Parsed(path, FileEntry(seen, key, summary_of(facts))))
        return parsed

    def _stored(self, app: App) -> dict[str, StoredFile]:
        if app.key not in self.stored:
            self.stored[app.key] = stored_files(self.cache, app)
        return self.stored[app.key]

    def finish(self, encode: bool) -> None:
        """Store the content of the files parsed here (and, with `encode`, their facts),
        app by app. After the analysis: encoding makes many short-lived values, and rules
        that run after it, among the facts' scattered memory, run a tenth slower; and the
        first run of a project stores only the content (it is cheaper to parse again)."""
        if self.cache is None or not self.sources:
            return
        for app in self.survey.apps:
            if not any(path in self.sources for path in app.migration_paths):
                continue
            old = self._stored(app)
            entries: dict[str, StoredFile] = {}
            for path in app.migration_paths:
                if path in self.sources:
                    data = self.sources[path]
                    encoded = FACTS_CODEC.encode(self.facts[path]) if encode else None
                    entries[path] = (inputs.digest(data), data, encoded)
                elif path in old:
                    entries[path] = old[path]
            self.cache.save(facts_name(app), entries)
        self.sources.clear()

    def analyse(
        self,
        analysed: frozenset[str],
        loaded: frozenset[str],
        contents: Mapping[str, bytes],
        imported_modules: frozenset[str],
        edits: bool = False,
        patches: ProjectPatches | None = None,
    ) -> tuple[dict[str, list[Finding]], dict[str, dict[Note, Seen]], dict[Note, Seen]]:
        """Lint the apps `analysed` on the part of the project made of the apps `loaded`
        (facts from memory, from the cache when stored for the content whose digest is in
        `contents`, or parsed), with the edits of their fixes when `edits`, and the
        project's `patches` when known. Returns each analysed app's findings and the notes
        made for it, and all notes."""
        from miglint.run.lint import lint

        recorder = Recorder(started_ns=self.started_ns)
        owners = Owners(self.survey, analysed)
        with inputs.recording(recorder), recorder.acting_for(analysed):
            facts = self._facts_of(loaded, contents)
            project = assemble(self.survey, facts, analysed, imported_modules, patches)
            owned = [(finding, owners.of(finding)) for finding in lint(project)]
            if edits:
                owned = _with_edits(owned, project, recorder)
        by_app: dict[str, list[Finding]] = {key: [] for key in analysed}
        for finding, keys in owned:
            for owner in keys:
                by_app[owner].append(finding)
        reads = {key: recorder.by_app.get(key, {}) for key in analysed}
        return by_app, reads, recorder.notes

    def _facts_of(
        self, loaded: frozenset[str], contents: Mapping[str, bytes]
    ) -> dict[str, MigrationFacts]:
        result = {}
        for app in self.survey.apps:
            if app.key not in loaded:
                continue
            # Read for this app only, and let go of once decoded (not kept in `stored`: the
            # encoded facts of a whole project would double what the run holds).
            files: dict[str, StoredFile] | None = None
            for path in app.migration_paths:
                facts = self.facts.get(path)
                if facts is None:
                    if files is None:
                        files = self.stored.get(app.key) or stored_files(self.cache, app)
                    stored = files.get(path)
                    if stored is not None and stored[0] == contents.get(path):
                        facts = decode_facts(stored[2]) if stored[2] is not None else None
                if facts is None:
                    # Parsed again: its facts are stored for the next run (see `finish`).
                    _, facts, data = parse_file(path, self.started_ns)
                    if data is not None:
                        self.sources[path] = data
                self.facts[path] = facts
                result[path] = facts
        return result


def _with_edits(
    owned: list[tuple[Finding, tuple[str, ...]]], project: Project, recorder: Recorder
) -> list[tuple[Finding, tuple[str, ...]]]:
    """`owned` (findings with the apps they belong to) with the edits of their fixes; what
    a fix reads (the finding's file, a merge migration's name) is noted for those apps."""
    from miglint.run.attach_fixes import attach_edits

    groups: dict[tuple[str, ...], list[int]] = {}
    for index, (_, keys) in enumerate(owned):
        groups.setdefault(keys, []).append(index)
    result = list(owned)
    for keys, indexes in groups.items():
        with recorder.acting_for(frozenset(keys)):
            fixed = attach_edits([owned[i][0] for i in indexes], project)
        for index, finding in zip(indexes, fixed, strict=True):
            result[index] = (finding, keys)
    return result


class Owners:
    """Which analysed app a finding is about: the app of its migration file, else the app
    its `app` label names (MIG401 may point into a module of another app)."""

    def __init__(self, survey: Survey, analysed: frozenset[str]) -> None:
        self.analysed = analysed
        self.by_migration: dict[str, str] = {}
        self.by_label: dict[str, list[App]] = {}
        for app in survey.apps:
            for path in app.migration_paths:
                self.by_migration.setdefault(path, app.key)
            if app.key in analysed:
                self.by_label.setdefault(app.label, []).append(app)

    def of(self, finding: Finding) -> tuple[str, ...]:
        key = self.by_migration.get(finding.path)
        if key is not None:
            return (key,) if key in self.analysed else ()
        candidates = self.by_label.get(finding.app or "", [])
        if len(candidates) > 1:
            inside = [
                a
                for a in candidates
                if finding.path in a.models_paths or finding.path.startswith(a.path + os.sep)
            ]
            candidates = inside or candidates
        # A finding about no app in particular is kept with every app analysed with it.
        return tuple(a.key for a in candidates) if candidates else tuple(sorted(self.analysed))


def wanted_apps(survey: Survey, state: State) -> frozenset[str]:
    """The apps whose findings the run reports: all, or (with files named) the apps of the
    named files, and the apps whose analysis read a named file that belongs to no app (a
    models module with an abstract base: MIG401 points there); all of them when some app
    has never been analysed, so that what it reads is not known."""
    every = frozenset(app.key for app in survey.apps)
    if survey.only_paths is None:
        return every
    real = {os.path.realpath(path) for path in survey.only_paths}
    resolved = real_paths(
        p for app in survey.apps for p in (*app.migration_paths, *app.models_paths)
    )
    wanted = {
        app.key
        for app in survey.apps
        if any(resolved[p] in real for p in (*app.migration_paths, *app.models_paths))
    }
    others = real - {resolved[p] for p in resolved}
    if not others:
        return frozenset(wanted)
    read: dict[str, set[str]] = {}
    for slot, record in state.records.items():
        read.setdefault(slot.rpartition("\0")[0], set()).update(
            os.path.realpath(path) for kind, path in record.reads if kind == "file"
        )
    for app_key in every:
        if app_key not in read or read[app_key] & others:
            wanted.add(app_key)
    return frozenset(wanted)


@dataclass
class Incremental:
    """One run of the rules over a surveyed project, reusing what the cache holds."""

    survey: Survey
    cache: Cache | None
    # Hashed into every app's key: miglint's fingerprint and the current folder.
    salt: bytes
    workers: int | None = None
    threshold: int = PARALLEL_THRESHOLD
    checker: Checker = field(default_factory=Checker)
    # Whether the findings carry the edits of their fixes (the output shows them: JSON,
    # SARIF, --statistics); worked out only then, and stored with them.
    edits: bool = False
    state: State = field(default_factory=State)
    files: dict[str, FileEntry] = field(default_factory=dict)
    # Each app's apps whose facts its findings may use (see `upstream`).
    reach: dict[str, frozenset[str]] = field(default_factory=dict)
    # Apps analysed in this run (the others' findings came from the cache).
    analysed: frozenset[str] = frozenset()
    # Filled by `prepare`: the apps reported on, their keys, which slot their findings
    # go in, the records still valid, the stored findings (loaded when needed).
    wanted: frozenset[str] = frozenset()
    keys: dict[str, bytes] = field(default_factory=dict)
    slot_kind: str = WHOLE
    fresh: dict[str, Record] = field(default_factory=dict)
    stored: dict[str, Stored] | None = None
    shards: Any = None
    # The digest of every reported app's key: names the result (see miglint.run.answers).
    result: bytes = b""
    # Whether the stored file entries changed (then the state is written again).
    files_changed: bool = False
    # The project's changes to what makemigrations compares (MIG401), read once for all
    # apps (see `_project_patches`); None when MIG401 is not selected.
    patches: ProjectPatches | None = None

    def run(self) -> list[Finding]:
        """Every finding of the project (sorted), as `lint(load_project(...))` gives them."""
        self.prepare()
        return self.findings()

    def prepare(self) -> bytes:
        """Check and parse the migration files and tell which apps must be analysed again;
        returns the digest of every reported app's key, which names the result."""
        self.state = State.load(self.cache)
        survey = self.survey
        self.slot_kind = WHOLE if survey.only_paths is None else NAMED
        self.wanted = wanted_apps(survey, self.state)
        self.shards = _Processes(self)
        changed = self._check_files()
        self._parse(self.shards, changed)
        if changed or self.files.keys() != self.state.files.keys():
            self.files_changed = True
        self.patches = self._project_patches()
        self.keys = self._keys()
        stale = []
        for app in survey.apps:
            if app.key not in self.wanted:
                continue
            slot = _slot(app.key, self.slot_kind)
            record = self.state.records.get(slot)
            if (
                record is not None
                and record.key == self.keys[app.key]
                and (record.edits or not self.edits)
                and self._holds(record)
            ):
                self._note_reads(app.key, record.reads)
                self.fresh[slot] = record
            else:
                stale.append(app.key)
        self.analysed = frozenset(stale)
        self.result = self._result()
        return self.result

    def _result(self) -> bytes:
        return digest_of(self.slot_kind, sorted((key, self.keys[key]) for key in self.wanted))

    def findings(self) -> list[Finding]:
        """The findings: stored ones, and those of the apps analysed again (then stored)."""
        if self.stored is None:
            self.stored = load_findings(self.cache)
        found: list[Finding] = []
        encoded: dict[str, Stored] = {}
        try:
            for app_key in sorted(self.wanted - self.analysed):
                slot = _slot(app_key, self.slot_kind)
                entry = self.stored.get(slot)
                with_edits = entry is not None and entry[0] == _with_edits_key(self.keys[app_key])
                if entry is None or not (
                    with_edits or (entry[0] == self.keys[app_key] and not self.edits)
                ):
                    # Findings lost, of another state of the tree, or without the edits
                    # asked for: analysed again.
                    self.analysed |= {app_key}
                    continue
                stored = _decoded_findings(entry[1])
                if with_edits and not self.edits:
                    stored = [replace(f, edit=None) if f.edit else f for f in stored]
                found.extend(stored)
            results = list(self._analyse(self.shards, self.analysed)) if self.analysed else []
            # What was parsed is stored now (its facts too, unless this is the first run).
            self.shards.finish(encode=bool(self.state.files))
            for app_key, new, reads in results:
                found.extend(new)
                slot = _slot(app_key, self.slot_kind)
                self.fresh[slot] = Record(self.keys[app_key], reads, self.edits)
                key = _with_edits_key(self.keys[app_key]) if self.edits else self.keys[app_key]
                encoded[slot] = (key, tuple(map(FINDING_CODEC.encode, new)))
        finally:
            self.shards.close()
        self._store(encoded)
        return sorted(set(found), key=Finding.sort_key)

    def finish_unchanged(self) -> None:
        """End a run whose answer is reused as a whole: keep the refreshed file notes and
        the content of files changed without consequence (the next change compares
        with it)."""
        try:
            self.shards.finish(encode=bool(self.state.files))
        finally:
            self.shards.close()
        self._store({})

    # --- files ---------------------------------------------------------------------------

    def _check_files(self) -> list[tuple[str, str]]:
        """(app key, path) of each migration file to parse; the others' entries are kept."""
        recorder = inputs.active()
        changed = []
        for app, path in self.survey.migration_files():
            entry = self.state.files.get(path)
            note = ("file", inputs.absolute(path))
            if entry is not None and self.checker.holds(note, entry.seen):
                seen = self.checker.refreshed.get(note, entry.seen)
                if seen != entry.seen:
                    entry = FileEntry(seen, entry.key, entry.summary)
                    self.files_changed = True
                self.files[path] = entry
                if recorder is not None:
                    with recorder.acting_for(None):
                        recorder.note(note, seen)
            else:
                changed.append((app.key, path))
        return changed

    def _parse(self, shards: _Processes, changed: list[tuple[str, str]]) -> None:
        recorder = inputs.active()
        # A changed file's facts are compared with those it had.
        previous = {path: self.state.files[path] for _, path in changed if path in self.state.files}
        for parsed in shards.parse(changed, previous):
            self.files[parsed.path] = parsed.entry
            if recorder is not None:
                with recorder.acting_for(None):
                    recorder.note(("file", inputs.absolute(parsed.path)), parsed.entry.seen)

    def _holds(self, record: Record) -> bool:
        return all(self.checker.holds(note, seen) for note, seen in record.reads.items())

    def _note_reads(self, app_key: str, reads: Mapping[Note, Seen]) -> None:
        recorder = inputs.active()
        if recorder is None:
            return
        with recorder.acting_for(frozenset((app_key,))):
            for note, seen in reads.items():
                recorder.note(note, self.checker.refreshed.get(note, seen))

    # --- what the whole project says ------------------------------------------------------

    def _project_patches(self) -> ProjectPatches | None:
        """The project's patches of Django's comparison (MIG401 reads every module of the
        project for them): from the cache while every look it took still holds, else read
        again. They are part of every app's key, so the modules they were read from are
        inputs of the answer but of no app's findings: a module edited without touching a
        patch analyses nothing again."""
        survey = self.survey
        if not survey.apps or not survey.config.enabled("MIG401"):
            return None
        from miglint.project.patches import find_patches
        from miglint.state.state import ALTER_OPTION_KEYS

        key = digest_of(self.salt, survey.roots, survey.config)
        stored = stored_patches(self.cache.load(PATCHES) if self.cache is not None else None)
        recorder = inputs.active()
        if stored is not None and stored[0] == key and self.checker.all_hold(stored[1]):
            notes = {
                note: self.checker.refreshed.get(note, seen) for note, seen in stored[1].items()
            }
            if notes != stored[1] and self.cache is not None:
                self.cache.save(PATCHES, (key, notes, stored[2]))
            patches = stored[3]
        else:
            local = Recorder(started_ns=self.checker.started_ns)
            with inputs.recording(local):
                patches = find_patches(survey.roots, ALTER_OPTION_KEYS, survey.config.excluded)
            notes = local.notes
            if local.unstable and recorder is not None:
                recorder.unstable = True
            if self.cache is not None and not local.unstable:
                self.cache.save(PATCHES, (key, notes, patches_value(patches)))
        if recorder is not None:
            # Inputs of the answer, of no app in particular.
            with recorder.acting_for(None):
                for note, seen in notes.items():
                    recorder.note(note, seen)
        return patches

    # --- keys ----------------------------------------------------------------------------

    def imported_modules(self) -> frozenset[str]:
        return frozenset(module for entry in self.files.values() for module in entry.summary[2])

    def _global_key(self) -> bytes:
        survey = self.survey
        apps = tuple(
            (a.label, a.key, a.path, a.migrations_path, a.models_paths, a.label_source)
            for a in survey.apps
        )
        return digest_of(
            self.salt,
            survey.roots,
            survey.config,
            apps,
            survey.baseline,
            survey.django_version,
            survey.settings,
            sorted(survey.only_paths) if survey.only_paths is not None else None,
            sorted(self.imported_modules()),
            patches_key(self.patches),
        )

    def _own_keys(self) -> dict[str, bytes]:
        return {
            app.key: digest_of(app, [self.files[path].key for path in app.migration_paths])
            for app in self.survey.apps
        }

    def upstream(self) -> dict[str, frozenset[str]]:
        """Each app's apps whose facts its findings may use, itself included."""
        by_label: dict[str, list[str]] = {}
        for app in self.survey.apps:
            by_label.setdefault(app.label, []).append(app.key)
        direct: dict[str, set[str]] = {app.key: {app.key} for app in self.survey.apps}
        for app in self.survey.apps:
            # Apps sharing a label are told apart by where they are: all of them count.
            direct[app.key].update(by_label[app.label])
            for path in app.migration_paths:
                named, run_before, _ = self.files[path].summary
                for label in named:
                    direct[app.key].update(by_label.get(label, ()))
                for label in run_before:
                    for other in by_label.get(label, ()):
                        direct[other].add(app.key)
        closed: dict[str, frozenset[str]] = {}
        for key in direct:
            seen = set(direct[key])
            stack = list(seen)
            while stack:
                for other in direct[stack.pop()]:
                    if other not in seen:
                        seen.add(other)
                        stack.append(other)
            closed[key] = frozenset(seen)
        return closed

    def _keys(self) -> dict[str, bytes]:
        own = self._own_keys()
        common = self._global_key()
        self.reach = self.upstream()
        return {key: digest_of(common, sorted((k, own[k]) for k in self.reach[key])) for key in own}

    # --- analysis ------------------------------------------------------------------------

    def _analyse(
        self, shards: _Processes, stale: frozenset[str]
    ) -> Iterable[tuple[str, list[Finding], dict[Note, Seen]]]:
        scope = self._scope_apps()
        contents = {path: content_digest(entry.seen) for path, entry in self.files.items()}
        imported = self.imported_modules()
        recorder = inputs.active()
        analysed = shards.analyse(stale, self.reach, scope, contents, imported, self.patches)
        for by_app, reads, notes in analysed:
            if recorder is not None:
                for note, seen in notes.items():
                    recorder.notes.setdefault(note, seen)
            for app_key, found in by_app.items():
                if recorder is not None:
                    recorder.by_app.setdefault(app_key, {}).update(reads[app_key])
                yield app_key, found, reads[app_key]

    def _scope_apps(self) -> frozenset[str]:
        """Apps of the migrations named on the command line (the change under review)."""
        named = self.survey.only_paths
        if named is None:
            return frozenset()
        return frozenset(
            app.key for app in self.survey.apps if any(p in named for p in app.migration_paths)
        )

    # --- storing -------------------------------------------------------------------------

    def _store(self, encoded: dict[str, Stored]) -> None:
        """Write what changed: the state (files and records), the findings of the apps
        analysed again, and drop what belongs to apps that are gone."""
        if self.cache is None:
            return
        every = {app.key for app in self.survey.apps}
        records = {
            slot: record
            for slot, record in self.state.records.items()
            if slot.rpartition("\0")[0] in every
        }
        records.update(self.fresh)
        if self.files_changed or records != self.state.records:
            State(dict(self.files), records).save(self.cache)
        if self.analysed:
            stored = self.stored or {}
            kept = {slot: found for slot, found in stored.items() if slot in records}
            kept.update(encoded)
            self.cache.save(FINDINGS, kept)
        names = {facts_name(app) for app in self.survey.apps}
        for name in self.cache.names():
            # Facts of apps that are gone, and the entries of the cache's first format
            # (one JSON file per migration).
            if (name.startswith("facts-") and name not in names) or name.endswith(".json"):
                self.cache.remove(name)


def _slot(app_key: str, kind: str) -> str:
    return f"{app_key}\0{kind}"


def _with_edits_key(key: bytes) -> bytes:
    """What stored findings with edits are stored under: their app's key made another, so
    that findings stored without edits (by a run at the same time) never pass for them."""
    return digest_of(key, "edits")


def _decoded_findings(encoded: Iterable[Any]) -> list[Finding]:
    result = []
    for item in encoded:
        try:
            finding = FINDING_CODEC.decode(item)
        except (DecodeError, ValueError, TypeError, RecursionError):
            continue
        if isinstance(finding, Finding):
            result.append(finding)
    return result


class _Processes:
    """The shards of a run: this process's own, and with much to do, worker processes'
    (miglint.run.parallel.Workers) that keep what they parsed for the analysis that follows."""

    def __init__(self, run: Incremental) -> None:
        self.run = run
        self.local = Shard(run.survey, run.cache, run.checker.started_ns)
        self.workers: Workers | None = None
        # App key -> the shard (0: this process) holding its parsed migrations.
        self.holder: dict[str, int] = {}

    def __enter__(self) -> _Processes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.workers is not None:
            self.workers.close()
            self.workers = None

    def _shards(self, work: int) -> int:
        """How many shards to use for `work` files; starts the workers on first need."""
        count = self.run.workers if self.run.workers is not None else default_workers()
        if count < 2 or work < self.run.threshold:
            return 1
        if self.workers is None:
            local = self.local
            self.workers = Workers(
                count - 1, lambda: Shard(local.survey, local.cache, local.started_ns)
            )
        return 1 + len(self.workers)

    def _call(self, calls: list[tuple[str, tuple[Any, ...]]]) -> list[Any]:
        """Run call i on shard i (0 here, the others in workers) and return the results;
        a worker that fails has its call run here."""
        sent = []
        for index, (method, args) in enumerate(calls[1:], start=0):
            try:
                assert self.workers is not None
                self.workers.send(index, method, *args)
                sent.append(index)
            except WorkerFailed:
                pass
        method, args = calls[0]
        results = [getattr(self.local, method)(*args)]
        for index, (method, args) in enumerate(calls[1:], start=0):
            try:
                if index not in sent:
                    raise WorkerFailed("not sent")
                assert self.workers is not None
                results.append(self.workers.receive(index))
            except WorkerFailed:
                results.append(getattr(self.local, method)(*args))
                self._moved_here(index + 1)
        return results

    def finish(self, encode: bool) -> None:
        """Every shard stores what it parsed."""
        count = 1 + (len(self.workers) if self.workers is not None else 0)
        self._call([("finish", (encode,))] * count)

    def _moved_here(self, shard: int) -> None:
        for app, holder in self.holder.items():
            if holder == shard:
                self.holder[app] = 0

    def parse(
        self, changed: list[tuple[str, str]], previous: Mapping[str, FileEntry]
    ) -> list[Parsed]:
        shards = self._shards(len(changed))
        by_app: dict[str, list[str]] = {}
        for app, path in changed:
            by_app.setdefault(app, []).append(path)
        groups = _balanced(by_app, {app: len(paths) for app, paths in by_app.items()}, shards)
        calls = [
            ("parse", ([path for app in sorted(group) for path in by_app[app]], previous))
            for group in groups
        ]
        for shard, group in enumerate(groups):
            for app in group:
                self.holder[app] = shard
        return [parsed for result in self._call(calls) for parsed in result]

    def analyse(
        self,
        stale: frozenset[str],
        reach: Mapping[str, frozenset[str]],
        scope: frozenset[str],
        contents: Mapping[str, bytes],
        imported: frozenset[str],
        patches: ProjectPatches | None,
    ) -> list[tuple[dict[str, list[Finding]], dict[str, dict[Note, Seen]], dict[Note, Seen]]]:
        sizes = {app.key: len(app.migration_paths) for app in self.run.survey.apps}
        shards = self._shards(sum(sizes[key] for key in stale))
        groups = _balanced(
            {key: [] for key in stale}, {key: sizes[key] for key in stale}, shards, self.holder
        )
        calls = []
        for group in groups:
            loaded = set(scope)
            for key in group:
                loaded.update(reach[key])
            arguments = (
                frozenset(group),
                frozenset(loaded),
                contents,
                imported,
                self.run.edits,
                patches,
            )
            calls.append(("analyse", arguments))
        return [result for result, group in zip(self._call(calls), groups, strict=True) if group]


def _balanced(
    items: Mapping[str, object],
    sizes: Mapping[str, int],
    shards: int,
    holder: Mapping[str, int] | None = None,
) -> list[list[str]]:
    """`items` split into `shards` groups of about equal total size, each item kept with
    its holder when that does not overload it."""
    groups: list[list[str]] = [[] for _ in range(shards)]
    loads = [0] * shards
    fair = sum(sizes.values()) / shards * 1.1 if shards else 0
    for key in sorted(items, key=lambda k: (-sizes[k], k)):
        preferred = holder.get(key) if holder is not None else None
        if preferred is not None and preferred < shards and loads[preferred] + sizes[key] <= fair:
            shard = preferred
        else:
            shard = loads.index(min(loads))
        groups[shard].append(key)
        loads[shard] += sizes[key]
    return groups
