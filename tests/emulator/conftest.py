"""Fixtures for the emulator's own tests: a running emulator, an authenticated client and
a local HTTP server that receives callouts."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from zuora_emulator.testing import EmulatorHandle, running_emulator, wait_until

API_VERSION = "2025-08-12"


def token_for(handle: EmulatorHandle) -> str:
    """Fetch a bearer token the way a client does."""
    response = httpx.post(
        f"{handle.base_url}/oauth/token",
        data={
            "client_id": handle.client_id,
            "client_secret": handle.client_secret,
            "grant_type": "client_credentials",
        },
    )
    response.raise_for_status()
    return response.json()["access_token"]


def api_client(handle: EmulatorHandle, version: str | None = API_VERSION) -> httpx.Client:
    """An httpx client with a fresh token and (by default) Zuora-Version 2025-08-12."""
    headers = {"Authorization": f"Bearer {token_for(handle)}"}
    if version:
        headers["Zuora-Version"] = version
    return httpx.Client(base_url=handle.base_url, headers=headers, timeout=30)


@pytest.fixture
def zuora() -> Iterator[EmulatorHandle]:
    """An empty emulator with fast callout retries."""
    with running_emulator(seed=1, callout_interval=0.05, account_delete_delay=0.1) as handle:
        yield handle


@pytest.fixture
def api(zuora: EmulatorHandle) -> Iterator[httpx.Client]:
    """An authenticated client of the ``zuora`` emulator."""
    with api_client(zuora) as client:
        yield client


def new_account(api: httpx.Client, **extra: object) -> dict:
    """Create an account over HTTP; returns the create response."""
    body = {
        "name": "Nordlicht GmbH",
        "currency": "EUR",
        "billToContact": {
            "firstName": "Zoë",
            "lastName": "Müller",
            "workEmail": "Zoe.Mueller@Example.COM",
            "country": "Germany",
            "city": "München",
        },
        **extra,
    }
    response = api.post("/v1/accounts", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    return response.json()


@dataclass
class ReceivedCallout:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class CalloutReceiver:
    """A real HTTP server on 127.0.0.1 that records every request it gets.

    ``respond`` decides the answer per request: (status, headers, body).
    """

    url: str
    received: list[ReceivedCallout] = field(default_factory=list)
    respond: Callable[[ReceivedCallout], tuple[int, dict[str, str], bytes]] = lambda _request: (
        200,
        {"Content-Type": "application/json"},
        b'{"success": true}',
    )

    def wait_for(self, count: int, timeout: float = 30.0) -> list[ReceivedCallout]:
        """Poll until ``count`` requests arrived (generous timeout: CI can be slow)."""
        return wait_until(
            lambda: list(self.received) if len(self.received) >= count else None,
            timeout,
            f"{count} callouts at the receiver",
        )


@pytest.fixture
def receiver() -> Iterator[CalloutReceiver]:
    """A callout receiver answering 200 unless its ``respond`` is replaced."""
    state: dict[str, CalloutReceiver] = {}
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = ReceivedCallout(
                self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
            )
            target = state["receiver"]
            with lock:
                target.received.append(request)
            status, headers, body = target.respond(request)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = _handle

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["receiver"] = CalloutReceiver(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["receiver"]
    server.shutdown()
    server.server_close()


def pytest_configure(config: pytest.Config) -> None:
    """zuora-sdk 3.21 uses pydantic APIs deprecated in 2.x; that is not ours to fix."""
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:zuora_sdk.*")
    config.addinivalue_line(
        "filterwarnings", "ignore:.*(construct|model_fields).*:DeprecationWarning"
    )
