"""A sync_worker records each task's outcome as django-tasks-db's own worker does."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.tasks import TaskResultStatus, task
from django.tasks.signals import task_finished, task_started
from django_tasks_db.models import DBTaskResult

from billing.worker import ConcurrentWorker

pytestmark = pytest.mark.django_db(transaction=True)


@task()
def add(left: int, right: int) -> int:
    return left + right


@task()
def explode() -> None:
    raise ValueError("the task failed on purpose")


@task()
def unstorable() -> object:
    return {"a set is not JSON": {1, 2}}


@pytest.fixture
def signals() -> Iterator[list[tuple[str, str]]]:
    """(signal, status of the task result it carried) for each signal sent."""
    seen: list[tuple[str, str]] = []

    def started(sender: Any, task_result: Any, **_: Any) -> None:
        seen.append(("started", task_result.status))

    def finished(sender: Any, task_result: Any, **_: Any) -> None:
        seen.append(("finished", task_result.status))

    task_started.connect(started)
    task_finished.connect(finished)
    yield seen
    task_started.disconnect(started)
    task_finished.disconnect(finished)


def run_one(enqueued: Any) -> DBTaskResult:
    worker = ConcurrentWorker(threads=1, interval=1.0, worker_id="test")
    (claimed,) = worker._claim(limit=1)
    assert str(claimed.id) == str(enqueued.id)
    worker.run_task(claimed)
    return DBTaskResult.objects.get(id=enqueued.id)


def test_a_success_is_stored_with_its_value(signals: list[tuple[str, str]]) -> None:
    stored = run_one(add.enqueue(2, 3))

    assert stored.status == TaskResultStatus.SUCCESSFUL
    assert stored.return_value == 5
    assert stored.finished_at is not None
    assert stored.finished_at >= stored.started_at
    assert (stored.exception_class_path, stored.traceback) == ("", "")
    assert stored.task_result.return_value == 5
    assert signals == [("started", "RUNNING"), ("finished", "SUCCESSFUL")]


def test_a_failure_is_stored_with_its_exception(signals: list[tuple[str, str]]) -> None:
    stored = run_one(explode.enqueue())

    assert stored.status == TaskResultStatus.FAILED
    assert stored.exception_class_path == "builtins.ValueError"
    assert "the task failed on purpose" in stored.traceback
    assert stored.return_value is None
    assert signals == [("started", "RUNNING"), ("finished", "FAILED")]


def test_a_value_that_cannot_be_stored_fails_the_task_instead_of_losing_it(
    signals: list[tuple[str, str]],
) -> None:
    stored = run_one(unstorable.enqueue())

    assert stored.status == TaskResultStatus.FAILED
    assert stored.exception_class_path == "builtins.TypeError"
    assert signals == [("started", "RUNNING"), ("finished", "FAILED")]
