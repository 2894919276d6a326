"""Starting the service for a section: the launcher's stack, in production mode."""

import secrets
from pathlib import Path
from typing import Any

import httpx

from bench.sizes import Sizes
from launcher.stack import Stack, StackConfig, pick_ports


def start(
    sizes: Sizes,
    var_dir: Path,
    database_url: str,
    *,
    web_workers: int | None = None,
    workers: int = 0,
    accounts: int = 0,
    backfill: bool = False,
    web: bool = True,
) -> Stack:
    """The emulator plus the processes a section measures; the sweeper and the
    reconciler run beside workers, as in `make run`."""
    options: dict[str, Any] = {"callout_preemptive": sizes.callout_preemptive}
    if sizes.worker_interval is not None:
        options["worker_interval"] = sizes.worker_interval
    config = pick_ports(
        StackConfig(
            var_dir=var_dir,
            database_url=database_url,
            web=web,
            web_workers=web_workers or sizes.web_workers,
            workers=workers,
            sweeper=workers > 0,
            reconciler=workers > 0,
            emulator_accounts=accounts,
            debug=False,
            extra_environment={"SECRET_KEY": secrets.token_urlsafe(32)},
            **options,
        )
    )
    stack = Stack(config)
    try:
        stack.start(backfill=backfill)
    except BaseException:
        stack.stop()
        raise
    return stack


# One keep-alive client for the whole run: a new client per call costs the
# load generator a TLS context and a connection each time, CPU that the
# service being measured shares on a small machine.
_control = httpx.Client(timeout=120)


def emulator(stack: Stack, method: str, path: str, **kwargs: Any) -> Any:
    """Call one of the emulator's control endpoints (never faulted, never counted)."""
    response = _control.request(method, f"{stack.config.emulator_url}/_emulator/{path}", **kwargs)
    response.raise_for_status()
    return response.json()


def process_memory_kib(pid: int) -> dict[str, int]:
    """Peak (VmHWM) and current (VmRSS) resident memory of a process and its children."""
    totals = {"peak": 0, "current": 0}
    for member in _process_tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                totals["peak"] += int(line.split()[1])
            elif line.startswith("VmRSS:"):
                totals["current"] += int(line.split()[1])
    return totals


def _process_tree(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                pending += [int(child) for child in children.read_text().split()]
            except OSError:
                continue
    return found
