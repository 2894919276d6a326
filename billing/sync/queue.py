"""Putting Zuora objects on the sync queue: from callouts, passes and operators."""

from datetime import datetime

from django.db import connection, transaction
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django.utils import timezone

from billing.models import CalloutReceipt, SyncKind
from billing.sync.pending import request_sync


def enqueue(*, kind: SyncKind, zuora_id: str, run_after: datetime | None = None) -> None:
    """Hand one object to a worker, now or at `run_after` when the backend can defer."""
    from billing.tasks import sync_object  # the task module imports the sync code

    task = sync_object
    if run_after is not None and task_backends[DEFAULT_TASK_BACKEND_ALIAS].supports_defer:
        task = task.using(run_after=run_after)
    task.enqueue(str(kind), zuora_id)


def request(*, kind: SyncKind, zuora_id: str, now: datetime | None = None) -> bool:
    """Ask for an object to be synced, enqueueing a task when a new wait starts.

    Returns True when this request started a new wait (and so enqueued a task).
    """
    if not request_sync(kind=kind, zuora_id=zuora_id, now=now):
        return False
    if queue_in_database() and connection.in_atomic_block:
        # The task row commits with the pending row: one transaction, and
        # never a pending sync without its task.
        enqueue(kind=kind, zuora_id=zuora_id)
        wake_workers()
    else:
        # Robust: the pending row is committed, so a failed enqueue loses
        # nothing (the sweeper re-enqueues overdue syncs) and must not fail
        # the caller.
        transaction.on_commit(lambda: enqueue(kind=kind, zuora_id=zuora_id), robust=True)
    return True


WAKE_CHANNEL = "zuora_sync_tasks"


def queue_in_database() -> bool:
    """Whether tasks live in this database (the django-tasks-db backend)."""
    return type(task_backends[DEFAULT_TASK_BACKEND_ALIAS]).__module__.startswith("django_tasks_db")


def wake_workers() -> None:
    """Tell listening workers (PostgreSQL LISTEN) that a task is ready, at commit."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [WAKE_CHANNEL])


def record_callout(
    *,
    kind: SyncKind,
    zuora_id: str,
    account_zuora_id: str = "",
    zuora_request_id: str = "",
    zuora_notification_id: str = "",
    source_address: str | None = None,
) -> CalloutReceipt:
    """Record a callout and queue its object, in one transaction.

    When this returns, the callout is durable: answering Zuora 200 is safe.
    """
    now = timezone.now()
    with transaction.atomic():
        receipt = CalloutReceipt.objects.create(
            kind=kind,
            zuora_id=zuora_id,
            account_zuora_id=account_zuora_id,
            zuora_request_id=zuora_request_id[:64],
            zuora_notification_id=zuora_notification_id[:64],
            source_address=source_address,
            received_at=now,
        )
        request(kind=kind, zuora_id=zuora_id, now=now)
    return receipt
