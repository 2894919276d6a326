"""What Zuora's edge does before an API call reaches the service.

Request ids and ``Zuora-Track-Id`` echo, per-template request counting, rate and
concurrency limits with their headers, bearer-token checks, and injected faults. Control
endpoints (``/_emulator/…``) pass straight through.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING, Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zuora_emulator.connections import reset_connection
from zuora_emulator.errors import error_code, object_query_error, v1_error
from zuora_emulator.oauth import bearer_token, unauthorized

if TYPE_CHECKING:
    from zuora_emulator.app import Emulator

CONTROL_PREFIX = "/_emulator"
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a secret


def route_template(scope: Scope) -> str:
    """``"GET /v1/accounts/{account_key}"`` for a request, or the raw path if unrouted."""
    for route in scope["app"].routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return f"{scope['method']} {route.path}"
    return f"{scope['method']} {scope['path']}"


class RateWindow:
    """A fixed one-minute window, like the ``ratelimit-*`` headers describe [RL]."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._start = time.monotonic()
        self._count = 0

    def hit(self) -> tuple[int, int]:
        """Count one request; returns (remaining, seconds until reset)."""
        now = time.monotonic()
        if now - self._start >= 60:
            self._start, self._count = now, 0
        self._count += 1
        return self.limit - self._count, max(1, int(60 - (now - self._start)))


class Gateway:
    """ASGI middleware in front of the API routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.in_flight: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        emulator: Emulator = scope["app"].state.emulator
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        headers = Headers(scope=scope)
        emulator.count_request(route_template(scope))
        extra: list[tuple[str, str]] = [("Zuora-Request-Id", request_id)]
        if "zuora-track-id" in headers:
            extra.append(("Zuora-Track-Id", headers["zuora-track-id"]))
        remaining, reset = emulator.rate_window.hit()
        limit = emulator.rate_window.limit
        extra += [
            ("ratelimit-limit", f"{limit}, {limit};w=60"),
            ("ratelimit-remaining", str(max(0, remaining))),
            ("ratelimit-reset", str(reset)),
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + [
                    (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra
                ]
            await send(message)

        respond = _Responder(scope, receive, send_with_headers)
        faults = emulator.faults
        if remaining < 0:
            await respond.too_many(emulator, retry_after=reset, category_70=False)
            return
        fault = faults.decide_api_fault(scope["method"], scope["path"])
        if fault is not None and fault.kind == "reset" and reset_connection(scope):
            return
        if fault is not None and fault.kind in ("status", "reset"):
            await respond.server_error(fault.status or 500)
            return
        if fault is not None and fault.kind == "rate_limit":
            await respond.too_many(emulator, retry_after=faults.settings.retry_after)
            return
        if scope["path"] == TOKEN_PATH:
            await _hold(emulator)
            await self.app(scope, receive, send_with_headers)
            return
        token = bearer_token(headers.get("authorization"))
        if token and fault is not None and fault.kind == "expire_token":
            emulator.tokens.expire(token)
        if not token or not emulator.tokens.is_valid(token):
            await respond.unauthorized(faults.settings.unauthorized_v1_envelope)
            return
        await self._limited(emulator, scope, receive, send_with_headers, extra, respond)

    async def _limited(
        self,
        emulator: Emulator,
        scope: Scope,
        receive: Receive,
        send: Send,
        extra: list[tuple[str, str]],
        respond: _Responder,
    ) -> None:
        kind, limit = emulator.concurrency_class(scope["method"], scope["path"])
        in_flight = self.in_flight.get(kind, 0) + 1
        self.in_flight[kind] = in_flight
        try:
            extra += [
                ("Concurrency-Limit-Type", kind),
                ("Concurrency-Limit-Limit", str(limit)),
                ("Concurrency-Limit-Remaining", str(max(0, limit - in_flight))),
            ]
            if in_flight > limit:
                await respond.too_many(
                    emulator,
                    retry_after=emulator.faults.settings.retry_after,
                    version_dependent=True,
                )
                return
            # Injected latency is time spent in flight, so it counts against the limit.
            await _hold(emulator)
            await self.app(scope, receive, send)
        finally:
            self.in_flight[kind] -= 1


async def _hold(emulator: Emulator) -> None:
    delay = emulator.faults.latency()
    if delay > 0:
        await asyncio.sleep(delay)


class _Responder:
    """Builds the gateway's own answers in the envelope of the API family asked."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope, self.receive, self.send = scope, receive, send
        self.request = Request(scope, receive)

    async def _send(self, response: Response) -> None:
        await response(self.scope, self.receive, self.send)

    async def too_many(
        self,
        emulator: Emulator,
        retry_after: int,
        category_70: bool = True,
        version_dependent: bool = False,
    ) -> None:
        """429, or for an over-limit v1 call before 2024-05-20 a 200 with category 70."""
        path = self.scope["path"]
        message = "The request exceeded the limit. Retry after the time in Retry-After."
        if path.startswith("/v1") and category_70:
            response: Response = v1_error(self.request, 70, message)
        elif path.startswith("/object-query"):
            response = object_query_error(self.request, 70, message)
        else:
            response = JSONResponse({"code": error_code(70), "message": message}, 429)
        if emulator.faults.settings.retry_after_header:
            response.headers["Retry-After"] = str(retry_after)
        # Over the concurrency limit, old versions answer 200 with category 70 [UPG].
        if not (version_dependent and response.status_code == 200):
            response.status_code = 429
        await self._send(response)

    async def server_error(self, status: int) -> None:
        path = self.scope["path"]
        if status == 500 and path.startswith("/v1"):
            response: Response = v1_error(self.request, 60, "Internal error. Retry later.")
            response.status_code = 500
        elif path.startswith("/object-query"):
            response = object_query_error(self.request, 60, "Internal error. Retry later.")
            response.status_code = status
        else:
            response = JSONResponse({"message": "Service temporarily unavailable."}, status)
        if status == 503:
            response.headers["Retry-After"] = "1"
        await self._send(response)

    async def unauthorized(self, v1_envelope: bool) -> None:
        response: Any = unauthorized()
        if v1_envelope:
            response = JSONResponse(
                {
                    "success": False,
                    "reasons": [{"code": 90000011, "message": "Invalid token."}],
                },
                401,
            )
        await self._send(response)
