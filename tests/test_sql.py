"""SQL of RunSQL in, statements out: kind, tables, columns, hazards and where each one is."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miglint import sql
from miglint.source import syntax as s
from miglint.source.parse import parse_migration

# (SQL, verb, kind, hazard kinds) for one statement; real-world shapes from Django projects.
STATEMENTS = [
    # PostgreSQL DDL, as written by hand and as Django writes it.
    (
        'CREATE INDEX "shop_product_name_idx" ON "shop_product" ("name")',
        "CREATE INDEX",
        "ddl",
        {sql.CREATE_INDEX},
    ),
    (
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx ON public.t USING gin (col gin_trgm_ops)",
        "CREATE INDEX",
        "ddl",
        set(),
    ),
    (
        "create unique index foo on bar(baz) where deleted_at is null",
        "CREATE UNIQUE INDEX",
        "ddl",
        {sql.CREATE_INDEX, sql.ADD_UNIQUE},
    ),
    ("CREATE UNIQUE INDEX CONCURRENTLY u ON t (a)", "CREATE UNIQUE INDEX", "ddl", set()),
    (
        "ALTER TABLE shop_product ADD COLUMN price integer NOT NULL DEFAULT 0",
        "ALTER TABLE",
        "ddl",
        set(),
    ),
    (
        "ALTER TABLE shop_product ADD COLUMN IF NOT EXISTS price numeric(10, 2) NOT NULL",
        "ALTER TABLE",
        "ddl",
        {sql.ADD_NOT_NULL},
    ),
    ("ALTER TABLE t ADD c int NOT NULL", "ALTER TABLE", "ddl", {sql.ADD_NOT_NULL}),
    # Columns that fill every existing row: the table is rewritten.
    ("ALTER TABLE t ADD COLUMN id bigserial NOT NULL", "ALTER TABLE", "ddl", {sql.ADD_REWRITE}),
    (
        "ALTER TABLE t ADD COLUMN c int GENERATED ALWAYS AS IDENTITY NOT NULL",
        "ALTER TABLE",
        "ddl",
        {sql.ADD_REWRITE},
    ),
    (
        'ALTER TABLE "t" ADD COLUMN "token" uuid DEFAULT (GEN_RANDOM_UUID()) NOT NULL',
        "ALTER TABLE",
        "ddl",
        {sql.ADD_REWRITE},
    ),
    (
        "alter table t add column g int generated always as (a * 2) stored",
        "ALTER TABLE",
        "ddl",
        {sql.ADD_REWRITE},
    ),
    (
        "ALTER TABLE t ADD COLUMN seen timestamptz DEFAULT clock_timestamp()",
        "ALTER TABLE",
        "ddl",
        {sql.ADD_REWRITE},
    ),
    # STABLE and constant defaults are stored once (PostgreSQL 11+).
    (
        'ALTER TABLE "t" ADD COLUMN "at" timestamptz DEFAULT (STATEMENT_TIMESTAMP()) NOT NULL',
        "ALTER TABLE",
        "ddl",
        set(),
    ),
    ("ALTER TABLE t ADD COLUMN at timestamptz DEFAULT now()", "ALTER TABLE", "ddl", set()),
    (
        "ALTER TABLE t ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, span WITH &&)",
        "ALTER TABLE",
        "ddl",
        {sql.ADD_EXCLUSION},
    ),
    ('DROP INDEX IF EXISTS "shop_product_name_idx"', "DROP INDEX", "ddl", {sql.DROP_INDEX}),
    ("DROP INDEX CONCURRENTLY IF EXISTS shop_product_name_idx", "DROP INDEX", "ddl", set()),
    (
        "ALTER TABLE t ADD COLUMN c text NULL, ADD COLUMN d int NOT NULL DEFAULT 1",
        "ALTER TABLE",
        "ddl",
        set(),
    ),
    ("ALTER TABLE t ALTER COLUMN c SET NOT NULL", "ALTER TABLE", "ddl", {sql.SET_NOT_NULL}),
    ("ALTER TABLE ONLY t ALTER COLUMN c DROP NOT NULL", "ALTER TABLE", "ddl", set()),
    ("ALTER TABLE t ALTER c TYPE text", "ALTER TABLE", "ddl", {sql.ALTER_TYPE}),
    (
        'ALTER TABLE "t" ALTER COLUMN "c" TYPE bigint USING "c"::bigint',
        "ALTER TABLE",
        "ddl",
        {sql.ALTER_TYPE},
    ),
    (
        "ALTER TABLE t ALTER COLUMN c SET DATA TYPE varchar(20)",
        "ALTER TABLE",
        "ddl",
        {sql.ALTER_TYPE},
    ),
    ("ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX idx", "ALTER TABLE", "ddl", set()),
    ("ALTER TABLE t ADD CONSTRAINT u UNIQUE (a, b)", "ALTER TABLE", "ddl", {sql.ADD_UNIQUE}),
    ("ALTER TABLE t ADD PRIMARY KEY (id)", "ALTER TABLE", "ddl", {sql.ADD_UNIQUE}),
    ("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID", "ALTER TABLE", "ddl", set()),
    ("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)", "ALTER TABLE", "ddl", {sql.ADD_CHECK}),
    (
        "ALTER TABLE x ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES y (id) NOT VALID",
        "ALTER TABLE",
        "ddl",
        set(),
    ),
    (
        "ALTER TABLE x ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES y (id) DEFERRABLE INITIALLY DEFERRED",
        "ALTER TABLE",
        "ddl",
        {sql.ADD_FOREIGN_KEY},
    ),
    ("ALTER TABLE x VALIDATE CONSTRAINT f", "ALTER TABLE", "ddl", set()),
    (
        "ALTER TABLE t ADD COLUMN u_id int REFERENCES users(id)",
        "ALTER TABLE",
        "ddl",
        {sql.ADD_FOREIGN_KEY},
    ),
    ("ALTER TABLE t DROP CONSTRAINT IF EXISTS c", "ALTER TABLE", "ddl", set()),
    ("ALTER TABLE t DROP COLUMN IF EXISTS c CASCADE", "ALTER TABLE", "ddl", {sql.DROP_COLUMN}),
    ("ALTER TABLE t ALTER COLUMN c DROP DEFAULT", "ALTER TABLE", "ddl", set()),
    ("ALTER TABLE x RENAME COLUMN a TO b", "ALTER TABLE", "ddl", {sql.RENAME_COLUMN}),
    ("ALTER TABLE x RENAME TO y", "ALTER TABLE", "ddl", {sql.RENAME_TABLE}),
    ("ALTER TABLE t RENAME CONSTRAINT a TO b", "ALTER TABLE", "ddl", set()),
    ("ALTER INDEX a RENAME TO b", "ALTER INDEX", "ddl", set()),
    ("ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY", "ALTER TABLE", "ddl", set()),
    ("DROP TABLE IF EXISTS a, b CASCADE", "DROP TABLE", "ddl", {sql.DROP_TABLE}),
    ("DROP SCHEMA legacy CASCADE", "DROP SCHEMA", "ddl", {sql.DROP_SCHEMA}),
    ("DROP VIEW v", "DROP VIEW", "ddl", set()),
    ("DROP INDEX CONCURRENTLY IF EXISTS idx", "DROP INDEX", "ddl", set()),
    ("DROP FUNCTION IF EXISTS purge()", "DROP FUNCTION", "ddl", set()),
    ("CREATE TABLE IF NOT EXISTS shop_tmp (id integer PRIMARY KEY)", "CREATE TABLE", "ddl", set()),
    ("CREATE EXTENSION IF NOT EXISTS pg_trgm", "CREATE EXTENSION", "ddl", set()),
    (
        "CREATE TRIGGER trg BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f()",
        "CREATE TRIGGER",
        "ddl",
        set(),
    ),
    ("CREATE OR REPLACE VIEW v AS SELECT * FROM t", "CREATE VIEW", "ddl", set()),
    ("CREATE MATERIALIZED VIEW mv AS SELECT 1", "CREATE MATERIALIZED VIEW", "ddl", set()),
    ("COMMENT ON TABLE t IS 'DROP TABLE t'", "COMMENT", "ddl", set()),
    # Dollar-quoted bodies are one string: the DELETE inside is not a statement.
    (
        "CREATE OR REPLACE FUNCTION purge() RETURNS trigger AS $body$\nBEGIN\n  DELETE FROM t;\n  RETURN NULL;\nEND;\n$body$ LANGUAGE plpgsql",
        "CREATE FUNCTION",
        "ddl",
        set(),
    ),
    (
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1) THEN DELETE FROM t; END IF; END $$",
        "DO",
        "procedural",
        set(),
    ),
    # Quoted identifiers named like keywords are names.
    ('ALTER TABLE "drop" ADD COLUMN "delete" int NULL', "ALTER TABLE", "ddl", set()),
    ('UPDATE "drop" SET "truncate" = 1 WHERE id = 2', "UPDATE", "dml", set()),
    # DML.
    ("DELETE FROM shop_item", "DELETE", "dml", {sql.DELETE_ALL}),
    ("DELETE FROM t WHERE id IN (SELECT id FROM u)", "DELETE", "dml", set()),
    ("DELETE FROM t USING u WHERE t.id = u.id", "DELETE", "dml", set()),
    ("DELETE FROM shop_product LIMIT 10", "DELETE", "dml", {sql.DELETE_ALL}),
    ("UPDATE shop_product SET price = price * 2", "UPDATE", "dml", {sql.UPDATE_ALL}),
    # A WHERE inside a subquery does not restrict the UPDATE: every row is written.
    ("UPDATE t SET x = (SELECT y FROM u WHERE u.id = t.id)", "UPDATE", "dml", {sql.UPDATE_ALL}),
    ("UPDATE t SET x = u.y FROM u WHERE u.id = t.id", "UPDATE", "dml", set()),
    ("update shop_product set (a, b) = (1, 2)", "UPDATE", "dml", {sql.UPDATE_ALL}),
    ("UPDATE t SET x = %s WHERE id = %(id)s", "UPDATE", "dml", set()),
    ("UPDATE a JOIN b ON a.id = b.a_id SET a.x = b.y", "UPDATE", "dml", set()),
    ("TRUNCATE TABLE ONLY a, b RESTART IDENTITY CASCADE", "TRUNCATE", "dml", {sql.TRUNCATE}),
    ("INSERT INTO t (a, b) VALUES (1, 'DROP TABLE x; --')", "INSERT", "dml", set()),
    (
        "INSERT INTO t SELECT * FROM u ON CONFLICT (id) DO UPDATE SET a = excluded.a",
        "INSERT",
        "dml",
        set(),
    ),
    ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", "MERGE", "dml", set()),
    (
        "WITH gone AS (DELETE FROM t RETURNING id) SELECT count(*) FROM gone",
        "SELECT",
        "dml",
        {sql.DELETE_ALL},
    ),
    (
        "WITH x AS (SELECT 1) UPDATE t SET a = 1 WHERE b IN (SELECT * FROM x)",
        "UPDATE",
        "dml",
        set(),
    ),
    # Queries, control, procedural, other.
    (
        "SELECT setval(pg_get_serial_sequence('t', 'id'), coalesce(max(id), 1)) FROM t",
        "SELECT",
        "query",
        set(),
    ),
    ("SET CONSTRAINTS ALL IMMEDIATE", "SET", "control", set()),
    ("LOCK TABLE t IN ACCESS EXCLUSIVE MODE", "LOCK", "control", set()),
    ("GRANT SELECT ON t TO reader", "GRANT", "other", set()),
    ("REFRESH MATERIALIZED VIEW CONCURRENTLY mv", "REFRESH", "other", set()),
    # MySQL.
    (
        "ALTER TABLE `shop_product` MODIFY `name` varchar(200) NOT NULL",
        "ALTER TABLE",
        "ddl",
        {sql.ALTER_TYPE},
    ),
    (
        "ALTER TABLE `t` CHANGE `a` `b` int",
        "ALTER TABLE",
        "ddl",
        {sql.RENAME_COLUMN, sql.ALTER_TYPE},
    ),
    ("ALTER TABLE `drop` DROP `x`", "ALTER TABLE", "ddl", {sql.DROP_COLUMN}),
    ("ALTER TABLE t DROP INDEX idx, DROP FOREIGN KEY fk", "ALTER TABLE", "ddl", set()),
    (
        "ALTER TABLE shop_product ADD INDEX idx_name (name)",
        "ALTER TABLE",
        "ddl",
        {sql.CREATE_INDEX},
    ),
    ("ALTER TABLE t ADD UNIQUE KEY u (a)", "ALTER TABLE", "ddl", {sql.ADD_UNIQUE}),
    ("RENAME TABLE a TO b, c TO d", "RENAME TABLE", "ddl", {sql.RENAME_TABLE}),
    ("DELETE t1 FROM t1 JOIN t2 ON t1.id = t2.id WHERE t2.gone", "DELETE", "dml", set()),
    # SQLite.
    ("PRAGMA foreign_keys = OFF", "PRAGMA", "control", set()),
    (
        "CREATE TABLE new__shop (id integer NOT NULL PRIMARY KEY AUTOINCREMENT)",
        "CREATE TABLE",
        "ddl",
        set(),
    ),
    ("INSERT INTO new__shop (id) SELECT id FROM shop", "INSERT", "dml", set()),
    ("DROP TABLE shop", "DROP TABLE", "ddl", {sql.DROP_TABLE}),
    ("ALTER TABLE new__shop RENAME TO shop", "ALTER TABLE", "ddl", {sql.RENAME_TABLE}),
]


def _hazards(statement: sql.Statement) -> set[str]:
    return {hazard.kind for hazard in statement.hazards}


@pytest.mark.parametrize(("text", "verb", "kind", "hazards"), STATEMENTS)
def test_statement_shapes(text: str, verb: str, kind: str, hazards: set[str]) -> None:
    (statement,) = sql.classify(text)
    assert (statement.verb, statement.kind, _hazards(statement)) == (verb, kind, hazards)


@pytest.mark.parametrize(
    "text",
    [
        "CREATE INDEX CONCURRENTLY i ON t (c)",
        "DROP INDEX CONCURRENTLY IF EXISTS i",
        "REINDEX INDEX CONCURRENTLY i",
        "VACUUM ANALYZE t",
        "ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY",
    ],
)
def test_statements_that_cannot_run_in_a_transaction(text: str) -> None:
    (statement,) = sql.classify(text)
    assert statement.no_transaction


@pytest.mark.parametrize(
    "text",
    [
        "CREATE INDEX i ON t (c)",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
        "COMMENT ON INDEX i IS 'CONCURRENTLY'",
    ],
)
def test_statements_that_run_in_a_transaction(text: str) -> None:
    assert not any(statement.no_transaction for statement in sql.classify(text))


def test_tables_and_columns() -> None:
    (alter,) = sql.classify(
        'ALTER TABLE public."Shop_Product" ADD COLUMN price int NULL, DROP COLUMN legacy'
    )
    assert alter.tables == ("public.shop_product",)
    assert alter.columns == ("price", "legacy")
    (index,) = sql.classify('CREATE INDEX i ON "shop_order" ("customer_id", "created")')
    assert (index.tables, index.columns) == (("shop_order",), ("customer_id", "created"))
    (update,) = sql.classify("UPDATE shop_product SET price = 1, stock = stock + 1 WHERE id = 3")
    assert (update.tables, update.columns) == (("shop_product",), ("price", "stock"))
    (create,) = sql.classify("CREATE TABLE shop_archive (id int)")
    assert create.creates == ("shop_archive",)


def test_multi_statement_string_with_comments_gives_each_statement_its_line() -> None:
    text = (
        "-- DROP TABLE shop_product;  (a comment, not a statement)\n"
        "UPDATE shop_product SET price = 0 WHERE price IS NULL;\n"
        "/* DELETE FROM shop_order; */\n"
        "DELETE FROM shop_order;\n"
        "SELECT 1  # a MySQL comment; DROP\n"
    )
    statements = sql.classify(text)
    assert [(st.verb, st.line, _hazards(st)) for st in statements] == [
        ("UPDATE", 1, set()),
        ("DELETE", 3, {sql.DELETE_ALL}),
        ("SELECT", 4, set()),
    ]


def test_default_added_then_dropped_is_found_across_statements() -> None:
    # What Django's AddField(IntegerField(default=0)) runs on PostgreSQL.
    text = (
        'ALTER TABLE "shop_product" ADD COLUMN "stock" integer DEFAULT 0 NOT NULL; '
        'ALTER TABLE "shop_product" ALTER COLUMN "stock" DROP DEFAULT;'
    )
    first, second = sql.classify(text)
    assert _hazards(first) == set()
    assert _hazards(second) == {sql.DEFAULT_DROPPED}
    # Across the entries of a RunSQL list too; a default dropped from a nullable column is fine.
    pieces = sql.analyse(
        [
            "ALTER TABLE t ADD COLUMN c int DEFAULT 0 NOT NULL",
            "ALTER TABLE t ADD COLUMN d int DEFAULT 0 NULL",
            "ALTER TABLE t ALTER COLUMN c DROP DEFAULT, ALTER COLUMN d DROP DEFAULT",
        ]
    )
    assert [st.piece for st in pieces] == [0, 1, 2]
    assert [(h.kind, h.column) for h in pieces[2].hazards] == [(sql.DEFAULT_DROPPED, "c")]


@pytest.mark.parametrize(
    "text",
    [
        "DELETE FROM t WHERE name = 'unterminated",
        "SELECT $$abc; DELETE FROM t",
        "DELIMITER $$\nCREATE TRIGGER x BEFORE INSERT ON t FOR EACH ROW BEGIN DELETE FROM y; END$$\nDELIMITER ;",
        "DELETE FROM t WHERE (a = 1",
        "UPDATE t SET a = 1) WHERE (b = 2",
    ],
)
def test_unreadable_sql_is_unknown_and_never_a_hazard(text: str) -> None:
    statements = sql.classify(text)
    assert statements
    assert all(not st.hazards for st in statements)
    assert any(st.kind == "unknown" for st in statements)


def test_huge_sql_is_not_read() -> None:
    text = "DELETE FROM t;\n" + "INSERT INTO t VALUES (1);\n" * 50_000
    assert len(text) > sql.MAX_SQL_CHARS
    (statement,) = sql.classify(text)
    assert statement.kind == "unknown" and not statement.hazards


def test_empty_sql_has_no_statements() -> None:
    assert sql.classify("") == ()
    assert sql.classify("  -- only a comment\n") == ()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("DELETFROMWHUPAS $'\"`;()-*/\n\\ab12")), max_size=80))
def test_any_text_classifies_without_error(text: str) -> None:
    for statement in sql.classify(text):
        assert 0 <= statement.start <= statement.end <= len(text)


# --- RunSQL arguments and positions in the file ------------------------------------------


def _runsql(source: str) -> s.Call:
    facts = parse_migration(
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
        f"    operations = [\n        {source}\n    ]\n"
    )
    (operation,) = facts.operations
    assert operation.call is not None
    return operation.call


def _argument(call: s.Call, reverse: bool = False) -> sql.SqlArgument:
    position, keyword = (1, "reverse_sql") if reverse else (0, "sql")
    return sql.runsql_argument(
        call.argument(position, keyword), call.argument_span(position, keyword)
    )


def test_argument_shapes() -> None:
    call = _runsql(
        'migrations.RunSQL(["DELETE FROM a", ("UPDATE b SET c = %s", [1]), ["DROP TABLE d", None]], '
        "reverse_sql=migrations.RunSQL.noop)"
    )
    forward = _argument(call)
    assert [piece.sql for piece in forward.pieces] == [
        "DELETE FROM a",
        "UPDATE b SET c = %s",
        "DROP TABLE d",
    ]
    assert [st.verb for st in forward.statements()] == ["DELETE", "UPDATE", "DROP TABLE"]
    assert _argument(call, reverse=True).noop
    assert not _argument(_runsql('migrations.RunSQL("SELECT 1")'), reverse=True).given


def test_unreadable_arguments() -> None:
    call = _runsql('migrations.RunSQL(FORWARD_SQL, f"DROP TABLE {name}")')
    assert _argument(call).unreadable and not _argument(call).pieces
    assert _argument(call, reverse=True).unreadable


def test_statement_lines_in_a_triple_quoted_string() -> None:
    call = _runsql(
        "migrations.RunSQL(\n"
        '            """\n'
        "            UPDATE shop_product SET price = 0 WHERE price IS NULL;\n"
        "            -- DROP TABLE nothing;\n"
        "            DELETE FROM shop_order;\n"
        '            """\n'
        "        )"
    )
    argument = _argument(call)
    spans = [argument.span_of(st) for st in argument.statements()]
    # The file: line 5 has `operations = [`, line 6 the call, line 7 the opening quotes.
    assert [(span.line, span.column) for span in spans] == [(8, 13), (10, 13)]
    assert spans[1].end_line == 10 and spans[1].end_column == 13 + len("DELETE FROM shop_order")


