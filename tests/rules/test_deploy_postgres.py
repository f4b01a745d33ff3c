"""Differential tests of the deploy rules against what PostgreSQL does with the SQL Django
itself writes, and against squawk.

For each operation a deploy rule judges, `sqlmigrate` on a throwaway PostgreSQL cluster gives
Django's SQL, and three oracles judge it independently of the rules:

- `miglint.sql` classifies the SQL: the hazards it finds name rules;
- PostgreSQL runs it: each statement in an open transaction (rolled back after), with the
  locks `pg_locks` shows for it, the tables it rewrites (a new relfilenode), reads whole (a
  sequential scan) and the indexes it drops, and whether it fails on the rows there;
- squawk, a linter for PostgreSQL migrations, lints it: every finding that names a hazard
  for a Django project must have a miglint finding on the same operation.

Where an oracle shows more than the rules report, the case says why (e.g. the index Django
adds with a foreign key is part of MIG507's finding). `.ci/run` installs Debian's
`postgresql` package, and the test extra installs squawk (`squawk-cli`), so CI runs it all.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from miglint import sql
from miglint.core.finding import Finding, Severity
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
    sql.ADD_CHECK: "MIG510",
    sql.ADD_EXCLUSION: "MIG510",
    sql.SET_NOT_NULL: "MIG510",
    sql.DROP_INDEX: "MIG511",
    sql.ADD_REWRITE: "MIG512",
}
# What the PostgreSQL run can tell (the other rules are about old code or data, not locks).
LOCK_CODES = frozenset({"MIG504", "MIG510", "MIG511", "MIG512", "MIG513"})

# Every case's app starts from this (APP is the app's label: index names are global).
INITIAL = """\
from django.contrib.postgres.operations import AddConstraintNotValid, BtreeGistExtension
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        BtreeGistExtension(),
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
                ("ref", models.CharField(max_length=20, db_index=True)),
                ("serial", models.CharField(max_length=20, unique=True)),
            ],
            options={"index_together": {("name", "stock")}},
        ),
        migrations.AddIndex("product", models.Index(fields=["stock"], name="APP_stock_idx")),
        migrations.AddConstraint(
            "product",
            models.UniqueConstraint(fields=["name"], condition=models.Q(stock__gt=0), name="APP_open_name"),
        ),
        AddConstraintNotValid(
            "product", models.CheckConstraint(condition=models.Q(stock__gte=-1000), name="stock_floor")
        ),
        migrations.CreateModel(
            name="Legacy",
            fields=[("code", models.CharField(max_length=10, primary_key=True, serialize=False))],
        ),
    ]
