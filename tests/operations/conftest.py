"""Fixtures for the operations commands: a seeded emulator and the app pointed at it."""

import math
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from django.test import override_settings

from zuora.query import MAX_PAGE_SIZE
from zuora_emulator.testing import EmulatorHandle, running_emulator

ACCOUNTS_QUERY = "GET /object-query/accounts"
CONTACTS_QUERY = "GET /object-query/contacts"
TOKEN = "POST /oauth/token"

ZuoraFactory = Callable[..., EmulatorHandle]


@pytest.fixture
def seeded_zuora() -> Iterator[ZuoraFactory]:
    """Start an emulator seeded with `accounts` accounts, and point the settings at it."""
    with ExitStack() as stack:

        def start(accounts: int, seed: int = 23, **options: Any) -> EmulatorHandle:
            handle = stack.enter_context(running_emulator(seed=seed, accounts=accounts, **options))
            stack.enter_context(
                override_settings(
                    ZUORA_BASE_URL=handle.base_url,
                    ZUORA_CLIENT_ID=handle.client_id,
                    ZUORA_CLIENT_SECRET=handle.client_secret,
                    ZUORA_MAX_ATTEMPTS=2,
                    ZUORA_RETRY_DEADLINE=2.0,
                    SYNC_RETRY_BASE_SECONDS=0.01,
                    SYNC_RETRY_MAX_SECONDS=0.05,
                )
            )
            return handle

        yield start


def paging_minimum(objects: int, page_size: int = MAX_PAGE_SIZE) -> int:
    """Pages needed to read `objects` objects; an empty result still costs one call."""
    return max(1, math.ceil(objects / page_size))


def zuora_counts(zuora: EmulatorHandle) -> tuple[int, int]:
    """How many accounts and contacts the emulator holds."""
    dump = zuora.dump()
    return len(dump["accounts"]), len(dump["contacts"])
