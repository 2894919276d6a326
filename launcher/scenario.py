"""The demo's live scenario: change Zuora, let callouts and workers catch up, measure, verify.

Runs in the launcher's process with Django set up on the service's database,
so that it can read the local copy; it talks to the emulator over HTTP only.
"""

import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from launcher.processes import manage
from launcher.stack import Stack

FAULTS = {"callout_reorder": True, "callout_reorder_window": 0.3}


@dataclass
class Report:
    accounts: int = 0
    contacts: int = 0
    changes: Counter[str] = field(default_factory=Counter)
    callouts_received: int = 0
    callouts_dropped: int = 0
    callouts_duplicated: int = 0
    zuora_calls: dict[str, int] = field(default_factory=dict)
    customers_provisioned: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    healed_by_reconciliation: int = 0
    differences: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def percentile(self, share: float) -> float | None:
        if not self.latencies_ms:
            return None
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[
            int(share * 100) - 1
        ]


def emulator(stack: Stack, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(
        method, f"{stack.config.emulator_url}/_emulator/{path}", timeout=60, **kwargs
    )
    response.raise_for_status()
    return response.json()


def drive_changes(
    stack: Stack, *, count: int, rate: float, seed: int, drop: float, duplicate: float
) -> tuple[dict[tuple[str, str], float], Counter[str]]:
    """Apply `count` random changes at about `rate` a second.

    Returns when each object last changed, and how many changes of each kind.
    """
    emulator(
        stack,
        "PATCH",
        "faults",
        json={
            **FAULTS,
            "seed": seed,
            "callout_drop_probability": drop,
            "callout_duplicate_probability": duplicate,
        },
    )
    changed_at: dict[tuple[str, str], float] = {}
    kinds: Counter[str] = Counter()
    batch = max(1, int(rate / 10))
    applied = 0
    first = True
    while applied < count:
        size = min(batch, count - applied)
        started = time.time()
        body: dict[str, Any] = {"count": size}
        if first:
            body["seed"] = seed
            first = False
        changes = emulator(stack, "POST", "changes", json=body)["changes"]
        moment = (started + time.time()) / 2
        for change in changes:
            kinds[change["kind"]] += 1
            for key in changed_objects(change):
                changed_at[key] = moment
        applied += size
        time.sleep(max(0.0, size / rate - (time.time() - started)))
    return changed_at, kinds


def changed_objects(change: dict[str, Any]) -> list[tuple[str, str]]:
    """The local objects one emulator change should update, as (kind, zuora id)."""
    kind = change["kind"]
    if kind.startswith("contact_") and kind != "contact_delete":
        return [("contact", change["contactId"])]
    if kind in {"account_update", "bill_to_switch", "sold_to_switch"}:
        return [("account", change["accountId"])]
    if kind == "account_create":
        return [("account", change["accountId"])]
    return []


def wait_until_quiet(stack: Stack, *, timeout: float, quiet: float = 3.0) -> None:
    """Wait until no sync is pending, no task waits for a worker (invitations
    included), no reconciliation pass runs, and no callout has arrived for
    `quiet` seconds."""
    from billing.models import CalloutReceipt, PendingSync, SyncState

    deadline = time.monotonic() + timeout
    last_seen, calm_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        stack.supervisor.check_alive()
        receipts = CalloutReceipt.objects.count()
        busy = (
            PendingSync.objects.exclude(state=SyncState.DEAD).exists()
            or tasks_in_hand()
            or pass_running()
        )
        if receipts != last_seen or busy:
            last_seen, calm_since = receipts, time.monotonic()
        elif time.monotonic() - calm_since >= quiet:
            return
        time.sleep(0.2)
    waiting = list(
        PendingSync.objects.exclude(state=SyncState.DEAD).values(
            "kind", "zuora_id", "state", "attempts", "next_attempt_at", "last_error"
        )[:5]
    )
    raise RuntimeError(
        f"the service did not settle within {timeout:.0f}s; tasks by status "
        f"{task_counts()}; still waiting, e.g.: {waiting}"
    )


def pass_running() -> bool:
    """Whether a reconciliation pass (the reconciler's first, full one, say) is under way."""
    from billing.models import PassState, ReconciliationRun

    return any(
        not run.is_stalled() for run in ReconciliationRun.objects.filter(state=PassState.RUNNING)
    )


def tasks_in_hand() -> bool:
    """Whether a task in the database queue is due and not yet taken by a worker.

    (A task a killed worker was running stays RUNNING for good: its sync is
    pending again, which the caller already waits for.)
    """
    from billing.sync.queue import queue_in_database

    if not queue_in_database():
        return False
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.ready().exists()


def task_counts() -> dict[str, int]:
    """Tasks by status, when the queue lives in the database (else empty)."""
    from django.db.models import Count

    from billing.sync.queue import queue_in_database

    if not queue_in_database():
        return {}
    from django_tasks_db.models import DBTaskResult

    return dict(DBTaskResult.objects.values_list("status").annotate(Count("id")))


def local_differences(stack: Stack) -> list[str]:
    """Everything in which the local copy differs from the emulator's state."""
    from billing.sync.compare import account_differences, contact_differences
    from zuora.models import parse_account, parse_contact

    state = emulator(stack, "GET", "state")
    accounts = [parse_account(item) for item in state["accounts"]]
    contacts = [parse_contact(item) for item in state["contacts"]]
    found = account_differences(accounts, complete=True) + contact_differences(
        contacts, complete=True
    )
    return [str(difference) for difference in found]


def measure_latencies(changed_at: dict[tuple[str, str], float]) -> list[float]:
    """Change-to-commit times of the changed objects synced since their last change."""
    from billing.models import BillingAccount, BillingAccountContact

    synced: dict[tuple[str, str], datetime] = {}
    for kind, model in (("account", BillingAccount), ("contact", BillingAccountContact)):
        ids = [zuora_id for (k, zuora_id) in changed_at if k == kind]
        for zuora_id, at in model.objects.filter(zuora_id__in=ids).values_list(
            "zuora_id", "last_synced_at"
        ):
            if at is not None:
                synced[(kind, zuora_id)] = at
    latencies = []
    for key, moment in changed_at.items():
        at = synced.get(key)
        if at is None or at.timestamp() < moment - 1:
            continue  # not synced since the change: its callout was lost
        latencies.append(max(0.0, (at.timestamp() - moment) * 1000))
    return sorted(latencies)


def run(
    stack: Stack,
    *,
    changes: int,
    rate: float,
    seed: int,
    drop: float,
    duplicate: float,
    timeout: float,
) -> Report:
    """The scenario after the stack is up and backfilled; returns what happened."""
    from billing.models import BillingAccount, BillingAccountContact, CalloutReceipt
    from customers.models import Customer

    report = Report()
    emulator(stack, "DELETE", "request-counts")
    clock = time.monotonic()
    changed_at, report.changes = drive_changes(
        stack, count=changes, rate=rate, seed=seed, drop=drop, duplicate=duplicate
    )
    report.seconds["changes"] = time.monotonic() - clock
    wait_until_quiet(stack, timeout=timeout)
    report.seconds["callouts settled"] = time.monotonic() - clock

    # Measured before the reconciliation passes, which touch every row.
    report.latencies_ms = measure_latencies(changed_at)
    healing_before = len(local_differences(stack))
    # What production does every few minutes: an incremental pass, and now
    # and then a full comparison; here both, at once.
    stack.supervisor.run("reconcile", manage("zuora_sync"))
    stack.supervisor.run("reconcile-full", manage("zuora_sync", "--full"))
    wait_until_quiet(stack, timeout=timeout)
    report.seconds["converged"] = time.monotonic() - clock
    report.healed_by_reconciliation = healing_before

    report.differences = local_differences(stack)
    report.accounts = BillingAccount.objects.count()
    report.contacts = BillingAccountContact.objects.count()
    report.callouts_received = CalloutReceipt.objects.count()
    history = emulator(stack, "GET", "callouts")["callouts"]
    outcomes = Counter(entry.get("outcome") for entry in history)
    report.callouts_dropped = outcomes.get("dropped", 0)
    delivered = Counter(
        entry["notificationId"] for entry in history if entry.get("outcome") == "success"
    )
    report.callouts_duplicated = sum(count - 1 for count in delivered.values() if count > 1)
    report.zuora_calls = emulator(stack, "GET", "request-counts")["counts"]
    report.customers_provisioned = Customer.objects.filter(origin="sold_to").count()
    return report