"""

IMPORTS = """\
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.contrib.postgres.functions import RandomUUID
from django.contrib.postgres.operations import (
    AddConstraintNotValid,
    AddIndexConcurrently,
    RemoveIndexConcurrently,
    ValidateConstraint,
)
from django.db import migrations, models
from django.db.models.functions import Now, Random
"""


@dataclass(frozen=True)
class Case:
    """Operations of 0002 on the released tables of INITIAL, and the MIG5xx codes the rules
    report; `sql` and `locks` say why an oracle shows a code the rules leave to another."""

    name: str
    operations: str
    reported: frozenset[str]
    atomic: bool = True
    sql: dict[str, str] = field(default_factory=dict)
    locks: dict[str, str] = field(default_factory=dict)

    @property
    def app(self) -> str:
        return f"c_{self.name}"


def case(name: str, operations: str, *reported: str, **kwargs: Any) -> Case:
    return Case(name, operations, frozenset(reported), **kwargs)


MIG103_NARROWS = "MIG103 reports it first: negative values make the migration fail"
LIKE_INDEX = (
    "the varchar_pattern_ops (_like) index goes with the unique constraint, whose DROP "
    "CONSTRAINT takes the same lock and cannot be concurrent (MIG513's concern)"
)

CASES = [
    # MIG501: NOT NULL without a database default.
    case(
        "one_off_default",
        'migrations.AddField("product", "price", models.IntegerField(default=0), preserve_default=False)',
        "MIG501",
        "MIG513",
    ),
    case(
        "python_default",
        'migrations.AddField("product", "active", models.BooleanField(default=True))',
        "MIG501",
        "MIG513",
    ),
    case(
        "db_default",
        'migrations.AddField("product", "active", models.BooleanField(db_default=True))',
        "MIG513",
    ),
    case(
        "nullable", 'migrations.AddField("product", "extra", models.TextField(null=True))', "MIG513"
    ),
    # MIG502, MIG503: renames.
    case("rename_field", 'migrations.RenameField("product", "code", "sku")', "MIG502", "MIG513"),
    case(
        "db_column",
        'migrations.AlterField("product", "code", models.CharField(max_length=20, db_column="sku"))',
        "MIG502",
        "MIG513",
    ),
    case("rename_model", 'migrations.RenameModel("Product", "Item")', "MIG503", "MIG513"),
    case(
        "model_table",
        'migrations.AlterModelTable("product", "catalogue_product")',
        "MIG503",
        "MIG513",
    ),
    # MIG504: type changes.
    case(
        "int_to_bigint",
        'migrations.AlterField("product", "stock", models.BigIntegerField(default=0))',
        "MIG504",
        "MIG513",
    ),
    case(
        "char_to_int",
        'migrations.AlterField("product", "code", models.IntegerField())',
        "MIG513",
        sql={"MIG504": "text to number narrows: MIG103 reports it and says it rewrites the table"},
        locks={
            "MIG504": "text to number narrows: MIG103 reports it and says it rewrites the table"
        },
    ),
    case(
        "int_to_float",
        'migrations.AlterField("product", "stock", models.FloatField(default=0))',
        "MIG504",
        "MIG513",
    ),
    case(
        "varchar_wider",
        'migrations.AlterField("product", "name", models.CharField(max_length=200))',
        "MIG513",
        sql={"MIG504": "widening a varchar is a catalogue-only change on PostgreSQL"},
    ),
    # MIG505-MIG508: indexes, unique and foreign keys, CONCURRENTLY.
    case(
        "add_index",
        'migrations.AddIndex("product", models.Index(fields=["name"], name="product_name_idx"))',
        "MIG505",
    ),
    case(
        "db_index",
        'migrations.AlterField("product", "code", models.CharField(max_length=20, db_index=True))',
        "MIG505",
    ),
    case(
        "concurrently",
        'AddIndexConcurrently("product", models.Index(fields=["name"], name="product_name_idx"))',
        atomic=False,
    ),
    case(
        "concurrently_atomic",
        'AddIndexConcurrently("product", models.Index(fields=["name"], name="product_name_idx"))',
        "MIG508",
    ),
    case(
        "runsql_concurrently_atomic",
        'migrations.RunSQL("CREATE INDEX CONCURRENTLY i ON c_product (name)", "DROP INDEX i")',
        "MIG508",
    ),
    case(
        "unique_field",
        'migrations.AlterField("product", "code", models.CharField(max_length=20, unique=True))',
        "MIG506",
        "MIG513",
        sql={"MIG505": "the varchar_pattern_ops (_like) index Django adds for a unique varchar"},
    ),
    case(
        "unique_constraint",
        'migrations.AddConstraint("product", models.UniqueConstraint(fields=["code"], name="uniq_code"))',
        "MIG506",
        "MIG513",
    ),
    case(
        "unique_together",
        'migrations.AlterUniqueTogether("product", {("name", "code")})',
        "MIG506",
        "MIG513",
    ),
    case(
        "foreign_key",
        'migrations.AddField("product", "maker", models.ForeignKey(null=True, on_delete=models.CASCADE, to="c_foreign_key.maker"))',
        "MIG507",
        "MIG513",
        sql={"MIG505": "the foreign key's index is part of the MIG507 finding"},
    ),
    case(
        # No constraint (MIG507's recipe), but still the index Django adds to every foreign key.
        "foreign_key_no_constraint",
        'migrations.AddField("product", "maker", models.ForeignKey(null=True, db_constraint=False, on_delete=models.CASCADE, to="c_foreign_key_no_constraint.maker"))',
        "MIG505",
        "MIG513",
    ),
    case(
        "unique_with_default",
        'migrations.AddField("product", "sku", models.CharField(max_length=20, unique=True, default=\'\'))',
        "MIG501",
        "MIG506",
        "MIG513",
        sql={"MIG505": "the varchar_pattern_ops (_like) index Django adds for a unique varchar"},
    ),
    # MIG509: removals (MIG101 reports them, and says NOT NULL).
    case(
        "remove_not_null",
        'migrations.RemoveField("product", "code")',
        "MIG513",
        sql={"MIG509": "MIG101 reports this RemoveField, and says it is NOT NULL (one finding)"},
    ),
    case(
        "remove_nullable",
        'migrations.RemoveField("product", "note")',
        "MIG513",
        sql={"MIG509": "the SQL cannot see that the column was nullable"},
    ),
    case("delete_model", 'migrations.DeleteModel("Maker")', "MIG513"),
    # MIG510: constraints validated at once.
    case(
        "check_constraint",
        'migrations.AddConstraint("product", models.CheckConstraint(condition=models.Q(stock__gte=0), name="stock_gte_0"))',
        "MIG510",
        "MIG513",
    ),
    case(
        "check_not_valid",
        'AddConstraintNotValid("product", models.CheckConstraint(condition=models.Q(stock__gte=0), name="stock_gte_0"))',
        "MIG513",
    ),
    case("validate_constraint", 'ValidateConstraint("product", "stock_floor")'),
    case(
        "exclusion_constraint",
        'migrations.AddConstraint("product", ExclusionConstraint(name="one_per_stock", expressions=[("stock", RangeOperators.EQUAL)]))',
        "MIG510",
        "MIG513",
    ),
    case(
        "runsql_check",
        'migrations.RunSQL("ALTER TABLE c_runsql_check_product ADD CONSTRAINT stock_gte_0 CHECK (stock >= 0)", migrations.RunSQL.noop)',
        "MIG510",
        "MIG513",
    ),
    case(
        "not_null_with_default",
        'migrations.AlterField("product", "note", models.TextField(default=""))',
        "MIG510",
        "MIG513",
    ),
    case(
        "not_null_without_default",
        'migrations.AlterField("product", "note", models.TextField())',
        "MIG513",
        sql={"MIG510": "MIG103 reports it (NULL rows make it fail), and says the scan"},
    ),
    case(
        "to_positive",
        'migrations.AlterField("product", "stock", models.PositiveIntegerField(default=0))',
        "MIG513",
        sql={"MIG510": MIG103_NARROWS},
        locks={"MIG510": MIG103_NARROWS},
    ),
    case(
        "add_positive",
        'migrations.AddField("product", "reserved", models.PositiveIntegerField(default=0))',
        "MIG501",
        "MIG513",
    ),
    # MIG511: indexes dropped without CONCURRENTLY.
    case(
        "remove_index",
        'migrations.RemoveIndex("product", "c_remove_index_stock_idx")',
        "MIG511",
        "MIG513",
    ),
    case(
        "remove_index_concurrently",
        'RemoveIndexConcurrently("product", "c_remove_index_concurrently_stock_idx")',
        atomic=False,
    ),
    case(
        "db_index_off",
        'migrations.AlterField("product", "ref", models.CharField(max_length=20))',
        "MIG511",
        "MIG513",
    ),
    case(
        "index_together_off", 'migrations.AlterIndexTogether("product", set())', "MIG511", "MIG513"
    ),
    case(
        "remove_conditional_unique",
        'migrations.RemoveConstraint("product", "c_remove_conditional_unique_open_name")',
        "MIG511",
        "MIG513",
    ),
    case(
        "unique_off",
        'migrations.AlterField("product", "serial", models.CharField(max_length=20))',
        "MIG513",
        sql={"MIG511": LIKE_INDEX},
        locks={"MIG511": LIKE_INDEX},
    ),
    case(
        "runsql_drop_index",
        'migrations.RunSQL("DROP INDEX c_runsql_drop_index_stock_idx", migrations.RunSQL.noop)',
        "MIG511",
        "MIG513",
    ),
    # MIG512: columns whose ADD rewrites the table.
    case(
        "uuid_db_default",
        'migrations.AddField("product", "token", models.UUIDField(db_default=RandomUUID()))',
        "MIG512",
        "MIG513",
    ),
    case(
        "random_db_default",
        'migrations.AddField("product", "weight", models.FloatField(db_default=Random()))',
        "MIG512",
        "MIG513",
    ),
    case(
        "now_db_default",
        'migrations.AddField("product", "added", models.DateTimeField(db_default=Now()))',
        "MIG513",
    ),
    case(
        "generated_stored",
        'migrations.AddField("product", "twice", models.GeneratedField(expression=models.F("stock") * 2, output_field=models.IntegerField(), db_persist=True))',
        "MIG512",
        "MIG513",
    ),
    case(
        "auto_primary_key",
        'migrations.RemoveField("legacy", "code"), migrations.AddField("legacy", "uid", models.BigAutoField(primary_key=True, serialize=False))',
        "MIG512",
        "MIG513",
        sql={
            "MIG506": "the new key's index is built in the rewrite MIG512 reports",
            "MIG509": "MIG101 reports the RemoveField",
        },
    ),
    case(
        "runsql_volatile_default",
        'migrations.RunSQL("ALTER TABLE c_runsql_volatile_default_product ADD COLUMN token uuid DEFAULT gen_random_uuid()", migrations.RunSQL.noop)',
        "MIG512",
        "MIG513",
    ),
    # MIG513: a lock_timeout set first.
    case(
        "lock_timeout_set",
        "migrations.RunSQL(\"SET LOCAL lock_timeout = '3s'\", migrations.RunSQL.noop), "
        'migrations.AddField("product", "extra", models.TextField(null=True))',
    ),
    # MIG514: a new table's primary key.
    case(
        "int_primary_key",
        'migrations.CreateModel("Thing", [("id", models.AutoField(auto_created=True, primary_key=True, serialize=False)), ("product", models.ForeignKey(on_delete=models.CASCADE, to="c_int_primary_key.product"))])',
        "MIG514",
    ),
    case(
        "bigint_primary_key",
        'migrations.CreateModel("Thing", [("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False))])',
    ),
]

NEW_TABLE = """\
from django.contrib.postgres.functions import RandomUUID
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
        migrations.AddConstraint("product", models.CheckConstraint(condition=models.Q(price__gte=0), name="price_gte_0")),
        migrations.AddField("product", "token", models.UUIDField(db_default=RandomUUID())),
        migrations.RemoveIndex("product", "new_code_idx"),
        migrations.AlterField("product", "code", models.CharField(max_length=20, unique=True, null=True)),
        migrations.AlterField("product", "code", models.CharField(max_length=20, unique=True, default="")),
    ]
