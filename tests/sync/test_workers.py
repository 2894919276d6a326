"""Real worker processes and concurrent workers: nothing lost, never two at once."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.utils import timezone

from billing.models import BillingAccount, PendingSync, SyncKind, SyncState
from billing.sync import pending, queue
from billing.sync.runner import Outcome, run_pending_sync
from tests.conftest import database_url_for_subprocesses
from tests.sync.conftest import differences, new_account
from zuora_emulator.testing import EmulatorHandle, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = SyncKind.ACCOUNT
FETCH_ACCOUNT = "GET /object-query/accounts/{key}"


def worker_environment(zuora: EmulatorHandle, **more: str) -> dict[str, str]:
    """A worker process's environment: the test database and the emulated tenant."""
    return {
        **os.environ,
        **more,
        "DEBUG": "1",
        "DATABASE_URL": database_url_for_subprocesses(),
        "ZUORA_BASE_URL": zuora.base_url,
        "ZUORA_CLIENT_ID": zuora.client_id,
        "ZUORA_CLIENT_SECRET": zuora.client_secret,
        "LOG_LEVEL": "WARNING",
    }


def start_worker(zuora: EmulatorHandle, *extra: str, lease: float = 1.0) -> subprocess.Popen:
    environment = worker_environment(zuora, SYNC_LEASE_SECONDS=str(lease))
    return subprocess.Popen(  # noqa: S603 (our own interpreter and manage.py)
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--no-startup-delay",
            "--no-reload",
            "--interval",
            "0.1",
            *extra,
        ],
        cwd=ROOT,
        env=environment,
    )


def request_committed(kind: SyncKind, zuora_id: str) -> None:
    with transaction.atomic():
        queue.request(kind=kind, zuora_id=zuora_id)


def test_worker_killed_between_fetch_and_commit_loses_nothing(zuora: EmulatorHandle) -> None:
    remote = new_account(zuora)
    zuora.set_faults(latency=3.0, paths=["/object-query"])
    request_committed(ACCOUNT, remote.id)
    worker = start_worker(zuora)
    try:
        wait_until(
            lambda: PendingSync.objects.filter(state=SyncState.RUNNING).exists(),
            60,
            "the worker to claim the sync",
        )
        wait_until(lambda: zuora.request_count(FETCH_ACCOUNT) >= 1, 30, "the fetch to start")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)

    assert PendingSync.objects.get().state == SyncState.RUNNING
    assert not BillingAccount.objects.exists()

    zuora.clear_faults()
    time.sleep(1.2)  # the dead worker's lease (1 s) runs out
    call_command("sync_sweeper", stdout=None)
    assert PendingSync.objects.get().state == SyncState.PENDING

    rerun = start_worker(zuora, "--batch")
    assert rerun.wait(timeout=120) == 0
    assert not PendingSync.objects.exists()
    assert differences(zuora) == []


def run_in_thread(kind: SyncKind, zuora_id: str, outcomes: list[Outcome]) -> threading.Thread:
    def work() -> None:
        try:
            outcomes.append(run_pending_sync(kind=kind, zuora_id=zuora_id))
        finally:
            connections.close_all()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_concurrent_workers_never_reconcile_one_object_at_once(zuora: EmulatorHandle) -> None:
    remote = new_account(zuora)
    request_committed(ACCOUNT, remote.id)
    zuora.set_faults(latency=0.5, paths=["/object-query"])
    zuora.reset_request_counts()
    outcomes: list[Outcome] = []

    threads = [run_in_thread(ACCOUNT, remote.id, outcomes) for _ in range(4)]
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == sorted([Outcome.DONE] + [Outcome.SKIPPED] * 3)
    assert zuora.request_count(FETCH_ACCOUNT) == 1


def a_change_during_a_slow_sync(
    zuora: EmulatorHandle, outcomes: list[Outcome]
) -> tuple[str, threading.Thread]:
    """An account's sync running in a thread, with Zuora answering in 1 s; the
    account changed in Zuora after the fetch left, and its callout recorded.
    Returns the account's id and the thread."""
    remote = new_account(zuora)
    request_committed(ACCOUNT, remote.id)
    zuora.set_faults(latency=1.0, paths=["/object-query"])
    zuora.reset_request_counts()
    worker = run_in_thread(ACCOUNT, remote.id, outcomes)
    wait_until(lambda: zuora.request_count(FETCH_ACCOUNT) == 1, 30, "the first fetch")
    zuora.state.update_account(remote.id, fields={"name": "Changed meanwhile"})
    request_committed(ACCOUNT, remote.id)
    return remote.id, worker


