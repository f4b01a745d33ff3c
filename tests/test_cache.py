"""The cache: the same findings and the same bytes with and without it and with any number
of workers; a changed file makes exactly the apps that depend on it analysed again (a
touch or a comment none); a changed config, baseline, settings, requirements or miglint
makes every app analysed again; a damaged or forged cache is never believed; and the linted
tree is never written to outside `.miglint_cache/`. No test here measures time."""

from __future__ import annotations

import ast
import dataclasses
import itertools
import json
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.generate import generate
from miglint import inputs
from miglint import syntax as s
from miglint.cache import CACHE_DIR, Cache, open_cache
from miglint.config import Config, find_config_file, load_config
from miglint.finding import Finding
from miglint.fixes.attach import attach_edits
from miglint.lint import lint
from miglint.parse import MigrationFacts, parse_migration_bytes
from miglint.project import load_project, survey_project
from miglint.results import Incremental, Shard, content_digest
from miglint.rules import all_rules
from miglint.rules.base import example_files
from miglint.serial import Codec, DecodeError
from tests.helpers import known_codes, migration, run_cli, write_tree

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


def test_every_fact_type_round_trips_through_the_stored_form(tmp_path: Path) -> None:
    codec = Codec(MigrationFacts)
    seen: set[type] = set()
    count = 0
    cache = Cache(str(tmp_path), b"k" * 64, b"salt")
    for name, data in corpus(tmp_path):
        facts = facts_of(data)
        assert cache.save("facts", codec.encode(facts))
        back = codec.decode(cache.load("facts"))
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


# --- a project whose apps depend on each other in known ways ------------------------------

PRODUCT = """\
        migrations.CreateModel(
            name="Product",
            fields=[("id", models.BigAutoField(primary_key=True, serialize=False))],
        ),"""
ORDER = """\
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("product", models.ForeignKey(on_delete=models.CASCADE, to="shop.product")),
            ],
        ),"""
POST = """\
        migrations.CreateModel(
            name="Post",
            fields=[("id", models.BigAutoField(primary_key=True, serialize=False))],
        ),"""
# Without the `stamp` field its models.py inherits from blog's abstract base: MIG401.
INVOICE = """\
        migrations.CreateModel(
            name="Invoice",
            fields=[("id", models.BigAutoField(primary_key=True, serialize=False))],
        ),"""
STAMPED = """\
from django.db import models


class Stamped(models.Model):
    stamp = models.IntegerField(default=0)

    class Meta:
        abstract = True


class Post(models.Model):
    pass
"""


def dependent_apps(root: Path) -> Path:
    """shop <- orders (a foreign key and its dependency); blog, whose models.py holds an
    abstract base that billing's models inherit (no migration dependency); shop, orders
    and billing have findings."""
    return write_tree(
        root,
        {
            "shop/migrations/0001_initial.py": migration(operations=PRODUCT),
            "shop/migrations/0002_price.py": migration(
                dependencies='("shop", "0001_initial")',
                operations='        migrations.AddField("product", "price", '
                "models.IntegerField()),\n"
                '        migrations.RemoveField("product", "legacy"),',
            ),
            "shop/models.py": "from django.db import models\n\n\nclass Product(models.Model):\n"
            "    price = models.IntegerField()\n",
            "orders/migrations/0001_initial.py": migration(
                dependencies='("shop", "0001_initial")', operations=ORDER
            ),
            "orders/migrations/0002_fill.py": migration(
                dependencies='("orders", "0001_initial")',
                operations="        migrations.RunPython(fill),",
                extra="",
            ).replace(
                "class Migration", "def fill(apps, schema_editor):\n    pass\n\n\nclass Migration"
            ),
            "orders/models.py": "from django.db import models\n\n\nclass Order(models.Model):\n"
            '    product = models.ForeignKey("shop.Product", on_delete=models.CASCADE)\n',
            "blog/migrations/0001_initial.py": migration(operations=POST),
            "blog/models.py": STAMPED,
            "billing/migrations/0001_initial.py": migration(operations=INVOICE),
            "billing/models.py": "from blog.models import Stamped\n\n\nclass Invoice(Stamped):\n"
            "    pass\n",
        },
    )


APPS = {"shop", "orders", "blog", "billing"}


def config_of(root: Path) -> Config:
    found = find_config_file(str(root))
    return load_config(found, known_codes()) if found else Config(root=str(root))


