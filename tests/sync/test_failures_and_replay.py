"""Failing syncs back off, die with their error, and come back through replay."""

import pytest
from django.core.management import call_command
from django.test import override_settings

from billing.models import BillingAccount, PendingSync, SyncKind, SyncState
from billing.sync import queue
from billing.sync.runner import Outcome, run_due, run_pending_sync
from tests.sync.conftest import differences, new_account
from zuora_emulator.testing import EmulatorHandle

pytestmark = pytest.mark.django_db

ACCOUNT = SyncKind.ACCOUNT


def due_now() -> None:
    from django.utils import timezone

    PendingSync.objects.update(next_attempt_at=timezone.now())


@override_settings(SYNC_MAX_ATTEMPTS=2)
def test_a_sync_failing_every_time_is_dead_with_its_last_error(zuora: EmulatorHandle) -> None:
    remote = new_account(zuora)
    zuora.set_faults(error_probability=1.0, error_statuses=[503], paths=["/object-query"])
    queue.request(kind=ACCOUNT, zuora_id=remote.id)

    assert run_pending_sync(kind=ACCOUNT, zuora_id=remote.id) == Outcome.RETRY
    due_now()
    assert run_pending_sync(kind=ACCOUNT, zuora_id=remote.id) == Outcome.DEAD

    row = PendingSync.objects.get()
    assert row.state == SyncState.DEAD
    assert "ZuoraTransientError" in row.last_error
    assert row.attempts == 2
    assert not BillingAccount.objects.exists()


@override_settings(SYNC_MAX_ATTEMPTS=1)
def test_replay_retries_dead_syncs_and_keeps_the_reason(zuora: EmulatorHandle) -> None:
    remote = new_account(zuora)
    zuora.set_faults(error_probability=1.0, error_statuses=[500], paths=["/object-query"])
    queue.request(kind=ACCOUNT, zuora_id=remote.id)
    assert run_due() == {Outcome.DEAD: 1}
    zuora.clear_faults()

    call_command("replay", "--dead", reason="Zuora outage over", stdout=None)
    row = PendingSync.objects.get()
    assert row.state == SyncState.PENDING
    assert row.replay_reason == "Zuora outage over"

    assert run_due() == {Outcome.DONE: 1}
    assert differences(zuora) == [
        d for d in differences(zuora) if d.what == "missing here" and d.kind == "contact"
    ]
    assert BillingAccount.objects.get().zuora_id == remote.id


def test_replay_of_a_named_object_requests_a_fresh_sync(zuora: EmulatorHandle) -> None:
    remote = new_account(zuora)
    call_command("replay", f"account:{remote.id}", reason="check by hand", stdout=None)
    assert run_due() == {Outcome.DONE: 1}
    assert BillingAccount.objects.filter(zuora_id=remote.id).exists()


def test_replay_rejects_malformed_object_names() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="expected account:<32 hex>"):
        call_command("replay", "account:not-an-id", reason="x")


def test_rate_limited_sync_waits_at_least_retry_after(zuora: EmulatorHandle) -> None:
    remote = new_account(zuora)
    # Fewer tries inside the client than the limit lasts, so the sync sees the 429.
    zuora.set_faults(rate_limit_probability=1.0, retry_after=30, paths=["/object-query"])
    queue.request(kind=ACCOUNT, zuora_id=remote.id)

    with override_settings(ZUORA_RETRY_DEADLINE=5):
        outcome = run_pending_sync(kind=ACCOUNT, zuora_id=remote.id)

    row = PendingSync.objects.get()
    assert outcome == Outcome.RETRY
    assert "ZuoraRateLimited" in row.last_error
    assert (row.next_attempt_at - row.claimed_at).total_seconds() >= 29
