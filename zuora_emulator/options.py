"""Every knob of the emulator, with the defaults the facts sheet recommends."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from zuora_emulator.clock import DEFAULT_TENANT_TIMEZONE


@dataclass
class EmulatorOptions:
    """Start-up configuration; the CLI flags and ``running_emulator(**options)`` map here.

    Credentials left as ``None`` are derived from ``seed`` so that a restarted emulator
    accepts the same client id and secret.
    """

    seed: int = 0
    accounts: int = 0
    client_id: str | None = None
    client_secret: str | None = None
    token_lifetime: float = 3599
    tenant_timezone: str = DEFAULT_TENANT_TIMEZONE
    # A tenant that was never upgraded runs 186.0, where v1 errors answer 200 [VER].
    default_version: str = "186.0"
    callout_base_url: str | None = None
    callout_definitions: list[dict[str, Any]] | None = None
    callout_auth: dict[str, Any] | None = None
    callout_attempts: int = 3
    callout_interval: float = 1800.0
    callout_timeout: float = 25.0
    callout_concurrency: int = 50
    faults: dict[str, Any] = field(default_factory=dict)
    state_file: str | None = None
    bump_updated_date: bool = True
    refuse_referenced_contact_delete: bool = True
    account_delete_delay: float = 1.0
    rate_limit_per_minute: int = 50_000
    concurrency_limit: int = 40
    object_query_concurrency_limit: int = 80
    high_volume_concurrency_limit: int = 200

    def __post_init__(self) -> None:
        rng = random.Random(f"credentials-{self.seed}")
        if self.client_id is None:
            self.client_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if self.client_secret is None:
            alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
            self.client_secret = "".join(rng.choice(alphabet) for _ in range(40))