def test_a_callout_during_a_running_sync_causes_exactly_one_more_fetch(
    zuora: EmulatorHandle,
) -> None:
    outcomes: list[Outcome] = []
    account_id, worker = a_change_during_a_slow_sync(zuora, outcomes)
    for _ in range(4):  # more callouts: still one more run
        request_committed(ACCOUNT, account_id)
    worker.join(timeout=60)

    assert outcomes == [Outcome.REQUEUED]
    zuora.clear_faults()
    assert run_pending_sync(kind=ACCOUNT, zuora_id=account_id) == Outcome.DONE
    assert zuora.request_count(FETCH_ACCOUNT) == 2
    assert BillingAccount.objects.get().name == "Changed meanwhile"


def test_a_callouts_follow_up_overtakes_the_running_sync(zuora: EmulatorHandle) -> None:
    outcomes: list[Outcome] = []
    account_id, first = a_change_during_a_slow_sync(zuora, outcomes)
    # The follow-up's task: it fetches now, without waiting for the first
    # run, and commits first (its fetch is quick).
    zuora.clear_faults()
    second = run_in_thread(ACCOUNT, account_id, outcomes)
    second.join(timeout=60)
    assert outcomes == [Outcome.DONE]
    assert BillingAccount.objects.get().name == "Changed meanwhile"
    # The first run's older copy is not committed over it.
    first.join(timeout=60)

    assert outcomes == [Outcome.DONE, Outcome.OVERTAKEN]
    assert zuora.request_count(FETCH_ACCOUNT) == 2
    assert BillingAccount.objects.get().name == "Changed meanwhile"
    assert not PendingSync.objects.exists()


def test_a_burst_of_callouts_costs_one_fetch_even_with_an_idle_worker(
    zuora: EmulatorHandle, settings: Any
) -> None:
    # Generous, so that a loaded machine's late sleeps stay inside the window:
    # each gap between two requests of the burst must stay under the settle
    # delay then in force, the first gap included (they once passed 0.1 s
    # and then 0.25 s in full parallel runs on a slow machine).
    settings.SYNC_SETTLE_SECONDS = 1.0
    settings.SYNC_SETTLE_PAIR_SECONDS = 1.0
    settings.SYNC_SETTLE_BURST_SECONDS = 1.0
    settings.SYNC_SETTLE_MAX_SECONDS = 3.0
    remote = new_account(zuora)
    zuora.reset_request_counts()
    outcomes: list[Outcome] = []

    request_committed(ACCOUNT, remote.id)
    # The worker picks the task up at once, as a woken worker would.
    worker = run_in_thread(ACCOUNT, remote.id, outcomes)
    for _ in range(9):
        time.sleep(0.01)
        request_committed(ACCOUNT, remote.id)
    worker.join(timeout=60)

    assert outcomes == [Outcome.DONE]
    assert zuora.request_count(FETCH_ACCOUNT) == 1


def start_sync_worker(
    zuora: EmulatorHandle, *extra: str, environment: dict[str, str] | None = None
) -> subprocess.Popen:
    """Our concurrent worker (`manage.py sync_worker`) on the test database."""
    return subprocess.Popen(  # noqa: S603 (our own interpreter and manage.py)
        [sys.executable, "manage.py", "sync_worker", *extra],
        cwd=ROOT,
        env=worker_environment(zuora, **(environment or {})),
    )


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def test_sync_worker_runs_several_syncs_at_once(zuora: EmulatorHandle) -> None:
    remotes = [new_account(zuora, name=f"Account {n}") for n in range(6)]
    zuora.set_faults(latency=1.0, paths=["/object-query"])
    for remote in remotes:
        request_committed(ACCOUNT, remote.id)
    worker = start_sync_worker(zuora, "--threads", "4")
    try:
        # Several syncs hold their claim at the same moment: they run concurrently.
        wait_until(
            lambda: PendingSync.objects.filter(state=SyncState.RUNNING).count() >= 2,
            60,
            "two syncs running at once",
        )
        wait_until(lambda: not PendingSync.objects.exists(), 120, "every sync to finish")
    finally:
        stop(worker)
    assert worker.returncode == 0
    assert BillingAccount.objects.count() == 6