"""


def _tree(root: Path) -> list[str]:
    files: dict[str, str] = {"pyproject.toml": '[tool.miglint]\ndatabase = "postgresql"\n'}
    for item in CASES:
        app = item.app
        files[f"{app}/migrations/0001_initial.py"] = INITIAL.replace("APP", app)
        files[f"{app}/migrations/0002_change.py"] = IMPORTS + textwrap.dedent(
            f"""\


            class Migration(migrations.Migration):
                atomic = {item.atomic}
                dependencies = [("{app}", "0001_initial")]
                operations = [
                    {item.operations},
                ]
            """
        )
        files[f"{app}/__init__.py"] = ""
    files["c_new_table/migrations/0001_initial.py"] = NEW_TABLE
    files["c_new_table/__init__.py"] = ""
    write_tree(root, files)
    return [item.app for item in CASES] + ["c_new_table"]


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


@dataclass(frozen=True)
class Run:
    """The cases' tree, what PostgreSQL did with their SQL, and miglint's findings."""

    root: Path
    answers: dict[str, dict[str, Any]]
    findings: list[Finding]

    def codes(self, app: str, prefix: str = "MIG5") -> set[str]:
        return {f.code for f in self.findings if f.app == app and f.code.startswith(prefix)}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, postgres_host: str) -> Run:
    root = tmp_path_factory.mktemp("cases")
    apps = _tree(root)
    targets = [[app, "0002_change"] for app in apps if app != "c_new_table"]
    targets.append(["c_new_table", "0001_initial"])
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    probe = Path(__file__).parent.parent / "postgres_probe.py"
    result = subprocess.run(
        [sys.executable, str(probe), str(root), postgres_host, json.dumps(targets)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr
    return Run(root, json.loads(lines[-1]), lint_tree(root))


def sql_codes(answer: dict[str, Any], atomic: bool) -> set[str]:
    """The deploy rules the hazards of Django's SQL name (new tables excluded)."""
    if "error" in answer:
        # Django refuses CONCURRENTLY inside a transaction (NotSupportedError).
        return {"MIG508"} if "NotSupportedError" in answer["error"] else {answer["error"]}
    codes: set[str] = set()
    created: set[str] = set()
    indexes: set[str] = set()
    timeout = False
    for statement in sql.classify(answer["sql"]):
        if statement.setting is not None and statement.setting.name == "lock_timeout":
            timeout = not statement.setting.disabled
        if statement.index:
            indexes.add(statement.index)
        for hazard in statement.hazards:
            table = sql.bare_name(hazard.table) if hazard.table else None
            # A CHECK in a new column's definition is validated as the column is added.
            if hazard.kind == sql.ADD_CHECK and hazard.column:
                continue
            if hazard.kind == sql.DROP_INDEX and hazard.detail in indexes:
                continue
            if hazard.kind in HAZARD_CODES and table not in created:
                codes.add(HAZARD_CODES[hazard.kind])
        exclusive = [t for t in statement.exclusive if sql.bare_name(t) not in created]
        dropped = [
            h for h in statement.hazards if h.kind == sql.DROP_INDEX and h.detail not in indexes
        ]
        if (exclusive or dropped) and not timeout:
            codes.add("MIG513")
        if statement.no_transaction and atomic:
            codes.add("MIG508")
        created.update(sql.bare_name(name) for name in statement.creates)
    return codes


