"""A few rows and many rows are written alike, as typed values or as arrays."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import AccountStatus, BillingAccount
from billing.sync.upsert import SCALARS_UP_TO, insert_rows, upsert_many_by_zuora_id
from customers.models import Customer

pytestmark = pytest.mark.django_db

# One row: typed values; more than SCALARS_UP_TO values: one array per column.
FEW, MANY = 1, SCALARS_UP_TO


def row_source(queries: CaptureQueriesContext) -> str:
    [statement] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    return "unnest" if "unnest(" in statement else "values"


@pytest.mark.parametrize("count", [FEW, MANY])
def test_inserted_rows_are_stored_as_given_whichever_the_row_source(count: int) -> None:
    rows = [(f"p{n}@example.com", "Zoë", 'a "quoted" \\ name', "!") for n in range(count)]

    with CaptureQueriesContext(connection) as queries:
        pks = insert_rows(Customer, ("email", "first_name", "last_name", "password"), rows)

    stored = Customer.objects.in_bulk(pks)
    assert [
        (stored[pk].email, stored[pk].first_name, stored[pk].last_name, stored[pk].password)
        for pk in pks
    ] == rows
    assert all(customer.date_joined is not None for customer in stored.values())
    if connection.vendor == "postgresql":
        assert row_source(queries) == ("values" if count == FEW else "unnest")


def account_row(n: int, *, name: str, updated: datetime | None) -> dict[str, object]:
    return {
        "zuora_id": f"{n:032x}",
        "account_number": f"A{n:08}",
        "name": name,
        "status": AccountStatus.ACTIVE,
        "currency": "EUR",
        "batch": "",
        "zuora_updated_at": updated,
        "sold_to_provisioning_problem_at": None,
    }


@pytest.mark.parametrize("count", [FEW, MANY])
def test_upserted_rows_keep_the_stale_write_guard_whichever_the_row_source(count: int) -> None:
    then = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    first = upsert_many_by_zuora_id(
        BillingAccount, [account_row(n, name="Old", updated=then) for n in range(count)]
    )
    assert all(upserted.written for upserted in first.values())

    # Even rows come with an older updatedDate and are kept; odd rows are newer.
    again = [
        account_row(n, name="New", updated=then + timedelta(seconds=-1 if n % 2 == 0 else 1))
        for n in range(count)
    ]
    with CaptureQueriesContext(connection) as queries:
        second = upsert_many_by_zuora_id(BillingAccount, again)

    names = dict(BillingAccount.objects.values_list("zuora_id", "name"))
    for n, row in enumerate(again):
        zuora_id = str(row["zuora_id"])
        assert second[zuora_id].pk == first[zuora_id].pk
        assert second[zuora_id].written == (n % 2 == 1)
        assert names[zuora_id] == ("New" if n % 2 == 1 else "Old")
    if connection.vendor == "postgresql":
        assert row_source(queries) == ("values" if count == FEW else "unnest")