def plain_findings(root: Path) -> list[Finding]:
    return lint(load_project([str(root)], config_of(root)))


def incremental(
    root: Path, home: Path, *, salt: bytes = b"test", workers: int = 1, threshold: int = 400
) -> tuple[list[Finding], Incremental]:
    """A run of the cached pipeline, as `miglint check` makes it."""
    config = config_of(root)
    env = {"XDG_CACHE_HOME": str(home)}
    cache = open_cache(config.path, [str(root)], env, salt)
    with inputs.recording(inputs.Recorder()):
        survey = survey_project([str(root)], config)
        run = Incremental(survey, cache, salt, workers=workers, threshold=threshold)
        found = run.run()
    return found, run


def analysed_after(root: Path, home: Path, **options: Any) -> set[str]:
    """The apps a run analyses (the others come from the cache); its findings must be
    those of a run without any cache."""
    found, run = incremental(root, home, **options)
    assert found == plain_findings(root)
    return set(run.analysed)


def rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def test_a_changed_file_invalidates_exactly_the_apps_that_depend_on_it(tmp_path: Path) -> None:
    root = dependent_apps(tmp_path / "project")
    home = tmp_path / "home"
    assert analysed_after(root, home) == APPS
    assert {f.app for f in plain_findings(root)} >= {"shop", "orders", "billing"}
    assert analysed_after(root, home) == set()
    shop = root / "shop/migrations/0002_price.py"
    # Touched, or given a comment: the facts are the same, nothing is analysed.
    os.utime(shop, (1, 1))
    assert analysed_after(root, home) == set()
    shop.write_text(shop.read_text() + "# reviewed\n")
    assert analysed_after(root, home) == set()
    shop.write_text(shop.read_text() + "\n# twice\n")
    assert analysed_after(root, home) == set()
    # A real change: the app, and the app whose foreign key points into it.
    rewrite(shop, '"price", models.IntegerField()', '"price", models.BigIntegerField()')
    assert analysed_after(root, home) == {"shop", "orders"}
    rewrite(root / "orders/migrations/0002_fill.py", "RunPython(fill)", "RunPython(fill, fill)")
    assert analysed_after(root, home) == {"orders"}
    # A models module read for another app (an abstract base): both apps.
    rewrite(root / "blog/models.py", "IntegerField(default=0)", "IntegerField(default=1)")
    assert analysed_after(root, home) == {"blog", "billing"}
    rewrite(root / "billing/models.py", "pass", "note = 1")
    assert analysed_after(root, home) == {"billing"}
    # A new migration file, and a removed one.
    (root / "blog/migrations/0002_more.py").write_text(
        migration(dependencies='("blog", "0001_initial")', operations=POST.replace("Post", "Tag"))
    )
    assert analysed_after(root, home) == {"blog"}
    (root / "blog/migrations/0002_more.py").unlink()
    assert analysed_after(root, home) == {"blog"}
    assert analysed_after(root, home) == set()


def test_findings_of_another_state_of_the_tree_are_not_used(tmp_path: Path) -> None:
    """Two runs at once on different states of the tree may each write one of the files;
    stored findings never pass for those of another state."""
    root = dependent_apps(tmp_path / "project")
    home = tmp_path / "home"
    analysed_after(root, home)
    directory = Path(incremental(root, home)[1].cache.directory)  # type: ignore[union-attr]
    before = (directory / "findings").read_bytes()
    shop = root / "shop/migrations/0002_price.py"
    rewrite(shop, '"price", models.IntegerField()', '"price", models.BigIntegerField()')
    assert analysed_after(root, home) == {"shop", "orders"}
    (directory / "findings").write_bytes(before)
    # The other apps' findings are the same in both states: only these are found again.
    assert analysed_after(root, home) == {"shop", "orders"}


GLOBAL_CHANGES = {
    "config": ("pyproject.toml", '[tool.miglint]\nignore = ["MIG301"]\n'),
    "baseline": (
        "miglint-baseline.json",
        '{"about": "", "version": 1, "migrations": {"shop": {"0001_initial": "-"}}}\n',
    ),
    "settings": (
        "site/settings.py",
        'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql"}}\n',
    ),
    "requirements": ("requirements.txt", "Django==4.2.7\n"),
}


