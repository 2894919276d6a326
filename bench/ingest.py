"""Ingest: durable callouts per second at saturation, beside the database's own rate
for the same work (pgbench) and the server's cheapest route; latency at a fixed rate."""

import base64
import random
import time
from urllib.parse import urlsplit

from bench import database, openload, tools
from bench.report import Figure, Report, percentile
from bench.sizes import Sizes
from launcher.stack import Stack

CALLOUT_PATH = "/api/v1/zuora/callouts/sync_account"
RECEIPTS = "billing_calloutreceipt"
# One in ten callouts is for one of these, so that some coalesce (as in callouts.lua).
HOT_IDS = [f"{random.Random(n).getrandbits(128):032x}" for n in range(50)]  # noqa: S311


def saturation(
    report: Report, sizes: Sizes, stack: Stack, database_url: str, *, prefix: str = "ingest"
) -> None:
    """(a) pgbench with one client per web process, (b) /healthz, then the callouts."""
    config = stack.config
    processes = config.web_workers
    # pgbench first: under load the web processes hold many of the server's connections.
    reference = None
    if sizes.db == "postgres":
        reference = tools.pgbench(
            database.postgres_conninfo(database_url),
            script="callout.pgbench",
            clients=processes,
            seconds=sizes.seconds,
        ).tps
        report.add(
            Figure(
                f"{prefix}.database_per_second",
                f"{_label(prefix, processes)}: pgbench receipt + upsert, {processes} clients (a)",
                "tx/s",
                reference,
            )
        )
    else:
        report.add(
            Figure(
                f"{prefix}.database_per_second",
                f"{_label(prefix, processes)}: database's own rate (a)",
                "tx/s",
                not_applicable="pgbench needs PostgreSQL",
            )
        )
    healthz = tools.wrk(
        f"{config.web_url}/healthz", seconds=sizes.seconds, connections=sizes.connections
    )
    report.add(
        Figure(
            f"{prefix}.healthz_per_second",
            f"{_label(prefix, processes)}: /healthz at saturation (b)",
            "req/s",
            healthz.requests_per_second,
            details={"non_2xx": healthz.non_2xx, "socket_errors": healthz.socket_errors},
        )
    )

    credentials = f"{config.callout_username}:{config.callout_password}"
    authorization = "Basic " + base64.b64encode(credentials.encode()).decode()
    before = database.table_rows(RECEIPTS)
    callouts = tools.wrk(
        f"{config.web_url}{CALLOUT_PATH}",
        seconds=sizes.seconds,
        connections=sizes.connections,
        script="callouts.lua",
        script_args=[authorization],
    )
    time.sleep(0.5)  # requests in flight when wrk stopped still commit
    durable = (database.table_rows(RECEIPTS) - before) / callouts.seconds

    ratio = durable / reference if reference else None
    report.add(
        Figure(
            f"{prefix}.callouts_per_second",
            f"{_label(prefix, processes)}: durable callouts at saturation",
            "rows/s",
            durable,
            reference=f"(a) {reference:,.0f}/s" if reference else "",
            ratio=ratio,
            goal="≥ 0.80 x (a)",
            passed=None if ratio is None else ratio >= 0.8,
            details={
                "http_requests_per_second": callouts.requests_per_second,
                "non_2xx": callouts.non_2xx,
                "socket_errors": callouts.socket_errors,
                "wrk_p50_ms": callouts.latency_p50_ms,
                "wrk_p99_ms": callouts.latency_p99_ms,
                "share_of_healthz": durable / healthz.requests_per_second,
            },
        )
    )


def fixed_rate(report: Report, sizes: Sizes, stack: Stack, database_url: str) -> None:
    """p50/p99 of callouts offered at `sizes.rate` per second, open model, beside
    the database's own p99 for the same work at the same rate (PostgreSQL)."""
    config = stack.config
    reference = _database_at_rate(report, sizes, stack, database_url)
    address = urlsplit(config.web_url)
    rng = random.Random(500)  # noqa: S311 (test ids, not secrets)
    count = max(1, round(sizes.rate * sizes.seconds))
    schedule = [
        (
            index / sizes.rate,
            openload.callout_request(
                host=address.netloc,
                path=CALLOUT_PATH,
                username=config.callout_username,
                password=config.callout_password,
                account_id=_account_id(rng),
                request_id=f"{rng.getrandbits(128):032x}",
            ),
        )
        for index in range(count)
    ]
    before = database.table_rows(RECEIPTS)
    result = openload.run(address.hostname or "127.0.0.1", address.port or 80, schedule)
    recorded = database.table_rows(RECEIPTS) - before
    details = {
        "offered": count,
        "answered_200": result.ok,
        "failed": result.failed,
        "rows_recorded": recorded,
        "statuses": result.statuses,
        "connections_opened": result.connections_opened,
        "generator_send_lag_p99_ms": result.send_lag_p99_ms,
    }
    p50 = percentile(result.latencies_ms, 0.50)
    p99 = percentile(result.latencies_ms, 0.99)
    label = f"ingest: latency at {sizes.rate:.0f} callouts/s (open model)"
    report.add(Figure("ingest.latency_p50_ms", f"{label}, p50", "ms", p50, details=details))
    report.add(
        Figure(
            "ingest.latency_p99_ms",
            f"{label}, p99",
            "ms",
            p99,
            reference="" if reference is None else f"database p99 {reference:.1f} ms",
            goal="≤ 20 ms",
            passed=None if p99 is None else p99 <= 20 and result.failed == 0,
        )
    )


def _database_at_rate(
    report: Report, sizes: Sizes, stack: Stack, database_url: str
) -> float | None:
    """The p99 of pgbench's receipt + upsert offered at the same rate, open model,
    with as many clients as the web processes have database connections: what
    the database alone gives, stalls included (a flush of the write-ahead log
    that takes 100 ms on a busy day stalls every commit behind it). Run just
    before the callouts, so both see much the same machine."""
    key = "ingest.database_latency_p99_ms"
    label = f"ingest: pgbench receipt + upsert at {sizes.rate:.0f} tx/s (open model), p99"
    if sizes.db != "postgres":
        report.add(Figure(key, label, "ms", not_applicable="pgbench needs PostgreSQL"))
        return None
    clients = stack.web_connections()
    result = tools.pgbench_at_rate(
        database.postgres_conninfo(database_url),
        script="callout.pgbench",
        clients=clients,
        rate=sizes.rate,
        seconds=sizes.seconds,
    )
    p99 = percentile(result.latencies_ms, 0.99)
    details = {
        "clients": clients,
        "transactions": len(result.latencies_ms),
        "failed": result.failed,
        "p50_ms": percentile(result.latencies_ms, 0.50),
        "max_ms": max(result.latencies_ms, default=None),
    }
    report.add(Figure(key, label, "ms", p99, details=details))
    return p99


def _account_id(rng: random.Random) -> str:
    return rng.choice(HOT_IDS) if rng.random() < 0.1 else f"{rng.getrandbits(128):032x}"


def _label(prefix: str, processes: int) -> str:
    return f"{prefix.replace('.', ' ')} [{processes} web]"
