"""Connection settings for the Zuora client: environments by name, credentials and knobs."""

from __future__ import annotations

from dataclasses import dataclass, field

# Hosts from Zuora's API introduction. Both our own descriptive names and the
# names of the official SDK's ``ZuoraEnvironment`` are accepted, so settings
# copied from either source work.
ENVIRONMENTS: dict[str, str] = {
    # US Developer & Central Sandbox
    "US_CENTRAL_SANDBOX": "https://rest.test.zuora.com",
    "US_DEVELOPER_SANDBOX": "https://rest.test.zuora.com",
    "CSBX": "https://rest.test.zuora.com",
    # US API Sandbox (Cloud 2 is what Zuora calls plain "sandbox")
    "US_SANDBOX": "https://rest.apisandbox.zuora.com",
    "US_SANDBOX_CLOUD2": "https://rest.apisandbox.zuora.com",
    "SBX": "https://rest.apisandbox.zuora.com",
    "US_SANDBOX_CLOUD1": "https://rest.sandbox.na.zuora.com",
    "SBX_NA": "https://rest.sandbox.na.zuora.com",
    # US Production
    "US_PRODUCTION": "https://rest.zuora.com",
    "US_PRODUCTION_CLOUD2": "https://rest.zuora.com",
    "PROD": "https://rest.zuora.com",
    "US_PRODUCTION_CLOUD1": "https://rest.na.zuora.com",
    "PROD_NA": "https://rest.na.zuora.com",
    # EU
    "EU_CENTRAL_SANDBOX": "https://rest.test.eu.zuora.com",
    "EU_DEVELOPER_SANDBOX": "https://rest.test.eu.zuora.com",
    "CSBX_EU": "https://rest.test.eu.zuora.com",
    "EU_SANDBOX": "https://rest.sandbox.eu.zuora.com",
    "SBX_EU": "https://rest.sandbox.eu.zuora.com",
    "EU_PRODUCTION": "https://rest.eu.zuora.com",
    "PROD_EU": "https://rest.eu.zuora.com",
    # APAC
    "APAC_CENTRAL_SANDBOX": "https://rest.test.ap.zuora.com",
    "APAC_DEVELOPER_SANDBOX": "https://rest.test.ap.zuora.com",
    "CSBX_AP": "https://rest.test.ap.zuora.com",
    "APAC_PRODUCTION": "https://rest.ap.zuora.com",
    "PROD_AP": "https://rest.ap.zuora.com",
}

# The dated version makes every error come back with a real HTTP status and
# Object Query errors with one body shape; older tenants default to 186.0,
# which answers most errors with 200 and ``success: false``.
ZUORA_VERSION = "2025-08-12"


def resolve_base_url(base_url: str) -> str:
    """Return the API root for an environment name (``US_PRODUCTION``, ``PROD_EU``…) or URL."""
    candidate = base_url.strip()
    if candidate.startswith(("http://", "https://")):
        return candidate.rstrip("/")
    name = candidate.upper().replace("-", "_")
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        names = ", ".join(sorted(ENVIRONMENTS))
        msg = f"unknown Zuora environment {base_url!r}: use an http(s) URL or one of {names}"
        raise ValueError(msg) from None


@dataclass(frozen=True)
class ZuoraConfig:
    """Everything the client needs; built by the caller (the Django side reads settings)."""

    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    # Needed only when multi-entity is on and the OAuth client spans entities.
    entity_id: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    # Zuora allows 40 concurrent requests per tenant (80 for Object Query);
    # staying well below leaves room for other integrations of the tenant.
    # Process-wide: clients with the same base_url, entity_id and cap share it.
    max_concurrency: int = 10
    # Both bound one request (one page of a list), counting the first attempt;
    # a wait that would end past the deadline is not started, and the error
    # (with its retry_after) goes to the caller instead.
    max_attempts: int = 5
    retry_deadline: float = 60.0
    # Full-jitter backoff: attempt n waits uniform(0, min(max_backoff, backoff_base * 2**(n-1))).
    backoff_base: float = 0.5
    max_backoff: float = 30.0
    # Refresh this long before the token expires (at most half its lifetime).
    token_refresh_margin: float = 60.0
    user_agent: str = "zuora-sync"
    zuora_version: str = ZUORA_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", resolve_base_url(self.base_url))
        if not self.client_id or not self.client_secret:
            raise ValueError("Zuora client_id and client_secret must not be empty")
        for name in ("connect_timeout", "read_timeout", "retry_deadline", "max_backoff"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ZuoraConfig.{name} must be positive")
        if self.backoff_base < 0 or self.token_refresh_margin < 0:
            raise ValueError("ZuoraConfig.backoff_base and token_refresh_margin must be >= 0")
        if self.max_concurrency < 1 or self.max_attempts < 1:
            raise ValueError("ZuoraConfig.max_concurrency and max_attempts must be >= 1")
