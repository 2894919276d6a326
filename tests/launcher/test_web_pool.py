"""On PostgreSQL the launcher's web server runs many threads over a small pool of connections."""

import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from django.db import connection

from billing.models import CalloutReceipt
from launcher.stack import Stack
from tests.launcher.conftest import running_stack

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

POOL_SIZE = 3
CALLOUTS = 96


@pytest.fixture
def stack(on_postgresql: bool, tmp_path: Path) -> Iterator[Stack]:
    if not on_postgresql:
        pytest.skip("needs PostgreSQL")
    with running_stack(tmp_path, web_workers=1, web_pool_size=POOL_SIZE, workers=0) as stack:
        yield stack


def connections_to_the_database() -> set[int]:
    """Backend pids connected to the test database, besides the caller's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {pid for (pid,) in cursor.fetchall()}


def test_concurrent_callouts_share_the_pool_and_are_all_recorded(stack: Stack) -> None:
    config = stack.config
    # The web server has not touched the database yet (/healthz does not):
    # the connections there now are the test's own, this thread's included
    # (the watcher below leaves out only its own).
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (own,) = cursor.fetchone()
    before = connections_to_the_database() | {own}
    peak = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        try:
            while not done.is_set():
                peak = max(peak, len(connections_to_the_database() - before))
                time.sleep(0.005)
        finally:
            connection.close()

    def post(client: httpx.Client) -> int:
        return client.post(
            f"{config.web_url}/api/v1/zuora/callouts/sync_account",
            json={"EventType": "AccountUpdated", "AccountId": secrets.token_hex(16)},
            auth=(config.callout_username, config.callout_password),
        ).status_code

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with (
            httpx.Client(timeout=30, limits=httpx.Limits(max_connections=48)) as client,
            ThreadPoolExecutor(max_workers=48) as pool,
        ):
            statuses = list(pool.map(lambda _: post(client), range(CALLOUTS)))
    finally:
        done.set()
        watcher.join()

    assert statuses == [200] * CALLOUTS
    assert CalloutReceipt.objects.count() == CALLOUTS
    # 32 threads served them, each of which would keep its own connection
    # without the pool.
    assert 1 <= peak <= POOL_SIZE
