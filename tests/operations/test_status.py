"""`sync_status` and the admin show the queue's figures and the last reconciliation."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import PassKind, PassState, PendingSync, ReconciliationRun, SyncKind, SyncState
from billing.sync import queue
from billing.sync.status import sync_figures
from customers.models import Customer

pytestmark = pytest.mark.django_db

ACCOUNT_ID = "a" * 32


def plant_queue_and_runs() -> ReconciliationRun:
    now = timezone.now()
    queue.request(kind=SyncKind.ACCOUNT, zuora_id=ACCOUNT_ID, now=now - timedelta(minutes=7))
    queue.request(kind=SyncKind.CONTACT, zuora_id="b" * 32, now=now - timedelta(minutes=1))
    queue.request(kind=SyncKind.CONTACT, zuora_id="c" * 32, now=now)
    PendingSync.objects.filter(zuora_id="c" * 32).update(state=SyncState.DEAD)
    queue.request(kind=SyncKind.ACCOUNT, zuora_id="d" * 32, now=now)
    PendingSync.objects.filter(zuora_id="d" * 32).update(state=SyncState.RUNNING)
    watermark = now - timedelta(hours=1)
    return ReconciliationRun.objects.create(
        kind=PassKind.INCREMENTAL,
        state=PassState.FINISHED,
        finished_at=now - timedelta(minutes=2),
        accounts_watermark=watermark,
        contacts_watermark=watermark - timedelta(seconds=30),
        accounts_read=12,
        zuora_calls=3,
    )


def test_sync_status_prints_the_queue_and_the_last_reconciliation() -> None:
    run = plant_queue_and_runs()
    out = StringIO()

    call_command("sync_status", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[:4] == [
        "syncs pending: 2",
        "syncs running: 1",
        "syncs dead: 1",
        "oldest pending: 7m 0s",
    ]
    assert lines[4].startswith(f"last reconciliation: incremental #{run.pk} finished at ")
    assert "12 accounts and 0 contacts read, 3 Zuora calls" in lines[4]
    assert lines[5] == (
        f"watermark: accounts {run.accounts_watermark.isoformat(timespec='seconds')}, "
        f"contacts {run.contacts_watermark.isoformat(timespec='seconds')}"
    )
    assert lines[6] == "last full comparison: never"


def test_sync_figures_of_an_idle_service() -> None:
    figures = sync_figures()

    assert (figures.pending, figures.running, figures.dead) == (0, 0, 0)
    assert figures.oldest_pending_age is None
    assert figures.last_reconciliation is None
    assert "oldest pending: none" in figures.lines()


def test_an_interrupted_pass_is_shown_with_its_phase_and_error() -> None:
    ReconciliationRun.objects.create(
        kind=PassKind.FULL, state=PassState.FAILED, phase="contacts", error="ZuoraTransientError"
    )

    lines = sync_figures().lines()

    assert any(
        line.startswith("unfinished: full #") and "in phase contacts (ZuoraTransientError)" in line
        for line in lines
    )


def test_the_admin_shows_the_same_figures_above_the_passes(client: Client) -> None:
    plant_queue_and_runs()
    admin = Customer.objects.create_superuser(email="admin@example.com", password="pw-admin-1234")
    client.force_login(admin)

    response = client.get(reverse("admin:billing_reconciliationrun_changelist"))

    assert response.status_code == 200
    page = response.content.decode()
    for text in ("Syncs pending: 2", "Syncs dead: 1", "Oldest pending: 7m", "Watermark: accounts"):
        assert text in page