@pytest.mark.parametrize("change", sorted(GLOBAL_CHANGES))
def test_a_changed_global_input_invalidates_every_app(tmp_path: Path, change: str) -> None:
    root = dependent_apps(tmp_path / "project")
    write_tree(root, {"site/__init__.py": ""})
    home = tmp_path / "home"
    assert analysed_after(root, home) == APPS
    relative, text = GLOBAL_CHANGES[change]
    (root / relative).write_text(text)
    assert analysed_after(root, home) == APPS
    assert analysed_after(root, home) == set()
    # A change that changes nothing the rules see (a comment) analyses nothing.
    (root / relative).write_text(text + ("" if relative.endswith(".json") else "# note\n"))
    assert analysed_after(root, home) == set()


def test_another_miglint_invalidates_every_app(tmp_path: Path) -> None:
    root = dependent_apps(tmp_path / "project")
    home = tmp_path / "home"
    assert analysed_after(root, home) == APPS
    assert analysed_after(root, home, salt=b"another version") == APPS
    assert analysed_after(root, home, salt=b"another version") == set()


def test_findings_are_the_same_with_any_number_of_workers(tmp_path: Path) -> None:
    root = tmp_path / "project"
    generate(str(root), 90, per_app=15, seed=5)
    expected = plain_findings(root)
    assert expected
    for workers in (1, 2, 3):
        home = tmp_path / f"home{workers}"
        found, run = incremental(root, home, workers=workers, threshold=1)
        assert found == expected
        assert len(run.analysed) == 6
        # Again from the cache, and after a change to one app.
        assert incremental(root, home, workers=workers, threshold=1)[0] == expected
        path = sorted(root.glob("app_002/migrations/0*.py"))[3]
        original = path.read_text()
        path.write_text(original.replace("operations = [\n", f"operations = [\n{DROP}", 1))
        assert path.read_text() != original
        assert incremental(root, home, workers=workers, threshold=1)[0] == plain_findings(root)
        path.write_text(original)


DROP = '        migrations.RunSQL("DROP TABLE legacy"),\n'
OPS = "operations = [\n"


def per_app_union(root: Path) -> list[Finding]:
    """The findings of each app analysed on its own with the apps it depends on, with the
    edits of their fixes."""
    config = config_of(root)
    survey = survey_project([str(root)], config)
    run = Incremental(survey, None, b"")
    run.run()
    contents = {path: content_digest(entry.seen) for path, entry in run.files.items()}
    shard = Shard(survey, None, 0)
    found: set[Finding] = set()
    for app in survey.apps:
        by_app, _, _ = shard.analyse(
            frozenset((app.key,)),
            run.reach[app.key],
            contents,
            run.imported_modules(),
            edits=True,
            patches=run.patches,
        )
        found.update(by_app[app.key])
    return sorted(found, key=Finding.sort_key)


def whole_findings_with_edits(root: Path) -> list[Finding]:
    project = load_project([str(root)], config_of(root))
    return sorted(attach_edits(lint(project), project), key=Finding.sort_key)


def test_each_app_analysed_alone_gives_the_findings_of_the_whole(tmp_path: Path) -> None:
    """What makes per-app reuse sound: an app's findings (and their fixes) depend only on
    the apps it reaches."""
    trees = []
    for number, rule in enumerate(all_rules()):
        for example in (*rule.VALID, *rule.INVALID):
            files = example_files(example)
            if len(files) > 1:
                trees.append(write_tree(tmp_path / f"{rule.code}-{number}-{len(trees)}", files))
    wide = tmp_path / "wide"
    generate(str(wide), 160, per_app=20, seed=9, shape="wide")
    trees.append(wide)
    trees.append(dependent_apps(tmp_path / "dependent"))
    for root in trees:
        assert per_app_union(root) == whole_findings_with_edits(root), root.name


# --- the command line ---------------------------------------------------------------------


def cli_env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CACHE_HOME": str(tmp_path / "xdg")}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    generate(str(root), 60, per_app=20, seed=5)
    return root


