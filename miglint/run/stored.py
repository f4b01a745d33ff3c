"""What `results` keeps in the cache, and how it is read back.

"apps" (per migration file its content note, key and what it names; per app the key and
notes of its findings), "findings" (per app), per app "facts-<hash>" (the content of its
migrations, and their encoded facts once a run after the first has parsed them), and
"patches" (the project's changes to what makemigrations compares). Everything read back is
checked against its shape first: a stored value that does not fit is ignored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from miglint.core import inputs
from miglint.core.finding import Finding
from miglint.core.inputs import Note, Recorder, Seen
from miglint.graph.nodes import App
from miglint.run.cache import Cache, packed
from miglint.source.facts import MigrationFacts
from miglint.source.parse import parse_migration_bytes
from miglint.source.pysource import SourceError, read_file
from miglint.source.serial import Codec, DecodeError

if TYPE_CHECKING:
    from miglint.project.patches import ProjectPatches


STATE = "apps"


FINDINGS = "findings"


# Slots of an app's stored findings: for the whole tree, and for named files (FILE...),
# whose deploy findings depend on which files are named.
WHOLE, NAMED = "", "named"


# What a migration names and imports: labels of dependencies and replaces, labels of
# run_before, imported modules.
Summary = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]


def digest_of(*parts: object) -> bytes:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).digest()


@dataclass(frozen=True)
class FileEntry:
    """What the cache knows of one migration file."""

    seen: Seen
    key: bytes
    summary: Summary

    def as_value(self) -> tuple[Any, ...]:
        return (self.seen, self.key, *self.summary)


@dataclass(frozen=True)
class Record:
    """What an app's stored findings were computed from (the findings are in FINDINGS,
    read only when they are needed); `edits`: whether they carry their fixes' edits."""

    key: bytes
    reads: Mapping[Note, Seen]
    edits: bool = False

    def as_value(self) -> tuple[Any, ...]:
        return (self.key, dict(self.reads), self.edits)


@dataclass
class State:
    files: dict[str, FileEntry] = field(default_factory=dict)
    records: dict[str, Record] = field(default_factory=dict)

    @classmethod
    def load(cls, cache: Cache | None) -> State:
        value = cache.load(STATE) if cache is not None else None
        state = cls()
        if not isinstance(value, dict):
            return state
        files, records = value.get("files"), value.get("records")
        if isinstance(files, dict):
            for path, entry in files.items():
                parsed = _file_entry(path, entry)
                if parsed is not None:
                    state.files[path] = parsed
        if isinstance(records, dict):
            for slot, record in records.items():
                parsed_record = _record(slot, record)
                if parsed_record is not None:
                    state.records[slot] = parsed_record
        return state

    def save(self, cache: Cache) -> None:
        cache.save(
            STATE,
            {
                "files": {path: entry.as_value() for path, entry in self.files.items()},
                "records": {slot: record.as_value() for slot, record in self.records.items()},
            },
        )


# Findings stored for a slot: the key they were found under, and the encoded findings
# (FINDING_CODEC). The key ties them to their record: two runs at once may each write one
# of the two files, and findings of another state of the tree must never pass for these.
Stored = tuple[bytes, tuple[Any, ...]]


def load_findings(cache: Cache | None) -> dict[str, Stored]:
    value = cache.load(FINDINGS) if cache is not None else None
    if not isinstance(value, dict):
        return {}
    return {
        slot: entry
        for slot, entry in value.items()
        if isinstance(slot, str)
        and isinstance(entry, tuple)
        and len(entry) == 2
        and isinstance(entry[0], bytes)
        and isinstance(entry[1], tuple)
    }


def _strings(value: object) -> bool:
    return type(value) is tuple and all(type(item) is str for item in value)


def _file_entry(path: object, value: object) -> FileEntry | None:
    if type(path) is not str or type(value) is not tuple or len(value) != 5:
        return None
    seen, key, labels, run_before, imports = value
    if type(key) is not bytes or not (
        _strings(labels) and _strings(run_before) and _strings(imports)
    ):
        return None
    return FileEntry(seen, key, (labels, run_before, imports))


def _record(slot: object, value: object) -> Record | None:
    if not isinstance(slot, str) or not isinstance(value, tuple) or len(value) != 3:
        return None
    key, reads, edits = value
    if not isinstance(key, bytes) or not isinstance(reads, dict) or not isinstance(edits, bool):
        return None
    if not all(_is_note(note) for note in reads):
        return None
    return Record(key, reads, edits)


