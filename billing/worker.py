"""A concurrent worker for the database task backend, woken at once by PostgreSQL.

django-tasks-db's own worker runs one task at a time and polls. Syncs spend
most of their time waiting for Zuora, so one process here claims tasks in a
single dispatcher loop and runs them on a pool of threads; on PostgreSQL a
LISTEN connection wakes the dispatcher the moment a callout commits a task
(`billing.sync.queue.wake_workers`), so it can poll rarely when idle.
"""

import contextlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg
from django.db import DatabaseError, close_old_connections, connection
from django.db import Error as DatabaseFailure
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from billing.sync.queue import WAKE_CHANNEL

logger = logging.getLogger(__name__)


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
                        for _ in listening.notifies(timeout=1.0, stop_after=1):
                            self.event.set()
            except psycopg.Error as error:
                logger.warning(
                    "wake-up listener lost its connection; polling until it is back",
                    extra={"error": type(error).__name__},
                )
                self.stopped.wait(5.0)


class ConcurrentWorker:
    """Claims ready tasks, as many as it has free threads, and runs them on those threads."""

    def __init__(self, *, threads: int, interval: float, worker_id: str) -> None:
        self.threads = threads
        self.interval = interval
        self.worker_id = worker_id
        self.running = True
        self.wake = threading.Event()
        self.slots = threading.BoundedSemaphore(threads)
        # django-tasks-db's worker knows how to run one task and record its
        # result; the claiming and the concurrency are ours.
        self.runner = Worker(
            queue_names=["default"],
            interval=interval,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=worker_id,
            excluded_queue_names=[],
        )

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
                if not tasks:
                    # A notification that arrives after the claim's query
                    # leaves the event set, so the wait returns at once.
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
        """Claim up to `limit` ready tasks in one transaction (two statements, not two per task).

        A burst of callouts commits many tasks at once; claiming them one by
        one cost this dispatcher a third of the worker's CPU.
        """
        close_old_connections()
        tasks = DBTaskResult.objects.ready().filter(
            backend_name="default", queue_name__in=["default"]
        )
        with exclusive_transaction(tasks.db):
            try:
                claimed = list(tasks.select_for_update(skip_locked=True)[:limit])
            except DatabaseError as error:
                if is_locked_database_exception(error):
                    return []
                raise
            if claimed:
                # What DBTaskResult.claim() does, for all of them in one UPDATE.
                now = timezone.now()
                for task in claimed:
                    task.status = TaskResultStatus.RUNNING
                    task.started_at = now
                    task.worker_ids = [*task.worker_ids, self.worker_id]
                DBTaskResult.objects.bulk_update(claimed, ["status", "started_at", "worker_ids"])
        return claimed

    def _run(self, task: DBTaskResult) -> None:
        try:
            self.runner.run_task(task)
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