def other_connections() -> int:
    """Connections to the test database other than this test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_pooled_sync_threads_share_connections_while_they_wait_for_zuora(
    zuora: EmulatorHandle,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the connection pool is PostgreSQL's")
    remotes = [new_account(zuora, name=f"Account {n}") for n in range(6)]
    zuora.set_faults(latency=1.0, paths=["/object-query"])
    for remote in remotes:
        request_committed(ACCOUNT, remote.id)
    worker = start_sync_worker(zuora, "--threads", "6", environment={"DATABASE_POOL_SIZE": "2"})
    try:
        wait_until(
            lambda: PendingSync.objects.filter(state=SyncState.RUNNING).count() >= 4,
            60,
            "four syncs waiting for Zuora at once",
        )
        # Six threads, but a sync gives its connection back while Zuora answers:
        # the pool's two and the wake-up listener's one.
        assert other_connections() <= 3
        wait_until(lambda: not PendingSync.objects.exists(), 120, "every sync to finish")
    finally:
        stop(worker)
    assert worker.returncode == 0
    assert BillingAccount.objects.count() == 6


def listening() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE %s",
            ["LISTEN zuora_sync%"],
        )
        return cursor.fetchone()[0] > 0


def assert_a_waiting_worker_is_woken_by(zuora: EmulatorHandle, wake: Callable[[str], None]) -> None:
    """`wake(account id)` makes a sync of a new account ready; a worker polling only
    every 60 s must run it in time."""
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY wake-ups are PostgreSQL's")
    worker = start_sync_worker(zuora, "--interval", "60")
    try:
        remote = new_account(zuora)
        wait_until(listening, 60, "the worker to LISTEN")
        time.sleep(1)  # its dispatcher has polled the empty queue and is now waiting
        wake(remote.id)
        wait_until(
            lambda: BillingAccount.objects.filter(zuora_id=remote.id).exists(),
            30,
            "the woken worker to sync the account",
        )
    finally:
        stop(worker)


def test_sync_worker_is_woken_by_a_new_task_on_postgresql(zuora: EmulatorHandle) -> None:
    assert_a_waiting_worker_is_woken_by(
        zuora, lambda zuora_id: request_committed(ACCOUNT, zuora_id)
    )


def enqueue_after_the_pending_row(zuora_id: str) -> None:
    pending.request_sync(kind=ACCOUNT, zuora_id=zuora_id)
    queue.enqueue(kind=ACCOUNT, zuora_id=zuora_id)


def test_a_task_enqueued_on_its_own_wakes_the_sync_worker_on_postgresql(
    zuora: EmulatorHandle,
) -> None:
    # The run after a sync that a callout overlapped, the sweeper's and the
    # admin's: a task enqueued after the pending row committed.
    assert_a_waiting_worker_is_woken_by(zuora, enqueue_after_the_pending_row)


def test_the_dispatcher_claims_as_many_ready_tasks_as_it_has_free_threads() -> None:
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from billing.worker import ConcurrentWorker

    for n in range(5):
        queue.enqueue(kind=ACCOUNT, zuora_id=f"{n:032x}")
    worker = ConcurrentWorker(threads=3, interval=1.0, worker_id="dispatcher-test")

    first = worker._claim(limit=3)
    second = worker._claim(limit=3)

    assert (len(first), len(second)) == (3, 2)
    assert worker._claim(limit=3) == []
    claimed = DBTaskResult.objects.filter(pk__in=[task.pk for task in first + second])
    assert {task.status for task in claimed} == {TaskResultStatus.RUNNING}
    assert all(task.worker_ids == ["dispatcher-test"] for task in claimed)
    assert all(task.started_at is not None for task in claimed)
    # Oldest first, as the task backend's own worker takes them.
    enqueued = [task.enqueued_at for task in first + second]
    assert enqueued == sorted(enqueued)


def test_a_claimed_task_that_ran_before_keeps_its_earlier_workers() -> None:
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from billing.worker import ConcurrentWorker

    for n in range(3):
        queue.enqueue(kind=ACCOUNT, zuora_id=f"{n:032x}")
    rerun = DBTaskResult.objects.order_by("enqueued_at").first()
    DBTaskResult.objects.filter(pk=rerun.pk).update(worker_ids=["earlier"])
    worker = ConcurrentWorker(threads=3, interval=1.0, worker_id="dispatcher-test")

    claimed = worker._claim(limit=3)

    stored = dict(DBTaskResult.objects.values_list("pk", "worker_ids"))
    assert stored == {
        task.pk: (["earlier", "dispatcher-test"] if task.pk == rerun.pk else ["dispatcher-test"])
        for task in claimed
    }
    assert all(task.worker_ids == stored[task.pk] for task in claimed)
    assert {task.status for task in claimed} == {TaskResultStatus.RUNNING}
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {TaskResultStatus.RUNNING}


def test_the_dispatcher_claims_ready_tasks_of_its_queue_by_priority_then_age() -> None:
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from billing.worker import ConcurrentWorker

    for n in range(5):
        queue.enqueue(kind=ACCOUNT, zuora_id=f"{n:032x}")
    oldest, later, urgent, other_queue, deferred = DBTaskResult.objects.order_by("enqueued_at")
    DBTaskResult.objects.filter(pk=urgent.pk).update(priority=10)
    DBTaskResult.objects.filter(pk=other_queue.pk).update(queue_name="other")
    DBTaskResult.objects.filter(pk=deferred.pk).update(
        run_after=timezone.now() + timedelta(hours=1)
    )
    worker = ConcurrentWorker(threads=5, interval=1.0, worker_id="dispatcher-test")

    claimed = worker._claim(limit=5)

    assert [task.pk for task in claimed] == [urgent.pk, oldest.pk, later.pk]
    assert worker._claim(limit=5) == []
    left = set(DBTaskResult.objects.filter(status="READY").values_list("pk", flat=True))
    assert left == {other_queue.pk, deferred.pk}


def test_a_claimed_task_is_the_row_as_the_orm_loads_it() -> None:
    """The claim builds its tasks from the returned rows itself: every field must
    come out as the ORM gives it (UUIDs, aware datetimes, decoded JSON)."""
    from django.forms.models import model_to_dict
    from django_tasks_db.models import DBTaskResult

    from billing.worker import ConcurrentWorker

    queue.enqueue(kind=ACCOUNT, zuora_id=f"{7:032x}")
    worker = ConcurrentWorker(threads=1, interval=1.0, worker_id="dispatcher-test")

    [claimed] = worker._claim(limit=1)

    stored = DBTaskResult.objects.get()
    fields = [field.attname for field in DBTaskResult._meta.concrete_fields]
    assert {name: getattr(claimed, name) for name in fields} == {
        name: getattr(stored, name) for name in fields
    }
    assert {name: type(getattr(claimed, name)) for name in fields} == {
        name: type(getattr(stored, name)) for name in fields
    }
    assert claimed.args_kwargs == {"args": ["account", f"{7:032x}"], "kwargs": {}}
    assert claimed.started_at.tzinfo is not None
    assert claimed._state.adding is False
    assert model_to_dict(claimed) == model_to_dict(stored)


def claims_and_due_checks(queries: list[dict[str, str]]) -> tuple[int, int]:
    """How many sync claims, and looks at when a settling sync is due, these queries hold."""
    claims = sum("SET state = 'running', claim_token = " in q["sql"] for q in queries)
    checks = sum(
        q["sql"].startswith('SELECT "billing_pendingsync"."next_attempt_at"') for q in queries
    )
    return claims, checks


def test_a_callouts_task_claims_once_its_object_has_settled(
    zuora: EmulatorHandle, settings: Any
) -> None:
    from django.test.utils import CaptureQueriesContext

    from billing.worker import ConcurrentWorker

    settings.SYNC_SETTLE_SECONDS = 0.3
    remote = new_account(zuora)
    queue.record_callouts([queue.Callout(kind=ACCOUNT, zuora_id=remote.id)])
    worker = ConcurrentWorker(threads=1, interval=1.0, worker_id="settle-test")
    # Taken at once, as a woken worker takes it: its object still settles.
    [task] = worker._claim(limit=1)

    with CaptureQueriesContext(connection) as captured:
        worker.run_task(task)

    # The task waited for the settle before its claim, instead of claiming
    # too early, asking when the object is due, and claiming again.
    assert claims_and_due_checks(captured.captured_queries) == (1, 0)
    task.refresh_from_db()
    assert task.return_value["outcome"] == Outcome.DONE
    claimed_at = datetime.fromisoformat(task.return_value["claimed_at"])
    assert (claimed_at - task.enqueued_at).total_seconds() >= 0.3
    assert BillingAccount.objects.get().zuora_id == remote.id


def test_a_task_for_an_object_due_now_claims_at_once(zuora: EmulatorHandle, settings: Any) -> None:
    from django.test.utils import CaptureQueriesContext
    from django_tasks_db.models import DBTaskResult

    from billing.worker import ConcurrentWorker

    settings.SYNC_SETTLE_SECONDS = 5.0
    remote = new_account(zuora)
    with transaction.atomic():
        queue.request(kind=ACCOUNT, zuora_id=remote.id)
    PendingSync.objects.update(next_attempt_at=timezone.now())  # settled (the sweeper's case)
    DBTaskResult.objects.all().delete()
    queue.enqueue_now([(ACCOUNT, remote.id)])
    worker = ConcurrentWorker(threads=1, interval=1.0, worker_id="due-test")
    [task] = worker._claim(limit=1)

    started = time.monotonic()
    with CaptureQueriesContext(connection) as captured:
        worker.run_task(task)

    task.refresh_from_db()
    assert task.return_value["outcome"] == Outcome.DONE
    assert time.monotonic() - started < 5.0
    assert claims_and_due_checks(captured.captured_queries) == (1, 0)
