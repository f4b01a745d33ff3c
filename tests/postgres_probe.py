"""What PostgreSQL does with the SQL Django writes, run in a process of its own (Django's
settings can be configured once per process).

    python tests/postgres_probe.py ROOT HOST TARGETS_JSON

With every app migrated up to the migration before its target (sqlmigrate reads index names
from the database), for each (app, migration) target: the text `sqlmigrate` prints; then,
with a few rows in the tables, each statement
of the target run in one open transaction (rolled back at the end) and, after each one, what
another connection sees in `pg_locks` for that transaction, which relations got a new file
(rewritten), which were read by a sequential scan, which are gone, and the lock_timeout in
force. Non-atomic migrations (CONCURRENTLY) cannot run in a transaction: only their SQL is
given. Prints one JSON object.
"""

from __future__ import annotations

import io
import json
import sys
from typing import Any


def main(root: str, host: str, targets: list[tuple[str, str]]) -> dict[str, Any]:
    sys.path.insert(0, root)
    import django
    from django.conf import settings

    apps = [app for app, _ in targets]
    settings.configure(
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.postgres",
            *apps,
        ],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "postgres",
                "USER": "postgres",
                "HOST": host,
            }
        },
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        USE_TZ=True,
    )
    django.setup()
    import psycopg
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    # Everything before each target is applied (sqlmigrate reads index names from the
    # database), with rows in the tables it made.
    executor = MigrationExecutor(connection)
    for app, name in targets:
        migration = executor.loader.get_migration(app, name)
        before = [key for key in migration.dependencies if key[0] == app]
        if before:
            call_command("migrate", app, before[0][1], verbosity=0)
    result: dict[str, Any] = {}
    for app, name in targets:
        out = io.StringIO()
        try:
            call_command("sqlmigrate", app, name, stdout=out)
            result[app] = {"sql": out.getvalue()}
        except Exception as error:  # e.g. NotSupportedError for CONCURRENTLY in a transaction
            result[app] = {"error": f"{type(error).__name__}: {error}"}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'c\\_%'"
        )
        for (table,) in cursor.fetchall():
            if table.endswith("_product"):
                cursor.execute(
                    f'INSERT INTO "{table}" (name, code, stock, note, ref, serial) '
                    "SELECT 'p' || i, i::text, i, NULL, 'r' || i, 's' || i "
                    "FROM generate_series(1, 3) i"
                )
            elif table.endswith("_maker"):
                cursor.execute(f'INSERT INTO "{table}" DEFAULT VALUES')
            elif table.endswith("_legacy"):
                cursor.execute(f"INSERT INTO \"{table}\" (code) VALUES ('a'), ('b')")
    executor = MigrationExecutor(connection)
    running = psycopg.connect(host=host, user="postgres", dbname="postgres")
    watching = psycopg.connect(host=host, user="postgres", dbname="postgres", autocommit=True)
    pid = running.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
    running.rollback()
    for app, name in targets:
        migration = executor.loader.get_migration(app, name)
        if not migration.atomic or "error" in result[app]:
            continue
        statements = [
            text
            for text in executor.loader.collect_sql([(migration, False)])
            if not text.lstrip().startswith("--")
        ]
        existing = _relations(running)
        steps = []
        for text in statements:
            files, scans = _files(running), _scans(running)
            try:
                running.execute(text)
            except psycopg.Error as error:
                steps.append({"sql": text, "error": str(error).splitlines()[0]})
                break
            locks = watching.execute(
                "SELECT c.relname, c.relkind, l.mode FROM pg_locks l "
                "JOIN pg_class c ON c.oid = l.relation "
                "WHERE l.pid = %s AND l.locktype = 'relation' AND l.granted",
                (pid,),
            ).fetchall()
            files_after, scans_after = _files(running), _scans(running)
            steps.append(
                {
                    "sql": text,
                    "locks": sorted({(r, k, m) for r, k, m in locks if r in existing}),
                    "rewritten": sorted(
                        r for r in files if r in files_after and files[r] != files_after[r]
                    ),
                    "dropped": sorted(r for r in files if r not in files_after),
                    "scanned": sorted(r for r in scans_after if scans_after[r] > scans.get(r, 0)),
                    "lock_timeout": running.execute("SHOW lock_timeout").fetchone()[0],  # type: ignore[index]
                }
            )
        running.rollback()
        result[app]["existing"] = existing
        result[app]["statements"] = steps
    return result


def _relations(connection: Any) -> dict[str, str]:
    rows = connection.execute(
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public'"
    ).fetchall()
    return {name: kind for name, kind in rows}


def _files(connection: Any) -> dict[str, int]:
    rows = connection.execute(
        "SELECT c.relname, c.relfilenode FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
    ).fetchall()
    return {name: node for name, node in rows}


def _scans(connection: Any) -> dict[str, int]:
    rows = connection.execute("SELECT relname, seq_scan FROM pg_stat_xact_user_tables").fetchall()
    return {name: count for name, count in rows}


if __name__ == "__main__":
    root, host, targets = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    print(json.dumps(main(root, host, [tuple(target) for target in targets])))
