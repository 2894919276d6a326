"""Fault injection: what goes wrong, how often, decided by a seeded generator.

API faults (latency, 429, 5xx, connection resets, early token expiry) are decided per
request by :meth:`FaultInjector.decide_api_fault`; callout faults (drop, duplicate, delay,
reorder) are read by the callout sender. Probabilities are drawn from one
``random.Random(seed)``, so a client that sends the same requests in the same order sees
the same faults. ``script`` entries fire deterministically on the next matching requests.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from dataclasses import dataclass, field
from typing import Any

API_FAULT_KINDS = ("status", "rate_limit", "reset", "expire_token")


@dataclass
class FaultSettings:
    """The current fault configuration; every field can be changed live."""

    seed: int = 0
    # Added to every API response, in seconds (plus up to ``latency_jitter``).
    latency: float = 0.0
    latency_jitter: float = 0.0
    # Share of API requests answered 429 with category 70.
    rate_limit_probability: float = 0.0
    retry_after: int = 1
    # False reproduces the [RL] sample: a 429 without Retry-After.
    retry_after_header: bool = True
    # Lowers Zuora's concurrency limits (40 / 80 / 200) to this many in-flight requests.
    concurrency_limit: int | None = None
    error_probability: float = 0.0
    error_statuses: list[int] = field(default_factory=lambda: [500, 502, 503])
    reset_probability: float = 0.0
    token_expiry_probability: float = 0.0
    # A 401 in the v1 envelope with code 90000011 instead of {"message": ...}.
    unauthorized_v1_envelope: bool = False
    # Only requests whose path starts with one of these get random faults (None: all).
    paths: list[str] | None = None
    # Deterministic faults: [{"fault": "status", "status": 503, "times": 2, "path": "/v1"}]
    script: list[dict[str, Any]] = field(default_factory=list)
    callout_drop_probability: float = 0.0
    callout_duplicate_probability: float = 0.0
    callout_delay: float = 0.0
    callout_reorder: bool = False
    # Callouts raised within this many seconds are released together, shuffled.
    callout_reorder_window: float = 0.5


@dataclass(frozen=True)
class ApiFault:
    """One decided fault: ``kind`` in API_FAULT_KINDS, ``status`` for kind "status"."""

    kind: str
    status: int = 0


class FaultInjector:
    """Thread-safe holder of :class:`FaultSettings` and the generator behind them."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self.settings = FaultSettings()
        self.rng = random.Random(0)
        self.replace(settings or {})

    def replace(self, values: dict[str, Any]) -> FaultSettings:
        """Reset every fault to its default, then apply ``values``."""
        with self._lock:
            self.settings = FaultSettings()
        settings = self.update(values)
        with self._lock:
            self.rng = random.Random(self.settings.seed)
        return settings

    def update(self, values: dict[str, Any]) -> FaultSettings:
        """Change only the given fault settings; raises ``ValueError`` on unknown names."""
        known = {f.name for f in dataclasses.fields(FaultSettings)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"Unknown fault settings: {', '.join(sorted(unknown))}")
        for entry in values.get("script", []):
            if entry.get("fault") not in API_FAULT_KINDS:
                raise ValueError(f"Script fault must be one of {API_FAULT_KINDS}: {entry}")
        with self._lock:
            self.settings = dataclasses.replace(self.settings, **values)
            self.settings.script = [dict(e) for e in self.settings.script]
            if "seed" in values:
                self.rng = random.Random(self.settings.seed)
            return dataclasses.replace(self.settings)

    def snapshot(self) -> dict[str, Any]:
        """The current settings as JSON-ready data."""
        with self._lock:
            return dataclasses.asdict(self.settings)

    def chance(self, probability: float) -> bool:
        """Draw from the seeded generator: True with this probability."""
        if probability <= 0:
            return False
        with self._lock:
            return self.rng.random() < probability

    def shuffle(self, items: list[Any]) -> None:
        """Shuffle in place with the seeded generator."""
        with self._lock:
            self.rng.shuffle(items)

    def latency(self) -> float:
        """Seconds to hold the current API request."""
        with self._lock:
            s = self.settings
            jitter = self.rng.uniform(0, s.latency_jitter) if s.latency_jitter > 0 else 0.0
            return s.latency + jitter

    def decide_api_fault(self, method: str, path: str) -> ApiFault | None:
        """Which fault (if any) the next API request gets."""
        with self._lock:
            s = self.settings
            for entry in s.script:
                if not path.startswith(entry.get("path", "")):
                    continue
                if entry.get("method") and entry["method"].upper() != method:
                    continue
                entry["times"] = int(entry.get("times", 1)) - 1
                if entry["times"] <= 0:
                    s.script.remove(entry)
                return ApiFault(entry["fault"], int(entry.get("status", 0)))
            if s.paths is not None and not any(path.startswith(p) for p in s.paths):
                return None
            draws = (
                ("reset", s.reset_probability),
                ("rate_limit", s.rate_limit_probability),
                ("status", s.error_probability),
                ("expire_token", s.token_expiry_probability),
            )
            for kind, probability in draws:
                if probability > 0 and self.rng.random() < probability:
                    status = self.rng.choice(s.error_statuses) if kind == "status" else 0
                    return ApiFault(kind, status)
        return None
