"""Prometheus metrics of the sync: callouts, sync runs, and the queue's state."""

from collections.abc import Iterator

from django.db import DatabaseError
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from billing.models import PendingSync, SyncState

CALLOUTS = Counter(
    "zuora_sync_callouts",
    "Callouts received, by kind and outcome (accepted, or why refused).",
    ["kind", "outcome"],
)
CALLOUT_BATCH_SIZE = Histogram(
    "zuora_sync_callout_batch_size",
    "Callouts recorded per database transaction (group commit).",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
SYNC_RUNS = Histogram(
    "zuora_sync_sync_duration_seconds",
    "Duration of one sync run (fetch and reconcile), by kind and outcome.",
    ["kind", "outcome"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)

CONTACT_SYNCS_COVERED = Counter(
    "zuora_sync_contact_syncs_covered",
    "Contact syncs completed by their account's sync, which fetched them as its "
    "Bill-To or Sold-To after they were requested.",
)


class QueueCollector(Collector):
    """Pending, running and dead syncs and the oldest pending age, read at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        by_state = GaugeMetricFamily(
            "zuora_sync_pending_syncs", "Syncs in the queue, by state.", labels=["state"]
        )
        oldest = GaugeMetricFamily(
            "zuora_sync_oldest_pending_age_seconds",
            "Age of the oldest pending or running sync (0 when none).",
        )
        try:
            counts = dict(
                PendingSync.objects.values_list("state").annotate(n=Count("pk")).order_by()
            )
            first = PendingSync.objects.exclude(state=SyncState.DEAD).aggregate(
                at=Min("requested_since")
            )["at"]
        except DatabaseError:
            return
        for state in SyncState.values:
            by_state.add_metric([state], counts.get(state, 0))
        oldest.add_metric([], (timezone.now() - first).total_seconds() if first else 0.0)
        yield by_state
        yield oldest
