"""Freshness: from a change applied in the emulator to the local commit reflecting it.

The emulator delivers its callouts to the web server; workers fetch with the
emulator's API latency set. A commit reflects a change when its sync run
claimed the object after the change (its fetch came after the claim, so it saw
the change): the time of a change is taken just before it is applied, the
claim from the sync task's result (`claimed_at`; a task can start while its
object's burst still settles and claim later), the commit from the task's
`finished_at`. Runs that claimed nothing (a coalesced duplicate task) fetched
nothing and reflect nothing; nor do runs that committed nothing (one that a
follow-up run overtook, or a failed attempt). A change made while its
object's sync was running (between claim and the run's end) is an overlap;
once its callout is recorded, another run must follow, or the coalescing
swallowed it. A change
whose callout never arrived (the emulator gave up delivering it) is counted
apart.
"""

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from bench import database
from bench.report import Figure, Report, percentile
from bench.services import emulator, process_memory_kib
from bench.sizes import Sizes
from launcher.scenario import wait_until_quiet
from launcher.stack import Stack

if TYPE_CHECKING:  # Django is set up only once the benchmark has started
    from django.db.models import QuerySet
    from django_tasks_db.models import DBTaskResult

TICK = 0.02  # seconds between batches of changes
KINDS = ("account", "contact")
WARM_UP_SECONDS = 1.0
STATS_SETTLE_SECONDS = 11.0
STAGES = (
    "change_to_callout",
    "callout_to_task_enqueued",
    "task_enqueued_to_claimed",
    "claimed_to_committed",
)


def drive_changes(
    stack: Stack, *, rate: float, seconds: float, seed: int = 2026
) -> list[tuple[float, str, str]]:
    """Apply random changes at `rate` per second; returns (time, kind, zuora id) per change."""
    applied: list[tuple[float, str, str]] = []
    emulator(stack, "POST", "changes", json={"count": 0, "seed": seed})
    started, sent = time.time(), 0
    while (now := time.time()) - started < seconds:
        # As many as the schedule owes by now, so a slow answer does not lower the rate.
        count = int(rate * (now - started)) - sent
        if count > 0:
            sent += count
            for change in emulator(stack, "POST", "changes", json={"count": count})["changes"]:
                target = _synced_object(change)
                if target is not None:
                    applied.append((now, *target))
        time.sleep(max(0.0, TICK - (time.time() - now)))
    return applied


def _synced_object(change: dict[str, Any]) -> tuple[str, str] | None:
    """The local object whose sync makes the copy reflect this change."""
    if change["kind"].startswith("contact_"):
        return "contact", change["contactId"]
    return "account", change["accountId"]


class Run(NamedTuple):
    """One sync run that claimed its object; times in epoch seconds."""

    enqueued: float
    claimed: float
    finished: float
    committed: bool = True  # False: overtaken by a follow-up run, or failed


def sync_runs(since: float) -> dict[tuple[str, str], list[Run]]:
    """Finished sync runs that claimed their object, per object since `since`,
    in the order they claimed it. An account's run that completed contacts'
    syncs (their callouts came before its fetch, which brought them as
    Bill-To or Sold-To) is also a run of each of those contacts."""
    from billing.sync.runner import COMMITTED

    runs: dict[tuple[str, str], list[Run]] = defaultdict(list)
    rows = _finished_syncs(since).values_list(
        "args_kwargs", "enqueued_at", "return_value", "finished_at"
    )
    for arguments, enqueued, result, finished in rows.iterator():
        args = arguments.get("args") or []
        claimed = result.get("claimed_at") if isinstance(result, dict) else None
        if len(args) >= 2 and claimed:
            run = Run(
                enqueued.timestamp(),
                datetime.fromisoformat(claimed).timestamp(),
                finished.timestamp(),
                result.get("outcome") in COMMITTED,
            )
            runs[(args[0], args[1])].append(run)
            for contact_id in result.get("covered") or []:
                runs[("contact", contact_id)].append(run)
    for item in runs.values():
        item.sort(key=lambda run: run.claimed)
    return runs


def thread_seconds(since: float) -> dict[str, float]:
    """How the workers' threads spent the sync tasks enqueued since `since`, in seconds:
    waiting for a settling object (task start to claim), and syncing (claim to
    finish, or the whole task when it claimed nothing)."""
    spent = {"settling": 0.0, "syncing": 0.0}
    rows = (
        _finished_syncs(since)
        .filter(started_at__isnull=False)
        .values_list("started_at", "return_value", "finished_at")
    )
    for started, result, finished in rows.iterator():
        claimed = result.get("claimed_at") if isinstance(result, dict) else None
        at = datetime.fromisoformat(claimed).timestamp() if claimed else started.timestamp()
        spent["settling"] += max(0.0, at - started.timestamp())
        spent["syncing"] += finished.timestamp() - at
    return spent


