"""Full and incremental reconciliation passes over Zuora's Object Query API.

Both read accounts (Bill-To and Sold-To expanded) and then contacts, page by
page in ascending `updatedDate`, and write them `write_batch` objects (a few
pages) per transaction through reconcile.py, the code path the callout tasks
use. A batch's last `updatedDate` is recorded with it, so an interrupted pass
resumes there (re-reading with `GE` is safe: the stale-write guard applies
ties).

An incremental pass starts at the stored watermark minus a lookback, because
Zuora does not bump `updatedDate` for every change and several changes share
one second. A full pass reads everything, so it also repairs changes that
never bumped `updatedDate`, and it hands every local object it did not see to
the sync queue, which deletes what Zuora no longer has.
"""

import contextvars
import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import batched

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from billing.models import (
    BillingAccount,
    BillingAccountContact,
    PassKind,
    PassPhase,
    PassState,
    ReconciliationRun,
    SyncKind,
)
from billing.sync import queue
from billing.sync.among import Among
from billing.sync.reconcile import (
    ReconcileResult,
    contact_fields,
    reconcile_accounts,
    reconcile_contacts,
)
from billing.sync.runs import begin_pass, describe_error
from billing.sync.zuora_access import zuora_client
from zuora import ZuoraAccount, ZuoraClient, ZuoraContact, ZuoraNotFound
from zuora.query import MAX_PAGE_SIZE

logger = logging.getLogger(__name__)

# Before anything Zuora holds: a full pass reads "updated since" this, which
# keeps it in ascending updatedDate order and so resumable like an increment.
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)

# Local objects not seen by a full pass are queued in transactions of this many.
GONE_BATCH = 500

# Objects read from Zuora that a pass writes per transaction. Each transaction
# costs some twenty statements whatever its size (the upserts, Sold-To
# provisioning, the progress), so one per 50-object Zuora page made a full
# import of 10,000 accounts 2.5 times slower. Larger batches hold their rows'
# locks longer (about 0.3 s for 1,000) and re-read more after an interruption.
WRITE_BATCH = 1000


@dataclass(frozen=True)
class Progress:
    """Where a pass stands, after each transaction it wrote."""

    kind: PassKind
    phase: PassPhase
    batches: int
    objects: int


ProgressCallback = Callable[[Progress], None]


class NoWatermark(Exception):
    """No pass has finished yet: run a full pass first, or give the time to read from."""


def run_full_pass(
    *,
    progress: ProgressCallback | None = None,
    page_size: int = MAX_PAGE_SIZE,
    write_batch: int = WRITE_BATCH,
) -> ReconciliationRun:
    """Import or compare every account and contact; resumes an interrupted full pass."""
    run = begin_pass(PassKind.FULL, resume=True, new_since=lambda: BEGINNING)
    return _Pass(run, progress=progress, page_size=page_size, write_batch=write_batch).execute()


def run_incremental_pass(
    *,
    since: datetime | None = None,
    progress: ProgressCallback | None = None,
    page_size: int = MAX_PAGE_SIZE,
    write_batch: int = WRITE_BATCH,
) -> ReconciliationRun:
    """Reconcile what changed in Zuora since `since`, or since the stored watermark.

    Without `since`, an interrupted incremental pass is resumed; raises
    NoWatermark when no pass has ever finished.
    """
    if since is None:
        run = begin_pass(PassKind.INCREMENTAL, resume=True, new_since=_watermark_or_fail)
    else:
        run = begin_pass(PassKind.INCREMENTAL, resume=False, new_since=lambda: since)
    return _Pass(run, progress=progress, page_size=page_size, write_batch=write_batch).execute()


def stored_watermark() -> datetime | None:
    """Where the next incremental pass reads from, lookback included; None before any pass."""
    finished = ReconciliationRun.objects.filter(
        kind__in=[PassKind.FULL, PassKind.INCREMENTAL], state=PassState.FINISHED
    )
    if not finished.exists():
        return None
    marks = finished.aggregate(
        accounts=Max("accounts_watermark"), contacts=Max("contacts_watermark")
    )
    # Accounts and contacts have their own watermarks; reading both from the
    # earlier one re-reads a little more and misses nothing.
    known = [mark for mark in marks.values() if mark is not None]
    if len(known) < len(marks):
        return BEGINNING  # a finished pass saw none of that kind: read them all
    return min(known) - timedelta(seconds=settings.ZUORA_SYNC_LOOKBACK_SECONDS)


