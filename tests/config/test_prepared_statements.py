"""On PostgreSQL a statement a connection runs again and again is prepared there."""

import pytest
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from billing.models import SyncKind
from billing.sync.pending import request_syncs
from config.environment import PREPARE_THRESHOLD


def prepared_statements(on: BaseDatabaseWrapper = connection) -> list[str]:
    with on.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


def test_a_callouts_upsert_is_prepared_once_it_repeats(on_postgresql: bool) -> None:
    if not on_postgresql:
        pytest.skip("prepared statements are PostgreSQL's")
    for number in range(PREPARE_THRESHOLD + 1):
        request_syncs([(SyncKind.ACCOUNT, f"A{number}")])

    assert any("INSERT INTO billing_pendingsync" in text for text in prepared_statements())


def test_statements_are_planned_for_their_values(on_postgresql: bool) -> None:
    if not on_postgresql:
        pytest.skip("prepared statements are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone() == ("force_custom_plan",)


@pytest.mark.parametrize("threshold", [PREPARE_THRESHOLD, None])
def test_a_connection_prepares_only_when_asked(on_postgresql: bool, threshold: int | None) -> None:
    if not on_postgresql:
        pytest.skip("prepared statements are PostgreSQL's")
    other = connection.copy()
    other.settings_dict = {
        **other.settings_dict,
        "OPTIONS": {**other.settings_dict["OPTIONS"], "prepare_threshold": threshold},
    }
    try:
        for number in range(PREPARE_THRESHOLD + 1):
            with other.cursor() as cursor:
                cursor.execute("SELECT %s::int + 1", [number])

        assert bool(prepared_statements(other)) is (threshold is not None)
    finally:
        other.close()
