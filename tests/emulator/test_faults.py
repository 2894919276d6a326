"""Injected faults: latency, 429 and concurrency, 5xx, connection resets, token expiry."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.emulator.conftest import api_client
from zuora_emulator.testing import EmulatorHandle, running_emulator


def test_latency_delays_responses(zuora: EmulatorHandle, api: httpx.Client) -> None:
    zuora.set_faults(latency=0.3)

    started = time.monotonic()
    response = api.get("/object-query/accounts")

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3  # a lower bound only: never flaky when slow


def test_rate_limit_fault_is_429_with_retry_after(zuora: EmulatorHandle, api: httpx.Client) -> None:
    zuora.set_faults(rate_limit_probability=1.0, retry_after=7)

    response = api.get("/v1/accounts/A00000001")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["reasons"][0]["code"] == 50000070


def test_rate_limit_without_retry_after_as_in_the_docs_sample(
    zuora: EmulatorHandle, api: httpx.Client
) -> None:
    zuora.set_faults(rate_limit_probability=1.0, retry_after_header=False)

    response = api.get("/object-query/accounts")

    assert response.status_code == 429
    assert "Retry-After" not in response.headers


def test_exhausted_rate_limit_answers_429() -> None:
    with running_emulator(rate_limit_per_minute=3) as zuora, api_client(zuora) as api:
        statuses = [api.get("/object-query/accounts").status_code for _ in range(4)]
    # The token request counted too: 1 + 2 calls fit in the window of 3.
    assert statuses[:2] == [200, 200]
    assert statuses[-1] == 429


def test_concurrency_limit_refuses_the_request_over_the_limit(
    zuora: EmulatorHandle, api: httpx.Client
) -> None:
    zuora.set_faults(concurrency_limit=1, latency=2.0)
    results: list[httpx.Response] = []

    def call() -> None:
        with httpx.Client(base_url=str(api.base_url), headers=api.headers, timeout=30) as c:
            results.append(c.get("/v1/accounts/A00000001"))

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    statuses = sorted(r.status_code for r in results)
    # Each request is held in flight for two seconds, so the three overlap and at least one
    # exceeds the limit of 1 and gets category 70.
    assert 429 in statuses
    refused = next(r for r in results if r.status_code == 429)
    assert refused.headers["Retry-After"]
    assert refused.headers["Concurrency-Limit-Limit"] == "1"
    assert refused.json()["reasons"][0]["code"] == 50000070


@pytest.mark.parametrize("status", [500, 502, 503])
def test_scripted_server_errors_hit_the_next_requests_only(
    zuora: EmulatorHandle, api: httpx.Client, status: int
) -> None:
    zuora.set_faults(
        script=[{"fault": "status", "status": status, "times": 2, "path": "/object-query"}]
    )

    statuses = [api.get("/object-query/accounts").status_code for _ in range(3)]

    assert statuses == [status, status, 200]
    assert zuora.request_count("GET /object-query/accounts") == 3


def test_503_carries_retry_after(zuora: EmulatorHandle, api: httpx.Client) -> None:
    zuora.set_faults(script=[{"fault": "status", "status": 503}])

    assert api.get("/object-query/accounts").headers["Retry-After"] == "1"


def test_connection_reset(zuora: EmulatorHandle, api: httpx.Client) -> None:
    zuora.set_faults(script=[{"fault": "reset"}])

    with pytest.raises(httpx.TransportError):
        api.get("/object-query/accounts")
    assert api.get("/object-query/accounts").status_code == 200


def test_early_token_expiry(zuora: EmulatorHandle, api: httpx.Client) -> None:
    zuora.set_faults(script=[{"fault": "expire_token"}])

    assert api.get("/object-query/accounts").status_code == 401
    assert api.get("/object-query/accounts").status_code == 401  # the token stays dead


def test_unauthorized_in_v1_envelope_variant(zuora: EmulatorHandle) -> None:
    zuora.set_faults(unauthorized_v1_envelope=True)

    response = httpx.get(f"{zuora.base_url}/v1/accounts/x")

    assert response.status_code == 401
    assert response.json()["reasons"][0]["code"] == 90000011


def test_random_faults_are_reproducible_with_a_seed() -> None:
    def run() -> list[int]:
        faults = {
            "error_probability": 0.3,
            "rate_limit_probability": 0.2,
            "seed": 42,
            "paths": ["/object-query"],
        }
        with running_emulator(faults=faults) as zuora, api_client(zuora) as api:
            return [api.get("/object-query/accounts").status_code for _ in range(25)]

    first, second = run(), run()

    assert first == second
    assert set(first) - {200}
    assert 200 in first


def test_faults_can_be_set_through_the_control_endpoint(
    zuora: EmulatorHandle, api: httpx.Client
) -> None:
    put = httpx.put(
        f"{zuora.base_url}/_emulator/faults", json={"script": [{"fault": "status", "status": 502}]}
    )
    assert put.status_code == 200
    assert api.get("/object-query/accounts").status_code == 502

    bad = httpx.patch(f"{zuora.base_url}/_emulator/faults", json={"nonsense": 1})
    assert bad.status_code == 400
    cleared = httpx.put(f"{zuora.base_url}/_emulator/faults", json={}).json()
    assert cleared["script"] == []
    assert cleared["error_probability"] == 0.0


def test_control_endpoints_are_never_faulted(zuora: EmulatorHandle) -> None:
    zuora.set_faults(error_probability=1.0)

    assert httpx.get(f"{zuora.base_url}/_emulator/health").status_code == 200