def _is_note(note: object) -> bool:
    return (
        isinstance(note, tuple)
        and len(note) == 2
        and isinstance(note[0], str)
        and isinstance(note[1], str)
    )


FACTS_CODEC = Codec(MigrationFacts)


FINDING_CODEC = Codec(Finding)


def decode_facts(encoded: object) -> MigrationFacts | None:
    try:
        facts = FACTS_CODEC.decode(encoded)
    except (ValueError, TypeError, DecodeError, RecursionError):
        return None
    return facts if isinstance(facts, MigrationFacts) else None


def summary_of(facts: MigrationFacts) -> Summary:
    named = {d.app for d in (*facts.dependencies, *facts.replaces) if d.app is not None}
    run_before = {d.app for d in facts.run_before if d.app is not None}
    return (
        tuple(sorted(named)),
        tuple(sorted(run_before)),
        tuple(sorted({imported.module for imported in facts.imports})),
    )


@dataclass(frozen=True)
class Parsed:
    """One migration file read and parsed."""

    path: str
    entry: FileEntry


def content_digest(seen: Seen) -> bytes:
    """The digest of a file's content from its note (of its error, when unreadable)."""
    if isinstance(seen, tuple) and len(seen) == 2 and isinstance(seen[1], bytes):
        return seen[1]
    return digest_of(seen)


def parse_file(path: str, started_ns: int) -> tuple[Seen, MigrationFacts, bytes | None]:
    """Read and parse `path`: what was read (its note), its facts, and its bytes."""
    local = Recorder(started_ns=started_ns)
    data: bytes | None = None
    with inputs.recording(local):
        try:
            data = read_file(path)
        except SourceError as error:
            facts = MigrationFacts(error=error)
        else:
            facts = parse_migration_bytes(data)
    return local.notes.get(("file", inputs.absolute(path)), ("error", "unreadable")), facts, data


def same_facts(first: MigrationFacts, second: MigrationFacts) -> bool:
    """Equal in every field, positions included (== leaves spans out)."""
    return packed(FACTS_CODEC.encode(first)) == packed(FACTS_CODEC.encode(second))


def facts_name(app: App) -> str:
    return "facts-" + hashlib.blake2b(app.key.encode(), digest_size=10).hexdigest()


# What the cache keeps of a migration file: the digest of its content, the content, and
# (after the first run) its facts encoded (FACTS_CODEC), or None.
StoredFile = tuple[bytes, bytes, object]


PATCHES = "patches"


def patches_value(patches: ProjectPatches) -> tuple[Any, ...]:
    return (
        patches.deconstruct,
        patches.option_keys,
        patches.option_keys_unknown,
        patches.autodetector,
        dict(patches.models),
        patches.any_model,
    )


def patches_key(patches: ProjectPatches | None) -> object:
    """`patches` in a form whose repr does not depend on the order of sets."""
    if patches is None:
        return None
    value = patches_value(patches)
    models = sorted((name, sorted(fields)) for name, fields in patches.models.items())
    return (*value[:4], models, value[5])


def stored_patches(
    value: object,
) -> tuple[bytes, dict[Note, Seen], tuple[Any, ...], ProjectPatches] | None:
    """(key, notes, stored value, patches) from what the cache holds, if well formed."""
    from miglint.project.patches import ProjectPatches

    if type(value) is not tuple or len(value) != 3:
        return None
    key, notes, stored = value
    if type(key) is not bytes or type(notes) is not dict or not all(map(_is_note, notes)):
        return None
    if type(stored) is not tuple or len(stored) != 6:
        return None
    deconstruct, keys, keys_unknown, autodetector, models, any_model = stored
    texts = (deconstruct, keys_unknown, autodetector, any_model)
    if not all(text is None or type(text) is str for text in texts):
        return None
    if keys is not None and not _strings(keys):
        return None
    if type(models) is not dict or not all(
        type(name) is str and type(fields) is frozenset and all(type(f) is str for f in fields)
        for name, fields in models.items()
    ):
        return None
    patches = ProjectPatches(deconstruct, keys, keys_unknown, autodetector, models, any_model)
    return key, notes, stored, patches


def stored_files(cache: Cache | None, app: App) -> dict[str, StoredFile]:
    """What the cache holds of an app's migration files, by path."""
    value = cache.load(facts_name(app)) if cache is not None else None
    if not isinstance(value, dict):
        return {}
    return {
        path: entry
        for path, entry in value.items()
        if isinstance(path, str)
        and isinstance(entry, tuple)
        and len(entry) == 3
        and isinstance(entry[0], bytes)
        and isinstance(entry[1], bytes)
    }
