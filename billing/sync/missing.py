"""Local billing accounts whose Zuora account no longer exists (e.g. after a sandbox refresh).

Local accounts are checked in batches, one Object Query call per batch of
ids (`id.IN:[…]`), and only those Zuora confirmed missing are removed,
through reconcile.py's `remove_account` (with their contacts and the
memberships that depended on them), one batch per transaction. The applying
sweep records how far it got, so an interrupted one resumes there.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import DatabaseError, transaction
from django.utils import timezone

from billing.models import (
    BillingAccount,
    BillingAccountMembership,
    PassKind,
    PassPhase,
    PassState,
    ReconciliationRun,
)
from billing.sync.reconcile import remove_account
from billing.sync.runs import begin_pass, describe_error
from billing.sync.zuora_access import zuora_client
from zuora.query import ID_BATCH_SIZE

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MissingAccount:
    """A local account Zuora does not have; no personal data."""

    pk: int
    zuora_id: str
    account_number: str


@dataclass
class SweepResult:
    """What a sweep found and, when applied, removed."""

    run: ReconciliationRun | None = None  # None for a dry run
    checked: int = 0
    missing: int = 0
    accounts_deleted: int = 0
    contacts_deleted: int = 0
    memberships_deleted: int = 0
    zuora_calls: int = 0


BatchCallback = Callable[[list[MissingAccount], SweepResult], None]


def clear_missing_accounts(
    *,
    apply: bool,
    resume: bool = True,
    on_batch: BatchCallback | None = None,
    batch_size: int = ID_BATCH_SIZE,
) -> SweepResult:
    """Find local accounts missing from Zuora; with `apply`, delete them.

    An applying sweep resumes one that was interrupted, unless `resume` is off.

    `on_batch(missing_in_batch, result_so_far)` is called after each batch. A
    Zuora error stops the sweep (and is raised); batches already confirmed
    stay deleted, nothing else is touched.
    """
    client = zuora_client()
    calls_at_start = sum(client.call_counts().values())
    run = begin_pass(PassKind.CLEAR_MISSING, resume=resume) if apply else None
    result = SweepResult(run=run)
    if run is not None:
        result.checked = run.accounts_read
        result.missing = run.accounts_missing
        result.accounts_deleted = run.accounts_deleted
        result.contacts_deleted = run.contacts_deleted
    calls_before = run.zuora_calls if run is not None else 0
    after_pk = (run.last_account_pk if run is not None else None) or 0

    def calls() -> int:
        return calls_before + sum(client.call_counts().values()) - calls_at_start

    try:
        while True:
            batch = list(
                BillingAccount.objects.filter(pk__gt=after_pk)
                .order_by("pk")
                .values_list("pk", "zuora_id", "account_number")[:batch_size]
            )
            if not batch:
                break
            existing = client.existing_account_ids(zuora_id for _, zuora_id, _ in batch)
            missing = [MissingAccount(*row) for row in batch if row[1] not in existing]
            after_pk = batch[-1][0]
            result.checked += len(batch)
            result.missing += len(missing)
            if run is not None:
                with transaction.atomic():
                    _remove(missing, result)
                    _record(run, result, last_account_pk=after_pk, zuora_calls=calls())
            result.zuora_calls = calls()
            if on_batch is not None:
                on_batch(missing, result)
    except BaseException as error:
        if run is not None:
            try:
                _record(run, result, state=PassState.FAILED, error=describe_error(error))
            except DatabaseError:
                logger.exception("could not record the failed sweep", extra={"run": run.pk})
        raise
    result.zuora_calls = calls()
    if run is not None:
        _record(
            run,
            result,
            state=PassState.FINISHED,
            phase=PassPhase.DONE,
            finished_at=timezone.now(),
            zuora_calls=result.zuora_calls,
        )
    return result


def _remove(missing: list[MissingAccount], result: SweepResult) -> None:
    zuora_ids = [account.zuora_id for account in missing]
    result.memberships_deleted += BillingAccountMembership.objects.filter(
        billing_account__zuora_id__in=zuora_ids
    ).count()
    for zuora_id in zuora_ids:
        removed = remove_account(zuora_id)
        result.accounts_deleted += removed.accounts_deleted
        result.contacts_deleted += removed.contacts_deleted
    if zuora_ids:
        logger.info("removed accounts missing from Zuora", extra={"zuora_ids": zuora_ids})


def _record(run: ReconciliationRun, result: SweepResult, **changes: object) -> None:
    run.accounts_read = result.checked
    run.accounts_missing = result.missing
    run.accounts_deleted = result.accounts_deleted
    run.contacts_deleted = result.contacts_deleted
    run.heartbeat_at = timezone.now()
    for name, value in changes.items():
        setattr(run, name, value)
    run.save()