def test_statement_lines_after_a_backslash_continuation() -> None:
    call = _runsql('migrations.RunSQL("""\\\nSELECT 1;\nDROP TABLE shop_legacy;\n""")')
    argument = _argument(call)
    spans = [argument.span_of(st) for st in argument.statements()]
    assert [span.line for span in spans] == [7, 8]


def test_single_line_string_points_at_the_literal() -> None:
    call = _runsql('migrations.RunSQL("SELECT 1; DROP TABLE t")')
    argument = _argument(call)
    spans = [argument.span_of(st) for st in argument.statements()]
    assert {span.line for span in spans} == {6}


SCRIPTS = [
    # MySQL bodies without DELIMITER: the splitter keeps BEGIN ... END in one statement.
    (
        "CREATE PROCEDURE p() BEGIN DELETE FROM t; UPDATE u SET a = 1; END; SELECT 1",
        [("CREATE PROCEDURE", set()), ("SELECT", set())],
    ),
    (
        "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW BEGIN UPDATE t2 SET x = 1; END; DROP TABLE t9",
        [("CREATE TRIGGER", set()), ("DROP TABLE", {sql.DROP_TABLE})],
    ),
    (
        "CREATE FUNCTION f() RETURNS void AS 'DELETE FROM t' LANGUAGE sql",
        [("CREATE FUNCTION", set())],
    ),
    ("SELECT E'it\\'s; DROP TABLE t'", [("SELECT", set())]),
    ("INSERT INTO t VALUES ($$DROP TABLE x;$$)", [("INSERT", set())]),
    ("ALTER TABLE t ADD COLUMN x int; -- trailing DROP TABLE t", [("ALTER TABLE", set())]),
    (
        "BEGIN; DELETE FROM t WHERE id = 1; COMMIT;",
        [("BEGIN", set()), ("DELETE", set()), ("COMMIT", set())],
    ),
    (
        # What Django writes for AddField(PositiveIntegerField(default=0)) on PostgreSQL.
        'ALTER TABLE "t" ADD COLUMN "n" integer DEFAULT 0 NOT NULL CHECK ("n" >= 0); '
        'ALTER TABLE "t" ALTER COLUMN "n" DROP DEFAULT;',
        [("ALTER TABLE", {sql.ADD_CHECK}), ("ALTER TABLE", {sql.DEFAULT_DROPPED})],
    ),
]


