"""Differential test of the deploy rules against the SQL Django itself writes for PostgreSQL.

For each operation a deploy rule judges, `sqlmigrate` on a real PostgreSQL gives Django's
SQL; `miglint.sql` classifies it; the hazards it finds must name the same rules that the
operation rules report on the migration. Where the SQL shows more than the operation rule
reports, the case says why (e.g. the index Django adds with a foreign key is reported as
part of MIG507). A throwaway cluster is started for the test; `.ci/run` installs Debian's
`postgresql` package so that CI always runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from miglint import sql
from tests import postgres
from tests.helpers import lint_tree, write_tree

HAZARD_CODES = {
    sql.ADD_NOT_NULL: "MIG501",
    sql.DEFAULT_DROPPED: "MIG501",
    sql.RENAME_COLUMN: "MIG502",
    sql.RENAME_TABLE: "MIG503",
    sql.ALTER_TYPE: "MIG504",
    sql.CREATE_INDEX: "MIG505",
    sql.ADD_UNIQUE: "MIG506",
    sql.ADD_FOREIGN_KEY: "MIG507",
    sql.DROP_COLUMN: "MIG509",
}

INITIAL = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Maker",
            fields=[("id", models.BigAutoField(primary_key=True, serialize=False))],
        ),
        migrations.CreateModel(
            name="Product",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=100)),
                ("code", models.CharField(max_length=20)),
                ("stock", models.IntegerField(default=0)),
                ("note", models.TextField(null=True)),
            ],
        ),
    ]
"""

