"""The callout endpoints configured as in production, and a tally of the requests fuzzed."""

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings

from billing.models import CalloutReceipt, PendingSync
from config.environment import CalloutCredential

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
ACCOUNT_URL = "/api/v1/zuora/callouts/sync_account"
CONTACT_URL = "/api/v1/zuora/callouts/sync_account_contact"
CURRENT = CalloutCredential("zuora", "current-password-3b9f")
PREVIOUS = CalloutCredential("zuora-old", "previous:password-71c2")
CREDENTIALS = (CURRENT, PREVIOUS)
MAX_BODY_BYTES = 16384
HMAC_SECRET = "hmac-secret-5d0e"


def basic(user: str, password: str) -> str:
    """An Authorization header value carrying HTTP Basic credentials."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


VALID_AUTHORIZATIONS = tuple(basic(c.username, c.password) for c in CREDENTIALS)


def is_valid_authorization(value: str | None) -> bool:
    """Whether an Authorization header carries one of the configured pairs, as the view reads it."""
    if value is None:
        return False
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        presented = base64.b64decode(token.strip(), validate=True)
    except ValueError:
        return False
    return presented in {f"{c.username}:{c.password}".encode() for c in CREDENTIALS}


# derandomize: CI runs the same examples every time, so a failure is never a
# fluke of one run. The fixtures (database, settings) are shared by all
# examples on purpose: each example counts rows before and after itself.
def fuzz_settings(max_examples: int) -> settings:
    """Hypothesis settings of a fuzz test that sends `max_examples` generated requests."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


REQUESTS_SENT = [0]


def count_request() -> None:
    """Tally one fuzzed request, reported at the end of the run."""
    REQUESTS_SENT[0] += 1


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any) -> None:
    if REQUESTS_SENT[0]:
        terminalreporter.write_line(f"fuzz: {REQUESTS_SENT[0]} generated requests sent")


def recorded() -> tuple[int, int]:
    """How many callout receipts and pending syncs there are."""
    return CalloutReceipt.objects.count(), PendingSync.objects.count()


@pytest.fixture(autouse=True)
def callout_settings(settings: Any) -> Any:
    settings.ZUORA_CALLOUT_CREDENTIALS = CREDENTIALS
    settings.ZUORA_CALLOUT_REALM = "zuora-callouts-fuzz"
    settings.ZUORA_CALLOUT_HMAC_SECRET = ""
    settings.ZUORA_CALLOUT_HMAC_HEADER = "X-Zuora-Signature"
    settings.ZUORA_CALLOUT_ALLOWED_NETWORKS = ()
    settings.ZUORA_CALLOUT_MAX_BODY_BYTES = MAX_BODY_BYTES
    return settings


@pytest.fixture
def zuora(db: None) -> Client:
    """A client that, like Zuora, never carries a CSRF token."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def in_test_transaction(db: None) -> Iterator[None]:
    """Keep the test's transaction open across requests made through the WSGI handler.

    A real server closes a connection left outside autocommit at the start and
    end of each request; Django's test client disconnects that handler, and so
    must a test calling the WSGI application itself.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
