"""Run the emulator inside a test process.

Example::

    from zuora_emulator.testing import running_emulator

    with running_emulator(accounts=20, seed=7, token_lifetime=5) as zuora:
        client = MyZuoraClient(zuora.base_url, zuora.client_id, zuora.client_secret)
        account = zuora.state.create_account(name="Acme", bill_to={"firstName": "Ada",
                                                                   "lastName": "Byron"})
        zuora.set_faults(error_probability=0.2, seed=1)
        ...
        assert zuora.request_count("GET /object-query/accounts/{key}") == 1

The server is uvicorn on 127.0.0.1 on a free port, in a background thread; it stops when
the ``with`` block ends. ``handle.state`` is the live, thread-safe
:class:`~zuora_emulator.state.EmulatorState`: changes made through it fire callouts
exactly as changes through the HTTP API do.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from zuora_emulator.app import Emulator, create_app
from zuora_emulator.connections import ResettableH11Protocol
from zuora_emulator.control import change_settings, read_settings
from zuora_emulator.notifications import NotificationDefinition
from zuora_emulator.options import EmulatorOptions
from zuora_emulator.persistence import export_state
from zuora_emulator.state import EmulatorState


@dataclass
class EmulatorHandle:
    """A running emulator: where it listens, how to log in, and levers for tests.

    Attributes:
        base_url: ``http://127.0.0.1:<port>``, without a trailing slash.
        client_id, client_secret: valid OAuth client credentials for ``/oauth/token``.
        state: the in-process tenant (accounts, contacts); thread-safe.
        emulator: the whole :class:`~zuora_emulator.app.Emulator` (tokens, faults,
            callouts), for anything the methods below do not cover.
    """

    base_url: str
    client_id: str
    client_secret: str
    state: EmulatorState
    emulator: Emulator

    # -- faults and settings ---------------------------------------------------

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Change some faults live (see :class:`~zuora_emulator.faults.FaultSettings`).

        Example: ``set_faults(script=[{"fault": "status", "status": 503, "times": 2}])``.
        Returns the full fault configuration now in force.
        """
        self.emulator.faults.update(faults)
        return self.emulator.faults.snapshot()

    def clear_faults(self) -> None:
        """Back to no faults at all."""
        self.emulator.faults.replace({})

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change live settings: ``bump_updated_date``, ``refuse_referenced_contact_delete``,
        ``account_delete_delay``, ``token_lifetime``, ``default_version``,
        ``callout_attempts``, ``callout_interval``, ``callout_timeout``.
        """
        return change_settings(self.emulator, settings)

    def settings(self) -> dict[str, Any]:
        """Current live settings."""
        return read_settings(self.emulator)

    def expire_tokens(self) -> int:
        """End every issued OAuth token now; returns how many were live."""
        return self.emulator.tokens.expire_all()

    # -- request counting ------------------------------------------------------

    def request_count(self, template: str | None = None) -> int:
        """API requests received for ``"METHOD /route/{template}"``, or all if None.

        Templates use the route's parameter names, e.g. ``"GET /v1/accounts/{account_key}"``,
        ``"GET /object-query/accounts/{key}"``, ``"GET /object-query/contacts"``,
        ``"POST /oauth/token"``. Control endpoints are never counted.
        """
        counts = self.emulator.request_counts()
        return sum(counts.values()) if template is None else counts.get(template, 0)

    def request_counts(self) -> dict[str, int]:
        """Every counted template and its count."""
        return self.emulator.request_counts()

    def reset_request_counts(self) -> None:
        """Start counting from zero."""
        self.emulator.reset_request_counts()

    # -- callouts --------------------------------------------------------------

    def add_notification_definition(self, **definition: Any) -> NotificationDefinition:
        """Add a callout definition using Zuora's template field names, e.g.
        ``add_notification_definition(eventTypeName="ContactUpdated",
        calloutBaseurl="http://127.0.0.1:8000/callouts/contact",
        calloutParams={"ContactId": "{{DataSource.Contact.Id}}"},
        calloutAuth={"username": "u", "password": "p", "preemptive": False})``.
        """
        return self.emulator.callouts.add_definition(definition)

    def install_default_definitions(self, base_url: str, **extra: Any) -> None:
        """Install the six standard definitions (account events → ``<base_url>/account``,
        contact events → ``<base_url>/contact``); ``extra`` adds e.g. ``calloutAuth``."""
        self.emulator.callouts.base_url = base_url
        self.emulator.callouts.install_defaults(extra or None)

    def clear_notification_definitions(self) -> None:
        """Remove every callout definition."""
        self.emulator.callouts.clear_definitions()

    def callout_history(self, **match: Any) -> list[dict[str, Any]]:
        """Every callout attempt, oldest first, optionally only entries whose fields equal
        ``match`` (e.g. ``outcome="success"``, ``eventCategory="ContactUpdated"``)."""
        return [
            e
            for e in self.emulator.callouts.history_snapshot()
            if all(e.get(k) == v for k, v in match.items())
        ]

    def wait_for_callouts(self, count: int, timeout: float = 30.0, **match: Any) -> list[dict]:
        """Poll until at least ``count`` matching attempts are recorded; AssertionError on
        timeout. Generous by default so loaded CI machines do not flake."""
        return wait_until(
            lambda: (h := self.callout_history(**match)) and len(h) >= count and h,
            timeout,
            f"{count} callouts matching {match}",
        )

    # -- data ------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """All accounts (with ``billToId``/``soldToId``) and contacts, Object Query shape."""
        return export_state(self.state)

    def apply_random_changes(
        self, count: int, kinds: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """Apply random changes (see seeding.MUTATION_KINDS); returns what changed."""
        return self.emulator.mutator.apply(count, kinds)

    def purge_account(self, key: str) -> None:
        """Remove an account entirely, as a sandbox refresh would (then 404 everywhere)."""
        self.state.purge_account(key)


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` every 20 ms until it returns something truthy; return it."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


@contextmanager
def running_emulator(**options: Any) -> Iterator[EmulatorHandle]:
    """Start the emulator on 127.0.0.1 (free port) in a thread; stop it on exit.

    ``options`` are the fields of :class:`~zuora_emulator.options.EmulatorOptions`:
    ``seed``, ``accounts`` (number to seed), ``token_lifetime`` (seconds),
    ``tenant_timezone``, ``default_version``, ``callout_base_url``,
    ``callout_definitions``, ``callout_auth``, ``callout_attempts``, ``callout_interval``,
    ``callout_timeout``, ``callout_concurrency``, ``faults`` (dict of FaultSettings),
    ``state_file``,
    ``bump_updated_date``, ``refuse_referenced_contact_delete``, ``account_delete_delay``,
    ``rate_limit_per_minute``, ``concurrency_limit``, ``client_id``, ``client_secret``.
    Tests usually want ``callout_interval`` of a fraction of a second.
    """
    app = create_app(EmulatorOptions(**options))
    emulator: Emulator = app.state.emulator
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        http=ResettableH11Protocol,
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"zuora-emulator-{port}", daemon=True
    )
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), 30, "the emulator to start")
        if not server.started:
            raise RuntimeError("The Zuora emulator failed to start; see the log above.")
        yield EmulatorHandle(
            base_url=f"http://127.0.0.1:{port}",
            client_id=str(emulator.options.client_id),
            client_secret=str(emulator.options.client_secret),
            state=emulator.state,
            emulator=emulator,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
