"""A page of accounts is reconciled in a few statements, with the same rules as one."""

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import BillingAccount, BillingAccountContact, BillingAccountMembership
from billing.signals import sold_to_changed
from billing.sync import backfill
from billing.sync.reconcile import reconcile_accounts
from tests.factories import zuora_id
from zuora.models import parse_account

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def contact(account_id: str, contact_id: str, email: str, at: datetime) -> dict[str, Any]:
    return {
        "id": contact_id,
        "accountId": account_id,
        "firstName": "Ada",
        "lastName": "Byron",
        "workEmail": email,
        "updatedDate": at.isoformat(),
    }


def account(
    *,
    number: str,
    at: datetime = T0,
    name: str = "Acme",
    email: str = "a@example.com",
    ids: tuple[str, str, str] | None = None,
) -> Any:
    account_id, bill_to, sold_to = ids or (zuora_id(), zuora_id(), zuora_id())
    return parse_account(
        {
            "id": account_id,
            "accountNumber": number,
            "name": name,
            "status": "Active",
            "currency": "EUR",
            "batch": "Batch1",
            "billToId": bill_to,
            "soldToId": sold_to,
            "updatedDate": at.isoformat(),
            "billTo": contact(account_id, bill_to, "bill@example.com", at),
            "soldTo": contact(account_id, sold_to, email, at),
        }
    )


@pytest.mark.parametrize("provisioning", [False, True])
def test_a_page_is_written_in_a_constant_number_of_statements(
    settings: Any, provisioning: bool
) -> None:
    # Sold-To provisioning runs in the same transaction, for the whole page at once.
    settings.SOLD_TO_PROVISIONING_ENABLED = provisioning
    small = [account(number=f"S{n}", email=f"s{n}@example.com") for n in range(2)]
    large = [account(number=f"L{n}", email=f"l{n}@example.com") for n in range(50)]

    with CaptureQueriesContext(connection) as few:
        reconcile_accounts(small)
    with CaptureQueriesContext(connection) as many:
        reconcile_accounts(large)

    assert len(many.captured_queries) == len(few.captured_queries)
    assert BillingAccount.objects.count() == 52
    assert BillingAccountContact.objects.count() == 104
    assert BillingAccountMembership.objects.count() == (52 if provisioning else 0)
    for item in large:
        local = BillingAccount.objects.get(zuora_id=item.id)
        assert local.bill_to_contact.zuora_id == item.bill_to_id
        assert local.sold_to_contact.zuora_id == item.sold_to_id


def test_within_a_page_stale_rows_are_kept_and_newer_ones_written() -> None:
    ids = (zuora_id(), zuora_id(), zuora_id())
    reconcile_accounts([account(number="A1", ids=ids, at=T0, name="Newer")])
    other = account(number="A2")

    result = reconcile_accounts(
        [account(number="A1", ids=ids, at=T0 - timedelta(hours=1), name="Older"), other]
    )

    assert (result.accounts_written, result.accounts_stale) == (1, 1)
    assert BillingAccount.objects.get(zuora_id=ids[0]).name == "Newer"
    assert BillingAccount.objects.get(zuora_id=other.id).name == "Acme"


def test_the_same_account_twice_in_a_page_keeps_the_newest() -> None:
    ids = (zuora_id(), zuora_id(), zuora_id())
    reconcile_accounts(
        [
            account(number="A1", ids=ids, at=T0 + timedelta(seconds=5), name="Later"),
            account(number="A1", ids=ids, at=T0, name="Earlier"),
        ]
    )
    assert BillingAccount.objects.get().name == "Later"


def test_two_accounts_swapping_numbers_in_one_page_both_get_theirs() -> None:
    first, second = account(number="N1"), account(number="N2")
    reconcile_accounts([first, second])
    later = T0 + timedelta(minutes=1)
    swapped = [
        account(number="N2", ids=(first.id, first.bill_to_id, first.sold_to_id), at=later),
        account(number="N1", ids=(second.id, second.bill_to_id, second.sold_to_id), at=later),
    ]

    reconcile_accounts(swapped)

    assert BillingAccount.objects.get(zuora_id=first.id).account_number == "N2"
    assert BillingAccount.objects.get(zuora_id=second.id).account_number == "N1"


