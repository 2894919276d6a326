"""A benchmark stopped with SIGTERM stops the services it started."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from launcher.processes import ROOT


def children_of(pid: int) -> dict[int, str]:
    """Live processes whose parent is `pid`, with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry.name)] = command
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sigterm_stops_the_emulator_a_section_started(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "BENCH_DB": "sqlite",
        "BENCH_SIZE": "tiny",
        "BENCH_SECTIONS": "import",
        "BENCH_IMPORT_ACCOUNTS": "20000",  # long enough to be interrupted
        "BENCH_OUTPUT": str(tmp_path),
    }
    environment.pop("DATABASE_URL", None)
    bench = subprocess.Popen(
        [sys.executable, "-m", "bench"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        emulators: dict[int, str] = {}
        while not emulators and time.monotonic() < deadline and bench.poll() is None:
            emulators = {
                pid: command
                for pid, command in children_of(bench.pid).items()
                if "zuora_emulator" in command
            }
            time.sleep(0.2)
        assert emulators, "the import section never started its emulator"

        bench.send_signal(signal.SIGTERM)
        bench.wait(timeout=60)

        assert bench.returncode == 143
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in emulators) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(pid) for pid in emulators)
        assert not (tmp_path / "latest.json").exists()
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
