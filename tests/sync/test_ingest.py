"""Callouts arriving together are committed together, and each is answered only once durable."""

import threading
import time
from typing import Any

import pytest
from django.db import OperationalError, connection, connections
from prometheus_client import REGISTRY

from billing.models import CalloutReceipt, PendingSync, SyncKind
from billing.sync.ingest import CalloutWriter
from billing.sync.queue import Callout
from tests.conftest import database_url_for_subprocesses
from tests.factories import zuora_id

pytestmark = pytest.mark.django_db(transaction=True)


def batches() -> float:
    return REGISTRY.get_sample_value("zuora_sync_callout_batch_size_count") or 0.0


def record_from_threads(writer: CalloutWriter, callouts: list[Callout]) -> list[Any]:
    outcomes: list[Any] = []
    start = threading.Barrier(len(callouts))

    def send(callout: Callout) -> None:
        start.wait()
        try:
            writer.record(callout)
            outcomes.append("recorded")
        except Exception as error:
            outcomes.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(c,)) for c in callouts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_concurrent_callouts_are_all_recorded_in_fewer_transactions() -> None:
    ids = [zuora_id() for _ in range(10)]
    callouts = [Callout(kind=SyncKind.ACCOUNT, zuora_id=ids[n % 10]) for n in range(40)]
    before = batches()

    outcomes = record_from_threads(CalloutWriter(), callouts)

    assert outcomes == ["recorded"] * 40
    assert CalloutReceipt.objects.count() == 40
    # Four callouts for each object, whichever batches they fell in.
    assert sorted(PendingSync.objects.values_list("generation", flat=True)) == [4] * 10
    assert batches() - before < 40