def _finished_syncs(since: float) -> "QuerySet[DBTaskResult]":
    """The sync tasks enqueued since `since` that have finished."""
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        task_path__endswith=".sync_object",
        finished_at__isnull=False,
        enqueued_at__gte=_aware(since),
    )


def callouts_received(since: float) -> dict[tuple[str, str], list[float]]:
    """When callouts for each object were recorded since `since`, epoch seconds."""
    from billing.models import CalloutReceipt

    received: dict[tuple[str, str], list[float]] = defaultdict(list)
    rows = CalloutReceipt.objects.filter(received_at__gte=_aware(since)).values_list(
        "kind", "zuora_id", "received_at"
    )
    for kind, zuora_id, at in rows.iterator():
        received[(kind, zuora_id)].append(at.timestamp())
    return received


def _aware(epoch: float) -> datetime:
    from datetime import UTC

    return datetime.fromtimestamp(epoch, UTC)


@dataclass
class Outcomes:
    """What became of each change: its latency, and how it relates to its object's runs."""

    latencies: list[float] = field(default_factory=list)  # ms, every reflected change
    apart_from_overlaps: list[float] = field(default_factory=list)
    overlapping: list[float] = field(default_factory=list)  # the overlaps' latencies
    unreflected: int = 0
    undelivered: int = 0
    overlaps: int = 0
    swallowed: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)  # swallowed changes
    stages: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in STAGES})


def outcomes(
    changes: list[tuple[float, str, str]],
    runs: dict[tuple[str, str], list[Run]],
    received: dict[tuple[str, str], list[float]],
) -> Outcomes:
    """Match each change (time, kind, id) with the runs of its object and its callouts."""
    seen = Outcomes()
    for moment, kind, zuora_id in changes:
        object_runs = runs.get((kind, zuora_id), [])
        after = [run for run in object_runs if run.committed and run.claimed >= moment]
        # Without a callout after the change there is nothing to coalesce: the
        # emulator could not deliver it (the reconciler heals that later).
        arrivals = received.get((kind, zuora_id), [])
        callout = min((at for at in arrivals if at >= moment), default=None)
        overlap = any(run.claimed < moment < run.finished for run in object_runs)
        if overlap:
            seen.overlaps += 1
            if callout is not None and not after:
                seen.swallowed += 1
                # What happened to the object around the change, in ms from it.
                seen.examples.append(
                    {
                        "object": kind,
                        "callouts_ms": [round((at - moment) * 1000) for at in arrivals],
                        "runs_ms": [
                            [round((at - moment) * 1000) for at in run[:3]]  # its times
                            for run in object_runs
                        ],
                    }
                )
        if after:
            enqueued, start, finish, _ = after[0]
            latency = (finish - moment) * 1000
            seen.latencies.append(latency)
            (seen.overlapping if overlap else seen.apart_from_overlaps).append(latency)
            # Where the time goes: change → callout recorded → task enqueued →
            # object claimed → committed, for changes reflected by a task
            # enqueued after their callout.
            if callout is not None and enqueued >= callout:
                for name, (begin, end) in zip(
                    STAGES,
                    ((moment, callout), (callout, enqueued), (enqueued, start), (start, finish)),
                    strict=True,
                ):
                    seen.stages[name].append((end - begin) * 1000)
        elif callout is not None:
            seen.unreflected += 1
        else:
            seen.undelivered += 1
    return seen


