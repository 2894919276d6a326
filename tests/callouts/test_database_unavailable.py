"""When the callout cannot be recorded, Zuora gets a 503 to retry, and nothing is half-written.

On PostgreSQL the outage is real: another connection holds an exclusive lock
on the pending-sync table, and the callout's statement gives up after a short
lock_timeout. SQLite's test database lives in memory, shared by the test's own
connection, so no second connection can hold a lock against it reliably;
there, and for dropped connections on both databases, the failure is raised
from Django's execute-wrapper hook, beneath our code and above the driver.
"""

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.test import Client

from billing.models import PendingSync
from tests.callouts.conftest import ACCOUNT_URL, AUTHORIZED, CONTACT_URL, post_json, recorded
from tests.factories import zuora_id


def assert_retry_later(response) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert response.json()["success"] is False


def fail_on_table(table: str, error: Exception):
    def wrapper(execute, sql, params, many, context):
        if table in sql:
            raise error
        return execute(sql, params, many, context)

    return wrapper


@pytest.mark.parametrize("url", [ACCOUNT_URL, CONTACT_URL])
def test_connection_lost_after_the_receipt_leaves_neither_receipt_nor_pending_sync(
    zuora: Client, url: str
) -> None:
    failure = OperationalError("server closed the connection unexpectedly")

    with connection.execute_wrapper(fail_on_table(PendingSync._meta.db_table, failure)):
        response = post_json(
            zuora, url, {"AccountId": zuora_id(), "ContactId": zuora_id()}, **AUTHORIZED
        )

    assert_retry_later(response)
    assert recorded() == (0, 0)


def test_closed_connection_is_answered_503(zuora: Client) -> None:
    failure = InterfaceError("connection already closed")

    with connection.execute_wrapper(fail_on_table("billing_", failure)):
        response = post_json(zuora, ACCOUNT_URL, {"AccountId": zuora_id()}, **AUTHORIZED)

    assert_retry_later(response)
    assert recorded() == (0, 0)


def test_callout_is_accepted_again_once_the_database_is_back(zuora: Client) -> None:
    account_id = zuora_id()
    failure = OperationalError("could not connect to server")
    with connection.execute_wrapper(fail_on_table("billing_", failure)):
        assert (
            post_json(zuora, ACCOUNT_URL, {"AccountId": account_id}, **AUTHORIZED).status_code
            == 503
        )

    response = post_json(zuora, ACCOUNT_URL, {"AccountId": account_id}, **AUTHORIZED)

    assert response.status_code == 200
    assert recorded() == (1, 1)


@pytest.mark.postgres_only
def test_locked_pending_sync_table_on_postgresql_is_answered_503_with_nothing_recorded(
    zuora: Client, on_postgresql: bool
) -> None:
    if not on_postgresql:
        pytest.skip("needs PostgreSQL")
    table = PendingSync._meta.db_table
    locker = connection.get_new_connection(connection.get_connection_params())
    try:
        with locker.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
            cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        with connection.cursor() as cursor:
            # Scoped to the test's transaction, which is rolled back at the end.
            cursor.execute("SET LOCAL lock_timeout = '200ms'")

        response = post_json(zuora, ACCOUNT_URL, {"AccountId": zuora_id()}, **AUTHORIZED)
    finally:
        locker.rollback()
        locker.close()

    assert_retry_later(response)
    assert recorded() == (0, 0)
