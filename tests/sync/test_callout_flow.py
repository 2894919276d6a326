"""End to end: Zuora's callouts reach our endpoints, a real worker fetches, the copy converges."""

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from billing.models import BillingAccount, CalloutReceipt, PendingSync
from config.environment import CalloutCredential
from launcher.callouts import callout_definitions
from tests.sync.conftest import differences, new_account
from tests.sync.test_workers import start_worker
from zuora_emulator.testing import EmulatorHandle, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

CREDENTIAL = CalloutCredential("zuora", "callout-secret-5d1e")


def route_callouts(zuora: EmulatorHandle, base_url: str) -> None:
    """Configure the callouts as docs/zuora_callouts.md tells a Zuora admin to."""
    for definition in callout_definitions(
        base_url, username=CREDENTIAL.username, password=CREDENTIAL.password
    ):
        zuora.add_notification_definition(**definition)


@pytest.fixture
def worker(zuora: EmulatorHandle, live_server: Any) -> Iterator[subprocess.Popen]:
    with override_settings(ZUORA_CALLOUT_CREDENTIALS=(CREDENTIAL,)):
        process = start_worker(zuora, lease=30.0)
        try:
            yield process
        finally:
            process.terminate()
            process.wait(timeout=30)


def converged(zuora: EmulatorHandle) -> bool:
    return not PendingSync.objects.exists() and differences(zuora) == []


def test_changes_in_zuora_reach_the_local_copy_through_callouts(
    zuora: EmulatorHandle, live_server: Any, worker: subprocess.Popen
) -> None:
    route_callouts(zuora, live_server.url)
    zuora.configure(callout_interval=0.2)
    # Duplicated and reordered deliveries must not matter.
    zuora.set_faults(callout_duplicate_probability=0.5, callout_reorder=True, seed=3)

    accounts = [new_account(zuora, name=f"Account {n}") for n in range(3)]
    extra = zuora.state.create_contact(
        account_key=accounts[0].id, fields={"firstName": "Noor", "lastName": "Haddad"}
    )
    zuora.state.update_account(accounts[0].id, sold_to_contact_id=extra.id)
    zuora.state.update_contact(accounts[1].bill_to_id, {"workEmail": "Billing@Example.NET"})
    zuora.state.update_account(accounts[2].id, fields={"name": "Renamed Ltd"})

    wait_until(lambda: converged(zuora), 90, "the local copy to equal Zuora")

    assert BillingAccount.objects.get(zuora_id=accounts[0].id).sold_to_contact.zuora_id == extra.id
    # The copy can converge before the last deliveries (an account's sync also
    # fetches its contacts); every callout is still recorded when it arrives.
    wait_until(lambda: CalloutReceipt.objects.count() >= 8, 30, "the callouts to be recorded")
    receipts = CalloutReceipt.objects.all()
    assert all(receipt.zuora_request_id for receipt in receipts)
    # Every delivery ends in 200 after the Basic challenge; nothing was abandoned.
    failed = [
        entry for entry in zuora.callout_history() if entry.get("responseCode") not in (200, 401)
    ]
    assert failed == []
