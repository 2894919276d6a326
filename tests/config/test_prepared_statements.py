"""On PostgreSQL, with DATABASE_PREPARED_STATEMENTS, a statement a connection runs
again and again is prepared there, and still planned for each run's values."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from billing.models import SyncKind
from billing.sync.pending import request_parameters, request_statement, requested_rows
from config.environment import PREPARE_THRESHOLD, parse_database_url

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _postgresql_only(on_postgresql: bool) -> None:
    if not on_postgresql:
        pytest.skip("prepared statements are PostgreSQL's")


@contextmanager
def connection_made_with(*, prepared_statements: bool) -> Iterator[BaseDatabaseWrapper]:
    """A second connection to the test database, with the options DATABASE_URL and
    DATABASE_PREPARED_STATEMENTS would give it."""
    options = parse_database_url(
        "postgres://user@host/name",
        default_sqlite_path=Path("/unused.sqlite3"),
        prepared_statements=prepared_statements,
    )["OPTIONS"]
    other = connection.copy()
    other.settings_dict = {**other.settings_dict, "OPTIONS": options}
    try:
        yield other
    finally:
        other.close()


def prepared_statements(on: BaseDatabaseWrapper) -> list[str]:
    with on.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


def test_the_test_database_prepares_nothing_by_default() -> None:
    with connection.cursor() as cursor:
        for number in range(PREPARE_THRESHOLD + 1):
            cursor.execute("SELECT %s::int + 1", [number])

    assert prepared_statements(connection) == []


@pytest.mark.parametrize("prepared", [True, False])
def test_a_statement_that_repeats_is_prepared_only_when_asked(prepared: bool) -> None:
    with connection_made_with(prepared_statements=prepared) as other:
        for number in range(PREPARE_THRESHOLD + 1):
            with other.cursor() as cursor:
                # A callout's upsert, as the endpoint runs it (in a transaction
                # rolled back: the test database stays as it was).
                cursor.execute("BEGIN")
                cursor.execute(
                    request_statement("postgresql"),
                    request_parameters(NOW)
                    | {
                        "requested": json.dumps(
                            requested_rows([(SyncKind.ACCOUNT, f"A{number}")], {})
                        )
                    },
                )
                cursor.execute("ROLLBACK")

        texts = prepared_statements(other)
    assert any("INSERT INTO billing_pendingsync" in text for text in texts) is prepared


def test_prepared_statements_are_planned_for_each_runs_values() -> None:
    with connection_made_with(prepared_statements=True) as other, other.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone() == ("force_custom_plan",)
