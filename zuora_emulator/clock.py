"""Time as Zuora shows it: whole seconds, rendered in the tenant's time zone."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime
from datetime import time as dtime
from zoneinfo import ZoneInfo

DEFAULT_TENANT_TIMEZONE = "America/Los_Angeles"


class Clock:
    """Whole-second wall clock that tests can move forward.

    Zuora stores timestamps to the second, so two changes in the same second share one
    ``updatedDate``; the clock never hands out fractions for that reason.
    """

    def __init__(self, tenant_timezone: str = DEFAULT_TENANT_TIMEZONE) -> None:
        self.tz = ZoneInfo(tenant_timezone)
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> int:
        """Current instant as whole epoch seconds (shifted by any advance)."""
        with self._lock:
            return int(time.time() + self._offset)

    def advance(self, seconds: float) -> int:
        """Move the clock forward by ``seconds``; returns the new time."""
        with self._lock:
            self._offset += seconds
        return self.now()

    def render(self, epoch: int | None) -> str | None:
        """Render an instant the way Object Query does: ``2025-02-20T00:15:49-08:00``."""
        if epoch is None:
            return None
        return datetime.fromtimestamp(epoch, self.tz).isoformat(timespec="seconds")

    def parse(self, text: str) -> int:
        """Parse an ISO datetime or date to epoch seconds.

        A value without an offset is read as tenant time, as Zuora does. ``Z`` and numeric
        offsets are accepted; a ``+`` that a query string turned into a space is repaired.
        Raises ``ValueError`` on anything else.
        """
        value = text.strip()
        if len(value) > 19 and value[19] == " ":
            value = value[:19] + "+" + value[20:]
        if value.endswith(("Z", "z")):
            value = value[:-1] + "+00:00"
        if len(value) == 10:
            parsed = datetime.combine(date.fromisoformat(value), dtime(0, 0))
        else:
            parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self.tz)
        return int(parsed.timestamp())


def utc_iso(epoch: float) -> str:
    """Render an instant in UTC for the emulator's own (non-Zuora) listings."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")
