"""The parse cache: same findings with and without it (and with parallel parsing), entries
that are corrupt, forged, truncated or written by two processes at once are never believed,
and the linted tree is never written to outside `.miglint_cache/`."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from bench.generate import generate
from miglint import cache as cache_module
from miglint import syntax as s
from miglint.cache import CACHE_DIR, Cache, open_cache
from miglint.config import Config
from miglint.lint import lint
from miglint.parallel import parse_all, read_each
from miglint.parse import MigrationFacts, parse_migration_bytes
from miglint.project import load_project
from miglint.report import json as json_report
from miglint.rules import all_rules
from miglint.rules.base import example_files
from miglint.serial import Codec, DecodeError
from tests.helpers import migration, run_cli, write_tree

# Every kind of value and statement the parser produces, in one file.
ODD_MIGRATION = """\
# miglint: ignore-file[MIG301]
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.migrations import operations as ops

CONSTANTS = {"a": 1, b"raw": 2j, "inf": 1e999, "neg": -0.0, "set": {1, 2}, 3: (None, True)}
EXTRA = [migrations.RunSQL("SELECT 1", migrations.RunSQL.noop)]


async def later(apps, schema_editor):
    pass


def forwards(apps, schema_editor, *args, **kwargs):
    Model = apps.get_model("shop", "Product")
    for row in Model.objects.all():
        for other in row.items.all():
            row.save()
    Model.objects.filter(pk__in=[r.pk for r in Model.objects.all()]).update(flag=True)


class Migration(migrations.Migration):
    initial = True
    atomic = False
    replaces = [("shop", "0001_old"), ("shop", NAME)]
    run_before = [("billing", "0001_initial")]
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        (settings.BILLING_APP, "0001_initial"),
        ("shop", "__first__"),
        get_dependency(),
    ]
    operations = [
        migrations.CreateModel(
            name="Product",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("price", models.DecimalField(max_digits=2 ** 4, decimal_places=-2)),
                ("blob", models.BinaryField(default=b"\\x00\\xff")),
                ("ratio", models.FloatField(default=float("nan"))),
                ("slug", models.CharField(default=PREFIX + "-x", max_length=5)),
                ("owner", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
            ],
            options={"ordering": ["-id"], "verbose_name": f"product {1}"},
            bases=(models.Model,),
        ),
        migrations.RunPython(forwards, lambda apps, editor: None, elidable=True),
        migrations.RunPython(code=later, *extra_args, **extra_kwargs),  # miglint: ignore[MIG201]
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(["DROP TABLE x", ("SELECT %s", [1])])],
            state_operations=[ops.RemoveField("product", "legacy")],
        ),
        [x for x in range(3)],
        *EXTRA,
    ] + EXTRA
