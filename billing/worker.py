"""A concurrent worker for the database task backend, woken at once by PostgreSQL.

django-tasks-db's own worker runs one task at a time and polls. Syncs spend
most of their time waiting for Zuora, so one process here claims tasks in a
single dispatcher loop and runs them on a pool of threads; on PostgreSQL a
LISTEN connection wakes the dispatcher the moment a callout commits a task
(`billing.sync.queue.wake_workers`), so it can poll rarely when idle.
"""

import contextlib
import functools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
from django.core.exceptions import SuspiciousOperation
from django.db import DatabaseError, close_old_connections, connection
from django.db import Error as DatabaseFailure
from django.db.models import Field
from django.db.models.expressions import Col
from django.tasks import TaskContext, TaskResultStatus
from django.tasks.signals import task_finished, task_started
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception, retry

from billing.sync.queue import WAKE_CHANNEL
from config.heap import settle_start_up_objects

logger = logging.getLogger(__name__)

CONNECTION_UPKEEP_SECONDS = 1.0


class WakeListener:
    """A thread holding `LISTEN` on PostgreSQL; sets `event` on every notification."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event
        self.stopped = threading.Event()
        self.parameters = connection.get_connection_params()
        self.thread = threading.Thread(target=self._listen, name="wake-listener", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()

    def _listen(self) -> None:
        while not self.stopped.is_set():
            try:
                with psycopg.connect(**self.parameters, autocommit=True) as listening:
                    listening.execute(f"LISTEN {WAKE_CHANNEL}")
                    # Anything enqueued while we were not listening is found
                    # by the dispatcher's next poll; wake it to look now.
                    self.event.set()
                    while not self.stopped.is_set():
                        # One generator a second, yielding every notification
                        # meanwhile (one per notification cost a busy worker
                        # 7 % of its interpreter time).
                        for _ in listening.notifies(timeout=1.0):
                            self.event.set()
                            if self.stopped.is_set():
                                break
            except psycopg.Error as error:
                logger.warning(
                    "wake-up listener lost its connection; polling until it is back",
                    extra={"error": type(error).__name__},
                )
                self.stopped.wait(5.0)


def settle_worker_heap() -> None:
    """Import what the tasks run, then set start-up's objects aside (`config.heap`):
    once, before a worker process runs its first task."""
    import billing.tasks  # noqa: F401 (here, not above: it loads the whole sync)
    import customers.tasks  # noqa: F401

    settle_start_up_objects()


class ConcurrentWorker:
    """Claims ready tasks, as many as it has free threads, and runs them on those threads."""

    def __init__(self, *, threads: int, interval: float, worker_id: str) -> None:
        self.threads = threads
        self.interval = interval
        self.worker_id = worker_id
        self.running = True
        self.wake = threading.Event()
        self.slots = threading.BoundedSemaphore(threads)
        self.upkeep_due = 0.0  # when the dispatcher next checks its connection

    def stop(self) -> None:
        """Finish the running tasks, claim no more."""
        self.running = False
        self.wake.set()

    def run(self) -> None:
        """Dispatch until stopped; a database error propagates to the caller, who backs off."""
        listener = WakeListener(self.wake) if connection.vendor == "postgresql" else None
        if listener is not None:
            listener.start()
        pool = ThreadPoolExecutor(self.threads, thread_name_prefix="sync")
        try:
            while self.running:
                free = self._free_slots()
                try:
                    tasks = self._claim(limit=free)
                except BaseException:
                    self._release(free)
                    raise
                self._release(free - len(tasks))
                for task in tasks:
                    pool.submit(self._run, task)
                if len(tasks) < free:
                    # The queue held fewer than the free threads: asking again
                    # before a task is enqueued finds nothing (a claim for each
                    # wake-up was followed by an empty one, a third of all
                    # claims at 100 changes/s). A notification that arrives
                    # after the claim's query leaves the event set, so the
                    # wait returns at once.
                    self.wake.wait(self.interval)
                    self.wake.clear()
        finally:
            if listener is not None:
                listener.stop()
            pool.shutdown(wait=True)

    def _free_slots(self) -> int:
        """Wait for one free thread, then take every other free one too."""
        self.slots.acquire()
        free = 1
        while free < self.threads and self.slots.acquire(blocking=False):
            free += 1
        return free

    def _release(self, count: int) -> None:
        for _ in range(count):
            self.slots.release()

    def _claim(self, *, limit: int) -> list[DBTaskResult]:
        """Claim up to `limit` ready tasks in one statement, oldest first.

        A burst of callouts commits many tasks at once; claiming them one by
        one cost this dispatcher a third of the worker's CPU. Built with the
        ORM (the backend's `ready()` queryset and `bulk_update`), a claim then
        still cost about 3 ms of CPU, mostly compiling those queries, while
        threads free up and claim one task at a time: at 40 changes a second
        that was over a third of the worker's interpreter time. It is now one
        `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING` whose text is
        built once, doing what `DBTaskResult.claim()` does to each row.
        """
        now = time.monotonic()
        if now >= self.upkeep_due:
            # Drop a broken or expired connection (and check the one kept):
            # once a second, not before every claim, each claim being a
            # round trip of its own.
            close_old_connections()
            self.upkeep_due = now + CONNECTION_UPKEEP_SECONDS
        statement = self._claim_statement(limit)
        if connection.vendor == "postgresql":
            # One statement is its own transaction: no BEGIN and COMMIT
            # round trips around it.
            return self._claimed(statement)
        with exclusive_transaction(DBTaskResult.objects.db):
            try:
                return self._claimed(statement)
            except DatabaseError as error:
                if is_locked_database_exception(error):
                    return []
                raise

    def _claimed(self, statement: tuple[str, list[object]]) -> list[DBTaskResult]:
        sql, parameters = statement
        with connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            rows = cursor.fetchall()
        # What a raw queryset does with the rows, with the converters looked
        # up once (a raw queryset's set-up was half the cost of a claim).
        plan = _claim_plan(connection.vendor)
        claimed = []
        for row in rows:
            values = list(row)
            for index, column, functions in plan.converters:
                for convert in functions:
                    values[index] = convert(values[index], column, connection)
            claimed.append(DBTaskResult.from_db(connection.alias, plan.names, values))
        # RETURNING gives no order: run them in the queue's order.
        claimed.sort(key=lambda task: (-task.priority, task.run_after, task.enqueued_at))
        return claimed

    def _claim_statement(self, limit: int) -> tuple[str, list[object]]:
        plan = _claim_plan(connection.vendor)
        started = DBTaskResult._meta.get_field("started_at").get_db_prep_value(
            timezone.now(), connection
        )
        return plan.sql, [
            plan.running,
            started,
            self.worker_id,
            plan.ready,
            plan.at_once,
            started,
            "default",  # backend_name and queue, as django-tasks-db's worker takes them
            "default",
            limit,
        ]

    def _run(self, task: DBTaskResult) -> None:
        try:
            self.run_task(task)
        except DatabaseFailure as error:
            # The sync stays claimed; its lease runs out and the sweeper hands
            # it back. Nothing is lost.
            logger.warning(
                "task could not record its result", extra={"error": type(error).__name__}
            )
        finally:
            with contextlib.suppress(DatabaseFailure):
                close_old_connections()
            self.slots.release()

    def run_task(self, task: DBTaskResult) -> None:
        """Run a claimed task and record its result, as django-tasks-db's worker does.

        The steps and signals of its `Worker.run_task`, but a success is
        written by one statement whose text is built once: `save()` built
        its UPDATE at every task, half a million instructions (4 % of an
        account sync). A failure is recorded by the library's `set_failed`,
        as there.
        """
        try:
            # Each `task` and `task_result` imports the task's function again.
            definition = task.task
            backend = type(definition.get_backend())
            result = task.task_result
            task_started.send(sender=backend, task_result=result)
            context = (TaskContext(task_result=result),) if definition.takes_context else ()
            value = definition.call(*context, *result.args, **result.kwargs)
            # Inside the handling, as there: a value that cannot be stored
            # (not JSON) fails the task instead of losing it.
            _record_success(task, value)
            task_finished.send(sender=backend, task_result=task.task_result)
        except BaseException as error:
            task.set_failed(error)
            try:
                backend = type(task.task.get_backend())
                result = task.task_result
            except (ImportError, SuspiciousOperation):
                logger.exception("task failed unexpectedly", extra={"task_id": str(task.id)})
            else:
                task_finished.send(sender=backend, task_result=result)


@dataclass(frozen=True)
class _ClaimPlan:
    """What every claim on one database shares, built once: the statement, its fixed
    parameters, and how to turn the rows it returns into tasks."""

    sql: str
    running: object  # the prepared values of RUNNING, READY and of the date that
    ready: object  # means "run at once"
    at_once: object
    names: list[str]  # attribute names of the RETURNING columns, in order
    converters: list[tuple[int, Col, list[Any]]]  # (position, column, functions)


@functools.cache
def _claim_plan(vendor: str) -> _ClaimPlan:
    opts = DBTaskResult._meta
    quote = connection.ops.quote_name
    table = quote(opts.db_table)

    def column(name: str) -> str:
        return quote(opts.get_field(name).column)

    if vendor == "postgresql":
        append = f"{column('worker_ids')} || jsonb_build_array(%s::text)"
        lock = "FOR UPDATE SKIP LOCKED"
    else:  # SQLite: the exclusive transaction is the lock
        append = f"json_insert({column('worker_ids')}, '$[#]', %s)"
        lock = ""
    returned = opts.concrete_fields
    converters = []
    for index, field in enumerate(returned):
        col = field.get_col(opts.db_table)
        functions = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
        if functions:
            converters.append((index, col, functions))
    status, run_after = opts.get_field("status"), opts.get_field("run_after")
    return _ClaimPlan(
        sql=(
            f"UPDATE {table} SET {column('status')} = %s, "  # noqa: S608
            f"{column('started_at')} = %s, {column('worker_ids')} = {append} "
            f"WHERE {quote(opts.pk.column)} IN (SELECT {quote(opts.pk.column)} FROM {table} "
            f"WHERE {column('status')} = %s "
            f"AND ({column('run_after')} = %s OR {column('run_after')} <= %s) "
            f"AND {column('backend_name')} = %s AND {column('queue_name')} = %s "
            f"ORDER BY {column('priority')} DESC, {column('run_after')}, {column('enqueued_at')} "
            f"LIMIT %s {lock}) "
            f"RETURNING {', '.join(quote(field.column) for field in returned)}"
        ),
        running=status.get_db_prep_value(TaskResultStatus.RUNNING, connection),
        ready=status.get_db_prep_value(TaskResultStatus.READY, connection),
        at_once=run_after.get_db_prep_value(get_date_max(), connection),
        names=[field.attname for field in returned],
        converters=converters,
    )


@retry()  # as the library's set_successful: a brief database hiccup is retried
def _record_success(task: DBTaskResult, value: Any) -> None:
    """What `DBTaskResult.set_successful` writes, in one statement of constant text."""
    task.status = TaskResultStatus.SUCCESSFUL
    task.finished_at = timezone.now()
    task.return_value = value
    task.exception_class_path = ""
    task.traceback = ""
    plan = _success_plan(connection.vendor)
    parameters = [
        plan.successful,
        plan.finished_at.get_db_prep_save(task.finished_at, connection),
        plan.return_value.get_db_prep_save(value, connection),
        plan.pk.get_db_prep_save(task.pk, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, parameters)


@dataclass(frozen=True)
class _SuccessPlan:
    sql: str
    successful: object
    finished_at: Field
    return_value: Field
    pk: Field


@functools.cache
def _success_plan(vendor: str) -> _SuccessPlan:
    opts = DBTaskResult._meta
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        return quote(opts.get_field(name).column)

    return _SuccessPlan(
        sql=(
            f"UPDATE {quote(opts.db_table)} SET {column('status')} = %s, "  # noqa: S608
            f"{column('finished_at')} = %s, {column('return_value')} = %s, "
            f"{column('exception_class_path')} = '', {column('traceback')} = '' "
            f"WHERE {quote(opts.pk.column)} = %s"
        ),
        successful=opts.get_field("status").get_db_prep_value(
            TaskResultStatus.SUCCESSFUL, connection
        ),
        finished_at=opts.get_field("finished_at"),
        return_value=opts.get_field("return_value"),
        pk=opts.pk,
    )