def test_sold_to_changes_are_announced_once_per_account(
    django_capture_on_commit_callbacks: Any,
) -> None:
    ids = (zuora_id(), zuora_id(), zuora_id())
    heard: list[dict[str, Any]] = []

    def listen(**kwargs: Any) -> None:
        heard.extend(kwargs["changes"])

    sold_to_changed.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            reconcile_accounts([account(number="A1", ids=ids)])
        with django_capture_on_commit_callbacks(execute=True):
            reconcile_accounts([account(number="A1", ids=ids, at=T0 + timedelta(seconds=1))])
        with django_capture_on_commit_callbacks(execute=True):
            reconcile_accounts(
                [account(number="A1", ids=ids, at=T0 + timedelta(seconds=2), email="n@e.com")]
            )
    finally:
        sold_to_changed.disconnect(listen)

    # New Sold-To, then nothing changed, then its address changed.
    sold_to = BillingAccountContact.objects.get(zuora_id=ids[2]).pk
    assert [(h.previous_contact_id, h.contact_id) for h in heard] == [
        (None, sold_to),
        (sold_to, sold_to),
    ]


def test_a_later_sync_keeps_when_the_row_was_created() -> None:
    ids = (zuora_id(), zuora_id(), zuora_id())
    reconcile_accounts([account(number="A1", ids=ids)], synced_at=T0)
    reconcile_accounts(
        [account(number="A1", ids=ids, at=T0 + timedelta(hours=1), name="Renamed")],
        synced_at=T0 + timedelta(hours=2),
    )

    local = BillingAccount.objects.get(zuora_id=ids[0])
    assert local.name == "Renamed"
    assert local.created_at == T0
    assert local.last_synced_at == T0 + timedelta(hours=2)
    assert set(BillingAccountContact.objects.values_list("created_at", flat=True)) == {T0}


def test_text_that_needs_quoting_in_a_statement_is_stored_exactly() -> None:
    # PostgreSQL receives a page as one array per column: these must survive
    # the array syntax (quotes, commas, braces, backslashes, the word NULL).
    awkward = ['O\'Brien, "Quoted" {x}', "back\\slash", "NULL", "", "Zoë ☃ 株式会社"]
    page = [account(number=f"Q{n}", name=name) for n, name in enumerate(awkward)]

    reconcile_accounts(page)

    stored = dict(BillingAccount.objects.values_list("zuora_id", "name"))
    assert [stored[item.id] for item in page] == awkward


def test_a_reference_to_no_contact_is_stored_as_null() -> None:
    ids = (zuora_id(), zuora_id(), zuora_id())
    with_both = account(number="R1", ids=ids)
    reconcile_accounts([with_both])
    without_bill_to = parse_account(
        {
            "id": ids[0],
            "accountNumber": "R1",
            "name": "Acme",
            "status": "Active",
            "currency": "EUR",
            "billToId": None,
            "soldToId": ids[2],
            "updatedDate": (T0 + timedelta(minutes=1)).isoformat(),
            "soldTo": contact(ids[0], ids[2], "a@example.com", T0 + timedelta(minutes=1)),
        }
    )

    reconcile_accounts([without_bill_to, account(number="R2")])

    local = BillingAccount.objects.get(zuora_id=ids[0])
    assert local.bill_to_contact is None
    assert local.sold_to_contact.zuora_id == ids[2]


@pytest.fixture
def sqlite_default_parameter_limit() -> Iterator[None]:
    """SQLite's own default limit on parameters per statement; some builds raise it."""
    if connection.vendor != "sqlite":
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    before = raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 32_766)
    try:
        yield
    finally:
        raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, before)


@pytest.mark.usefixtures("sqlite_default_parameter_limit")
def test_a_write_batch_of_the_import_fits_in_each_databases_limits() -> None:
    # 1,000 accounts bring 2,000 contacts of some twenty columns: more
    # parameters than SQLite takes in one statement (32,766 by default).
    batch = [
        account(number=f"B{n}", email=f"b{n}@example.com") for n in range(backfill.WRITE_BATCH)
    ]

    result = reconcile_accounts(batch)

    assert result.accounts_written == backfill.WRITE_BATCH
    assert result.contacts_written == 2 * backfill.WRITE_BATCH
    assert BillingAccountContact.objects.count() == 2 * backfill.WRITE_BATCH
    assert BillingAccountMembership.objects.count() == backfill.WRITE_BATCH
    last = BillingAccount.objects.get(zuora_id=batch[-1].id)
    assert last.sold_to_contact.zuora_id == batch[-1].sold_to_id
