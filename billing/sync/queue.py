"""Putting Zuora objects on the sync queue: from callouts, passes and operators."""

import json
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from copy import copy
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django.tasks.signals import task_enqueued
from django.utils import timezone

from billing.models import CalloutReceipt, SyncKind
from billing.sync.pending import (
    request_parameters,
    request_statement,
    request_syncs,
    requested_rows,
)


def enqueue(
    *, kind: SyncKind, zuora_id: str, run_after: datetime | None = None, settling: bool = False
) -> None:
    """Hand one object to a worker, now or at `run_after` when the backend can defer.

    A task to run now wakes the workers: the run after a sync that a callout
    overlapped would otherwise wait for a worker's next poll. (Many at once:
    `enqueue_now`.) `settling`: the object's wait starts now (`enqueue_started`).
    """
    from billing.tasks import sync_object  # the task module imports the sync code

    task = sync_object
    if run_after is not None and task_backends[DEFAULT_TASK_BACKEND_ALIAS].supports_defer:
        task = task.using(run_after=run_after)
    task.enqueue(str(kind), zuora_id, **_settling(settling))
    if run_after is None and queue_in_database():
        wake_workers()


def enqueue_now(objects: Iterable[tuple[str, str]]) -> None:
    """`enqueue` many objects to run now (the sweeper's, an operator's): with the
    database task backend one INSERT and one wake-up for them all, instead of
    a round trip and a notification each."""
    with transaction.atomic():
        enqueue_started(set(objects))


def request(*, kind: SyncKind, zuora_id: str, now: datetime | None = None) -> bool:
    """Ask for an object to be synced, enqueueing a task when a new wait starts.

    Returns True when this request started a new wait (and so enqueued a task).
    """
    started = request_syncs([(kind, zuora_id)], now=now)
    enqueue_started(started, settling=True)
    return bool(started)


def enqueue_started(started: set[tuple[str, str]], *, settling: bool = False) -> None:
    """Enqueue a task for each object whose wait just started (or ended early).

    `settling`: their waits started now (`request_syncs`), so none is due
    before `SYNC_SETTLE_SECONDS`; the task waits that long before its first
    claim (`billing.tasks.sync_object`). Off for objects due now.

    Inside a transaction the tasks commit with it (the database task
    backend), or are enqueued once it has committed.
    """
    if not started:
        return
    if queue_in_this_transaction():
        # The task rows commit with the pending rows: one transaction, and
        # never a pending sync without its task.
        enqueue_in_database(sorted(started), settling=settling)
        wake_workers()
        return
    for kind, zuora_id in sorted(started):
        # Robust: the pending row is committed, so a failed enqueue loses
        # nothing (the sweeper re-enqueues overdue syncs) and must not fail
        # the caller.
        transaction.on_commit(
            lambda kind=kind, zuora_id=zuora_id: enqueue(
                kind=SyncKind(kind), zuora_id=zuora_id, settling=settling
            ),
            robust=True,
        )


def enqueue_in_database(objects: Sequence[tuple[str, str]], *, settling: bool = False) -> None:
    """Enqueue one sync task per object with one INSERT (the database task backend).

    The backend's own `enqueue` inserts one row per call; a batch of callouts
    starting many new syncs spent 40 % of the web process's time there. The
    rows are what that `enqueue` writes (its pre_save included), and
    `task_enqueued` is sent for each.
    """
    from django.utils.json import normalize_json
    from django_tasks_db.models import DBTaskResult

    backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
    new_id = DBTaskResult._meta.pk.get_default
    rows = DBTaskResult.objects.bulk_create(
        [
            _sync_task_row(
                backend.alias,
                id=new_id(),
                args_kwargs=normalize_json(
                    {"args": [kind, zuora_id], "kwargs": _settling(settling)}
                ),
            )
            for kind, zuora_id in objects
        ]
    )
    for row in rows:
        task_enqueued.send(type(backend), task_result=row.task_result)


def _settling(settling: bool) -> dict[str, bool]:
    """The sync task's keyword arguments: none unless its object's wait starts now."""
    return {"settling": True} if settling else {}


def _sync_task_row(backend_alias: str, **fields: Any) -> Any:
    """A sync task's row as the backend's `enqueue` builds it, before its pre_save."""
    from django_tasks_db.models import DBTaskResult, get_date_max

    from billing.tasks import sync_object

    task_backends[backend_alias].validate_task(sync_object)
    return DBTaskResult(
        priority=sync_object.priority,
        task_path=sync_object.module_path,
        queue_name=sync_object.queue_name,
        # As the backend's pre_save does: no run_after is the far future.
        run_after=sync_object.run_after or get_date_max(),
        backend_name=backend_alias,
        **fields,
    )


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
    if connection.vendor == "postgresql" and queue_in_database():
        _record_in_one_statement(callouts, now)
        return
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
        enqueue_started(
            request_syncs(
                [(c.kind, c.zuora_id) for c in callouts],
                now=now,
                accounts=contact_accounts(callouts),
            ),
            settling=True,
        )


