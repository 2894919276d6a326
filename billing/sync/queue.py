"""Putting Zuora objects on the sync queue: from callouts, passes and operators."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django.tasks.signals import task_enqueued
from django.utils import timezone

from billing.models import CalloutReceipt, SyncKind
from billing.sync.pending import request_syncs


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
    started = request_syncs([(kind, zuora_id)], now=now)
    _enqueue(started)
    return bool(started)


def _enqueue(started: set[tuple[str, str]]) -> None:
    """Enqueue a task for each object whose wait just started."""
    if not started:
        return
    if queue_in_this_transaction():
        # The task rows commit with the pending rows: one transaction, and
        # never a pending sync without its task.
        enqueue_in_database(sorted(started))
        wake_workers()
        return
    for kind, zuora_id in sorted(started):
        # Robust: the pending row is committed, so a failed enqueue loses
        # nothing (the sweeper re-enqueues overdue syncs) and must not fail
        # the caller.
        transaction.on_commit(
            lambda kind=kind, zuora_id=zuora_id: enqueue(kind=SyncKind(kind), zuora_id=zuora_id),
            robust=True,
        )


def enqueue_in_database(objects: Sequence[tuple[str, str]]) -> None:
    """Enqueue one sync task per object with one INSERT (the database task backend).

    The backend's own `enqueue` inserts one row per call; a batch of callouts
    starting many new syncs spent 40 % of the web process's time there. The
    rows are what that `enqueue` writes (its pre_save included), and
    `task_enqueued` is sent for each.
    """
    from django.utils.json import normalize_json
    from django_tasks_db.models import DBTaskResult, get_date_max

    from billing.tasks import sync_object

    backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
    backend.validate_task(sync_object)
    new_id = DBTaskResult._meta.pk.get_default
    rows = DBTaskResult.objects.bulk_create(
        [
            DBTaskResult(
                id=new_id(),
                args_kwargs=normalize_json({"args": [kind, zuora_id], "kwargs": {}}),
                priority=sync_object.priority,
                task_path=sync_object.module_path,
                queue_name=sync_object.queue_name,
                # As the backend's pre_save does: no run_after is the far future.
                run_after=sync_object.run_after or get_date_max(),
                backend_name=backend.alias,
            )
            for kind, zuora_id in objects
        ]
    )
    for row in rows:
        task_enqueued.send(type(backend), task_result=row.task_result)


WAKE_CHANNEL = "zuora_sync_tasks"


def queue_in_database() -> bool:
    """Whether tasks live in this database (the django-tasks-db backend)."""
    return type(task_backends[DEFAULT_TASK_BACKEND_ALIAS]).__module__.startswith("django_tasks_db")


def queue_in_this_transaction() -> bool:
    """Whether a task enqueued now commits with the caller's transaction.

    True with the database task backend inside `atomic()`: enqueue there (and
    `wake_workers()`), so the work is never committed without its task.
    Otherwise enqueue in `transaction.on_commit(..., robust=True)`.
    """
    return queue_in_database() and connection.in_atomic_block


def wake_workers() -> None:
    """Tell listening workers (PostgreSQL LISTEN) that a task is ready, at commit."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [WAKE_CHANNEL])


@dataclass(frozen=True)
class Callout:
    """One callout as the endpoint accepted it."""

    kind: SyncKind
    zuora_id: str
    account_zuora_id: str = ""
    zuora_request_id: str = ""
    zuora_notification_id: str = ""
    source_address: str | None = None


def record_callouts(callouts: Sequence[Callout]) -> None:
    """Record callouts and queue their objects, in one transaction.

    When this returns, the callouts are durable: answering Zuora 200 is safe.
    """
    now = timezone.now()
    with transaction.atomic():
        CalloutReceipt.objects.bulk_create(
            [
                CalloutReceipt(
                    kind=callout.kind,
                    zuora_id=callout.zuora_id,
                    account_zuora_id=callout.account_zuora_id,
                    zuora_request_id=callout.zuora_request_id[:64],
                    zuora_notification_id=callout.zuora_notification_id[:64],
                    source_address=callout.source_address,
                    received_at=now,
                )
                for callout in callouts
            ]
        )
        _enqueue(request_syncs([(c.kind, c.zuora_id) for c in callouts], now=now))
