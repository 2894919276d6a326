"""The emulated tenant as the client's tests see it: routes, settings, data, a recorder."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import httpx

from zuora import ZuoraConfig
from zuora_emulator.testing import EmulatorHandle

TOKEN_ROUTE = "POST /oauth/token"
ACCOUNT_ROUTE = "GET /object-query/accounts/{key}"
ACCOUNTS_ROUTE = "GET /object-query/accounts"
CONTACT_ROUTE = "GET /object-query/contacts/{key}"
CONTACTS_ROUTE = "GET /object-query/contacts"


@dataclass(frozen=True)
class SentRequest:
    method: str
    path: str
    headers: dict[str, str]
    status: int


class RecordingTransport(httpx.BaseTransport):
    """httpx's real network transport, noting each request and the peak number in flight.

    It observes, it does not stand in: every request still goes to the emulator over TCP.
    """

    def __init__(self) -> None:
        self._network = httpx.HTTPTransport()
        self._lock = threading.Lock()
        self._in_flight = 0
        self.peak_in_flight = 0
        self.sent: list[SentRequest] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        counted = request.url.path != "/oauth/token"  # exempt from the cap, as in Zuora
        if counted:
            with self._lock:
                self._in_flight += 1
                self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        try:
            response = self._network.handle_request(request)
        finally:
            if counted:
                with self._lock:
                    self._in_flight -= 1
        with self._lock:
            self.sent.append(
                SentRequest(
                    request.method,
                    request.url.path,
                    dict(request.headers.items()),
                    response.status_code,
                )
            )
        return response

    def reset_peak(self) -> None:
        with self._lock:
            self.peak_in_flight = self._in_flight

    def close(self) -> None:
        self._network.close()


def config_for(handle: EmulatorHandle, **overrides: Any) -> ZuoraConfig:
    """Client settings for ``handle`` with waits short enough for tests."""
    values: dict[str, Any] = {
        "base_url": handle.base_url,
        "client_id": handle.client_id,
        "client_secret": handle.client_secret,
        "backoff_base": 0.01,
        "max_backoff": 0.05,
        "max_attempts": 4,
        "retry_deadline": 30.0,
        "read_timeout": 10.0,
        **overrides,
    }
    return ZuoraConfig(**values)


def create_account(handle: EmulatorHandle, n: int = 0, **extra: Any) -> Any:
    """An account with distinct Bill-To and Sold-To contacts in the emulated tenant."""
    return handle.state.create_account(
        name=f"Account {n}",
        currency="USD",
        bill_to={"firstName": f"Bill{n}", "lastName": "Payer", "workEmail": f"bill{n}@example.com"},
        sold_to={"firstName": f"Sold{n}", "lastName": "Buyer", "workEmail": f"sold{n}@example.com"},
        **extra,
    )
