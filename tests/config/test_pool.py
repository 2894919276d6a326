"""A pooled connection is checked before use at most once per interval."""

import time
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection

from config.pool import ThrottledCheck
from tests.conftest import database_url_for_subprocesses

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pooled(on_postgresql: bool) -> Iterator[psycopg.Connection]:
    if not on_postgresql:
        pytest.skip("needs PostgreSQL")
    with psycopg.connect(database_url_for_subprocesses(), autocommit=True) as opened:
        yield opened


def terminate(victim: psycopg.Connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [victim.info.backend_pid])


def test_a_connection_checked_within_the_interval_is_trusted(pooled: psycopg.Connection) -> None:
    check = ThrottledCheck(interval=60)
    check(pooled)
    terminate(pooled)
    # No query: the check of a moment ago stands, even though the server is gone.
    check(pooled)
    with pytest.raises(psycopg.OperationalError):
        pooled.execute("SELECT 1")


def test_a_connection_is_checked_again_once_the_interval_has_passed(
    pooled: psycopg.Connection,
) -> None:
    check = ThrottledCheck(interval=0.2)
    check(pooled)
    terminate(pooled)
    time.sleep(0.3)
    with pytest.raises(psycopg.OperationalError):
        check(pooled)


def test_a_connection_known_to_be_broken_is_checked_at_once(pooled: psycopg.Connection) -> None:
    check = ThrottledCheck(interval=60)
    check(pooled)
    terminate(pooled)
    with pytest.raises(psycopg.OperationalError):
        pooled.execute("SELECT 1")
    assert pooled.broken
    with pytest.raises(psycopg.OperationalError):
        check(pooled)
