"""OAuth client-credentials flow, token expiry and the headers every response carries."""

from __future__ import annotations

import re

import httpx
from zuora_sdk.models import TokenResponse

from tests.emulator.conftest import api_client, token_for
from zuora_emulator.testing import EmulatorHandle, running_emulator, wait_until


def _token_request(handle: EmulatorHandle, **overrides: str) -> httpx.Response:
    form = {
        "client_id": handle.client_id,
        "client_secret": handle.client_secret,
        "grant_type": "client_credentials",
        **overrides,
    }
    return httpx.post(f"{handle.base_url}/oauth/token", data=form)


def test_token_response_matches_the_sdk_model(zuora: EmulatorHandle) -> None:
    response = _token_request(zuora)

    assert response.status_code == 200
    token = TokenResponse.from_dict(response.json())
    assert re.fullmatch(r"[0-9a-f]{32}", token.access_token)
    assert token.token_type == "bearer"
    assert token.expires_in == 3599
    assert token.scope
    assert token.jti


def test_client_credentials_are_stable_for_a_seed() -> None:
    with running_emulator(seed=5) as first, running_emulator(seed=5) as second:
        assert (first.client_id, first.client_secret) == (second.client_id, second.client_secret)
    assert len(first.client_id) == 36


def test_wrong_secret_is_refused_with_401(zuora: EmulatorHandle) -> None:
    response = _token_request(zuora, client_secret="wrong")

    assert response.status_code == 401
    assert response.json() == {"message": "Authentication error"}


def test_missing_grant_type_is_a_400(zuora: EmulatorHandle) -> None:
    response = _token_request(zuora, grant_type="")

    assert response.status_code == 400
    assert response.json()["code"] == 400


def test_token_request_must_not_carry_authorization(zuora: EmulatorHandle) -> None:
    response = httpx.post(
        f"{zuora.base_url}/oauth/token",
        data={
            "client_id": zuora.client_id,
            "client_secret": zuora.client_secret,
            "grant_type": "client_credentials",
        },
        headers={"Authorization": "Bearer x"},
    )

    assert response.status_code == 400


def test_api_call_without_token_gets_401(zuora: EmulatorHandle) -> None:
    response = httpx.get(f"{zuora.base_url}/object-query/accounts")

    assert response.status_code == 401
    assert response.json() == {"message": "Authentication error"}


def test_api_call_with_unknown_token_gets_401(zuora: EmulatorHandle) -> None:
    response = httpx.get(
        f"{zuora.base_url}/v1/accounts/A00000001", headers={"Authorization": "Bearer nope"}
    )

    assert response.status_code == 401


def test_token_stops_working_after_its_lifetime() -> None:
    with running_emulator(token_lifetime=3) as zuora, api_client(zuora) as api:
        assert api.get("/object-query/accounts").status_code == 200
        wait_until(lambda: api.get("/object-query/accounts").status_code == 401, 30, "token expiry")
        assert token_for(zuora)  # a new token can be fetched at once


def test_expire_tokens_control_ends_live_tokens(zuora: EmulatorHandle, api: httpx.Client) -> None:
    assert api.get("/object-query/contacts").status_code == 200

    expired = httpx.post(f"{zuora.base_url}/_emulator/tokens/expire").json()["expired"]

    assert expired >= 1
    assert api.get("/object-query/contacts").status_code == 401


def test_responses_carry_request_id_track_id_and_limit_headers(api: httpx.Client) -> None:
    response = api.get("/object-query/accounts", headers={"Zuora-Track-Id": "trace-42"})

    assert response.status_code == 200
    assert response.headers["Zuora-Request-Id"]
    assert response.headers["Zuora-Track-Id"] == "trace-42"
    assert response.headers["ratelimit-limit"].startswith("50000")
    assert int(response.headers["ratelimit-remaining"]) > 0
    assert int(response.headers["ratelimit-reset"]) > 0
    assert response.headers["Concurrency-Limit-Type"] == "Object Query"
    assert response.headers["Concurrency-Limit-Limit"] == "80"
    assert int(response.headers["Concurrency-Limit-Remaining"]) < 80


def test_each_response_has_its_own_request_id(api: httpx.Client) -> None:
    ids = {api.get("/object-query/accounts").headers["Zuora-Request-Id"] for _ in range(3)}

    assert len(ids) == 3


def test_token_requests_are_counted(zuora: EmulatorHandle) -> None:
    token_for(zuora)
    token_for(zuora)

    assert zuora.request_count("POST /oauth/token") == 2