def test_rules_agree_with_the_sql_django_writes(run: Run) -> None:
    # A key's width (MIG514) is no hazard of a statement: squawk judges it below.
    judged = set(HAZARD_CODES.values()) | {"MIG508", "MIG513"}
    disagreements = []
    for item in CASES:
        from_sql = sql_codes(run.answers[item.app], item.atomic)
        from_rules = run.codes(item.app)
        expected = item.reported & judged
        if from_rules != item.reported or from_sql - set(item.sql) != expected:
            disagreements.append((item.name, sorted(from_rules), sorted(from_sql)))
        # An explained difference must really be there, or the case is stale.
        assert set(item.sql) <= from_sql, (item.name, from_sql)
    assert not disagreements, disagreements
    (narrowing,) = [f for f in run.findings if f.app == "c_char_to_int" and f.code < "MIG5"]
    assert narrowing.code == "MIG103" and "rewrites the table" in narrowing.message
    (removal,) = [f for f in run.findings if f.app == "c_remove_not_null" and f.code < "MIG5"]
    assert removal.code == "MIG101" and "NOT NULL with no database default" in removal.message
    (not_null,) = [
        f for f in run.findings if f.app == "c_not_null_without_default" and f.code < "MIG5"
    ]
    assert not_null.code == "MIG103" and "ACCESS EXCLUSIVE" in not_null.message
    # Everything on a table created in the same migration is safe, in the SQL and the rules.
    assert sql_codes(run.answers["c_new_table"], True) == set()
    assert run.codes("c_new_table") == set()


