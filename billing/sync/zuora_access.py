"""The process-wide Zuora client, built from settings."""

import threading

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from zuora import ZuoraClient, ZuoraConfig

_lock = threading.Lock()
_client: ZuoraClient | None = None


def zuora_client() -> ZuoraClient:
    """One client per process, so its token and connection pool are shared."""
    global _client
    with _lock:
        if _client is None:
            _client = ZuoraClient(
                ZuoraConfig(
                    base_url=settings.ZUORA_BASE_URL,
                    client_id=settings.ZUORA_CLIENT_ID,
                    client_secret=settings.ZUORA_CLIENT_SECRET,
                    entity_id=settings.ZUORA_ENTITY_ID or None,
                    read_timeout=settings.ZUORA_TIMEOUT,
                    max_concurrency=settings.ZUORA_MAX_CONCURRENCY,
                    retry_deadline=settings.ZUORA_RETRY_DEADLINE,
                    max_attempts=settings.ZUORA_MAX_ATTEMPTS,
                )
            )
        return _client


@receiver(setting_changed)
def _forget_client(*, setting: str, **kwargs: object) -> None:
    global _client
    if setting.startswith("ZUORA_"):
        with _lock:
            if _client is not None:
                _client.close()
            _client = None
