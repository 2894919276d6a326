"""Run one pending sync: claim it, fetch the truth from Zuora, reconcile, finish.

The fetch happens outside any transaction; the reconciliation and the
"done" mark commit together, and only while this worker still holds the
claim. Every failure leaves the sync pending (with backoff) or dead, never
lost.
"""

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from billing.metrics import CONTACT_SYNCS_COVERED, SYNC_RUNS
from billing.models import BillingAccount, SyncKind
from billing.sync import pending, queue
from billing.sync.reconcile import (
    ReconcileResult,
    contact_is_referenced,
    lock_local_account,
    reconcile_account,
    reconcile_contact,
    remove_account,
    remove_contact,
)
from billing.sync.zuora_access import zuora_client
from zuora import ZuoraAccount, ZuoraContact, ZuoraError, ZuoraNotFound, ZuoraResponseError

logger = logging.getLogger(__name__)

# A contact Zuora no longer has, but that a local account still uses as
# Bill-To or Sold-To, waits this long for the account's own sync.
WAIT_FOR_ACCOUNT_SECONDS = 2.0


class Outcome(StrEnum):
    DONE = "done"
    REQUEUED = "requeued"  # done, but another request came in meanwhile
    WAITING = "waiting"  # waits for the account's sync
    PARKED = "parked"  # not claimed: its account's sync hands it back when it ends
    OVERTAKEN = "overtaken"  # a follow-up run took the claim over: nothing committed
    RETRY = "retry"
    DEAD = "dead"
    SKIPPED = "skipped"  # not due, or another worker holds it


# The outcomes of runs that committed their reconciliation.
COMMITTED = frozenset({Outcome.DONE, Outcome.REQUEUED})


@dataclass(frozen=True)
class SyncRun:
    """What one attempt to run a pending sync did."""

    outcome: Outcome
    # When it claimed the object (its fetch from Zuora came after); None when
    # it claimed nothing. A task can start while its object's burst still
    # settles, and claims only when that is over.
    claimed_at: datetime | None = None
    # Contacts whose pending syncs an account's sync completed (`pending.finish_covered`).
    covered: tuple[str, ...] = ()

    def as_result(self) -> dict[str, object]:
        """The task's return value (JSON)."""
        return {
            "outcome": self.outcome.value,
            "claimed_at": self.claimed_at.isoformat() if self.claimed_at else None,
            "covered": list(self.covered),
        }


def run_pending_sync(*, kind: SyncKind, zuora_id: str, wait_for_account: bool = True) -> Outcome:
    """Run the pending sync of one object if it is due and free.

    `wait_for_account`: a contact waits (a little) for its account's sync to
    run elsewhere, which may cover it (`pending.claim`).
    """
    return run_pending_sync_recorded(
        kind=kind, zuora_id=zuora_id, wait_for_account=wait_for_account
    ).outcome


def run_pending_sync_recorded(
    *,
    kind: SyncKind,
    zuora_id: str,
    wait_for_account: bool = True,
    not_before: datetime | None = None,
) -> SyncRun:
    """`run_pending_sync`, also saying when it claimed the object.

    `not_before`: when the object becomes due at the earliest (its wait
    started when the task was enqueued). The first claim waits for it: tried
    sooner, it would find the object settling, and cost a claim and a look at
    when it is due (two statements) before the same wait.
    """
    if not_before is not None:
        _wait_until(not_before)
    held = pending.claim(kind=kind, zuora_id=zuora_id, wait_for_account=wait_for_account)
    # Not due yet: a burst is still settling. Wait the few milliseconds rather
    # than hand the task back (bounded, in case the clock misbehaves). Due but
    # not claimed: a contact whose account's sync is to run or running is
    # parked instead, and that sync hands it back when it ends.
    give_up = time.monotonic() + 2 * settings.SYNC_SETTLE_MAX_SECONDS + 1
    while held is None and time.monotonic() < give_up:
        wait = pending.seconds_until_due(kind=kind, zuora_id=zuora_id)
        if wait is None:
            return SyncRun(Outcome.SKIPPED)
        parkable = wait == 0 and kind == SyncKind.CONTACT and wait_for_account
        if parkable and pending.park(zuora_id=zuora_id):
            return SyncRun(Outcome.PARKED)
        _release_connection()
        time.sleep(wait)
        held = pending.claim(kind=kind, zuora_id=zuora_id, wait_for_account=wait_for_account)
    if held is None:
        return SyncRun(Outcome.SKIPPED)
    started = time.monotonic()
    try:
        outcome = _attempt(held)
    except pending.Overtaken:
        # A callout came in during the fetch, and the follow-up run it started
        # fetches after it: this run's work is rolled back, not lost.
        outcome = Outcome.OVERTAKEN
    except pending.ClaimLost:
        logger.warning("sync lost its claim", extra={"kind": kind, "zuora_id": zuora_id})
        return SyncRun(Outcome.SKIPPED, held.claimed_at)
    duration = time.monotonic() - started
    SYNC_RUNS.labels(kind=str(kind), outcome=str(outcome)).observe(duration)
    logger.info(
        "sync %s",
        outcome,
        extra={
            "kind": kind,
            "zuora_id": zuora_id,
            "attempt": held.attempt,
            "outcome": str(outcome),
            "duration_ms": round(duration * 1000, 1),
        },
    )
    committed = outcome in COMMITTED
    return SyncRun(outcome, held.claimed_at, tuple(held.covered) if committed else ())


