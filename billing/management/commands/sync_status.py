"""Print how the sync stands: queued, running and dead syncs, and the last reconciliation."""

from typing import Any

from django.core.management.base import BaseCommand

from billing.sync.status import sync_figures


class Command(BaseCommand):
    help = (
        "Show pending, running and dead syncs, how long the oldest pending one has waited, "
        "and the last reconciliation pass with its watermark (also in the admin)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        for line in sync_figures().lines():
            self.stdout.write(line)
