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
    """Claims ready tasks one at a time and runs up to `threads` of them at once."""

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
                self.slots.acquire()
                try:
                    task = self._claim()
                except BaseException:
                    self.slots.release()
                    raise
                if task is None:
                    self.slots.release()
                    self.wake.wait(self.interval)
                    self.wake.clear()
                    continue
                pool.submit(self._run, task)
        finally:
            if listener is not None:
                listener.stop()
            pool.shutdown(wait=True)

    def _claim(self) -> DBTaskResult | None:
        close_old_connections()
        tasks = DBTaskResult.objects.ready().filter(
            backend_name="default", queue_name__in=["default"]
        )
        with exclusive_transaction(tasks.db):
            try:
                task = tasks.get_locked()
            except DatabaseError as error:
                if is_locked_database_exception(error):
                    return None
                raise
            if task is not None:
                task.claim(self.worker_id)
        return task

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