def contact_accounts(callouts: Sequence[Callout]) -> dict[str, str]:
    """The account each contact callout named (the latest, when several did)."""
    return {
        callout.zuora_id: callout.account_zuora_id
        for callout in callouts
        if callout.kind == SyncKind.CONTACT and callout.account_zuora_id
    }


def _record_in_one_statement(callouts: Sequence[Callout], now: datetime) -> None:
    """`record_callouts` on PostgreSQL with the database task backend: one statement.

    The receipts, the pending-sync upsert, the task rows of the objects whose
    wait starts and the workers' wake-up go in one statement, which is its own
    transaction when none is open: one round trip instead of six (BEGIN, three
    inserts, the notification, COMMIT), and no statement for the ORM to build.
    A web process's callouts at saturation spent most of their time there.
    """
    from django_tasks_db.models import DBTaskResult

    backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
    statement, template = _one_statement(backend.alias)
    rows = requested_rows([(c.kind, c.zuora_id) for c in callouts], contact_accounts(callouts))
    new_id = DBTaskResult._meta.pk.get_default
    parameters = request_parameters(now) | {
        # Each object with the id of the task it gets if its wait starts.
        "requested": json.dumps([[*row, str(new_id())] for row in rows]),
        "receipts": json.dumps(
            [
                [
                    str(c.kind),
                    c.zuora_id,
                    c.account_zuora_id,
                    c.zuora_request_id[:64],
                    c.zuora_notification_id[:64],
                    c.source_address,
                ]
                for c in callouts
            ]
        ),
    }
    # Inside the caller's transaction, a savepoint: a failed statement must leave
    # that transaction usable, as `atomic()` does on the other path.
    inside = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with inside, connection.cursor() as cursor:
        cursor.execute(statement, parameters)
        enqueued = cursor.fetchall()
    for task_id, kind, zuora_id, _woken in enqueued:
        row = copy(template)
        row.id, row.args_kwargs, row.enqueued_at = (
            task_id,
            {"args": [kind, zuora_id], "kwargs": _settling(True)},
            now,
        )
        task_enqueued.send(type(backend), task_result=row.task_result)


@cache
def _one_statement(backend_alias: str) -> tuple[str, Any]:
    """`_record_in_one_statement`'s statement, and the task row it writes but for its
    id, arguments and time of enqueueing.

    A sync task's row is what the backend's own `enqueue` writes (its pre_save
    included); the values that never change are written into the statement's
    text, so that they are not quoted again for every batch.
    """
    from django_tasks_db.models import DBTaskResult

    template = _sync_task_row(backend_alias, args_kwargs={})
    fields = [
        field
        for field in DBTaskResult._meta.concrete_fields
        if field.name not in {"id", "args_kwargs"}
    ]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    values = []
    for field in fields:
        if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
            values.append("%(now)s")
            continue
        value = field.get_db_prep_save(field.pre_save(template, add=True), connection)
        literal = connection.ops.compose_sql(f"CAST(%s AS {field.db_type(connection)})", [value])
        values.append(literal.replace("%", "%%"))
    channel = connection.ops.compose_sql("%s", [WAKE_CHANNEL]).replace("%", "%%")
    # On one line: psycopg caches the parsing of a statement's text up to 4 kB.
    # (The quoted constants go in after the spaces are squeezed.)
    statement = _one_line(f"""
        WITH receipt AS (
            INSERT INTO {CalloutReceipt._meta.db_table} (
                kind, zuora_id, account_zuora_id, zuora_request_id, zuora_notification_id,
                source_address, received_at
            )
            SELECT r ->> 0, r ->> 1, r ->> 2, r ->> 3, r ->> 4, (r ->> 5)::inet, %(now)s
            FROM json_array_elements(%(receipts)s::json) WITH ORDINALITY AS receipt (r, position)
            ORDER BY position
        ),
        requested AS ({request_statement(connection.vendor)}),
        task AS (
            INSERT INTO {DBTaskResult._meta.db_table} (id, args_kwargs, {columns})
            SELECT new.id,
                jsonb_build_object(
                    'args', jsonb_build_array(requested.kind, requested.zuora_id),
                    'kwargs', jsonb_build_object('settling', true)
                ),
                @constants@
            FROM requested
            JOIN (
                SELECT r ->> 0 AS kind, r ->> 1 AS zuora_id, (r ->> 4)::uuid AS id
                FROM json_array_elements(%(requested)s::json) AS r
            ) AS new ON new.kind = requested.kind AND new.zuora_id = requested.zuora_id
            WHERE requested.requested_since = %(now)s
            ORDER BY requested.kind, requested.zuora_id
            RETURNING id, args_kwargs -> 'args' ->> 0, args_kwargs -> 'args' ->> 1
        )
        SELECT task.*, pg_notify(@channel@, '') FROM task
    """)  # noqa: S608 (names from the models, constants quoted by the driver; values are parameters)
    statement = statement.replace("@constants@", ", ".join(values))
    return statement.replace("@channel@", channel), template


def _one_line(sql: str) -> str:
    return " ".join(sql.split())
