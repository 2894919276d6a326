"""Client for the parts of Zuora's API that the account and contact sync needs."""

from zuora.client import ZuoraClient
from zuora.config import ZuoraConfig
from zuora.errors import (
    ZuoraAuthenticationError,
    ZuoraError,
    ZuoraNotFound,
    ZuoraPermanentError,
    ZuoraRateLimited,
    ZuoraResponseError,
    ZuoraTransientError,
)
from zuora.models import ZuoraAccount, ZuoraContact

__all__ = [
    "ZuoraAccount",
    "ZuoraAuthenticationError",
    "ZuoraClient",
    "ZuoraConfig",
    "ZuoraContact",
    "ZuoraError",
    "ZuoraNotFound",
    "ZuoraPermanentError",
    "ZuoraRateLimited",
    "ZuoraResponseError",
    "ZuoraTransientError",
]