def _wait_until(moment: datetime) -> None:
    """Sleep until `moment`, at most `SYNC_SETTLE_SECONDS` (clocks of two machines may differ)."""
    wait = min((moment - timezone.now()).total_seconds(), settings.SYNC_SETTLE_SECONDS)
    if wait > 0:
        _release_connection()
        time.sleep(wait)


def _attempt(held: pending.Claim) -> Outcome:
    """Fetch and reconcile; a failure is recorded (`_failed`). Raises `pending.ClaimLost`."""
    try:
        return _reconcile(held)
    except ZuoraError as error:
        return _failed(held, error=error, retryable=error.retryable, retry_after=error.retry_after)
    except pending.ClaimLost:
        raise
    except DatabaseError as error:
        return _failed(held, error=error, retryable=True)
    except Exception as error:
        # A bug must not lose the sync: keep it, retried and then dead, visible.
        logger.exception(
            "sync failed unexpectedly", extra={"kind": held.kind, "zuora_id": held.zuora_id}
        )
        return _failed(held, error=error, retryable=True)


def _release_connection() -> None:
    """Hand a pooled connection back before waiting (for Zuora, or for a burst to settle).

    With `DATABASE_POOL_SIZE` a worker's threads share fewer connections than
    there are threads: a sync holds one for its claim and for its
    reconciliation, not for the 200 ms or more Zuora takes to answer.
    Without a pool the thread keeps its own.
    """
    if getattr(connection, "pool", None) is not None and not connection.in_atomic_block:
        connection.close()


def _reconcile(held: pending.Claim) -> Outcome:
    client = zuora_client()
    if held.kind == SyncKind.ACCOUNT:
        coverable = held.covering > 0
        _release_connection()
        try:
            account = client.get_account(held.zuora_id)
        except ZuoraNotFound:
            return _commit(held, lambda: remove_account(held.zuora_id))
        return _commit(held, lambda: _store_account(held, account, coverable=coverable))

    _release_connection()
    try:
        contact = client.get_contact(held.zuora_id)
    except ZuoraNotFound:
        return _contact_gone(held)
    try:
        return _commit(held, lambda: _store_contact(contact, None))
    except _AccountNotHere:
        # The account is not here yet: create it from Zuora first (fetched
        # outside the transaction, which rolled back).
        _release_connection()
        owner = client.get_account(contact.account_id)
        return _commit(held, lambda: _store_contact(contact, owner))


def _store_account(
    held: pending.Claim, account: ZuoraAccount, *, coverable: bool
) -> ReconcileResult:
    result = reconcile_account(account)
    if not coverable:  # no contact's sync was pending for it before the fetch
        return result
    # Its Bill-To and Sold-To came with it: their own pending syncs, if
    # requested before the fetch, have nothing more to fetch.
    covered = pending.finish_covered(
        held, [contact.id for contact in (account.bill_to, account.sold_to) if contact is not None]
    )
    if covered:
        held.covered[:] = covered  # reported only when the run commits
        transaction.on_commit(lambda: CONTACT_SYNCS_COVERED.inc(len(covered)))
    return result


