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
from dataclasses import dataclass
from typing import Any

_last_checked: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


@dataclass(frozen=True)
class ThrottledCheck:
    """A `check` for psycopg_pool that runs its check at most every `interval` seconds."""

    interval: float = 1.0

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
