"""An account's sync covers the pending syncs of its Bill-To and Sold-To.

Creating an account in Zuora sends a callout for the account and one for each
of its new contacts, each naming the account. The account's fetch brings
both contacts along, so their own syncs have nothing left to fetch when all
their requests came before it; a contact's sync waits for its account's
rather than fetch the contact and then the account (which is not here yet)
itself.
"""

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from billing.models import PendingSync, SyncKind, SyncState
from billing.sync import pending, queue
from billing.sync.queue import Callout, record_callouts
from billing.sync.runner import Outcome, run_pending_sync, run_pending_sync_recorded
from tests.factories import zuora_id
from tests.sync.conftest import differences, new_account
from tests.sync.test_concurrent_reconcile import (
    backend_pid,
    in_a_thread,
    wait_until_waiting_for_a_lock,
)
from zuora_emulator.testing import EmulatorHandle

ACCOUNT, CONTACT = SyncKind.ACCOUNT, SyncKind.CONTACT
FETCH_ACCOUNT = "GET /object-query/accounts/{key}"
FETCH_CONTACT = "GET /object-query/contacts/{key}"


def callouts_of_a_new_account(remote: Any) -> list[Callout]:
    """What Zuora sends when an account is created with its two contacts."""
    return [
        Callout(kind=ACCOUNT, zuora_id=remote.id),
        Callout(kind=CONTACT, zuora_id=remote.bill_to_id, account_zuora_id=remote.id),
        Callout(kind=CONTACT, zuora_id=remote.sold_to_id, account_zuora_id=remote.id),
    ]


def tasks_for(zuora_id: str) -> int:
    return sum(1 for row in DBTaskResult.objects.all() if zuora_id in row.args_kwargs["args"])


def contact_row(contact_id: str) -> PendingSync:
    return PendingSync.objects.get(kind=CONTACT, zuora_id=contact_id)


def an_account_and_its_contact_requested() -> tuple[str, str, datetime]:
    """Callouts for an account and for a contact naming it; returns both ids, and
    when the two syncs are due."""
    account_id, contact_id = zuora_id(), zuora_id()
    record_callouts(
        [
            Callout(kind=ACCOUNT, zuora_id=account_id),
            Callout(kind=CONTACT, zuora_id=contact_id, account_zuora_id=account_id),
        ]
    )
    return account_id, contact_id, contact_row(contact_id).next_attempt_at


def a_new_account_requested() -> tuple[str, str, str, datetime]:
    """The callouts of a new account (itself, its Bill-To and Sold-To); returns the
    three ids, and when their syncs are due."""
    account_id, bill_to, sold_to = zuora_id(), zuora_id(), zuora_id()
    record_callouts(
        [
            Callout(kind=ACCOUNT, zuora_id=account_id),
            Callout(kind=CONTACT, zuora_id=bill_to, account_zuora_id=account_id),
            Callout(kind=CONTACT, zuora_id=sold_to, account_zuora_id=account_id),
        ]
    )
    return account_id, bill_to, sold_to, contact_row(bill_to).next_attempt_at


@pytest.mark.django_db
def test_a_contact_keeps_the_account_its_callouts_named() -> None:
    contact_id, account_id, other_account = zuora_id(), zuora_id(), zuora_id()

    record_callouts([Callout(kind=CONTACT, zuora_id=contact_id, account_zuora_id=account_id)])
    assert contact_row(contact_id).account_zuora_id == account_id

    # A request that names no account (an operator's, or a callout without
    # the parameter) leaves it; one that names another replaces it.
    queue.request(kind=CONTACT, zuora_id=contact_id)
    assert contact_row(contact_id).account_zuora_id == account_id
    record_callouts(
        [
            Callout(kind=CONTACT, zuora_id=contact_id),
            Callout(kind=CONTACT, zuora_id=contact_id, account_zuora_id=other_account),
        ]
    )
    row = contact_row(contact_id)
    assert (row.account_zuora_id, row.generation) == (other_account, 4)


