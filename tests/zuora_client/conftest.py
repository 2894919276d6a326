"""Fixtures for the Zuora client's tests: an emulator over real HTTP and clients of it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.zuora_client.emulated_zuora import RecordingTransport, config_for
from zuora import ZuoraClient
from zuora_emulator.testing import EmulatorHandle, running_emulator


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    """An empty emulated tenant, at Zuora's default version for never-upgraded tenants."""
    with running_emulator(seed=4) as handle:
        yield handle


@pytest.fixture
def make_client(emulator: EmulatorHandle) -> Iterator[Callable[..., ZuoraClient]]:
    """Build clients of the emulator (``transport=`` to record); all closed after the test."""
    clients: list[ZuoraClient] = []

    def make(transport: httpx.BaseTransport | None = None, **overrides: Any) -> ZuoraClient:
        client = ZuoraClient(config_for(emulator, **overrides), transport=transport)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., ZuoraClient]) -> ZuoraClient:
    """A client of the emulator with fast retries."""
    return make_client()


@pytest.fixture
def recorder() -> RecordingTransport:
    """A recording network transport to pass to ``make_client(transport=...)``."""
    return RecordingTransport()
