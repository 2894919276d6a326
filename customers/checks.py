"""System checks for the portal's outgoing links."""

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.compatibility)
def check_portal_base_url(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Any]:
    """Invitations need links that work outside this machine."""
    if settings.DEBUG or not settings.SOLD_TO_PROVISIONING_ENABLED:
        return []
    if settings.PORTAL_BASE_URL_FROM_ENVIRONMENT:
        return []
    return [
        checks.Warning(
            "PORTAL_BASE_URL is not set: links in invitation emails point to "
            f"{settings.PORTAL_BASE_URL}.",
            hint="Set PORTAL_BASE_URL to the portal's public address, e.g. "
            "https://portal.example.com.",
            id="customers.W001",
        )
    ]
