"""OAuth access token: fetched lazily, cached, refreshed before expiry, shared by all threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from zuora.errors import ZuoraResponseError

# Used when Zuora omits expires_in: short enough to be safe, long enough to cache.
_DEFAULT_LIFETIME = 300.0


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A bearer token and how long Zuora said it lives."""

    value: str = field(repr=False)
    expires_in: float


def parse_token_response(body: object) -> AccessToken:
    """Read ``access_token`` and ``expires_in`` from ``POST /oauth/token``'s JSON."""
    if not isinstance(body, dict):
        raise ZuoraResponseError("token: expected a JSON object", field="token")
    value = body.get("access_token")
    if not isinstance(value, str) or not value:
        raise ZuoraResponseError(
            "token.access_token: expected a non-empty string", field="token.access_token"
        )
    expires_in = body.get("expires_in", _DEFAULT_LIFETIME)
    if isinstance(expires_in, str) and expires_in.isdigit():
        expires_in = int(expires_in)
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        raise ZuoraResponseError(
            "token.expires_in: expected a number of seconds", field="token.expires_in"
        )
    return AccessToken(value=value, expires_in=float(expires_in))


class TokenCache:
    """Holds one token for the process; one thread fetches while the others wait for it."""

    def __init__(
        self,
        fetch: Callable[[], AccessToken],
        *,
        refresh_margin: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._refresh_margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0

    def get(self) -> str:
        """The cached token, fetching a new one first if there is none or it is about to expire."""
        with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                return self._store(self._fetch())
            return self._token

    def invalidate(self, rejected: str) -> None:
        """Forget ``rejected`` after a 401, unless another thread already replaced it."""
        with self._lock:
            if self._token == rejected:
                self._token = None

    def _store(self, token: AccessToken) -> str:
        # Never wait until the last second (clock skew, slow requests), but
        # with very short lifetimes keep at least half of it usable.
        margin = min(self._refresh_margin, token.expires_in / 2)
        self._token = token.value
        self._refresh_at = self._clock() + token.expires_in - margin
        return token.value