def lock_codes(statements: list[dict[str, Any]], existing: dict[str, str]) -> set[str]:
    """The rules that what PostgreSQL did names, on the relations that existed before."""
    codes: set[str] = set()
    for step in statements:
        if "error" in step:
            break
        text = " ".join(step["sql"].upper().split())
        exclusive = {
            r for r, kind, mode in step["locks"] if kind == "r" and mode == "AccessExclusiveLock"
        }
        if exclusive and step["lock_timeout"] == "0":
            codes.add("MIG513")
        rewritten = {r for r in step["rewritten"] if existing.get(r) == "r"}
        if rewritten:
            codes.add("MIG512" if " ADD COLUMN " in text else "MIG504")
        if any(existing.get(r) == "i" for r in step["dropped"]) and text.startswith("DROP INDEX"):
            codes.add("MIG511")
        # Every row read while no query can use the table, to validate a constraint.
        scanned = set(step["scanned"]) & exclusive
        validates = " CHECK " in text or " EXCLUDE " in text or " SET NOT NULL" in text
        if scanned and not rewritten and validates and " ADD COLUMN " not in text:
            codes.add("MIG510")
    return codes


def test_rules_agree_with_what_postgresql_does(run: Run) -> None:
    disagreements = []
    measured_cases = 0
    for item in [*CASES, Case("new_table", "", frozenset())]:
        answer = run.answers[item.app]
        if "statements" not in answer:
            # Not atomic (CONCURRENTLY): PostgreSQL documents SHARE UPDATE EXCLUSIVE, which
            # blocks no reads or writes; Django refuses it in an atomic one (MIG508).
            assert not item.atomic or "error" in answer, item.name
            assert not item.reported & LOCK_CODES, item.name
            continue
        measured_cases += 1
        measured = lock_codes(answer["statements"], answer["existing"])
        from_rules = run.codes(item.app) & LOCK_CODES
        failed = [step["error"] for step in answer["statements"] if "error" in step]
        # A run that stops on the rows shows only what happened before (PostgreSQL's locks
        # are not readable for the statement that fails).
        agree = (
            measured - set(item.locks) <= from_rules
            if failed
            else from_rules == measured - set(item.locks)
        )
        if not agree:
            disagreements.append((item.name, sorted(from_rules), sorted(measured), failed))
        assert set(item.locks) <= measured, (item.name, measured)
        # Where PostgreSQL refuses the rows, a rule said the migration can fail (an error).
        errors = {
            f.code for f in run.findings if f.app == item.app and f.severity == Severity.ERROR
        }
        assert errors or not failed, (item.name, failed)
    assert not disagreements, disagreements
    assert measured_cases >= len(CASES) - 5


