"""The sweeper: syncs whose worker died or whose task went missing get a task again."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from billing.management.commands.sync_sweeper import sweep
from billing.models import PendingSync, SyncKind, SyncState
from billing.sync import pending
from billing.sync.queue import WAKE_CHANNEL
from tests.conftest import database_url_for_subprocesses
from tests.factories import zuora_id

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNT = SyncKind.ACCOUNT


@override_settings(SYNC_LEASE_SECONDS=1.0)
def overdue_and_abandoned(overdue: int) -> tuple[list[str], str]:
    """`overdue` pending syncs whose tasks are lost, and a sync whose worker died."""
    long_ago = timezone.now() - timedelta(minutes=10)
    lost = [zuora_id() for _ in range(overdue)]
    for object_id in lost:
        pending.request_sync(kind=ACCOUNT, zuora_id=object_id, now=long_ago)
    abandoned = zuora_id()
    pending.request_sync(kind=SyncKind.CONTACT, zuora_id=abandoned, now=long_ago)
    assert pending.claim(kind=SyncKind.CONTACT, zuora_id=abandoned, now=long_ago) is not None
    return lost, abandoned


def tasks() -> list[tuple[str, str]]:
    return sorted(tuple(row.args_kwargs["args"]) for row in DBTaskResult.objects.all())


def test_the_sweeper_gives_lost_and_abandoned_syncs_a_task_each() -> None:
    lost, abandoned = overdue_and_abandoned(3)

    assert sweep(grace=60) == (1, 3)

    assert tasks() == sorted([("contact", abandoned)] + [("account", i) for i in lost])
    assert PendingSync.objects.get(zuora_id=abandoned).state == SyncState.PENDING


def test_the_sweeper_wakes_workers_once_for_all_it_enqueues() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY wake-ups are PostgreSQL's")
    import psycopg

    overdue_and_abandoned(5)
    with psycopg.connect(database_url_for_subprocesses(), autocommit=True) as listener:
        listener.execute(f"LISTEN {WAKE_CHANNEL}")
        sweep(grace=60)
        assert len(list(listener.notifies(timeout=0.5))) == 1
    assert len(tasks()) == 6
