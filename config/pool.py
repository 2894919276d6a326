"""The health check of pooled PostgreSQL connections, at most once a second per connection.

Django gives a pool `ConnectionPool.check_connection` when health checks are
on, and the pool runs it every time it hands a connection out: an empty query,
one round trip before every request's first statement. A callout's request
makes one statement of its own, so that check was half of its round trips.
A connection handed out again within `interval` seconds of its last check is
trusted instead; one that broke meanwhile fails its request's statement, which
Django reports as a database error (a callout is answered 503 and retried by
Zuora) and the pool discards the connection when it comes back.
"""

import threading
import time
import weakref
from typing import Any

_last_checked: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


class ThrottledCheck:
    """A `check` for psycopg_pool that runs its check at most every `interval` seconds."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval

    def __call__(self, connection: Any) -> None:
        from psycopg_pool import ConnectionPool

        now = time.monotonic()
        with _lock:
            last = _last_checked.get(connection)
        if last is not None and now - last < self.interval and not connection.broken:
            return
        ConnectionPool.check_connection(connection)
        with _lock:
            _last_checked[connection] = now

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ThrottledCheck) and other.interval == self.interval

    def __hash__(self) -> int:
        return hash((ThrottledCheck, self.interval))

    def __repr__(self) -> str:
        return f"ThrottledCheck(interval={self.interval})"
