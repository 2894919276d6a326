# ruff: noqa: T201 (a command-line report)
"""`make bench`: every section in turn, one table on stdout, JSON under var/bench/.

Exits 1 when a figure is missing (a section failed), never because a figure
misses its goal: timings on a shared machine are not pass/fail material.
"""

import dataclasses
import os
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import database, economy, freshness, importing, ingest, instructions, sync_path
from bench.report import Report
from bench.services import start
from bench.sizes import Sizes
from launcher.processes import ROOT
from launcher.stack import Stack

# BENCH_OUTPUT moves the JSON and the run's logs (tests use a folder of their own).
OUTPUT = Path(os.environ.get("BENCH_OUTPUT") or ROOT / "var" / "bench")


def expected_figures(sizes: Sizes) -> list[str]:
    chosen = sizes.sections.split(",")
    keys = []
    if "ingest" in chosen:
        keys += [
            "ingest.healthz_per_second",
            "ingest.database_per_second",
            "ingest.callouts_per_second",
            "ingest.database_latency_p99_ms",
            "ingest.latency_p50_ms",
            "ingest.latency_p99_ms",
        ]
    if "freshness" in chosen:
        keys += [
            "freshness.p50_ms",
            "freshness.p95_ms",
            "freshness.p99_ms",
            "freshness.swallowed",
            "freshness.worker_memory_mib",
            "freshness.idle_transactions_per_worker",
            "economy.fetches_per_object",
        ]
    if "import" in chosen:
        keys += [
            "economy.import_calls_ratio",
            "import.objects_per_second",
            "import.bulk_upsert_per_second",
            "import.peak_memory_mib",
            "import.peak_memory_large_mib",
        ]
    for count in sizes.scale if "scale" in chosen else ():
        keys += [
            f"scale.ingest_{count}.callouts_per_second",
            f"scale.ingest_{count}.database_per_second",
            f"scale.freshness_{count}.p99_ms",
            f"scale.freshness_{count}.worker_memory_mib",
            f"scale.freshness_{count}.idle_transactions_per_worker",
        ]
    if "instructions" in chosen:
        keys += [f"instructions.{kind}_sync" for kind in instructions.KINDS]
    return keys


def main() -> int:
    try:
        sizes = Sizes.from_environment()
    except ValueError as error:
        print(f"make bench: {error}", file=sys.stderr)
        return 2
    run_dir = OUTPUT / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    report = Report(settings={**dataclasses.asdict(sizes), **_machine()})
    print(f"make bench on {sizes.db}; logs in {_shown(run_dir)}/logs", flush=True)
    database_url = database.prepare(sizes, run_dir)

    chosen = sizes.sections.split(",")

    def section(name: str, body: Callable[[], None]) -> None:
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            body()
        except Exception as error:  # one failed section must not hide the others' figures
            report.errors.append(f"{name}: {type(error).__name__}: {error}")
            traceback.print_exc()
        finally:
            database.empty()
        print(f"   {time.monotonic() - started:.0f}s", flush=True)

    def with_stack(body: Callable[[Stack], None], **options: object) -> Callable[[], None]:
        def run() -> None:
            stack = start(sizes, run_dir, database_url, **options)  # type: ignore[arg-type]
            try:
                body(stack)
            finally:
                stack.stop()

        return run

    if "ingest" in chosen:
        section(
            f"ingest ({sizes.web_workers} web processes, {sizes.seconds:.0f}s per measurement)",
            with_stack(
                lambda stack: (
                    ingest.saturation(report, sizes, stack, database_url),
                    ingest.fixed_rate(report, sizes, stack, database_url),
                ),
            ),
        )
    if "freshness" in chosen:
        section(
            f"freshness and callout bursts ({sizes.workers} workers, "
            f"API latency {sizes.api_latency_ms:.0f} ms)",
            with_stack(
                lambda stack: (
                    freshness.measure(report, sizes, stack),
                    economy.bursts(report, sizes, stack),
                ),
                workers=sizes.workers,
                accounts=sizes.accounts,
                backfill=True,
            ),
        )

    def imports(stack: Stack) -> None:
        importing.measure(report, sizes, stack)
        baseline = report.figures["import.peak_memory_mib"].value or 1.0
        importing.measure_large(report, sizes, stack, baseline_mib=baseline)

    if "import" in chosen:
        section(
            f"import ({sizes.import_accounts:,} then {sizes.import_large_accounts:,} accounts)",
            with_stack(imports, web=False, accounts=sizes.import_accounts),
        )
    for count in sizes.scale if "scale" in chosen else ():
        section(
            f"scale: ingest with {count} web processes",
            with_stack(
                lambda stack, count=count: ingest.saturation(
                    report, sizes, stack, database_url, prefix=f"scale.ingest_{count}"
                ),
                web_workers=count,
            ),
        )
        section(
            f"scale: freshness with {count} workers",
            with_stack(
                lambda stack, count=count: freshness.measure(
                    report, sizes, stack, prefix=f"scale.freshness_{count}"
                ),
                workers=count,
                accounts=sizes.accounts,
                backfill=True,
            ),
        )
    if "instructions" in chosen:
        section(
            f"instructions per sync ({sizes.instruction_syncs} of each kind, callgrind)",
            with_stack(
                lambda stack: instructions.measure(report, sizes, stack, run_dir),
                web=False,
                accounts=max(sizes.accounts, sizes.instruction_syncs + sync_path.WARM_UP_SYNCS),
                backfill=True,
            ),
        )

    report.settings["loop_seconds_at_end"] = _loop_seconds()
    print()
    print(report.table())
    path = report.write(OUTPUT)
    print(f"\nWritten to {_shown(path)} and {_shown(OUTPUT / 'latest.json')}")
    missing = report.missing(expected_figures(sizes))
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)
    if missing:
        print(f"make bench: figures missing: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


def _shown(path: Path) -> Path:
    """A path as the report prints it: from the project's folder when it is inside."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def _loop_seconds(steps: int = 10_000_000) -> float:
    """Seconds this interpreter takes for a loop of `steps` additions."""
    started = time.perf_counter()
    total = 0
    for step in range(steps):
        total += step
    return round(time.perf_counter() - started, 3)


def _machine() -> dict[str, object]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        # Other work on the machine skews every figure: look here first.
        "load_average_at_start": os.getloadavg(),
        # The machine's speed at the start (and `loop_seconds_at_end`): a
        # shared machine's days, and hours, differ by up to twice.
        "loop_seconds_at_start": _loop_seconds(),
        "commit": commit,
        "python": sys.version.split()[0],
    }