@pytest.mark.parametrize(("text", "expected"), SCRIPTS)
def test_scripts(text: str, expected: list[tuple[str, set[str]]]) -> None:
    assert [(st.verb, _hazards(st)) for st in sql.classify(text)] == expected


def test_set_default_is_a_fact_not_a_hazard_kind_of_its_own() -> None:
    (statement,) = sql.classify("ALTER TABLE shop_order ALTER paid SET DEFAULT false")
    assert [(h.kind, h.table, h.column) for h in statement.hazards] == [
        (sql.SET_DEFAULT, "shop_order", "paid")
    ]
    assert sql.SET_DEFAULT not in sql.DESTRUCTIVE


@pytest.mark.parametrize(
    ("text", "tables"),
    [
        ("ALTER TABLE shop_order ADD COLUMN note text NULL", ("shop_order",)),
        ('ALTER TABLE "shop_order" RENAME COLUMN "note" TO "remark"', ("shop_order",)),
        ("ALTER TABLE shop_order ALTER COLUMN note SET DEFAULT ''", ("shop_order",)),
        ("ALTER TABLE ONLY public.shop_order DROP CONSTRAINT c", ("public.shop_order",)),
        ("DROP TABLE a, b", ("a", "b")),
        ("TRUNCATE shop_order", ("shop_order",)),
        ("LOCK TABLE shop_order", ("shop_order",)),
        ("LOCK shop_order IN ACCESS EXCLUSIVE MODE NOWAIT", ("shop_order",)),
        ("VACUUM FULL shop_order", ("shop_order",)),
        # The documentation names a weaker lock for these.
        ("ALTER TABLE shop_order VALIDATE CONSTRAINT c", ()),
        ("ALTER TABLE shop_order ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES b (id)", ()),
        ("ALTER TABLE shop_order ALTER COLUMN a SET STATISTICS 500", ()),
        ("ALTER TABLE shop_order ALTER a SET (n_distinct = 100)", ()),
        ("ALTER TABLE shop_order SET (fillfactor = 70)", ()),
        ("ALTER TABLE shop_order DISABLE TRIGGER ALL", ()),
        ("LOCK TABLE shop_order IN SHARE MODE", ()),
        ("CREATE INDEX i ON shop_order (a)", ()),
        ("DROP INDEX i", ()),
        ("SELECT * FROM shop_order", ()),
        # One action that takes ACCESS EXCLUSIVE is enough.
        ("ALTER TABLE t VALIDATE CONSTRAINT c, ALTER COLUMN a DROP NOT NULL", ("t",)),
    ],
)
def test_tables_locked_access_exclusive(text: str, tables: tuple[str, ...]) -> None:
    (statement,) = sql.classify(text)
    assert statement.exclusive == tables