def _watermark_or_fail() -> datetime:
    since = stored_watermark()
    if since is None:
        raise NoWatermark(
            "no reconciliation pass has finished yet: run a full pass first "
            "(zuora_sync --full), or give the time to read from (--since)"
        )
    return since


def full_pass_due(*, now: datetime | None = None) -> bool:
    """Whether the watch loop should run a full comparison rather than an increment."""
    every = settings.ZUORA_SYNC_FULL_EVERY
    last = (
        ReconciliationRun.objects.filter(kind=PassKind.FULL, state=PassState.FINISHED)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    if last is None:
        return True
    if not every:
        return False
    return (now or timezone.now()) - last >= timedelta(seconds=every)


class _Pass:
    """One session of a pass: from its recorded phase and watermarks to the end."""

    def __init__(
        self,
        run: ReconciliationRun,
        *,
        progress: ProgressCallback | None,
        page_size: int,
        write_batch: int,
    ) -> None:
        if write_batch < 1:
            raise ValueError(f"write_batch must be at least 1; got {write_batch}")
        self.run = run
        self.progress = progress
        self.page_size = page_size
        self.write_batch = write_batch
        self.client: ZuoraClient = zuora_client()
        self._calls_before = run.zuora_calls
        self._calls_at_start = _total_calls(self.client)
        self.batches = 0

    def execute(self) -> ReconciliationRun:
        run = self.run
        try:
            if run.phase == PassPhase.ACCOUNTS:
                self._accounts()
                self._next_phase(PassPhase.CONTACTS)
            if run.phase == PassPhase.CONTACTS:
                self._contacts()
                self._next_phase(PassPhase.GONE if run.kind == PassKind.FULL else PassPhase.DONE)
            if run.phase == PassPhase.GONE:
                self._request_gone()
                self._next_phase(PassPhase.DONE)
        except BaseException as error:
            # Interrupted (Zuora, the database, a signal): keep the progress for a resume.
            try:
                self._record(state=PassState.FAILED, error=describe_error(error))
            except DatabaseError:
                logger.exception("could not record the failed pass", extra={"run": run.pk})
            raise
        self._record(state=PassState.FINISHED, finished_at=timezone.now())
        logger.info(
            "reconciliation pass finished",
            extra={
                "run": run.pk,
                "kind": run.kind,
                "accounts_read": run.accounts_read,
                "contacts_read": run.contacts_read,
                "zuora_calls": run.zuora_calls,
            },
        )
        return run

    def _resume_point(self, watermark: datetime | None) -> datetime:
        since = self.run.since or BEGINNING
        return max(since, watermark) if watermark is not None else since

    def _accounts(self) -> None:
        accounts = self.client.iter_accounts(
            updated_since=self._resume_point(self.run.accounts_watermark),
            expand_contacts=True,
            page_size=self.page_size,
        )
        for batch in read_ahead(batched(accounts, self.write_batch)):
            synced_at = timezone.now()
            with transaction.atomic():
                self._tally(reconcile_accounts(batch, synced_at=synced_at))
                self.run.accounts_read += len(batch)
                self.run.accounts_watermark = _latest(self.run.accounts_watermark, batch)
                self._save_progress()
            self._report(PassPhase.ACCOUNTS, self.run.accounts_read)

    def _contacts(self) -> None:
        contacts = self.client.iter_contacts(
            updated_since=self._resume_point(self.run.contacts_watermark),
            page_size=self.page_size,
        )
        for batch in read_ahead(batched(contacts, self.write_batch)):
            account_pks = _local_account_pks(contact.account_id for contact in batch)
            # Accounts created in Zuora after the accounts phase read past them:
            # fetch them now (outside the transaction), so no contact is dropped.
            owners = self._fetch_accounts(
                {c.account_id for c in batch if c.account_id and c.account_id not in account_pks}
            )
            synced_at = timezone.now()
            with transaction.atomic():
                self._tally(reconcile_accounts(owners, synced_at=synced_at))
                account_pks |= _local_account_pks(owner.id for owner in owners)
                # A contact whose account is gone from Zuora went with it.
                owned = [
                    (contact, account_pks[contact.account_id])
                    for contact in batch
                    if contact.account_id in account_pks
                ]
                self._tally(reconcile_contacts(self._not_written_yet(owned), synced_at=synced_at))
                self.run.contacts_read += len(batch)
                self.run.contacts_watermark = _latest(self.run.contacts_watermark, batch)
                self._save_progress()
            self._report(PassPhase.CONTACTS, self.run.contacts_read)

    def _not_written_yet(
        self, contacts: list[tuple[ZuoraContact, int]]
    ) -> list[tuple[ZuoraContact, int]]:
        """Leave out contacts this pass already stored with exactly these values.

        The accounts phase writes every Bill-To and Sold-To contact from the
        expanded accounts; writing them again cost a full import a tenth of its
        time and changes nothing. A contact that changed in between differs,
        and is written.
        """
        if not contacts:
            return []
        names = list(contact_fields(contacts[0][0]))
        stored = {
            zuora_id: tuple(values)
            for zuora_id, *values in BillingAccountContact.objects.filter(
                Among("zuora_id", [contact.id for contact, _ in contacts]),
                last_synced_at__gte=self.run.started_at,
            ).values_list("zuora_id", "billing_account", "zuora_updated_at", *names)
        }
        return [
            (contact, account_pk)
            for contact, account_pk in contacts
            if stored.get(contact.id)
            != (account_pk, contact.updated_date, *contact_fields(contact).values())
        ]

    def _fetch_accounts(self, zuora_ids: set[str]) -> list[ZuoraAccount]:
        owners = []
        for zuora_id in sorted(zuora_ids):
            try:
                owners.append(self.client.get_account(zuora_id))
            except ZuoraNotFound:
                continue
        return owners

    def _request_gone(self) -> None:
        """Queue every local object this pass did not see; the queue deletes what 404s."""
        started = self.run.started_at
        unseen = Q(last_synced_at__lt=started) | Q(last_synced_at__isnull=True)
        accounts = BillingAccount.objects.filter(unseen)
        # A contact of an account that is gone goes with the account's delete.
        contacts = BillingAccountContact.objects.filter(unseen).filter(
            billing_account__last_synced_at__gte=started
        )
        for kind, rows in ((SyncKind.ACCOUNT, accounts), (SyncKind.CONTACT, contacts)):
            zuora_ids = rows.order_by("pk").values_list("zuora_id", flat=True)
            for batch in batched(zuora_ids.iterator(chunk_size=GONE_BATCH), GONE_BATCH):
                with transaction.atomic():
                    for zuora_id in batch:
                        queue.request(kind=kind, zuora_id=zuora_id)
                    self.run.syncs_requested += len(batch)
                    self._save_progress()
                self._report(PassPhase.GONE, self.run.syncs_requested)

    def _tally(self, result: ReconcileResult) -> None:
        self.run.accounts_written += result.accounts_written
        self.run.contacts_written += result.contacts_written
        self.run.syncs_requested += len(result.follow_ups)

    def _next_phase(self, phase: PassPhase) -> None:
        self.run.phase = phase
        self._save_progress()

    def _save_progress(self) -> None:
        self.run.heartbeat_at = timezone.now()
        self.run.zuora_calls = self._calls_before + _total_calls(self.client) - self._calls_at_start
        self.run.save()

    def _record(self, **changes: object) -> None:
        for name, value in changes.items():
            setattr(self.run, name, value)
        self._save_progress()

    def _report(self, phase: PassPhase, objects: int) -> None:
        self.batches += 1
        if self.progress is not None:
            self.progress(
                Progress(
                    kind=PassKind(self.run.kind),
                    phase=phase,
                    batches=self.batches,
                    objects=objects,
                )
            )


_END = object()


def read_ahead[T](items: Iterator[T]) -> Iterator[T]:
    """Yield `items`, producing the next one in a thread while the caller works on this one.

    A pass reads its next batch from Zuora (a few pages, parsed) while it
    writes the previous one, instead of waiting for Zuora between writes: at
    most one batch more is held. An error producing an item is raised where
    the caller would have received it; the items before it have been yielded.
    """
    context = contextvars.copy_context()  # the reader logs with the caller's context
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="zuora-read-ahead") as reader:
        following = reader.submit(context.run, next, items, _END)
        while (item := following.result()) is not _END:
            following = reader.submit(context.run, next, items, _END)
            yield item  # type: ignore[misc]


def _latest(
    watermark: datetime | None, batch: Iterable[ZuoraAccount | ZuoraContact]
) -> datetime | None:
    stamps = [item.updated_date for item in batch if item.updated_date is not None]
    if watermark is not None:
        stamps.append(watermark)
    return max(stamps, default=None)


def _local_account_pks(zuora_ids: Iterable[str | None]) -> dict[str, int]:
    wanted = {zuora_id for zuora_id in zuora_ids if zuora_id}
    return dict(
        BillingAccount.objects.filter(Among("zuora_id", wanted)).values_list("zuora_id", "pk")
    )


def _total_calls(client: ZuoraClient) -> int:
    return sum(client.call_counts().values())