# (app, operations of 0002 on the released Product table, atomic, rules reported,
#  codes the SQL shows beyond them with the reason).
CASES: list[tuple[str, str, bool, set[str], dict[str, str]]] = [
    (
        "one_off_default",
        'migrations.AddField("product", "price", models.IntegerField(default=0), preserve_default=False)',
        True,
        {"MIG501"},
        {},
    ),
    (
        "python_default",
        'migrations.AddField("product", "active", models.BooleanField(default=True))',
        True,
        {"MIG501"},
        {},
    ),
    (
        "db_default",
        'migrations.AddField("product", "active", models.BooleanField(db_default=True))',
        True,
        set(),
        {},
    ),
    (
        "nullable",
        'migrations.AddField("product", "extra", models.TextField(null=True))',
        True,
        set(),
        {},
    ),
    ("rename_field", 'migrations.RenameField("product", "code", "sku")', True, {"MIG502"}, {}),
    (
        "db_column",
        'migrations.AlterField("product", "code", models.CharField(max_length=20, db_column="sku"))',
        True,
        {"MIG502"},
        {},
    ),
    ("rename_model", 'migrations.RenameModel("Product", "Item")', True, {"MIG503"}, {}),
    (
        "model_table",
        'migrations.AlterModelTable("product", "catalogue_product")',
        True,
        {"MIG503"},
        {},
    ),
    (
        "int_to_bigint",
        'migrations.AlterField("product", "stock", models.BigIntegerField(default=0))',
        True,
        {"MIG504"},
        {},
    ),
    (
        "char_to_int",
        'migrations.AlterField("product", "code", models.IntegerField())',
        True,
        set(),
        {"MIG504": "text to number narrows: MIG103 reports it and says it rewrites the table"},
    ),
    (
        "int_to_float",
        'migrations.AlterField("product", "stock", models.FloatField(default=0))',
        True,
        {"MIG504"},
        {},
    ),
    (
        "varchar_wider",
        'migrations.AlterField("product", "name", models.CharField(max_length=200))',
        True,
        set(),
        {"MIG504": "widening a varchar is a catalogue-only change on PostgreSQL"},
    ),
    (
        "add_index",
        'migrations.AddIndex("product", models.Index(fields=["name"], name="product_name_idx"))',
        True,
        {"MIG505"},
        {},
    ),
    (
        "db_index",
        'migrations.AlterField("product", "code", models.CharField(max_length=20, db_index=True))',
        True,
        {"MIG505"},
        {},
    ),
    (
        "concurrently",
        'AddIndexConcurrently("product", models.Index(fields=["name"], name="product_name_idx"))',
        False,
        set(),
        {},
    ),
    (
        "concurrently_atomic",
        'AddIndexConcurrently("product", models.Index(fields=["name"], name="product_name_idx"))',
        True,
        {"MIG508"},
        {},
    ),
    (
        "runsql_concurrently_atomic",
        'migrations.RunSQL("CREATE INDEX CONCURRENTLY i ON c_product (name)", "DROP INDEX i")',
        True,
        {"MIG508"},
        {},
    ),
    (
        "unique_field",
        'migrations.AlterField("product", "code", models.CharField(max_length=20, unique=True))',
        True,
        {"MIG506"},
        {"MIG505": "the varchar_pattern_ops (_like) index Django adds for a unique varchar"},
    ),
    (
        "unique_constraint",
        'migrations.AddConstraint("product", models.UniqueConstraint(fields=["code"], name="uniq_code"))',
        True,
        {"MIG506"},
        {},
    ),
    (
        "unique_together",
        'migrations.AlterUniqueTogether("product", {("name", "code")})',
        True,
        {"MIG506"},
        {},
    ),
    (
        "foreign_key",
        'migrations.AddField("product", "maker", models.ForeignKey(null=True, on_delete=models.CASCADE, to="c_foreign_key.maker"))',
        True,
        {"MIG507"},
        {"MIG505": "the foreign key's index is part of the MIG507 finding"},
    ),
    (
        "foreign_key_no_constraint",
        'migrations.AddField("product", "maker", models.ForeignKey(null=True, db_constraint=False, on_delete=models.CASCADE, to="c_foreign_key_no_constraint.maker"))',
        True,
        set(),
        {"MIG505": "the index Django adds with every foreign key (not reported on AddField)"},
    ),
    (
        "unique_with_default",
        'migrations.AddField("product", "sku", models.CharField(max_length=20, unique=True, default=\'\'))',
        True,
        {"MIG501", "MIG506"},
        {"MIG505": "the varchar_pattern_ops (_like) index Django adds for a unique varchar"},
    ),
    (
        "remove_not_null",
        'migrations.RemoveField("product", "code")',
        True,
        set(),
        {"MIG509": "MIG101 reports this RemoveField, and says it is NOT NULL (one finding)"},
    ),
    (
        "remove_nullable",
        'migrations.RemoveField("product", "note")',
        True,
        set(),
        {"MIG509": "the SQL cannot see that the column was nullable"},
    ),
]

NEW_TABLE = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Product",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("code", models.CharField(max_length=20, unique=True)),
                ("maker", models.ForeignKey(on_delete=models.CASCADE, to="c_new_table.product")),
            ],
        ),
        migrations.AddIndex("product", models.Index(fields=["code"], name="new_code_idx")),
        migrations.AddField("product", "price", models.IntegerField(default=0), preserve_default=False),
        migrations.AlterUniqueTogether("product", {("code", "price")}),
    ]