def test_new_tables_lock_nothing_that_exists(run: Run) -> None:
    answer = run.answers["c_new_table"]
    assert answer["statements"] and not any("error" in step for step in answer["statements"])
    assert all(not step["locks"] for step in answer["statements"])
    assert run.codes("c_new_table", "MIG") == set()


def test_the_locks_the_messages_name(run: Run) -> None:
    """The lock level each rule's message states is the one PostgreSQL takes."""
    statements = run.answers["c_remove_index"]["statements"]
    (drop,) = statements
    assert ["c_remove_index_product", "r", "AccessExclusiveLock"] in drop["locks"]
    check = run.answers["c_check_not_valid"]["statements"][0]
    assert ["c_check_not_valid_product", "r", "AccessExclusiveLock"] in check["locks"]
    assert check["scanned"] == []  # NOT VALID: no rows read
    (validate,) = run.answers["c_validate_constraint"]["statements"]
    assert [mode for _, _, mode in validate["locks"]] == ["ShareUpdateExclusiveLock"]
    (index,) = run.answers["c_add_index"]["statements"]
    assert [mode for _, _, mode in index["locks"]] == ["ShareLock"]
    now = run.answers["c_now_db_default"]["statements"][0]
    assert "DEFAULT (STATEMENT_TIMESTAMP())" in now["sql"] and now["rewritten"] == []


