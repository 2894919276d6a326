"""Re-enqueue syncs whose worker died or whose task was lost; once, or in a loop."""

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

# django.db.Error: also InterfaceError (a closed connection), not a DatabaseError.
from django.db import Error as DatabaseFailure
from django.db import close_old_connections

from billing.sync import pending, queue


class Command(BaseCommand):
    help = (
        "Hand back syncs whose worker stopped before finishing (lease expired) and "
        "re-enqueue pending syncs overdue by more than SYNC_SWEEP_GRACE_SECONDS. "
        "Run it from cron, or with --loop."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep sweeping until stopped.")
        parser.add_argument(
            "--interval", type=float, default=30.0, help="Seconds between sweeps with --loop."
        )
        parser.add_argument(
            "--grace",
            type=float,
            default=None,
            help="Seconds a pending sync may be overdue before its task counts as lost "
            "(default: SYNC_SWEEP_GRACE_SECONDS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        grace = (
            options["grace"] if options["grace"] is not None else settings.SYNC_SWEEP_GRACE_SECONDS
        )
        while True:
            try:
                # A connection broken by an outage is replaced, not reused.
                close_old_connections()
                released, requeued = sweep(grace=grace)
            except DatabaseFailure as error:
                if not options["loop"]:
                    raise CommandError(f"sweep failed: {error}") from error
                self.stderr.write(f"sweep failed, will try again: {error}")
            else:
                self.stdout.write(
                    f"sweep: {released} released from dead workers, {requeued} overdue re-enqueued"
                )
            if not options["loop"]:
                return
            time.sleep(options["interval"])


def sweep(*, grace: float) -> tuple[int, int]:
    """One sweep; returns (leases released, overdue syncs re-enqueued)."""
    released = pending.release_expired_leases()
    overdue = pending.overdue(grace=grace)
    queue.enqueue_now([*released, *overdue])
    return len(released), len(overdue)