"""


def _tree(root: Path) -> list[str]:
    files: dict[str, str] = {"pyproject.toml": '[tool.miglint]\ndatabase = "postgresql"\n'}
    apps = []
    for name, operation, atomic, _, _ in CASES:
        app = f"c_{name}"
        apps.append(app)
        files[f"{app}/migrations/0001_initial.py"] = INITIAL
        files[f"{app}/migrations/0002_change.py"] = textwrap.dedent(
            f"""\
            from django.contrib.postgres.operations import AddIndexConcurrently
            from django.db import migrations, models


            class Migration(migrations.Migration):
                atomic = {atomic}
                dependencies = [("{app}", "0001_initial")]
                operations = [
                    {operation},
                ]
            """
        )
        files[f"{app}/__init__.py"] = ""
    files["c_new_table/migrations/0001_initial.py"] = NEW_TABLE
    files["c_new_table/__init__.py"] = ""
    write_tree(root, files)
    return [*apps, "c_new_table"]


SQLMIGRATE = """
import io, json, sys
sys.path.insert(0, {root!r})
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.postgres", *{apps!r}],
    DATABASES={{"default": {{"ENGINE": "django.db.backends.postgresql", "NAME": "postgres",
                             "USER": "postgres", "HOST": {host!r}}}}},
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    USE_TZ=True,
)
django.setup()
from django.core.management import call_command
result = {{}}
for app, name in {targets!r}:
    out = io.StringIO()
    try:
        call_command("sqlmigrate", app, name, stdout=out)
        result[app] = {{"sql": out.getvalue()}}
    except Exception as error:
        result[app] = {{"error": type(error).__name__ + ": " + str(error)}}
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def postgres_host() -> Iterator[str]:
    bin_dir = postgres.binaries()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed, but CI must run this test (see .ci/run)")
        pytest.skip(
            "PostgreSQL is not installed (no initdb/pg_ctl); `.ci/run` installs Debian's "
            "postgresql package"
        )
    with postgres.cluster(bin_dir) as host:
        yield host


def _django_sql(root: Path, apps: list[str], host: str) -> dict[str, dict[str, str]]:
    targets = [(app, "0002_change") for app in apps if app != "c_new_table"]
    targets.append(("c_new_table", "0001_initial"))
    script = SQLMIGRATE.format(root=str(root), apps=apps, host=host, targets=targets)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr
    output: dict[str, dict[str, str]] = json.loads(lines[-1])
    return output


def sql_codes(answer: dict[str, str], atomic: bool) -> set[str]:
    """The deploy rules the hazards of Django's SQL name (new tables excluded)."""
    if "error" in answer:
        # Django refuses CONCURRENTLY inside a transaction (NotSupportedError).
        return {"MIG508"} if "NotSupportedError" in answer["error"] else {answer["error"]}
    codes: set[str] = set()
    created: set[str] = set()
    for statement in sql.classify(answer["sql"]):
        for hazard in statement.hazards:
            table = sql.bare_name(hazard.table) if hazard.table else None
            if hazard.kind in HAZARD_CODES and table not in created:
                codes.add(HAZARD_CODES[hazard.kind])
        if statement.no_transaction and atomic:
            codes.add("MIG508")
        created.update(sql.bare_name(name) for name in statement.creates)
    return codes


def test_rules_agree_with_the_sql_django_writes(tmp_path: Path, postgres_host: str) -> None:
    apps = _tree(tmp_path)
    answers = _django_sql(tmp_path, apps, postgres_host)
    findings = lint_tree(tmp_path)
    reported: dict[str, set[str]] = {}
    for finding in findings:
        if finding.code.startswith("MIG5") and finding.app is not None:
            reported.setdefault(finding.app, set()).add(finding.code)
    disagreements = []
    for name, _, atomic, expected, explained in CASES:
        app = f"c_{name}"
        from_sql = sql_codes(answers[app], atomic)
        from_rules = reported.get(app, set())
        if from_rules != expected or from_sql - set(explained) != expected:
            disagreements.append((name, sorted(from_rules), sorted(from_sql), answers[app]))
        # An explained difference must really be there, or the case is stale.
        assert set(explained) <= from_sql, (name, from_sql)
    assert not disagreements, disagreements
    (narrowing,) = [f for f in findings if f.app == "c_char_to_int"]
    assert narrowing.code == "MIG103" and "rewrites the table" in narrowing.message
    (removal,) = [f for f in findings if f.app == "c_remove_not_null"]
    assert removal.code == "MIG101" and "NOT NULL with no database default" in removal.message
    # Everything on a table created in the same migration is safe, in the SQL and the rules.
    assert sql_codes(answers["c_new_table"], True) == set()
    assert "c_new_table" not in reported
