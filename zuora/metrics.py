"""Request counts by operation and outcome: Prometheus metrics plus an in-process snapshot.

``operation`` is a stable name (``get_account``, ``get_contact``,
``query_accounts``, ``query_contacts``, ``oauth_token``). ``outcome`` is the
HTTP status as text (``"200"``, ``"404"``, ``"429"``), the error class name
when a 2xx body carried an error (``"ZuoraNotFound"``), or ``"timeout"`` /
``"connection_error"`` when no response came back. Every HTTP attempt is
counted, retries included.
"""

from __future__ import annotations

import threading
from collections import Counter as _Tally

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "zuora_client_requests",
    "HTTP requests made to Zuora, by operation and outcome (retries included).",
    ["operation", "outcome"],
)
REQUEST_DURATION = Histogram(
    "zuora_client_request_duration_seconds",
    "Duration of HTTP requests to Zuora, by operation.",
    ["operation"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
RETRIES = Counter(
    "zuora_client_retries",
    "Retries scheduled after a failed attempt, by operation and error class.",
    ["operation", "error"],
)
IN_FLIGHT = Gauge(
    "zuora_client_requests_in_flight",
    "Requests to Zuora currently holding a slot of the concurrency cap.",
)


class CallCounter:
    """Thread-safe tally of requests by ``(operation, outcome)``, for tests and status pages."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tally: _Tally[tuple[str, str]] = _Tally()

    def record(self, operation: str, outcome: str, duration: float) -> None:
        """Count one attempt here and in the process-wide Prometheus metrics."""
        with self._lock:
            self._tally[(operation, outcome)] += 1
        REQUESTS.labels(operation=operation, outcome=outcome).inc()
        REQUEST_DURATION.labels(operation=operation).observe(duration)

    def snapshot(self) -> dict[tuple[str, str], int]:
        """A copy of the counts so far."""
        with self._lock:
            return dict(self._tally)