class _AccountNotHere(Exception):
    """A contact's account has no local row yet."""


def _store_contact(contact: ZuoraContact, owner: ZuoraAccount | None) -> ReconcileResult:
    if owner is not None:
        reconcile_account(owner)
    account_pk = lock_local_account(contact.account_id) if contact.account_id else None
    if account_pk is None:
        if contact.account_id and owner is None:
            raise _AccountNotHere
        raise ZuoraResponseError(f"contact {contact.id} belongs to no account", field="accountId")
    return reconcile_contact(contact, account_pk=account_pk, account_locked=True)


def _contact_gone(held: pending.Claim) -> Outcome:
    with transaction.atomic():
        if not contact_is_referenced(held.zuora_id):
            remove_contact(held.zuora_id)
            return _finish(held)
        # Deleting it would leave the account pointing nowhere: the account's
        # own sync learns its new Bill-To/Sold-To first, then this runs again.
        for account_zuora_id in BillingAccount.objects.filter(
            contacts__zuora_id=held.zuora_id
        ).values_list("zuora_id", flat=True):
            queue.request(kind=SyncKind.ACCOUNT, zuora_id=account_zuora_id)
    run_at = pending.defer(
        held,
        seconds=WAIT_FOR_ACCOUNT_SECONDS,
        reason="contact deleted in Zuora but still Bill-To/Sold-To here; waiting for account sync",
    )
    queue.enqueue(kind=held.kind, zuora_id=held.zuora_id, run_after=run_at)
    return Outcome.WAITING


def _commit(held: pending.Claim, write: Callable[[], ReconcileResult]) -> Outcome:
    with transaction.atomic():
        write()
        return _finish(held)


def _finish(held: pending.Claim) -> Outcome:
    """Called inside the transaction that holds the reconciliation."""
    if held.kind == SyncKind.ACCOUNT:
        # An account's sync ends: its contacts parked meanwhile run now.
        requeued, released = pending.finish_account(held)
        queue.enqueue_started(released)
    else:
        requeued = pending.finish(held)
    if requeued:
        transaction.on_commit(lambda: queue.enqueue(kind=held.kind, zuora_id=held.zuora_id))
        return Outcome.REQUEUED
    return Outcome.DONE


def _release_contacts(held: pending.Claim) -> None:
    """An account's sync failed: its contacts parked meanwhile run now."""
    if held.kind == SyncKind.ACCOUNT:
        queue.enqueue_started(pending.release_contacts(held.zuora_id))


def _failed(
    held: pending.Claim, *, error: Exception, retryable: bool, retry_after: float | None = None
) -> Outcome:
    description = f"{type(error).__name__}: {error}"
    run_at = pending.fail(held, error=description, retryable=retryable, retry_after=retry_after)
    _release_contacts(held)
    # The class only: messages can quote data (a database error quotes the row).
    logger.info(
        "sync attempt failed",
        extra={"kind": held.kind, "zuora_id": held.zuora_id, "error": type(error).__name__},
    )
    if run_at is None:
        logger.error(
            "sync is dead",
            extra={"kind": held.kind, "zuora_id": held.zuora_id, "error": type(error).__name__},
        )
        return Outcome.DEAD
    queue.enqueue(kind=held.kind, zuora_id=held.zuora_id, run_after=run_at)
    return Outcome.RETRY


def run_due(*, limit: int = 10_000) -> Counter[Outcome]:
    """Run every pending sync that is due now, one after the other, in this process (tests).

    Accounts first, so that their syncs cover what they can of their
    contacts'; a contact does not wait for an account's sync that only this
    loop would run.
    """
    outcomes: Counter[Outcome] = Counter()
    due = pending.due(limit=limit)
    for kind, zuora_id in sorted(due, key=lambda item: item[0] != SyncKind.ACCOUNT):
        outcomes[
            run_pending_sync(kind=SyncKind(kind), zuora_id=zuora_id, wait_for_account=False)
        ] += 1
    return outcomes
