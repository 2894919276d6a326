"""Instructions per sync, counted by callgrind: the worker's CPU cost, unmoved by a busy machine.

Seconds of CPU per sync move with whatever else the machine runs (on one day
the same code measured 11 to 19 ms). callgrind counts the instructions the
worker's process executes, which are the same from run to run (within about
0.1 %), so a change to the sync's code shows in this figure even when it is
a few per cent. The count covers `bench.sync_path`: a sync's request as a
callout makes it (in production the web process does that part), the
dispatcher's claim, and the task's run on the worker's side, not PostgreSQL's
or the emulator's work.
"""

import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO

from bench.report import Figure, Report
from bench.sizes import Sizes
from launcher.processes import ROOT
from launcher.stack import Stack

KINDS = ("account", "contact")


def measure(report: Report, sizes: Sizes, stack: Stack, run_dir: Path) -> None:
    missing = [tool for tool in ("valgrind", "callgrind_control") if shutil.which(tool) is None]
    for kind in KINDS:
        key = f"instructions.{kind}_sync"
        label = f"instructions: one {kind} sync, worker side (callgrind)"
        if missing:
            report.add(Figure(key, label, "M", not_applicable=f"no {' or '.join(missing)}"))
            continue
        count = _count(stack, kind, sizes.instruction_syncs, run_dir)
        report.add(
            Figure(
                key,
                label,
                "M",
                count / sizes.instruction_syncs / 1e6,
                details={"syncs": sizes.instruction_syncs, "instructions": count},
            )
        )


def _count(stack: Stack, kind: str, syncs: int, run_dir: Path) -> int:
    """Instructions executed by `syncs` syncs of `kind`, warm-up and start-up left out."""
    environment = {
        **stack.environment(),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # Claimed at once: a settling object would add a query and a sleep.
        "SYNC_SETTLE_SECONDS": "0",
    }
    output = run_dir / f"callgrind.{kind}.out"
    with (run_dir / f"callgrind.{kind}.log").open("wb") as log:
        _drive(_start(kind, syncs, output, environment, log), kind, output)
    return read_total(output)


def _start(
    kind: str, syncs: int, output: Path, environment: dict[str, str], log: IO[bytes]
) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 (our own command)
        [  # noqa: S607 (valgrind from PATH, as wrk and pgbench)
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={output}",
            sys.executable,
            "-m",
            "bench.sync_path",
            kind,
            str(syncs),
        ],
        cwd=ROOT,
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )


def _drive(process: subprocess.Popen[str], kind: str, output: Path) -> None:
    try:
        _expect(process, "READY")
        _control(process, "on")
        _go(process)
        _expect(process, "DONE")
        _control(process, "off")
        _go(process)
        if process.wait(timeout=300) != 0:
            log = output.with_suffix(".log")
            raise RuntimeError(f"bench.sync_path {kind} failed; its output: {log}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _go(process: subprocess.Popen[str]) -> None:
    if process.stdin is not None:
        process.stdin.write("go\n")
        process.stdin.flush()


def _expect(process: subprocess.Popen[str], word: str) -> None:
    line = process.stdout.readline().strip() if process.stdout is not None else ""
    if line != word:  # the caller's `finally` ends the process
        raise RuntimeError(f"bench.sync_path said {line!r}, not {word}")


def _control(process: subprocess.Popen[str], state: str) -> None:
    # Answers once the process has switched (it checks for commands while it waits).
    subprocess.run(  # noqa: S603
        ["callgrind_control", "--instr", state, str(process.pid)],  # noqa: S607
        check=True,
        capture_output=True,
        timeout=120,
    )


def read_total(output: Path) -> int:
    """The instruction count of a callgrind output file (its `totals:` line; callgrind
    writes `summary: 0` when instrumentation started off)."""
    counts = {
        name: int(value)
        for name, _, value in (line.partition(": ") for line in output.read_text().splitlines())
        if name in {"summary", "totals"}
    }
    if not counts:
        raise RuntimeError(f"no totals in {output}")
    return counts.get("totals") or counts.get("summary", 0)
