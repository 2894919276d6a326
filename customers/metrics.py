"""Prometheus metrics of Sold-To provisioning."""

from prometheus_client import Counter

PROVISIONING_RUNS = Counter(
    "zuora_sync_sold_to_provisioning_runs",
    "Sold-To provisioning runs, by status and, for skipped ones, the problem.",
    ["status", "problem"],
)
