"""HTTP to Zuora: auth header, retries, the concurrency cap, track ids, logging and metrics.

One :class:`Transport` is shared by all threads of a process. Each logical
call gets one ``Zuora-Track-Id`` that stays the same over its retries, so a
support case can follow it. Logs carry the path *template*, never the
concrete URL or query string, so no filter values or keys end up there.
"""

from __future__ import annotations

import http.cookiejar
import logging
import random
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import stamina

from zuora.auth import AccessToken, TokenCache, parse_token_response
from zuora.config import ZuoraConfig
from zuora.errors import (
    ZuoraAuthenticationError,
    ZuoraError,
    ZuoraPermanentError,
    ZuoraResponseError,
    ZuoraTransientError,
    error_from_response,
    is_failure_body,
)
from zuora.metrics import IN_FLIGHT, RETRIES, CallCounter

logger = logging.getLogger("zuora")

OAUTH_TOKEN_PATH = "/oauth/token"  # noqa: S105 -- a URL path, not a secret

_limiters: dict[tuple[str, str | None, int], threading.BoundedSemaphore] = {}
_limiters_lock = threading.Lock()


def process_limiter(config: ZuoraConfig) -> threading.BoundedSemaphore:
    """The semaphore shared by every client of this process for one tenant (and cap)."""
    # Zuora counts concurrency per tenant (or entity), so clients of the same
    # tenant share one cap; a different cap gets its own semaphore rather
    # than silently overriding the first one.
    key = (config.base_url, config.entity_id, config.max_concurrency)
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            limiter = _limiters[key] = threading.BoundedSemaphore(config.max_concurrency)
        return limiter


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One logical call: what to log (``path_template``) and what to send (``path``, ``query``)."""

    operation: str
    method: str
    path_template: str
    path_params: Mapping[str, str] = field(default_factory=dict)
    query: str = ""
    track_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def url(self) -> str:
        """Path with its parameters percent-encoded (an account number may hold ``/``)."""
        path = self.path_template.format_map(
            {name: quote(value, safe="") for name, value in self.path_params.items()}
        )
        return f"{path}?{self.query}" if self.query else path


class _NoCookies(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing: calls carry the OAuth token, never a session
    cookie. httpx reads every response's cookies into its jar otherwise (about
    3 % of a worker's CPU per sync), and would send a load balancer's cookie back."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return None


class Transport:
    """Sends requests to one Zuora tenant with retries, a shared token and a concurrency cap."""

    def __init__(
        self, config: ZuoraConfig, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.config = config
        self.calls = CallCounter()
        self._limiter = process_limiter(config)
        self._http = httpx.Client(
            base_url=config.base_url,
            timeout=httpx.Timeout(
                connect=config.connect_timeout,
                read=config.read_timeout,
                write=config.read_timeout,
                pool=config.connect_timeout,
            ),
            # The cap bounds requests; the extra connections serve token fetches.
            limits=httpx.Limits(
                max_connections=config.max_concurrency + 2,
                max_keepalive_connections=config.max_concurrency,
            ),
            headers=self._common_headers(),
            cookies=_NoCookies(),
            transport=transport,
        )
        self._tokens = TokenCache(self._fetch_token, refresh_margin=config.token_refresh_margin)

    def _common_headers(self) -> dict[str, str]:
        headers = {
            "Accept": "application/json",
            "User-Agent": self.config.user_agent,
            "Zuora-Version": self.config.zuora_version,
        }
        if self.config.entity_id:
            headers["Zuora-Entity-Ids"] = self.config.entity_id
        return headers

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def request_json(self, request: ApiRequest) -> Any:
        """Perform ``request`` with retries; return its decoded JSON body or raise ZuoraError."""
        started = time.monotonic()
        attempt_number = 0

        def backoff(error: Exception) -> bool | float:
            return self._backoff(request, error, attempt_number, started)

        for attempt in stamina.retry_context(
            on=backoff,
            attempts=self.config.max_attempts,
            timeout=self.config.retry_deadline,
        ):
            with attempt:
                attempt_number = attempt.num
                return self._attempt(request, attempt_number)
        raise AssertionError("unreachable: stamina re-raises the last error")

    def _backoff(
        self, request: ApiRequest, error: Exception, attempt: int, started: float
    ) -> bool | float:
        """Seconds to wait before the next attempt, or False to give up now."""
        if not isinstance(error, ZuoraError) or not error.retryable:
            return False
        if attempt >= self.config.max_attempts:
            return False
        if error.retry_after is not None:
            wait = error.retry_after
        else:
            # Full jitter spreads the retries of many workers hit by one outage.
            ceiling = min(self.config.max_backoff, self.config.backoff_base * 2 ** (attempt - 1))
            wait = random.uniform(0, ceiling)  # noqa: S311 -- jitter, not security
        if time.monotonic() - started + wait > self.config.retry_deadline:
            # Sleeping past the deadline would only delay the same outcome;
            # the caller sees retry_after and can reschedule the work.
            return False
        RETRIES.labels(operation=request.operation, error=type(error).__name__).inc()
        logger.warning(
            "zuora request failed, retrying",
            extra={
                "operation": request.operation,
                "method": request.method,
                "path": request.path_template,
                "status": error.status,
                "outcome": type(error).__name__,
                "duration_ms": None,
                "track_id": request.track_id,
                "request_id": error.request_id,
                "attempt": attempt,
                "wait_seconds": round(wait, 3),
            },
        )
        return wait

    def _attempt(self, request: ApiRequest, attempt: int) -> Any:
        token = self._tokens.get()
        try:
            return self._exchange_capped(request, token, attempt)
        except ZuoraAuthenticationError:
            # Zuora's advice: a 401 may be an expired or revoked token; get a
            # new one and try once more before calling it an auth failure.
            self._tokens.invalidate(token)
            return self._exchange_capped(request, self._tokens.get(), attempt)

    def _exchange_capped(self, request: ApiRequest, token: str, attempt: int) -> Any:
        if not self._limiter.acquire(timeout=self.config.retry_deadline):
            raise ZuoraTransientError(
                f"{request.method} {request.path_template}: no free slot in the concurrency cap"
            )
        IN_FLIGHT.inc()
        try:
            return self._exchange(request, attempt, headers={"Authorization": f"Bearer {token}"})
        finally:
            IN_FLIGHT.dec()
            self._limiter.release()

    def _exchange(
        self,
        request: ApiRequest,
        attempt: int,
        *,
        headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> Any:
        """One HTTP exchange, logged and counted; returns the JSON body or raises ZuoraError."""
        start = time.monotonic()
        outcome = "connection_error"
        status: int | None = None
        request_id: str | None = None
        try:
            try:
                response = self._http.request(
                    request.method,
                    request.url,
                    headers={"Zuora-Track-Id": request.track_id, **(headers or {})},
                    data=form,
                )
            except httpx.TimeoutException as exc:
                outcome = "timeout"
                raise ZuoraTransientError(
                    f"{request.method} {request.path_template}: timed out ({type(exc).__name__})"
                ) from exc
            except httpx.TransportError as exc:
                raise ZuoraTransientError(
                    f"{request.method} {request.path_template}: connection failed "
                    f"({type(exc).__name__})"
                ) from exc
            status = response.status_code
            outcome = str(status)
            request_id = response.headers.get("zuora-request-id")
            try:
                return _decode(request, response)
            except ZuoraError as error:
                if response.is_success:
                    # The HTTP status hid the failure; count it as what it was.
                    outcome = type(error).__name__
                raise
        finally:
            self._record(request, attempt, outcome, status, request_id, start)

    def _record(
        self,
        request: ApiRequest,
        attempt: int,
        outcome: str,
        status: int | None,
        request_id: str | None,
        start: float,
    ) -> None:
        duration = time.monotonic() - start
        self.calls.record(request.operation, outcome, duration)
        # A 404 is an ordinary answer for the sync (the object was deleted).
        expected = outcome == str(status) and (status < 400 or status == 404)
        logger.log(
            logging.INFO if expected else logging.WARNING,
            "zuora request",
            extra={
                "operation": request.operation,
                "method": request.method,
                "path": request.path_template,
                "status": status,
                "outcome": outcome,
                "duration_ms": round(duration * 1000, 1),
                "track_id": request.track_id,
                "request_id": request_id,
                "attempt": attempt,
            },
        )

    def _fetch_token(self) -> AccessToken:
        """``POST /oauth/token``; not under the concurrency cap, which Zuora exempts it from."""
        request = ApiRequest(operation="oauth_token", method="POST", path_template=OAUTH_TOKEN_PATH)
        form = {
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
            "grant_type": "client_credentials",
        }
        try:
            body = self._exchange(request, attempt=1, form=form)
        except ZuoraPermanentError as error:
            # Zuora does not document its answer to bad client credentials;
            # any 4xx here means the credentials or the OAuth client are wrong.
            if isinstance(error, ZuoraResponseError):
                raise
            raise ZuoraAuthenticationError(
                f"POST {OAUTH_TOKEN_PATH} -> HTTP {error.status}: credentials refused",
                status=error.status,
                request_id=error.request_id,
                codes=error.codes,
            ) from error
        return parse_token_response(body)


def _decode(request: ApiRequest, response: httpx.Response) -> Any:
    """The JSON body of a successful response, or the ZuoraError it stands for."""
    try:
        body = response.json()
    except ValueError:
        if response.is_success:
            raise ZuoraResponseError(
                f"{request.method} {request.path_template}: response body is not JSON",
                field="body",
                status=response.status_code,
                request_id=response.headers.get("zuora-request-id"),
            ) from None
        body = None
    if response.is_success and not is_failure_body(body):
        return body
    raise error_from_response(
        status=response.status_code,
        headers=response.headers,
        body=body,
        method=request.method,
        path_template=request.path_template,
    )