@pytest.mark.django_db
def test_an_account_callout_records_no_account_of_its_own() -> None:
    account_id = zuora_id()
    record_callouts([Callout(kind=ACCOUNT, zuora_id=account_id, account_zuora_id=zuora_id())])
    assert PendingSync.objects.get(kind=ACCOUNT).account_zuora_id == ""


@pytest.mark.django_db
def test_a_contact_is_parked_while_its_account_sync_is_to_run_or_running() -> None:
    account_id, contact_id, due = an_account_and_its_contact_requested()

    # Due, but its account's sync is still to run.
    assert pending.claim(kind=CONTACT, zuora_id=contact_id, now=due) is None
    assert pending.park(zuora_id=contact_id, now=due) is True
    assert contact_row(contact_id).next_attempt_at > due
    assert pending.seconds_until_due(kind=CONTACT, zuora_id=contact_id, now=due) is None

    held = pending.claim(kind=ACCOUNT, zuora_id=account_id, now=due)
    assert held is not None
    # The account's sync ends (here it fails and backs off): the contact runs now.
    pending.fail(held, error="timeout", retryable=True, retry_after=60)
    assert pending.release_contacts(account_id, now=due) == {(CONTACT, contact_id)}
    assert contact_row(contact_id).next_attempt_at == due
    # A retry after a failure is not waited for.
    assert pending.park(zuora_id=contact_id, now=due) is False
    assert pending.claim(kind=CONTACT, zuora_id=contact_id, now=due) is not None


@pytest.mark.django_db
def test_a_contact_without_an_account_sync_ahead_is_not_parked() -> None:
    account_id, contact_id = zuora_id(), zuora_id()
    record_callouts([Callout(kind=CONTACT, zuora_id=contact_id, account_zuora_id=account_id)])
    due = contact_row(contact_id).next_attempt_at

    assert pending.park(zuora_id=contact_id, now=due) is False
    assert pending.claim(kind=CONTACT, zuora_id=contact_id, now=due) is not None


@pytest.mark.django_db
def test_a_contact_does_not_wait_for_an_account_sync_stuck_in_a_backlog() -> None:
    _, contact_id, due = an_account_and_its_contact_requested()
    # The account's sync has been due for a while and no worker took it yet:
    # the contact would wait for it, and then wait in the queue once more.
    late = due + timedelta(seconds=pending.ACCOUNT_DUE_WAIT_SECONDS * 2)

    assert pending.park(zuora_id=contact_id, now=late) is False
    assert pending.claim(kind=CONTACT, zuora_id=contact_id, now=late) is not None


@pytest.mark.django_db
def test_a_contact_that_does_not_wait_is_claimed() -> None:
    _, contact_id, due = an_account_and_its_contact_requested()

    held = pending.claim(kind=CONTACT, zuora_id=contact_id, now=due, wait_for_account=False)

    assert held is not None
    assert contact_row(contact_id).state == SyncState.RUNNING


@pytest.mark.django_db
def test_an_account_claim_marks_its_pending_contacts_for_covering() -> None:
    account_id, bill_to, sold_to, due = a_new_account_requested()
    early = due - timedelta(milliseconds=10)

    # Not taken (still settling): nothing marked.
    assert pending.claim(kind=ACCOUNT, zuora_id=account_id, now=early) is None
    assert {contact_row(c).cover_token for c in (bill_to, sold_to)} == {""}

    held = pending.claim(kind=ACCOUNT, zuora_id=account_id, now=due)
    assert held is not None
    assert held.covering == 2
    assert {contact_row(c).cover_token for c in (bill_to, sold_to)} == {held.token}
    # A contact's claim covers nothing.
    contact = pending.claim(kind=CONTACT, zuora_id=bill_to, now=due, wait_for_account=False)
    assert contact is not None
    assert contact.covering == 0