"""

# Where `operations` sits in an encoded MigrationFacts (a list of its fields).
OPERATIONS = [f.name for f in dataclasses.fields(MigrationFacts)].index("operations")
BROKEN = b"from django.db import migrations\n\nclass Migration(migrations.Migration:\n"


def facts_of(text: str | bytes) -> MigrationFacts:
    return parse_migration_bytes(text.encode() if isinstance(text, str) else text)


def corpus(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    """Migration sources: every rule example, odd and broken files, a generated project."""
    for rule in all_rules():
        for example in (*rule.VALID, *rule.INVALID):
            for path, text in example_files(example).items():
                if "/migrations/" in path:
                    yield f"{rule.code}:{path}", text.encode()
    yield "odd", ODD_MIGRATION.encode()
    yield "broken", BROKEN
    yield "binary", b"\x00\x01class Migration"
    yield "latin-1", b"# -*- coding: latin-1 -*-\nNAME = '\xe9'\n"
    yield "no class", b"def helper():\n    return 1\n"
    yield "3.14 syntax", b"try:\n    pass\nexcept A, B:\n    pass\nclass Migration:\n    pass\n"
    root = tmp_path / "generated"
    generate(str(root), 120, per_app=40, seed=3)
    for path in sorted(root.glob("*/migrations/0*.py")):
        yield str(path), path.read_bytes()


def instances(value: Any) -> Iterator[Any]:
    """Every dataclass instance inside `value`, itself included."""
    stack = [value]
    while stack:
        current = stack.pop()
        if dataclasses.is_dataclass(current) and not isinstance(current, type):
            yield current
            stack.extend(getattr(current, f.name) for f in dataclasses.fields(current))
        elif isinstance(current, tuple | list | frozenset | set):
            stack.extend(current)
        elif isinstance(current, dict):
            stack.extend(current.keys())
            stack.extend(current.values())


def test_every_fact_type_round_trips_through_json(tmp_path: Path) -> None:
    codec = Codec(MigrationFacts)
    seen: set[type] = set()
    count = 0
    for name, data in corpus(tmp_path):
        facts = facts_of(data)
        text = json.dumps(codec.encode(facts), allow_nan=False)
        back = codec.decode(json.loads(text))
        # `==` skips spans (compare=False); repr shows every field, and types (1 vs True).
        assert back == facts, name
        assert repr(back) == repr(facts), name
        seen.update(type(item) for item in instances(facts))
        count += 1
    assert count > 150
    # The corpus reaches every dataclass the facts can hold, so none is left untested.
    known = set(codec._classes)
    assert known - seen <= {s.Missing}, sorted(c.__name__ for c in known - seen)


def test_decoding_rejects_documents_of_the_wrong_shape() -> None:
    codec = Codec(MigrationFacts)
    good = codec.encode(facts_of(ODD_MIGRATION))
    assert codec.decode(good) == facts_of(ODD_MIGRATION)
    wrong: list[Any] = [
        None,
        [],
        {"MigrationFacts": good},
        good[:-1],
        [*good, 1],
        ["True", *good[1:]],
        [1, *good[1:]],
        # class_span of three numbers
        [good[0], [1, 2, 3], *good[2:]],
        # an operation tagged as a class that exists but is not allowed there
        [*good[:OPERATIONS], [{"os.system": ["ls"]}], *good[OPERATIONS + 1 :]],
        # a bool where a Span's int goes
        [good[0], [True, 1, 1, 1], *good[2:]],
    ]
    for document in wrong:
        with pytest.raises(DecodeError):
            codec.decode(document)


def open_test_cache(root: Path, home: Path) -> Cache:
    cache = open_cache(Config(root=str(root)), [str(root)], {"XDG_CACHE_HOME": str(home)})
    assert cache is not None
    return cache


def findings_json(root: Path, reader: Any) -> str:
    project = load_project([str(root)], Config(root=str(root)), parse_files=reader)
    return json_report.render(lint(project))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    generate(str(root), 60, per_app=20, seed=5)
    return root


def test_findings_are_identical_with_and_without_cache_and_workers(
    project: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    plain = findings_json(project, read_each)
    assert json.loads(plain), "the generated project should give some findings"
    cache = open_test_cache(project, home)
    cold = findings_json(project, cache)
    warm = findings_json(project, cache)
    parallel = findings_json(project, partial(parse_all, read_each, workers=2, threshold=1))
    cache.clear()
    parallel_cache = dataclasses.replace(open_test_cache(project, home), workers=2, threshold=1)
    parallel_cold = findings_json(project, parallel_cache)
    parallel_warm = findings_json(project, parallel_cache)
    assert plain == cold == warm == parallel == parallel_cold == parallel_warm
    paths = [str(p) for p in sorted(project.glob("*/migrations/0*.py"))]
    facts = [read_each([path])[0] for path in paths]
    parallel_cache.clear()
    parallel_cache = dataclasses.replace(open_test_cache(project, home), workers=2, threshold=1)
    assert repr(parallel_cache(paths)) == repr(facts)
    assert repr(parse_all(read_each, paths, workers=2, threshold=1)) == repr(facts)


def test_a_warm_run_reads_every_file_from_the_cache(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = open_test_cache(project, tmp_path / "home")
    paths = [str(p) for p in sorted(project.glob("*/migrations/0*.py"))]
    cold = cache(paths)
    parsed: list[bytes] = []
    monkeypatch.setattr(
        cache_module, "parse_migration_bytes", lambda data: parsed.append(data) or facts_of(data)
    )
    assert repr(cache(paths)) == repr(cold)
    assert parsed == []
    # A changed file is parsed again, and its new facts are used.
    Path(paths[0]).write_text(migration(operations='        migrations.DeleteModel("Gone"),'))
    changed = cache(paths)
    assert len(parsed) == 1
    assert [op.name for op in changed[0].operations] == ["DeleteModel"]
    assert repr(changed[1:]) == repr(cold[1:])


def entry_for(cache: Cache, path: Path) -> Path:
    return Path(cache.entry_path(cache.key(cache.content_hash(path.read_bytes()))))


def test_damaged_entries_are_ignored_and_rewritten(project: Path, tmp_path: Path) -> None:
    cache = open_test_cache(project, tmp_path / "home")
    path = sorted(project.glob("*/migrations/0*.py"))[3]
    expected = repr(facts_of(path.read_bytes()))
    cache([str(path)])
    entry = entry_for(cache, path)
    good = entry.read_bytes()
    header, mac, body = good.split(b"\n", 2)
    document = json.loads(body)
    document["facts"][OPERATIONS] = []
    forged_body = json.dumps(document).encode()
    deep = b"[" * 100_000 + b"]" * 100_000
    damaged = [
        b"",
        good[: len(good) // 2],
        b"not json at all \xff\xfe",
        good.replace(b"miglint-cache 1", b"miglint-cache 9"),
        # A forged entry (as a pull request could commit): the MAC needs the secret.
        b"\n".join([header, mac, forged_body]),
        b"\n".join([header, b"0" * 64, forged_body]),
        # Signed with the real secret but of the wrong shape, or deeply nested.
        b"\n".join([header, cache._mac(b"[1, 2]").encode(), b"[1, 2]"]),
        b"\n".join([header, cache._mac(deep).encode(), deep]),
    ]
    for content in damaged:
        entry.write_bytes(content)
        assert repr(cache([str(path)])[0]) == expected
        # ... and the entry was rewritten: the next run reads it back.
        assert cache.load(cache.content_hash(path.read_bytes())) is not None
    # Another file's (valid) entry copied under this key does not pass for this content.
    other = sorted(project.glob("*/migrations/0*.py"))[4]
    cache([str(other)])
    entry.write_bytes(entry_for(cache, other).read_bytes())
    assert repr(cache([str(path)])[0]) == expected


def test_entries_that_are_not_plain_files_are_never_followed(project: Path, tmp_path: Path) -> None:
    cache = open_test_cache(project, tmp_path / "home")
    path = sorted(project.glob("*/migrations/0*.py"))[0]
    entry = entry_for(cache, path)
    outside = tmp_path / "outside.json"
    outside.write_text("secret data")
    expected = repr(facts_of(path.read_bytes()))
    entry.symlink_to(outside)
    assert repr(cache([str(path)])[0]) == expected
    assert outside.read_text() == "secret data"
    entry.unlink()
    os.mkfifo(entry)  # would block a plain open() forever
    assert repr(cache([str(path)])[0]) == expected


def _hammer(arguments: tuple[str, str, str, list[str]]) -> str:
    directory, secret, salt, paths = arguments
    cache = Cache(directory, bytes.fromhex(secret), salt)
    results = [cache(paths) for _ in range(5)]
    return repr(results[-1])


def test_two_processes_writing_at_once_leave_only_whole_entries(
    project: Path, tmp_path: Path
) -> None:
    cache = open_test_cache(project, tmp_path / "home")
    paths = [str(p) for p in sorted(project.glob("*/migrations/0*.py"))]
    arguments = (cache.directory, cache.secret.hex(), cache.salt, paths)
    context = multiprocessing.get_context("fork")
    for _ in range(3):
        cache.clear()
        open_test_cache(project, tmp_path / "home")
        with context.Pool(2) as pool:
            first, second = pool.map(_hammer, [arguments, arguments])
        assert first == second == repr(read_each(paths))
        names = os.listdir(cache.directory)
        assert not [n for n in names if n.endswith(".part")]
        for path in paths:
            assert cache.load(cache.content_hash(Path(path).read_bytes())) is not None


def test_the_cache_folder_is_marked_and_ignored_by_git(project: Path, tmp_path: Path) -> None:
    cache = open_test_cache(project, tmp_path / "home")
    assert Path(cache.directory) == project / CACHE_DIR
    assert (project / CACHE_DIR / ".gitignore").read_text() == "*\n"
    assert (
        (project / CACHE_DIR / "CACHEDIR.TAG")
        .read_text()
        .startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )
    # The secret that signs entries lives outside the tree, readable by its owner only.
    secret = tmp_path / "home" / "miglint" / "secret"
    assert secret.stat().st_mode & 0o077 == 0
    assert not list(project.rglob("secret"))


def test_a_cache_folder_that_is_a_symlink_is_not_written_through(
    project: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / CACHE_DIR).symlink_to(elsewhere)
    cache = open_test_cache(project, tmp_path / "home")
    assert not cache.directory.startswith(str(project))
    cache([str(p) for p in project.glob("*/migrations/0*.py")])
    assert list(elsewhere.iterdir()) == []


def test_an_unwritable_tree_uses_the_user_cache_or_none(project: Path, tmp_path: Path) -> None:
    # A file where the cache folder would go stands for a read-only checkout (chmod does
    # not stop root, who runs CI containers).
    (project / CACHE_DIR).write_text("in the way")
    home = tmp_path / "home"
    cache = open_test_cache(project, home)
    assert cache.directory.startswith(str(home / "miglint" / "projects"))
    expected = findings_json(project, read_each)
    assert findings_json(project, cache) == expected
    assert (project / CACHE_DIR).read_text() == "in the way"
    # No usable home either: no cache, same findings.
    blocked = tmp_path / "blocked"
    blocked.write_text("")
    config = Config(root=str(project))
    assert open_cache(config, [str(project)], {"XDG_CACHE_HOME": str(blocked)}) is None
    assert open_cache(config, [str(project)], {}) is None


def cli_env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CACHE_HOME": str(tmp_path / "xdg")}


def test_cli_output_is_byte_identical_with_and_without_cache(project: Path, tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    args = ("check", str(project), "--format", "json")
    uncached = run_cli(*args, "--no-cache", cwd=tmp_path, env=env)
    assert not (project / CACHE_DIR).exists()
    cold = run_cli(*args, cwd=tmp_path, env=env)
    assert (project / CACHE_DIR).is_dir()
    warm = run_cli(*args, cwd=tmp_path, env=env)
    assert uncached.returncode == cold.returncode == warm.returncode == 1
    assert uncached.stdout == cold.stdout == warm.stdout
    assert json.loads(cold.stdout)


def test_cli_cache_clear(project: Path, tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    run_cli("check", str(project), cwd=tmp_path, env=env)
    assert (project / CACHE_DIR).is_dir()
    result = run_cli("cache", "clear", str(project), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert not (project / CACHE_DIR).exists()
    # A folder of that name that miglint did not make is left alone.
    (project / CACHE_DIR).mkdir()
    (project / CACHE_DIR / "notes.txt").write_text("mine")
    assert run_cli("cache", "clear", str(project), cwd=tmp_path, env=env).returncode == 0
    assert (project / CACHE_DIR / "notes.txt").read_text() == "mine"
    missing = run_cli("cache", "clear", str(tmp_path / "nope"), cwd=tmp_path, env=env)
    assert missing.returncode == 2
    assert "no such folder" in missing.stderr


def test_the_linted_tree_gets_nothing_but_the_cache_folder(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "tree",
        {
            "shop/migrations/0001_initial.py": migration(
                operations="        migrations.RunPython(forwards),"
            ),
            "shop/models.py": "from django.db import models\n",
        },
    )
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    run_cli("check", str(root), cwd=tmp_path, env=cli_env(tmp_path))
    after = sorted(p.relative_to(root) for p in root.rglob("*") if CACHE_DIR not in p.parts)
    assert after == before


def test_no_cache_folder_in_a_tree_without_migrations(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "tree", {"shop/models.py": "from django.db import models\n"})
    result = run_cli("check", str(root), cwd=tmp_path, env=cli_env(tmp_path))
    assert result.returncode == 0
    assert not (root / CACHE_DIR).exists()
    run_cli("check", ".", cwd=root, env=cli_env(tmp_path))
    assert not (root / CACHE_DIR).exists()


def test_huge_files_are_parsed_every_time_not_cached(tmp_path: Path) -> None:
    # Decoding the facts of 20,000 operations costs more than parsing them.
    operations = "        migrations.AlterModelOptions('i', {}),\n" * 20_000
    root = write_tree(
        tmp_path / "tree", {"shop/migrations/0001_initial.py": migration(operations=operations)}
    )
    path = root / "shop/migrations/0001_initial.py"
    assert path.stat().st_size > cache_module.MAX_CACHED_SOURCE_BYTES
    cache = open_test_cache(root, tmp_path / "home")
    facts = cache([str(path)])[0]
    assert len(facts.operations) == 20_000
    assert repr(facts) == repr(facts_of(path.read_bytes()))
    assert [n for n in os.listdir(cache.directory) if n.endswith(".json")] == []
