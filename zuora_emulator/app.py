"""The ASGI application and the :class:`Emulator` that holds everything it serves."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from zuora_emulator import api_v1, control, object_query
from zuora_emulator.callouts import CalloutSender, DeliveryPolicy
from zuora_emulator.clock import Clock
from zuora_emulator.faults import FaultInjector
from zuora_emulator.gateway import Gateway, RateWindow
from zuora_emulator.history_api import ROUTES as HISTORY_ROUTES
from zuora_emulator.oauth import TokenStore, create_token
from zuora_emulator.options import EmulatorOptions
from zuora_emulator.persistence import load_state, save_state
from zuora_emulator.seeding import Mutator, seed_accounts
from zuora_emulator.state import EmulatorState, StateSettings


class Emulator:
    """One emulated tenant: state, tokens, faults, callouts and request counters."""

    def __init__(self, options: EmulatorOptions) -> None:
        self.options = options
        self.state = EmulatorState(
            seed=options.seed,
            clock=Clock(options.tenant_timezone),
            settings=StateSettings(
                bump_updated_date=options.bump_updated_date,
                refuse_referenced_contact_delete=options.refuse_referenced_contact_delete,
                account_delete_delay=options.account_delete_delay,
            ),
        )
        if options.state_file and Path(options.state_file).exists():
            load_state(self.state, options.state_file)
        elif options.accounts:
            seed_accounts(self.state, options.accounts, options.seed)
        self.mutator = Mutator(self.state, options.seed)
        self.tokens = TokenStore(options.token_lifetime)
        self.faults = FaultInjector(options.faults)
        self.callouts = CalloutSender(
            faults=self.faults,
            policy=DeliveryPolicy(
                attempts=options.callout_attempts,
                interval=options.callout_interval,
                timeout=options.callout_timeout,
                concurrency=options.callout_concurrency,
            ),
            base_url=options.callout_base_url,
        )
        if options.callout_definitions is not None:
            for definition in options.callout_definitions:
                self.callouts.add_definition(definition)
        elif options.callout_base_url:
            self.callouts.install_defaults(options.callout_auth)
        # Subscribed after seeding: a seeded tenant starts without a backlog of callouts.
        self.state.subscribe(self.callouts.on_event)
        self.rate_window = RateWindow(options.rate_limit_per_minute)
        self._counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()

    def count_request(self, template: str) -> None:
        """Count one API request under its route template (``"GET /v1/accounts/{…}"``)."""
        with self._counts_lock:
            self._counts[template] += 1

    def request_counts(self) -> dict[str, int]:
        """API requests received so far, by ``"METHOD /path/{template}"``."""
        with self._counts_lock:
            return dict(self._counts)

    def reset_request_counts(self) -> None:
        """Start counting from zero."""
        with self._counts_lock:
            self._counts.clear()

    def concurrency_class(self, method: str, path: str) -> tuple[str, int]:
        """Zuora's concurrency class for a request and its limit [RL]."""
        override = self.faults.settings.concurrency_limit
        if path.startswith("/object-query"):
            kind, limit = "Object Query", self.options.object_query_concurrency_limit
        elif method == "POST" and path == "/v1/accounts":
            kind, limit = "High Volume", self.options.high_volume_concurrency_limit
        else:
            kind, limit = "Default", self.options.concurrency_limit
        return kind, override if override is not None else limit

    def save(self) -> None:
        """Write the state to ``options.state_file`` if one is configured."""
        if self.options.state_file:
            save_state(self.state, self.options.state_file)


def create_app(options: EmulatorOptions | None = None) -> Starlette:
    """Build the ASGI app; ``app.state.emulator`` is the :class:`Emulator` it serves."""
    emulator = Emulator(options or EmulatorOptions())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await emulator.callouts.start()
        try:
            yield
        finally:
            await emulator.callouts.stop()
            emulator.state.cancel_timers()
            emulator.save()

    routes = [
        Route("/oauth/token", create_token, methods=["POST"]),
        *api_v1.ROUTES,
        *object_query.ROUTES,
        *HISTORY_ROUTES,
        *control.ROUTES,
    ]
    app = Starlette(routes=routes, middleware=[Middleware(Gateway)], lifespan=lifespan)
    app.state.emulator = emulator
    return app
