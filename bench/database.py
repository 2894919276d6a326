"""The benchmark's own database: created fresh, emptied between sections, read for counts."""

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from bench.sizes import Sizes


def prepare(sizes: Sizes, var_dir: Path) -> str:
    """Create an empty database for this run and set Django up on it; returns its URL."""
    if sizes.db == "sqlite":
        path = var_dir / "db.sqlite3"
        for stale in var_dir.glob("db.sqlite3*"):
            stale.unlink()
        url = f"sqlite:///{path}"
    else:
        url = sizes.database_url
        _recreate_postgres(url)
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DEBUG": "1",
            "SECRET_KEY": secrets.token_urlsafe(32),
            "ZUORA_SYNC_ENABLED": "0",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
    )
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    return url


def _recreate_postgres(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def empty() -> None:
    """Delete every row (callouts, syncs, tasks, accounts): the next section starts clean."""
    from django.core.management import call_command
    from django.db import connections

    call_command("flush", interactive=False, verbosity=0)
    connections.close_all()


def table_rows(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (our own table names)
        return int(cursor.fetchone()[0])


def transactions() -> int | None:
    """Transactions committed or rolled back in this database so far (PostgreSQL only)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        )
        return int(cursor.fetchone()[0])


def postgres_conninfo(url: str) -> dict[str, str]:
    """PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE for the command-line tools."""
    parts = urlsplit(url)
    info = {
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGUSER": parts.username or "postgres",
        "PGDATABASE": parts.path.lstrip("/"),
    }
    if parts.password:
        info["PGPASSWORD"] = parts.password
    return info
