"""Account and contact syncs make the local copy equal to Zuora (the emulator)."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import BillingAccount, BillingAccountContact, PendingSync, SyncKind
from billing.sync import queue
from billing.sync.reconcile import reconcile_account
from billing.sync.runner import Outcome, run_due, run_pending_sync, run_pending_sync_recorded
from tests.sync.conftest import differences, new_account
from zuora.models import parse_account
from zuora_emulator.testing import EmulatorHandle

pytestmark = pytest.mark.django_db

ACCOUNT, CONTACT = SyncKind.ACCOUNT, SyncKind.CONTACT
FETCH_ACCOUNT = "GET /object-query/accounts/{key}"
FETCH_CONTACT = "GET /object-query/contacts/{key}"


def sync(kind: SyncKind, zuora_id: str) -> Outcome:
    queue.request(kind=kind, zuora_id=zuora_id)
    return run_pending_sync(kind=kind, zuora_id=zuora_id)


def test_account_sync_creates_the_account_with_bill_to_and_sold_to_as_local_rows(
    zuora: EmulatorHandle,
) -> None:
    remote = new_account(zuora)

    assert sync(ACCOUNT, remote.id) == Outcome.DONE

    account = BillingAccount.objects.get(zuora_id=remote.id)
    assert account.bill_to_contact.zuora_id == remote.bill_to_id
    assert account.sold_to_contact.zuora_id == remote.sold_to_id
    assert account.bill_to_contact.billing_account == account
    assert account.bill_to_contact.work_email == "Ada.Byron@example.com"
    assert account.zuora_updated_at is not None
    assert account.last_synced_at is not None
    assert differences(zuora) == []
    assert not PendingSync.objects.exists()


def test_account_sync_costs_one_zuora_fetch(zuora: EmulatorHandle) -> None:
    remote = new_account(zuora)
    zuora.reset_request_counts()

    sync(ACCOUNT, remote.id)

    assert zuora.request_count(FETCH_ACCOUNT) == 1
    assert zuora.request_count(FETCH_CONTACT) == 0


def test_a_sync_task_says_when_it_claimed_its_object(zuora: EmulatorHandle) -> None:
    remote = new_account(zuora)
    queue.request(kind=ACCOUNT, zuora_id=remote.id)
    before = timezone.now()

    run = run_pending_sync_recorded(kind=ACCOUNT, zuora_id=remote.id)
    again = run_pending_sync_recorded(kind=ACCOUNT, zuora_id=remote.id)

    assert run.outcome == Outcome.DONE
    assert run.claimed_at is not None
    assert before <= run.claimed_at <= timezone.now()
    assert run.as_result() == {
        "outcome": "done",
        "claimed_at": run.claimed_at.isoformat(),
        "covered": [],
    }
    # Nothing pending any more: nothing claimed, nothing fetched.
    assert again.as_result() == {"outcome": "skipped", "claimed_at": None, "covered": []}


def test_a_burst_of_requests_for_one_object_costs_one_fetch(zuora: EmulatorHandle) -> None:
    remote = new_account(zuora)
    zuora.reset_request_counts()

    for _ in range(10):
        queue.request(kind=ACCOUNT, zuora_id=remote.id)
    outcomes = run_due()

    assert outcomes == {Outcome.DONE: 1}
    assert zuora.request_count(FETCH_ACCOUNT) == 1


def test_bill_to_and_sold_to_switches_move_the_local_references(zuora: EmulatorHandle) -> None:
    remote = new_account(zuora)
    sync(ACCOUNT, remote.id)
    extra = zuora.state.create_contact(
        account_key=remote.id, fields={"firstName": "Lin", "lastName": "Wei"}
    )

    zuora.state.update_account(
        remote.id, bill_to_contact_id=remote.sold_to_id, sold_to_contact_id=extra.id
    )
    sync(ACCOUNT, remote.id)

    account = BillingAccount.objects.get(zuora_id=remote.id)
    assert account.bill_to_contact.zuora_id == remote.sold_to_id
    assert account.sold_to_contact.zuora_id == extra.id
    assert account.sold_to_contact.first_name == "Lin"
    # The former Bill-To is still a contact of the account.
    assert BillingAccountContact.objects.filter(zuora_id=remote.bill_to_id).exists()


def test_a_resync_with_the_same_bill_to_and_sold_to_leaves_the_references_alone(
    zuora: EmulatorHandle,
) -> None:
    remote = new_account(zuora)
    sync(ACCOUNT, remote.id)
    zuora.state.update_account(remote.id, fields={"name": "Renamed Ltd"})

    with CaptureQueriesContext(connection) as queries:
        assert sync(ACCOUNT, remote.id) == Outcome.DONE

    account = BillingAccount.objects.get(zuora_id=remote.id)
    assert account.name == "Renamed Ltd"
    assert account.bill_to_contact.zuora_id == remote.bill_to_id
    assert account.sold_to_contact.zuora_id == remote.sold_to_id
    # The upsert leaves the references as they are; nothing writes them again.
    assert not [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith("UPDATE") and "bill_to_contact_id" in query["sql"]
    ]
    assert differences(zuora) == []


def test_an_account_sync_keeps_its_pending_row_in_two_statements_on_postgresql(
    zuora: EmulatorHandle,
) -> None:
    remote = new_account(zuora)
    queue.request(kind=ACCOUNT, zuora_id=remote.id)

    with CaptureQueriesContext(connection) as queries:
        assert run_pending_sync(kind=ACCOUNT, zuora_id=remote.id) == Outcome.DONE

    bookkeeping = [
        query["sql"] for query in queries.captured_queries if "billing_pendingsync" in query["sql"]
    ]
    # The claim also marks the contacts' syncs it may cover; the finish also
    # hands them back. Elsewhere each is a statement of its own.
    assert len(bookkeeping) == (2 if connection.vendor == "postgresql" else 4), bookkeeping


# A read of one account by its Zuora id, written by hand or by the ORM.
ACCOUNT_BY_ZUORA_ID = re.compile(
    r'^SELECT .* FROM "billing_billingaccount" WHERE ("billing_billingaccount"\.)?"zuora_id" = '
)


def test_a_contact_sync_finds_and_locks_its_account_in_one_statement(
    zuora: EmulatorHandle,
) -> None:
    remote = new_account(zuora)
    sync(ACCOUNT, remote.id)
    zuora.state.update_contact(remote.bill_to_id, {"lastName": "Lovelace"})

    with CaptureQueriesContext(connection) as queries:
        assert sync(CONTACT, remote.bill_to_id) == Outcome.DONE

    account_reads = [
        query["sql"]
        for query in queries.captured_queries
        if ACCOUNT_BY_ZUORA_ID.search(query["sql"])
    ]
    assert len(account_reads) == 1
    assert BillingAccountContact.objects.get(zuora_id=remote.bill_to_id).last_name == "Lovelace"


def test_contact_sync_for_an_unknown_account_creates_the_account(zuora: EmulatorHandle) -> None:
    remote = new_account(zuora)
    other = zuora.state.create_contact(
        account_key=remote.id, fields={"firstName": "Kai", "lastName": "Ito"}
    )

    assert sync(CONTACT, other.id) == Outcome.DONE

    account = BillingAccount.objects.get(zuora_id=remote.id)
    assert account.bill_to_contact.zuora_id == remote.bill_to_id
    assert BillingAccountContact.objects.get(zuora_id=other.id).billing_account == account
    assert differences(zuora) == []


def test_contact_edit_is_synced(zuora: EmulatorHandle) -> None:
    remote = new_account(zuora)
    sync(ACCOUNT, remote.id)

    zuora.state.update_contact(remote.sold_to_id, {"workEmail": "New.Address@example.org"})
    sync(CONTACT, remote.sold_to_id)

    contact = BillingAccountContact.objects.get(zuora_id=remote.sold_to_id)
    assert contact.work_email == "New.Address@example.org"


def test_older_data_never_overwrites_newer(zuora: EmulatorHandle) -> None:
    remote = new_account(zuora)
    stale = parse_account(zuora.dump()["accounts"][0] | {"billTo": None, "soldTo": None})
    zuora.state.clock.advance(5)
    zuora.state.update_account(remote.id, fields={"name": "Renamed"})
    sync(ACCOUNT, remote.id)
    newer_date = BillingAccount.objects.get().zuora_updated_at

    # A fetch made before the rename commits after it (e.g. a slow worker).
    result = reconcile_account(stale)

    account = BillingAccount.objects.get()
    assert result.accounts_stale == 1
    assert account.name == "Renamed"
    assert account.zuora_updated_at == newer_date


def test_data_with_the_same_updated_date_is_applied(zuora: EmulatorHandle) -> None:
    remote = new_account(zuora)
    sync(ACCOUNT, remote.id)
    account = BillingAccount.objects.get()
    snapshot = parse_account(zuora.dump()["accounts"][0])
    assert snapshot.updated_date == account.zuora_updated_at
    # Two changes in one second carry one updatedDate: the later must win.
    same_second = snapshot.__class__(
        **{**{f: getattr(snapshot, f) for f in snapshot.__slots__}, "name": "Second change"}
    )

    reconcile_account(same_second)

    assert BillingAccount.objects.get().name == "Second change"


def test_deleted_contact_is_removed(zuora: EmulatorHandle) -> None:
    remote = new_account(zuora)
    other = zuora.state.create_contact(
        account_key=remote.id, fields={"firstName": "Kai", "lastName": "Ito"}
    )
    sync(CONTACT, other.id)

    zuora.state.delete_contact(other.id)
    assert sync(CONTACT, other.id) == Outcome.DONE

    assert not BillingAccountContact.objects.filter(zuora_id=other.id).exists()
    assert differences(zuora) == []


def test_deleted_contact_still_used_as_sold_to_waits_for_the_account_sync(
    zuora: EmulatorHandle,
) -> None:
    remote = new_account(zuora)
    sync(ACCOUNT, remote.id)
    replacement = zuora.state.create_contact(
        account_key=remote.id, fields={"firstName": "New", "lastName": "Owner"}
    )
    zuora.state.update_account(remote.id, sold_to_contact_id=replacement.id)
    zuora.state.delete_contact(remote.sold_to_id)

    # The contact's deletion is heard before the account's switch.
    assert sync(CONTACT, remote.sold_to_id) == Outcome.WAITING
    assert BillingAccountContact.objects.filter(zuora_id=remote.sold_to_id).exists()

    # The account sync runs first; the contact's retry then finds it unused.
    assert run_due() == {Outcome.DONE: 1}
    PendingSync.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert run_due() == {Outcome.DONE: 1}

    account = BillingAccount.objects.get()
    assert account.sold_to_contact.zuora_id == replacement.id
    assert not BillingAccountContact.objects.filter(zuora_id=remote.sold_to_id).exists()
    assert not PendingSync.objects.exists()


def test_account_deleted_in_zuora_turns_canceled(zuora: EmulatorHandle) -> None:
    remote = new_account(zuora)
    sync(ACCOUNT, remote.id)
    zuora.configure(account_delete_delay=0)

    zuora.state.delete_account(remote.id)
    zuora.state.complete_account_deletions()
    sync(ACCOUNT, remote.id)

    assert BillingAccount.objects.get().status == "Canceled"


def test_account_gone_from_zuora_is_removed_with_its_contacts(zuora: EmulatorHandle) -> None:
    remote = new_account(zuora)
    sync(ACCOUNT, remote.id)

    zuora.purge_account(remote.id)
    assert sync(ACCOUNT, remote.id) == Outcome.DONE

    assert not BillingAccount.objects.exists()
    assert not BillingAccountContact.objects.exists()


def test_account_number_taken_over_by_another_account_is_resolved(zuora: EmulatorHandle) -> None:
    first = new_account(zuora, name="First")
    sync(ACCOUNT, first.id)
    number = first.account_number
    zuora.purge_account(first.id)
    second = zuora.state.create_account(
        name="Second", bill_to={"firstName": "A", "lastName": "B"}, account_number=number
    )

    sync(ACCOUNT, second.id)
    run_due()

    assert list(BillingAccount.objects.values_list("zuora_id", "account_number")) == [
        (second.id, number)
    ]