@pytest.mark.django_db
def test_an_account_sync_that_ends_hands_its_contacts_back_and_reruns_if_requested() -> None:
    account_id, contact_id, due = an_account_and_its_contact_requested()
    assert pending.park(zuora_id=contact_id, now=due) is True
    held = pending.claim(kind=ACCOUNT, zuora_id=account_id, now=due)
    assert held is not None
    # The account changes again while its sync runs.
    record_callouts([Callout(kind=ACCOUNT, zuora_id=account_id)])

    ended = due + timedelta(seconds=1)
    assert pending.finish_account(held, now=ended) == (True, {(CONTACT, contact_id)})

    assert contact_row(contact_id).next_attempt_at == ended  # parked until then
    account = PendingSync.objects.get(kind=ACCOUNT, zuora_id=account_id)
    assert (account.state, account.claim_token) == (SyncState.PENDING, "")
    again = pending.claim(kind=ACCOUNT, zuora_id=account_id, now=ended + timedelta(seconds=1))
    assert again is not None
    assert pending.finish_account(again) == (False, {(CONTACT, contact_id)})
    assert not PendingSync.objects.filter(kind=ACCOUNT).exists()


@pytest.mark.django_db
def test_a_contact_requested_after_the_account_fetch_began_is_not_covered() -> None:
    account_id, bill_to, sold_to, later = a_new_account_requested()
    held = pending.claim(kind=ACCOUNT, zuora_id=account_id, now=later)
    assert held is not None
    pending.cover_contacts(held)
    # The Sold-To changes again after the account's fetch began.
    record_callouts([Callout(kind=CONTACT, zuora_id=sold_to, account_zuora_id=account_id)])

    assert pending.finish_covered(held, [bill_to, sold_to]) == [bill_to]

    assert list(PendingSync.objects.filter(kind=CONTACT).values_list("zuora_id", flat=True)) == [
        sold_to
    ]


@pytest.mark.django_db
def test_only_the_account_sync_that_took_the_snapshot_covers() -> None:
    account_id, contact_id, due = an_account_and_its_contact_requested()
    first = pending.claim(kind=ACCOUNT, zuora_id=account_id, now=due)
    assert first is not None
    pending.cover_contacts(first)
    stranger = pending.Claim(
        pk=first.pk,
        kind=ACCOUNT,
        zuora_id=account_id,
        token="0" * 32,
        attempt=1,
        claimed_at=due,
    )

    assert pending.finish_covered(stranger, [contact_id]) == []
    assert pending.finish_covered(first, [contact_id]) == [contact_id]


@pytest.mark.django_db
def test_a_new_account_costs_one_fetch_for_it_and_its_two_contacts(
    zuora: EmulatorHandle,
) -> None:
    remote = new_account(zuora)
    record_callouts(callouts_of_a_new_account(remote))
    zuora.reset_request_counts()
    time.sleep(0.05)  # the requests settle

    # The Sold-To's task runs first: it is parked, and its worker's thread is free.
    assert run_pending_sync(kind=CONTACT, zuora_id=remote.sold_to_id) == Outcome.PARKED
    run = run_pending_sync_recorded(kind=ACCOUNT, zuora_id=remote.id)
    assert run.outcome == Outcome.DONE
    # The account's task says which contacts' syncs it completed.
    assert run.as_result()["covered"] == sorted([remote.bill_to_id, remote.sold_to_id])
    for contact_id in (remote.bill_to_id, remote.sold_to_id):
        assert run_pending_sync(kind=CONTACT, zuora_id=contact_id) == Outcome.SKIPPED

    assert zuora.request_count(FETCH_ACCOUNT) == 1
    assert zuora.request_count(FETCH_CONTACT) == 0
    assert not PendingSync.objects.exists()
    assert differences(zuora) == []


@pytest.mark.django_db
def test_a_contact_that_is_neither_bill_to_nor_sold_to_still_syncs_itself(
    zuora: EmulatorHandle,
) -> None:
    remote = new_account(zuora)
    other = zuora.state.create_contact(
        account_key=remote.id, fields={"firstName": "Kai", "lastName": "Ito"}
    )
    record_callouts(
        [
            Callout(kind=ACCOUNT, zuora_id=remote.id),
            Callout(kind=CONTACT, zuora_id=other.id, account_zuora_id=remote.id),
        ]
    )
    zuora.reset_request_counts()
    time.sleep(0.05)

    assert run_pending_sync(kind=CONTACT, zuora_id=other.id) == Outcome.PARKED
    assert run_pending_sync(kind=ACCOUNT, zuora_id=remote.id) == Outcome.DONE

    # The account's sync handed it back, with a task of its own.
    assert contact_row(other.id).next_attempt_at <= timezone.now()
    assert tasks_for(other.id) == 2
    assert run_pending_sync(kind=CONTACT, zuora_id=other.id) == Outcome.DONE
    assert zuora.request_count(FETCH_ACCOUNT) == 1  # the contact's account is here by then
    assert zuora.request_count(FETCH_CONTACT) == 1
    assert differences(zuora) == []


