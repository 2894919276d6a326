"""A callout endpoint configured as in production: two credential pairs, no HMAC, any network."""

import base64
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from billing.models import CalloutReceipt, PendingSync
from config.environment import CalloutCredential

ACCOUNT_URL = "/api/v1/zuora/callouts/sync_account"
CONTACT_URL = "/api/v1/zuora/callouts/sync_account_contact"
REALM = "zuora-callouts-test"
CURRENT = CalloutCredential("zuora", "current-password-3b9f")
PREVIOUS = CalloutCredential("zuora-old", "previous:password-71c2")


def basic(user: str, password: str) -> dict[str, str]:
    """Headers carrying HTTP Basic credentials, as Zuora sends them."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


AUTHORIZED = basic(CURRENT.username, CURRENT.password)


def recorded() -> tuple[int, int]:
    """How many callout receipts and pending syncs there are."""
    return CalloutReceipt.objects.count(), PendingSync.objects.count()


@pytest.fixture(autouse=True)
def callout_settings(settings: Any) -> Any:
    settings.ZUORA_CALLOUT_CREDENTIALS = (CURRENT, PREVIOUS)
    settings.ZUORA_CALLOUT_REALM = REALM
    settings.ZUORA_CALLOUT_HMAC_SECRET = ""
    settings.ZUORA_CALLOUT_HMAC_HEADER = "X-Zuora-Signature"
    settings.ZUORA_CALLOUT_ALLOWED_NETWORKS = ()
    settings.ZUORA_CALLOUT_MAX_BODY_BYTES = 16384
    return settings


@pytest.fixture
def zuora(db: None) -> Client:
    """A client that, like Zuora, never carries a CSRF token."""
    return Client(enforce_csrf_checks=True)


def post_json(client: Client, url: str, document: object, **headers: str) -> Any:
    return client.post(
        url, data=json.dumps(document), content_type="application/json", headers=headers
    )


def post_form(client: Client, url: str, fields: dict[str, str], **extra: Any) -> Any:
    return client.post(
        url, urlencode(fields), content_type="application/x-www-form-urlencoded", **extra
    )
