"""`make demo`: the whole mechanism end to end on this machine, in a few minutes.

Starts the emulator (seeded with hundreds of accounts), the web server, a
worker, the sweeper and the reconciler on SQLite; backfills; drives live
changes with callouts dropped, duplicated and reordered; waits for the local
copy to converge; prints a report and checks the copy equals the emulator's
state. Exits non-zero if it does not. Stops everything it started.
"""

import argparse
import os
import shutil
import sys
import time

from launcher.processes import ROOT
from launcher.stack import Stack, StackConfig, pick_ports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--accounts", type=int, default=300, help="accounts seeded in Zuora")
    parser.add_argument("--changes", type=int, default=300, help="live changes to apply")
    parser.add_argument("--rate", type=float, default=30.0, help="changes per second")
    parser.add_argument("--drop", type=float, default=0.05, help="share of callouts dropped")
    parser.add_argument("--duplicate", type=float, default=0.3, help="share duplicated")
    parser.add_argument("--workers", type=int, default=2, help="task worker processes")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to converge")
    arguments = parser.parse_args(argv)

    var_dir = ROOT / "var" / "demo"
    shutil.rmtree(var_dir, ignore_errors=True)
    var_dir.mkdir(parents=True)
    config = pick_ports(
        StackConfig(
            var_dir=var_dir,
            database_url=f"sqlite:///{var_dir / 'db.sqlite3'}",
            emulator_accounts=arguments.accounts,
            workers=arguments.workers,
            seed=arguments.seed,
            worker_interval=0.1,
            reconcile_interval=3600,
            extra_environment={"LOG_LEVEL": "WARNING"},
        )
    )
    stack = Stack(config)
    # This process reads the same database to check the result.
    os.environ.update(
        {k: v for k, v in stack.environment().items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from launcher import scenario

    started = time.monotonic()
    try:
        print(
            f"Starting the emulator ({arguments.accounts} accounts), web server, "
            f"{arguments.workers} workers, sweeper; backfilling…",
            flush=True,
        )
        stack.start()
        print(
            f"Up in {time.monotonic() - started:.1f}s at {config.web_url}. "
            f"Driving {arguments.changes} changes…",
            flush=True,
        )
        report = scenario.run(
            stack,
            changes=arguments.changes,
            rate=arguments.rate,
            seed=arguments.seed,
            drop=arguments.drop,
            duplicate=arguments.duplicate,
            timeout=arguments.timeout,
        )
    except RuntimeError as error:
        print(f"make demo: {error}", file=sys.stderr)
        return 1
    finally:
        stack.stop()
    print_report(report, total=time.monotonic() - started)
    return 0 if not report.differences else 1


def print_report(report: "scenario.Report", *, total: float) -> None:  # noqa: F821
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f} ms"

    calls = report.zuora_calls
    print()
    print("Demo report")
    print(
        f"  changes applied in Zuora   {sum(report.changes.values())} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(report.changes.items()))})"
    )
    print(
        f"  callouts received          {report.callouts_received} "
        f"(emulator dropped {report.callouts_dropped}, duplicated {report.callouts_duplicated})"
    )
    print(
        f"  Zuora API calls            {sum(calls.values())} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(calls.items()))})"
    )
    print(f"  local copy                 {report.accounts} accounts, {report.contacts} contacts")
    print(f"  customers provisioned      {report.customers_provisioned}")
    print(
        f"  change → local commit      p50 {ms(report.percentile(0.50))}, "
        f"p95 {ms(report.percentile(0.95))}, p99 {ms(report.percentile(0.99))} "
        f"over {len(report.latencies_ms)} objects updated by callout"
    )
    print(
        f"  repaired by reconciliation {report.healed_by_reconciliation} differences "
        "left by lost callouts"
    )
    print(
        "  timings                    "
        + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in report.seconds.items())
    )
    print(f"  total                      {total:.1f}s")
    if report.differences:
        print(f"FAILED: the local copy differs from Zuora in {len(report.differences)} places:")
        for difference in report.differences[:20]:
            print(f"  {difference}")
    else:
        print(
            "OK: the local copy equals Zuora's state (every account, contact, Bill-To and Sold-To)."
        )


if __name__ == "__main__":
    sys.exit(main())
