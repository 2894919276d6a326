"""An account's sync and one of its contacts' syncs, at the same moment, both commit.

They write the same rows (the account, its Bill-To and Sold-To). Taken in
different orders, PostgreSQL finds a deadlock and fails one of them after
`deadlock_timeout` (a second by default), which sends a sync into backoff.
"""

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from billing.models import BillingAccount, BillingAccountContact, PendingSync, SyncKind, SyncState
from billing.sync import pending
from billing.sync.pending import request_syncs
from billing.sync.reconcile import reconcile_account, reconcile_contact
from tests.factories import zuora_id
from tests.sync.test_batch_reconcile import T0, account
from zuora.models import parse_contact

pytestmark = pytest.mark.django_db(transaction=True)


def waiting_for_a_lock(backend_pid: int) -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [backend_pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def wait_until_waiting_for_a_lock(backends: list[int], what: str, timeout: float) -> None:
    """Wait until the first backend in `backends` (filled by a thread) waits for a row lock."""
    deadline = time.monotonic() + timeout
    while not (backends and waiting_for_a_lock(backends[0])):
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def in_a_thread(work: Callable[[], None], errors: list[BaseException]) -> threading.Thread:
    """Start `work` on a thread (and connection) of its own; its exception goes to `errors`."""

    def run() -> None:
        try:
            work()
        except BaseException as error:  # reported by the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def backend_pid() -> int:
    """This thread's PostgreSQL backend."""
    connection.ensure_connection()
    return connection.connection.info.backend_pid


def while_a_request_is_uncommitted(
    object_id: str,
    work: Callable[[], None],
    what: str,
    while_waiting: Callable[[], None] = lambda: None,
) -> datetime:
    """Run `work` on a thread of its own while another thread holds an uncommitted
    sync request for `object_id`; once `work` waits for that request's row lock
    (`what` says what it was expected to do), call `while_waiting`, then let the
    request commit. Returns when it was let commit; fails on either thread's error."""
    requesting, commit = threading.Event(), threading.Event()
    backend: list[int] = []
    errors: list[BaseException] = []

    def request() -> None:
        with transaction.atomic():
            request_syncs([(SyncKind.ACCOUNT, object_id)])
            requesting.set()
            commit.wait(30)

    def waiting_work() -> None:
        backend.append(backend_pid())
        work()

    threads = [in_a_thread(request, errors)]
    try:
        assert requesting.wait(30)
        threads.append(in_a_thread(waiting_work, errors))
        wait_until_waiting_for_a_lock(backend, what, 30)
        while_waiting()
        released = timezone.now()
    finally:
        commit.set()
        for thread in threads:
            thread.join(30)
    assert errors == []
    return released


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_a_contact_sync_and_its_account_sync_do_not_deadlock() -> None:
    first = account(number="A1")
    reconcile_account(first)
    local_pk = BillingAccount.objects.get(zuora_id=first.id).pk
    # In Zuora the account gets a new Sold-To: one callout for the new
    # contact, one for the account (which expands that contact too).
    later = T0 + timedelta(minutes=1)
    new_sold_to = zuora_id()
    changed_account = account(
        number="A1", at=later, name="Renamed", ids=(first.id, first.bill_to_id, new_sold_to)
    )
    changed_contact = parse_contact(
        {
            "id": new_sold_to,
            "accountId": first.id,
            "firstName": "Ada",
            "lastName": "Lovelace",
            "workEmail": "ada@example.com",
            "updatedDate": later.isoformat(),
        }
    )
    contact_written = threading.Event()
    commit_contact = threading.Event()
    account_backend: list[int] = []
    errors: list[BaseException] = []

    def contact_sync() -> None:
        with transaction.atomic():
            reconcile_contact(changed_contact, account_pk=local_pk)
            contact_written.set()
            commit_contact.wait(10)

    def account_sync() -> None:
        contact_written.wait(10)
        account_backend.append(backend_pid())
        with transaction.atomic():
            reconcile_account(changed_account)

    threads = [in_a_thread(contact_sync, errors), in_a_thread(account_sync, errors)]
    try:
        # The account sync runs into a lock held by the uncommitted contact sync.
        wait_until_waiting_for_a_lock(
            account_backend, "the account sync never waited for the contact sync's lock", 10
        )
    finally:
        commit_contact.set()
        for thread in threads:
            thread.join(timeout=30)

    assert not errors, errors
    assert BillingAccount.objects.get(zuora_id=first.id).name == "Renamed"
    assert BillingAccount.objects.get(zuora_id=first.id).sold_to_contact.zuora_id == new_sold_to
    assert BillingAccountContact.objects.filter(zuora_id=new_sold_to).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_requests_for_many_objects_lock_their_rows_in_key_order() -> None:
    """Two web processes commit batches of callouts for overlapping objects at once.

    Each batch is one upsert of many pending rows; taken in arrival order, two
    batches could each hold a row the other waits for (a deadlock, and the
    callouts of one batch answered 503). In key order they only wait.
    """
    low, high = "0" * 32, "f" * 32
    request_syncs([(SyncKind.ACCOUNT, low), (SyncKind.ACCOUNT, high)])

    def batch() -> None:
        with transaction.atomic():
            # Arrival order: the higher key first.
            request_syncs([(SyncKind.ACCOUNT, high), (SyncKind.ACCOUNT, low)])

    def low_is_held() -> None:
        # The batch waits for the higher key while it already holds the lower one.
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM billing_pendingsync WHERE zuora_id = %s FOR UPDATE SKIP LOCKED",
                [low],
            )
            assert cursor.fetchall() == []

    while_a_request_is_uncommitted(
        high, batch, "the batch never waited for the held row", while_waiting=low_is_held
    )
    assert PendingSync.objects.get(zuora_id=low).generation == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_a_finish_waiting_for_a_request_being_committed_runs_the_object_again() -> None:
    """A callout's request holds the pending row, uncommitted, when the sync finishes.

    The finish's DELETE waits for it; once the request commits, the row has a
    new generation, so the sync must not delete it: it goes back to pending
    (another fetch follows) instead of swallowing the request.
    """
    object_id = zuora_id()
    request_syncs([(SyncKind.ACCOUNT, object_id)])
    held = pending.claim(kind=SyncKind.ACCOUNT, zuora_id=object_id)
    assert held is not None
    finished: list[bool] = []

    def finish() -> None:
        with transaction.atomic():
            finished.append(pending.finish(held))

    while_a_request_is_uncommitted(
        object_id, finish, "the finish never waited for the request's row lock"
    )
    assert finished == [True]
    row = PendingSync.objects.get(zuora_id=object_id)
    assert row.state == SyncState.PENDING
    assert row.generation == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_a_claim_that_waited_reports_when_it_took_the_row() -> None:
    """A request commits while the claim waits for its row: that request is part of
    the claim (its fetch comes after), so the claim's time must not precede it, or
    the request would look like one that arrived during the run and was never run
    again."""
    object_id = zuora_id()
    request_syncs([(SyncKind.ACCOUNT, object_id)], now=timezone.now() - timedelta(seconds=1))
    claims: list[pending.Claim | None] = []

    def claim() -> None:
        claims.append(pending.claim(kind=SyncKind.ACCOUNT, zuora_id=object_id))

    committed_at = while_a_request_is_uncommitted(
        object_id, claim, "the claim never waited for the row"
    )
    [held] = claims
    assert held is not None
    assert held.claimed_at >= committed_at
    row = PendingSync.objects.get(zuora_id=object_id)
    assert row.claimed_generation == row.generation == 2
