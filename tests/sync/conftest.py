"""Fixtures for sync tests: a running emulator and the app pointed at it."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from billing.sync.compare import Difference, account_differences, contact_differences
from zuora.models import parse_account, parse_contact
from zuora_emulator.testing import EmulatorHandle, running_emulator


@pytest.fixture
def zuora() -> Iterator[EmulatorHandle]:
    with (
        running_emulator(seed=11, accounts=0) as handle,
        override_settings(
            ZUORA_BASE_URL=handle.base_url,
            ZUORA_CLIENT_ID=handle.client_id,
            ZUORA_CLIENT_SECRET=handle.client_secret,
            ZUORA_MAX_ATTEMPTS=2,
            SYNC_RETRY_BASE_SECONDS=0.01,
            SYNC_RETRY_MAX_SECONDS=0.05,
        ),
    ):
        yield handle


def differences(zuora: EmulatorHandle) -> list[Difference]:
    """Everything in which the local copy differs from the emulator's whole state."""
    dump: dict[str, Any] = zuora.dump()
    accounts = [parse_account(item) for item in dump["accounts"]]
    contacts = [parse_contact(item) for item in dump["contacts"]]
    return account_differences(accounts, complete=True) + contact_differences(
        contacts, complete=True
    )


def new_account(zuora: EmulatorHandle, name: str = "Acme Ltd", **contacts: Any) -> Any:
    return zuora.state.create_account(
        name=name,
        bill_to=contacts.get(
            "bill_to",
            {"firstName": "Ada", "lastName": "Byron", "workEmail": "Ada.Byron@example.com"},
        ),
        sold_to=contacts.get(
            "sold_to",
            {"firstName": "Grace", "lastName": "Hopper", "workEmail": "grace@example.com"},
        ),
    )
