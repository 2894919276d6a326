"""`make chaos`: a seeded, randomized run against the emulator, with faults everywhere.

Starts the service on a fresh PostgreSQL database (created on the server of
DATABASE_URL, dropped at the end) with several workers and the chosen task
backend; backfills; then changes Zuora while the emulator drops, duplicates,
delays and reorders callouts and answers API calls with 5xx and 429, and a
worker is killed with SIGKILL every few seconds and started again. Then the
faults stop and the healing paths run as in production: callout retries and
the queue drain, the sweeper, an incremental `zuora_sync`, a full comparison,
and a replay of dead syncs if there are any. It checks that the local copy
equals the emulator's state (accounts, contacts, Bill-To/Sold-To references,
Sold-To memberships) and that no log line holds personal data or a secret,
prints a report, and exits non-zero on any difference or leak.
"""

import argparse
import logging
import os
import random
import re
import shutil
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from launcher.databases import DEFAULT_SERVER, scratch_database
from launcher.mail_sink import MailSink
from launcher.personal_data import Leak, PersonalData, find_leaks
from launcher.processes import ROOT, manage
from launcher.stack import Stack, StackConfig, pick_ports

# The service's settings for the run: a killed worker's sync comes back after
# the lease (15 s) instead of 10 minutes; the sweeper looks every 2 s; failing
# syncs retry within seconds, so the run converges in minutes.
CHAOS_ENVIRONMENT = {
    "SYNC_LEASE_SECONDS": "15",
    "SYNC_SWEEP_GRACE_SECONDS": "10",
    "SYNC_RETRY_BASE_SECONDS": "0.5",
    "SYNC_RETRY_MAX_SECONDS": "10",
    "LOG_LEVEL": "INFO",
    # Every line reaches the log files, even from a process that is killed.
    "PYTHONUNBUFFERED": "1",
}
SWEEP_INTERVAL = 2.0
CALLOUT_ATTEMPTS = 3
CALLOUT_INTERVAL = 1.5


