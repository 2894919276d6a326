"""Run the database task worker: concurrent, woken by PostgreSQL, waiting out outages."""

import contextlib
import logging
import random
import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import Error as DatabaseFailure

# django.db.Error: also InterfaceError (a closed connection), not a DatabaseError.
from django.db import connection, connections
from django.utils.crypto import get_random_string

from billing.worker import ConcurrentWorker, settle_worker_heap

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Run the database task backend's tasks on --threads threads (syncs mostly wait for "
        "Zuora). On PostgreSQL a LISTEN connection wakes the worker as soon as a task is "
        "enqueued, so it polls only every --interval seconds when idle. When the database "
        "goes away the worker does not exit: it backs off (doubling up to --max-backoff "
        "seconds, with jitter) and carries on once the database answers. A sync it held "
        "when the database failed stays claimed until its lease runs out; the sweeper "
        "hands it back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="Seconds between polls when the queue is empty (default 1 on PostgreSQL, "
            "which wakes the worker at once; 0.2 on SQLite).",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=None,
            help="Tasks run at once (default SYNC_WORKER_THREADS).",
        )
        parser.add_argument(
            "--max-backoff",
            type=float,
            default=30.0,
            help="Longest wait between attempts while the database is down (default 30).",
        )
        parser.add_argument(
            "--worker-id", default="", help="Unique id of this worker (default: random)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.TASKS_BACKEND != settings.DATABASE_TASKS_BACKEND:
            raise CommandError(
                "sync_worker runs the database task backend; with TASKS_BACKEND="
                f"{settings.TASKS_BACKEND} run that backend's worker (run_redis_tasks)."
            )
        interval = options["interval"]
        if interval is None:
            interval = 1.0 if connection.vendor == "postgresql" else 0.2
        settle_worker_heap()
        worker = ConcurrentWorker(
            threads=options["threads"] or settings.SYNC_WORKER_THREADS,
            interval=interval,
            worker_id=options["worker_id"] or get_random_string(32),
        )
        stop_on_signals(worker)
        failures, last_failure = 0, 0.0
        while True:
            try:
                worker.run()
            except DatabaseFailure as error:
                if not worker.running:
                    return
                # Consecutive failures back off further; a spell of work resets that.
                now = time.monotonic()
                ceiling = options["max_backoff"]
                failures = failures + 1 if now - last_failure < 2 * ceiling + 1 else 1
                last_failure = now
                delay = backoff(failures=failures, ceiling=ceiling)
                logger.warning(
                    "database unavailable; the worker waits and tries again",
                    extra={"error": type(error).__name__, "retry_in_s": round(delay, 1)},
                )
                with contextlib.suppress(DatabaseFailure):
                    connections.close_all()
                time.sleep(delay)
                continue
            return


def backoff(*, failures: int, ceiling: float) -> float:
    """Half the doubling delay plus up to as much again at random, capped at `ceiling`."""
    delay = min(ceiling, 0.5 * 2**failures)
    return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 (jitter, not security)


def stop_on_signals(worker: ConcurrentWorker) -> None:
    """First SIGTERM/SIGINT: finish running tasks and exit; a second one exits at once."""

    def handle(signum: int, frame: object) -> None:
        if not worker.running:
            raise SystemExit(1)
        logger.warning("stopping after the running tasks", extra={"signal": signum})
        worker.stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handle)