@pytest.mark.parametrize("output", ["json", "text"])
def test_cli_output_is_byte_identical_cold_warm_touched_and_without_cache(
    project: Path, tmp_path: Path, output: str
) -> None:
    env = cli_env(tmp_path)
    args = ("check", str(project), "--format", output)
    uncached = run_cli(*args, "--no-cache", cwd=tmp_path, env=env)
    assert not (project / CACHE_DIR).exists()
    cold = run_cli(*args, cwd=tmp_path, env=env)
    assert (project / CACHE_DIR).is_dir()
    warm = run_cli(*args, cwd=tmp_path, env=env)
    for path in project.rglob("*.py"):
        os.utime(path)
    touched = run_cli(*args, cwd=tmp_path, env=env)
    runs = [uncached, cold, warm, touched]
    assert {r.returncode for r in runs} == {1}
    assert {r.stdout for r in runs} == {uncached.stdout}
    assert {r.stderr for r in runs} == {uncached.stderr}
    assert uncached.stdout.strip()


def test_named_files_give_the_same_bytes_with_and_without_cache(tmp_path: Path) -> None:
    """What pre-commit runs: the staged files, within their project."""
    root = dependent_apps(tmp_path / "project")
    env = cli_env(tmp_path)
    shop = root / "shop/migrations/0002_price.py"
    orders = root / "orders/migrations/0002_fill.py"

    def same(*named: Path) -> None:
        args = ("check", *map(str, named), "--format", "json")
        expected = run_cli(*args, "--no-cache", cwd=tmp_path, env=env)
        for _ in range(2):
            result = run_cli(*args, cwd=tmp_path, env=env)
            assert (result.returncode, result.stdout) == (expected.returncode, expected.stdout)
        whole = ("check", str(root), "--format", "json")
        expected = run_cli(*whole, "--no-cache", cwd=tmp_path, env=env)
        assert run_cli(*whole, cwd=tmp_path, env=env).stdout == expected.stdout

    same(shop)
    same(shop, orders)
    rewrite(shop, '"price", models.IntegerField()', '"price", models.BigIntegerField()')
    same(shop)
    same(orders)
    same(root / "billing/models.py")
    rewrite(root / "blog/models.py", "IntegerField(default=0)", "IntegerField(default=2)")
    same(root / "billing/models.py")
    same(root / "blog/models.py", orders)


def test_a_named_module_of_no_app_is_reported_on_for_the_apps_that_read_it(
    tmp_path: Path,
) -> None:
    """A module of no app named alone (an abstract base staged for commit): a finding could
    point into it, so the apps whose analysis read it are analysed; before any app has been
    analysed (what they read is not known yet), every app."""
    root = dependent_apps(tmp_path / "project")
    write_tree(
        root,
        {
            "common/__init__.py": "",
            "common/bases.py": STAMPED.replace("class Post(models.Model):\n    pass\n", ""),
            "billing/models.py": "from common.bases import Stamped\n\n\nclass Invoice(Stamped):\n"
            "    pass\n",
            # A config at the root: runs on the tree and on named files share one cache.
            "pyproject.toml": "[tool.miglint]\n",
        },
    )
    home = tmp_path / "home"
    named = [str(root / "common/bases.py")]

    def wanted() -> frozenset[str]:
        config = config_of(root)
        cache = open_cache(config.path, named, {"XDG_CACHE_HOME": str(home)}, b"test")
        with inputs.recording(inputs.Recorder()):
            run = Incremental(survey_project(named, config), cache, b"test")
            found = run.run()
        plain = lint(load_project(named, config))
        assert found == plain
        return run.wanted

    assert wanted() == APPS
    analysed_after(root, home)
    assert wanted() == {"billing"}
    env = cli_env(tmp_path)
    args = ("check", *named, "--format", "json")
    expected = run_cli(*args, "--no-cache", cwd=tmp_path, env=env)
    for _ in range(2):
        result = run_cli(*args, cwd=tmp_path, env=env)
        assert (result.returncode, result.stdout) == (expected.returncode, expected.stdout)


WARM_PROBE = """\
import sys
from miglint.cli import main
status = main(sys.argv[1:])
loaded = sorted(
    name for name in sys.modules
    if name.split(".")[0] in ("libcst", "sqlparse", "github")
    or name in ("miglint.parse", "miglint.results", "miglint.rules", "miglint.project")
)
print(repr(loaded), file=sys.stderr)
"""


