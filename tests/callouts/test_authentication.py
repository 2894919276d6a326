"""HTTP Basic on the callout endpoints: Zuora's challenge sequence, rotation, refusals."""

import base64

import pytest
from django.test import Client

from billing.models import CalloutReceipt, SyncKind
from tests.callouts.conftest import (
    ACCOUNT_URL,
    AUTHORIZED,
    CONTACT_URL,
    CURRENT,
    PREVIOUS,
    REALM,
    basic,
    post_form,
    post_json,
    recorded,
)
from tests.factories import zuora_id

ENDPOINTS = [
    pytest.param(ACCOUNT_URL, "AccountId", SyncKind.ACCOUNT, id="account"),
    pytest.param(CONTACT_URL, "ContactId", SyncKind.CONTACT, id="contact"),
]


@pytest.mark.parametrize(("url", "parameter", "kind"), ENDPOINTS)
def test_zuora_non_preemptive_sequence_is_challenged_then_recorded(
    zuora: Client, url: str, parameter: str, kind: SyncKind
) -> None:
    object_id = zuora_id()

    challenge = post_json(zuora, url, {parameter: object_id})

    assert challenge.status_code == 401
    assert challenge["WWW-Authenticate"] == f'Basic realm="{REALM}"'
    assert challenge.json()["success"] is False
    assert recorded() == (0, 0)

    retry = post_json(zuora, url, {parameter: object_id}, **AUTHORIZED)

    assert retry.status_code == 200
    assert retry.json() == {"success": True}
    receipt = CalloutReceipt.objects.get()
    assert (receipt.kind, receipt.zuora_id) == (kind, object_id)


@pytest.mark.parametrize(("url", "parameter", "kind"), ENDPOINTS)
def test_preemptive_credentials_are_accepted_on_the_first_request(
    zuora: Client, url: str, parameter: str, kind: SyncKind
) -> None:
    response = post_json(zuora, url, {parameter: zuora_id()}, **AUTHORIZED)

    assert response.status_code == 200
    assert recorded() == (1, 1)


@pytest.mark.parametrize("credential", [CURRENT, PREVIOUS], ids=["current", "previous"])
def test_every_configured_pair_is_accepted_during_rotation(zuora: Client, credential) -> None:
    # The previous password contains a colon: only the username is cut at the first one.
    headers = basic(credential.username, credential.password)

    response = post_json(zuora, ACCOUNT_URL, {"AccountId": zuora_id()}, **headers)

    assert response.status_code == 200
    assert recorded() == (1, 1)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(basic(CURRENT.username, "wrong"), id="wrong-password"),
        pytest.param(basic("someone", CURRENT.password), id="unknown-user"),
        pytest.param(basic(CURRENT.username, PREVIOUS.password), id="password-of-other-pair"),
        pytest.param(basic(CURRENT.username.upper(), CURRENT.password), id="username-case"),
        pytest.param(basic(CURRENT.username, ""), id="empty-password"),
        pytest.param({"Authorization": "Basic"}, id="no-token"),
        pytest.param({"Authorization": "Basic not*base64"}, id="not-base64"),
        pytest.param({"Authorization": "Basic é"}, id="non-ascii-token"),
        pytest.param({"Authorization": "Bearer abc"}, id="other-scheme"),
        pytest.param(
            {"Authorization": "Basic " + base64.b64encode(b"zuora").decode()}, id="no-colon"
        ),
    ],
)
def test_wrong_credentials_are_challenged_and_nothing_is_recorded(
    zuora: Client, headers: dict[str, str]
) -> None:
    response = post_json(zuora, ACCOUNT_URL, {"AccountId": zuora_id()}, **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == f'Basic realm="{REALM}"'
    assert "credentials" in response.json()["error"]
    assert recorded() == (0, 0)


def test_basic_scheme_name_is_case_insensitive(zuora: Client) -> None:
    token = AUTHORIZED["Authorization"].split(" ", 1)[1]

    response = post_json(
        zuora, ACCOUNT_URL, {"AccountId": zuora_id()}, Authorization=f"basic {token}"
    )

    assert response.status_code == 200


def test_without_configured_credentials_every_callout_is_refused_with_503(
    zuora: Client, settings
) -> None:
    settings.ZUORA_CALLOUT_CREDENTIALS = ()

    response = post_json(zuora, ACCOUNT_URL, {"AccountId": zuora_id()}, **AUTHORIZED)

    assert response.status_code == 503
    assert "ZUORA_CALLOUT_CREDENTIALS" in response.json()["error"]
    assert recorded() == (0, 0)


def test_realm_with_quotes_is_escaped_in_the_challenge(zuora: Client, settings) -> None:
    settings.ZUORA_CALLOUT_REALM = 'billing "callouts"'

    response = post_json(zuora, ACCOUNT_URL, {"AccountId": zuora_id()})

    assert response["WWW-Authenticate"] == 'Basic realm="billing \\"callouts\\""'


def test_callouts_need_no_csrf_token(zuora: Client) -> None:
    # The client enforces CSRF checks like a browser session would; Zuora has no token.
    response = post_form(zuora, ACCOUNT_URL, {"AccountId": zuora_id()}, headers=AUTHORIZED)

    assert response.status_code == 200
