"""Rules about the SQL inside RunSQL: statements that destroy data (MIG104)."""

from __future__ import annotations

from collections.abc import Iterator

from miglint import sql as sqlmod
from miglint.core.finding import Finding, Severity
from miglint.project.load import Project
from miglint.rules.base import Rule
from miglint.rules.deploy_context import Context, SqlHazard, sql_hazards
from miglint.state.tablestate import table_steps

_HEADER = "from django.db import migrations\n\n\n"
_HEADER_MODELS = "from django.db import migrations, models\n\n\n"


def _runsql(arguments: str, extra: str = "") -> str:
    return (
        _HEADER
        + "class Migration(migrations.Migration):\n"
        + extra
        + "    dependencies = []\n\n"
        + "    operations = [\n"
        + f"        migrations.RunSQL({arguments}),\n"
        + "    ]\n"
    )


class DestructiveSql(Rule):
    """RunSQL is opaque to Django: a `DROP TABLE`, `DROP COLUMN`, `DROP SCHEMA`,
    `TRUNCATE`, or a `DELETE` without `WHERE` in it destroys data that no rollback brings
    back (reverse_sql can recreate a table, not its rows), and the old release still
    running during the deploy fails on the missing table or column. An `UPDATE` without
    `WHERE` overwrites a column on every row; it is reported as a warning, since a backfill
    of a new column looks the same.

    Only the forward `sql` is checked: a `reverse_sql` that drops what `sql` created is the
    normal way to undo it. Statements inside comments, string literals, quoted identifiers
    and dollar-quoted function bodies are not statements; SQL that cannot be read (a
    variable from another module, an f-string, a statement sqlparse cannot split) is not
    reported. Tables created in the same migration, or in another migration of the change
    under review (files named on the command line, or changed since `--diff BASE`), may be
    emptied and dropped freely: they hold no released data. So may a helper table that no
    other migration creates and no model has, also before its CREATE (`DROP TABLE IF EXISTS
    tmp; CREATE TABLE tmp AS SELECT ...`): what it drops is a leftover of this migration.

    The last step of the recipe MIG101 and MIG102 recommend is not reported either: a DROP
    COLUMN or DROP TABLE of what an earlier migration took out of the model state only
    (`SeparateDatabaseAndState(state_operations=[RemoveField(...)])`, or a DeleteModel
    there): no released code uses it any more. In the same migration, or when both
    migrations are in the change under review, they deploy together and it is reported.

    Nor is the end of a move: a DROP, TRUNCATE or DELETE without WHERE of rows that an
    earlier statement of the same migration copied elsewhere (`INSERT INTO new_table SELECT
    a, b FROM old_table` before dropping columns a and b, or the table, or deleting its
    rows): the data is kept, only moved.

    One finding per statement and kind of loss: `ALTER TABLE t DROP COLUMN a, DROP COLUMN b`
    is one finding that names both columns.
    """

    code = "MIG104"
    name = "destructive-sql"
    severity = Severity.ERROR
    summary = "RunSQL with DROP / TRUNCATE / DELETE or UPDATE without WHERE."
    fix = "Back the data up first, drop it in a later release, and give DELETE/UPDATE a WHERE."
    VALID = (
        _runsql('"UPDATE shop_product SET price = 0 WHERE price IS NULL", migrations.RunSQL.noop'),
        _runsql(
            '"""\n'
            "            -- DROP TABLE shop_product; (kept for reference)\n"
            "            CREATE FUNCTION purge() RETURNS trigger AS $$\n"
            "            BEGIN DELETE FROM shop_log; RETURN NULL; END;\n"
            "            $$ LANGUAGE plpgsql;\n"
            '            """,\n'
            '            "DROP FUNCTION purge()"'
        ),
        _runsql(
            '["CREATE TABLE tmp_ids (id int)", "INSERT INTO tmp_ids SELECT id FROM shop_product", '
            '"DROP TABLE tmp_ids"], migrations.RunSQL.noop'
        ),
        _runsql('\'ALTER TABLE "drop" ADD COLUMN "delete" int NULL\', migrations.RunSQL.noop'),
        {
            "shop/migrations/0001_initial.py": _HEADER_MODELS
            + """\
class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel(
            "Product",
            [
                ("id", models.AutoField(primary_key=True)),
                ("legacy_code", models.CharField(max_length=20, null=True)),
            ],
        ),
    ]
""",
            "shop/migrations/0002_remove_product_legacy_code.py": _HEADER
            + """\
class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveField("product", "legacy_code")],
        ),
    ]
""",
            "shop/migrations/0003_drop_product_legacy_code.py": _HEADER
            + """\
class Migration(migrations.Migration):
    # The release with 0002 no longer uses the column: drop it.
    dependencies = [("shop", "0002_remove_product_legacy_code")]
    operations = [
        migrations.RunSQL(
            "ALTER TABLE shop_product DROP COLUMN legacy_code",
            migrations.RunSQL.noop,
        ),
    ]
""",
        },
    )
    INVALID = (
        _runsql('"DROP TABLE shop_legacy", migrations.RunSQL.noop'),
        _runsql(
            '"""\n'
            "            UPDATE shop_product SET price = 0 WHERE price IS NULL;\n"
            "            DELETE FROM shop_order;\n"
            '            """,\n'
            "            migrations.RunSQL.noop"
        ),
        _runsql('[("TRUNCATE shop_log", None)], migrations.RunSQL.noop'),
        _runsql('"ALTER TABLE shop_product DROP COLUMN legacy_code", migrations.RunSQL.noop'),
    )

    def check(self, project: Project) -> Iterator[Finding]:
        context = Context.of(project)
        for step in table_steps(project):
            for hazard in sql_hazards(step, context, *sqlmod.DESTRUCTIVE):
                message = "RunSQL " + _what(hazard)
                severity = Severity.WARNING if hazard.kind == sqlmod.UPDATE_ALL else None
                fix = _FIXES.get(hazard.kind)
                yield self.at(step.migration, hazard.span, message, severity=severity, fix=fix)


_DROP_LATER = (
    "Take it out of the model state first (SeparateDatabaseAndState) and drop it in a later "
    "release, once its data is backed up or no longer needed."
)
_FIXES = {
    sqlmod.DROP_TABLE: _DROP_LATER,
    sqlmod.DROP_COLUMN: _DROP_LATER,
    sqlmod.TRUNCATE: "Back the rows up first, or delete only what must go (DELETE ... WHERE).",
    sqlmod.DELETE_ALL: "Add a WHERE clause, or back the rows up first.",
    sqlmod.UPDATE_ALL: "Add a WHERE clause unless every row must change (as in a backfill).",
}


def _what(hazard: SqlHazard) -> str:
    """What the statement destroys, in words."""
    kind, table, many = hazard.kind, hazard.table, len(hazard.tables) > 1
    if kind == sqlmod.DROP_TABLE:
        return f"drops table{'s' * many} {table}: every row in {'them' if many else 'it'} is lost"
    if kind == sqlmod.DROP_SCHEMA:
        return f"drops schema{'s' * many} {table} and every table in {'them' if many else 'it'}"
    if kind == sqlmod.DROP_COLUMN:
        values = "their" if len(hazard.columns) > 1 else "its"
        return f"drops {hazard.column_phrase} of {table}: {values} values are lost"
    if kind == sqlmod.TRUNCATE:
        return f"truncates {table}: every row is deleted"
    if kind == sqlmod.DELETE_ALL:
        return f"deletes every row of {table} (DELETE without WHERE)"
    columns = ", ".join(hazard.columns) or "columns"
    return f"overwrites {columns} on every row of {table} (UPDATE without WHERE)"