def test_a_warm_run_parses_nothing_and_imports_no_parser(project: Path, tmp_path: Path) -> None:
    env = {**os.environ, **cli_env(tmp_path), "NO_COLOR": "1"}
    command = [sys.executable, "-c", WARM_PROBE, "check", str(project), "--format", "json"]

    def run() -> tuple[str, list[str]]:
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
        return done.stdout, ast.literal_eval(done.stderr.strip().splitlines()[-1])

    cold, cold_modules = run()
    assert "miglint.results" in cold_modules
    warm, warm_modules = run()
    assert warm == cold
    assert warm_modules == []
    # A file touched but not changed is read again (its content is the same): still warm.
    for path in project.rglob("*.py"):
        os.utime(path)
    assert run() == (cold, [])


def damaged_versions(cache: Cache, name: str) -> list[bytes | None]:
    """Ways a cache file can be broken or forged (None: replaced by a FIFO)."""
    from miglint.cache import packed

    good = Path(cache.path(name)).read_bytes()
    header, mac, body = good.split(b"\n", 2)
    other = Cache(cache.directory, b"x" * 64, cache.salt)
    damaged: list[bytes | None] = [
        b"",
        good[: len(good) // 2],
        b"not marshal at all \xff\xfe",
        good.replace(b"miglint-cache 2", b"miglint-cache 9"),
        # Forged (as a pull request could commit it): the MAC needs the secret.
        b"\n".join([header, mac, body[:-1] + bytes([body[-1] ^ 1])]),
        b"\n".join([header, b"0" * 64, body]),
        # Signed with another user's secret, or for another file.
        b"\n".join([header, other._mac(name, body), body]),
        b"\n".join([header, cache._mac("elsewhere", body), body]),
    ]
    # Signed with the real secret, but of the wrong shape.
    for value in ({"files": 1, "records": [2]}, [1, 2], {b"k": (1, 2, 3)}, {"x": ("a", 1)}, None):
        damaged.append(b"\n".join([header, cache._mac(name, packed(value)), packed(value)]))
    damaged.append(None)
    return damaged


def test_damaged_or_forged_cache_files_are_never_believed(tmp_path: Path) -> None:
    from miglint.cache import source_fingerprint

    root = tmp_path / "project"
    generate(str(root), 60, per_app=20, seed=5, shape="wide")
    env = cli_env(tmp_path)
    args = ("check", str(root), "--format", "json")
    # Two versions of one migration: each run changes it, so that the apps that depend on
    # it are analysed again from what the cache holds (and the answer is not replayed).
    path = [p for p in sorted(root.glob("app_001/migrations/0*.py")) if OPS in p.read_text()][-1]
    versions = [path.read_text()]
    versions.append(versions[0].replace(OPS, OPS + DROP, 1))
    expected = []
    for text in versions:
        path.write_text(text)
        expected.append(run_cli(*args, "--no-cache", cwd=tmp_path, env=env))
    assert expected[0].stdout != expected[1].stdout
    run_cli(*args, cwd=tmp_path, env=env)
    found = open_cache(None, [str(root)], env, b"")
    assert found is not None
    # The salt of the command line's runs: miglint's fingerprint and the current folder.
    cache = Cache(found.directory, found.secret, source_fingerprint() + str(tmp_path).encode())
    version = 0
    for prefix in ("apps", "runs", "facts-", "obs-", "out-"):
        current = [n for n in os.listdir(cache.directory) if n.startswith(prefix)]
        assert current, prefix
        name = sorted(current)[0]
        for damage in damaged_versions(cache, name):
            file = Path(cache.path(name))
            if file.exists() or file.is_symlink():
                file.unlink()
            if damage is None:
                os.mkfifo(file)  # would block a plain open() forever
            else:
                file.write_bytes(damage)
            version = 1 - version
            path.write_text(versions[version])
            result = run_cli(*args, cwd=tmp_path, env=env)
            want = expected[version]
            assert (result.returncode, result.stdout) == (want.returncode, want.stdout), name
            if file.is_fifo():
                file.unlink()
            # The same state again: replayed from the cache as it now is.
            assert run_cli(*args, cwd=tmp_path, env=env).stdout == want.stdout
            if not file.exists():
                break


def _hammer(arguments: tuple[str, str, str]) -> list[str]:
    root, cwd, home = arguments
    outputs = []
    for _ in range(4):
        done = run_cli(
            "check", root, "--format", "json", cwd=Path(cwd), env={"XDG_CACHE_HOME": home}
        )
        outputs.append(done.stdout)
    return outputs


def test_two_runs_at_once_leave_only_whole_files(project: Path, tmp_path: Path) -> None:
    expected = run_cli("check", str(project), "--format", "json", "--no-cache", cwd=tmp_path).stdout
    arguments = (str(project), str(tmp_path), str(tmp_path / "xdg"))
    context = multiprocessing.get_context("fork")
    with context.Pool(2) as pool:
        results = pool.map(_hammer, [arguments, arguments])
    assert {output for outputs in results for output in outputs} == {expected}
    assert not [n for n in os.listdir(project / CACHE_DIR) if n.endswith(".part")]


def test_the_cache_folder_is_marked_and_ignored_by_git(project: Path, tmp_path: Path) -> None:
    run_cli("check", str(project), cwd=tmp_path, env=cli_env(tmp_path))
    assert (project / CACHE_DIR / ".gitignore").read_text() == "*\n"
    assert (
        (project / CACHE_DIR / "CACHEDIR.TAG")
        .read_text()
        .startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )
    # The secret that signs files lives outside the tree, readable by its owner only.
    secret = tmp_path / "xdg" / "miglint" / "secret"
    assert secret.stat().st_mode & 0o077 == 0
    assert not list(project.rglob("secret"))


def test_a_cache_folder_that_is_a_symlink_is_not_written_through(
    project: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / CACHE_DIR).symlink_to(elsewhere)
    expected = run_cli("check", str(project), "--no-cache", cwd=tmp_path, env=cli_env(tmp_path))
    for _ in range(2):
        result = run_cli("check", str(project), cwd=tmp_path, env=cli_env(tmp_path))
        assert result.stdout == expected.stdout
    assert list(elsewhere.iterdir()) == []


def test_an_unwritable_tree_uses_the_user_cache_or_none(project: Path, tmp_path: Path) -> None:
    # A file where the cache folder would go stands for a read-only checkout (chmod does
    # not stop root, who runs CI containers).
    (project / CACHE_DIR).write_text("in the way")
    home = tmp_path / "home"
    config = Config(root=str(project))
    cache = open_cache(config.path, [str(project)], {"XDG_CACHE_HOME": str(home)}, b"")
    assert cache is not None
    assert cache.directory.startswith(str(home / "miglint" / "projects"))
    env = {"XDG_CACHE_HOME": str(home)}
    expected = run_cli("check", str(project), "--no-cache", cwd=tmp_path, env=env).stdout
    assert run_cli("check", str(project), cwd=tmp_path, env=env).stdout == expected
    assert run_cli("check", str(project), cwd=tmp_path, env=env).stdout == expected
    assert (project / CACHE_DIR).read_text() == "in the way"
    assert any(Path(cache.directory).iterdir())
    # No usable home either: no cache, same findings.
    blocked = tmp_path / "blocked"
    blocked.write_text("")
    assert open_cache(None, [str(project)], {"XDG_CACHE_HOME": str(blocked)}, b"") is None
    assert open_cache(None, [str(project)], {}, b"") is None
    no_home = run_cli("check", str(project), cwd=tmp_path, env={"XDG_CACHE_HOME": str(blocked)})
    assert no_home.stdout == expected


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
    run_cli("check", str(root), cwd=tmp_path, env=cli_env(tmp_path))
    after = sorted(p.relative_to(root) for p in root.rglob("*") if CACHE_DIR not in p.parts)
    assert after == before


def test_entries_of_the_first_format_are_removed(project: Path, tmp_path: Path) -> None:
    run_cli("check", str(project), cwd=tmp_path, env=cli_env(tmp_path))
    old = project / CACHE_DIR / ("0" * 40 + ".json")
    old.write_text("miglint-cache 1\n")
    (project / "app_000/migrations/0001_initial.py").write_text(migration(operations=POST))
    run_cli("check", str(project), cwd=tmp_path, env=cli_env(tmp_path))
    assert not old.exists()


def test_no_cache_folder_in_a_tree_without_migrations(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "tree", {"shop/models.py": "from django.db import models\n"})
    result = run_cli("check", str(root), cwd=tmp_path, env=cli_env(tmp_path))
    assert result.returncode == 0
    assert not (root / CACHE_DIR).exists()
    run_cli("check", ".", cwd=root, env=cli_env(tmp_path))
    assert not (root / CACHE_DIR).exists()


# --- every look at the file system is recorded ------------------------------------------

# Modules that may touch the file system directly: the recorder itself, the cache's own
# folder, and what never reads the linted project (docs, git, GitHub, writing files).
DIRECT_ACCESS_ALLOWED = {
    "inputs.py",
    "cache.py",
    "answers.py",
    "docs.py",
    "djangocheck.py",
    "gitdiff.py",
    "gitshow.py",
    "cli.py",
    "commands/baseline.py",
    "commands/cache.py",
    "fixes/apply.py",
    "github/action.py",
    "github/environment.py",
    "report/__init__.py",
}
DIRECT_CALLS = {
    "open",
    "os.open",
    "os.stat",
    "os.lstat",
    "os.scandir",
    "os.listdir",
    "os.walk",
    "os.path.isfile",
    "os.path.isdir",
    "os.path.exists",
    "os.path.lexists",
    "os.path.islink",
    "os.path.getsize",
    "os.path.getmtime",
}


def test_the_project_is_only_looked_at_through_the_recorder() -> None:
    """A new reader that bypassed miglint.inputs could leave a stale answer in the cache."""
    package = Path(__file__).resolve().parent.parent / "miglint"
    problems = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative in DIRECT_ACCESS_ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                if name in DIRECT_CALLS or name.startswith("Path("):
                    problems.append(f"{relative}:{node.lineno}: {name}")
    assert problems == []


def test_every_file_a_check_opens_is_recorded(tmp_path: Path) -> None:
    """An audit hook sees every open() and listing of a run; each must be in its notes."""
    root = dependent_apps(tmp_path / "project")
    write_tree(root, {"requirements.txt": "Django>=4.2\n", "site/settings.py": "DEBUG = True\n"})
    script = f"""
import os, sys
from miglint import inputs
from miglint.config import Config
from miglint.project import survey_project
from miglint.results import Incremental
root = {str(root)!r}
seen = set()
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].startswith(root):
        seen.add(("file", os.path.abspath(args[0])))
    if event in ("os.scandir", "os.listdir") and isinstance(args[0], str):
        if args[0].startswith(root):
            seen.add(("list", os.path.abspath(args[0])))
recorder = inputs.Recorder()
sys.addaudithook(hook)
with inputs.recording(recorder):
    survey = survey_project([root], Config(root=root))
    Incremental(survey, None, b"").run()
missing = sorted(seen - set(recorder.notes))
print(missing)
print(len(recorder.notes))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    missing, count = done.stdout.strip().splitlines()
    assert missing == "[]"
    assert int(count) > 20


def test_the_json_report_writes_exactly_what_json_dumps_would() -> None:
    from miglint.finding import Severity
    from miglint.report import json as json_report

    findings = [
        Finding("MIG101", "remove-field", Severity.ERROR, "/x/a.py", 3, 1, 3, 9, 'drops "x"\n\t'),
        Finding(
            "MIG5\u00e9",
            "r\u2028",
            Severity.INFO,
            "b\\c.py",
            1,
            2,
            3,
            4,
            "\x00\x1f",
            None,
            "m",
            "é",
        ),
    ]
    rendered = json_report.render(findings)
    rows = sorted(
        (json_report.as_dict(f) for f in findings), key=lambda r: (r["path"], r["line"], r["code"])
    )
    assert rendered == json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    assert json_report.render([]) == "[]\n"


def test_notes_hold_until_what_they_saw_changes(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    file = folder / "a.py"
    file.write_text("x = 1\n")
    recorder = inputs.Recorder(started_ns=0)
    with inputs.recording(recorder):
        inputs.read_file(str(file))
        inputs.scandir(str(folder))
        assert not inputs.isfile(str(tmp_path / "other" / "missing.py"))
        assert inputs.matching(str(tmp_path), ("requirements*.txt",)) == []
    notes = dict(recorder.notes)
    assert len(notes) == 4
    assert inputs.Checker().all_hold(notes)
    # Touched, or rewritten with the same bytes: still holds (the content is compared).
    os.utime(file, (5, 5))
    file.write_text("x = 1\n")
    assert inputs.Checker().all_hold(notes)
    # Each kind of change breaks the note that saw it, and only that one.
    changes = [
        lambda: file.write_text("x = 2\n"),
        lambda: (folder / "b.py").write_text(""),
        lambda: write_tree(tmp_path / "other", {"missing.py": ""}),
        lambda: (tmp_path / "requirements-dev.txt").write_text(""),
    ]
    for change in changes:
        change()
        checker = inputs.Checker()
        broken = [note for note, seen in notes.items() if not checker.holds(note, seen)]
        assert len(broken) == 1, broken
        notes = {}
        with inputs.recording(recorder := inputs.Recorder(started_ns=0)):
            inputs.read_file(str(file))
            inputs.scandir(str(folder))
            inputs.isfile(str(tmp_path / "other" / "missing.py"))
            inputs.matching(str(tmp_path), ("requirements*.txt",))
        notes = dict(recorder.notes)


def test_a_file_seen_with_two_contents_in_one_run_spoils_its_answer(tmp_path: Path) -> None:
    file = tmp_path / "a.py"
    file.write_text("x = 1\n")
    recorder = inputs.Recorder()
    with inputs.recording(recorder):
        inputs.read_file(str(file))
        os.utime(file, (5, 5))
        inputs.read_file(str(file))
        assert not recorder.unstable
        file.write_text("x = 2\n")
        inputs.read_file(str(file))
    assert recorder.unstable


# Every output whose bytes come from the cached findings: JSON carries the fixes' edits,
# SARIF their `fixes`, --statistics the fixable counts, --show-fixes the diffs, and --diff
# compares with a commit (MIG006).
OUTPUT_MODES = {
    "json": ("--format", "json"),
    "sarif": ("--format", "sarif"),
    "statistics": ("--statistics",),
    "show-fixes": ("--show-fixes", "--unsafe-fixes"),
    "diff": ("--diff", "HEAD", "--format", "json"),
}
# Changes to what the findings depend on, made one after the other.
LATER_CHANGES = [
    # The migrations of orders moved by the settings to a module without its RunPython.
    ("site/settings.py", 'MIGRATION_MODULES = {"orders": "orders.squashed"}\n'),
    # The project's own makemigrations command and autodetector: MIG401 is unknown.
    (
        "site/management/commands/makemigrations.py",
        "from django.core.management.commands.makemigrations import Command as Base\n"
        "from site.detect import Detector\n\n\nclass Command(Base):\n"
        "    autodetector = Detector\n",
    ),
    # An edited migration that the commit has in another form (MIG006 with --diff).
    ("shop/migrations/0002_price.py", None),
    # A baseline that leaves only the graph and MIG401 findings.
    ("miglint-baseline.json", "baseline"),
]


def test_every_output_mode_gives_the_same_bytes_with_and_without_cache(tmp_path: Path) -> None:
    root = dependent_apps(tmp_path / "project")
    write_tree(root, {"site/__init__.py": "", "site/settings.py": "DEBUG = True\n"})
    env = cli_env(tmp_path)
    for command in (("init", "-q"), ("add", "-A")):
        subprocess.run(["git", *command], cwd=root, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start"],
        cwd=root,
        check=True,
    )

    def same() -> set[str]:
        outputs = set()
        for mode, flags in OUTPUT_MODES.items():
            args = ("check", ".", *flags)
            expected = run_cli(*args, "--no-cache", cwd=root, env=env)
            assert expected.returncode in (0, 1), (mode, expected.stderr)
            for _ in range(2):
                result = run_cli(*args, cwd=root, env=env)
                assert (result.returncode, result.stdout, result.stderr) == (
                    expected.returncode,
                    expected.stdout,
                    expected.stderr,
                ), mode
            outputs.add(expected.stdout)
        return outputs

    seen = [same()]
    squashed = root / "orders/squashed"
    squashed.mkdir()
    (squashed / "__init__.py").write_text("")
    (squashed / "0001_initial.py").write_text(
        (root / "orders/migrations/0001_initial.py").read_text()
    )
    for relative, text in LATER_CHANGES:
        if text is None:
            rewrite(root / relative, "models.IntegerField()", "models.BigIntegerField()")
        elif text == "baseline":
            assert run_cli("baseline", ".", cwd=root, env=env).returncode == 0
        else:
            write_tree(root, {relative: text})
        seen.append(same())
    # Each change changed what some output says (else the check above proves little).
    assert [before != after for before, after in itertools.pairwise(seen)] == [True] * 4
