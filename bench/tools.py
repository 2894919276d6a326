"""The load tools run at saturation: wrk for HTTP, pgbench for the database's own rate."""

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


class ToolMissing(RuntimeError):
    """A command-line tool the benchmark needs is not installed."""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    requests_per_second: float
    non_2xx: int
    socket_errors: int
    latency_p50_ms: float | None
    latency_p99_ms: float | None


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ToolMissing(f"{tool} is not installed (apt-get install -y {tool})")
    return path


def wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 2,
    script: str | None = None,
    script_args: list[str] | None = None,
) -> WrkResult:
    """Closed-loop saturation: `connections` keep-alive connections, each sending at once."""
    command = [
        require("wrk"),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    if script:
        command += ["-s", str(HERE / script)]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    output = subprocess.run(  # noqa: S603 (our own arguments)
        command, capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", output)
    if done is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    duration = float(done.group(2)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[done.group(3)]
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    return WrkResult(
        requests=int(done.group(1)),
        seconds=duration,
        requests_per_second=float(rate.group(1)) if rate else int(done.group(1)) / duration,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        latency_p50_ms=_wrk_latency(output, "50%"),
        latency_p99_ms=_wrk_latency(output, "99%"),
    )


def _wrk_latency(output: str, label: str) -> float | None:
    found = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if found is None:
        return None
    return float(found.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]


@dataclass(frozen=True)
class PgbenchResult:
    transactions: int
    failed: int
    tps: float
    latency_average_ms: float | None


def pgbench(
    conninfo: dict[str, str], *, script: str, clients: int, seconds: float
) -> PgbenchResult:
    """Run a custom pgbench script with `clients` connections (and as many threads)."""
    output = _run_pgbench(conninfo, script=script, clients=clients, seconds=seconds)
    tps = re.search(r"tps = ([\d.]+)", output)
    processed = re.search(r"number of transactions actually processed: (\d+)", output)
    failed = re.search(r"number of failed transactions: (\d+)", output)
    latency = re.search(r"latency average = ([\d.]+) ms", output)
    if tps is None or processed is None:
        raise RuntimeError(f"unexpected pgbench output:\n{output}")
    return PgbenchResult(
        transactions=int(processed.group(1)),
        failed=int(failed.group(1)) if failed else 0,
        tps=float(tps.group(1)),
        latency_average_ms=float(latency.group(1)) if latency else None,
    )


@dataclass(frozen=True)
class PgbenchRateResult:
    latencies_ms: list[float]  # of the transactions that committed, from their scheduled start
    failed: int


def pgbench_at_rate(
    conninfo: dict[str, str], *, script: str, clients: int, rate: float, seconds: float
) -> PgbenchRateResult:
    """Run a custom pgbench script at a fixed rate (an open model: `--rate`
    schedules each transaction, whatever became of the ones before) and return
    each transaction's latency from its scheduled start (pgbench's own time
    plus its schedule lag), from pgbench's per-transaction log."""
    with tempfile.TemporaryDirectory(prefix="bench-pgbench-") as directory:
        _run_pgbench(
            conninfo,
            script=script,
            clients=clients,
            seconds=seconds,
            extra=[f"--rate={rate}", "--log", f"--log-prefix={Path(directory) / 'tx'}"],
        )
        latencies, failed = [], 0
        for log in sorted(Path(directory).iterdir()):
            for line in log.read_text().splitlines():
                # client, transaction, time (µs, or "failed"/"skipped"), script,
                # epoch, µs, schedule lag (µs)
                fields = line.split()
                if len(fields) < 7 or not fields[2].isdigit():
                    failed += 1
                    continue
                latencies.append((int(fields[2]) + int(fields[6])) / 1000)
    return PgbenchRateResult(latencies_ms=latencies, failed=failed)


def _run_pgbench(
    conninfo: dict[str, str],
    *,
    script: str,
    clients: int,
    seconds: float,
    extra: list[str] | None = None,
) -> str:
    command = [
        require("pgbench"),
        "--no-vacuum",
        f"--client={clients}",
        f"--jobs={clients}",
        f"--time={max(1, round(seconds))}",
        f"--file={HERE / script}",
        *(extra or []),
    ]
    completed = subprocess.run(  # noqa: S603 (our own arguments)
        command,
        capture_output=True,
        text=True,
        env={**os.environ, **conninfo},
        timeout=seconds + 60,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"pgbench failed:\n{completed.stderr[-2000:]}")
    return completed.stdout