def while_a_transaction_holds_locks(
    hold: Callable[[], None],
    then: Callable[[], None],
    second: Callable[[], None],
    what: str,
) -> list[BaseException]:
    """In a transaction on a thread of its own, `hold`; then `second` on another
    thread, and once that waits for a row lock (`what` says which), `then` and
    the commit. Returns the errors of both threads."""
    held, go = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    waiter: list[int] = []

    def first() -> None:
        with transaction.atomic():
            hold()
            held.set()
            go.wait(30)
            then()

    def waiting() -> None:
        waiter.append(backend_pid())
        second()

    threads = [in_a_thread(first, errors)]
    try:
        assert held.wait(30)
        threads.append(in_a_thread(waiting, errors))
        wait_until_waiting_for_a_lock(waiter, f"{what} never waited", 30)
    finally:
        go.set()
        for thread in threads:
            thread.join(30)
    return errors


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_contact_parked_as_its_account_sync_commits_is_not_left_parked() -> None:
    account_id, contact_id, due = an_account_and_its_contact_requested()
    held = pending.claim(kind=ACCOUNT, zuora_id=account_id, now=due)
    assert held is not None
    parked: list[bool] = []

    def end_the_account_sync() -> None:
        assert pending.finish_account(held, now=due) == (False, {(CONTACT, contact_id)})

    errors = while_a_transaction_holds_locks(
        end_the_account_sync,
        lambda: None,
        lambda: parked.append(pending.park(zuora_id=contact_id, now=due)),
        "the contact's parking",
    )

    assert errors == []
    # It saw the account's sync ended: nothing would hand it back.
    assert parked == [False]
    assert pending.claim(kind=CONTACT, zuora_id=contact_id, now=due) is not None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_contact_parked_while_its_covered_sync_is_deleted_does_not_deadlock() -> None:
    # The account's transaction completes the contact's covered sync, and
    # the contact's parking (which share-locks the account's pending row)
    # comes in before that transaction ends. Both take the account's row
    # before the contact's, so the parking waits rather than deadlock.
    account_id, contact_id, due = an_account_and_its_contact_requested()
    held = pending.claim(kind=ACCOUNT, zuora_id=account_id, now=due)
    assert held is not None
    assert held.covering == 1
    parked: list[bool] = []

    def complete_the_covered_contact() -> None:
        assert pending.finish_covered(held, [contact_id]) == [contact_id]

    def end_the_account_sync() -> None:
        assert pending.finish_account(held, now=due) == (False, set())

    errors = while_a_transaction_holds_locks(
        complete_the_covered_contact,
        end_the_account_sync,
        lambda: parked.append(pending.park(zuora_id=contact_id, now=due)),
        "the contact's parking",
    )

    assert errors == []
    assert parked == [False]
    assert not PendingSync.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_handing_contacts_back_locks_them_in_key_order_as_requests_do() -> None:
    # Two contacts of one account, the later in key order stored first.
    account_id = zuora_id()
    first, second = sorted([zuora_id(), zuora_id()])
    for contact_id in (second, first):
        record_callouts([Callout(kind=CONTACT, zuora_id=contact_id, account_zuora_id=account_id)])

    # As a batch of callouts does: the rows in key order, in one transaction.
    errors = while_a_transaction_holds_locks(
        lambda: pending.request_syncs([(CONTACT, first)]),
        lambda: pending.request_syncs([(CONTACT, second)]),
        lambda: pending.release_contacts(account_id),
        "the release",
    )

    assert errors == []
