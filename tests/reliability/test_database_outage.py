"""PostgreSQL going away: callouts answered 503, workers wait, claimed work is not lost.

The service's processes (web, two workers, the sweeper) reach the test
database through a TCP proxy that the test cuts for a few seconds, in the
middle of syncs that workers have claimed and are fetching from Zuora.
"""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connection

from billing.models import PendingSync, SyncState
from launcher.convergence import local_differences
from launcher.stack import Stack, StackConfig, pick_ports
from tests.conftest import database_url_for_subprocesses
from tests.reliability.tcp_proxy import CuttableProxy
from zuora_emulator.testing import wait_until

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 6.0


def emulator(stack: Stack, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(
        method, f"{stack.config.emulator_url}/_emulator/{path}", timeout=60, **kwargs
    )
    response.raise_for_status()
    return response.json()


@pytest.fixture
def proxy(on_postgresql: bool) -> Iterator[CuttableProxy]:
    if not on_postgresql:
        pytest.skip("needs PostgreSQL")
    settings = connection.settings_dict
    with CuttableProxy(settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432)) as proxy:
        yield proxy


@pytest.fixture
def stack(proxy: CuttableProxy, tmp_path: Path) -> Iterator[Stack]:
    config = pick_ports(
        StackConfig(
            var_dir=tmp_path,
            database_url=database_url_for_subprocesses(host="127.0.0.1", port=proxy.port),
            emulator_accounts=20,
            workers=2,
            worker_interval=0.1,
            sweep_interval=1.0,
            reconciler=False,
            static_files=False,
            # Zuora keeps retrying callouts through the outage.
            callout_attempts=10,
            callout_interval=1.0,
            extra_environment={
                "SYNC_LEASE_SECONDS": "3",
                "SYNC_SWEEP_GRACE_SECONDS": "2",
                "SYNC_RETRY_BASE_SECONDS": "0.2",
                "SYNC_RETRY_MAX_SECONDS": "2",
                "LOG_LEVEL": "INFO",
            },
        )
    )
    stack = Stack(config)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def test_database_outage_answers_503_keeps_workers_running_and_converges_after(
    stack: Stack, proxy: CuttableProxy
) -> None:
    workers = {name: stack.supervisor.processes[name].pid for name in stack.worker_names}
    # Slow fetches, so that workers hold claimed syncs when the database goes.
    emulator(stack, "PATCH", "faults", json={"latency": 2.0, "paths": ["/object-query"]})
    emulator(stack, "POST", "changes", json={"count": 15, "seed": 11})
    wait_until(
        lambda: PendingSync.objects.filter(state=SyncState.RUNNING).exists(),
        30,
        "a worker to claim a sync",
    )

    proxy.cut()
    emulator(stack, "POST", "changes", json={"count": 15})
    wait_until(
        lambda: any(
            entry["responseCode"] == 503 for entry in emulator(stack, "GET", "callouts")["callouts"]
        ),
        30,
        "a callout answered 503",
    )
    claimed_during_outage = PendingSync.objects.filter(state=SyncState.RUNNING).count()
    time.sleep(OUTAGE_SECONDS)
    stack.supervisor.check_alive()  # no worker, web process or sweeper exited
    emulator(stack, "PUT", "faults", json={})
    proxy.restore()

    def converged() -> bool:
        if PendingSync.objects.exclude(state=SyncState.DEAD).exists():
            return False
        return local_differences(emulator(stack, "GET", "state")) == []

    wait_until(converged, 120, "the local copy to equal Zuora's after the outage")
    stack.supervisor.check_alive()
    assert {name: stack.supervisor.processes[name].pid for name in stack.worker_names} == workers
    assert claimed_during_outage > 0
    assert proxy.refused > 0
    assert not PendingSync.objects.filter(state=SyncState.DEAD).exists()

    def refused_came_through() -> bool:
        history = emulator(stack, "GET", "callouts")["callouts"]
        refused = {entry["notificationId"] for entry in history if entry["responseCode"] == 503}
        delivered = {entry["notificationId"] for entry in history if entry["outcome"] == "success"}
        return refused <= delivered

    # The copy can converge through other callouts while Zuora's last retries
    # of a refused one are still scheduled (one a second here): wait for them.
    wait_until(refused_came_through, 30, "every callout refused during the outage to come through")