@pytest.mark.parametrize(
    ("text", "name", "value", "local", "disabled"),
    [
        ("SET lock_timeout = '5s'", "lock_timeout", "5s", False, False),
        ("SET LOCAL lock_timeout TO 3000", "lock_timeout", "3000", True, False),
        ("set session lock_timeout = '1min'", "lock_timeout", "1min", False, False),
        ("SET lock_timeout = 0", "lock_timeout", "0", False, True),
        ("SET lock_timeout TO '0ms'", "lock_timeout", "0ms", False, True),
        ("SET lock_timeout TO DEFAULT", "lock_timeout", None, False, True),
        ("RESET lock_timeout", "lock_timeout", None, False, True),
        ("SELECT set_config('lock_timeout', '2s', true)", "lock_timeout", "2s", True, False),
        ("SELECT set_config('lock_timeout', '2s', false)", "lock_timeout", "2s", False, False),
    ],
)
def test_settings(text: str, name: str, value: str | None, local: bool, disabled: bool) -> None:
    (statement,) = sql.classify(text)
    assert statement.setting == sql.Setting(name, value, local)
    assert statement.setting.disabled is disabled


def test_drop_index_names_each_index() -> None:
    (statement,) = sql.classify('DROP INDEX IF EXISTS "a_idx", public.b_idx CASCADE')
    assert [(h.kind, h.detail) for h in statement.hazards] == [
        (sql.DROP_INDEX, "a_idx"),
        (sql.DROP_INDEX, "public.b_idx"),
    ]


def test_why_an_added_column_rewrites() -> None:
    (statement,) = sql.classify("ALTER TABLE t ADD COLUMN r float DEFAULT random() NOT NULL")
    (hazard,) = statement.hazards
    assert (hazard.kind, hazard.column, hazard.detail) == (
        sql.ADD_REWRITE,
        "r",
        "a volatile default, random()",
    )


def test_the_index_a_create_index_makes() -> None:
    (statement,) = sql.classify('CREATE INDEX CONCURRENTLY IF NOT EXISTS "Order_Idx" ON t (a)')
    assert statement.index == "order_idx"
    (statement,) = sql.classify("CREATE INDEX ON t (a)")
    assert statement.index is None