@dataclass
class Report:
    backend: str = ""
    changes: Counter[str] = field(default_factory=Counter)
    kills: int = 0
    handed_back: int = 0
    callouts: Counter[str] = field(default_factory=Counter)
    callouts_received: int = 0
    zuora_requests: Counter[str] = field(default_factory=Counter)
    zuora_retries: Counter[str] = field(default_factory=Counter)
    sync_runs: Counter[str] = field(default_factory=Counter)
    dead_after_faults: int = 0
    healing: list[tuple[str, int, float]] = field(default_factory=list)
    accounts: int = 0
    contacts: int = 0
    memberships: int = 0
    emails_sent: int = 0
    differences: list[str] = field(default_factory=list)
    leaks: list[Leak] = field(default_factory=list)
    log_lines: int = 0
    values_watched: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make chaos", description=__doc__)
    parser.add_argument("--changes", type=int, default=10_000, help="Zuora changes to apply")
    parser.add_argument("--accounts", type=int, default=1000, help="accounts seeded in Zuora")
    parser.add_argument("--rate", type=float, default=60.0, help="changes per second")
    parser.add_argument("--workers", type=int, default=3, help="task worker processes")
    parser.add_argument(
        "--backend", choices=["database", "redis"], default="database", help="task backend"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or DEFAULT_SERVER,
        help="a PostgreSQL server (its database name is ignored: the run makes its own)",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--drop", type=float, default=0.2, help="share of callouts dropped")
    parser.add_argument("--duplicate", type=float, default=0.2, help="share duplicated")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds callouts are delayed")
    parser.add_argument("--errors", type=float, default=0.05, help="share of API calls with 5xx")
    parser.add_argument("--throttle", type=float, default=0.05, help="share answered 429")
    parser.add_argument(
        "--kill-every", type=float, default=5.0, help="seconds between worker kills (0: none)"
    )
    parser.add_argument(
        "--reconcile-interval",
        type=float,
        default=60.0,
        help="seconds between the reconciler's incremental passes during the run",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to settle, per step")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    if not arguments.database_url.startswith(("postgres://", "postgresql://")):
        print("make chaos: needs a PostgreSQL server (--database-url)", file=sys.stderr)
        return 2
    run_name = f"zuora_chaos_{os.getpid()}"
    var_dir = ROOT / "var" / "chaos" / f"{arguments.backend}-{os.getpid()}"
    shutil.rmtree(var_dir, ignore_errors=True)
    var_dir.mkdir(parents=True)
    started = time.monotonic()
    with (
        scratch_database(arguments.database_url, run_name) as database_url,
        MailSink() as mail,
    ):
        config = pick_ports(
            StackConfig(
                var_dir=var_dir,
                database_url=database_url,
                emulator_accounts=arguments.accounts,
                workers=arguments.workers,
                seed=arguments.seed,
                worker_interval=0.1,
                sweep_interval=SWEEP_INTERVAL,
                static_files=False,
                reconcile_interval=arguments.reconcile_interval,
                tasks_backend=arguments.backend,
                redis_url=arguments.redis_url if arguments.backend == "redis" else "",
                redis_key_prefix=run_name,
                callout_attempts=CALLOUT_ATTEMPTS,
                callout_interval=CALLOUT_INTERVAL,
                extra_environment={
                    **CHAOS_ENVIRONMENT,
                    "EMAIL_HOST": "127.0.0.1",
                    "EMAIL_PORT": str(mail.port),
                    "EMAIL_USE_TLS": "0",
                },
            )
        )
        stack = Stack(config)
        setup_django(stack)
        try:
            report, personal = run(stack, arguments)
        except RuntimeError as error:
            print(f"make chaos: {error}", file=sys.stderr)
            print(f"make chaos: logs in {var_dir / 'logs'}", file=sys.stderr)
            return 1
        finally:
            stack.stop()
            close_django()
            if arguments.backend == "redis":
                forget_redis_keys(arguments.redis_url, prefix=run_name)
        report.emails_sent = mail.messages
    report.leaks, report.log_lines = check_logs(stack, personal)
    report.handed_back = syncs_handed_back(stack)
    print_report(report, total=time.monotonic() - started, log_dir=var_dir / "logs")
    return 0 if not report.differences and not report.leaks else 1


def setup_django(stack: Stack) -> None:
    """Read the run's database from this process, logging to the run's log folder."""
    os.environ.update(
        {k: v for k, v in stack.environment().items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    root = logging.getLogger()
    stack.supervisor.log_dir.mkdir(parents=True, exist_ok=True)
    log_file = logging.FileHandler(stack.supervisor.log_dir / "launcher.log")
    if root.handlers:
        log_file.setFormatter(root.handlers[0].formatter)
    root.addHandler(log_file)


def close_django() -> None:
    from django.db import connections

    connections.close_all()


def emulator(stack: Stack, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(
        method, f"{stack.config.emulator_url}/_emulator/{path}", timeout=120, **kwargs
    )
    response.raise_for_status()
    return response.json()


def run(stack: Stack, arguments: argparse.Namespace) -> tuple[Report, PersonalData]:
    """Start, break, heal, check; returns what happened and the values logs must not hold."""
    report = Report(backend=arguments.backend)
    personal = PersonalData()
    personal.add_secret("Zuora client secret", stack.config.zuora_client_secret)
    personal.add_secret("callout password", stack.config.callout_password)

    clock = time.monotonic()
    print(
        f"Starting the emulator ({arguments.accounts} accounts), web server, "
        f"{arguments.workers} workers ({arguments.backend} task backend), sweeper, reconciler; "
        "backfilling…",
        flush=True,
    )
    stack.start()
    report.seconds["start and backfill"] = time.monotonic() - clock
    personal.add_state(emulator(stack, "GET", "state"))

    print(f"Driving {arguments.changes} changes with faults…", flush=True)
    clock = time.monotonic()
    emulator(stack, "PUT", "faults", json=faults(arguments))
    drive(stack, arguments, report, personal)
    report.seconds["changes under faults"] = time.monotonic() - clock

    print("Faults off; healing…", flush=True)
    emulator(stack, "PUT", "faults", json={})
    final_state = heal(stack, arguments, report)
    personal.add_state(final_state)
    report.values_watched = len(personal.values)
    collect_figures(stack, report)
    return report, personal


def faults(arguments: argparse.Namespace) -> dict[str, Any]:
    return {
        "seed": arguments.seed,
        "callout_drop_probability": arguments.drop,
        "callout_duplicate_probability": arguments.duplicate,
        "callout_reorder": True,
        "callout_reorder_window": 0.3,
        "callout_delay": arguments.delay,
        "error_probability": arguments.errors,
        "error_statuses": [500, 502, 503],
        "rate_limit_probability": arguments.throttle,
        "retry_after": 1,
    }


def drive(
    stack: Stack, arguments: argparse.Namespace, report: Report, personal: PersonalData
) -> None:
    """Apply the changes at about `rate` a second, killing a worker every few seconds."""
    chooser = random.Random(f"kills-{arguments.seed}")  # noqa: S311 (a seeded choice)
    batch = max(1, int(arguments.rate / 10))
    applied, first = 0, True
    now = time.monotonic()
    next_kill = now + arguments.kill_every if arguments.kill_every > 0 else float("inf")
    next_dump = now + 10
    while applied < arguments.changes:
        size = min(batch, arguments.changes - applied)
        started = time.monotonic()
        body: dict[str, Any] = {"count": size}
        if first:
            body["seed"], first = arguments.seed, False
        for change in emulator(stack, "POST", "changes", json=body)["changes"]:
            report.changes[change["kind"]] += 1
            for name, value in (change.get("changes") or {}).items():
                personal.add(name, value)
        applied += size
        now = time.monotonic()
        if now >= next_kill:
            victim = chooser.choice(stack.worker_names)
            stack.supervisor.kill(victim)
            stack.restart_worker(victim)
            report.kills += 1
            next_kill = now + arguments.kill_every
        if now >= next_dump:
            # Contacts created and changed during the run: their values too.
            personal.add_state(emulator(stack, "GET", "state"))
            next_dump = now + 10
        stack.supervisor.check_alive()
        time.sleep(max(0.0, size / arguments.rate - (time.monotonic() - started)))


def differences(stack: Stack) -> tuple[list[str], dict[str, Any]]:
    from launcher.convergence import local_differences

    state = emulator(stack, "GET", "state")
    return local_differences(state), state


def wait_until_quiet(stack: Stack, *, timeout: float, quiet: float) -> None:
    """Until no sync is pending or running and no callout arrived for `quiet` seconds."""
    from launcher.scenario import wait_until_quiet as settle

    settle(stack, timeout=timeout, quiet=quiet)


def heal(stack: Stack, arguments: argparse.Namespace, report: Report) -> dict[str, Any]:
    """The production healing paths, one after the other, counting what each repaired."""
    from billing.models import PendingSync, SyncState

    # Long enough for Zuora's last retries of callouts that failed under the faults.
    callout_quiet = CALLOUT_ATTEMPTS * CALLOUT_INTERVAL + arguments.delay + 2
    clock = time.monotonic()

    def step(name: str, *, quiet: float = 3.0) -> dict[str, Any]:
        wait_until_quiet(stack, timeout=arguments.timeout, quiet=quiet)
        found, state = differences(stack)
        report.healing.append((name, len(found), time.monotonic() - clock))
        report.differences = found
        return state

    state = step("callouts, retries and workers", quiet=callout_quiet)
    report.dead_after_faults = PendingSync.objects.filter(state=SyncState.DEAD).count()
    # The reconciler's own schedule is replaced by the passes below, run at once.
    stack.supervisor.kill("reconciler", signal.SIGTERM)
    stack.supervisor.run("heal-sweeper", manage("sync_sweeper"))
    state = step("sync_sweeper")
    stack.supervisor.run("heal-incremental", manage("zuora_sync"))
    state = step("zuora_sync (incremental)")
    stack.supervisor.run("heal-full", manage("zuora_sync", "--full"))
    state = step("zuora_sync --full")
    if PendingSync.objects.filter(state=SyncState.DEAD).exists():
        stack.supervisor.run(
            "heal-replay",
            manage("replay", "--dead", "--reason", "chaos run: dead while Zuora was failing"),
        )
        state = step("replay --dead")
    report.seconds["faults off to converged"] = time.monotonic() - clock
    return state


def collect_figures(stack: Stack, report: Report) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from billing.models import (
        BillingAccount,
        BillingAccountContact,
        BillingAccountMembership,
        CalloutReceipt,
    )

    report.accounts = BillingAccount.objects.count()
    report.contacts = BillingAccountContact.objects.count()
    report.memberships = BillingAccountMembership.objects.count()
    report.callouts_received = CalloutReceipt.objects.count()
    report.callouts = callout_fates(emulator(stack, "GET", "callouts")["callouts"])
    metrics = httpx.get(f"{stack.config.web_url}/metrics", timeout=30).text
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == "zuora_client_requests_total":
                report.zuora_requests[sample.labels["outcome"]] += int(sample.value)
            elif sample.name == "zuora_client_retries_total":
                report.zuora_retries[sample.labels["error"]] += int(sample.value)
            elif sample.name == "zuora_sync_sync_duration_seconds_count":
                report.sync_runs[sample.labels["outcome"]] += int(sample.value)


def callout_fates(history: list[dict[str, Any]]) -> Counter[str]:
    """What became of each notification: delivered (at once or after retries), dropped, failed."""
    attempts: dict[str, list[dict[str, Any]]] = {}
    for entry in history:
        attempts.setdefault(entry["notificationId"], []).append(entry)
    fates: Counter[str] = Counter()
    for entries in attempts.values():
        outcomes = Counter(entry["outcome"] for entry in entries)
        if outcomes["success"]:
            retried = max(int(entry.get("attemptedNum") or 1) for entry in entries) > 1
            fates["delivered after a retry" if retried else "delivered"] += 1
            if outcomes["success"] > 1:
                fates["duplicated"] += 1
        elif outcomes["dropped"]:
            fates["dropped"] += 1
        else:
            fates["failed every attempt"] += 1
    return fates


def check_logs(stack: Stack, personal: PersonalData) -> tuple[list[Leak], int]:
    """Search every log of the service and the launcher; the emulator's is Zuora's side."""
    paths = [
        path for path in sorted(stack.supervisor.log_dir.glob("*.log")) if path.stem != "emulator"
    ]
    lines = sum(len(path.read_bytes().splitlines()) for path in paths)
    return find_leaks(paths, personal), lines


def syncs_handed_back(stack: Stack) -> int:
    """Claimed syncs whose worker died, handed back by the sweeper when their lease ran out."""
    sweeps = re.compile(r"sweep: (\d+) released from dead workers")
    return sum(
        int(match.group(1))
        for path in stack.supervisor.log_dir.glob("*sweeper.log")
        for match in sweeps.finditer(path.read_text(errors="replace"))
    )


def forget_redis_keys(url: str, *, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter(f"{prefix}*", count=1000):
        client.delete(key)


def print_report(report: Report, *, total: float, log_dir: Any) -> None:
    def listing(counts: Counter[str]) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"

    print()
    print(f"Chaos report ({report.backend} task backend)")
    print(f"  changes applied in Zuora   {report.changes.total()} ({listing(report.changes)})")
    print(
        f"  workers killed (SIGKILL)   {report.kills}; {report.handed_back} claimed syncs "
        "handed back by the sweeper"
    )
    print(f"  callouts by fate           {listing(report.callouts)}")
    print(f"  callouts recorded          {report.callouts_received}")
    print(f"  Zuora API answers          {listing(report.zuora_requests)}")
    print(f"  Zuora client retries       {listing(report.zuora_retries)}")
    print(f"  sync runs by outcome       {listing(report.sync_runs)}")
    print(f"  dead syncs after faults    {report.dead_after_faults}")
    print("  healing, after the faults stopped:")
    previous = None
    for name, left, seconds in report.healing:
        fixed = "" if previous is None else f", {previous - left} repaired"
        print(f"    {name:<32} {left} differences left{fixed} (at {seconds:.1f}s)")
        previous = left
    print(
        f"  local copy                 {report.accounts} accounts, {report.contacts} contacts, "
        f"{report.memberships} memberships; {report.emails_sent} invitations sent"
    )
    print(
        f"  logs checked               {report.log_lines} lines against "
        f"{report.values_watched} personal values and secrets (emulator's own log excluded)"
    )
    print(
        "  timings                    "
        + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in report.seconds.items())
    )
    print(f"  total                      {total:.1f}s; logs in {log_dir}")
    if report.differences:
        print(f"FAILED: the local copy differs from Zuora in {len(report.differences)} places:")
        for difference in report.differences[:20]:
            print(f"  {difference}")
    if report.leaks:
        print(f"FAILED: {len(report.leaks)} log lines hold personal data or a secret:")
        for leak in report.leaks[:20]:
            print(f"  {leak}")
    if not report.differences and not report.leaks:
        print(
            "OK: the local copy equals Zuora's state (accounts, contacts, Bill-To/Sold-To, "
            "Sold-To memberships) and no log line holds personal data or a secret."
        )


if __name__ == "__main__":
    sys.exit(main())
