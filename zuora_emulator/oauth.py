"""``POST /oauth/token`` (client credentials) and the bearer tokens it hands out."""

from __future__ import annotations

import secrets
import threading
import time
import urllib.parse
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class TokenStore:
    """Live tokens and their expiry. Zuora documents no cap on live tokens, so none here."""

    def __init__(self, lifetime: float) -> None:
        self.lifetime = lifetime
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> tuple[str, float]:
        """A new token and its lifetime in seconds."""
        token = secrets.token_hex(16)
        with self._lock:
            now = time.monotonic()
            # Forget expired tokens now and then so the map does not grow without bound.
            if len(self._expiry) > 10_000:
                self._expiry = {t: e for t, e in self._expiry.items() if e > now}
            self._expiry[token] = now + self.lifetime
        return token, self.lifetime

    def is_valid(self, token: str) -> bool:
        """True while the token exists and has not expired."""
        with self._lock:
            expiry = self._expiry.get(token)
        return expiry is not None and expiry > time.monotonic()

    def expire(self, token: str) -> None:
        """End one token early (fault injection)."""
        with self._lock:
            self._expiry.pop(token, None)

    def expire_all(self) -> int:
        """End every live token early; returns how many there were."""
        with self._lock:
            count = len(self._expiry)
            self._expiry.clear()
        return count


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header, or ``""``."""
    if not authorization:
        return ""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def unauthorized() -> JSONResponse:
    """Zuora's 401 body for a missing, invalid or expired token [sdk:ProxyUnauthorized]."""
    return JSONResponse({"message": "Authentication error"}, status_code=401)


async def create_token(request: Request) -> Response:
    """``POST /oauth/token``: form-encoded client credentials → bearer token [TOK]."""
    emulator = request.app.state.emulator
    if any(h in request.headers for h in ("authorization", "apiaccesskeyid")):
        return JSONResponse(
            {"code": 400, "message": "Authorization headers are not allowed here."}, 400
        )
    # Parsed by hand: Starlette's form parser needs python-multipart for no gain here.
    form = dict(urllib.parse.parse_qsl((await request.body()).decode("utf-8", "replace")))
    grant_type = form.get("grant_type")
    client_id = form.get("client_id")
    client_secret = form.get("client_secret")
    if not grant_type or not client_id or not client_secret:
        return JSONResponse(
            {"code": 400, "message": "client_id, client_secret and grant_type are required."},
            400,
        )
    if grant_type != "client_credentials":
        return JSONResponse({"code": 400, "message": "Unsupported grant_type."}, 400)
    options = emulator.options
    # Bad credentials: undocumented, so 401 with Zuora's {message} shape (Gaps #4).
    if not (
        secrets.compare_digest(str(client_id), options.client_id)
        and secrets.compare_digest(str(client_secret), options.client_secret)
    ):
        return JSONResponse({"message": "Authentication error"}, status_code=401)
    token, lifetime = emulator.tokens.issue()
    # One fixed entity per tenant, derived from the tenant's API user id.
    entity = uuid.UUID(int=int(emulator.state.api_user_id, 16))
    return JSONResponse(
        {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": int(lifetime),
            "scope": (
                f"user.{emulator.state.api_user_id} entity.{entity} "
                f"entity.{entity}.read platform.write service.usage.delete tenant.9999"
            ),
            "jti": token,
        }
    )