def measure(
    report: Report, sizes: Sizes, stack: Stack, *, prefix: str = "freshness", idle: bool = True
) -> None:
    workers = stack.config.workers
    emulator(stack, "PATCH", "faults", json={"latency": sizes.api_latency_ms / 1000})
    # Measure a running service, not its start: the workers have booted
    # (Django takes a second or two), hold a token and open connections.
    drive_changes(stack, rate=sizes.change_rate, seconds=WARM_UP_SECONDS, seed=1)
    wait_until_quiet(stack, timeout=120)
    started = time.time() - 1
    emulator(stack, "DELETE", "request-counts")
    changes = drive_changes(stack, rate=sizes.change_rate, seconds=sizes.freshness_seconds)
    # A backlog drains at two syncs a second at the very least.
    wait_until_quiet(stack, timeout=120 + len(changes) / 2)
    calls = emulator(stack, "GET", "request-counts")["counts"]
    fetches = {kind: calls.get(f"GET /object-query/{kind}s/{{key}}", 0) for kind in KINDS}
    runs = sync_runs(started)
    threads = thread_seconds(started)

    seen = outcomes(changes, runs, callouts_received(started))
    latencies = seen.latencies
    p50, p95, p99 = (percentile(latencies, share) for share in (0.50, 0.95, 0.99))
    label = f"{prefix.replace('.', ' ')} [{workers} workers]"
    goal_ms = sizes.api_latency_ms + 100
    details = {
        "changes": len(changes),
        "reflected": len(latencies),
        "not_reflected": seen.unreflected,
        "callout_not_delivered": seen.undelivered,
        "overlapping_a_running_sync": seen.overlaps,
        # An overlap waits for the running sync to end, then for a fetch of
        # its own: the p99 apart from them, and their own spread.
        "p99_ms_without_overlaps": percentile(seen.apart_from_overlaps, 0.99),
        "overlaps_reflected_ms": {
            "min": min(seen.overlapping, default=None),
            "p50": percentile(seen.overlapping, 0.5),
        },
        "api_latency_ms": sizes.api_latency_ms,
        "change_rate": sizes.change_rate,
        "sync_runs": sum(len(item) for item in runs.values()),
        # Runs overtaken by a callout's follow-up run (or failed): no commit.
        "runs_not_committed": sum(not run.committed for item in runs.values() for run in item),
        # Zuora's single-object fetches while the changes were applied and synced.
        "zuora_fetches": fetches,
        "zuora_fetches_per_change": sum(fetches.values()) / max(1, len(changes)),
        "worker_thread_seconds": threads,
        "stages_ms": {
            name: {
                f"p{round(share * 100)}": percentile(values, share) for share in (0.5, 0.95, 0.99)
            }
            for name, values in seen.stages.items()
        },
    }
    report.add(Figure(f"{prefix}.p50_ms", f"{label}: change → commit p50", "ms", p50))
    report.add(Figure(f"{prefix}.p95_ms", f"{label}: change → commit p95", "ms", p95))
    report.add(
        Figure(
            f"{prefix}.p99_ms",
            f"{label}: change → commit p99",
            "ms",
            p99,
            reference=f"API latency {sizes.api_latency_ms:.0f} ms",
            goal=f"≤ {goal_ms:.0f} ms",
            passed=None if p99 is None else p99 <= goal_ms,
            details=details,
        )
    )
    report.add(
        Figure(
            f"{prefix}.swallowed",
            f"{label}: callouts during a running sync with no later run",
            "changes",
            seen.swallowed,
            reference=f"{seen.overlaps} overlaps",
            goal="0",
            passed=seen.swallowed == 0 and seen.unreflected == 0,
            details={"swallowed": seen.examples[:10]},
        )
    )
    peaks = {
        name: process_memory_kib(process.pid)
        for name, process in stack.supervisor.processes.items()
        if name.startswith("worker")
    }
    report.add(
        Figure(
            f"{prefix}.worker_memory_mib",
            f"{label}: worker peak memory, all workers",
            "MiB",
            sum(item["peak"] for item in peaks.values()) / 1024,
            details={name: {k: v / 1024 for k, v in item.items()} for name, item in peaks.items()},
        )
    )
    if idle:
        idle_queries(report, sizes, stack, prefix=prefix)


def idle_queries(report: Report, sizes: Sizes, stack: Stack, *, prefix: str) -> None:
    """Database transactions per second per worker while nothing happens."""
    workers = stack.config.workers
    label = f"{prefix.replace('.', ' ')} [{workers} workers]: idle database transactions"
    before = database.transactions()
    if before is None:
        report.add(
            Figure(
                f"{prefix}.idle_transactions_per_worker",
                label,
                "tx/s",
                not_applicable="pg_stat_database needs PostgreSQL",
            )
        )
        return
    # PostgreSQL publishes a backend's counts at most once a second, and one
    # that went idle within a second of its last report holds the rest back
    # for PGSTAT_IDLE_INTERVAL (10 s): the busy period's last transactions
    # would otherwise land in the idle window.
    time.sleep(STATS_SETTLE_SECONDS)
    start, first = time.monotonic(), database.transactions() or 0
    time.sleep(sizes.idle_seconds)
    last, seconds = database.transactions() or 0, time.monotonic() - start
    # Our own two reads are in the count; the sweeper's and the reconciler's
    # idle checks too, charged to the workers.
    rate = max(0, last - first - 2) / seconds
    report.add(
        Figure(
            f"{prefix}.idle_transactions_per_worker",
            f"{label} per worker",
            "tx/s",
            rate / max(1, workers),
            goal="≤ 20/s",
            passed=rate / max(1, workers) <= 20,
            details={"total_per_second": rate, "seconds": seconds},
        )
    )