def test_a_failed_write_fails_every_callout_of_its_batch_and_records_nothing() -> None:
    def refuse(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if "billing_calloutreceipt" in sql:
            raise OperationalError("database unavailable")
        return execute(sql, params, many, context)

    writer = CalloutWriter()
    with connection.execute_wrapper(refuse), pytest.raises(OperationalError):
        writer.record(Callout(kind=SyncKind.CONTACT, zuora_id=zuora_id()))

    assert CalloutReceipt.objects.count() == 0
    assert PendingSync.objects.count() == 0
    # The writer is free again for the next callout.
    writer.record(Callout(kind=SyncKind.CONTACT, zuora_id=zuora_id()))
    assert CalloutReceipt.objects.count() == 1


def test_a_batch_of_new_syncs_enqueues_its_tasks_in_one_statement() -> None:
    from django.tasks.signals import task_enqueued
    from django.test.utils import CaptureQueriesContext
    from django_tasks_db.models import DBTaskResult

    from billing.sync.queue import record_callouts
    from billing.tasks import sync_object

    ids = sorted(zuora_id() for _ in range(5))
    announced: list[Any] = []

    def listen(sender: Any, task_result: Any, **kwargs: Any) -> None:
        announced.append(task_result)

    task_enqueued.connect(listen)
    try:
        with CaptureQueriesContext(connection) as queries:
            record_callouts([Callout(kind=SyncKind.ACCOUNT, zuora_id=i) for i in ids])
    finally:
        task_enqueued.disconnect(listen)

    task_inserts = [q for q in queries if "django_tasks_database_dbtaskresult" in q["sql"]]
    assert len(task_inserts) == 1
    if connection.vendor == "postgresql":
        # Receipts, pending rows, task rows and the wake-up: one statement.
        assert len(queries) == 1
    # The rows are the ones the backend's own enqueue writes: ready now, runnable.
    ready = DBTaskResult.objects.ready().order_by("args_kwargs")
    assert [row.args_kwargs["args"] for row in ready] == [["account", i] for i in ids]
    assert {row.task_path for row in ready} == {sync_object.module_path}
    assert all(row.task.run_after is None for row in ready)
    assert sorted(result.args[1] for result in announced) == ids


@pytest.mark.parametrize("path", ["enqueue_in_database", "record_callouts"])
def test_a_task_row_enqueued_in_bulk_equals_one_the_backend_writes(path: str) -> None:
    from django_tasks_db.models import DBTaskResult

    from billing.sync.queue import enqueue_in_database, record_callouts
    from billing.tasks import sync_object

    ours, theirs = zuora_id(), zuora_id()
    if path == "record_callouts":
        record_callouts([Callout(kind=SyncKind.ACCOUNT, zuora_id=ours)])
    else:
        enqueue_in_database([("account", ours)])
    sync_object.enqueue("account", theirs)

    def row(zuora: str) -> dict[str, Any]:
        found = DBTaskResult.objects.get(args_kwargs__args=["account", zuora])
        values = {f.attname: getattr(found, f.attname) for f in DBTaskResult._meta.fields}
        for differs in ("id", "enqueued_at", "args_kwargs"):
            values.pop(differs)
        return values

    assert row(ours) == row(theirs)


def test_a_receipt_keeps_what_its_callout_carried() -> None:
    from billing.sync.queue import record_callouts

    contact, account = zuora_id(), zuora_id()
    record_callouts(
        [
            Callout(
                kind=SyncKind.CONTACT,
                zuora_id=contact,
                account_zuora_id=account,
                zuora_request_id="r" * 64,
                zuora_notification_id="n-1",
                source_address="2001:db8::7",
            ),
            Callout(kind=SyncKind.ACCOUNT, zuora_id=account),
        ]
    )

    receipts = CalloutReceipt.objects.order_by("id").values_list(
        "kind",
        "zuora_id",
        "account_zuora_id",
        "zuora_request_id",
        "zuora_notification_id",
        "source_address",
    )
    assert list(receipts) == [
        ("contact", contact, account, "r" * 64, "n-1", "2001:db8::7"),
        ("account", account, "", "", "", None),
    ]
    assert len({r.received_at for r in CalloutReceipt.objects.all()}) == 1


def test_a_callout_for_an_object_already_waiting_adds_no_task() -> None:
    from django_tasks_db.models import DBTaskResult

    from billing.sync.queue import record_callouts

    waiting, new = zuora_id(), zuora_id()
    record_callouts([Callout(kind=SyncKind.ACCOUNT, zuora_id=waiting)])
    record_callouts(
        [
            Callout(kind=SyncKind.ACCOUNT, zuora_id=waiting),
            Callout(kind=SyncKind.ACCOUNT, zuora_id=new),
            Callout(kind=SyncKind.ACCOUNT, zuora_id=new),
        ]
    )

    tasks = sorted(row.args_kwargs["args"][1] for row in DBTaskResult.objects.all())
    assert tasks == sorted([waiting, new])
    generations = dict(PendingSync.objects.values_list("zuora_id", "generation"))
    assert generations == {waiting: 2, new: 2}


def test_recording_wakes_listening_workers_only_when_it_enqueues_a_task() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY wake-ups are PostgreSQL's")
    import psycopg

    from billing.sync.queue import WAKE_CHANNEL, record_callouts

    with psycopg.connect(database_url_for_subprocesses(), autocommit=True) as listener:
        listener.execute(f"LISTEN {WAKE_CHANNEL}")

        def woken() -> int:
            return len(list(listener.notifies(timeout=0.5)))

        waiting = zuora_id()
        record_callouts([Callout(kind=SyncKind.ACCOUNT, zuora_id=waiting)])
        assert woken() == 1
        record_callouts([Callout(kind=SyncKind.ACCOUNT, zuora_id=waiting)])
        assert woken() == 0
        record_callouts([Callout(kind=SyncKind.ACCOUNT, zuora_id=zuora_id()) for _ in range(3)])
        assert woken() == 1  # one per transaction, however many tasks


def test_callouts_waiting_behind_a_failed_write_are_written_by_the_next_writer() -> None:
    """The first write fails after a second callout queued behind it: that one is not
    in the failed batch, so it must still be written (its thread takes over)."""
    writer = CalloutWriter()
    first_writing, second_queued = threading.Event(), threading.Event()
    failed = []

    def fail_the_first_write(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if "billing_calloutreceipt" in sql and not failed:
            failed.append(sql)
            first_writing.set()
            assert second_queued.wait(10)
            raise OperationalError("database unavailable")
        return execute(sql, params, many, context)

    outcomes: dict[str, Any] = {}

    def first() -> None:
        try:
            with connection.execute_wrapper(fail_the_first_write):
                writer.record(Callout(kind=SyncKind.ACCOUNT, zuora_id="a" * 32))
            outcomes["first"] = "recorded"
        except OperationalError as error:
            outcomes["first"] = error
        finally:
            connections.close_all()

    def second() -> None:
        try:
            writer.record(Callout(kind=SyncKind.ACCOUNT, zuora_id="b" * 32))
            outcomes["second"] = "recorded"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first)]
    threads[0].start()
    assert first_writing.wait(10)
    threads.append(threading.Thread(target=second))
    threads[1].start()
    # The second callout is queued (behind the write) once the writer's queue
    # shows it; the test means nothing unless it was.
    deadline = time.monotonic() + 10
    while True:
        with writer._lock:
            if len(writer._queue) == 1:
                break
        assert time.monotonic() < deadline, "the second callout never queued"
        time.sleep(0.005)
    second_queued.set()
    for thread in threads:
        thread.join(timeout=30)

    assert isinstance(outcomes["first"], OperationalError)
    assert outcomes["second"] == "recorded"
    assert list(CalloutReceipt.objects.values_list("zuora_id", flat=True)) == ["b" * 32]


@pytest.mark.django_db
def test_the_callouts_statement_is_short_enough_for_psycopg_to_cache_its_parsing() -> None:
    """psycopg parses a statement's text for its placeholders on every execution
    when the text is longer than it caches (4 kB): 0.7 million more instructions
    per callout the day the statement grew past it."""
    if connection.vendor != "postgresql":
        pytest.skip("the callouts' one statement is PostgreSQL's")
    from django.tasks import DEFAULT_TASK_BACKEND_ALIAS
    from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH

    from billing.sync.queue import _one_statement

    statement, _ = _one_statement(DEFAULT_TASK_BACKEND_ALIAS)
    assert len(statement.encode()) <= MAX_CACHED_STATEMENT_LENGTH
