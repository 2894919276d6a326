"""Run the database task worker, waiting out database outages instead of exiting."""

import contextlib
import logging
import random
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connections
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Run django-tasks-db's worker (as `db_worker`). When the database goes away the "
        "worker does not exit: it backs off (doubling up to --max-backoff seconds, with "
        "jitter) and carries on once the database answers. A sync it held when the "
        "database failed stays claimed until its lease runs out; the sweeper hands it back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="Seconds to wait when the queue is empty (default 1).",
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
        worker = Worker(
            queue_names=["default"],
            interval=options["interval"],
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=options["worker_id"] or get_random_string(32),
            excluded_queue_names=[],
        )
        worker.configure_signals()
        failures, last_failure = 0, 0.0
        while True:
            try:
                worker.run()
            except DatabaseError as error:
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
                with contextlib.suppress(DatabaseError):
                    connections.close_all()
                time.sleep(delay)
                continue
            return


def backoff(*, failures: int, ceiling: float) -> float:
    """Half the doubling delay plus up to as much again at random, capped at `ceiling`."""
    delay = min(ceiling, 0.5 * 2**failures)
    return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 (jitter, not security)