# --- squawk ---------------------------------------------------------------------------------

# squawk rules that name no hazard for a Django project, with the reason.
NOT_DJANGO_HAZARDS = {
    "prefer-robust-stmts": "Django records each applied migration and rolls an atomic one back as a whole; IF NOT EXISTS would hide a schema that drifted from the migrations",
    "prefer-text-field": "a wider varchar is a catalogue-only change since PostgreSQL 9.2 (measured: no rewrite); CharField's max_length is validation Django relies on",
    "prefer-timestamptz": "Django's DateTimeField is timestamp with time zone on PostgreSQL already",
    "prefer-identity": "Django writes identity columns since 4.1; serial from older Django behaves the same for a Django project",
    "ban-char-field": "Django never writes char(n)",
    "require-statement-timeout": "a statement_timeout would abort long legitimate steps (backfills, index builds); lock_timeout (MIG513) is what bounds the wait for a lock",
    "ban-drop-not-null": "making a column nullable is the first step of the safe removal MIG509 recommends; old code only writes values",
    "ban-drop-constraint": "dropping a constraint loosens the schema: old code keeps working (the lock it takes is MIG513's)",
    "ban-drop-default": "Django drops the default it used to fill a new column; where old code then fails, MIG501 reports the AddField",
    "ban-drop-index": "dropping an index breaks no client (the lock it takes is MIG511's and MIG513's)",
    "ban-add-column": "adding a column breaks no client that names its columns, as Django does",
    "ban-set-default": "a new database default breaks no client",
    "ban-new-write-restriction": "old code keeps writing what the new constraint allows; one it breaks fails the migration first (MIG510's scan)",
}


