"""HMAC-SHA256 signatures over the raw body, when a secret is configured."""

import base64
import hashlib
import hmac
import json

import pytest
from django.test import Client

from tests.callouts.conftest import ACCOUNT_URL, AUTHORIZED, recorded
from tests.factories import zuora_id

SECRET = "hmac-secret-for-tests"
HEADER = "X-Callout-Signature"


@pytest.fixture(autouse=True)
def hmac_settings(settings) -> None:
    settings.ZUORA_CALLOUT_HMAC_SECRET = SECRET
    settings.ZUORA_CALLOUT_HMAC_HEADER = HEADER


def signature(body: bytes, *, secret: str = SECRET) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def send(client: Client, body: bytes, **headers: str):
    return client.post(
        ACCOUNT_URL, data=body, content_type="application/json", headers=AUTHORIZED | headers
    )


def account_body() -> bytes:
    return json.dumps({"AccountId": zuora_id()}).encode()


def test_body_signed_in_base64_is_recorded(zuora: Client) -> None:
    body = account_body()

    response = send(zuora, body, **{HEADER: base64.b64encode(signature(body)).decode()})

    assert response.status_code == 200
    assert recorded() == (1, 1)


@pytest.mark.parametrize("case", [str.lower, str.upper], ids=["lower", "upper"])
def test_body_signed_in_hex_is_recorded(zuora: Client, case) -> None:
    body = account_body()

    response = send(zuora, body, **{HEADER: case(signature(body).hex())})

    assert response.status_code == 200
    assert recorded() == (1, 1)


def test_missing_signature_is_refused_with_403(zuora: Client) -> None:
    response = send(zuora, account_body())

    assert response.status_code == 403
    assert HEADER in response.json()["error"]
    assert recorded() == (0, 0)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(base64.b64encode(signature(b"other", secret="other")).decode(), id="base64"),
        pytest.param(signature(b"other").hex(), id="hex"),
        pytest.param("not a signature", id="garbage"),
        pytest.param(base64.b64encode(b"short").decode(), id="wrong-length"),
    ],
)
def test_wrong_signature_is_refused_with_403(zuora: Client, value: str) -> None:
    response = send(zuora, account_body(), **{HEADER: value})

    assert response.status_code == 403
    assert recorded() == (0, 0)


def test_signature_made_with_another_secret_is_refused(zuora: Client) -> None:
    body = account_body()

    response = send(zuora, body, **{HEADER: signature(body, secret="old-secret").hex()})

    assert response.status_code == 403
    assert recorded() == (0, 0)


def test_tampered_body_is_refused(zuora: Client) -> None:
    signed = account_body()
    tampered = json.dumps({"AccountId": zuora_id()}).encode()

    response = send(zuora, tampered, **{HEADER: base64.b64encode(signature(signed)).decode()})

    assert response.status_code == 403
    assert "does not match" in response.json()["error"]
    assert recorded() == (0, 0)


def test_credentials_are_challenged_before_the_signature_is_checked(zuora: Client) -> None:
    # Zuora's first, non-preemptive attempt must get the Basic challenge, not a 403.
    response = zuora.post(ACCOUNT_URL, data=account_body(), content_type="application/json")

    assert response.status_code == 401
    assert "WWW-Authenticate" in response


def test_get_callout_signs_the_empty_body(zuora: Client) -> None:
    response = zuora.get(
        ACCOUNT_URL,
        {"AccountId": zuora_id()},
        headers=AUTHORIZED | {HEADER: base64.b64encode(signature(b"")).decode()},
    )

    assert response.status_code == 200
    assert recorded() == (1, 1)