def _squawk_accepts(rule: str, text: str, whole: str) -> tuple[set[str], str | None]:
    """The miglint codes that cover squawk's `rule` on the statement `text` (of the SQL
    `whole`), or a reason why the finding names no hazard for a Django project."""
    upper = " ".join(text.upper().split())
    table = upper.split()[2] if upper.startswith("ALTER TABLE ") else None
    new_table = table is not None and f"CREATE TABLE {table} " in " ".join(whole.upper().split())
    if rule in NOT_DJANGO_HAZARDS:
        return set(), NOT_DJANGO_HAZARDS[rule]
    if rule in ("prefer-bigint-over-int", "prefer-bigint-over-smallint"):
        if "PRIMARY KEY" in upper and ("INTEGER" in upper or "SMALLINT" in upper):
            return {"MIG514"}, None
        return (
            set(),
            "a non-key integer column's range is the model's choice (a key's width is MIG514's)",
        )
    if rule == "adding-field-with-default":
        if "STATEMENT_TIMESTAMP()" in upper and "GENERATED" not in upper:
            return set(), "Now() is STABLE: PostgreSQL 11+ adds it without a rewrite (measured)"
        return {"MIG512"}, None
    if rule == "require-lock-timeout":
        if " CONCURRENTLY " in upper or "VALIDATE CONSTRAINT" in upper:
            return (
                set(),
                "SHARE UPDATE EXCLUSIVE (measured) blocks no reads or writes while it waits",
            )
        if upper.startswith("CREATE TABLE") or (new_table and "FOREIGN KEY" in upper):
            return set(), (
                "a new table, and its foreign key: SHARE ROW EXCLUSIVE on the table it "
                "references (measured) lets reads run, and there are no rows to check"
            )
        if "FOREIGN KEY" in upper:
            return {"MIG507"}, None
        # CREATE INDEX takes SHARE: MIG505's finding on the same operation.
        return {"MIG513", "MIG505"}, None
    if rule == "require-concurrent-index-deletion" and upper.endswith('_LIKE";'):
        return {"MIG513"}, LIKE_INDEX
    accepted = {
        "adding-foreign-key-constraint": {"MIG507"},
        "adding-not-nullable-field": {"MIG501", "MIG103", "MIG510"},
        "adding-required-field": {"MIG501"},
        "adding-serial-primary-key-field": {"MIG512", "MIG506"},
        "ban-concurrent-index-creation-in-transaction": {"MIG508"},
        "ban-drop-column": {"MIG101", "MIG509"},
        "ban-drop-table": {"MIG102"},
        "changing-column-type": {"MIG504", "MIG103", "MIG513"},
        # squawk also asks NOT VALID of UNIQUE, which PostgreSQL cannot do: MIG506's finding.
        "constraint-missing-not-valid": {"MIG510", "MIG507", "MIG506", "MIG103"},
        "disallowed-unique-constraint": {"MIG506"},
        "renaming-column": {"MIG502"},
        "renaming-table": {"MIG503"},
        "require-concurrent-index-creation": {"MIG505", "MIG506", "MIG507"},
        "require-concurrent-index-deletion": {"MIG511"},
    }
    if rule not in accepted:
        raise AssertionError(f"squawk rule {rule} is new: judge it ({text!r})")
    return accepted[rule], None


def _statement_at(lines: list[str], line: int) -> str:
    """The statement at squawk's `line` (0-based): where a file-wide rule points at the
    first comment, the first statement after it."""
    found: list[str] = []
    for text in lines[line:]:
        if not found and (text.startswith("--") or text.strip() in ("BEGIN;", "")):
            continue
        found.append(text)
        if text.rstrip().endswith(";"):
            break
    return " ".join(found)


def _squawk() -> str:
    found = shutil.which("squawk", path=os.path.dirname(sys.executable)) or shutil.which("squawk")
    if found is None:
        pytest.fail("squawk is not installed: `pip install -e '.[test]'` installs squawk-cli")
    return found


def test_squawk_findings_have_a_miglint_finding(run: Run, tmp_path: Path) -> None:
    files = []
    for item in CASES:
        answer = run.answers[item.app]
        if "sql" in answer:
            path = tmp_path / f"{item.app}.sql"
            path.write_text(answer["sql"], encoding="utf-8")
            files.append(path.name)
    result = subprocess.run(
        [_squawk(), "--reporter", "json", "--pg-version", "15", *files],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    reports = json.loads(result.stdout)
    assert reports, "squawk found nothing: it did not read the SQL"
    missed = []
    for report in reports:
        app = report["file"].removesuffix(".sql")
        lines = (tmp_path / report["file"]).read_text().splitlines()
        text = _statement_at(lines, report["line"])
        accepted, reason = _squawk_accepts(report["rule_name"], text, "\n".join(lines))
        if reason is not None and not accepted:
            continue
        if not accepted & run.codes(app, "MIG"):
            missed.append((app, report["rule_name"], text.strip(), sorted(run.codes(app, "MIG"))))
    assert not missed, "\n".join(map(str, missed))
    # Squawk's main rules were met on these cases (the test would catch nothing otherwise).
    rules = {report["rule_name"] for report in reports}
    assert {
        "constraint-missing-not-valid",
        "require-concurrent-index-deletion",
        "adding-field-with-default",
        "require-lock-timeout",
        "prefer-bigint-over-int",
    } <= rules
